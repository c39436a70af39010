package simulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/examlane/examlane/devices/codec"
	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/devices/transport"
)

// Faults are transmission problems the simulator injects. Each applies to
// every frame (or to every Every-th frame when Every > 1).
type Faults struct {
	// Noise sends this many bytes of line noise before each frame. Noise
	// bytes never look like control characters, even after masking to 7
	// bits, so they cannot open a frame.
	Noise int
	// Split writes frames in chunks of 1..Split bytes with a short pause
	// between them.
	Split int
	// DelayMidFrame pauses this long in the middle of each frame; longer
	// than the dialect's inter-byte limit, the receiver must drop it.
	DelayMidFrame time.Duration
	// Drop cuts each frame short: its second half is never sent (cable
	// pulled, instrument reset mid-print). The receiver sees the stump end
	// when the next frame starts or when its inter-byte limit passes.
	Drop bool
	// BadChecksum sends the frame with a wrong checksum. With ACK/NAK the
	// resend after the NAK is correct. Dialects without a checksum
	// (nidek-rt) refuse this fault.
	BadChecksum bool
	// Garble sends random bytes of the frame's length instead of the frame,
	// as a receiver set to the wrong baud rate would see it.
	Garble bool
	// Every applies the faults to every Every-th frame only (0 or 1: all).
	Every int
}

// Names lists the active faults.
func (f Faults) Names() []string {
	var n []string
	if f.Noise > 0 {
		n = append(n, "noise")
	}
	if f.Split > 0 {
		n = append(n, "split")
	}
	if f.DelayMidFrame > 0 {
		n = append(n, "delay-mid-frame")
	}
	if f.Drop {
		n = append(n, "drop")
	}
	if f.BadChecksum {
		n = append(n, "bad-checksum")
	}
	if f.Garble {
		n = append(n, "garble")
	}
	return n
}

// Expectations for a transmission: what a correct receiver must do.
const (
	ExpectIntact   = "intact"   // decode it, every reading as sent
	ExpectRejected = "rejected" // refuse it with a message, file nothing
)

// Sent describes one transmission.
type Sent struct {
	Seq     int // measurement number, from 1
	Attempt int // 1, or more for resends after a NAK
	// Frame is the measurement as the instrument meant it; Wire is what
	// was written.
	Frame  []byte
	Wire   []byte
	Faults []string
	Expect string
	// Name is the file name (file drops).
	Name string
	// Note says how an ACK/NAK exchange went, when there was one.
	Note string
}

// Config configures a Simulator.
type Config struct {
	Profile profile.Profile
	Source  Source
	// Link is the serial side (a PTY's Master, or a transport.Conn for a
	// real port). Nil for file-drop instruments.
	Link io.ReadWriter
	// Folder receives files for file-drop instruments.
	Folder string
	Faults Faults
	// Seed drives noise, split sizes and garbage.
	Seed uint64
	// NoSD makes an RT ignore RS requests, like RT-3100s seen in practice.
	NoSD bool
	// Interval sends a measurement this often; zero sends only on Measure.
	Interval time.Duration
	// Count stops sending after this many measurements (0: no limit); Run
	// goes on answering the lane until ctx ends.
	Count int
	// ACKTimeout is how long an ACK/NAK instrument waits for the answer
	// (default 2 s); Resends bounds the resends after a NAK (default 3).
	ACKTimeout time.Duration
	Resends    int
	// OnSent is called after every transmission (instead of a log line);
	// OnReceived with every frame the lane sent (RS, SD, a prescription).
	// Both are called from Run's goroutine.
	OnSent     func(Sent)
	OnReceived func(frame []byte, what string)
	Logf       func(format string, args ...any)
}

// Simulator is one simulated instrument. Measure may be called from any
// goroutine; Run owns the link.
type Simulator struct {
	cfg      Config
	syn      *Synth
	trigger  chan struct{}
	interB   time.Duration // the receiver's inter-byte limit
	seq      int
	rxFramer *codec.Framer
	dsrNoted bool

	mu      sync.Mutex
	running bool
}

