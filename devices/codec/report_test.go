package codec

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/<name>, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got %s\nwant %s", name, got, want)
	}
}

func sampleCapture() lane.Capture {
	refr := lane.Refraction{Sphere: -1500, Cylinder: -750, Axis: 180, Add: 2250,
		Prism: lane.Prism{H: 2500, HBase: lane.BaseIn, V: 1000, VBase: lane.BaseDown}}
	near := lane.Refraction{Sphere: 13500, Cylinder: -3500, Axis: 175}
	nearM := lane.Measurement{Kind: lane.KindRefraction, Eye: lane.EyeRight, Source: lane.SourceFinal, Representative: true, CylinderSign: lane.MinusCylinder, Refraction: &near}
	AddMethod(&nearM, MethodNear)
	c := lane.Capture{
		Format:     "test",
		Instrument: lane.InstrumentRef{Vendor: "NIDEK", Model: "RT-5100"},
		DeviceTime: time.Date(2016, 8, 2, 5, 52, 3, 0, time.UTC),
		Readings: []lane.Measurement{
			{Kind: lane.KindRefraction, Eye: lane.EyeRight, Source: lane.SourceSubjective, Representative: true, CylinderSign: lane.MinusCylinder, Refraction: &refr},
			nearM,
			{Kind: lane.KindLensometry, Eye: lane.EyeLeft, Source: lane.SourceLensometry, Representative: true, CylinderSign: lane.PlusCylinder,
				Refraction: &lane.Refraction{Sphere: 125, Cylinder: 500, Axis: 90, Prism: lane.Prism{H: 1250, HBase: lane.BaseOut, V: 2000, VBase: lane.BaseUp}}},
			{Kind: lane.KindRefraction, Eye: lane.EyeLeft, Source: lane.SourceAutorefraction, Representative: false, CylinderSign: lane.MinusCylinder, Confidence: "9",
				Refraction: &lane.Refraction{Sphere: -6530, Cylinder: -420, Axis: 114}},
			{Kind: lane.KindRefraction, Eye: lane.EyeLeft, Source: lane.SourceAutorefraction, CylinderSign: lane.MinusCylinder,
				Refraction: &lane.Refraction{Sphere: -5250}},
			{Kind: lane.KindKeratometry, Eye: lane.EyeRight, Source: lane.SourceObjective, Representative: true,
				Keratometry: &lane.Keratometry{K1: lane.KMeridian{Radius: 857, Power: 39380, Axis: 87}, K2: lane.KMeridian{Radius: 849, Power: 39760, Axis: 177}, Index: 13375}},
			{Kind: lane.KindKeratometry, Eye: lane.EyeLeft, Source: lane.SourceObjective, Representative: true,
				Keratometry: &lane.Keratometry{K1: lane.KMeridian{Radius: 770, Axis: 180}, K2: lane.KMeridian{Radius: 765}}},
			{Kind: lane.KindIOP, Eye: lane.EyeRight, Source: lane.SourceObjective, Representative: true, Confidence: "*",
				IOP: &lane.IOP{Pressure: 210, Method: lane.IOPNonContact, Corrected: 160, CCT: 907}},
			{Kind: lane.KindIOP, Eye: lane.EyeLeft, Source: lane.SourceObjective, IOP: &lane.IOP{Pressure: 175}},
			{Kind: lane.KindPachymetry, Eye: lane.EyeLeft, Source: lane.SourceObjective, Representative: true, Pachymetry: &lane.Pachymetry{CCT: 552}},
			{Kind: lane.KindPD, Eye: lane.EyeBoth, Source: lane.SourceFinal, Representative: true, PD: &lane.PD{Value: 6400, Distance: lane.DistanceFar}},
			{Kind: lane.KindPD, Eye: lane.EyeRight, Source: lane.SourceSubjective, Representative: true, PD: &lane.PD{Value: 2975, Distance: lane.DistanceNear}},
			{Kind: lane.KindVA, Eye: lane.EyeBoth, Source: lane.SourceLensometry, Representative: true, VA: &lane.VisualAcuity{Decimal: 0.04, Text: "<0.04", Qualifier: lane.VALessThan}},
			{Kind: lane.KindVA, Eye: lane.EyeLeft, Source: lane.SourceUnaided, Representative: true, VA: &lane.VisualAcuity{Text: "20/25", Distance: lane.DistanceNear}},
			{Kind: lane.KindError, Eye: lane.EyeRight, Source: lane.SourceAutorefraction, Message: "NO CENTER"},
			{Kind: lane.KindLensometry, Eye: lane.EyeUnknown, Source: lane.SourceLensometry, Representative: true, CylinderSign: lane.MinusCylinder,
				Refraction: &lane.Refraction{Sphere: -125, Cylinder: -250, Axis: 5, Add: 125}},
		},
		Warnings: []string{"checksum missing"},
	}
	return c
}

func TestReportGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReport(&buf, NewReport("captures/a.bin", sampleCapture())); err != nil {
		t.Fatal(err)
	}
	empty := lane.Capture{Format: "joia", Instrument: lane.InstrumentRef{Vendor: "TOPCON", Model: "CT-800A"}}
	if err := WriteReport(&buf, NewReport("b.xml", empty)); err != nil {
		t.Fatal(err)
	}
	if bytes.Count(buf.Bytes(), []byte("\n")) != 2 {
		t.Fatalf("want one line per capture, got %q", buf.String())
	}
	golden(t, "report/sample.jsonl", buf.Bytes())

	// Every line is valid JSON with exactly the contract's top-level keys.
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"file", "format", "vendor", "model", "device_time", "readings", "warnings"} {
			if _, ok := m[k]; !ok {
				t.Errorf("key %q missing", k)
			}
		}
		if len(m) != 7 {
			t.Errorf("report has %d keys, want 7", len(m))
		}
	}
}
