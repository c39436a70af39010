package server

import (
	"net/url"
	"slices"
	"testing"
)

// annotationBasic is a synthetic image annotation as the lane writes it: a
// Basic whose subject is the annotated image.
func annotationBasic(laneID, subject string) map[string]any {
	return map[string]any{
		"resourceType": "Basic",
		"identifier":   []any{map[string]any{"system": "urn:examlane:id", "value": laneID}},
		"code": map[string]any{"coding": []any{map[string]any{
			"system": "https://examlane.org/fhir/CodeSystem/resource", "code": "annotation"}}},
		"subject": map[string]any{"reference": subject},
		"created": "2025-03-14",
		"author":  map[string]any{"reference": "Practitioner/dr-1"},
		"extension": []any{map[string]any{
			"url": "https://examlane.org/fhir/StructureDefinition/annotation-points", "valueString": "[[1,2],[3,4]]"}},
	}
}

// TestBasicAnnotations: Basic is accepted, searchable by its (non-patient)
// subject alone or in a list, and by _lastUpdated; the CapabilityStatement
// says so; another practice sees none of it.
func TestBasicAnnotations(t *testing.T) {
	e := newEnv(t)
	a := e.enrol(t, "alpha")
	b := e.enrol(t, "beta")
	_, p := a.must(201, "POST", "/fhir/R4/Patient", patient("p-uuid", "Annotated"), ifNoneExist("p-uuid")...)
	doc := map[string]any{"resourceType": "DocumentReference", "status": "current", "subject": map[string]any{"reference": "Patient/" + idOf(p)},
		"content": []any{map[string]any{"attachment": map[string]any{"contentType": "image/jpeg"}}}}
	_, d1 := a.must(201, "POST", "/fhir/R4/DocumentReference", doc)
	_, d2 := a.must(201, "POST", "/fhir/R4/DocumentReference", doc)
	s1, s2 := "DocumentReference/"+idOf(d1), "DocumentReference/"+idOf(d2)
	_, b1 := a.must(201, "POST", "/fhir/R4/Basic", annotationBasic("an-1", s1), ifNoneExist("an-1")...)
	a.must(200, "POST", "/fhir/R4/Basic", annotationBasic("an-1", s1), ifNoneExist("an-1")...) // no duplicate
	_, b2 := a.must(201, "POST", "/fhir/R4/Basic", annotationBasic("an-2", s2), ifNoneExist("an-2")...)
	// An image that is DICOM, by absolute URL and version: indexed as Type/id.
	_, b3 := a.must(201, "POST", "/fhir/R4/Basic", annotationBasic("an-3", "https://elsewhere.example/fhir/R4/ImagingStudy/st-9/_history/2"), ifNoneExist("an-3")...)

	ids := func(l *testLane, q string) []string {
		t.Helper()
		_, bun := l.must(200, "GET", q, nil)
		var out []string
		for _, en := range entries(bun) {
			out = append(out, idOf(en["resource"].(map[string]any)))
		}
		slices.Sort(out)
		return out
	}
	sorted := func(s ...string) []string { slices.Sort(s); return s }
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"subject=" + s1, []string{idOf(b1)}},
		{"subject=" + url.QueryEscape(s1+","+s2), sorted(idOf(b1), idOf(b2))},
		{"subject=ImagingStudy/st-9", []string{idOf(b3)}},
		{"subject=ImagingStudy/" + idOf(d1), nil}, // same id, other type
		{"subject=Patient/" + idOf(p), nil},       // an annotation's subject is not the patient
		{"patient=Patient/" + idOf(p), nil},
		{"_lastUpdated=ge2000-01-01&subject=" + s2, []string{idOf(b2)}},
	} {
		if got := ids(a, "/fhir/R4/Basic?"+tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("Basic?%s = %v, want %v", tc.query, got, tc.want)
		}
	}
	a.must(400, "GET", "/fhir/R4/Basic?subject="+idOf(d1), nil) // a bare id names no type
	a.must(400, "GET", "/fhir/R4/Basic?actor=Location/x", nil)

	// The CapabilityStatement lists Basic with its subject parameter.
	_, cs := a.must(200, "GET", "/fhir/R4/metadata", nil)
	found := false
	for _, r := range asSlice(cs["rest"].([]any)[0].(map[string]any)["resource"]) {
		rm := r.(map[string]any)
		if rm["type"] != "Basic" {
			continue
		}
		for _, sp := range asSlice(rm["searchParam"]) {
			if sp.(map[string]any)["name"] == "subject" && sp.(map[string]any)["documentation"] != "alias of patient" {
				found = true
			}
		}
	}
	if !found {
		t.Error("CapabilityStatement does not list Basic with a subject search parameter")
	}

	// Tenant isolation: practice B neither reads nor finds A's annotations,
	// and its own Basic on the same reference stays its own.
	b.must(404, "GET", "/fhir/R4/Basic/"+idOf(b1), nil)
	if got := ids(b, "/fhir/R4/Basic?subject="+s1); got != nil {
		t.Errorf("B finds A's annotations: %v", got)
	}
	if got := ids(b, "/fhir/R4/Basic?_id="+idOf(b1)+","+idOf(b2)); got != nil {
		t.Errorf("B finds A's annotations by id: %v", got)
	}
	_, own := b.must(201, "POST", "/fhir/R4/Basic", annotationBasic("an-1", s1), ifNoneExist("an-1")...)
	if idOf(own) == idOf(b1) {
		t.Error("B's conditional create matched A's Basic")
	}
	if got := ids(a, "/fhir/R4/Basic?subject="+s1); !slices.Equal(got, []string{idOf(b1)}) {
		t.Errorf("after B's write, A's Basic?subject = %v, want only its own", got)
	}
}
