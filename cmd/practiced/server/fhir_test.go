package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConditionalCreate(t *testing.T) {
	e := newEnv(t)
	a := e.enrol(t, "alpha")
	resp, p := a.must(201, "POST", "/fhir/R4/Patient", patient("lane-uuid-1", "Synth"), ifNoneExist("lane-uuid-1")...)
	id := idOf(p)
	if resp.Header.Get("ETag") != `W/"1"` || versionOf(p) != "1" {
		t.Errorf("ETag %q, versionId %q", resp.Header.Get("ETag"), versionOf(p))
	}
	if want := e.ts.URL + "/fhir/R4/Patient/" + id + "/_history/1"; resp.Header.Get("Location") != want {
		t.Errorf("Location %q, want %q", resp.Header.Get("Location"), want)
	}
	if resp.Header.Get("Last-Modified") == "" || resp.Header.Get("Date") == "" {
		t.Error("missing Last-Modified or Date")
	}
	// The same create again: 200 with the existing resource.
	_, p2 := a.must(200, "POST", "/fhir/R4/Patient", patient("lane-uuid-1", "Synth"), ifNoneExist("lane-uuid-1")...)
	if idOf(p2) != id {
		t.Errorf("second create returned %s, want %s", idOf(p2), id)
	}
	_, b := a.must(200, "GET", "/fhir/R4/Patient?identifier=urn:examlane:id|lane-uuid-1", nil)
	if b["total"].(float64) != 1 {
		t.Errorf("total %v, want 1", b["total"])
	}
	// A body without the identifier is still protected by the criterion.
	body := patient("other", "Synth")
	delete(body, "identifier")
	_, p3 := a.must(201, "POST", "/fhir/R4/Patient", body, ifNoneExist("lane-uuid-2")...)
	_, p4 := a.must(200, "POST", "/fhir/R4/Patient", body, ifNoneExist("lane-uuid-2")...)
	if idOf(p3) != idOf(p4) {
		t.Error("create without identifier in body was duplicated")
	}
	// _tag criterion for resources without identifier.
	prov := map[string]any{"resourceType": "Provenance", "meta": map[string]any{"tag": []any{map[string]any{"system": "urn:examlane:provenance", "code": "k1"}}},
		"target": []any{map[string]any{"reference": "Patient/" + id}}, "recorded": "2000-01-01T00:00:00Z",
		"agent": []any{map[string]any{"who": map[string]any{"reference": "Device/lane-x"}}}}
	_, pv := a.must(201, "POST", "/fhir/R4/Provenance", prov, "If-None-Exist", "_tag=urn:examlane:provenance|k1")
	if pv["recorded"] == "2000-01-01T00:00:00Z" {
		t.Error("Provenance.recorded not set to server time")
	}
	_, pv2 := a.must(200, "POST", "/fhir/R4/Provenance", prov, "If-None-Exist", "_tag=urn:examlane:provenance|k1")
	if idOf(pv) != idOf(pv2) {
		t.Error("_tag conditional create duplicated")
	}
	// Malformed criterion.
	a.must(400, "POST", "/fhir/R4/Patient", body, "If-None-Exist", "name=x")
}

func TestConcurrentConditionalCreate(t *testing.T) {
	e := newEnv(t)
	a := e.enrol(t, "alpha")
	const n = 16
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := a.do("POST", "/fhir/R4/Patient", patient("same-uuid", "Concurrent"), ifNoneExist("same-uuid")...)
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	created := 0
	for i, s := range statuses {
		switch s {
		case 201:
			created++
		case 200:
		default:
			t.Errorf("request %d: status %d", i, s)
		}
	}
	if created != 1 {
		t.Errorf("%d creates answered 201, want 1", created)
	}
	_, b := a.must(200, "GET", "/fhir/R4/Patient?identifier=urn:examlane:id|same-uuid", nil)
	if b["total"].(float64) != 1 {
		t.Errorf("%v Patients with the identifier, want 1", b["total"])
	}
}

