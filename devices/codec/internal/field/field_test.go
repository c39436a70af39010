package field

import (
	"errors"
	"testing"

	"github.com/examlane/examlane/lane"
)

func TestFixed(t *testing.T) {
	tests := []struct {
		in    string
		scale int
		want  int64
		err   error
	}{
		{"- 1.50", 3, -1500, nil},
		{"-10.50", 3, -10500, nil},
		{"+ 5.50", 3, 5500, nil},
		{"  0.00", 3, 0, nil},
		{"-01.25", 3, -1250, nil},
		{" +3.75", 3, 3750, nil},
		{"-0.00", 3, 0, nil},
		{"-0.5", 3, -500, nil},
		{"0", 3, 0, nil},
		{"1,25", 3, 1250, nil},
		{"0.545", 2, 55, nil},
		{"-0.545", 2, -55, nil},
		{"0.544", 2, 54, nil},
		{"550um", 0, 0, lane.ErrInvalid},
		{"- 1.5x", 3, 0, lane.ErrInvalid},
		{".5", 2, 50, nil},
		{"", 2, 0, ErrEmpty},
		{"   ", 2, 0, ErrEmpty},
		{"-", 2, 0, lane.ErrInvalid},
		{"ERR", 2, 0, lane.ErrInvalid},
		{"1.2.3", 2, 0, lane.ErrInvalid},
		{"1 2", 2, 0, lane.ErrInvalid},
		{"12345678901", 0, 0, lane.ErrInvalid},
		{".", 2, 0, lane.ErrInvalid},
	}
	for _, tc := range tests {
		got, err := Fixed(tc.in, tc.scale)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("Fixed(%q) error = %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Fixed(%q, %d) = %d, %v; want %d", tc.in, tc.scale, got, err, tc.want)
		}
	}
}

func TestUnits(t *testing.T) {
	if d, err := Diopters("-12.00"); err != nil || d != -12000 {
		t.Errorf("Diopters = %v, %v", d, err)
	}
	if _, err := Diopters("+41.00"); !errors.Is(err, lane.ErrRange) {
		t.Errorf("Diopters(+41) error = %v", err)
	}
	if k, err := KPower("44.00"); err != nil || k != 44000 {
		t.Errorf("KPower = %v, %v", k, err)
	}
	if a, err := Axis("  0"); err != nil || a != 180 {
		t.Errorf("Axis(0) = %v, %v", a, err)
	}
	if _, err := Axis("181"); !errors.Is(err, lane.ErrRange) {
		t.Errorf("Axis(181) error = %v", err)
	}
	if a, err := AxisFor("", 0); err != nil || a != 0 {
		t.Errorf("AxisFor(blank, no cyl) = %v, %v", a, err)
	}
	if a, err := AxisFor("  0", 0); err != nil || a != 0 {
		t.Errorf("AxisFor(0, no cyl) = %v, %v", a, err)
	}
	if a, err := AxisFor("  9", -250); err != nil || a != 9 {
		t.Errorf("AxisFor(9) = %v, %v", a, err)
	}
	if _, err := AxisFor("", -250); !errors.Is(err, ErrEmpty) {
		t.Errorf("AxisFor(blank, cyl) error = %v", err)
	}
	if r, err := Radius("7.70"); err != nil || r != 770 {
		t.Errorf("Radius = %v, %v", r, err)
	}
	if p, err := PD("64.0", false); err != nil || p != 6400 {
		t.Errorf("PD = %v, %v", p, err)
	}
	if _, err := PD("64.0", true); !errors.Is(err, lane.ErrRange) {
		t.Errorf("mono PD 64 error = %v", err)
	}
	if p, neg, err := Prism("-2.25"); err != nil || p != 2250 || !neg {
		t.Errorf("Prism = %v %v %v", p, neg, err)
	}
	if p, err := MmHg("18.0"); err != nil || p != 180 {
		t.Errorf("MmHg = %v, %v", p, err)
	}
	if p, err := MmHgFromKPa("2.40"); err != nil || p != 180 {
		t.Errorf("MmHgFromKPa(2.40) = %v, %v (want 18.0)", p, err)
	}
	if p, err := MmHgFromHPa("24"); err != nil || p != 180 {
		t.Errorf("MmHgFromHPa(24) = %v, %v (want 18.0)", p, err)
	}
	if c, err := MicrometersFromMM("0.550"); err != nil || c != 550 {
		t.Errorf("MicrometersFromMM = %v, %v", c, err)
	}
	for in, want := range map[string]string{"550um": "550", "12.7mmHg": "12.7", "0.0%": "0.0", "550µm": "550", "ERR": "ERR", " 7 ": "7"} {
		if got := StripUnit(in); got != want {
			t.Errorf("StripUnit(%q) = %q, want %q", in, got, want)
		}
	}
	if c, err := Micrometers(StripUnit("552um")); err != nil || c != 552 {
		t.Errorf("Micrometers = %v, %v", c, err)
	}
	if _, err := Micrometers("50"); !errors.Is(err, lane.ErrRange) {
		t.Errorf("Micrometers(50) error = %v", err)
	}
	if s, ok := CylinderMode(" + "); !ok || s != lane.PlusCylinder {
		t.Errorf("CylinderMode(+) = %v %v", s, ok)
	}
	if _, ok := CylinderMode("mix"); ok {
		t.Errorf("CylinderMode(mix) accepted")
	}
}

