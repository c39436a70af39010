package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/examlane/examlane/lane"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

// TestRoundTrip maps every sample lane → FHIR → JSON → FHIR → lane and wants
// the record back unchanged.
func TestRoundTrip(t *testing.T) {
	m := Mapper{MRNSystem: "urn:example:practice:mrn"}
	for name, rec := range samples() {
		t.Run(name, func(t *testing.T) {
			res, err := m.ToFHIR(rec)
			if err != nil {
				t.Fatalf("ToFHIR: %v", err)
			}
			if got := readBack(t, m, res); !reflect.DeepEqual(got, rec) {
				t.Errorf("round trip changed the record\n got %+v\nwant %+v", got, rec)
			}
		})
	}
}

// readBack encodes res, decodes the JSON and maps it back to a lane
// record, failing the test on any error.
func readBack(t *testing.T, m Mapper, res Resource) any {
	t.Helper()
	raw, err := Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(raw)
	if err != nil {
		t.Fatalf("Decode: %v\n%s", err, raw)
	}
	got, err := m.FromFHIR(back)
	if err != nil {
		t.Fatalf("FromFHIR: %v\n%s", err, raw)
	}
	return got
}

// TestGolden compares the FHIR JSON of every sample with testdata/golden.
func TestGolden(t *testing.T) {
	m := Mapper{MRNSystem: "urn:example:practice:mrn"}
	for name, rec := range samples() {
		t.Run(name, func(t *testing.T) {
			res, err := m.ToFHIR(rec)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, name, res)
		})
	}
}

// checkGolden compares res as indented JSON with testdata/golden/name.json
// (rewriting it with -update).
func checkGolden(t *testing.T, name string, res Resource) {
	t.Helper()
	got, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the mapping's output:\n%s", path, got)
	}
}

