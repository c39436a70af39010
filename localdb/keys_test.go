package localdb_test

import (
	"errors"
	"os"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/localdb/seal"
)

// memSecrets is an in-memory lane.Secrets that can be switched off.
type memSecrets struct {
	m    map[string][]byte
	down bool
}

func (s *memSecrets) Get(name string) ([]byte, error) {
	if s.down {
		return nil, lane.ErrUnavailable
	}
	v, ok := s.m[name]
	if !ok {
		return nil, lane.ErrNotFound
	}
	return v, nil
}

func (s *memSecrets) Set(name string, v []byte) error {
	if s.down {
		return lane.ErrUnavailable
	}
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[name] = append([]byte(nil), v...)
	return nil
}

func (s *memSecrets) Delete(name string) error {
	if s.down {
		return lane.ErrUnavailable
	}
	delete(s.m, name)
	return nil
}

func TestKeychainModeReopens(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t, cfg)
	if db.KeySource() != localdb.KeySourceKeychain {
		t.Fatalf("KeySource = %q", db.KeySource())
	}
	p := savePatient(t, db, "Keyes", "K-1")
	db.Close()
	db2 := openDB(t, cfg)
	if got, err := db2.GetPatient(ctx, p.ID); err != nil || got.MRN != "K-1" {
		t.Fatalf("after reopen: %+v %v", got, err)
	}
}

func TestNoKeychainNoFallbackRefuses(t *testing.T) {
	cfg := testConfig(t)
	cfg.Keychain = &memSecrets{down: true}
	cfg.Passphrase = func() ([]byte, error) { return []byte("practice passphrase"), nil } // offered, but not allowed by policy
	_, err := localdb.Open(ctx, cfg)
	if !errors.Is(err, localdb.ErrNoKeySource) || !errors.Is(err, lane.ErrUnavailable) {
		t.Fatalf("Open without keychain or fallback: %v", err)
	}
	cfg.Keychain = nil
	if _, err := localdb.Open(ctx, cfg); !errors.Is(err, localdb.ErrNoKeySource) {
		t.Fatalf("Open with nil keychain: %v", err)
	}
	if _, err := os.Stat(cfg.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused creation left a database file behind: %v", err)
	}
}

