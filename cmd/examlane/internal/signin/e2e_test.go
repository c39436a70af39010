package signin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/cmd/examlane/internal/signin"
	"github.com/examlane/examlane/cmd/practiced/server"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/auth"
	"github.com/examlane/examlane/lane/lanetest"
	"github.com/examlane/examlane/syncclient"
)

// TestEndToEnd runs the reference server on 127.0.0.1 with mutual TLS and
// production Argon2id parameters, enrols a lane with syncclient.Enroll,
// adds a user, signs in online, uses the user token against the server's
// permission check, locks and resumes with a PIN, then stops the server:
// offline sign-in works, and eight days later it is refused.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	clock := lanetest.NewManualClock(time.Now().UTC().Truncate(time.Second)) // certificates use the real clock
	if err := server.Init(ctx, dir, server.InitOptions{Tenant: "alpha", Name: "Alpha Eye Care"}); err != nil {
		t.Fatal(err)
	}
	srv, err := server.Open(dir, server.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(sctx, ln) }()
	defer func() {
		stop()
		<-served
	}()
	base := "https://" + ln.Addr().String()

	code, _, err := srv.EnrollCode(ctx, "alpha", "Main", "Lane 1")
	if err != nil {
		t.Fatal(err)
	}
	en, err := syncclient.Enroll(ctx, base, code, "Lane 1")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := en.Config()
	if err != nil {
		t.Fatal(err)
	}
	client, err := syncclient.NewSignInClient(syncclient.SignInConfig{ServerURL: cfg.ServerURL, TLS: cfg.TLS, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	u, err := srv.AddUser(ctx, server.User{Tenant: "alpha", Name: "Sam Lee", Login: "sam.lee", Roles: []lane.Role{lane.RoleOptometrist}})
	if err != nil {
		t.Fatal(err)
	}
	const password = "correct horse battery staple"
	start := time.Now()
	cr, err := srv.SetCredentials(ctx, "alpha", u.ID, password)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("server: Argon2id hash (t=3, m=64 MiB, p=2) while enrolling: %v", time.Since(start).Round(time.Millisecond))
	totp := func() string {
		c, err := auth.DefaultTOTP().Code(cr.Secret, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	nextStep := func(after time.Duration) {
		clock.Set(clock.Now().Add(after).Truncate(30 * time.Second).Add(30 * time.Second))
	}

	db := openDB(t, clock)
	svc := lane.NewService(lane.Config{Store: db, Clock: clock, Lane: "Lane 1", Device: en.LaneID})
	a, err := signin.New(signin.Config{Store: db, Server: client, Clock: clock, Lane: "Lane 1"})
	if err != nil {
		t.Fatal(err)
	}

	// Online.
	start = time.Now()
	s, err := a.SignIn(ctx, "sam.lee", password, totp())
	if err != nil {
		t.Fatalf("online sign-in: %v", err)
	}
	t.Logf("online sign-in (server verify + lane's offline verifier, both Argon2id): %v", time.Since(start).Round(time.Millisecond))
	if s.User != lane.UserID(u.ID) || s.Roles[0] != lane.RoleOptometrist {
		t.Fatalf("session %+v", s)
	}
	if err := svc.Begin(ctx, s); err != nil {
		t.Fatal(err)
	}

	// The user token is checked by the server: an optometrist may record a
	// reading but not edit demographics.
	tok, err := a.BearerToken(ctx, s.User)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg.TLS}}
	desk, err := srv.AddUser(ctx, server.User{Tenant: "alpha", Name: "Pat Desk", Login: "pat.desk", Roles: []lane.Role{lane.RoleFrontDesk}})
	if err != nil {
		t.Fatal(err)
	}
	// named is the user a request without a token names (the lane's
	// X-Examlane-User); "" names nobody.
	named := ""
	post := func(typ string, body map[string]any, token string) (int, map[string]any) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, base+"/fhir/R4/"+typ, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/fhir+json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		} else if named != "" {
			req.Header.Set("X-Examlane-User", named)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	patient := map[string]any{"resourceType": "Patient", "name": []any{map[string]any{"family": "Synthetic"}}}
	if status, _ := post("Patient", patient, ""); status != http.StatusForbidden {
		t.Fatalf("a write naming no user: %d, want 403", status)
	}
	// Without a token the named user's roles still apply: the front
	// desk registers the patient (work done offline arrives this way).
	named = desk.ID
	status, p := post("Patient", patient, "")
	if status != http.StatusCreated {
		t.Fatalf("patient registered by the front desk without a token: %d", status)
	}
	named = ""
	pref := map[string]any{"reference": "Patient/" + p["id"].(string)}
	obs := map[string]any{"resourceType": "Observation", "status": "final", "subject": pref,
		"code":   map[string]any{"text": "refraction"},
		"method": map[string]any{"coding": []any{map[string]any{"system": "https://examlane.org/fhir/CodeSystem/source", "code": "autorefraction"}}}}
	if status, _ := post("Observation", obs, tok); status != http.StatusCreated {
		t.Fatalf("optometrist's reading: %d", status)
	}
	if status, _ := post("Patient", map[string]any{"resourceType": "Patient"}, tok); status != http.StatusForbidden {
		t.Fatalf("optometrist editing demographics: %d, want 403", status)
	}

	// Lock and resume with the shift's PIN.
	if err := a.SetPIN(ctx, s.User, "4821"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Lock(ctx, "idle"); err != nil {
		t.Fatal(err)
	}
	if err := a.Resume(ctx, s.User, "4821"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Unlock(ctx, s.User); err != nil {
		t.Fatal(err)
	}

	// The server goes down: offline sign-in within the window.
	stop()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	served <- nil // for the deferred wait
	nextStep(2 * time.Hour)
	start = time.Now()
	s2, err := a.SignIn(ctx, "sam.lee", password, totp())
	if err != nil {
		t.Fatalf("offline sign-in: %v", err)
	}
	t.Logf("offline sign-in (server unreachable, local Argon2id verify): %v", time.Since(start).Round(time.Millisecond))
	if err := svc.Begin(ctx, s2); err != nil {
		t.Fatal(err)
	}

	// Eight days later: refused, and the person is told why.
	nextStep(8 * 24 * time.Hour)
	_, err = a.SignIn(ctx, "sam.lee", password, totp())
	if !errors.Is(err, auth.ErrOfflineExpired) || !strings.Contains(err.Error(), "Offline sign-in expired: connect to the practice network to sign in") {
		t.Fatalf("offline after 8 days: %v", err)
	}

	// One audit event per sign-in, failure, lock and unlock.
	evs, err := db.ListAudit(ctx, lane.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range evs {
		count[string(e.Action)+"/"+string(e.Outcome)]++
		if strings.Contains(e.Detail, password) || strings.Contains(e.Reason, password) {
			t.Fatal("the password reached the audit trail")
		}
	}
	want := map[string]int{"sign-in/success": 2, "sign-in/failure": 1, "lock/success": 1, "unlock/success": 1}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %d events, want %d (all: %v)", k, count[k], n, count)
		}
	}
}