func TestUpdateIfMatch(t *testing.T) {
	e := newEnv(t)
	a := e.enrol(t, "alpha")
	_, p := a.must(201, "POST", "/fhir/R4/Patient", patient("u1", "Before"), ifNoneExist("u1")...)
	id := idOf(p)
	p["name"] = []any{map[string]any{"family": "After"}}
	_, oo := a.must(428, "PUT", "/fhir/R4/Patient/"+id, p)
	if oo["resourceType"] != "OperationOutcome" {
		t.Errorf("428 body %v", oo)
	}
	_, oo = a.must(412, "PUT", "/fhir/R4/Patient/"+id, p, "If-Match", `W/"7"`)
	if oo["resourceType"] != "OperationOutcome" {
		t.Errorf("412 body %v", oo)
	}
	resp, p2 := a.must(200, "PUT", "/fhir/R4/Patient/"+id, p, "If-Match", `W/"1"`)
	if resp.Header.Get("ETag") != `W/"2"` || versionOf(p2) != "2" {
		t.Errorf("after update: ETag %q version %q", resp.Header.Get("ETag"), versionOf(p2))
	}
	a.must(412, "PUT", "/fhir/R4/Patient/"+id, p, "If-Match", `W/"1"`) // stale
	a.must(400, "PUT", "/fhir/R4/Patient/"+id, p, "If-Match", `W/"x"`)
	p["id"] = "someone-else"
	a.must(400, "PUT", "/fhir/R4/Patient/"+id, p, "If-Match", `W/"2"`)
	delete(p, "id")
	a.must(404, "PUT", "/fhir/R4/Patient/no-such-id", p, "If-Match", `W/"1"`)
	_, cur := a.must(200, "GET", "/fhir/R4/Patient/"+id, nil)
	if versionOf(cur) != "2" || !strings.Contains(fmt.Sprint(cur["name"]), "After") {
		t.Errorf("current %v", cur)
	}
}

func TestDeleteAndHistory(t *testing.T) {
	e := newEnv(t)
	a := e.enrol(t, "alpha")
	_, p := a.must(201, "POST", "/fhir/R4/Patient", patient("h1", "Hist"), ifNoneExist("h1")...)
	id := idOf(p)
	e.clock.Advance(time.Second)
	since := e.clock.Now()
	e.clock.Advance(time.Second)
	_, p = a.must(200, "PUT", "/fhir/R4/Patient/"+id, p, "If-Match", `W/"1"`)
	e.clock.Advance(time.Second)
	a.must(412, "DELETE", "/fhir/R4/Patient/"+id, nil, "If-Match", `W/"1"`)
	resp, _ := a.must(204, "DELETE", "/fhir/R4/Patient/"+id, nil, "If-Match", `W/"2"`)
	if resp.Header.Get("ETag") != `W/"3"` {
		t.Errorf("delete ETag %q", resp.Header.Get("ETag"))
	}
	a.must(204, "DELETE", "/fhir/R4/Patient/"+id, nil) // idempotent
	a.must(410, "GET", "/fhir/R4/Patient/"+id, nil)
	a.must(200, "GET", "/fhir/R4/Patient/"+id+"/_history/1", nil)
	a.must(410, "GET", "/fhir/R4/Patient/"+id+"/_history/3", nil)
	a.must(404, "GET", "/fhir/R4/Patient/"+id+"/_history/4", nil)
	_, sr := a.must(200, "GET", "/fhir/R4/Patient?_id="+id, nil)
	if sr["total"].(float64) != 0 {
		t.Error("deleted resource found by search")
	}
	_, h := a.must(200, "GET", "/fhir/R4/Patient/"+id+"/_history", nil)
	es := entries(h)
	if len(es) != 3 || h["type"] != "history" {
		t.Fatalf("instance history: %d entries, type %v", len(es), h["type"])
	}
	wantMethods := []string{"DELETE", "PUT", "POST"}
	for i, en := range es {
		req := en["request"].(map[string]any)
		if req["method"] != wantMethods[i] {
			t.Errorf("entry %d method %v, want %s", i, req["method"], wantMethods[i])
		}
		if _, has := en["resource"]; has != (wantMethods[i] != "DELETE") {
			t.Errorf("entry %d: resource present %v", i, has)
		}
	}
	_, th := a.must(200, "GET", "/fhir/R4/Patient/_history?_since="+url.QueryEscape(instant(since)), nil)
	if n := len(entries(th)); n != 2 {
		t.Errorf("type history _since: %d entries, want 2 (PUT, DELETE)", n)
	}
	_, sh := a.must(200, "GET", "/fhir/R4/_history?_since="+url.QueryEscape(instant(since)), nil)
	if n := len(entries(sh)); n != 2 {
		t.Errorf("system history _since: %d entries, want 2", n)
	}
}

