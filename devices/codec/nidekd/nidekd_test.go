package nidekd

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/devices/codec"
	"github.com/examlane/examlane/devices/codec/codectest"
	"github.com/examlane/examlane/lane"
)

func TestMain(m *testing.M) { codectest.Main(m) }

func lensometry(t *testing.T, c lane.Capture, eye lane.Eye) lane.Refraction {
	t.Helper()
	for _, m := range c.Readings {
		if m.Kind == lane.KindLensometry && m.Eye == eye {
			if m.Source != lane.SourceLensometry || !m.Representative {
				t.Errorf("lensometry %s: source %s representative %v", eye, m.Source, m.Representative)
			}
			return *m.Refraction
		}
	}
	t.Fatalf("no lensometry for %s", eye)
	return lane.Refraction{}
}

// TestRealLM1000PManualExample decodes the frame printed in the NIDEK
// LM-1000 interface manual (example 8): progressive lenses, R and L, with
// rectangular prism and the checksum 16C1.
func TestRealLM1000PManualExample(t *testing.T) {
	for _, name := range []string{"nidek_lm1000p_lm-progressive-rl-manual-example.bin", "nidek_lm1000p_lm-progressive-rl-manual-example.hex"} {
		t.Run(name, func(t *testing.T) {
			data := codectest.Read(t, name)
			res := codec.DecodeInput(Codec{}, data)
			if len(res) != 1 || res[0].Err != nil {
				t.Fatalf("results %+v", res)
			}
			c := res[0].Capture
			if c.Instrument.Vendor != "NIDEK" || c.Instrument.Model != "LM-1000P" {
				t.Errorf("instrument %+v", c.Instrument)
			}
			if len(c.Warnings) != 0 {
				t.Errorf("warnings %q (the checksum is present and right)", c.Warnings)
			}
			// Right: -1.25 -0.75 x120, ADD +2.00, prism 2.50Δ base in, 2.00Δ base down.
			r := lensometry(t, c, lane.EyeRight)
			if r.Sphere != -1250 || r.Cylinder != -750 || r.Axis != 120 || r.Add != 2000 {
				t.Errorf("R = %v %v x%v add %v", r.Sphere, r.Cylinder, r.Axis, r.Add)
			}
			if r.Prism != (lane.Prism{H: 2500, HBase: lane.BaseIn, V: 2000, VBase: lane.BaseDown}) {
				t.Errorf("R prism = %+v", r.Prism)
			}
			// Left: -2.00 -0.50 x180, ADD +2.25, prism 1.25Δ base out, 2.00Δ base up.
			l := lensometry(t, c, lane.EyeLeft)
			if l.Sphere != -2000 || l.Cylinder != -500 || l.Axis != 180 || l.Add != 2250 {
				t.Errorf("L = %v %v x%v add %v", l.Sphere, l.Cylinder, l.Axis, l.Add)
			}
			if l.Prism != (lane.Prism{H: 1250, HBase: lane.BaseOut, V: 2000, VBase: lane.BaseUp}) {
				t.Errorf("L prism = %+v", l.Prism)
			}
			if len(c.Readings) != 2 {
				t.Errorf("%d readings, want 2", len(c.Readings))
			}
		})
	}
}

// TestChecksumRule pins the rule verified on the manual's example: CR codes
// are left out of the sum.
func TestChecksumRule(t *testing.T) {
	data := codectest.Read(t, "nidek_lm1000p_lm-progressive-rl-manual-example.bin")
	eot := bytes.IndexByte(data, EOT)
	if got := Checksum(data[:eot+1]); got != 0x16C1 {
		t.Errorf("Checksum = %04X, want 16C1", got)
	}
	var withCR uint16
	for _, b := range data[:eot+1] {
		withCR += uint16(b)
	}
	if withCR != 0x1736 {
		t.Errorf("sum with CRs = %04X, want 1736 (the wrong rule)", withCR)
	}
}

func TestChecksumErrors(t *testing.T) {
	frame := []byte("\x01DLM\x02 R-01.00-00.25180\x17\x04")
	sum := Checksum(frame)
	tests := []struct {
		name    string
		trailer string
		err     bool
		warn    string
	}{
		{"right", hex4(sum) + "\r", false, ""},
		{"right lower case", strings.ToLower(hex4(sum)), false, ""},
		{"wrong", hex4(sum+1) + "\r", true, ""},
		{"short", hex4(sum)[:3] + "\r", true, ""},
		{"not hex", "ZZZZ", true, ""},
		{"missing", "\r", false, "no checksum"},
		{"missing, nothing after", "", false, "no checksum"},
	}
	for _, tc := range tests {
		c, err := (Codec{}).Decode(append(bytes.Clone(frame), tc.trailer...))
		if tc.err {
			if !errors.Is(err, lane.ErrInvalid) || !strings.Contains(err.Error(), "rejected") {
				t.Errorf("%s: err = %v, want a rejection", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := strings.Join(c.Warnings, "|"); (tc.warn == "") != (got == "") || !strings.Contains(got, tc.warn) {
			t.Errorf("%s: warnings %q, want %q", tc.name, got, tc.warn)
		}
	}
}

func hex4(v uint16) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[v>>12], digits[v>>8&15], digits[v>>4&15], digits[v&15]})
}

func TestGoldenTranscripts(t *testing.T) {
	codectest.Golden(t, Codec{}, ".bin")
}

