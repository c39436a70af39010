package nidekrt

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/devices/codec"
	"github.com/examlane/examlane/devices/codec/codectest"
	"github.com/examlane/examlane/lane"
)

func TestMain(m *testing.M) { codectest.Main(m) }

// rx is what a clinician writes down for a refraction.
type rx struct {
	sph, cyl float64
	axis     int
	add      float64
}

func find(t *testing.T, c lane.Capture, kind lane.Kind, src lane.Source, eye lane.Eye, near bool) lane.Measurement {
	t.Helper()
	for _, m := range c.Readings {
		if m.Kind == kind && m.Source == src && m.Eye == eye && codec.HasMethod(m, codec.MethodNear) == near {
			return m
		}
	}
	t.Fatalf("no %s %s %s (near %v) reading", src, kind, eye, near)
	return lane.Measurement{}
}

func findPD(t *testing.T, c lane.Capture, src lane.Source, eye lane.Eye, dist lane.Distance) float64 {
	t.Helper()
	for _, m := range c.Readings {
		if m.Kind == lane.KindPD && m.Source == src && m.Eye == eye && m.PD.Distance == dist {
			return m.PD.Value.Float()
		}
	}
	t.Fatalf("no %s PD %s %s", src, eye, dist)
	return 0
}

func findVA(t *testing.T, c lane.Capture, src lane.Source, eye lane.Eye) lane.VisualAcuity {
	t.Helper()
	for _, m := range c.Readings {
		if m.Kind == lane.KindVA && m.Source == src && m.Eye == eye && m.VA.Distance == lane.DistanceFar && !m.VA.Pinhole {
			return *m.VA
		}
	}
	t.Fatalf("no %s VA %s", src, eye)
	return lane.VisualAcuity{}
}

func checkRx(t *testing.T, what string, m lane.Measurement, want rx) {
	t.Helper()
	r := m.Refraction
	if r == nil {
		t.Fatalf("%s: no refraction", what)
	}
	if r.Sphere.Float() != want.sph || r.Cylinder.Float() != want.cyl || int(r.Axis) != want.axis || r.Add.Float() != want.add {
		t.Errorf("%s = %v %v x%d add %v; want %+.2f %+.2f x%d add %+.2f", what, r.Sphere, r.Cylinder, r.Axis, r.Add, want.sph, want.cyl, want.axis, want.add)
	}
}

func decodeAll(t *testing.T, data []byte) []lane.Capture {
	t.Helper()
	var out []lane.Capture
	for _, r := range codec.DecodeInput(Codec{}, data) {
		if r.Err != nil {
			t.Fatalf("frame %d: %v", r.Index, r.Err)
		}
		out = append(out, r.Capture)
	}
	return out
}

