package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/localdb/keychain"
)

var dbMockOnce sync.Once

// dbUseMockKeychain makes the db commands use go-keyring's in-memory mock.
func dbUseMockKeychain(t *testing.T) {
	dbMockOnce.Do(keyring.MockInit)
	saved := dbKeychain
	dbKeychain = func() lane.Secrets {
		k := keychain.New()
		k.SkipBusCheck = true
		return k
	}
	t.Cleanup(func() { dbKeychain = saved })
}

// dbNoKeychain is a keychain that never answers.
type dbNoKeychain struct{}

func (dbNoKeychain) Get(string) ([]byte, error) { return nil, lane.ErrUnavailable }
func (dbNoKeychain) Set(string, []byte) error   { return lane.ErrUnavailable }
func (dbNoKeychain) Delete(string) error        { return lane.ErrUnavailable }

func dbRun(t *testing.T, want int, args ...string) result {
	t.Helper()
	r := invoke(args...)
	if r.code != want {
		t.Fatalf("examlane %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// dbAddPatient writes a synthetic patient straight through localdb.
func dbAddPatient(t *testing.T, dir, mrn string) lane.Patient {
	t.Helper()
	db, err := localdb.Open(context.Background(), localdb.Config{Path: filepath.Join(dir, localdb.FileName), Keychain: dbKeychain(), NoCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := db.SavePatient(context.Background(), lane.Actor{User: "u-test"}, lane.Patient{MRN: mrn,
		Name: lane.Name{Family: "Synthetic", Given: []string{"Cli"}}, BirthDate: lane.Date{Year: 1970, Month: 1, Day: 2}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDBCommandsLifecycle(t *testing.T) {
	dbUseMockKeychain(t)
	dir := t.TempDir()
	keys := filepath.Join(t.TempDir(), "practice-recovery")

	r := dbRun(t, 1, "--data-dir", dir, "db", "stats")
	if !strings.Contains(r.stderr, "no lane database") {
		t.Errorf("stats without a database: %q", r.stderr)
	}
	r = dbRun(t, 0, "db", "recovery-keygen", keys)
	if fi, err := os.Stat(keys); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v %v", fi, err)
	}
	dbRun(t, 1, "db", "recovery-keygen", keys) // never overwrites a key

	r = dbRun(t, 0, "--data-dir", dir, "db", "init", "--tenant", "practice-7", "--recovery-pub", keys+".pub")
	if !strings.Contains(r.stdout, "os-keychain") || !strings.Contains(r.stdout, "recovery key: ") || strings.Contains(r.stdout, "NONE") {
		t.Errorf("init output: %s", r.stdout)
	}
	dbRun(t, 1, "--data-dir", dir, "db", "init")
	p := dbAddPatient(t, dir, "CLI-1")
	dbAddPatient(t, dir, "CLI-2")

	r = dbRun(t, 0, "--data-dir", dir, "db", "stats")
	var st localdb.Stats
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("stats is not JSON: %v\n%s", err, r.stdout)
	}
	if st.Tables["patients"] != 2 || st.KeySource != localdb.KeySourceKeychain || st.Tenant != "practice-7" || st.RecoveryKey == "" {
		t.Errorf("stats = %+v", st)
	}
	r = dbRun(t, 0, "--data-dir", dir, "db", "check")
	if !strings.Contains(r.stdout, "integrity_check: ok") || !strings.Contains(r.stdout, "audit chain: ok") {
		t.Errorf("check output: %s", r.stdout)
	}
	r = dbRun(t, 0, "--data-dir", dir, "db", "rotate-key")
	if !strings.Contains(r.stdout, "done:") {
		t.Errorf("rotate-key output: %s", r.stdout)
	}
	r = dbRun(t, 0, "--data-dir", dir, "audit", "show", "--patient", string(p.ID))
	if !strings.Contains(r.stdout, "create") || !strings.Contains(r.stdout, "Patient/"+string(p.ID)) {
		t.Errorf("audit show: %s", r.stdout)
	}
	r = dbRun(t, 0, "--data-dir", dir, "audit", "show", "--user", "u-test", "--json")
	var evs []lane.AuditEvent
	if err := json.Unmarshal([]byte(r.stdout), &evs); err != nil || len(evs) != 2 {
		t.Errorf("audit show --user --json: %d events, %v", len(evs), err)
	}
	dbRun(t, 2, "--data-dir", dir, "audit", "show")
	r = dbRun(t, 0, "--data-dir", dir, "audit", "verify")
	if !strings.Contains(r.stdout, "audit chain ok") {
		t.Errorf("audit verify: %s", r.stdout)
	}

	// Backup and restore.
	backup := filepath.Join(t.TempDir(), "lane-backup.db")
	dbRun(t, 0, "--data-dir", dir, "db", "backup", backup)
	dbRun(t, 2, "--data-dir", dir, "db", "backup")
	dbRun(t, 1, "--data-dir", dir, "db", "restore", backup) // not empty
	restored := t.TempDir()
	dbRun(t, 0, "--data-dir", restored, "db", "restore", backup)
	r = dbRun(t, 0, "--data-dir", restored, "db", "stats")
	if !strings.Contains(r.stdout, `"patients": 2`) {
		t.Errorf("restored stats: %s", r.stdout)
	}

	// The keychain is wiped: the lane refuses, the recovery key reopens it.
	if err := keyring.DeleteAll(keychain.DefaultService); err != nil {
		t.Fatal(err)
	}
	r = dbRun(t, 1, "--data-dir", dir, "db", "stats")
	if !strings.Contains(r.stderr, "db recover") {
		t.Errorf("stats after keychain wipe: %q", r.stderr)
	}
	dbRun(t, 2, "--data-dir", dir, "db", "recover")
	r = dbRun(t, 0, "--data-dir", dir, "db", "recover", "--recovery-key", keys)
	if !strings.Contains(r.stdout, "os-keychain") {
		t.Errorf("recover: %s", r.stdout)
	}
	r = dbRun(t, 0, "--data-dir", dir, "db", "check")
	r = dbRun(t, 0, "--data-dir", dir, "db", "purge", "--older-than", "7y", "--reason", "retention test", "--dry-run")
	if !strings.Contains(r.stdout, `"purged": 0`) {
		t.Errorf("purge: %s", r.stdout)
	}
	dbRun(t, 2, "--data-dir", dir, "db", "purge", "--older-than", "7y")
	dbRun(t, 2, "--data-dir", dir, "db", "purge", "--older-than", "soon", "--reason", "x")

	// Tampering shows in audit verify and db check with exit 1.
	raw, err := sql.Open("sqlite", filepath.Join(dir, localdb.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DROP TRIGGER audit_no_update; UPDATE audit_log SET user_id = 'mallory' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	r = dbRun(t, 1, "--data-dir", dir, "audit", "verify")
	if !strings.Contains(r.stdout, "first broken link at event 2") {
		t.Errorf("audit verify after tampering: %s", r.stdout)
	}
	r = dbRun(t, 1, "--data-dir", dir, "db", "check")
	if !strings.Contains(r.stdout, "BROKEN at event 2") {
		t.Errorf("db check after tampering: %s", r.stdout)
	}
}

func TestDBInitWithoutKeychain(t *testing.T) {
	saved := dbKeychain
	dbKeychain = func() lane.Secrets { return dbNoKeychain{} }
	t.Cleanup(func() { dbKeychain = saved })
	t.Setenv(localdb.EnvTestMode, "")
	dir := t.TempDir()
	r := dbRun(t, 1, "--data-dir", dir, "db", "init")
	if !strings.Contains(r.stderr, "passphrase fallback") {
		t.Errorf("init without keychain: %q", r.stderr)
	}
	// The explicit test mode takes the passphrase from the environment.
	t.Setenv(localdb.EnvTestMode, "1")
	t.Setenv(localdb.EnvTestPassphrase, "synthetic test passphrase")
	r = dbRun(t, 0, "--data-dir", dir, "db", "init")
	if !strings.Contains(r.stdout, "test-passphrase") || !strings.Contains(r.stdout, "TEST MODE") {
		t.Errorf("init in test mode: %s", r.stdout)
	}
	dbRun(t, 0, "--data-dir", dir, "db", "stats")
	t.Setenv(localdb.EnvTestPassphrase, "wrong")
	r = dbRun(t, 1, "--data-dir", dir, "db", "stats")
	if !strings.Contains(r.stderr, "wrong passphrase") {
		t.Errorf("wrong test passphrase: %q", r.stderr)
	}
}

func TestDBParseRetention(t *testing.T) {
	for in, want := range map[string]float64{"7y": 7 * 365 * 24, "400d": 400 * 24, "72h": 72} {
		d, err := dbParseAge(in)
		if err != nil || d.Hours() != want {
			t.Errorf("dbParseAge(%q) = %v, %v", in, d, err)
		}
	}
	for _, bad := range []string{"", "0d", "-1y", "soon", "-5h"} {
		if _, err := dbParseAge(bad); err == nil {
			t.Errorf("dbParseAge(%q) accepted", bad)
		}
	}
}
