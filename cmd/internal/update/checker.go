package update

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/examlane/examlane/lane"
)

// DefaultEvery is the time between two checks.
const DefaultEvery = 24 * time.Hour

// Status is what the administrator sees about updates.
type Status struct {
	// Running is the running version; RunningBuilt when it was built and
	// BuiltFrom how that was learnt ("commit date", "build date",
	// "executable file date"), empty when unknown.
	Running      string
	RunningBuilt time.Time
	BuiltFrom    string
	// Available is the newer release offered, empty when none; Published
	// its publication time and Notes its release notes.
	Available string
	Published time.Time
	Notes     string
	// LastCheck is when the server was last asked; LastError the last
	// check's failure in words (no URLs or patient data), empty after a
	// success.
	LastCheck time.Time
	LastError string
}

// RunningAge returns how old the running version is at now (0 when its
// build time is unknown).
func (s Status) RunningAge(now time.Time) time.Duration {
	if s.RunningBuilt.IsZero() || now.Before(s.RunningBuilt) {
		return 0
	}
	return now.Sub(s.RunningBuilt)
}

// Checker asks the practice server for a newer release at start and then
// every Every, and keeps the Status. It never downloads by itself: the
// administrator does ('examlane update download'). Run it with Run; it is
// safe for concurrent use.
type Checker struct {
	Client  *Client
	Running Version
	// Built and BuiltFrom describe when the running version was built.
	Built     time.Time
	BuiltFrom string
	// Clock stamps LastCheck (lane.SystemClock when nil).
	Clock lane.Clock
	// Every is the time between checks (DefaultEvery when 0).
	Every time.Duration
	// Logf, when set, gets one line per check outcome.
	Logf func(format string, args ...any)
	// OnChange, when set, is called with the new status after each check,
	// on the checker's goroutine.
	OnChange func(Status)

	mu     sync.Mutex
	status Status // guarded by mu
	init   bool   // guarded by mu
}

func (c *Checker) clock() lane.Clock {
	if c.Clock == nil {
		return lane.SystemClock{}
	}
	return c.Clock
}

// Status returns the latest status.
func (c *Checker) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.initLocked()
	return c.status
}

func (c *Checker) initLocked() {
	if !c.init {
		c.status.Running, c.status.RunningBuilt, c.status.BuiltFrom = c.Running.String(), c.Built, c.BuiltFrom
		c.init = true
	}
}

// Check asks the server once and returns the new status. A release that
// is not newer than the running version is not offered; one that fails
// verification is reported in LastError and the error returned.
func (c *Checker) Check(ctx context.Context) (Status, error) {
	m, ok, err := c.Client.Latest(ctx)
	if err == nil && ok {
		if derr := Decide(m, c.Running); derr != nil {
			ok = false
			if !errors.Is(derr, ErrNotNewer) {
				err = derr
			}
		}
	}
	c.mu.Lock()
	c.initLocked()
	s := &c.status
	s.LastCheck = c.clock().Now()
	s.LastError = ""
	if err != nil {
		s.LastError = describe(err)
	} else {
		s.Available, s.Published, s.Notes = "", time.Time{}, ""
		if ok {
			s.Available, s.Published, s.Notes = m.Release().String(), m.Published, m.Notes
		}
	}
	out := *s
	c.mu.Unlock()
	if c.Logf != nil {
		switch {
		case err != nil:
			c.Logf("update check failed: %s", out.LastError)
		case out.Available != "":
			c.Logf("update available: %s (running %s)", out.Available, out.Running)
		default:
			c.Logf("update check: up to date (running %s)", out.Running)
		}
	}
	if c.OnChange != nil {
		c.OnChange(out)
	}
	return out, err
}

// Run checks at once and then every Every until ctx ends; failures are
// kept in the status and retried at the next tick. It returns nil when
// ctx ends.
func (c *Checker) Run(ctx context.Context) error {
	every := c.Every
	if every <= 0 {
		every = DefaultEvery
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		_, _ = c.Check(cctx)
		cancel()
		t.Reset(every)
	}
}

// describe puts a check failure into words for the administrator.
func describe(err error) string {
	switch {
	case errors.Is(err, ErrNoTrustedKeys):
		return "no release keys configured: updates cannot be verified"
	case errors.Is(err, ErrUnsigned):
		return "the server offered an unsigned release: refused"
	case errors.Is(err, ErrBadSignature):
		return "the server offered a release whose signature does not verify: refused"
	case errors.Is(err, ErrTooLarge):
		return "the server's answer was too large: refused"
	case errors.Is(err, lane.ErrUnavailable):
		return "practice server unreachable"
	case errors.Is(err, lane.ErrInvalid):
		return "the offered release is not acceptable: " + err.Error()
	}
	return "update check failed"
}
