package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	e := newEnv(t)
	a := e.enrol(t, "alpha")
	f := e.srv.Faults

	t.Run("down", func(t *testing.T) {
		f.SetDown(true)
		resp, _ := a.do("GET", "/fhir/R4/Patient", nil)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Errorf("down: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		resp, _ = a.do("GET", "/healthz", nil)
		if resp.StatusCode != 503 {
			t.Errorf("healthz while down: %d", resp.StatusCode)
		}
		f.SetDown(false)
		a.must(200, "GET", "/fhir/R4/Patient", nil)
	})
	t.Run("fail next", func(t *testing.T) {
		f.FailNext(2)
		for range 2 {
			if resp, _ := a.do("GET", "/fhir/R4/Patient", nil); resp.StatusCode != 500 {
				t.Errorf("injected failure: %d", resp.StatusCode)
			}
		}
		a.must(200, "GET", "/fhir/R4/Patient", nil)
	})
	t.Run("delay", func(t *testing.T) {
		f.SetDelay(time.Hour)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", a.base+"/fhir/R4/Patient", nil)
		if _, err := a.c.Do(req); err == nil {
			t.Error("delayed request answered before the client gave up")
		}
		f.SetDelay(0)
		a.must(200, "GET", "/fhir/R4/Patient", nil)
	})
	t.Run("cut after commit", func(t *testing.T) {
		f.CutNext(1)
		b, _ := json.Marshal(patient("cut-1", "Cut"))
		req, _ := http.NewRequest("POST", a.base+"/fhir/R4/Patient", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set("If-None-Exist", "identifier=urn:examlane:id|cut-1")
		req.Header.Set(userHeader, a.user)
		if resp, err := a.c.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("cut request answered %d", resp.StatusCode)
		}
		// The change landed: the retry finds it.
		a.must(200, "POST", "/fhir/R4/Patient", patient("cut-1", "Cut"), ifNoneExist("cut-1")...)
	})
	t.Run("duplicate delivery", func(t *testing.T) {
		f.DuplicateNext(1)
		a.must(200, "POST", "/fhir/R4/Patient", patient("dup-1", "Dup"), ifNoneExist("dup-1")...) // the second delivery's answer
		_, b := a.must(200, "GET", "/fhir/R4/Patient?identifier=urn:examlane:id|dup-1", nil)
		if b["total"].(float64) != 1 {
			t.Errorf("duplicate delivery made %v resources", b["total"])
		}
		// An update delivered twice meets its own change: 412.
		_, p := a.must(200, "GET", "/fhir/R4/Patient?identifier=urn:examlane:id|dup-1", nil)
		res := entries(p)[0]["resource"].(map[string]any)
		f.DuplicateNext(1)
		a.must(412, "PUT", "/fhir/R4/Patient/"+idOf(res), res, "If-Match", `W/"1"`)
		_, cur := a.must(200, "GET", "/fhir/R4/Patient/"+idOf(res), nil)
		if versionOf(cur) != "2" {
			t.Errorf("version %s after a duplicated update", versionOf(cur))
		}
	})
	t.Run("duplicate entries", func(t *testing.T) {
		f.DuplicateEntries(true)
		_, b := a.must(200, "GET", "/fhir/R4/Patient?identifier=urn:examlane:id|dup-1", nil)
		if n := len(entries(b)); n != 2 {
			t.Errorf("%d entries, want the match twice", n)
		}
		f.Reset()
		_, b = a.must(200, "GET", "/fhir/R4/Patient?identifier=urn:examlane:id|dup-1", nil)
		if n := len(entries(b)); n != 1 {
			t.Errorf("after Reset: %d entries", n)
		}
	})
}

func TestRestartKeepsData(t *testing.T) {
	e := newEnv(t)
	a := e.enrol(t, "alpha")
	_, p := a.must(201, "POST", "/fhir/R4/Patient", patient("keep", "Kept"), ifNoneExist("keep")...)
	d, in := testOP(t, "DEMO-K", 4)
	ct, body := stowBody(t, d)
	a.must(200, "POST", "/dicomweb/studies", body, "Content-Type", ct)
	e.ts.Close()
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	srv, err := Open(e.dir, WithClock(e.clock))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	st, err := current(ctx, srv.db.r, "alpha", "Patient", idOf(p))
	if err != nil || st.Deleted || st.Version != 1 {
		t.Fatalf("after restart: %+v %v", st, err)
	}
	var n int
	if err := srv.db.r.QueryRowContext(ctx, `SELECT count(*) FROM dicom_instances WHERE tenant='alpha' AND sop_uid=?`, in.SOPUID).Scan(&n); err != nil || n != 1 {
		t.Errorf("instance after restart: %d %v", n, err)
	}
	lanes, err := srv.Lanes(ctx, "alpha")
	if err != nil || len(lanes) != 1 {
		t.Errorf("lanes after restart: %v %v", lanes, err)
	}
	// The reopened data directory still refuses a second init.
	if err := Init(ctx, e.dir, InitOptions{Tenant: "x", Name: "X"}); err == nil {
		t.Error("Init over an existing data directory succeeded")
	}
}
