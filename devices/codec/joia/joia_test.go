package joia

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

// rep returns the representative reading of a kind, source and eye.
func rep(t *testing.T, c lane.Capture, kind lane.Kind, src lane.Source, eye lane.Eye) lane.Measurement {
	t.Helper()
	var found []lane.Measurement
	for _, m := range c.Readings {
		if m.Kind == kind && m.Source == src && m.Eye == eye && m.Representative && !codec.HasMethod(m, codec.MethodNear) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d representative %s %s %s readings", len(found), src, kind, eye)
	}
	return found[0]
}

func count(c lane.Capture, kind lane.Kind, eye lane.Eye, representative bool) int {
	n := 0
	for _, m := range c.Readings {
		if m.Kind == kind && m.Eye == eye && m.Representative == representative {
			n++
		}
	}
	return n
}

func rxString(r *lane.Refraction) string {
	s := r.Sphere.String() + " " + r.Cylinder.String()
	if r.Axis != 0 {
		s += " x" + r.Axis.String()
	}
	if r.Add != 0 {
		s += " add " + r.Add.String()
	}
	return s
}

func kString(k *lane.Keratometry) string {
	return k.K1.Radius.String() + "/" + k.K1.Power.String() + "@" + k.K1.Axis.String() + " " +
		k.K2.Radius.String() + "/" + k.K2.Power.String() + "@" + k.K2.Axis.String()
}

// TestRealKR800S: TOPCON KR-800S, Shift-JIS, REF + KM + SBJ (2013-12-06).
func TestRealKR800S(t *testing.T) {
	c := decode(t, codectest.Read(t, "topcon_kr800s_ref-km-sbj-joia-sjis-2013.xml"))
	if c.Instrument.Vendor != "TOPCON" || c.Instrument.Model != "KR-800S" || len(c.Warnings) != 0 {
		t.Errorf("instrument %+v warnings %q", c.Instrument, c.Warnings)
	}
	if !c.DeviceTime.Equal(time.Date(2013, 12, 6, 21, 31, 27, 0, time.UTC)) {
		t.Errorf("device time %v", c.DeviceTime)
	}
	// Autorefraction (median): R -5.50 DS, L -5.25 DS, vertex 13.75 mm.
	r := rep(t, c, lane.KindRefraction, lane.SourceAutorefraction, lane.EyeRight)
	l := rep(t, c, lane.KindRefraction, lane.SourceAutorefraction, lane.EyeLeft)
	if rxString(r.Refraction) != "-5.50 0.00" || rxString(l.Refraction) != "-5.25 0.00" || r.Refraction.Vertex != 1375 {
		t.Errorf("AR R %s L %s VD %v", rxString(r.Refraction), rxString(l.Refraction), r.Refraction.Vertex)
	}
	if count(c, lane.KindRefraction, lane.EyeRight, false) != 3 {
		t.Errorf("want the three R list readings kept")
	}
	// Keratometry (median): R 7.70/43.75@180 7.70/43.75@090; L 7.70/43.75@180 7.69/43.75@090.
	if k := rep(t, c, lane.KindKeratometry, lane.SourceObjective, lane.EyeRight).Keratometry; kString(k) != "7.7/+43.75@180 7.7/+43.75@090" || k.Index != 13375 {
		t.Errorf("K R = %s (index %d)", kString(k), k.Index)
	}
	if k := rep(t, c, lane.KindKeratometry, lane.SourceObjective, lane.EyeLeft).Keratometry; kString(k) != "7.7/+43.75@180 7.69/+43.75@090" {
		t.Errorf("K L = %s", kString(k))
	}
	// Subjective (Full Correction), left eye only: far -6.00 VA 0.7 at 5 m; near -8.25 VA 0.8 at 33 cm; PD 58.5.
	subj := rep(t, c, lane.KindRefraction, lane.SourceSubjective, lane.EyeLeft)
	if rxString(subj.Refraction) != "-6.00 0.00" || subj.Refraction.Vertex != 1200 {
		t.Errorf("subjective L far = %s", rxString(subj.Refraction))
	}
	var nearL *lane.Refraction
	var vas []string
	for _, m := range c.Readings {
		if m.Source == lane.SourceSubjective && m.Kind == lane.KindRefraction && m.Eye == lane.EyeLeft && codec.HasMethod(m, codec.MethodNear) {
			nearL = m.Refraction
		}
		if m.Kind == lane.KindVA {
			vas = append(vas, m.Eye.String()+" "+m.VA.Distance.String()+" "+m.VA.Text)
		}
		if m.Source == lane.SourceSubjective && m.Eye == lane.EyeRight && m.Kind == lane.KindRefraction {
			t.Errorf("empty right-eye subjective data produced a reading")
		}
	}
	if nearL == nil || rxString(nearL) != "-8.25 0.00" {
		t.Errorf("subjective L near = %v", nearL)
	}
	if strings.Join(vas, ",") != "L far 0.7,L near 0.8" {
		t.Errorf("VAs = %q", vas)
	}
	pds := map[string]float64{}
	for _, m := range c.Readings {
		if m.Kind == lane.KindPD {
			pds[string(m.Source)+" "+m.PD.Distance.String()] = m.PD.Value.Float()
		}
	}
	if pds["autorefraction far"] != 58 || pds["autorefraction near"] != 58 || pds["subjective far"] != 58.5 || pds["subjective near"] != 58.5 || len(pds) != 4 {
		t.Errorf("PDs = %v", pds)
	}
}

