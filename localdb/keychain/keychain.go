// Package keychain keeps small secrets (the wrapped-key-encryption keys of
// lane databases) in the operating system's keychain through
// github.com/zalando/go-keyring: the Secret Service on Linux, the Keychain on
// macOS, the Credential Manager on Windows. It implements lane.Secrets.
//
// Every keychain call runs in its own goroutine and is abandoned after
// Timeout with an error wrapping lane.ErrUnavailable, so that a hung D-Bus,
// an unanswered unlock prompt or a frozen keychain daemon never hangs the
// lane. An abandoned call's goroutine ends when the keychain finally answers
// (its result is dropped); nothing else waits for it.
//
// Values are stored base64-encoded because keychains store strings.
package keychain

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/examlane/examlane/lane"
)

// DefaultService is the keychain service name Examlane uses.
const DefaultService = "com.examlane.lane"

// DefaultTimeout bounds every keychain call.
const DefaultTimeout = 3 * time.Second

// Backend is the keychain API this package drives; go-keyring's package
// functions implement it (see OS). Tests substitute a hanging or failing
// backend.
type Backend interface {
	Set(service, user, password string) error
	Get(service, user string) (string, error)
	Delete(service, user string) error
}

// OS is the real keychain through go-keyring (or its in-memory mock after
// keyring.MockInit).
type OS struct{}

// Set stores a secret.
func (OS) Set(service, user, password string) error { return keyring.Set(service, user, password) }

// Get reads a secret.
func (OS) Get(service, user string) (string, error) { return keyring.Get(service, user) }

// Delete removes a secret.
func (OS) Delete(service, user string) error { return keyring.Delete(service, user) }

// Keychain is lane.Secrets over an OS keychain. It is safe for concurrent
// use. The zero value is not usable; call New.
type Keychain struct {
	// Service is the keychain service name secrets are filed under.
	Service string
	// Timeout bounds each call.
	Timeout time.Duration
	// Backend is the keychain driven (OS{} by default).
	Backend Backend
	// SkipBusCheck disables the Linux check that a D-Bus session bus exists
	// before calling the Secret Service (tests of the mock use it).
	SkipBusCheck bool
}

var _ lane.Secrets = (*Keychain)(nil)

// New returns a Keychain for the OS keychain with the default service and
// timeout.
func New() *Keychain {
	return &Keychain{Service: DefaultService, Timeout: DefaultTimeout, Backend: OS{}}
}

// Get returns the secret stored under name, ErrNotFound when absent, and an
// error wrapping ErrUnavailable when no keychain answers in time.
func (k *Keychain) Get(name string) ([]byte, error) {
	var s string
	err := k.call("get", func(b Backend) (err error) {
		s, err = b.Get(k.Service, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	v, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("keychain: get %s: stored value is not base64: %w", name, lane.ErrInvalid)
	}
	return v, nil
}

// Set stores v under name, replacing any previous value.
func (k *Keychain) Set(name string, v []byte) error {
	enc := base64.StdEncoding.EncodeToString(v)
	return k.call("set", func(b Backend) error { return b.Set(k.Service, name, enc) })
}

// Delete removes name; deleting an absent name returns ErrNotFound.
func (k *Keychain) Delete(name string) error {
	return k.call("delete", func(b Backend) error { return b.Delete(k.Service, name) })
}

// Probe checks that the keychain works by storing, reading back and
// deleting a throw-away item, within the timeout of each call.
func (k *Keychain) Probe() error {
	name := "probe/" + lane.NewID()
	want := []byte("examlane keychain probe")
	if err := k.Set(name, want); err != nil {
		return err
	}
	got, err := k.Get(name)
	_ = k.Delete(name)
	if err != nil {
		return err
	}
	if string(got) != string(want) {
		return fmt.Errorf("keychain: probe read back other data: %w", lane.ErrUnavailable)
	}
	return nil
}

// call runs f against the backend in a goroutine and gives up after the
// timeout. Errors are translated: keyring.ErrNotFound to lane.ErrNotFound,
// anything else to lane.ErrUnavailable with the keychain's words.
func (k *Keychain) call(op string, f func(Backend) error) error {
	if !k.SkipBusCheck {
		if err := busCheck(); err != nil {
			return fmt.Errorf("keychain: %s: %w", op, err)
		}
	}
	b := k.Backend
	if b == nil {
		b = OS{}
	}
	timeout := k.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	done := make(chan error, 1) // buffered: an abandoned call can still finish
	go func() { done <- f(b) }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		switch {
		case err == nil:
			return nil
		case errors.Is(err, keyring.ErrNotFound):
			return fmt.Errorf("keychain: %s: %w", op, lane.ErrNotFound)
		default:
			return fmt.Errorf("keychain: %s: %v: %w", op, err, lane.ErrUnavailable)
		}
	case <-timer.C:
		return fmt.Errorf("keychain: %s: no answer within %v: %w", op, timeout, lane.ErrUnavailable)
	}
}

// busCheck fails fast on Linux when there is no D-Bus session bus: without
// one, godbus would try to autolaunch dbus-launch, which at best fails and at
// worst starts a stray daemon.
func busCheck() error {
	if runtime.GOOS != "linux" {
		return nil
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return nil
	}
	if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" {
		if _, err := os.Stat(filepath.Join(rt, "bus")); err == nil {
			return nil
		}
	}
	return fmt.Errorf("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS unset), so no Secret Service: %w", lane.ErrUnavailable)
}
