package devices

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/examlane/examlane/devices/codec"
	"github.com/examlane/examlane/devices/filedrop"
	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/devices/transport"
	"github.com/examlane/examlane/lane"
)

// Instrument is one instrument the hub runs.
type Instrument struct {
	// Name is the display name; empty means the profile's name. Names must
	// be unique within a hub.
	Name    string
	Profile profile.Profile
	// Port overrides the profile's serial port path; Folder overrides its
	// drop folder.
	Port   string
	Folder string
}

// States of an instrument, as lane.InstrumentState.State carries them.
const (
	StateDisconnected = "disconnected" // no link: unplugged, port missing, folder missing
	StateConnected    = "connected"    // link up, idle
	StateReceiving    = "receiving"    // a frame is arriving
	StateError        = "error"        // link up but what arrives is unusable (garbage, rejected frames)
)

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	// EventCapture: a frame or file decoded; Capture is set.
	EventCapture EventKind = iota + 1
	// EventRejected: a frame or file was refused; Raw and Reason are set.
	EventRejected
	// EventState: the instrument's state changed.
	EventState
)

// String returns "capture", "rejected" or "state".
func (k EventKind) String() string {
	switch k {
	case EventCapture:
		return "capture"
	case EventRejected:
		return "rejected"
	case EventState:
		return "state"
	}
	return "?"
}

// Event is one thing that happened to an instrument. Every event carries
// the instrument's state after it.
type Event struct {
	Kind       EventKind
	Instrument string
	// At is the lane clock's time of the event.
	At time.Time
	// Capture is the decoded transmission (EventCapture): Raw, SHA256, ID,
	// ReceivedAt and Instrument.Profile are filled in by the hub.
	Capture lane.Capture
	// Raw and Reason describe a rejected frame or file (EventRejected); the
	// reason is in words and carries no patient data.
	Raw    []byte
	Reason string
	State  lane.InstrumentState
}

// Opener opens a serial port; transport.OpenSerial is the real one.
type Opener func(ctx context.Context, path string, cfg transport.SerialConfig) (transport.Conn, error)

// PortFinder finds the serial port of a USB-serial bridge; *usb.Scanner is
// the real one.
type PortFinder interface {
	FindPort(ids []profile.USBID, serial string) (string, error)
}

// Config configures a Hub.
type Config struct {
	Instruments []Instrument
	// Clock stamps ReceivedAt and event times (default lane.SystemClock).
	// Frame timeouts and backoff use the monotonic clock.
	Clock lane.Clock
	// Codec finds a dialect's codec (default codec.Lookup).
	Codec func(name string) (codec.Codec, error)
	// Detect picks a codec for a file of unknown dialect (default
	// codec.Detect).
	Detect func(data []byte) (codec.Codec, bool)
	// Open opens serial ports (default transport.OpenSerial).
	Open Opener
	// Ports resolves usb-serial instruments without a fixed port; nil
	// means they need a port path.
	Ports PortFinder
	// BackoffMin and BackoffMax bound the wait between reconnection
	// attempts (defaults 250 ms and 5 s).
	BackoffMin, BackoffMax time.Duration
	// Poll is how often drop folders are scanned (default 500 ms).
	Poll time.Duration
	// Seen remembers handled drop files; nil keeps a seen file in each
	// folder's state directory.
	Seen filedrop.Seen
	// Logf receives diagnostics (optional). Lines carry no patient data.
	Logf func(format string, args ...any)
}

// Hub runs the configured instruments. Its methods are safe for concurrent
// use.
type Hub struct {
	cfg Config
	ins []*instrument

	mu      sync.Mutex
	subs    map[*subscriber]struct{} // guarded by mu
	done    bool                     // guarded by mu: Run has returned
	running bool                     // guarded by mu
	wake    chan struct{}            // guarded by mu: closed by Rescan
}

