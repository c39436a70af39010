// Package lanetest holds test doubles of the lane ports and the conformance
// suites every implementation must pass: an in-memory Store that is also a
// SyncStore, a ManualClock, RunStoreSuite and RunSyncStoreSuite. Import it
// only from _test.go files (and from cmd/devsim).
package lanetest

import (
	"sync"
	"time"

	"github.com/examlane/examlane/lane"
)

// ManualClock is a lane.Clock that moves only when told. It is safe for
// concurrent use.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time // guarded by mu
}

var _ lane.Clock = (*ManualClock)(nil)

// NewManualClock returns a clock reading t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{now: t} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock forward by d and returns the new time.
func (c *ManualClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}