// New checks cfg and returns a Simulator.
func New(cfg Config) (*Simulator, error) {
	p := cfg.Profile
	if cfg.Source == nil {
		return nil, errors.New("simulator: no source of measurements")
	}
	file := p.Transport == profile.TransportFile
	if file && cfg.Folder == "" {
		return nil, errors.New("simulator: file-drop instrument without a folder")
	}
	if !file && cfg.Link == nil {
		return nil, errors.New("simulator: serial instrument without a link")
	}
	if cfg.ACKTimeout <= 0 {
		cfg.ACKTimeout = 2 * time.Second
	}
	if cfg.Resends <= 0 {
		cfg.Resends = 3
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &Simulator{cfg: cfg, syn: NewSynth(cfg.Seed ^ 0x5eed), trigger: make(chan struct{}, 64)}
	if c, err := codec.Lookup(p.Dialect); err == nil && c.Framing() != nil {
		spec := c.Framing()
		s.interB = spec.InterByte
	}
	if p.InterByte > 0 && p.Dialect != "dcs" { // as the lane: DCS keeps its standard timing
		s.interB = p.InterByte
	}
	if cfg.Faults.BadChecksum && (p.Dialect == "nidek-rt" || file) {
		return nil, fmt.Errorf("simulator: --bad-checksum: %s transmissions carry no checksum", p.Dialect)
	}
	rx, err := codec.NewFramer(codec.FrameSpec{Start: []byte{soh}, End: []byte{eot}, MaxSize: 4096, InterByte: time.Second, Mask7: true})
	if err != nil {
		return nil, err
	}
	s.rxFramer = rx
	return s, nil
}

// Measure asks for one reading to go out, as pressing PRINT (or the
// measure button of demo mode) does. It never blocks; triggers beyond a
// backlog of 64 are dropped.
func (s *Simulator) Measure() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// Run sends measurements (on Measure, on the Interval, on an SD request)
// and answers the lane's requests until ctx ends; it returns nil then, or
// the error that broke the link or the folder.
func (s *Simulator) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("simulator: already running")
	}
	s.running = true
	s.mu.Unlock()

	var tick <-chan time.Time
	if s.cfg.Interval > 0 {
		t := time.NewTicker(s.cfg.Interval)
		defer t.Stop()
		tick = t.C
	}
	if s.cfg.Profile.Transport == profile.TransportFile {
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-s.trigger:
			case <-tick:
			}
			if err := s.sendFile(); err != nil {
				return err
			}
		}
	}

	in := make(chan []byte, 16)
	readErr := make(chan error, 1)
	readCtx, stopRead := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // owned by Run: ends with readCtx
		defer wg.Done()
		readErr <- s.readLoop(readCtx, in)
	}()
	defer func() { stopRead(); wg.Wait() }()

	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("simulator: link: %w", err)
		case b := <-in:
			s.received(b)
		case <-s.trigger:
			if err := s.sendSerial(ctx, in); err != nil {
				return err
			}
		case <-tick:
			if err := s.sendSerial(ctx, in); err != nil {
				return err
			}
		}
	}
}