type instrument struct {
	name   string
	prof   profile.Profile
	port   string
	folder string
	codec  codec.Codec // nil: detect per file

	mu    sync.Mutex
	state lane.InstrumentState // guarded by mu
	conn  transport.Conn       // guarded by mu: the open link, for Request
	notes map[string]bool      // guarded by mu: notes already logged

	writeMu sync.Mutex // serialises writes to conn
}

// New checks the configuration and returns a Hub. It fails (wrapping
// lane.ErrInvalid) on duplicate names, unknown dialects, a serial profile
// whose dialect has no framing, or a file profile without a folder.
func New(cfg Config) (*Hub, error) {
	if cfg.Clock == nil {
		cfg.Clock = lane.SystemClock{}
	}
	if cfg.Codec == nil {
		cfg.Codec = codec.Lookup
	}
	if cfg.Detect == nil {
		cfg.Detect = codec.Detect
	}
	if cfg.Open == nil {
		cfg.Open = func(ctx context.Context, path string, c transport.SerialConfig) (transport.Conn, error) {
			return transport.OpenSerial(ctx, path, c)
		}
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = 250 * time.Millisecond
	}
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = max(5*time.Second, cfg.BackoffMin)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	h := &Hub{cfg: cfg, subs: map[*subscriber]struct{}{}, wake: make(chan struct{})}
	names := map[string]bool{}
	for _, in := range cfg.Instruments {
		p := in.Profile
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("devices: %w", err)
		}
		ins := &instrument{name: in.Name, prof: p, port: in.Port, folder: in.Folder, notes: map[string]bool{}}
		if ins.name == "" {
			ins.name = p.Name
		}
		if names[ins.name] {
			return nil, lane.Invalidf("devices: instrument %q configured twice", ins.name)
		}
		names[ins.name] = true
		if ins.port == "" {
			ins.port = p.Port
		}
		if ins.folder == "" {
			ins.folder = p.Folder
		}
		if p.Dialect != "auto" {
			c, err := cfg.Codec(p.Dialect)
			if err != nil {
				return nil, fmt.Errorf("devices: instrument %q: %w", ins.name, err)
			}
			ins.codec = c
		}
		switch {
		case p.Serial() && (ins.codec == nil || ins.codec.Framing() == nil):
			return nil, lane.Invalidf("devices: instrument %q: dialect %q cannot be read from a serial link", ins.name, p.Dialect)
		case p.Transport == profile.TransportFile && ins.folder == "":
			return nil, lane.Invalidf("devices: instrument %q: no folder configured for its file drop", ins.name)
		case p.Transport == profile.TransportSerial && ins.port == "" && (len(p.USB) == 0 || cfg.Ports == nil):
			return nil, lane.Invalidf("devices: instrument %q: no serial port configured", ins.name)
		}
		ins.state = lane.InstrumentState{Profile: p.Name, Name: ins.name, State: StateDisconnected, Port: ins.port}
		if p.Transport == profile.TransportFile {
			ins.state.Port = ins.folder
		}
		h.ins = append(h.ins, ins)
	}
	return h, nil
}

// Run runs every instrument until ctx ends, then closes their links and
// returns nil. It returns an error only when called twice. When Run
// returns, each subscriber's channel receives the events already queued
// and is then closed.
func (h *Hub) Run(ctx context.Context) error {
	h.mu.Lock()
	if h.running || h.done {
		h.mu.Unlock()
		return errors.New("devices: hub already ran")
	}
	h.running = true
	h.mu.Unlock()

	var wg sync.WaitGroup
	for _, ins := range h.ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ins.prof.Transport == profile.TransportFile {
				h.runFolder(ctx, ins)
			} else {
				h.runSerial(ctx, ins)
			}
		}()
	}
	wg.Wait()

	h.mu.Lock()
	h.done = true
	subs := h.subs
	h.subs = map[*subscriber]struct{}{}
	h.mu.Unlock()
	for s := range subs {
		s.finish()
	}
	return nil
}

// States returns every instrument's current state, in configuration order.
func (h *Hub) States() []lane.InstrumentState {
	out := make([]lane.InstrumentState, 0, len(h.ins))
	for _, ins := range h.ins {
		ins.mu.Lock()
		out = append(out, ins.state)
		ins.mu.Unlock()
	}
	return out
}