// TestRealTRK2P: TOPCON TRK-2P, REF + KM + TM with corrected IOP.
func TestRealTRK2P(t *testing.T) {
	c := decode(t, codectest.Read(t, "topcon_trk2p_ref-km-tm-joia-2013.xml"))
	if c.Instrument.Model != "TRK-2P" || len(c.Warnings) != 0 {
		t.Errorf("instrument %+v warnings %q", c.Instrument, c.Warnings)
	}
	// The device's own median: R -6.53 -0.42 x114, L -6.53 -0.47 x065 (0.01 D steps, VD 12).
	if r := rep(t, c, lane.KindRefraction, lane.SourceAutorefraction, lane.EyeRight); rxString(r.Refraction) != "-6.53 -0.42 x114" || r.Refraction.Vertex != 1200 {
		t.Errorf("AR R = %s", rxString(r.Refraction))
	}
	if l := rep(t, c, lane.KindRefraction, lane.SourceAutorefraction, lane.EyeLeft); rxString(l.Refraction) != "-6.53 -0.47 x065" {
		t.Errorf("AR L = %s", rxString(l.Refraction))
	}
	if k := rep(t, c, lane.KindKeratometry, lane.SourceObjective, lane.EyeRight).Keratometry; kString(k) != "8.56/+39.44@087 8.49/+39.76@177" {
		t.Errorf("K R = %s", kString(k))
	}
	if k := rep(t, c, lane.KindKeratometry, lane.SourceObjective, lane.EyeLeft).Keratometry; kString(k) != "8.62/+39.16@071 8.51/+39.66@161" {
		t.Errorf("K L = %s", kString(k))
	}
	// IOP: R 20/21/21, average 21, corrected 16 with CCT 907 µm; L 17/18/19, average 18, corrected 14 with CCT 880 µm.
	ri := rep(t, c, lane.KindIOP, lane.SourceObjective, lane.EyeRight).IOP
	li := rep(t, c, lane.KindIOP, lane.SourceObjective, lane.EyeLeft).IOP
	if ri.Pressure != 210 || ri.Corrected != 160 || ri.CCT != 907 || ri.Method != lane.IOPNonContact {
		t.Errorf("IOP R = %+v", *ri)
	}
	if li.Pressure != 180 || li.Corrected != 140 || li.CCT != 880 {
		t.Errorf("IOP L = %+v", *li)
	}
	if count(c, lane.KindIOP, lane.EyeRight, false) != 3 || count(c, lane.KindIOP, lane.EyeLeft, false) != 3 {
		t.Error("want three IOP readings per eye kept")
	}
}

// TestRealCT800A: TOPCON CT-800A tonometer with TOPCON's non-namespaced
// vendor <TM> and <CorrectedIOP> blocks, which must be ignored.
func TestRealCT800A(t *testing.T) {
	c := decode(t, codectest.Read(t, "topcon_ct800a_tm-joia-1.xml"))
	if c.Instrument.Model != "CT-800A" || len(c.Warnings) != 0 || len(c.Readings) != 6 {
		t.Errorf("instrument %+v warnings %q readings %d", c.Instrument, c.Warnings, len(c.Readings))
	}
	// R 18, 20 → 19.0 average; L 17, 16 → 17.0 (the device's average, not our median 16.5).
	if p := rep(t, c, lane.KindIOP, lane.SourceObjective, lane.EyeRight).IOP; p.Pressure != 190 || p.Corrected != 190 || p.CCT != 550 {
		t.Errorf("IOP R = %+v", *p)
	}
	if p := rep(t, c, lane.KindIOP, lane.SourceObjective, lane.EyeLeft).IOP; p.Pressure != 170 || p.Corrected != 170 {
		t.Errorf("IOP L = %+v", *p)
	}
}