func TestPagingThroughNextLinks(t *testing.T) {
	e := newEnv(t)
	a := e.enrol(t, "alpha")
	_, p := a.must(201, "POST", "/fhir/R4/Patient", patient("pg", "Pages"), ifNoneExist("pg")...)
	pid := idOf(p)
	const n = 123
	for i := range n {
		if i%10 == 0 {
			e.clock.Advance(time.Millisecond)
		}
		a.must(201, "POST", "/fhir/R4/Observation", observation(fmt.Sprint("o", i), pid, 14), ifNoneExist(fmt.Sprint("o", i))...)
	}
	for _, sort := range []string{"_lastUpdated", "-_lastUpdated"} {
		seen := map[string]bool{}
		var order []string
		next := "/fhir/R4/Observation?patient=Patient/" + pid + "&_count=50&_sort=" + sort
		pages := 0
		for next != "" {
			_, b := a.must(200, "GET", next, nil)
			pages++
			if b["total"].(float64) != n {
				t.Errorf("total %v, want %d", b["total"], n)
			}
			for _, en := range entries(b) {
				id := idOf(en["resource"].(map[string]any))
				if seen[id] {
					t.Errorf("%s listed twice", id)
				}
				seen[id] = true
				order = append(order, en["resource"].(map[string]any)["meta"].(map[string]any)["lastUpdated"].(string))
			}
			next = nextLink(b)
			if next != "" && !strings.HasPrefix(next, "https://") {
				t.Fatalf("next link not absolute: %s", next)
			}
		}
		if len(seen) != n || pages != 3 {
			t.Errorf("sort %s: %d resources in %d pages, want %d in 3", sort, len(seen), pages, n)
		}
		for i := 1; i < len(order); i++ {
			if (sort == "_lastUpdated" && order[i] < order[i-1]) || (sort == "-_lastUpdated" && order[i] > order[i-1]) {
				t.Fatalf("sort %s: out of order at %d", sort, i)
			}
		}
	}
	// A resource updated while paging moves to the end and is not lost.
	_, b := a.must(200, "GET", "/fhir/R4/Observation?patient="+pid+"&_count=100", nil)
	first := entries(b)[0]["resource"].(map[string]any)
	e.clock.Advance(time.Second)
	a.must(200, "PUT", "/fhir/R4/Observation/"+idOf(first), first, "If-Match", `W/"1"`)
	_, b2 := a.must(200, "GET", nextLink(b), nil)
	found := false
	for _, en := range entries(b2) {
		found = found || idOf(en["resource"].(map[string]any)) == idOf(first)
	}
	if !found {
		t.Error("resource updated during paging not on a later page")
	}
	// _offset pages without links, for clients that need it.
	_, off := a.must(200, "GET", "/fhir/R4/Observation?patient="+pid+"&_count=100&_offset=100", nil)
	if n := len(entries(off)); n != 23 {
		t.Errorf("_offset=100: %d entries, want 23", n)
	}
	// _count=0 and _summary=count give totals only.
	_, c := a.must(200, "GET", "/fhir/R4/Observation?_summary=count", nil)
	if c["total"].(float64) != n || len(entries(c)) != 0 {
		t.Errorf("_summary=count: total %v entries %d", c["total"], len(entries(c)))
	}
	a.must(400, "GET", "/fhir/R4/Observation?bogus=1", nil)
	a.must(400, "GET", "/fhir/R4/Patient?patient=Patient/x", nil)
	a.must(400, "GET", "/fhir/R4/Observation?_cursor=!!", nil)
}