// Rescan makes every instrument waiting to reconnect try again now (for
// example because a USB cable was plugged in).
func (h *Hub) Rescan() {
	h.mu.Lock()
	defer h.mu.Unlock()
	close(h.wake)
	h.wake = make(chan struct{})
}

func (h *Hub) wakeChan() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.wake
}

// ErrNoRequest is returned by Request for an instrument whose profile has
// no request command.
var ErrNoRequest = lane.Invalidf("instrument cannot be asked to send")

// nidekSD is the NIDEK "send data" command, framed like the RS command of
// the RT manual §7 (SOH C + 3 spaces, STX SD ETB, EOT). The ARK manuals say
// an ARK in NIDEK I/F mode starts sending on SD; the exact bytes for the
// ARK are inferred [U].
var nidekSD = []byte("\x01C   \x02SD\x17\x04")

// Request asks the named instrument to transmit (the SD command for
// NIDEK ARKs). It fails with lane.ErrNotFound for an unknown name,
// ErrNoRequest when the profile has no request command, and
// lane.ErrUnavailable when the instrument is not connected.
func (h *Hub) Request(name string) error {
	ins := h.find(name)
	if ins == nil {
		return fmt.Errorf("devices: instrument %q: %w", name, lane.ErrNotFound)
	}
	if ins.prof.Request != "sd" {
		return fmt.Errorf("devices: instrument %q: %w", name, ErrNoRequest)
	}
	ins.mu.Lock()
	conn := ins.conn
	ins.mu.Unlock()
	if conn == nil {
		return fmt.Errorf("devices: instrument %q: not connected: %w", name, lane.ErrUnavailable)
	}
	return ins.write(conn, nidekSD)
}

func (h *Hub) find(name string) *instrument {
	for _, ins := range h.ins {
		if ins.name == name {
			return ins
		}
	}
	return nil
}

func (ins *instrument) write(conn transport.Conn, b []byte) error {
	ins.writeMu.Lock()
	defer ins.writeMu.Unlock()
	_, err := conn.Write(b)
	return err
}

// update changes the instrument's state with f and publishes an EventState
// when anything changed.
func (h *Hub) update(ins *instrument, f func(*lane.InstrumentState)) {
	ins.mu.Lock()
	before := ins.state
	f(&ins.state)
	after := ins.state
	ins.mu.Unlock()
	if before != after {
		h.publish(Event{Kind: EventState, Instrument: ins.name, At: h.cfg.Clock.Now(), State: after})
	}
}

func (h *Hub) current(ins *instrument) lane.InstrumentState {
	ins.mu.Lock()
	defer ins.mu.Unlock()
	return ins.state
}

func (h *Hub) note(ins *instrument, msg string) {
	ins.mu.Lock()
	seen := ins.notes[msg]
	ins.notes[msg] = true
	ins.mu.Unlock()
	if !seen {
		h.cfg.Logf("devices: %s: %s", ins.name, msg)
	}
}

// emitCapture completes a decoded capture and publishes it.
func (h *Hub) emitCapture(ins *instrument, c lane.Capture, raw []byte, port string) {
	now := h.cfg.Clock.Now()
	c.ID = lane.CaptureID(lane.NewID())
	c.Raw = bytes.Clone(raw)
	c.SHA256 = sha256.Sum256(raw)
	c.ReceivedAt = now
	if c.Format == "" && ins.codec != nil {
		c.Format = ins.codec.Name()
	}
	c.Instrument.Profile = ins.prof.Name
	if c.Instrument.Vendor == "" {
		c.Instrument.Vendor = ins.prof.Vendor
	}
	if c.Instrument.Model == "" {
		c.Instrument.Model = ins.prof.Model
	}
	for i := range c.Readings {
		m := &c.Readings[i]
		m.ReceivedAt = now
		m.Instrument.Profile = ins.prof.Name
		if m.Instrument.Vendor == "" {
			m.Instrument = c.Instrument
		}
	}
	h.update(ins, func(s *lane.InstrumentState) {
		s.LastReading = now
		if s.State == StateError || s.State == StateReceiving {
			s.State = StateConnected
		}
		if port != "" {
			s.Port = port
		}
	})
	h.publish(Event{Kind: EventCapture, Instrument: ins.name, At: now, Capture: c, State: h.current(ins)})
}

