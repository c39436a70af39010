// Package codectest holds what the codec tests share: access to the real
// device captures kept outside the repository in ../shared/fixtures/devices
// (relative to the repository root, found by walking up to go.mod; tests
// skip with a message when the folder is absent), the golden transcript
// comparison (with the -update flag), the codec contract check and the fuzz
// body. Only _test.go files import this package.
package codectest

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/devices/codec"
	"github.com/examlane/examlane/lane"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Main runs a codec package's tests with time.Local set to UTC, so device
// wall-clock times print the same everywhere. Call it from TestMain.
func Main(m *testing.M) {
	time.Local = time.UTC
	os.Exit(m.Run())
}

// Decode decodes one frame or file with c, failing the test on an error.
func Decode(t testing.TB, c codec.Codec, data []byte) lane.Capture {
	t.Helper()
	capt, err := c.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return capt
}

// Golden decodes every testdata/*ext transcript with c through
// codec.DecodeInput, one subtest each, and compares the JSON-lines reports
// (an "error: …" line for a result that failed) with the file's
// .golden.jsonl beside it, rewriting that under -update.
func Golden(t *testing.T, c codec.Codec, ext string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "*"+ext))
	if len(files) == 0 {
		t.Fatal("no transcripts")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			for _, r := range codec.DecodeInput(c, data) {
				if r.Err != nil {
					buf.WriteString("error: " + r.Err.Error() + "\n")
					continue
				}
				if err := codec.WriteReport(&buf, codec.NewReport(filepath.Base(f), r.Capture)); err != nil {
					t.Fatal(err)
				}
			}
			gold := strings.TrimSuffix(f, ext) + ".golden.jsonl"
			if *update {
				if err := os.WriteFile(gold, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(gold)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("report differs from %s:\n got %s\nwant %s", gold, buf.Bytes(), want)
			}
		})
	}
}

// CheckDecode is the body of a codec's fuzz target: data goes through
// codec.DecodeInput and, for a framed dialect, also whole through Decode;
// nothing may panic or hang, and every capture accepted keeps the codec
// contract (CheckCapture) and makes a report.
func CheckDecode(t testing.TB, c codec.Codec, data []byte) {
	t.Helper()
	for _, r := range codec.DecodeInput(c, data) {
		if r.Err == nil {
			CheckCapture(t, r.Capture)
			codec.NewReport("fuzz", r.Capture)
		}
	}
	if c.Framing() != nil {
		if capt, err := c.Decode(data); err == nil {
			CheckCapture(t, capt)
			codec.NewReport("fuzz", capt)
		}
	}
}

// Sniff checks that c recognises every input in yes and none in no.
func Sniff(t testing.TB, c codec.Codec, yes, no []string) {
	t.Helper()
	for _, in := range yes {
		if !c.Sniff([]byte(in)) {
			t.Errorf("%s: Sniff(%.60q) = false", c.Name(), in)
		}
	}
	for _, in := range no {
		if c.Sniff([]byte(in)) {
			t.Errorf("%s: Sniff(%.60q) = true", c.Name(), in)
		}
	}
}

// Rejects checks that c refuses every named input with an error wrapping
// lane.ErrInvalid.
func Rejects(t testing.TB, c codec.Codec, inputs map[string]string) {
	t.Helper()
	for name, in := range inputs {
		if _, err := c.Decode([]byte(in)); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

// BenchDecode measures c on one input: cut into its one frame by a Framer
// for a framed dialect, then decoded.
func BenchDecode(b *testing.B, c codec.Codec, input []byte) {
	b.Helper()
	var fr *codec.Framer
	if spec := c.Framing(); spec != nil {
		var err error
		if fr, err = codec.NewFramer(*spec); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		data := input
		if fr != nil {
			out := fr.Write(input, time.Time{})
			if len(out) != 1 || out[0].Err != nil {
				b.Fatal("framing failed")
			}
			data = out[0].Data
		}
		if _, err := c.Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

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