func TestPassphraseFallback(t *testing.T) {
	cfg := testConfig(t)
	cfg.Keychain = &memSecrets{down: true}
	cfg.PassphraseFallback, cfg.KDF = true, fastKDF
	pass := "correct horse battery staple"
	cfg.Passphrase = func() ([]byte, error) { return []byte(pass), nil }
	db := openDB(t, cfg)
	if db.KeySource() != localdb.KeySourcePassphrase {
		t.Fatalf("KeySource = %q", db.KeySource())
	}
	p := savePatient(t, db, "Pass", "P-1")
	db.Close()

	pass = "wrong horse"
	_, err := localdb.Open(ctx, cfg)
	if !errors.Is(err, seal.ErrWrongKey) || !errors.Is(err, lane.ErrUnauthenticated) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	cfg.Passphrase = nil
	if _, err := localdb.Open(ctx, cfg); !errors.Is(err, localdb.ErrPassphraseNeeded) {
		t.Fatalf("no passphrase: %v", err)
	}
	pass = "correct horse battery staple"
	cfg.Passphrase = func() ([]byte, error) { return []byte(pass), nil }
	db = openDB(t, cfg)
	if _, err := db.GetPatient(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
}

func TestTestPassphraseMode(t *testing.T) {
	t.Setenv(localdb.EnvTestMode, "")
	t.Setenv(localdb.EnvTestPassphrase, "from-env")
	if _, ok := localdb.TestPassphraseFromEnv(); ok {
		t.Fatal("env passphrase accepted without EXAMLANE_TEST_MODE=1")
	}
	t.Setenv(localdb.EnvTestMode, "1")
	pass, ok := localdb.TestPassphraseFromEnv()
	if !ok || string(pass) != "from-env" {
		t.Fatal("test mode passphrase not read")
	}
	cfg := testConfig(t)
	cfg.Keychain, cfg.KDF, cfg.TestPassphrase = nil, fastKDF, true
	cfg.Passphrase = func() ([]byte, error) { return pass, nil }
	db := openDB(t, cfg)
	if db.KeySource() != localdb.KeySourceTestPassphrase {
		t.Fatalf("KeySource = %q, want test-passphrase", db.KeySource())
	}
	db.Close()
	cfg.TestPassphrase = false
	if _, err := localdb.Open(ctx, cfg); !errors.Is(err, lane.ErrForbidden) {
		t.Fatalf("test database opened outside test mode: %v", err)
	}
}

func TestWrongKeychainKey(t *testing.T) {
	sec := &memSecrets{}
	cfg := testConfig(t)
	cfg.Keychain = sec
	db := openDB(t, cfg)
	id := db.ID()
	db.Close()
	k := seal.NewKey()
	sec.m[id+"/kek"] = k[:]
	_, err := localdb.Open(ctx, cfg)
	if !errors.Is(err, seal.ErrWrongKey) || !errors.Is(err, lane.ErrUnauthenticated) {
		t.Fatalf("wrong keychain key: %v", err)
	}
}

// TestRecoverAfterKeychainWipe is the recovery drill: the keychain loses the
// key, the lane refuses to open, the practice recovery key re-wraps the
// data keys under a new keychain key, and every record (including unsynced
// outbox entries) is still there.
func TestRecoverAfterKeychainWipe(t *testing.T) {
	rec, err := seal.GenerateRecoveryKey()
	if err != nil {
		t.Fatal(err)
	}
	sec := &memSecrets{}
	cfg := testConfig(t)
	cfg.Keychain, cfg.RecoveryKey = sec, rec.PublicKey()
	db := openDB(t, cfg)
	p := savePatient(t, db, "Rescue", "R-1")
	db.Close()
	// Reopen without naming the recovery key (the database remembers it)
	// and rotate, so that recovery must handle several data keys.
	cfg.RecoveryKey = nil
	db = openDB(t, cfg)
	if err := db.RotateKey(ctx, tech, nil); err != nil {
		t.Fatal(err)
	}
	p2 := savePatient(t, db, "Rescue", "R-2")
	fpr, _ := db.RecoveryFingerprint(ctx)
	if fpr != seal.Fingerprint(rec.PublicKey()) {
		t.Fatalf("RecoveryFingerprint = %q", fpr)
	}
	pending, _ := db.PendingChanges(ctx, 0)
	db.Close()

	sec.m = nil // the keychain is wiped
	cfg.RecoveryKey = nil
	_, err = localdb.Open(ctx, cfg)
	if !errors.Is(err, localdb.ErrKeyMissing) {
		t.Fatalf("open after wipe: %v", err)
	}
	other, _ := seal.GenerateRecoveryKey()
	if _, err := localdb.Recover(ctx, cfg, other); !errors.Is(err, seal.ErrWrongKey) {
		t.Fatalf("recover with another key: %v", err)
	}
	src, err := localdb.Recover(ctx, cfg, rec)
	if err != nil || src != localdb.KeySourceKeychain {
		t.Fatalf("Recover = %q, %v", src, err)
	}
	db = openDB(t, cfg)
	for _, want := range []lane.Patient{p, p2} {
		if got, err := db.GetPatient(ctx, want.ID); err != nil || got.MRN != want.MRN {
			t.Fatalf("after recovery: %+v %v", got, err)
		}
	}
	after, _ := db.PendingChanges(ctx, 0)
	if len(after) < len(pending) {
		t.Fatalf("outbox lost entries: %d before, %d after", len(pending), len(after))
	}
	rep, err := db.VerifyAudit(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("audit after recovery: %+v %v", rep, err)
	}
}

func TestRecoveryKeyAddedLater(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t, cfg)
	if fpr, _ := db.RecoveryFingerprint(ctx); fpr != "" {
		t.Fatalf("fingerprint without recovery key = %q", fpr)
	}
	rec, _ := seal.GenerateRecoveryKey()
	if err := db.SetRecoveryKey(ctx, rec.PublicKey()); err != nil {
		t.Fatal(err)
	}
	if fpr, _ := db.RecoveryFingerprint(ctx); fpr != seal.Fingerprint(rec.PublicKey()) {
		t.Fatalf("fingerprint = %q", fpr)
	}
}

func TestTenantMismatchRefused(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t, cfg)
	db.Close()
	cfg.Tenant = "another-practice"
	if _, err := localdb.Open(ctx, cfg); !errors.Is(err, lane.ErrForbidden) {
		t.Fatalf("open as another practice: %v", err)
	}
}

func TestNoCreate(t *testing.T) {
	cfg := testConfig(t)
	cfg.NoCreate = true
	_, err := localdb.Open(ctx, cfg)
	if !errors.Is(err, localdb.ErrNoDatabase) || !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("NoCreate: %v", err)
	}
	if _, err := os.Stat(cfg.Path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("NoCreate created a file")
	}
}