// emitRejected publishes a refused frame or file and records the reason.
func (h *Hub) emitRejected(ins *instrument, raw []byte, reason string, degrade bool) {
	now := h.cfg.Clock.Now()
	h.update(ins, func(s *lane.InstrumentState) {
		s.LastError = reason
		if degrade && s.State != StateDisconnected {
			s.State = StateError
		}
	})
	h.cfg.Logf("devices: %s: rejected %d bytes: %s", ins.name, len(raw), reason)
	h.publish(Event{Kind: EventRejected, Instrument: ins.name, At: now, Raw: bytes.Clone(raw), Reason: reason, State: h.current(ins)})
}

// runFolder watches a file-drop instrument's folder until ctx ends.
func (h *Hub) runFolder(ctx context.Context, ins *instrument) {
	w, err := filedrop.New(filedrop.Config{
		Dir:     ins.folder,
		Pattern: ins.prof.Pattern,
		Stable:  ins.prof.Stable,
		Poll:    h.cfg.Poll,
		Seen:    h.cfg.Seen,
		Logf:    h.cfg.Logf,
		// The hub hands a file's reading to its subscribers, which store
		// it after Handle returns: the archived file is the copy that
		// survives a crash in between.
		KeepHandled: true,
		Handle: func(_ context.Context, f filedrop.File) error {
			return h.handleFile(ins, f)
		},
	})
	if err != nil { // New validated the profile; this is a programming error
		h.update(ins, func(s *lane.InstrumentState) { s.State, s.LastError = StateError, err.Error() })
		<-ctx.Done()
		return
	}
	_ = w.Run(ctx, func(err error) {
		if err == nil {
			// The folder is watched and readable: a drop folder has no
			// link, so that is what connected means for it.
			h.update(ins, func(s *lane.InstrumentState) {
				if s.State == StateDisconnected {
					s.State, s.LastError = StateConnected, ""
				}
			})
			return
		}
		msg := err.Error()
		if errors.Is(err, filedrop.ErrNoFolder) {
			msg = fmt.Sprintf("drop folder %s not found (share not mounted? USB memory not inserted?)", ins.folder)
		}
		h.update(ins, func(s *lane.InstrumentState) { s.State, s.LastError = StateDisconnected, msg })
	})
	h.update(ins, func(s *lane.InstrumentState) { s.State = StateDisconnected })
}

// handleFile decodes one stable drop file; an error sends the file to the
// error folder with the reason.
func (h *Hub) handleFile(ins *instrument, f filedrop.File) error {
	h.update(ins, func(s *lane.InstrumentState) {
		if s.State == StateDisconnected {
			s.State = StateConnected
		}
	})
	c := ins.codec
	if c == nil {
		var ok bool
		if c, ok = h.cfg.Detect(f.Data); !ok {
			err := errors.New("not an instrument export this lane can read")
			h.emitRejected(ins, f.Data, err.Error(), false)
			return err
		}
	}
	capt, err := decode(c, f.Data)
	if err != nil {
		h.emitRejected(ins, f.Data, err.Error(), false)
		return err
	}
	if capt.Format == "" {
		capt.Format = c.Name()
	}
	h.emitCapture(ins, capt, f.Data, "")
	return nil
}

// decode calls the codec, turning a panic (a codec bug) into an error so
// that no device input can take the hub down.
func decode(c codec.Codec, data []byte) (capt lane.Capture, err error) {
	defer func() {
		if r := recover(); r != nil {
			capt, err = lane.Capture{}, fmt.Errorf("%s decoder failed on this input (%v): %w", c.Name(), r, lane.ErrInvalid)
		}
	}()
	return c.Decode(data)
}
