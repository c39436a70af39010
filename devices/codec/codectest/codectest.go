// Package codectest gives codec tests access to the real device captures kept
// outside the repository in ../shared/fixtures/devices (relative to the
// repository root, found by walking up to go.mod). Tests skip with a message
// when the folder is absent. Only _test.go files import this package.
package codectest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/examlane/examlane/devices/codec"
	"github.com/examlane/examlane/lane"
)

// Dir returns the fixtures folder, skipping the test when it is absent.
func Dir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			fx := filepath.Join(dir, "..", "shared", "fixtures", "devices")
			if st, err := os.Stat(fx); err != nil || !st.IsDir() {
				t.Skipf("real device fixtures not available (%s absent)", fx)
			}
			return fx
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("go.mod not found above the test directory")
		}
	}
}

// Read returns the bytes of a fixture; a .hex fixture (space-separated hex
// text) is converted to the bytes it describes.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(Dir(t), name))
	if err != nil {
		t.Skipf("fixture %s not available: %v", name, err)
	}
	if strings.HasSuffix(name, ".hex") {
		b, ok := codec.HexText(data)
		if !ok {
			t.Fatalf("fixture %s is not hex text", name)
		}
		return b
	}
	return data
}

// CheckCapture fails the test when a decoded capture breaks the codec
// contract: a format name, every reading of a known kind with exactly the
// value its kind calls for, a known eye, and values inside the lane's
// ranges. Fuzz targets call it on everything a codec accepts.
func CheckCapture(t testing.TB, c lane.Capture) {
	t.Helper()
	if c.Format == "" {
		t.Fatal("capture without a format")
	}
	for i, m := range c.Readings {
		set := 0
		for _, p := range []bool{m.Refraction != nil, m.Keratometry != nil, m.IOP != nil, m.Pachymetry != nil, m.PD != nil, m.VA != nil} {
			if p {
				set++
			}
		}
		want := map[lane.Kind]bool{
			lane.KindRefraction: m.Refraction != nil, lane.KindLensometry: m.Refraction != nil,
			lane.KindKeratometry: m.Keratometry != nil, lane.KindIOP: m.IOP != nil,
			lane.KindPachymetry: m.Pachymetry != nil, lane.KindPD: m.PD != nil, lane.KindVA: m.VA != nil,
			lane.KindError: set == 0 && m.Message != "",
		}
		ok, known := want[m.Kind]
		if !known || !ok || (m.Kind != lane.KindError && set != 1) {
			t.Fatalf("reading %d: kind %q with %d values", i, m.Kind, set)
		}
		if m.Eye > lane.EyeBoth {
			t.Fatalf("reading %d: eye %d", i, m.Eye)
		}
		if m.Source == "" {
			t.Fatalf("reading %d: no source", i)
		}
		if r := m.Refraction; r != nil {
			if r.Sphere.Abs() > lane.MaxPower || r.Cylinder.Abs() > lane.MaxPower || r.Add < 0 || r.Add > lane.MaxPower ||
				r.Axis < 0 || r.Axis > 180 || (r.Cylinder != 0 && r.Axis == 0) || r.Prism.H > 30000 || r.Prism.V > 30000 {
				t.Fatalf("reading %d: refraction out of range: %+v", i, *r)
			}
			if m.CylinderSign != lane.MinusCylinder && m.CylinderSign != lane.PlusCylinder {
				t.Fatalf("reading %d: cylinder sign %d", i, m.CylinderSign)
			}
		}
		if k := m.Keratometry; k != nil {
			for _, km := range []lane.KMeridian{k.K1, k.K2} {
				if km.Radius < 0 || km.Radius > 1500 || km.Power < 0 || km.Power > 80000 || km.Axis < 0 || km.Axis > 180 {
					t.Fatalf("reading %d: keratometry out of range: %+v", i, *k)
				}
			}
		}
		if p := m.IOP; p != nil && (p.Pressure < 0 || p.Pressure > 900 || p.Corrected < 0 || p.Corrected > 900) {
			t.Fatalf("reading %d: pressure out of range: %+v", i, *p)
		}
		if p := m.Pachymetry; p != nil && (p.CCT < 100 || p.CCT > 1500) {
			t.Fatalf("reading %d: thickness out of range: %+v", i, *p)
		}
		if p := m.PD; p != nil && (p.Value < 1000 || p.Value > 9000) {
			t.Fatalf("reading %d: PD out of range: %+v", i, *p)
		}
		if v := m.VA; v != nil && (v.Decimal < 0 || v.Decimal > 4) {
			t.Fatalf("reading %d: acuity out of range: %+v", i, *v)
		}
	}
}