// readLoop reads the link into in until ctx ends or the link fails.
func (s *Simulator) readLoop(ctx context.Context, in chan<- []byte) error {
	type deadliner interface{ SetReadDeadline(time.Time) error }
	d, canDeadline := s.cfg.Link.(deadliner)
	if c, ok := s.cfg.Link.(transport.Conn); ok {
		c.SetReadTimeout(100 * time.Millisecond)
	}
	buf := make([]byte, 1024)
	for ctx.Err() == nil {
		if canDeadline {
			d.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		}
		n, err := s.cfg.Link.Read(buf)
		if n > 0 {
			select {
			case in <- bytes.Clone(buf[:n]):
			case <-ctx.Done():
				return nil
			}
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, transport.ErrReadTimeout) {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}

// received handles bytes the lane sent while no ACK was awaited.
func (s *Simulator) received(b []byte) {
	for _, fr := range s.rxFramer.Write(b, time.Now()) {
		if fr.Err != nil {
			continue
		}
		f := fr.Data
		switch {
		case bytes.Contains(f, []byte{stx, 'R', 'S', etb}) && f[1] == 'C':
			if s.cfg.OnReceived != nil {
				s.cfg.OnReceived(f, "rs")
			}
			if !s.cfg.Profile.CanReceive() {
				continue
			}
			if s.cfg.NoSD {
				s.cfg.Logf("simulator: the lane sent RS; not answering (like an RT-3100)")
				continue
			}
			s.cfg.Logf("simulator: the lane sent RS; answering SD")
			if _, err := s.cfg.Link.Write(sdFrame); err != nil {
				s.cfg.Logf("simulator: writing SD: %v", err)
			}
		case bytes.Contains(f, []byte{stx, 'S', 'D', etb}) && f[1] == 'C':
			if s.cfg.OnReceived != nil {
				s.cfg.OnReceived(f, "sd")
			}
			if s.cfg.Profile.Request == "sd" {
				s.cfg.Logf("simulator: the lane sent SD; measuring")
				s.Measure()
			}
		case f[1] == 'D':
			if s.cfg.OnReceived != nil {
				s.cfg.OnReceived(f, "data")
			}
			s.cfg.Logf("simulator: received %d bytes of D-block data from the lane", len(f))
		}
	}
}

// sdFrame is the RT's "ready to receive" answer: SOH "CRL" STX "SD" ETB EOT.
var sdFrame = []byte{soh, 'C', 'R', 'L', stx, 'S', 'D', etb, eot}

// faulty reports whether the current frame gets the faults.
func (s *Simulator) faulty() bool {
	e := s.cfg.Faults.Every
	return e <= 1 || s.seq%e == 0
}

// exhausted reports whether Count measurements were sent.
func (s *Simulator) exhausted() bool { return s.cfg.Count > 0 && s.seq >= s.cfg.Count }

// next takes the next measurement from the source, numbers it and returns
// the faults it goes out with; ok is false once Count were sent.
func (s *Simulator) next() (m Measurement, f Faults, ok bool, err error) {
	if s.exhausted() {
		return m, f, false, nil
	}
	if m, err = s.cfg.Source.Next(); err != nil {
		return m, f, false, err
	}
	s.seq++
	if s.faulty() {
		f = s.cfg.Faults
	}
	return m, f, true, nil
}

func (s *Simulator) sendSerial(ctx context.Context, in <-chan []byte) error {
	m, f, ok, err := s.next()
	if !ok {
		return err
	}
	s.waitDSR(ctx)
	ackNak := s.cfg.Profile.Handshake == profile.HandshakeACKNAK
	for attempt := 1; attempt <= 1+s.cfg.Resends; attempt++ {
		af := f
		if attempt > 1 {
			af = Faults{} // the resend of a NAKed frame goes out clean
		}
		sent, err := s.transmit(ctx, m, af, attempt)
		if err != nil {
			return err
		}
		if !ackNak {
			s.report(sent)
			return nil
		}
		answer := s.awaitAnswer(ctx, in)
		sent.Note = answer
		if answer == "nak" && sent.Expect == ExpectIntact {
			sent.Note = "nak (a correct frame was refused)"
		}
		s.report(sent)
		if answer != "nak" {
			return nil
		}
	}
	s.cfg.Logf("simulator: giving up on measurement %d after %d NAKs", s.seq, s.cfg.Resends+1)
	return nil
}

func (s *Simulator) report(sent Sent) {
	if s.cfg.OnSent != nil {
		s.cfg.OnSent(sent)
		return
	}
	s.cfg.Logf("simulator: sent measurement %d (attempt %d, %d bytes, faults %v): expect %s %s",
		sent.Seq, sent.Attempt, len(sent.Wire), sent.Faults, sent.Expect, sent.Note)
}

// awaitAnswer waits for ACK or NAK; it returns "ack", "nak" or "timeout".
func (s *Simulator) awaitAnswer(ctx context.Context, in <-chan []byte) string {
	t := time.NewTimer(s.cfg.ACKTimeout)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return "timeout"
		case <-t.C:
			return "timeout"
		case b := <-in:
			for _, c := range b {
				switch c {
				case 0x06:
					return "ack"
				case 0x15:
					return "nak"
				}
			}
		}
	}
}

