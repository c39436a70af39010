package ui_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui"
	"github.com/examlane/examlane/ui/uitest"
)

// TestBridgeDeliversInOrder runs the bridge on its own goroutine, as cmd
// does, and checks that every event reaches the apply function in order
// and that Run stops with its context.
func TestBridgeDeliversInOrder(t *testing.T) {
	test.NewTempApp(t)
	p := uitest.NewPractice(t)
	got := make(chan lane.Event, 8)
	b := ui.NewBridge(p.Service, func(e lane.Event) { got <- e })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()

	sent := []lane.Event{
		lane.InstrumentChanged{State: lane.InstrumentState{Profile: "a", State: "connected"}},
		lane.SyncChanged{Status: lane.SyncStatus{Queued: 3}},
		lane.LockChanged{Locked: true},
	}
	for _, e := range sent {
		p.Service.Publish(e)
	}
	for i, want := range sent {
		select {
		case e := <-got:
			if e != want {
				t.Errorf("event %d = %#v, want %#v", i, e, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d never arrived", i)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if b.Dropped() != 0 {
		t.Errorf("dropped %d events", b.Dropped())
	}
}

// TestLoadsAfterLockAreDropped checks that a background load that finishes
// after the lane locked does not put its result on screen.
func TestLoadsAfterLockAreDropped(t *testing.T) {
	d := newAsyncDesktop(t)
	release := make(chan struct{})
	applied := false
	ui.Async(d, func() func() {
		<-release
		return func() { applied = true }
	})
	ui.LockGeneration(d) // the lane locks while the load runs
	close(release)
	ui.Wait(d)
	if applied {
		t.Error("a load that finished after the lock was applied")
	}
}

// newAsyncDesktop returns a desktop whose loads run in the background.
func newAsyncDesktop(t *testing.T) *ui.Desktop {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(ui.NewTheme(theme.VariantDark))
	w := test.NewTempWindow(t, nil)
	p := uitest.NewPractice(t)
	return ui.NewDesktop(ui.Config{App: a, Window: w, Service: p.Service, Auth: p.Auth, Clock: p.Clock})
}

// TestAsyncRunsOffTheCallerGoroutine checks the non-inline runner: the
// work runs on another goroutine and its result is applied through
// fyne.Do.
func TestAsyncRunsOffTheCallerGoroutine(t *testing.T) {
	d := newAsyncDesktop(t)
	release := make(chan struct{})
	var applied bool
	ui.Async(d, func() func() {
		<-release // blocks: would deadlock if run on the caller's goroutine
		return func() { applied = true }
	})
	close(release)
	ui.Wait(d)
	if !applied {
		t.Error("the result was not applied")
	}
}
