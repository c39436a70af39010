package nidekrt

import (
	"errors"
	"strings"
	"testing"

	"github.com/examlane/examlane/devices/codec/nidekd"
	"github.com/examlane/examlane/lane"
)

func visible(b []byte) string {
	return strings.NewReplacer("\x01", "<SOH>", "\x02", "<STX>", "\x04", "<EOT>", "\x17", "<ETB>", "\r", "<CR>").Replace(string(b))
}

func TestEncodeExactBytes(t *testing.T) {
	l := Load{
		ID:      "12",
		ARRight: &lane.Refraction{Sphere: -1250, Cylinder: -500, Axis: 90},
		ARLeft:  &lane.Refraction{Sphere: 0, Cylinder: 0},
		ARPD:    6450,
		LMRight: &lane.Refraction{Sphere: 2000, Cylinder: -750, Axis: 5, Add: 2250,
			Prism: lane.Prism{H: 2500, HBase: lane.BaseIn, V: 500, VBase: lane.BaseDown}},
		LMLeft: &lane.Refraction{Sphere: 1750, Cylinder: 250, Axis: 180, Add: 2250},
		LMPD:   6300,
	}
	got, err := Encode(l)
	if err != nil {
		t.Fatal(err)
	}
	want := "<SOH>DRL<STX>ID          12<ETB>" +
		"DRM<STX>OR-01.25-00.50090<ETB>OL+00.00+00.00000<ETB>PD65<ETB>" +
		"DLM<STX> R+02.00-00.75005<ETB> L+01.75+00.25180<ETB>AR02.25<ETB>AL02.25<ETB>PR02.50I<ETB>PR00.50D<ETB>PD63<ETB>" +
		"<EOT>"
	if visible(got) != want {
		t.Errorf("Encode:\n got %s\nwant %s", visible(got), want)
	}
}

// TestEncodeRoundTrip decodes the PC → RT frame with the D-block codec (the
// RT reads the same records NIDEK instruments send) and gets the values back.
func TestEncodeRoundTrip(t *testing.T) {
	l := Load{
		ARRight: &lane.Refraction{Sphere: -3250, Cylinder: -750, Axis: 175},
		ARLeft:  &lane.Refraction{Sphere: -2750, Cylinder: -1000, Axis: 10},
		LMRight: &lane.Refraction{Sphere: -1250, Cylinder: -750, Axis: 120, Add: 2000,
			Prism: lane.Prism{H: 2500, HBase: lane.BaseIn, V: 2000, VBase: lane.BaseDown}},
		LMLeft: &lane.Refraction{Sphere: -2000, Cylinder: -500, Axis: 180, Add: 2250,
			Prism: lane.Prism{H: 1250, HBase: lane.BaseOut, V: 2000, VBase: lane.BaseUp}},
		LMPD: 6400,
	}
	frame, err := Encode(l)
	if err != nil {
		t.Fatal(err)
	}
	c, err := nidekd.Codec{}.Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]lane.Refraction{}
	for _, m := range c.Readings {
		if m.Refraction != nil {
			got[string(m.Source)+m.Eye.String()] = *m.Refraction
		}
	}
	for k, want := range map[string]*lane.Refraction{
		"autorefractionR": l.ARRight, "autorefractionL": l.ARLeft, "lensmeterR": l.LMRight, "lensmeterL": l.LMLeft,
	} {
		if got[k] != *want {
			t.Errorf("%s round trip = %+v, want %+v", k, got[k], *want)
		}
	}
	// The PC→RT frame carries no checksum: the decoder says so.
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "no checksum") {
		t.Errorf("warnings %q", c.Warnings)
	}
}

func TestEncodeNight(t *testing.T) {
	got, err := Encode(Load{ARRight: &lane.Refraction{Sphere: 500}, LMLeft: &lane.Refraction{Sphere: 250}, Night: true})
	if err != nil {
		t.Fatal(err)
	}
	if v := visible(got); !strings.Contains(v, "Drm<STX>") || !strings.Contains(v, "Dlm<STX>") {
		t.Errorf("night blocks: %s", v)
	}
}

func TestEncodeRejects(t *testing.T) {
	tests := map[string]Load{
		"nothing":            {},
		"only an ID":         {ID: "42"},
		"ID with letters":    {ID: "A42", ARRight: &lane.Refraction{}},
		"ID too long":        {ID: "1234567890123", ARRight: &lane.Refraction{}},
		"cyl without axis":   {ARRight: &lane.Refraction{Cylinder: -500}},
		"power too fine":     {ARRight: &lane.Refraction{Sphere: 1125}},
		"power too big":      {LMLeft: &lane.Refraction{Sphere: 30250}},
		"negative add":       {LMLeft: &lane.Refraction{Add: -1000}},
		"prism without base": {LMLeft: &lane.Refraction{Prism: lane.Prism{H: 1000}}},
		"PD out of range":    {ARRight: &lane.Refraction{}, ARPD: 2000},
	}
	for name, l := range tests {
		if _, err := Encode(l); err == nil || !(errors.Is(err, lane.ErrInvalid) || errors.Is(err, lane.ErrRange)) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
