package ptp

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Object is an image fetched from a camera.
type Object struct {
	Handle uint32
	Info   ObjectInfo
	Data   []byte
	SHA256 [32]byte
	// Device describes the camera it came from.
	Device DeviceInfo
}

// Seen remembers which contents were handled (filedrop.SeenFile
// implements it, so a camera and a folder share one memory). It must be
// safe for concurrent use.
type Seen interface {
	Seen(sum [32]byte) (bool, error)
	Mark(sum [32]byte) error
}

// WatchConfig configures a Watcher.
type WatchConfig struct {
	// Open connects to the camera (for example with OpenUSB) and returns
	// its transport; it is called again after the camera goes away.
	Open func(ctx context.Context) (Transport, error)
	// Handle receives each new image, from the goroutine running Run. A
	// nil error marks the image handled; an error leaves it to be offered
	// again on the next scan.
	Handle func(ctx context.Context, obj Object) error
	// ImportExisting also imports the images already on the camera when
	// it connects. Off by default: a camera's card may hold earlier
	// patients' pictures, so only captures made while the lane is
	// connected are imported (and any content seen before is skipped).
	ImportExisting bool
	// Poll is how often the object list is read again when the camera
	// sends no events (default 2 s); Retry how long to wait before
	// reconnecting (default 3 s).
	Poll, Retry time.Duration
	// MaxObject limits the size of one image (default DefaultMaxObject).
	MaxObject int64
	// Seen remembers handled contents across runs (default: in memory).
	Seen Seen
	// OnState, if set, is called from Run's goroutine when the camera is
	// ready (connected, session open, existing objects listed) and when
	// the connection ends, for a status display.
	OnState func(connected bool, dev DeviceInfo)
	// Logf receives one line per notable event (optional). Lines carry
	// handles and counts, never file names (which may name a patient).
	Logf func(format string, args ...any)
}

// Watcher fetches new images from one camera. Run owns the connection.
type Watcher struct {
	cfg  WatchConfig
	logf func(string, ...any)
	// known holds the handles already dealt with in this connection.
	known map[uint32]bool
}

// NewWatcher checks cfg and returns a Watcher.
func NewWatcher(cfg WatchConfig) (*Watcher, error) {
	if cfg.Open == nil || cfg.Handle == nil {
		return nil, errors.New("ptp: watcher needs Open and Handle")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 3 * time.Second
	}
	if cfg.Seen == nil {
		cfg.Seen = &memSeen{m: map[[32]byte]bool{}}
	}
	w := &Watcher{cfg: cfg, logf: cfg.Logf}
	if w.logf == nil {
		w.logf = func(string, ...any) {}
	}
	return w, nil
}

// Run connects, imports new captures until the connection fails, and
// reconnects after Retry, until ctx ends; then it returns nil.
func (w *Watcher) Run(ctx context.Context) error {
	for {
		err := w.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		w.logf("ptp: camera connection ended: %v; retrying in %v", err, w.cfg.Retry)
		t := time.NewTimer(w.cfg.Retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// session runs one connection: open, baseline, then events or polling.
func (w *Watcher) session(ctx context.Context) error {
	t, err := w.cfg.Open(ctx)
	if err != nil {
		return err
	}
	s := NewSession(t, w.cfg.MaxObject)
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = s.Close(cctx)
	}()
	dev, err := s.DeviceInfo(ctx)
	if err != nil {
		return err
	}
	if err := s.Open(ctx, 1); err != nil {
		return err
	}
	w.logf("ptp: session open with %s %s", dev.Manufacturer, dev.Model)
	w.known = map[uint32]bool{}
	if err := w.scan(ctx, s, dev, !w.cfg.ImportExisting); err != nil {
		return err
	}
	if w.cfg.OnState != nil {
		w.cfg.OnState(true, dev)
		defer w.cfg.OnState(false, dev)
	}

	// Events arrive on the interrupt endpoint, read by a goroutine owned
	// by this session; without one, the object list is polled.
	events := make(chan Container, 8)
	evctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(events)
		for {
			ev, err := ReadEvent(evctx, t)
			if err != nil {
				if !errors.Is(err, ErrNoInterrupt) && evctx.Err() == nil {
					w.logf("ptp: event endpoint: %v; polling instead", err)
				}
				return
			}
			select {
			case events <- ev:
			case <-evctx.Done():
				return
			}
		}
	}()
	defer wg.Wait()
	defer stop()
	poll := time.NewTicker(w.cfg.Poll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-events:
			if !ok {
				events = nil // polling from now on
				continue
			}
			switch ev.Code {
			case EventObjectAdded:
				if len(ev.Params) > 0 {
					if err := w.offer(ctx, s, dev, ev.Params[0]); err != nil {
						return err
					}
				}
			case EventStoreAdded, EventCaptureComplete, EventDeviceReset:
				if err := w.scan(ctx, s, dev, false); err != nil {
					return err
				}
			}
		case <-poll.C:
			// Polling also catches objects whose event was lost.
			if err := w.scan(ctx, s, dev, false); err != nil {
				return err
			}
		}
	}
}

// scan lists every object and offers the ones not yet known; with
// baseline it only records them.
func (w *Watcher) scan(ctx context.Context, s *Session, dev DeviceInfo, baseline bool) error {
	hs, err := s.ObjectHandles(ctx, AllStorages)
	if err != nil {
		return err
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i] < hs[j] })
	if baseline {
		for _, h := range hs {
			w.known[h] = true
		}
		w.logf("ptp: %d objects already on the camera are left there", len(hs))
		return nil
	}
	for _, h := range hs {
		if err := w.offer(ctx, s, dev, h); err != nil {
			return err
		}
	}
	return nil
}

// offer fetches object h if it is a new image and hands it over.
func (w *Watcher) offer(ctx context.Context, s *Session, dev DeviceInfo, h uint32) error {
	if w.known[h] {
		return nil
	}
	info, err := s.ObjectInfo(ctx, h)
	if err != nil {
		var re *ResponseError
		if errors.As(err, &re) && re.Code == RespInvalidObjectHandle {
			return nil // removed meanwhile
		}
		return err
	}
	if !info.IsImage() {
		w.known[h] = true // folders, sidecar files
		return nil
	}
	if int64(info.CompressedSize) > s.maxObject {
		w.known[h] = true
		w.logf("ptp: object %d is %d bytes, over the limit; not imported", h, info.CompressedSize)
		return nil
	}
	data, err := s.Object(ctx, h)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	seen, err := w.cfg.Seen.Seen(sum)
	if err != nil {
		return fmt.Errorf("ptp: seen images: %w", err)
	}
	if seen {
		w.known[h] = true
		return nil
	}
	if err := w.cfg.Handle(ctx, Object{Handle: h, Info: info, Data: data, SHA256: sum, Device: dev}); err != nil {
		w.logf("ptp: object %d not imported: %v", h, err)
		return nil // offered again on the next scan
	}
	w.known[h] = true
	if err := w.cfg.Seen.Mark(sum); err != nil {
		w.logf("ptp: remembering an imported image: %v", err)
	}
	return nil
}

// memSeen is the default in-memory Seen.
type memSeen struct {
	mu sync.Mutex
	m  map[[32]byte]bool // guarded by mu
}

func (s *memSeen) Seen(sum [32]byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[sum], nil
}

func (s *memSeen) Mark(sum [32]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[sum] = true
	return nil
}
