package wire

import (
	"context"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
)

// TestLockDropsCaches: every lock runs OnLock (the store's DropCaches), so
// no decrypted patient data stays in memory while the lane is locked.
func TestLockDropsCaches(t *testing.T) {
	clock := lanetest.NewManualClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	svc := lane.NewService(lane.Config{Store: lanetest.NewStore(clock), Clock: clock, Lane: "lane-1"})
	dropped := make(chan struct{}, 4)
	l := &Lane{Service: svc, OnLock: func() { dropped <- struct{}{} }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()

	if err := svc.Begin(ctx, lane.Session{User: "tech", Roles: []lane.Role{lane.RoleTechnician}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dropped:
		t.Fatal("caches dropped on sign-in")
	case <-time.After(50 * time.Millisecond):
	}
	for i := 0; i < 2; i++ {
		if err := svc.Lock(ctx, "idle"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-dropped:
		case <-time.After(5 * time.Second):
			t.Fatalf("lock %d did not drop the caches", i+1)
		}
		if err := svc.Unlock(ctx, "tech"); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.End(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dropped:
	case <-time.After(5 * time.Second):
		t.Fatal("sign-out did not drop the caches")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
