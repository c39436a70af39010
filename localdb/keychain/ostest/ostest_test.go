// Package ostest tests the keychain against the real OS keychain. It is a
// package of its own because keyring.MockInit, used by the unit tests, swaps
// go-keyring's process-wide provider for good.
package ostest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/localdb/keychain"
	"github.com/examlane/examlane/localdb/seal"
)

// realKeychain returns the OS keychain when a Secret Service is reachable
// and works (a probe item can be stored, read and deleted within the
// timeout); otherwise the test is skipped with a message.
func realKeychain(t *testing.T) *keychain.Keychain {
	t.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Skip("no D-Bus session bus: run under dbus-run-session with gnome-keyring-daemon --unlock to test the real Secret Service")
	}
	k := keychain.New()
	k.Service = "com.examlane.lane.test"
	if err := k.Probe(); err != nil {
		t.Skipf("Secret Service not usable here (%v): run under dbus-run-session with an unlocked gnome-keyring", err)
	}
	return k
}

// TestKeychainSecretService runs against a real Secret Service when one is
// reachable (the Makefile runs tests under dbus-run-session with
// gnome-keyring unlocked) and skips with a message otherwise.
func TestKeychainSecretService(t *testing.T) {
	k := realKeychain(t)
	name := "test/" + lane.NewID()
	t.Cleanup(func() { _ = k.Delete(name) })
	if _, err := k.Get(name); !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("Get(absent) = %v, want ErrNotFound", err)
	}
	v := []byte("kek bytes \x00\xff")
	if err := k.Set(name, v); err != nil {
		t.Fatal(err)
	}
	if err := k.Set(name, append(v, '2')); err != nil { // replace
		t.Fatal(err)
	}
	got, err := k.Get(name)
	if err != nil || string(got) != string(v)+"2" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if err := k.Delete(name); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Get(name); !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("Get after Delete = %v", err)
	}
}

// TestKeychainDatabaseRecovery runs the whole key path against the real
// Secret Service: a database keeps its key-encryption key in the keychain,
// reopens with it, refuses to open when the item is deleted, and recovers
// with the practice recovery key into a new keychain item.
func TestKeychainDatabaseRecovery(t *testing.T) {
	k := realKeychain(t)
	ctx := context.Background()
	rec, err := seal.GenerateRecoveryKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := localdb.Config{Path: filepath.Join(t.TempDir(), localdb.FileName), Keychain: k, RecoveryKey: rec.PublicKey()}
	db, err := localdb.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	name := db.ID() + "/kek"
	t.Cleanup(func() { _ = k.Delete(name) })
	if db.KeySource() != localdb.KeySourceKeychain {
		t.Fatalf("KeySource = %q", db.KeySource())
	}
	p, err := db.SavePatient(ctx, lane.Actor{User: "u-test"}, lane.Patient{Name: lane.Name{Family: "Keyring"}, BirthDate: lane.Date{Year: 1990, Month: 1, Day: 1}})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = localdb.Open(ctx, cfg); err != nil {
		t.Fatalf("reopen with the keychain: %v", err)
	}
	db.Close()
	if err := k.Delete(name); err != nil {
		t.Fatal(err)
	}
	cfg.RecoveryKey = nil
	if _, err := localdb.Open(ctx, cfg); !errors.Is(err, localdb.ErrKeyMissing) {
		t.Fatalf("open after the keychain item was deleted: %v", err)
	}
	if _, err := localdb.Recover(ctx, cfg, rec); err != nil {
		t.Fatal(err)
	}
	db, err = localdb.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open after recovery: %v", err)
	}
	defer db.Close()
	if _, err := db.GetPatient(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
}
