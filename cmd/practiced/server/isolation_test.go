package server

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// stowBody builds a STOW-RS multipart body from DICOM files.
func stowBody(t testing.TB, files ...[]byte) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range files {
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(f)
	}
	mw.Close()
	return `multipart/related; type="application/dicom"; boundary=` + mw.Boundary(), b.Bytes()
}

// testOP builds a small OP instance with a synthetic fundus.
func testOP(t testing.TB, patientID string, seed uint64) ([]byte, opInstance) {
	t.Helper()
	j, err := fundusJPEG(fundusOptions{Width: 96, Height: 72, Right: seed%2 == 0, CupDisc: 0.4, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	in := opInstance{PatientName: "DEMO^Synthetic", PatientID: patientID, BirthDate: "19800101", Sex: "O",
		StudyUID: newUID(), SeriesUID: newUID(), SOPUID: newUID(), Acquired: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC), Laterality: "R", JPEG: j}
	d, err := buildOPDICOM(in)
	if err != nil {
		t.Fatal(err)
	}
	return d, in
}

// TestTenantIsolation: a lane of practice A uses every endpoint with
// practice B's ids and gets 404 or nothing, and B's data is unchanged.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	a := e.enrol(t, "alpha")
	b := e.enrol(t, "beta")

	// Practice B's data.
	_, bp := b.must(201, "POST", "/fhir/R4/Patient", patient("b-uuid", "BetaOnly"), ifNoneExist("b-uuid")...)
	bpID := idOf(bp)
	_, bo := b.must(201, "POST", "/fhir/R4/Observation", observation("b-obs", bpID, 15), ifNoneExist("b-obs")...)
	boID := idOf(bo)
	dcm, in := testOP(t, "DEMO-B1", 1)
	ct, body := stowBody(t, dcm)
	b.must(200, "POST", "/dicomweb/studies", body, "Content-Type", ct)
	instPath := fmt.Sprintf("/dicomweb/studies/%s/series/%s/instances/%s", in.StudyUID, in.SeriesUID, in.SOPUID)

	// A, with B's ids, everywhere.
	for _, tc := range []struct {
		method, path string
		body         any
		hdr          []string
		want         int
	}{
		{"GET", "/fhir/R4/Patient/" + bpID, nil, nil, 404},
		{"GET", "/fhir/R4/Patient/" + bpID + "/_history/1", nil, nil, 404},
		{"GET", "/fhir/R4/Patient/" + bpID + "/_history", nil, nil, 404},
		{"GET", "/fhir/R4/Observation/" + boID, nil, nil, 404},
		{"PUT", "/fhir/R4/Patient/" + bpID, bp, []string{"If-Match", `W/"1"`}, 404},
		{"DELETE", "/fhir/R4/Observation/" + boID, nil, nil, 404},
		{"DELETE", "/fhir/R4/Observation/" + boID, nil, []string{"If-Match", `W/"1"`}, 404},
		{"POST", "/fhir/R4", map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
			map[string]any{"resource": bp, "request": map[string]any{"method": "PUT", "url": "Patient/" + bpID, "ifMatch": `W/"1"`}}}}, nil, 404},
		{"POST", "/fhir/R4", map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
			map[string]any{"request": map[string]any{"method": "DELETE", "url": "Observation/" + boID}}}}, nil, 404},
		// Writing a reference to B's patient is refused exactly like an unknown id.
		{"POST", "/fhir/R4/Observation", observation("a-obs", bpID, 12), nil, 400},
		{"GET", instPath, nil, nil, 404},
		{"GET", instPath + "/rendered", nil, nil, 404},
		{"GET", "/dicomweb/studies/" + in.StudyUID, nil, nil, 404},
		{"GET", "/dicomweb/studies/" + in.StudyUID + "/series/" + in.SeriesUID, nil, nil, 404},
	} {
		resp, got := a.do(tc.method, tc.path, tc.body, tc.hdr...)
		if resp.StatusCode != tc.want {
			t.Errorf("A %s %s: %d, want %d: %.200s", tc.method, tc.path, resp.StatusCode, tc.want, got)
		}
		if strings.Contains(string(got), "BetaOnly") {
			t.Errorf("A %s %s: response shows B's data", tc.method, tc.path)
		}
	}
	// Searches and histories from A find nothing of B's.
	for _, q := range []string{
		"/fhir/R4/Patient?_id=" + bpID,
		"/fhir/R4/Patient?identifier=urn:examlane:id|b-uuid",
		"/fhir/R4/Observation?patient=Patient/" + bpID,
		"/fhir/R4/Observation?_id=" + boID,
		"/fhir/R4/Patient/_history",
		"/fhir/R4/_history",
	} {
		_, got := a.must(200, "GET", q, nil)
		for _, en := range entries(got) {
			if s := fmt.Sprint(en); strings.Contains(s, bpID) || strings.Contains(s, boID) {
				t.Errorf("A %s: lists B's resource", q)
			}
		}
	}
	for _, q := range []string{"/dicomweb/studies?PatientID=DEMO-B1", "/dicomweb/studies/" + in.StudyUID + "/series", "/dicomweb/studies/" + in.StudyUID + "/instances"} {
		resp, got := a.do("GET", q, nil)
		if resp.StatusCode != 200 || strings.TrimSpace(string(got)) != "[]" {
			t.Errorf("A QIDO %s: %d %s, want 200 []", q, resp.StatusCode, got)
		}
	}
	// A conditional create in A with B's identifier makes A's own resource.
	_, ap := a.must(201, "POST", "/fhir/R4/Patient", patient("b-uuid", "AlphaOwn"), ifNoneExist("b-uuid")...)
	if idOf(ap) == bpID {
		t.Error("A's conditional create matched B's Patient")
	}
	// STOW from A of an instance with B's UIDs but other bytes is stored as
	// A's own and does not touch B's.
	j, _ := fundusJPEG(fundusOptions{Width: 64, Height: 48, Seed: 99})
	mine := in
	mine.PatientID, mine.JPEG = "DEMO-A1", j
	aDcm, err := buildOPDICOM(mine)
	if err != nil {
		t.Fatal(err)
	}
	act, abody := stowBody(t, aDcm)
	a.must(200, "POST", "/dicomweb/studies", abody, "Content-Type", act)
	if _, got := a.do("GET", instPath, nil); !bytes.Contains(got, aDcm) {
		t.Error("A does not get its own instance back")
	}
	// B's data is untouched.
	_, cur := b.must(200, "GET", "/fhir/R4/Patient/"+bpID, nil)
	if versionOf(cur) != "1" {
		t.Errorf("B's Patient changed: version %s", versionOf(cur))
	}
	b.must(200, "GET", "/fhir/R4/Observation/"+boID, nil)
	resp, got := b.do("GET", instPath, nil, "Accept", `multipart/related; type="application/dicom"`)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(got, dcm) || bytes.Contains(got, aDcm) {
		t.Errorf("B's instance changed or unreadable: %d", resp.StatusCode)
	}
}
