package keychain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb/keychain"
)

func TestMockRoundTrip(t *testing.T) {
	keyring.MockInit()
	k := keychain.New()
	k.SkipBusCheck = true
	if _, err := k.Get("db/kek"); !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("Get(absent) err = %v, want ErrNotFound", err)
	}
	secret := []byte{0, 1, 2, 255}
	if err := k.Set("db/kek", secret); err != nil {
		t.Fatal(err)
	}
	got, err := k.Get("db/kek")
	if err != nil || string(got) != string(secret) {
		t.Fatalf("Get = %v, %v", got, err)
	}
	if err := k.Delete("db/kek"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Get("db/kek"); !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("Get after delete err = %v", err)
	}
	if err := k.Probe(); err != nil {
		t.Fatalf("Probe: %v", err)
	}
}

func TestMockFailureIsUnavailable(t *testing.T) {
	keyring.MockInitWithError(errors.New("failed to unlock correct collection '/org/freedesktop/secrets/collection/login'"))
	k := keychain.New()
	k.SkipBusCheck = true
	if _, err := k.Get("x"); !errors.Is(err, lane.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

type hangingBackend struct{ release chan struct{} }

func (h hangingBackend) Set(string, string, string) error { <-h.release; return nil }
func (h hangingBackend) Get(string, string) (string, error) {
	<-h.release
	return "", nil
}
func (h hangingBackend) Delete(string, string) error { <-h.release; return nil }

// TestHangingKeychainTimesOut: a keychain that never answers must give
// ErrUnavailable after the timeout, not hang.
func TestHangingKeychainTimesOut(t *testing.T) {
	h := hangingBackend{release: make(chan struct{})}
	defer close(h.release)
	k := &keychain.Keychain{Service: "test", Timeout: 50 * time.Millisecond, Backend: h, SkipBusCheck: true}
	done := make(chan error, 1)
	go func() { _, err := k.Get("x"); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, lane.ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Get hung past its timeout")
	}
}

func TestNoSessionBusFailsFast(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	h := hangingBackend{release: make(chan struct{})}
	defer close(h.release)
	k := &keychain.Keychain{Service: "test", Timeout: time.Hour, Backend: h}
	if _, err := k.Get("x"); !errors.Is(err, lane.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable without a session bus", err)
	}
}
