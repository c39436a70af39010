package ophxml

import (
	"testing"

	"github.com/examlane/examlane/lane"
)

func rx(sph, cyl, axis int) lane.Measurement {
	return lane.Measurement{Refraction: &lane.Refraction{Sphere: lane.Diopters(sph), Cylinder: lane.Diopters(cyl), Axis: lane.Axis(axis)}}
}

func TestMedianRefraction(t *testing.T) {
	tests := []struct {
		in   []lane.Measurement
		want lane.Refraction
	}{
		// Axes on both sides of 180 are meridians: 178, 3, 1 → median 1.
		{[]lane.Measurement{rx(-1750, -500, 178), rx(-1500, -750, 3), rx(-1750, -500, 1)}, lane.Refraction{Sphere: -1750, Cylinder: -500, Axis: 1}},
		// Even count: mean of the middle two (half up).
		{[]lane.Measurement{rx(-6520, -410, 114), rx(-6530, -420, 116)}, lane.Refraction{Sphere: -6525, Cylinder: -415, Axis: 115}},
		// 179 and 2: the median meridian is 180/0, written 180.
		{[]lane.Measurement{rx(0, -250, 179), rx(0, -250, 1)}, lane.Refraction{Cylinder: -250, Axis: 180}},
		// No cylinder: no axis.
		{[]lane.Measurement{rx(-5500, 0, 0), rx(-5500, 0, 0)}, lane.Refraction{Sphere: -5500}},
	}
	for i, tc := range tests {
		if got := medianRefraction(tc.in); got != tc.want {
			t.Errorf("%d: medianRefraction = %+v, want %+v", i, got, tc.want)
		}
	}
}

func TestThickness(t *testing.T) {
	for in, want := range map[string]lane.Micrometers{"550": 550, "550um": 550, "550µm": 550, "0.550": 550, "0.907mm": 907, "552.0": 552} {
		got, err := thickness(in)
		if err != nil || got != want {
			t.Errorf("thickness(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "5", "2000um"} {
		if _, err := thickness(in); err == nil {
			t.Errorf("thickness(%q) accepted", in)
		}
	}
}

func TestParseDateTime(t *testing.T) {
	if _, ok := parseDateTime("2013-12-06", "21:31:27"); !ok {
		t.Error("full date and time rejected")
	}
	if got, ok := parseDateTime("2024/04/04", "11:30"); !ok || got.Minute() != 30 {
		t.Errorf("short time: %v %v", got, ok)
	}
	for _, d := range []string{"2013-13-06", "1970-01-01", "06.12.2013", ""} {
		if _, ok := parseDateTime(d, ""); ok {
			t.Errorf("parseDateTime(%q) accepted", d)
		}
	}
}