// TestGoldenDecodes reads each golden file back, so the committed JSON is
// itself a valid input.
func TestGoldenDecodes(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	m := Mapper{MRNSystem: "urn:example:practice:mrn"}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Decode(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := m.FromFHIR(res); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestCodesAndUnits(t *testing.T) {
	m := Mapper{}
	ms := sampleMeasurements()
	o, err := m.Observation(ms["observation-refraction"])
	if err != nil {
		t.Fatal(err)
	}
	if !hasCode(&o.Category[0], SystemObsCategory, "exam") {
		t.Errorf("category = %+v, want exam", o.Category)
	}
	if !hasCode(&o.Code, SystemSNOMED, SNOMEDRefraction) {
		t.Errorf("code = %+v, want SNOMED refraction", o.Code)
	}
	if !hasCode(o.BodySite, SystemSNOMED, SNOMEDRightEye) {
		t.Errorf("bodySite = %+v, want right eye", o.BodySite)
	}
	sph := component(o, compSphere)
	if sph.ValueQuantity.Code != "[diop]" || sph.ValueQuantity.Value != "-2.25" || !hasCode(&sph.Code, SystemSNOMED, SNOMEDSphere) {
		t.Errorf("sphere = %+v", sph)
	}
	if ax := component(o, compAxis); ax.ValueQuantity.Code != "deg" || ax.ValueQuantity.Value != "175" {
		t.Errorf("axis = %+v", ax.ValueQuantity)
	}
	if p := component(o, compPrismH); p.ValueQuantity.Code != "[p'diop]" || p.ValueQuantity.Value != "1.50" {
		t.Errorf("prism = %+v", p.ValueQuantity)
	}
	if o.EffectiveDateTime != "2025-03-14T09:29:00Z" || o.Issued != "2025-03-14T09:30:00Z" {
		t.Errorf("effective %s issued %s: want device time and receipt time", o.EffectiveDateTime, o.Issued)
	}
	if o.Device == nil || o.Device.Reference != "#instrument" || len(o.Contained) != 1 {
		t.Errorf("device = %+v, contained %d", o.Device, len(o.Contained))
	}
	iop, _ := m.Observation(ms["observation-iop"])
	if iop.ValueQuantity.Code != "mm[Hg]" || iop.ValueQuantity.Value != "15.5" || !hasCode(&iop.Code, SystemSNOMED, SNOMEDIOP) {
		t.Errorf("iop = %+v %+v", iop.Code, iop.ValueQuantity)
	}
	if codeIn(iop.Method, SystemIOPMethod) != "non-contact" {
		t.Errorf("iop method = %+v", iop.Method)
	}
	pachy, _ := m.Observation(ms["observation-pachymetry"])
	if pachy.ValueQuantity.Code != "um" || pachy.ValueQuantity.Value != "545" {
		t.Errorf("pachymetry = %+v", pachy.ValueQuantity)
	}
	pd, _ := m.Observation(ms["observation-pd"])
	if pd.ValueQuantity.Code != "mm" || pd.ValueQuantity.Value != "63.5" || !hasCode(&pd.Code, SystemLOINC, LOINCPDBinocularAR) {
		t.Errorf("pd = %+v %+v", pd.Code, pd.ValueQuantity)
	}
	subj, _ := m.Observation(ms["observation-subjective"])
	if !hasCode(&subj.Code, SystemLOINC, "79895-9") {
		t.Errorf("subjective refraction code = %+v, want LOINC 79895-9", subj.Code)
	}
	rx, _ := m.SpectacleRx(sampleSpectacleRx())
	r := rx.LensSpecification[0]
	if r.Eye != "right" || r.Sphere != "-2.25" || r.Cylinder != "-0.50" || *r.Axis != 180 || r.Add != "2.25" ||
		len(r.Prism) != 1 || r.Prism[0].Base != "out" || r.Prism[0].Amount != "1.00" || !hasCode(&r.Product, SystemVisionProduct, "lens") {
		t.Errorf("right lens = %+v", r)
	}
	if rx.Status != "active" || rx.DateWritten != "2025-03-14" || rx.Prescriber.Reference != "Practitioner/dr-1" {
		t.Errorf("rx = %s %s %+v", rx.Status, rx.DateWritten, rx.Prescriber)
	}
}

func TestStatusMapping(t *testing.T) {
	m := Mapper{}
	for st, want := range appointmentStatus {
		a := m.Appointment(lane.Appointment{ID: "a", Status: st})
		if a.Status != want {
			t.Errorf("Appointment(%s).status = %s, want %s", st, a.Status, want)
		}
	}
	// A foreign server moved the appointment to fulfilled but left our
	// finer stage behind: FHIR status wins.
	a := m.Appointment(lane.Appointment{ID: "a", Status: lane.ApptExam})
	a.Status = "fulfilled"
	got, err := m.AppointmentFrom(a)
	if err != nil || got.Status != lane.ApptDone {
		t.Errorf("stale flow-status: got %s, %v; want done", got.Status, err)
	}
	// No extension: checked-in reads as arrived.
	got, _ = m.AppointmentFrom(&Appointment{Base: Base{ResourceType: "Appointment", ID: "x"}, Status: "checked-in"})
	if got.Status != lane.ApptArrived || got.ID != "x" {
		t.Errorf("plain checked-in → %s (id %s), want arrived", got.Status, got.ID)
	}
	if _, err := m.AppointmentFrom(&Appointment{Status: "bogus"}); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("bogus status: %v, want ErrInvalid", err)
	}
	e := m.Encounter(lane.Encounter{ID: "e", Status: lane.EncPretest})
	if e.Status != "in-progress" || e.Class.Code != "AMB" {
		t.Errorf("encounter status %s class %s", e.Status, e.Class.Code)
	}
}

func TestForeignObservationUnsupported(t *testing.T) {
	raw := []byte(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"valueQuantity":{"value":72}}`)
	res, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (Mapper{}).FromFHIR(res); !errors.Is(err, ErrUnsupported) {
		t.Errorf("heart rate observation: %v, want ErrUnsupported", err)
	}
}

// TestStandardCodesOnly reads a refraction written by another system with
// only SNOMED codes.
func TestStandardCodesOnly(t *testing.T) {
	raw := []byte(`{"resourceType":"Observation","id":"srv-9","status":"final",
	 "code":{"coding":[{"system":"http://snomed.info/sct","code":"251794006"}]},
	 "subject":{"reference":"https://server.example/fhir/R4/Patient/p9"},
	 "bodySite":{"coding":[{"system":"http://snomed.info/sct","code":"362502000"}]},
	 "component":[
	  {"code":{"coding":[{"system":"http://snomed.info/sct","code":"251795007"}]},"valueQuantity":{"value":-1.75,"system":"http://unitsofmeasure.org","code":"[diop]"}},
	  {"code":{"coding":[{"system":"http://snomed.info/sct","code":"251797004"}]},"valueQuantity":{"value":-0.5,"system":"http://unitsofmeasure.org","code":"[diop]"}},
	  {"code":{"coding":[{"system":"http://snomed.info/sct","code":"251799001"}]},"valueQuantity":{"value":0,"system":"http://unitsofmeasure.org","code":"deg"}}]}`)
	res, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	got, err := (Mapper{}).FromFHIR(res)
	if err != nil {
		t.Fatal(err)
	}
	ms := got.(lane.Measurement)
	want := lane.Refraction{Sphere: -1750, Cylinder: -500, Axis: 180}
	if ms.ID != "srv-9" || ms.PatientID != "p9" || ms.Eye != lane.EyeLeft || *ms.Refraction != want {
		t.Errorf("got %+v %+v", ms, ms.Refraction)
	}
}

func TestDecimalEdges(t *testing.T) {
	tests := []struct {
		in    string
		scale int
		want  int64
		ok    bool
	}{
		{"-2.25", 3, -2250, true},
		{"0.125", 3, 125, true},
		{"1e-3", 3, 1, true},
		{"0.1255", 3, 126, true},
		{"-0.0005", 3, -1, true},
		{"63.5", 2, 6350, true},
		{"1/3", 3, 0, false},
		{"abc", 3, 0, false},
		{"1e30", 3, 0, false},
	}
	for _, tt := range tests {
		got, err := parseFixed(json.Number(tt.in), tt.scale)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseFixed(%s, %d) = %d, %v; want %d ok=%v", tt.in, tt.scale, got, err, tt.want, tt.ok)
		}
	}
	for _, tt := range []struct {
		v         int64
		scale, mf int
		want      string
	}{{-2250, 3, 2, "-2.25"}, {125, 3, 2, "0.125"}, {0, 3, 2, "0.00"}, {6350, 2, 1, "63.5"}, {-5, 3, 2, "-0.005"}, {155, 1, 0, "15.5"}, {150, 1, 0, "15"}} {
		if got := fixed(tt.v, tt.scale, tt.mf); string(got) != tt.want {
			t.Errorf("fixed(%d, %d, %d) = %s, want %s", tt.v, tt.scale, tt.mf, got, tt.want)
		}
	}
	// Out-of-range powers are refused, not clamped.
	if _, err := diopters("45"); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("45 D: %v, want ErrInvalid", err)
	}
}

func TestMapRefs(t *testing.T) {
	ms := sampleMeasurements()["observation-iop"]
	got, err := MapRefs(ms, func(entity, id string) (string, error) { return entity + ":" + id, nil })
	if err != nil {
		t.Fatal(err)
	}
	g := got.(lane.Measurement)
	if g.PatientID != "Patient:pat-1" || g.EncounterID != "Encounter:enc-1" || g.ID != ms.ID {
		t.Errorf("MapRefs = %s %s %s", g.ID, g.PatientID, g.EncounterID)
	}
	boom := errors.New("boom")
	if _, err := MapRefs(sampleEncounter(), func(string, string) (string, error) { return "", boom }); !errors.Is(err, boom) {
		t.Errorf("error not passed through: %v", err)
	}
}

func TestStaffSiteDeviceProvenance(t *testing.T) {
	m := Mapper{}
	s := Staff{ID: "dr-1", Name: lane.Name{Family: "Example", Given: []string{"Dana"}, Prefix: "Dr"},
		Roles: []lane.Role{lane.RoleOptometrist, lane.RoleAdmin}, Location: "loc-1", Active: true}
	p := m.Practitioner(s)
	roles := m.PractitionerRoles(s)
	roles = append(roles, &PractitionerRole{Base: Base{ResourceType: "PractitionerRole"}, Practitioner: Ref("Practitioner", "someone-else"),
		Code: []CodeableConcept{concept(SystemRole, "technician", "")}})
	var pr []*PractitionerRole
	for _, r := range roles {
		raw, _ := Marshal(r)
		d, err := Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		pr = append(pr, d.(*PractitionerRole))
	}
	if got := m.StaffFrom(p, pr); !reflect.DeepEqual(got, s) {
		t.Errorf("StaffFrom = %+v, want %+v", got, s)
	}
	if got := m.SiteFrom(m.Location(Site{ID: "loc-1", Name: "Main"})); got != (Site{ID: "loc-1", Name: "Main"}) {
		t.Errorf("site round trip = %+v", got)
	}
	in := sampleInstrument()
	if got := m.InstrumentFrom(m.Device(in)); got != in {
		t.Errorf("device round trip = %+v", got)
	}
	if d := m.LaneDevice("lane-7", "Lane 7"); d.ID != "lane-7" || d.DeviceName[0].Name != "Lane 7" {
		t.Errorf("lane device = %+v", d)
	}
	prov := m.Provenance("urn:uuid:x", t0, "tech-1", "lane-7", lane.OpUpdate, "key-1")
	raw, _ := Marshal(prov)
	for _, want := range []string{`"urn:uuid:x"`, `"Practitioner/tech-1"`, `"Device/lane-7"`, `"UPDATE"`, `"code":"key-1"`, `"author"`} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("provenance lacks %s: %s", want, raw)
		}
	}
	// AuditEvent outcomes and actions map both ways.
	for _, o := range []lane.AuditOutcome{lane.OutcomeSuccess, lane.OutcomeFailure, lane.OutcomeDenied} {
		e := sampleAudit()
		e.Outcome, e.Action = o, lane.AuditSignIn
		got, err := m.AuditEventFrom(m.AuditEvent(e))
		if err != nil || got.Outcome != o || got.Action != lane.AuditSignIn || m.AuditEvent(e).Type.Code != DCMUserAuthentication {
			t.Errorf("audit %s: %+v %v", o, got, err)
		}
	}
}
