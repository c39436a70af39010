package fhir

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/examlane/examlane/lane"
)

func TestDecodeBundle(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "bundles", "transaction.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := DecodeBundle(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("got %d records, want 4 (patient, encounter, IOP, Rx): %#v", len(recs), recs)
	}
	p, ok := recs[0].(lane.Patient)
	if !ok || p.MRN != "TEST-42" || p.Name.Family != "Sample" {
		t.Fatalf("record 0 = %#v", recs[0])
	}
	// A patient without id or lane identifier keeps its urn:uuid as lane id.
	if p.ID != "7d1c0f5e-0000-4000-8000-00000000000a" {
		t.Errorf("patient id = %q", p.ID)
	}
	e := recs[1].(lane.Encounter)
	if e.ID != "enc-lane-1" || e.PatientID != p.ID || e.Status != lane.EncDone {
		t.Errorf("encounter = %+v", e)
	}
	m := recs[2].(lane.Measurement)
	if m.Kind != lane.KindIOP || m.IOP.Pressure != 170 || m.PatientID != p.ID || m.EncounterID != "enc-lane-1" || m.Eye != lane.EyeRight {
		t.Errorf("observation = %+v %+v", m, m.IOP)
	}
	rx := recs[3].(lane.SpectacleRx)
	if rx.ID != "rx-9" || rx.PatientID != p.ID || rx.Right.Prism.V != 500 || rx.Right.Prism.VBase != lane.BaseUp ||
		rx.Right.Axis != 90 || rx.Left.Sphere != -1000 || !rx.Signed() || rx.Prescriber != "dr-9" {
		t.Errorf("rx = %+v", rx)
	}
}

func TestDecodeBundleErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not json", `{`, "bundle"},
		{"not a bundle", `{"resourceType":"Patient"}`, "resourceType"},
		{"bad type", `{"resourceType":"Bundle","type":"nonsense"}`, "type"},
		{"bad entry", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p","birthDate":"yesterday"}}]}`, "entry 0"},
		{"bad power", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"VisionPrescription","id":"x","status":"active","patient":{"reference":"Patient/p"},"lensSpecification":[{"product":{},"eye":"right","sphere":99}]}}]}`, "out of range"},
		{"no id", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"}}]}`, "no id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeBundle(strings.NewReader(tt.in))
			if !errors.Is(err, lane.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DecodeBundle = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}

func TestPatchKeepsForeignElements(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "patch", "server-patient.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := Mapper{}
	res, _ := Decode(raw)
	p, err := m.FromFHIR(res)
	if err != nil {
		t.Fatal(err)
	}
	lp := p.(lane.Patient)
	if lp.ID != "lane-p1" || lp.Phone != "+1 555 0001" || lp.Name.Family != "Oldname" {
		t.Fatalf("read %+v", lp)
	}
	lp.Name.Family = "Newname"
	lp.Phone = "+1 555 0009"
	lp.Alerts = []string{"new alert"}
	out := m.Patient(lp)
	SetID(out, "srv-p1")
	patched, err := Patch(raw, out)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(patched, &got); err != nil {
		t.Fatal(err)
	}
	s := string(patched)
	for _, want := range []string{
		`"http://example.test/fhir/ext/ethnicity"`, `"NAT-999"`, `"communication"`, `"generalPractitioner"`,
		`"maiden"`, `"suffix":["III"]`, `"period":{"start":"2001-01-01"}`, `"+1 555 0002"`, `"fax"`, `"rank":1`,
		`"Newname"`, `"+1 555 0009"`, `"new alert"`, `"security"`, `"active":true`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("patched resource lost %s:\n%s", want, s)
		}
	}
	for _, gone := range []string{`"Oldname"`, `"old alert"`, `"+1 555 0001"`, `"generated"`} {
		if strings.Contains(s, gone) {
			t.Errorf("patched resource still has %s:\n%s", gone, s)
		}
	}
	if got["id"] != "srv-p1" {
		t.Errorf("id = %v", got["id"])
	}
	// and the lane reads back what it wrote
	back, _ := Decode(patched)
	lp2, err := m.FromFHIR(back)
	if err != nil {
		t.Fatal(err)
	}
	if q := lp2.(lane.Patient); q.Name.Family != "Newname" || q.Phone != "+1 555 0009" || len(q.Alerts) != 1 {
		t.Errorf("read back %+v", q)
	}
}

func TestPatchTypeMismatch(t *testing.T) {
	if _, err := Patch([]byte(`{"resourceType":"Encounter"}`), m0.Patient(samplePatient())); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("Patch across types = %v, want ErrInvalid", err)
	}
}

var m0 Mapper
