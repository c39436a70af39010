package nidekxml

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

func decode(t *testing.T, data []byte) lane.Capture { return codectest.Decode(t, Codec{}, data) }

func rep(t *testing.T, c lane.Capture, kind lane.Kind, eye lane.Eye) lane.Measurement {
	t.Helper()
	for _, m := range c.Readings {
		if m.Kind == kind && m.Eye == eye && m.Representative {
			return m
		}
	}
	t.Fatalf("no representative %s %s", kind, eye)
	return lane.Measurement{}
}

// TestRealLM7: a real NIDEK LM-7 LAN export (misspelt "Sphare").
func TestRealLM7(t *testing.T) {
	c := decode(t, codectest.Read(t, "nidek_lm7_lm-lan.xml"))
	if c.Instrument.Vendor != "NIDEK" || c.Instrument.Model != "LM-7" || len(c.Warnings) != 0 {
		t.Errorf("instrument %+v warnings %q", c.Instrument, c.Warnings)
	}
	if !c.DeviceTime.Equal(time.Date(2026, 5, 18, 13, 7, 57, 0, time.UTC)) {
		t.Errorf("device time %v", c.DeviceTime)
	}
	// R +6.25 -3.25 x003; L +6.50 -2.75 x170 add +1.50 (near sphere +8.00).
	r := rep(t, c, lane.KindLensometry, lane.EyeRight)
	l := rep(t, c, lane.KindLensometry, lane.EyeLeft)
	if rf := r.Refraction; rf.Sphere != 6250 || rf.Cylinder != -3250 || rf.Axis != 3 || rf.Add != 0 || !rf.Prism.IsZero() {
		t.Errorf("R = %+v", *rf)
	}
	if rf := l.Refraction; rf.Sphere != 6500 || rf.Cylinder != -2750 || rf.Axis != 170 || rf.Add != 1500 || !rf.Prism.IsZero() {
		t.Errorf("L = %+v", *rf)
	}
	if l.Note != "near sphere +8.00" || r.Source != lane.SourceLensometry || r.CylinderSign != lane.MinusCylinder {
		t.Errorf("L note %q, source %s, sign %v", l.Note, r.Source, r.CylinderSign)
	}
	if len(c.Readings) != 2 {
		t.Errorf("%d readings", len(c.Readings))
	}
}

func TestGoldenTranscripts(t *testing.T) {
	codectest.Golden(t, Codec{}, ".xml")
}

func TestSyntheticSemantics(t *testing.T) {
	data, _ := os.ReadFile("testdata/nt530p-data-utf16.xml")
	c := decode(t, data)
	if c.Instrument.Model != "NT-530P" || !c.DeviceTime.Equal(time.Date(2024, 4, 2, 14, 51, 0, 0, time.UTC)) {
		t.Errorf("instrument %+v at %v", c.Instrument, c.DeviceTime)
	}
	// R: 12, 11, 15 → average 12.7 mmHg, corrected 12.3 with CCT 559 µm; pachymetry 559 µm.
	if p := rep(t, c, lane.KindIOP, lane.EyeRight).IOP; p.Pressure != 127 || p.Corrected != 123 || p.CCT != 559 {
		t.Errorf("IOP R = %+v", *p)
	}
	if p := rep(t, c, lane.KindPachymetry, lane.EyeRight).Pachymetry; p.CCT != 559 {
		t.Errorf("CCT R = %v", p.CCT)
	}
	// L has no averages: computed medians 13.5 mmHg and 560 µm (559.5 rounded half up).
	l := rep(t, c, lane.KindIOP, lane.EyeLeft)
	if l.IOP.Pressure != 135 || !codec.HasMethod(l, codec.MethodMedian) {
		t.Errorf("IOP L = %+v %q", *l.IOP, l.Method)
	}
	if p := rep(t, c, lane.KindPachymetry, lane.EyeLeft).Pachymetry; p.CCT != 560 {
		t.Errorf("CCT L = %v", p.CCT)
	}

	data, _ = os.ReadFile("testdata/lm1800p-is-eyes-prisms.xml")
	c = decode(t, data)
	r := rep(t, c, lane.KindLensometry, lane.EyeRight)
	if r.Refraction.Prism != (lane.Prism{H: 750, HBase: lane.BaseOut, V: 1000, VBase: lane.BaseUp}) || r.Confidence != "OK" {
		t.Errorf("R (block I) prism %+v confidence %q", r.Refraction.Prism, r.Confidence)
	}
	// 1Δ at 180° on the left eye is nasal: base in.
	if p := rep(t, c, lane.KindLensometry, lane.EyeLeft).Refraction.Prism; p != (lane.Prism{H: 1000, HBase: lane.BaseIn}) {
		t.Errorf("L (block S) polar prism %+v", p)
	}
	if !strings.Contains(strings.Join(c.Warnings, ""), "I/S") {
		t.Errorf("I/S labelling not flagged: %q", c.Warnings)
	}
	if p := rep(t, c, lane.KindPD, lane.EyeBoth).PD; p.Value != 6200 {
		t.Errorf("PD %v", p.Value)
	}

	data, _ = os.ReadFile("testdata/ark510a-data.xml")
	c = decode(t, data)
	ar := rep(t, c, lane.KindRefraction, lane.EyeRight)
	if rf := ar.Refraction; rf.Sphere != -250 || rf.Cylinder != -250 || rf.Axis != 49 || rf.Vertex != 1375 || ar.Source != lane.SourceAutorefraction {
		t.Errorf("AR R median = %+v", *rf)
	}
	if k := rep(t, c, lane.KindKeratometry, lane.EyeRight).Keratometry; k.K1.Radius != 772 || k.K2.Power != 44350 || k.K2.Axis != 88 {
		t.Errorf("K R = %+v", *k)
	}
	var errs int
	for _, m := range c.Readings {
		if m.Kind == lane.KindError {
			errs++
		}
	}
	if errs != 1 {
		t.Errorf("%d error readings, want 1 (OUT OF RANGE)", errs)
	}
}

func TestRejectsAndSniff(t *testing.T) {
	codectest.Rejects(t, Codec{}, map[string]string{
		"not xml":    "\x01DLM\x02",
		"wrong root": "<Other/>",
		"bomb":       `<!DOCTYPE d [<!ENTITY a "a">]><Data>&a;</Data>`,
	})
	data, _ := os.ReadFile("testdata/nt530p-data-utf16.xml")
	if !(Codec{}).Sniff(data) || !(Codec{}).Sniff([]byte("<Ophthalmology>")) {
		t.Error("NIDEK XML not recognised")
	}
	if (Codec{}).Sniff([]byte(`<Ophthalmology xmlns:c="http://www.joia.or.jp/standardized/namespaces/Common">`)) {
		t.Error("JOIA taken for NIDEK XML")
	}
}

// BenchmarkDecode4KiB decodes a 4 KiB NIDEK <Data> file.
func BenchmarkDecode4KiB(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0"?><Data><Company>NIDEK</Company><ModelName>NT-530P</ModelName><R><NT>`)
	for buf.Len() < 4000 {
		buf.WriteString(`<NTList No = "1"><mmHg>12mmHg</mmHg></NTList>`)
	}
	buf.WriteString(`</NT></R></Data>`)
	data := buf.Bytes()
	codectest.BenchDecode(b, Codec{}, data)
}
