package server

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/examlane/examlane/syncclient"
)

// TestEnrolWithLaneClient enrols with the lane's own enrolment code
// (syncclient.Enroll: proof, mac check, pinning) and then talks to the
// server through syncclient.TLSConfig: the two sides of the contract
// agree.
func TestEnrolWithLaneClient(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, _, err := e.srv.EnrollCode(ctx, "alpha", "Main", "Lane 4")
	if err != nil {
		t.Fatal(err)
	}
	en, err := syncclient.Enroll(ctx, e.ts.URL, code, "Lane 4")
	if err != nil {
		t.Fatalf("syncclient.Enroll: %v", err)
	}
	if en.Tenant != "alpha" || en.LaneID == "" || en.CAPin != e.srv.CAPin() {
		t.Errorf("enrolment %+v", en)
	}
	cfg, err := syncclient.TLSConfig(en)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	resp, err := c.Get(e.ts.URL + "/fhir/R4/Location")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("search with the lane's TLS configuration: %d", resp.StatusCode)
	}
	// A wrong code is refused and the lane says so.
	code2, _, _ := e.srv.EnrollCode(ctx, "alpha", "Main", "Lane 5")
	wrong := code2[:5] + "0000-0000-0000"
	if wrong == code2 {
		wrong = code2[:5] + "1111-1111-1111"
	}
	if _, err := syncclient.Enroll(ctx, e.ts.URL, wrong, "Lane 5"); err == nil {
		t.Error("enrolment with a wrong code succeeded")
	}
}