func TestLastUpdatedWindows(t *testing.T) {
	e := newEnv(t)
	a := e.enrol(t, "alpha")
	var ids []string
	var times []time.Time
	for i := range 3 {
		e.clock.Advance(10 * time.Second)
		times = append(times, e.clock.Now())
		_, p := a.must(201, "POST", "/fhir/R4/Patient", patient(fmt.Sprint("w", i), "Window"), ifNoneExist(fmt.Sprint("w", i))...)
		ids = append(ids, idOf(p))
	}
	q := func(expr string) string {
		_, b := a.must(200, "GET", "/fhir/R4/Patient?_lastUpdated="+url.QueryEscape(expr)+"&_sort=_lastUpdated", nil)
		var got []string
		for _, en := range entries(b) {
			for i, id := range ids {
				if idOf(en["resource"].(map[string]any)) == id {
					got = append(got, fmt.Sprint(i))
				}
			}
		}
		return strings.Join(got, ",")
	}
	for _, tc := range []struct{ expr, want string }{
		{"gt" + instant(times[0]), "1,2"},
		{"ge" + instant(times[1]), "1,2"},
		{"lt" + instant(times[2]), "0,1"},
		{"le" + instant(times[1]), "0,1"},
		{"gt" + times[0].Format(time.RFC3339), "1,2"},
		{"ge" + instant(times[1].Add(-2*time.Second)), "1,2"},
		{instant(times[1]), "1"},
	} {
		if got := q(tc.expr); got != tc.want {
			t.Errorf("_lastUpdated=%s: got %q, want %q", tc.expr, got, tc.want)
		}
	}
	// Two criteria make a window.
	_, b := a.must(200, "GET", "/fhir/R4/Patient?_lastUpdated=gt"+url.QueryEscape(instant(times[0]))+"&_lastUpdated=lt"+url.QueryEscape(instant(times[2])), nil)
	if b["total"].(float64) != 1 {
		t.Errorf("window total %v", b["total"])
	}
	// The searchset's meta.lastUpdated is the server time of the search.
	e.clock.Advance(time.Minute)
	_, b = a.must(200, "GET", "/fhir/R4/Patient", nil)
	if got := b["meta"].(map[string]any)["lastUpdated"]; got != instant(e.clock.Now()) {
		t.Errorf("searchset meta.lastUpdated %v, want %s", got, instant(e.clock.Now()))
	}
	a.must(400, "GET", "/fhir/R4/Patient?_lastUpdated=sa2020-01-01", nil)
	a.must(400, "GET", "/fhir/R4/Patient?_lastUpdated=gtyesterday", nil)
}

func TestAppointmentSearch(t *testing.T) {
	e := newEnv(t)
	a := e.enrol(t, "alpha")
	_, p := a.must(201, "POST", "/fhir/R4/Patient", patient("ap", "Appt"), ifNoneExist("ap")...)
	_, loc := a.must(200, "GET", "/fhir/R4/Location?_count=1", nil)
	locID := idOf(entries(loc)[0]["resource"].(map[string]any))
	for i, start := range []string{"2025-05-01T09:00:00Z", "2025-05-01T15:00:00Z", "2025-05-02T09:00:00Z"} {
		a.must(201, "POST", "/fhir/R4/Appointment", map[string]any{
			"resourceType": "Appointment", "status": "booked", "start": start,
			"identifier": []any{map[string]any{"system": "urn:examlane:id", "value": fmt.Sprint("ap", i)}},
			"participant": []any{
				map[string]any{"actor": map[string]any{"reference": "Patient/" + idOf(p)}, "status": "accepted"},
				map[string]any{"actor": map[string]any{"reference": "Location/" + locID}, "status": "accepted"},
			},
		})
	}
	for _, tc := range []struct {
		q    string
		want float64
	}{
		{"date=ge2025-05-01&date=lt2025-05-02&actor=Location/" + locID, 2},
		{"date=2025-05-01", 2},
		{"date=ge2025-05-01T12:00:00Z&date=lt2025-05-02", 1},
		{"actor=Location/other", 0},
		{"location=" + locID, 3},
		{"patient=" + idOf(p), 3},
	} {
		_, b := a.must(200, "GET", "/fhir/R4/Appointment?"+tc.q, nil)
		if b["total"].(float64) != tc.want {
			t.Errorf("%s: total %v, want %v", tc.q, b["total"], tc.want)
		}
	}
}