// TestSyntheticSemantics states what the synthetic transcripts mean.
func TestSyntheticSemantics(t *testing.T) {
	read := func(name string) []codec.Result {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return codec.DecodeInput(Codec{}, data)
	}

	res := read("lm-single-trifocal-and-polar-prism.bin")
	if len(res) != 2 || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("results %+v", res)
	}
	single := res[0].Capture
	s := lensometry(t, single, lane.EyeUnknown)
	if s.Sphere != -2250 || s.Cylinder != -1000 || s.Axis != 15 || s.Add != 1750 {
		t.Errorf("single lens = %+v", s)
	}
	if n := single.Readings[0].Note; n != "ADD2 +2.50; near sphere -0.50; near sphere 2 +0.25" {
		t.Errorf("single lens note = %q", n)
	}
	if !single.DeviceTime.Equal(time.Date(2024, 5, 6, 9, 41, 0, 0, time.UTC)) || single.Instrument.Model != "LM-1800P" {
		t.Errorf("device %+v at %v", single.Instrument, single.DeviceTime)
	}
	pair := res[1].Capture
	if p := lensometry(t, pair, lane.EyeRight).Prism; p != (lane.Prism{H: 1500, HBase: lane.BaseIn}) {
		t.Errorf("R polar 1.5Δ @0° = %+v, want base in", p)
	}
	if p := lensometry(t, pair, lane.EyeLeft).Prism; p != (lane.Prism{V: 1500, VBase: lane.BaseDown}) {
		t.Errorf("L polar 1.5Δ @270° = %+v, want base down", p)
	}

	res = read("lm-bad-checksum-then-good.bin")
	if len(res) != 2 || res[0].Err == nil || res[1].Err != nil {
		t.Fatalf("want the first frame rejected and the second decoded: %+v", res)
	}
	if l := lensometry(t, res[1].Capture, lane.EyeLeft); l.Cylinder != 500 || res[1].Capture.Readings[1].CylinderSign != lane.PlusCylinder {
		t.Errorf("plus-cylinder left lens = %+v", l)
	}

	res = read("ark-drm-dkm-no-checksum.bin")
	if len(res) != 3 || res[0].Err != nil || res[1].Err != nil || res[2].Err != nil {
		t.Fatalf("results %+v", res)
	}
	ar := res[0].Capture
	if ar.Instrument.Model != "ARK-1" || len(ar.Readings) != 3 || !strings.Contains(strings.Join(ar.Warnings, ""), "no checksum") {
		t.Errorf("ARK capture %+v", ar)
	}
	if r := ar.Readings[0]; r.Kind != lane.KindRefraction || r.Source != lane.SourceAutorefraction || r.Refraction.Sphere != -3250 || r.Refraction.Axis != 175 {
		t.Errorf("AR R = %+v", r)
	}
	km := res[1].Capture.Readings[0].Keratometry
	if km.K1.Radius != 785 || km.K2.Radius != 770 || km.K1.Axis != 5 || km.K1.Power != 43000 || km.K2.Power != 43750 {
		t.Errorf("K R = %+v", km)
	}
	night := res[2].Capture
	if len(night.Readings) != 1 || !codec.HasMethod(night.Readings[0], codec.MethodNight) || !strings.Contains(strings.Join(night.Warnings, "|"), "item OL") {
		t.Errorf("night frame readings %+v warnings %q", night.Readings, night.Warnings)
	}

	res = read("nt-pm-series.bin")
	if len(res) != 2 || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("results %+v", res)
	}
	var rep, errs []string
	for _, m := range append(res[0].Capture.Readings, res[1].Capture.Readings...) {
		switch {
		case m.Kind == lane.KindError:
			errs = append(errs, m.Eye.String()+":"+m.Message)
		case m.Representative && m.IOP != nil:
			rep = append(rep, m.Eye.String()+":"+m.IOP.Pressure.String())
		case m.Representative && m.Pachymetry != nil:
			rep = append(rep, m.Eye.String()+":"+strconv.Itoa(int(m.Pachymetry.CCT)))
		}
	}
	if got := strings.Join(rep, " "); got != "R:18.7 L:16.5 R:550 L:561" {
		t.Errorf("representative IOP/CCT = %q (L IOP and L CCT are computed medians)", got)
	}
	if got := strings.Join(errs, " "); got != "L:tonometer reported APL" {
		t.Errorf("errors = %q", got)
	}
}

func TestDecodeRejects(t *testing.T) {
	codectest.Rejects(t, Codec{}, map[string]string{
		"no SOH":        "DLM\x02 R-01.00-00.25180\x17\x04",
		"no EOT":        "\x01DLM\x02 R-01.00-00.25180\x17",
		"no header":     "\x01 R-01.00-00.25180\x17\x04",
		"command frame": "\x01C   \x02RS\x17\x04",
		"SD answer":     "\x01CRL\x02SD\x17\x04",
		"empty block":   "\x01DLM\x02\x04",
	})
}

func TestSniff(t *testing.T) {
	codectest.Sniff(t, Codec{},
		[]string{"xx\x01DLM\x02ID", "\x81\xc4LM\x82"},
		[]string{"\x01NIDEK RT-5100\r\x02@RT", "\x01C   \x02RS", "<Data/>"})
}

func BenchmarkFrameAndDecode4KiB(b *testing.B) {
	var f bytes.Buffer
	f.WriteString("\x01DLM\x02IDNIDEK/LM-1000P\x17\r")
	for f.Len() < 4096-8 {
		f.WriteString(" R-01.25-00.75120\x17\rAR02.00\x17\rPR02.50I\x17\r")
	}
	f.WriteByte(EOT)
	f.WriteString(hex4(Checksum(f.Bytes())) + "\r")
	frame := f.Bytes()
	codectest.BenchDecode(b, Codec{}, frame)
}
