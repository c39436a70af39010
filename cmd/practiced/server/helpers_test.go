package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
)

// fakeClock is a settable clock starting at the real time (certificates
// are checked against the real clock by crypto/tls).
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a server over TLS on 127.0.0.1 with two practices, alpha and beta.
type env struct {
	t     *testing.T
	dir   string
	srv   *Server
	ts    *httptest.Server
	clock *fakeClock
}

// newEnv initialises a data directory, opens it and serves it on loopback.
func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if err := Init(ctx, dir, InitOptions{Tenant: "alpha", Name: "Alpha Eye Care"}); err != nil {
		t.Fatal(err)
	}
	clk := newFakeClock()
	srv, err := Open(dir, WithClock(clk), WithTimeZone(time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddTenant(ctx, "beta", "Beta Optometry", "Beta Main"); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.TLS = srv.TLSConfig()
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	e := &env{dir: dir, srv: srv, ts: ts, clock: clk}
	if tt, ok := t.(*testing.T); ok {
		e.t = tt
	}
	return e
}

// testUser is the staff account test lanes act as (newEnv adds it).
const testUser = "user-1"

// testLane is an enrolled test lane.
type testLane struct {
	t      testing.TB
	base   string
	c      *http.Client
	tenant string
	id     string
	user   string
}

// newCSR makes a P-256 key and CSR (PEM).
func newCSR(t testing.TB) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "lane"}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// insecureClient is the client for the single unverified /enroll step.
func insecureClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}}}
}

// postEnroll sends an enrolment request.
func postEnroll(t testing.TB, base string, req EnrollRequest) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(req)
	resp, err := insecureClient().Post(base+"/enroll", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// enrol issues a code for tenant and enrols a new lane with it.
func (e *env) enrol(t testing.TB, tenant string) *testLane {
	t.Helper()
	loc := "Main"
	if tenant == "beta" {
		loc = "Beta Main"
	}
	code, _, err := e.srv.EnrollCode(context.Background(), tenant, loc, "Lane 1")
	if err != nil {
		t.Fatal(err)
	}
	// Test lanes act as testUser (testLane.user): an enabled account with
	// every role, since the server checks every lane write against the
	// named user's roles. Added with the first lane of a practice, so that
	// tests that enrol none (the seed) see only their own staff.
	if _, err := e.srv.AddUser(context.Background(), User{Tenant: tenant, ID: testUser, Name: "Test User", Roles: lane.Roles}); err != nil &&
		!errors.Is(err, errExists) && !errors.Is(err, lane.ErrConflict) {
		t.Fatal(err)
	}
	key, csr := newCSR(t)
	proof, err := EnrollProof(code, csr)
	if err != nil {
		t.Fatal(err)
	}
	status, body := postEnroll(t, e.ts.URL, EnrollRequest{CodeID: code[:4], CSR: csr, Lane: "Lane 1", Proof: proof})
	if status != http.StatusOK {
		t.Fatalf("enrol: %d %s", status, body)
	}
	var resp EnrollResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if !VerifyEnrollMAC(code, resp) {
		t.Fatal("enrol: mac does not verify")
	}
	return laneClient(t, e.ts.URL, resp, key)
}

// laneClient builds the mTLS client a lane uses after enrolment.
func laneClient(t testing.TB, base string, resp EnrollResponse, key *ecdsa.PrivateKey) *testLane {
	t.Helper()
	blk, _ := pem.Decode([]byte(resp.ClientCert))
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(resp.CACert)) {
		t.Fatal("ca cert")
	}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{
			MinVersion:   tls.VersionTLS13,
			RootCAs:      pool,
			Certificates: []tls.Certificate{{Certificate: [][]byte{blk.Bytes}, PrivateKey: key}},
		},
		ForceAttemptHTTP2: true,
	}
	return &testLane{t: t, base: base, c: &http.Client{Transport: tr, Timeout: 30 * time.Second}, tenant: resp.Tenant, id: resp.LaneID, user: testUser}
}

// do sends a request; path is relative to the server root unless absolute.
func (l *testLane) do(method, path string, body any, hdr ...string) (*http.Response, []byte) {
	l.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			l.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	u := path
	if !strings.HasPrefix(u, "https://") {
		u = l.base + path
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		l.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if l.user != "" {
		req.Header.Set(userHeader, l.user)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := l.c.Do(req)
	if err != nil {
		l.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		l.t.Fatal(err)
	}
	return resp, b
}

// must sends a request and fails unless the status is want.
func (l *testLane) must(want int, method, path string, body any, hdr ...string) (*http.Response, map[string]any) {
	l.t.Helper()
	resp, b := l.do(method, path, body, hdr...)
	if resp.StatusCode != want {
		l.t.Fatalf("%s %s: status %d, want %d: %.300s", method, path, resp.StatusCode, want, b)
	}
	var m map[string]any
	if len(b) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(b, &m); err != nil {
			l.t.Fatalf("%s %s: body: %v", method, path, err)
		}
	}
	return resp, m
}

// patient is a synthetic Patient resource with a lane identifier.
func patient(laneID, family string) map[string]any {
	return map[string]any{
		"resourceType": "Patient",
		"identifier":   []any{map[string]any{"system": "urn:examlane:id", "value": laneID}},
		"name":         []any{map[string]any{"family": family, "given": []any{"Test"}}},
		"birthDate":    "1980-01-01",
	}
}

// observation is a synthetic IOP Observation for a patient.
func observation(laneID, patientID string, mmhg float64) map[string]any {
	return map[string]any{
		"resourceType":      "Observation",
		"status":            "final",
		"identifier":        []any{map[string]any{"system": "urn:examlane:id", "value": laneID}},
		"code":              map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": "41633001"}}},
		"subject":           map[string]any{"reference": "Patient/" + patientID},
		"effectiveDateTime": "2025-01-02T10:00:00Z",
		"valueQuantity":     map[string]any{"value": mmhg, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
	}
}

// ifNoneExist is the conditional-create header for a lane id.
func ifNoneExist(laneID string) []string {
	return []string{"If-None-Exist", "identifier=urn:examlane:id|" + laneID}
}

// entries returns a Bundle's entries.
func entries(b map[string]any) []map[string]any {
	var out []map[string]any
	for _, e := range asSlice(b["entry"]) {
		out = append(out, e.(map[string]any))
	}
	return out
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// nextLink returns a Bundle's next link or "".
func nextLink(b map[string]any) string {
	for _, l := range asSlice(b["link"]) {
		lm := l.(map[string]any)
		if lm["relation"] == "next" {
			return lm["url"].(string)
		}
	}
	return ""
}

// idOf returns a resource's id.
func idOf(m map[string]any) string { s, _ := m["id"].(string); return s }

// versionOf returns a resource's meta.versionId.
func versionOf(m map[string]any) string {
	meta, _ := m["meta"].(map[string]any)
	s, _ := meta["versionId"].(string)
	return s
}
