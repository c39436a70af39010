package syncclient_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient"
	"github.com/examlane/examlane/syncclient/synctest"
)

func enrol(t *testing.T, srv *synctest.Server) syncclient.Enrollment {
	t.Helper()
	code := synctest.NewEnrollCode()
	srv.AddEnrollCode(code, "tenant-1", "Test Practice", "loc-1", "Lane 1")
	e, err := syncclient.Enroll(context.Background(), srv.URL, code, "Lane 1")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEnrollment(t *testing.T) {
	srv := newServer(t, synctest.Options{})
	e := enrol(t, srv)
	if e.Tenant != "tenant-1" || e.Location != "loc-1" || e.LaneID == "" || e.FHIRBase != "/fhir/R4" ||
		e.CAPin != syncclient.SPKIPin(srv.PKI.CA) || e.KeyPEM == "" || e.CertExpires.IsZero() {
		t.Errorf("enrolment = %+v", e)
	}
	if strings.Contains(string(must2(jsonMarshal(e))), "PRIVATE KEY") {
		t.Error("the private key is marshalled with the enrolment")
	}
	// Used code, wrong code, malformed code.
	code := synctest.NewEnrollCode()
	srv.AddEnrollCode(code, "tenant-1", "Test Practice", "loc-1", "Lane 2")
	if _, err := syncclient.Enroll(context.Background(), srv.URL, code, "Lane 2"); err != nil {
		t.Fatal(err)
	}
	if _, err := syncclient.Enroll(context.Background(), srv.URL, code, "Lane 2"); !errors.Is(err, syncclient.ErrBadCode) {
		t.Errorf("reused code: %v, want ErrBadCode", err)
	}
	code = synctest.NewEnrollCode()
	srv.AddEnrollCode(code, "tenant-1", "Test Practice", "loc-1", "Lane 3")
	wrong := code[:5] + flip(code[5:])
	if _, err := syncclient.Enroll(context.Background(), srv.URL, wrong, "Lane 3"); !errors.Is(err, syncclient.ErrBadCode) {
		t.Errorf("wrong code with the right id: %v, want ErrBadCode", err)
	}
	if _, err := syncclient.Enroll(context.Background(), srv.URL, "not-a-code", "Lane 3"); !errors.Is(err, syncclient.ErrBadCode) {
		t.Errorf("malformed code: %v", err)
	}
	if _, err := syncclient.Enroll(context.Background(), strings.Replace(srv.URL, "https", "http", 1), code, "Lane 3"); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("plain-HTTP enrolment: %v, want ErrInvalid", err)
	}
}

// flip changes every character of a code body to another valid one.
func flip(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c != '-' {
			if c == 'Z' {
				b[i] = '0'
			} else if c == '9' {
				b[i] = 'A'
			} else {
				b[i] = c + 1
			}
			if b[i] == 'I' || b[i] == 'L' || b[i] == 'O' || b[i] == 'U' {
				b[i]++
			}
		}
	}
	return string(b)
}

// TestEnrollmentDetectsAnImpostor: a server that answers /enroll without
// knowing the code (a man in the middle) cannot produce the mac.
func TestEnrollmentDetectsAnImpostor(t *testing.T) {
	real := newServer(t, synctest.Options{})
	code := synctest.NewEnrollCode()
	real.AddEnrollCode(code, "tenant-1", "Test Practice", "loc-1", "Lane 1")
	// The impostor relays to the real server with a different code, then
	// hands the lane a correctly issued certificate for its own key.
	impostor := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"tenant":"tenant-1","lane_id":"lane-x","client_cert":"` + pemLine(real.PKI.CAPEM) +
			`","ca_cert":"` + pemLine(real.PKI.CAPEM) + `","mac":"AAAA"}`))
	}))
	defer impostor.Close()
	_, err := syncclient.Enroll(context.Background(), impostor.URL, code, "Lane 1")
	if !errors.Is(err, lane.ErrInvalid) || !strings.Contains(err.Error(), "mac") {
		t.Errorf("impostor: %v, want a mac error", err)
	}
}

func pemLine(b []byte) string { return strings.ReplaceAll(string(b), "\n", `\n`) }

func TestTLSPinning(t *testing.T) {
	srv := newServer(t, synctest.Options{})
	e := enrol(t, srv)
	other := newServer(t, synctest.Options{}) // another practice, another CA
	ctx := context.Background()
	newClient := func(url string, e syncclient.Enrollment) *syncclient.Client {
		cfg, err := e.Config()
		if err != nil {
			t.Fatal(err)
		}
		cfg.ServerURL, cfg.Store, cfg.Clock = url, newTestStore(nil), synctest.NewClock(timeNow())
		c, err := syncclient.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := newClient(srv.URL, e).SyncNow(ctx); err != nil {
		t.Fatalf("own server: %v", err)
	}
	err := newClient(other.URL, e).SyncNow(ctx)
	if !errors.Is(err, lane.ErrUnavailable) || !strings.Contains(err.Error(), "TLS") {
		t.Errorf("a server of another CA: %v, want a TLS failure", err)
	}
	// A tampered pin is refused before any connection.
	bad := e
	bad.CAPin = strings.Repeat("0", 64)
	if _, err := bad.Config(); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("tampered pin: %v", err)
	}
	// TLS 1.2 servers are refused.
	old := httptest.NewUnstartedServer(http.NotFoundHandler())
	old.TLS = &tls.Config{Certificates: []tls.Certificate{srv.PKI.Server}, MaxVersion: tls.VersionTLS12}
	old.StartTLS()
	defer old.Close()
	if err := newClient(old.URL, e).SyncNow(ctx); !errors.Is(err, lane.ErrUnavailable) {
		t.Errorf("TLS 1.2 server: %v, want refusal", err)
	}
	// Without a client certificate the server refuses.
	noCert := e
	cfg, _ := noCert.Config()
	cfg.TLS.Certificates = nil
	cfg.ServerURL, cfg.Store, cfg.Clock = srv.URL, newTestStore(nil), synctest.NewClock(timeNow())
	c, _ := syncclient.New(cfg)
	if err := c.SyncNow(ctx); !errors.Is(err, lane.ErrForbidden) {
		t.Errorf("no client certificate: %v, want ErrForbidden", err)
	}
}

func TestPlainHTTPOnlyWhenInsecure(t *testing.T) {
	srv := newServer(t, synctest.Options{Plain: true})
	cfg := syncclient.Config{ServerURL: srv.URL, Store: newTestStore(nil), Clock: synctest.NewClock(timeNow())}
	if _, err := syncclient.New(cfg); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("plain HTTP without Insecure: %v, want ErrInvalid", err)
	}
	cfg.Insecure = true
	c, err := syncclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SyncNow(context.Background()); err != nil {
		t.Errorf("plain HTTP with Insecure: %v", err)
	}
	cfg.ServerURL = "https://127.0.0.1:1"
	if _, err := syncclient.New(cfg); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("https without TLS config: %v, want ErrInvalid", err)
	}
}