func TestReferenceMustResolve(t *testing.T) {
	e := newEnv(t)
	a := e.enrol(t, "alpha")
	a.must(400, "POST", "/fhir/R4/Observation", observation("o", "nope", 12))
}

func TestTransactionAllOrNothing(t *testing.T) {
	e := newEnv(t)
	a := e.enrol(t, "alpha")
	tx := func(entries ...map[string]any) map[string]any {
		return map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries}
	}
	post := func(fullURL string, res map[string]any, ifNone string) map[string]any {
		return map[string]any{"fullUrl": fullURL, "resource": res, "request": map[string]any{"method": "POST", "url": res["resourceType"], "ifNoneExist": ifNone}}
	}
	pat := patient("tx-p", "Tx")
	enc := map[string]any{"resourceType": "Encounter", "status": "finished", "class": map[string]any{"code": "AMB"},
		"identifier": []any{map[string]any{"system": "urn:examlane:id", "value": "tx-e"}},
		"subject":    map[string]any{"reference": "urn:uuid:p1"}}
	prov := map[string]any{"resourceType": "Provenance", "target": []any{map[string]any{"reference": "urn:uuid:e1"}},
		"agent": []any{map[string]any{"who": map[string]any{"reference": "Device/lane"}}}}
	bundle := tx(
		post("urn:uuid:e1", enc, "identifier=urn:examlane:id|tx-e"), // before its patient: order in the Bundle must not matter
		post("urn:uuid:p1", pat, "identifier=urn:examlane:id|tx-p"),
		post("urn:uuid:v1", prov, ""),
	)
	_, r := a.must(200, "POST", "/fhir/R4", bundle)
	es := entries(r)
	if r["type"] != "transaction-response" || len(es) != 3 {
		t.Fatalf("response %v", r)
	}
	for i, en := range es {
		if st := en["response"].(map[string]any)["status"]; st != "201 Created" {
			t.Errorf("entry %d status %v", i, st)
		}
	}
	encRes := es[0]["resource"].(map[string]any)
	patID := idOf(es[1]["resource"].(map[string]any))
	if ref := encRes["subject"].(map[string]any)["reference"]; ref != "Patient/"+patID {
		t.Errorf("urn:uuid not rewritten: %v", ref)
	}
	if ref := es[2]["resource"].(map[string]any)["target"].([]any)[0].(map[string]any)["reference"]; ref != "Encounter/"+idOf(encRes) {
		t.Errorf("Provenance target %v", ref)
	}
	// Replay: the conditional entries are not duplicated.
	_, r2 := a.must(200, "POST", "/fhir/R4", bundle)
	es2 := entries(r2)
	if es2[0]["response"].(map[string]any)["status"] != "200 OK" || es2[1]["response"].(map[string]any)["status"] != "200 OK" {
		t.Errorf("replay statuses %v %v", es2[0]["response"], es2[1]["response"])
	}
	if ref := es2[0]["resource"].(map[string]any)["subject"].(map[string]any)["reference"]; ref != "Patient/"+patID {
		t.Errorf("replay: %v", ref)
	}
	// A failing entry rolls back the whole Bundle.
	count := func(typ string) float64 {
		_, b := a.must(200, "GET", "/fhir/R4/"+typ+"?_summary=count", nil)
		return b["total"].(float64)
	}
	before := count("Patient")
	encRes["status"] = "cancelled"
	bad := tx(
		post("urn:uuid:p2", patient("tx-p2", "Rolled"), "identifier=urn:examlane:id|tx-p2"),
		map[string]any{"resource": encRes, "request": map[string]any{"method": "PUT", "url": "Encounter/" + idOf(encRes), "ifMatch": `W/"9"`}},
	)
	_, oo := a.must(412, "POST", "/fhir/R4", bad)
	if !strings.Contains(fmt.Sprint(oo), "entry 1") {
		t.Errorf("diagnostics do not name the entry: %v", oo)
	}
	if count("Patient") != before {
		t.Error("failed transaction left a Patient behind")
	}
	// PUT and DELETE entries with the right versions succeed together.
	good := tx(
		map[string]any{"resource": encRes, "request": map[string]any{"method": "PUT", "url": "Encounter/" + idOf(encRes), "ifMatch": `W/"1"`}},
		map[string]any{"request": map[string]any{"method": "DELETE", "url": "Patient/" + idOf(es[1]["resource"].(map[string]any))}},
	)
	_, r3 := a.must(200, "POST", "/fhir/R4", good)
	if st := entries(r3)[1]["response"].(map[string]any)["status"]; st != "204 No Content" {
		t.Errorf("delete entry status %v", st)
	}
	a.must(400, "POST", "/fhir/R4", map[string]any{"resourceType": "Bundle", "type": "batch"})
	a.must(400, "POST", "/fhir/R4", tx(map[string]any{"request": map[string]any{"method": "GET", "url": "Patient"}}))
	a.must(428, "POST", "/fhir/R4", tx(map[string]any{"resource": encRes, "request": map[string]any{"method": "PUT", "url": "Encounter/" + idOf(encRes)}}))
}

