package lane

import (
	"sync"
	"time"
)

// Event is something that happened on the lane that screens may show. The
// concrete types below are the only events.
type Event interface{ isEvent() }

// CaptureArrived: an instrument sent readings. Capture.PatientID is empty
// when no chart was open (the capture waits to be assigned).
type CaptureArrived struct{ Capture Capture }

// MeasurementChanged: a measurement was saved, accepted, or removed.
type MeasurementChanged struct{ Measurement Measurement }

// InstrumentChanged: an instrument's connection state changed.
type InstrumentChanged struct{ State InstrumentState }

// SyncChanged: the sync status changed.
type SyncChanged struct{ Status SyncStatus }

// LockChanged: the lane locked or unlocked, or the session changed hands.
// It carries no patient data so that lock screens may show it.
type LockChanged struct {
	Locked bool
	User   UserID // the session's user, empty after sign-out
}

func (CaptureArrived) isEvent()     {}
func (MeasurementChanged) isEvent() {}
func (InstrumentChanged) isEvent()  {}
func (SyncChanged) isEvent()        {}
func (LockChanged) isEvent()        {}

// InstrumentState is what the lane shows about one configured instrument.
type InstrumentState struct {
	Profile string // profile name, e.g. "nidek-rt5100"
	Name    string // display name
	// State is "disconnected", "connected", "receiving" or "error".
	State       string
	Port        string
	LastReading time.Time
	// LastError is the last problem in words (no patient data).
	LastError string
}

// Bus fans events out to subscribers. Publish never blocks: a subscriber
// whose buffer is full misses the event and its Dropped count grows, so a
// stalled screen cannot stall capture. Bus is safe for concurrent use.
type Bus struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{} // guarded by mu
}

// Subscription receives events on C until Close. C is closed by Close.
type Subscription struct {
	C       <-chan Event
	c       chan Event
	bus     *Bus
	mu      sync.Mutex
	dropped int // guarded by mu
	closed  bool
}

// Subscribe returns a subscription with the given buffer size (minimum 1).
func (b *Bus) Subscribe(buffer int) *Subscription {
	if buffer < 1 {
		buffer = 1
	}
	c := make(chan Event, buffer)
	s := &Subscription{C: c, c: c, bus: b}
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[*Subscription]struct{}{}
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Publish delivers e to every subscriber that has room.
func (b *Bus) Publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.mu.Lock()
		if !s.closed {
			select {
			case s.c <- e:
			default:
				s.dropped++
			}
		}
		s.mu.Unlock()
	}
}

// Dropped returns how many events this subscriber missed.
func (s *Subscription) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Close unsubscribes and closes C. It is safe to call more than once.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	delete(s.bus.subs, s)
	s.bus.mu.Unlock()
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.c)
	}
	s.mu.Unlock()
}
