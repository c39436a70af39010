package main

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/examlane/examlane/cmd/internal/laneconfig"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/ui"
)

// TestNewAuthenticatorSpeaksUI checks the wiring: refusals wrap the ui
// package's errors, so the lock screen explains them.
func TestNewAuthenticatorSpeaksUI(t *testing.T) {
	clock := lanetest.NewManualClock(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC))
	pass := []byte("synthetic test passphrase")
	db, err := localdb.Open(t.Context(), localdb.Config{Path: filepath.Join(t.TempDir(), localdb.FileName), Clock: clock,
		TestPassphrase: true, Passphrase: func() ([]byte, error) { return pass, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := newAuthenticator(db, nil, laneconfig.Defaults().Session, "Lane 1", clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SignIn(t.Context(), "nobody", "correct horse battery staple", "123456"); !errors.Is(err, ui.ErrBadCredentials) {
		t.Fatalf("unknown user: %v, want ui.ErrBadCredentials", err)
	}
	if err := a.Resume(t.Context(), "nobody", "4821"); !errors.Is(err, lane.ErrLocked) {
		t.Fatalf("resume without a shift: %v", err)
	}
}