// TestRealCL300: TOPCON CL-300 lensmeter (clock unset: 2012-01-01).
func TestRealCL300(t *testing.T) {
	c := decode(t, codectest.Read(t, "topcon_cl300_lm-joia-1.xml"))
	if c.Instrument.Model != "CL-300" || !c.DeviceTime.Equal(time.Date(2012, 1, 1, 12, 34, 56, 0, time.UTC)) || len(c.Warnings) != 0 {
		t.Errorf("instrument %+v at %v warnings %q", c.Instrument, c.DeviceTime, c.Warnings)
	}
	// R -0.25 -1.00 x091, L 0.00 -1.00 x087; prisms +0.00/-0.00 mean none.
	r := rep(t, c, lane.KindLensometry, lane.SourceLensometry, lane.EyeRight)
	l := rep(t, c, lane.KindLensometry, lane.SourceLensometry, lane.EyeLeft)
	if rxString(r.Refraction) != "-0.25 -1.00 x091" || rxString(l.Refraction) != "0.00 -1.00 x087" {
		t.Errorf("R %s L %s", rxString(r.Refraction), rxString(l.Refraction))
	}
	if !r.Refraction.Prism.IsZero() || !l.Refraction.Prism.IsZero() || r.CylinderSign != lane.MinusCylinder {
		t.Errorf("prism %+v %+v sign %v", r.Refraction.Prism, l.Refraction.Prism, r.CylinderSign)
	}
}

func TestGoldenTranscripts(t *testing.T) {
	codectest.Golden(t, Codec{}, ".xml")
}

func TestSyntheticSemantics(t *testing.T) {
	data, _ := os.ReadFile("testdata/ref-km-utf16-error-computed-median.xml")
	c := decode(t, data)
	// R lists: -1.75 -0.50 x178, error, -1.50 -0.75 x003, -1.75 -0.50 x001 →
	// computed median -1.75 -0.50 x001 (axes as meridians around 180).
	m := rep(t, c, lane.KindRefraction, lane.SourceAutorefraction, lane.EyeRight)
	if rxString(m.Refraction) != "-1.75 -0.50 x001" || !codec.HasMethod(m, codec.MethodMedian) {
		t.Errorf("computed median = %s (%q)", rxString(m.Refraction), m.Method)
	}
	var conf, errs []string
	for _, r := range c.Readings {
		if r.Kind == lane.KindRefraction && !r.Representative {
			conf = append(conf, r.Confidence)
		}
		if r.Kind == lane.KindError {
			errs = append(errs, r.Eye.String()+" "+r.Message)
		}
	}
	if strings.Join(conf, ",") != "9,8,*" || strings.Join(errs, ",") != "R REF: NO CENTER" {
		t.Errorf("confidence %q errors %q", conf, errs)
	}
	// KM in the default namespace, no median: K1 7.81/43.22 @180 (175 and 5 as meridians), K2 7.61/44.35 @090.
	k := rep(t, c, lane.KindKeratometry, lane.SourceObjective, lane.EyeLeft).Keratometry
	if kString(k) != "7.81/+43.215@180 7.61/+44.35@090" {
		t.Errorf("computed K = %s", kString(k))
	}
	if !c.DeviceTime.Equal(time.Date(2024, 2, 29, 8, 15, 0, 0, time.UTC)) {
		t.Errorf("time %v", c.DeviceTime)
	}

	data, _ = os.ReadFile("testdata/tm-lm-sbj-shiftjis.xml")
	c = decode(t, data)
	// TM R: 20.0 hPa = 15.0 mmHg, then 16 → computed median 15.5; L an error.
	if p := rep(t, c, lane.KindIOP, lane.SourceObjective, lane.EyeRight).IOP; p.Pressure != 155 {
		t.Errorf("IOP R = %v", p.Pressure)
	}
	lm := rep(t, c, lane.KindLensometry, lane.SourceLensometry, lane.EyeRight)
	if rxString(lm.Refraction) != "-1.00 +0.50 x090 add +2.00" || lm.CylinderSign != lane.PlusCylinder || lm.Note != "ADD2 +2.75" {
		t.Errorf("LM R = %s sign %v note %q", rxString(lm.Refraction), lm.CylinderSign, lm.Note)
	}
	if p := lm.Refraction.Prism; p.H != 1000 || p.HBase != lane.BaseNoneH || p.V != 0 {
		t.Errorf("LM prism = %+v: the amount is kept, the base left unset", p)
	}
	fin := rep(t, c, lane.KindRefraction, lane.SourceFinal, lane.EyeRight)
	if p := fin.Refraction.Prism; p != (lane.Prism{H: 1500, HBase: lane.BaseOut}) {
		t.Errorf("SBJ R prism = %+v", p)
	}
	if p := rep(t, c, lane.KindRefraction, lane.SourceFinal, lane.EyeLeft).Refraction.Prism; p != (lane.Prism{V: 2000, VBase: lane.BaseUp}) {
		t.Errorf("SBJ L polar prism = %+v", p)
	}
	if v := rep(t, c, lane.KindVA, lane.SourceFinal, lane.EyeBoth).VA; v.Decimal != 0 || v.Text != "20/16" {
		t.Errorf("Snellen VA = %+v (kept as text)", v)
	}
	if v := rep(t, c, lane.KindVA, lane.SourceUnaided, lane.EyeRight).VA; v.Decimal != 0.3 || v.Aided {
		t.Errorf("unaided VA = %+v", v)
	}
	w := strings.Join(c.Warnings, "\n")
	for _, want := range []string{"converted to mmHg", "sign convention unverified", `test type "Contrast Special" not imported`} {
		if !strings.Contains(w, want) {
			t.Errorf("warning %q missing from\n%s", want, w)
		}
	}
}