// TestRealRT5100Stream checks the two real RT-5100 prints (frouty capture)
// against what a clinician reading the print would write down.
func TestRealRT5100Stream(t *testing.T) {
	caps := decodeAll(t, codectest.Read(t, "nidek_rt5100_rt-to-pc-stream-2016-08.bin"))
	if len(caps) != 2 {
		t.Fatalf("got %d captures, want 2", len(caps))
	}
	a, b := caps[0], caps[1]
	for _, c := range caps {
		if c.Instrument.Vendor != "NIDEK" || c.Instrument.Model != "RT-5100" || len(c.Warnings) != 0 {
			t.Errorf("instrument %+v, warnings %q", c.Instrument, c.Warnings)
		}
	}
	if !a.DeviceTime.Equal(time.Date(2016, 8, 2, 0, 0, 0, 0, time.UTC)) || !b.DeviceTime.Equal(time.Date(2016, 8, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("device dates %v %v (the space-padded 'DA2016/ 8/ 2' heading)", a.DeviceTime, b.DeviceTime)
	}

	// Print 1, 2016-08-02.
	checkRx(t, "1 lensmeter R", find(t, a, lane.KindLensometry, lane.SourceLensometry, lane.EyeRight, false), rx{0, 0, 0, 0})
	checkRx(t, "1 objective R", find(t, a, lane.KindRefraction, lane.SourceAutorefraction, lane.EyeRight, false), rx{-2.75, -1.75, 105, 0})
	checkRx(t, "1 objective L", find(t, a, lane.KindRefraction, lane.SourceAutorefraction, lane.EyeLeft, false), rx{-1.25, -1.50, 140, 0})
	checkRx(t, "1 subjective R", find(t, a, lane.KindRefraction, lane.SourceSubjective, lane.EyeRight, false), rx{-6.75, -1.75, 50, 0.25})
	checkRx(t, "1 subjective L", find(t, a, lane.KindRefraction, lane.SourceSubjective, lane.EyeLeft, false), rx{-5.25, -1.50, 140, 0.25})
	checkRx(t, "1 final R", find(t, a, lane.KindRefraction, lane.SourceFinal, lane.EyeRight, false), rx{-12.00, -1.75, 50, 5.50})
	checkRx(t, "1 final L", find(t, a, lane.KindRefraction, lane.SourceFinal, lane.EyeLeft, false), rx{-10.50, -1.50, 140, 5.50})
	if v := findVA(t, a, lane.SourceFinal, lane.EyeRight); v.Decimal != 1.25 {
		t.Errorf("1 final VA R = %v, want 1.25", v.Decimal)
	}
	if v := findVA(t, a, lane.SourceLensometry, lane.EyeRight); v.Decimal != 0.1 || v.Text != "0.1" {
		t.Errorf("1 VA with glasses R = %+v, want 0.1", v)
	}
	if pd := findPD(t, a, lane.SourceFinal, lane.EyeBoth, lane.DistanceFar); pd != 64.0 {
		t.Errorf("1 final far PD = %v", pd)
	}
	if pd := findPD(t, a, lane.SourceFinal, lane.EyeBoth, lane.DistanceNear); pd != 59.5 {
		t.Errorf("1 final near PD = %v", pd)
	}
	if pd := findPD(t, a, lane.SourceSubjective, lane.EyeBoth, lane.DistanceNear); pd != 59.5 {
		t.Errorf("1 subjective near PD (pd) = %v", pd)
	}
	if m := find(t, a, lane.KindRefraction, lane.SourceFinal, lane.EyeRight, false); !strings.Contains(m.Note, "working distance 35 cm") || !strings.Contains(m.Note, "refraction time 0:47") {
		t.Errorf("final note = %q", m.Note)
	}

	// Print 2, 2016-08-03: unaided acuities, lensmeter with add, near Rx.
	if v := findVA(t, b, lane.SourceUnaided, lane.EyeRight); v.Decimal != 0.1 || v.Aided {
		t.Errorf("2 unaided VA R = %+v", v)
	}
	if v := findVA(t, b, lane.SourceUnaided, lane.EyeLeft); v.Decimal != 0.63 {
		t.Errorf("2 unaided VA L = %+v", v)
	}
	checkRx(t, "2 lensmeter R", find(t, b, lane.KindLensometry, lane.SourceLensometry, lane.EyeRight, false), rx{2.25, -2.75, 120, 1.50})
	checkRx(t, "2 lensmeter L", find(t, b, lane.KindLensometry, lane.SourceLensometry, lane.EyeLeft, false), rx{2.00, -4.00, 25, 1.50})
	if v := findVA(t, b, lane.SourceLensometry, lane.EyeBoth); v.Decimal != 0.04 || v.Qualifier != lane.VALessThan || v.Text != "<0.04" {
		t.Errorf("2 VA OU with glasses = %+v, want <0.04", v)
	}
	checkRx(t, "2 objective R", find(t, b, lane.KindRefraction, lane.SourceAutorefraction, lane.EyeRight, false), rx{6.00, -6.25, 175, 0})
	checkRx(t, "2 objective L", find(t, b, lane.KindRefraction, lane.SourceAutorefraction, lane.EyeLeft, false), rx{-0.50, -6.75, 25, 0})
	checkRx(t, "2 subjective R", find(t, b, lane.KindRefraction, lane.SourceSubjective, lane.EyeRight, false), rx{5.25, -8.75, 175, 2.50})
	checkRx(t, "2 subjective L", find(t, b, lane.KindRefraction, lane.SourceSubjective, lane.EyeLeft, false), rx{-1.25, -5.25, 130, 2.50})
	checkRx(t, "2 final R", find(t, b, lane.KindRefraction, lane.SourceFinal, lane.EyeRight, false), rx{11.75, -3.50, 175, 1.75})
	checkRx(t, "2 final L", find(t, b, lane.KindRefraction, lane.SourceFinal, lane.EyeLeft, false), rx{16.00, -4.75, 130, 0.50})
	checkRx(t, "2 final near R", find(t, b, lane.KindRefraction, lane.SourceFinal, lane.EyeRight, true), rx{13.50, -3.50, 175, 0})
	checkRx(t, "2 final near L", find(t, b, lane.KindRefraction, lane.SourceFinal, lane.EyeLeft, true), rx{16.50, -4.75, 130, 0})
	if v := findVA(t, b, lane.SourceSubjective, lane.EyeLeft); v.Decimal != 2.0 {
		t.Errorf("2 subjective VA L = %+v", v)
	}
}

// TestRealRT5100Log decodes the logger's own file (timestamps between the
// items) to the same readings as the recovered byte stream.
func TestRealRT5100Log(t *testing.T) {
	logCaps := decodeAll(t, codectest.Read(t, "nidek_rt5100_rt-to-pc-capture-2016-08.log"))
	binCaps := decodeAll(t, codectest.Read(t, "nidek_rt5100_rt-to-pc-stream-2016-08.bin"))
	if len(logCaps) != len(binCaps) {
		t.Fatalf("log gave %d captures, stream %d", len(logCaps), len(binCaps))
	}
	for i := range logCaps {
		var a, b bytes.Buffer
		la, lb := codec.NewReport("x", logCaps[i]), codec.NewReport("x", binCaps[i])
		la.Warnings, lb.Warnings = nil, nil
		codec.WriteReport(&a, la)
		codec.WriteReport(&b, lb)
		if a.String() != b.String() {
			t.Errorf("capture %d differs between log and stream:\n%s\n%s", i, a.String(), b.String())
		}
		if len(logCaps[i].Warnings) != 1 || !strings.Contains(logCaps[i].Warnings[0], "stray bytes") {
			t.Errorf("log capture %d warnings = %q", i, logCaps[i].Warnings)
		}
	}
}

// TestRealRT3100 checks the RT-3100 practice capture (device clock 2002).
func TestRealRT3100(t *testing.T) {
	caps := decodeAll(t, codectest.Read(t, "nidek_rt3100_final-rx-capture-1.hex"))
	if len(caps) != 1 {
		t.Fatalf("got %d captures", len(caps))
	}
	c := caps[0]
	if c.Instrument.Model != "RT-3100" || !c.DeviceTime.Equal(time.Date(2002, 6, 16, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("instrument %+v at %v", c.Instrument, c.DeviceTime)
	}
	checkRx(t, "final R", find(t, c, lane.KindRefraction, lane.SourceFinal, lane.EyeRight, false), rx{-1.50, -0.75, 180, 0.75})
	checkRx(t, "final L", find(t, c, lane.KindRefraction, lane.SourceFinal, lane.EyeLeft, false), rx{-1.50, -1.50, 175, 1.25})
	if v := findVA(t, c, lane.SourceFinal, lane.EyeRight); v.Decimal != 0.1 {
		t.Errorf("VA R = %v", v.Decimal)
	}
	if v := findVA(t, c, lane.SourceFinal, lane.EyeLeft); v.Decimal != 1.25 {
		t.Errorf("VA L = %v", v.Decimal)
	}
	if pd := findPD(t, c, lane.SourceFinal, lane.EyeBoth, lane.DistanceFar); pd != 64.0 {
		t.Errorf("PD = %v", pd)
	}
	if len(c.Readings) != 5 || len(c.Warnings) != 0 {
		t.Errorf("%d readings, warnings %q", len(c.Readings), c.Warnings)
	}
}

// TestGoldenTranscripts decodes the synthetic transcripts in testdata and
// compares the reports with the .golden.jsonl files (see testdata/README.md).
func TestGoldenTranscripts(t *testing.T) {
	codectest.Golden(t, Codec{}, ".bin")
}

// TestSyntheticSemantics spells out what the full synthetic print means, so
// the golden file is checked by something other than itself.
func TestSyntheticSemantics(t *testing.T) {
	data, err := os.ReadFile("testdata/rt5100-full-synthetic.bin")
	if err != nil {
		t.Fatal(err)
	}
	c := decodeAll(t, data)[0]
	if !c.DeviceTime.Equal(time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("heading form 2 date = %v", c.DeviceTime)
	}
	lm := find(t, c, lane.KindLensometry, lane.SourceLensometry, lane.EyeRight, false)
	checkRx(t, "lensmeter R", lm, rx{1.25, -0.50, 90, 2.00})
	if p := lm.Refraction.Prism; p.H != 2000 || p.HBase != lane.BaseIn || p.V != 500 || p.VBase != lane.BaseDown {
		t.Errorf("lensmeter R prism = %+v, want 2Δ in, 0.5Δ down", p)
	}
	obj := find(t, c, lane.KindRefraction, lane.SourceAutorefraction, lane.EyeRight, false)
	if !codec.HasMethod(obj, codec.MethodNight) {
		t.Errorf("@rm reading not marked night: %q", obj.Method)
	}
	checkRx(t, "subjective near R", find(t, c, lane.KindRefraction, lane.SourceSubjective, lane.EyeRight, true), rx{3.25, -0.50, 90, 0})
	subj := find(t, c, lane.KindRefraction, lane.SourceSubjective, lane.EyeRight, false)
	if p := subj.Refraction.Prism; p.H != 1000 || p.HBase != lane.BaseIn {
		t.Errorf("subjective R prism = %+v", p)
	}
	if v := findVA(t, c, lane.SourceSubjective, lane.EyeRight); v.Decimal != 1.0 || v.Letters != -1 || v.Text != "1.0-1" {
		t.Errorf("subjective VA R (v + u) = %+v", v)
	}
	if v := findVA(t, c, lane.SourceUnaided, lane.EyeRight); v.Decimal != 0.3 || v.Letters != 1 {
		t.Errorf("unaided VA R (W + M) = %+v", v)
	}
	if v := findVA(t, c, lane.SourceFinal, lane.EyeLeft); v.Qualifier != lane.VAMoreThan || v.Decimal != 1.5 {
		t.Errorf("final VA L = %+v, want >1.5", v)
	}
	if pd := findPD(t, c, lane.SourceSubjective, lane.EyeRight, lane.DistanceFar); pd != 32.0 {
		t.Errorf("subjective mono PD R = %v", pd)
	}
	var km *lane.Keratometry
	var iops = map[lane.Eye]lane.MmHg{}
	for _, m := range c.Readings {
		if m.Kind == lane.KindKeratometry && m.Eye == lane.EyeRight {
			km = m.Keratometry
		}
		if m.Kind == lane.KindIOP {
			iops[m.Eye] = m.IOP.Pressure
		}
	}
	if km == nil || km.K1.Radius != 785 || km.K2.Radius != 770 || km.K1.Axis != 10 || km.K1.Power != 43000 || km.K2.Power != 43750 {
		t.Errorf("K R = %+v", km)
	}
	if iops[lane.EyeRight] != 150 || iops[lane.EyeLeft] != 180 {
		t.Errorf("IOP = %v (R from T 15.0 mmHg, L from t 2.40 kPa = 18.0 mmHg)", iops)
	}
	joined := strings.Join(c.Warnings, "\n")
	for _, w := range []string{"items not imported: QR", "converted to mmHg"} {
		if !strings.Contains(joined, w) {
			t.Errorf("warning %q missing from %q", w, joined)
		}
	}
	if strings.Contains(joined, "ME") || strings.Contains(joined, "AG") {
		t.Errorf("known non-measurement items reported: %q", joined)
	}
}

func TestDecodeParityWarning(t *testing.T) {
	frame := []byte("\x01NIDEK RT-2100\r\x02@RT\r\x02FR+ 2.25- 1.25135\r\x04")
	for i := range frame {
		frame[i] |= 0x80
	}
	c, err := (Codec{}).Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "parity") || len(c.Readings) != 1 || c.Readings[0].Refraction.Axis != 135 {
		t.Errorf("readings %+v warnings %q", c.Readings, c.Warnings)
	}
}

func TestDecodeErrors(t *testing.T) {
	codectest.Rejects(t, Codec{}, map[string]string{
		"no SOH": "NIDEK\r\x02@RT\r\x04",
		"no EOT": "\x01NIDEK RT-5100\r\x02@RT\r\x02FR- 1.50- 0.75180\r",
		"empty":  "\x01NIDEK RT-5100\r\x04",
	})
}

func TestDecodeItemProblems(t *testing.T) {
	tests := []struct {
		item string
		warn string
	}{
		{"FR- 1.5x- 0.75180", "item FR: sphere"},
		{"FR- 1.50- 0.75190", "item FR: axis"},
		{"FR- 1.50- 0.75   ", "item FR: axis"},
		{"FR+45.00- 0.75180", "item FR: sphere"},
		{"AR+ 1.00", "ADD for final R sent without sphere/cylinder"},
		{"PR I 2.00", "prism for final R sent without sphere/cylinder"},
		{"PDxx.x        ", "item PD: PD"},
		{"VR 9.99", "item VR: VA"},
		{"ZZ 1", "items not imported: ZZ"},
	}
	for _, tc := range tests {
		frame := "\x01NIDEK RT-5100 ID             DA2024/1/2\r\x02@RT\r\x02" + tc.item + "\r\x04"
		c, err := (Codec{}).Decode([]byte(frame))
		if err != nil {
			t.Errorf("%q: %v", tc.item, err)
			continue
		}
		if !strings.Contains(strings.Join(c.Warnings, "|"), tc.warn) {
			t.Errorf("%q: warnings %q, want one containing %q", tc.item, c.Warnings, tc.warn)
		}
		for _, w := range c.Warnings {
			if strings.Contains(w, "1.50") || strings.Contains(w, "45.00") {
				t.Errorf("warning quotes a value: %q", w)
			}
		}
	}
}

func TestSniff(t *testing.T) {
	codectest.Sniff(t, Codec{},
		[]string{
			"\x01NIDEK RT-5100 ID\r\x02@RT\r",
			"noise\x81NIDEK\r\x82@LM\r",
		},
		[]string{
			"\x01DLM\x02IDNIDEK/LM-1000P\x17",
			"\x01C   \x02RS\x17\x04",
			"<?xml version=\"1.0\"?><Ophthalmology/>",
			"\x1cREQ=INI\r\n",
		})
}

// BenchmarkFrameAndDecode4KiB frames and decodes a 4 KiB RT print.
func BenchmarkFrameAndDecode4KiB(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("\x01NIDEK RT-5100 ID             DA2016/ 8/ 2\r\x02@RT\r")
	items := []string{"fR- 6.75- 1.75 50", "fL- 5.25- 1.50140", "aR+ 0.25", "vR 0.8 ", "uR 0.8   ", "pD64.0        ",
		"FR-12.00- 1.75 50", "FL-10.50- 1.50140", "AR+ 5.50", "VB 0.8 ", "PD64.0        ", "Pd59.5        "}
	for i := 0; buf.Len() < 4096-32; i++ {
		if i%len(items) == 0 {
			buf.WriteString("\x02@RT\r")
		}
		buf.WriteString("\x02" + items[i%len(items)] + "\r")
	}
	buf.WriteString("\x04\r")
	frame := buf.Bytes()
	codectest.BenchDecode(b, Codec{}, frame)
}