func FuzzFixed(f *testing.F) {
	for _, s := range []string{"- 1.50", "-01.25", "550um", "1,25", "", "+", "99999999.999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Fixed(s, 3)
		if err == nil && (v > 1e13 || v < -1e13) {
			t.Fatalf("Fixed(%q) = %d overflows the digit limit", s, v)
		}
	})
}

func TestSCA(t *testing.T) {
	tests := []struct {
		in             string
		sph, cyl, axis int
		bad            bool
	}{
		{"- 1.50- 0.75180", -1500, -750, 180, false},
		{"-01.25-00.75120", -1250, -750, 120, false},
		{"+ 1.25  0.00  0", 1250, 0, 0, false},
		{"-10.50- 1.50140", -10500, -1500, 140, false},
		{"- 1.50- 0.75", 0, 0, 0, true},
		{"- 1.50- 0.75180x", 0, 0, 0, true},
	}
	for _, tc := range tests {
		rf, err := SCA(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("SCA(%q) accepted", tc.in)
			}
			continue
		}
		if err != nil || int(rf.Sphere) != tc.sph || int(rf.Cylinder) != tc.cyl || int(rf.Axis) != tc.axis {
			t.Errorf("SCA(%q) = %+v, %v", tc.in, rf, err)
		}
	}
}

func TestPolarPrism(t *testing.T) {
	tests := []struct {
		amount lane.PrismDiopters
		angle  int
		eye    lane.Eye
		want   lane.Prism
	}{
		{2000, 0, lane.EyeRight, lane.Prism{H: 2000, HBase: lane.BaseIn}},
		{2000, 0, lane.EyeLeft, lane.Prism{H: 2000, HBase: lane.BaseOut}},
		{2000, 180, lane.EyeRight, lane.Prism{H: 2000, HBase: lane.BaseOut}},
		{1500, 90, lane.EyeLeft, lane.Prism{V: 1500, VBase: lane.BaseUp}},
		{1500, 270, lane.EyeRight, lane.Prism{V: 1500, VBase: lane.BaseDown}},
		{2000, 45, lane.EyeRight, lane.Prism{H: 1410, HBase: lane.BaseIn, V: 1410, VBase: lane.BaseUp}},
	}
	for _, tc := range tests {
		got, err := PolarPrism(tc.amount, tc.angle, tc.eye)
		if err != nil || got != tc.want {
			t.Errorf("PolarPrism(%v, %d, %v) = %+v, %v; want %+v", tc.amount, tc.angle, tc.eye, got, err, tc.want)
		}
	}
	if _, err := PolarPrism(1000, 10, lane.EyeUnknown); err == nil {
		t.Error("polar prism without an eye accepted")
	}
}
