package auth

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/examlane/examlane/lane"
)

// LockoutPolicy slows down password guessing on one account: after each
// consecutive failure the next attempt must wait BaseDelay, doubling per
// failure up to MaxDelay, and after Threshold consecutive failures the
// account is locked until an administrator resets it (or, on a lane, until
// a sign-in verified by the server succeeds).
type LockoutPolicy struct {
	BaseDelay, MaxDelay time.Duration
	Threshold           int
}

// DefaultLockout is 1 s doubling to 5 min, locked after 10 failures.
// NIST SP 800-63B allows up to 100; a lane is physically exposed.
func DefaultLockout() LockoutPolicy {
	return LockoutPolicy{BaseDelay: time.Second, MaxDelay: 5 * time.Minute, Threshold: 10}
}

// Attempts is the failure record of one account, kept by the caller.
type Attempts struct {
	Failures    int       // consecutive failures since the last success
	LastFailure time.Time // time of the last failure
	Locked      bool      // locked after Threshold failures
}

var (
	// ErrThrottled: an attempt came before the delay after the last
	// failure had passed; errors wrapping it are *ThrottleError.
	ErrThrottled = errors.New("too many failed sign-ins: wait before trying again")
	// ErrAccountLocked: the account is locked after too many failures.
	ErrAccountLocked = errors.New("account locked after too many failed sign-ins: ask an administrator to reset it")
)

// ThrottleError says how long to wait. It matches ErrThrottled.
type ThrottleError struct{ RetryAfter time.Duration }

func (e *ThrottleError) Error() string {
	return fmt.Sprintf("too many failed sign-ins: try again in %d s", int(math.Ceil(e.RetryAfter.Seconds())))
}

// Is makes errors.Is(err, ErrThrottled) true.
func (e *ThrottleError) Is(target error) bool { return target == ErrThrottled }

func (p LockoutPolicy) norm() LockoutPolicy {
	d := DefaultLockout()
	if p.BaseDelay <= 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay < p.BaseDelay {
		p.MaxDelay = max(d.MaxDelay, p.BaseDelay)
	}
	if p.Threshold <= 0 {
		p.Threshold = d.Threshold
	}
	return p
}

// Delay returns the wait required after failures consecutive failures: 0,
// then BaseDelay, 2×BaseDelay, ... capped at MaxDelay.
func (p LockoutPolicy) Delay(failures int) time.Duration {
	p = p.norm()
	if failures <= 0 {
		return 0
	}
	d := p.BaseDelay
	for i := 1; i < failures; i++ {
		d *= 2
		if d >= p.MaxDelay {
			return p.MaxDelay
		}
	}
	return min(d, p.MaxDelay)
}

// Wait returns how long from now the next attempt must wait (0: now).
func (p LockoutPolicy) Wait(a Attempts, now time.Time) time.Duration {
	if a.Failures == 0 || a.LastFailure.IsZero() {
		return 0
	}
	next := a.LastFailure.Add(p.Delay(a.Failures))
	if !now.Before(next) {
		return 0
	}
	return next.Sub(now)
}

// Check returns nil when an attempt may be made now, an error wrapping
// ErrAccountLocked when the account is locked, or a *ThrottleError.
func (p LockoutPolicy) Check(a Attempts, now time.Time) error {
	if a.Locked {
		return ErrAccountLocked
	}
	if w := p.Wait(a, now); w > 0 {
		return &ThrottleError{RetryAfter: w}
	}
	return nil
}

// Fail records a failed attempt at now, locking the account when it
// reaches Threshold.
func (p LockoutPolicy) Fail(a Attempts, now time.Time) Attempts {
	p = p.norm()
	a.Failures++
	a.LastFailure = now
	if a.Failures >= p.Threshold {
		a.Locked = true
	}
	return a
}

// OfflinePolicy bounds offline sign-in on a lane: a user may sign in
// against the credentials the lane holds only within Window of their last
// sign-in verified by the server on this lane.
type OfflinePolicy struct {
	// Window is the time allowed since the last online sign-in; 0 turns
	// offline sign-in off.
	Window time.Duration
}

// DefaultOffline allows offline sign-in for 7 days.
func DefaultOffline() OfflinePolicy { return OfflinePolicy{Window: 7 * 24 * time.Hour} }

// ErrOfflineExpired refuses an offline sign-in outside the window. It
// wraps lane.ErrUnavailable: the server, which alone could verify the
// person now, is not reachable.
var ErrOfflineExpired error = offlineExpired{}

type offlineExpired struct{}

func (offlineExpired) Error() string {
	return "Offline sign-in expired: connect to the practice network to sign in"
}

func (offlineExpired) Unwrap() error { return lane.ErrUnavailable }

// Check returns nil when an offline sign-in at now is within the window of
// lastOnline, else an error wrapping ErrOfflineExpired. A zero lastOnline
// (never signed in online here) is outside any window.
func (p OfflinePolicy) Check(lastOnline, now time.Time) error {
	if p.Window <= 0 || lastOnline.IsZero() || now.Sub(lastOnline) > p.Window {
		return ErrOfflineExpired
	}
	return nil
}
