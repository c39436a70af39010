package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/syncclient/fhir"
	"github.com/examlane/examlane/syncclient/synctest"
)

// syncTestServer starts a reference test server with an enrolment code.
func syncTestServer(t *testing.T) (*synctest.Server, string) {
	t.Helper()
	srv, err := synctest.NewServer(synctest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	code := synctest.NewEnrollCode()
	srv.AddEnrollCode(code, "tenant-1", "Test Practice", "loc-1", "Lane 9")
	return srv, code
}

// seedToday puts a synthetic patient with an appointment today on srv.
func seedToday(t *testing.T, srv *synctest.Server) string {
	t.Helper()
	m := fhir.Mapper{}
	p := m.Patient(lane.Patient{MRN: "TEST-0009", Name: lane.Name{Family: "Synthetic"}, BirthDate: lane.Date{Year: 1980, Month: 1, Day: 1}})
	p.Identifier = p.Identifier[:1]
	pid, _, err := srv.Seed(p)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	start := time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, time.Local)
	a := m.Appointment(lane.Appointment{PatientID: lane.PatientID(pid), Start: start, End: start.Add(30 * time.Minute), Location: "loc-1", Status: lane.ApptBooked})
	a.Identifier = nil
	if _, _, err := srv.Seed(a); err != nil {
		t.Fatal(err)
	}
	return pid
}

// fakeSyncStore puts the sync commands on an in-memory store.
type fakeSyncStore struct{ *lanetest.Store }

func (fakeSyncStore) Close() error { return nil }

func useFakeSyncStore(t *testing.T) *lanetest.Store {
	t.Helper()
	st := lanetest.NewStore(nil)
	saved := syncOpenStore
	syncOpenStore = func(context.Context, *env) (syncStore, error) { return fakeSyncStore{st}, nil }
	t.Cleanup(func() { syncOpenStore = saved })
	return st
}

func TestEnrollCommand(t *testing.T) {
	srv, code := syncTestServer(t)
	dir := t.TempDir()
	r := invoke("--data-dir", dir, "enroll", "--server", srv.URL, "--code", strings.ToLower(code), "--name", "Lane 9")
	if r.code != 0 {
		t.Fatalf("enroll: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "enrolled as lane") || !strings.Contains(r.stdout, "Test Practice") {
		t.Errorf("output: %s", r.stdout)
	}
	for name, secret := range map[string]bool{enrollFileName: false, laneKeyName: true} {
		p := filepath.Join(dir, enrollDirName, name)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, fi.Mode().Perm())
		}
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), "PRIVATE KEY") != secret {
			t.Errorf("%s: private key present = %v, want %v", name, !secret, secret)
		}
	}
	en, err := loadEnrollment(dir)
	if err != nil || en.KeyPEM == "" || en.Tenant != "tenant-1" {
		t.Fatalf("loadEnrollment = %+v, %v", en, err)
	}
	if r := invoke("--data-dir", dir, "enroll", "--server", srv.URL, "--code", code); r.code != 1 || !strings.Contains(r.stderr, "already enrolled") {
		t.Errorf("second enrolment: exit %d %s", r.code, r.stderr)
	}
	for _, args := range [][]string{{"enroll"}, {"enroll", "--server", srv.URL}, {"enroll", "--server", srv.URL, "--code", "nope"}} {
		if r := invoke(append([]string{"--data-dir", dir}, args...)...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2", args, r.code)
		}
	}
	// A used code is refused by the server.
	if r := invoke("--data-dir", t.TempDir(), "enroll", "--server", srv.URL, "--code", code); r.code != 1 || !strings.Contains(r.stderr, "code refused") {
		t.Errorf("used code: exit %d %s", r.code, r.stderr)
	}
}

func TestSyncCommands(t *testing.T) {
	srv, code := syncTestServer(t)
	dir := t.TempDir()
	if r := invoke("--data-dir", dir, "sync", "status"); r.code != 1 || !strings.Contains(r.stderr, "not enrolled") {
		t.Errorf("sync status before enrolment: exit %d %s", r.code, r.stderr)
	}
	if r := invoke("--data-dir", dir, "enroll", "--server", srv.URL, "--code", code); r.code != 0 {
		t.Fatalf("enroll: %s", r.stderr)
	}
	store := useFakeSyncStore(t)
	pid := seedToday(t, srv)

	r := invoke("--data-dir", dir, "sync", "now")
	if r.code != 0 || !strings.Contains(r.stdout, "pulled today's schedule") {
		t.Fatalf("sync now: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := store.GetPatient(context.Background(), lane.PatientID(pid)); err != nil {
		t.Errorf("patient not pulled: %v", err)
	}
	r = invoke("--data-dir", dir, "sync", "status", "--json")
	if r.code != 0 {
		t.Fatalf("sync status: %s", r.stderr)
	}
	var st syncStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if st.Online == nil || !*st.Online || st.Tenant != "Test Practice" || st.LaneID == "" {
		t.Errorf("status = %+v", st)
	}

	srv.SetDown(true)
	if r := invoke("--data-dir", dir, "sync", "now", "--timeout", "20s"); r.code != 1 || !strings.Contains(r.stderr, "unreachable") {
		t.Errorf("sync now while down: exit %d %s", r.code, r.stderr)
	}
	r = invoke("--data-dir", dir, "sync", "status")
	if r.code != 0 || !strings.Contains(r.stdout, "not reachable now: server unreachable") {
		t.Errorf("status while down:\n%s", r.stdout)
	}
	if r := invoke("--data-dir", dir, "sync", "status", "--offline"); r.code != 0 || strings.Contains(r.stdout, "reachable") {
		t.Errorf("--offline contacted the server:\n%s", r.stdout)
	}
}

// TestSyncNowWithLocalDB runs 'sync now' over the real encrypted database
// (test-mode passphrase).
func TestSyncNowWithLocalDB(t *testing.T) {
	t.Setenv(localdb.EnvTestMode, "1")
	t.Setenv(localdb.EnvTestPassphrase, "synthetic test passphrase")
	srv, code := syncTestServer(t)
	dir := t.TempDir()
	if r := invoke("--data-dir", dir, "db", "init", "--tenant", "tenant-1"); r.code != 0 {
		t.Skipf("db init unavailable here: %s", r.stderr)
	}
	if r := invoke("--data-dir", dir, "enroll", "--server", srv.URL, "--code", code); r.code != 0 {
		t.Fatalf("enroll: %s", r.stderr)
	}
	seedToday(t, srv)
	for i := 0; i < 2; i++ { // the second run pushes the audit events of the first pull
		if r := invoke("--data-dir", dir, "sync", "now"); r.code != 0 {
			t.Fatalf("sync now #%d: exit %d\n%s%s", i, r.code, r.stdout, r.stderr)
		}
	}
	r := invoke("--data-dir", dir, "sync", "status", "--json")
	var st syncStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Queued != 0 || st.Conflicts != 0 {
		t.Errorf("status after sync = %+v (%v)\n%s", st, err, r.stderr)
	}
	if n := srv.Count("AuditEvent"); n == 0 {
		t.Error("the lane's audit events did not reach the server")
	}
}