// waitDSR holds a transmission until the lane raises DTR (our DSR) on a
// link with modem lines, for DTR/DSR profiles; ptys have none.
func (s *Simulator) waitDSR(ctx context.Context) {
	c, ok := s.cfg.Link.(transport.Conn)
	if !ok || s.cfg.Profile.Handshake != profile.HandshakeDTRDSR {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		st, err := c.ModemStatus()
		if err != nil {
			if !s.dsrNoted {
				s.dsrNoted = true
				s.cfg.Logf("simulator: cannot see the lane's DTR (%v); sending without the DTR/DSR handshake", err)
			}
			return
		}
		if st.DSR {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.cfg.Logf("simulator: the lane has not raised DTR; sending anyway")
}

// transmit writes one attempt with faults applied.
func (s *Simulator) transmit(ctx context.Context, m Measurement, f Faults, attempt int) (Sent, error) {
	sent := Sent{Seq: s.seq, Attempt: attempt, Frame: m.Frame, Faults: f.Names(), Expect: ExpectIntact, Name: m.Name}
	wire := m.Frame
	switch {
	case f.Garble:
		wire = s.syn.Bytes(len(m.Frame))
		sent.Expect = ExpectRejected
	case f.BadChecksum && m.BadChecksum != nil:
		wire = m.BadChecksum
		sent.Expect = ExpectRejected
	}
	if f.Drop {
		wire = wire[:len(wire)/2]
		sent.Expect = ExpectRejected
	}
	if f.DelayMidFrame > 0 && s.interB > 0 && f.DelayMidFrame >= s.interB {
		sent.Expect = ExpectRejected
	}
	var out []byte
	if f.Noise > 0 {
		noise := s.noise(f.Noise)
		if err := s.write(ctx, s.cfg.Link, noise, Faults{Split: f.Split}); err != nil {
			return sent, err
		}
		out = append(out, noise...)
	}
	if err := s.write(ctx, s.cfg.Link, wire, f); err != nil {
		return sent, err
	}
	sent.Wire = append(out, wire...)
	return sent, nil
}

// noise returns n bytes that cannot be taken for control characters, even
// when a 7-bit receiver strips bit 7.
func (s *Simulator) noise(n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		b := byte(s.syn.IntN(256))
		if low := b & 0x7f; low >= 0x20 && low != 0x7f {
			out = append(out, b)
		}
	}
	return out
}

// write sends b with Split chunks and a DelayMidFrame pause.
func (s *Simulator) write(ctx context.Context, w io.Writer, b []byte, f Faults) error {
	half := len(b) / 2
	for off := 0; off < len(b); {
		n := len(b) - off
		if f.Split > 0 {
			n = min(n, 1+s.syn.IntN(f.Split))
		}
		if f.DelayMidFrame > 0 && off < half && off+n > half {
			n = half - off
		}
		if _, err := w.Write(b[off : off+n]); err != nil {
			return fmt.Errorf("simulator: write: %w", err)
		}
		off += n
		if f.DelayMidFrame > 0 && off == half {
			sleep(ctx, f.DelayMidFrame)
		} else if f.Split > 0 && off < len(b) {
			sleep(ctx, time.Millisecond)
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// sendFile writes one export into the folder, slowly when Split or
// DelayMidFrame ask for it (a copy in progress).
func (s *Simulator) sendFile() error {
	m, f, ok, err := s.next()
	if !ok {
		return err
	}
	name := m.Name
	if name == "" {
		name = fmt.Sprintf("measurement-%04d.xml", s.seq)
	}
	sent := Sent{Seq: s.seq, Attempt: 1, Frame: m.Frame, Faults: f.Names(), Expect: ExpectIntact, Name: name}
	data := m.Frame
	if f.Garble {
		data = s.syn.Bytes(len(data))
		sent.Expect = ExpectRejected
	}
	if f.Drop {
		data = data[:len(data)/2]
		sent.Expect = ExpectRejected
	}
	if err := os.MkdirAll(s.cfg.Folder, 0o755); err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	fh, err := os.OpenFile(filepath.Join(s.cfg.Folder, name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	werr := s.write(context.Background(), fh, data, Faults{Split: f.Split, DelayMidFrame: f.DelayMidFrame})
	if err := errors.Join(werr, fh.Close()); err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	sent.Wire = data
	s.report(sent)
	return nil
}