func TestCapabilityAndAuth(t *testing.T) {
	e := newEnv(t)
	c := insecureClient()
	resp, err := c.Get(e.ts.URL + "/fhir/R4/metadata")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("metadata without certificate: %d", resp.StatusCode)
	}
	for _, p := range []string{"/fhir/R4/Patient", "/dicomweb/studies"} {
		resp, err := c.Get(e.ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without certificate: %d, want 401", p, resp.StatusCode)
		}
	}
	a := e.enrol(t, "alpha")
	_, cs := a.must(200, "GET", "/fhir/R4/metadata", nil)
	rest := cs["rest"].([]any)[0].(map[string]any)
	if got := len(rest["resource"].([]any)); got != len(ResourceTypes) {
		t.Errorf("CapabilityStatement lists %d types, want %d", got, len(ResourceTypes))
	}
	a.must(404, "GET", "/fhir/R4/Unknown/1", nil)
	a.must(405, "PATCH", "/fhir/R4/Patient/x", nil)
	a.must(400, "POST", "/fhir/R4/Patient", `{"resourceType":"Patient"`)
	a.must(400, "POST", "/fhir/R4/Patient", `{"resourceType":"Observation"}`)
	a.must(406, "GET", "/fhir/R4/Patient?_format=xml", nil)
	// Revocation takes effect on the next request.
	if err := e.srv.RevokeLane(t.Context(), a.id); err != nil {
		t.Fatal(err)
	}
	a.must(401, "GET", "/fhir/R4/Patient", nil)
}

func TestBinaryRaw(t *testing.T) {
	e := newEnv(t)
	a := e.enrol(t, "alpha")
	resp, b := a.do("POST", "/fhir/R4/Binary", []byte("\xff\xd8synthetic"), "Content-Type", "image/jpeg")
	if resp.StatusCode != 201 {
		t.Fatalf("raw Binary: %d %s", resp.StatusCode, b)
	}
	loc := resp.Header.Get("Location")
	id := strings.Split(strings.TrimPrefix(loc, e.ts.URL+"/fhir/R4/Binary/"), "/")[0]
	resp, raw := a.do("GET", "/fhir/R4/Binary/"+id, nil, "Accept", "image/jpeg")
	if resp.StatusCode != 200 || string(raw) != "\xff\xd8synthetic" || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("raw read: %d %q %q", resp.StatusCode, raw, resp.Header.Get("Content-Type"))
	}
	_, js := a.must(200, "GET", "/fhir/R4/Binary/"+id, nil)
	if js["contentType"] != "image/jpeg" {
		t.Errorf("json read %v", js)
	}
}