func TestRejects(t *testing.T) {
	codectest.Rejects(t, Codec{}, map[string]string{
		"not xml":     "\x01NIDEK",
		"nidek xml":   `<Ophthalmology><Common><Company>NIDEK</Company></Common></Ophthalmology>`,
		"wrong root":  `<Other xmlns:c="http://www.joia.or.jp/standardized/namespaces/Common"><c:Common/></Other>`,
		"entity bomb": `<!DOCTYPE o [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><Ophthalmology xmlns:c="http://www.joia.or.jp/standardized/namespaces/Common"><c:Common>&b;</c:Common></Ophthalmology>`,
		"external":    `<!DOCTYPE o [<!ENTITY x SYSTEM "file:///etc/passwd">]><Ophthalmology>&x;</Ophthalmology>`,
		"truncated":   `<Ophthalmology xmlns:c="http://www.joia.or.jp/standardized/namespaces/Common"><c:Common>`,
		"deep":        `<Ophthalmology xmlns:c="http://www.joia.or.jp/standardized/namespaces/Common">` + strings.Repeat("<c:x>", 200) + strings.Repeat("</c:x>", 200) + `</Ophthalmology>`,
	})
}

func TestSniff(t *testing.T) {
	if !(Codec{}).Sniff([]byte(`<Ophthalmology xmlns:a="http://www.joia.or.jp/standardized/namespaces/REF">`)) {
		t.Error("JOIA not recognised")
	}
	data, _ := os.ReadFile("testdata/ref-km-utf16-error-computed-median.xml")
	if !(Codec{}).Sniff(data) {
		t.Error("UTF-16 JOIA not recognised")
	}
	if (Codec{}).Sniff([]byte(`<Ophthalmology><Common/></Ophthalmology>`)) {
		t.Error("NIDEK XML taken for JOIA")
	}
}

// BenchmarkDecode4KiB decodes a 4 KiB JOIA file (REF with lists).
func BenchmarkDecode4KiB(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Ophthalmology xmlns:c="` + NamespacePrefix + `Common" xmlns:r="` + NamespacePrefix + `REF"><c:Common><c:Company>X</c:Company><c:ModelName>Y</c:ModelName><c:Date>2024-01-01</c:Date><c:Time>10:00:00</c:Time></c:Common><r:Measure type="REF"><r:REF><r:R>`)
	for i := 0; buf.Len() < 4000; i++ {
		buf.WriteString(`<r:List No="1"><r:Sphere>-1.25</r:Sphere><r:Cylinder>-0.50</r:Cylinder><r:Axis>90</r:Axis></r:List>`)
	}
	buf.WriteString(`</r:R></r:REF></r:Measure></Ophthalmology>`)
	data := buf.Bytes()
	codectest.BenchDecode(b, Codec{}, data)
}
