package devices

import "sync"

// Subscribe returns a channel of every event from now on and a cancel
// function.
//
// Events are queued per subscriber without limit (captures are small and
// rare), so a slow subscriber never stalls the instruments and never loses
// a capture. The hub owns the channel and is the only one to close it: after
// cancel is called, or after Run returns and the events queued before that
// were delivered. cancel may be called more than once and from any
// goroutine; a subscriber that stops reading must call it. Subscribing after
// Run returned gives a closed channel.
func (h *Hub) Subscribe() (<-chan Event, func()) {
	s := &subscriber{
		ch:     make(chan Event),
		notify: make(chan struct{}, 1),
		cancel: make(chan struct{}),
	}
	h.mu.Lock()
	if h.done {
		h.mu.Unlock()
		close(s.ch)
		return s.ch, func() {}
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	go s.pump()
	return s.ch, func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
		s.stop()
	}
}

func (h *Hub) publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.push(e)
	}
}

// subscriber is one Subscribe call: a queue and the goroutine (pump) that
// moves the queue onto the channel.
type subscriber struct {
	ch     chan Event
	notify chan struct{} // capacity 1: "the queue changed"
	cancel chan struct{} // closed by stop

	mu       sync.Mutex
	queue    []Event // guarded by mu
	final    bool    // guarded by mu: no more events will come
	stopOnce sync.Once
}

func (s *subscriber) push(e Event) {
	s.mu.Lock()
	s.queue = append(s.queue, e)
	s.mu.Unlock()
	s.poke()
}

func (s *subscriber) poke() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// finish marks the end of the stream: pump delivers what is queued, then
// closes the channel.
func (s *subscriber) finish() {
	s.mu.Lock()
	s.final = true
	s.mu.Unlock()
	s.poke()
}

func (s *subscriber) stop() { s.stopOnce.Do(func() { close(s.cancel) }) }

func (s *subscriber) pump() {
	defer close(s.ch)
	for {
		s.mu.Lock()
		batch, final := s.queue, s.final
		s.queue = nil
		s.mu.Unlock()
		for _, e := range batch {
			select {
			case s.ch <- e:
			case <-s.cancel:
				return
			}
		}
		if final && len(batch) == 0 {
			return
		}
		if len(batch) > 0 {
			continue // more may have arrived meanwhile
		}
		select {
		case <-s.notify:
		case <-s.cancel:
			return
		}
	}
}
