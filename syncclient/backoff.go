package syncclient

import (
	"sync"
	"time"
)

// backoff yields exponentially growing delays with jitter: base, 2·base, …
// up to max, each drawn from [d/2, d) with the injected jitter source ("equal
// jitter"), so many lanes coming back at once do not retry in step.
type backoff struct {
	base, max time.Duration
	jitter    func() float64
	n         int
}

// next returns the next delay and advances.
func (b *backoff) next() time.Duration {
	d := b.base << min(b.n, 30)
	if d > b.max || d <= 0 {
		d = b.max
	}
	b.n++
	j := b.jitter()
	if j < 0 || j >= 1 {
		j = 0
	}
	return d/2 + time.Duration(float64(d/2)*j)
}

// reset starts again from base.
func (b *backoff) reset() { b.n = 0 }

// breakerState is the circuit breaker's state.
type breakerState int

const (
	breakerClosed breakerState = iota // requests flow
	breakerOpen                       // the server is considered down: probe first
)

// breaker notices that the server is down: after threshold consecutive
// transport failures it opens, and while open each cycle starts with one
// probe request instead of its real work (half-open); a successful probe
// closes it. The delay between probes is the run loop's backoff, so a dead
// server sees one small request per backoff period. Safe for concurrent
// use.
type breaker struct {
	mu        sync.Mutex
	threshold int
	failures  int
	state     breakerState
}

// success records an answer from the server (any HTTP status below 500).
func (b *breaker) success() {
	b.mu.Lock()
	b.failures, b.state = 0, breakerClosed
	b.mu.Unlock()
}

// failure records a transport failure or 5xx answer.
func (b *breaker) failure() {
	b.mu.Lock()
	b.failures++
	if b.failures >= b.threshold {
		b.state = breakerOpen
	}
	b.mu.Unlock()
}

// open reports whether the breaker is open.
func (b *breaker) open() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state == breakerOpen
}
