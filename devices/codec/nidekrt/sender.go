package nidekrt

import (
	"bytes"
	"fmt"
	"time"

	"github.com/examlane/examlane/devices/codec"
	"github.com/examlane/examlane/lane"
)

// RSFrame is the PC's request to send (manual §7: "SH C** SX RS EB ET",
// where the asterisks are spaces): 01 43 20 20 20 02 52 53 17 04.
var RSFrame = []byte{SOH, 'C', ' ', ' ', ' ', STX, 'R', 'S', ETB, EOT}

// SDFrame is the phoropter's answer that it is ready to receive
// ("SH CRL SX SD EB ET").
var SDFrame = []byte{SOH, 'C', 'R', 'L', STX, 'S', 'D', ETB, EOT}

// ErrNoSD reports that the phoropter never answered the RS request. Real
// RT-3100s are known not to answer and yet accept a frame sent directly,
// so the message points the technician at the direct mode.
var ErrNoSD = fmt.Errorf("the phoropter did not answer the send request (no SD); try the direct send mode: %w", lane.ErrUnavailable)

// Mode is how the PC delivers a frame to the phoropter.
type Mode uint8

// The three send modes seen in practice.
const (
	// ModeHandshake sends RS, waits for SD, then sends the frame (manual §7).
	ModeHandshake Mode = iota
	// ModeDirect sends the frame at once (works on RT-3100s that never
	// answer SD).
	ModeDirect
	// ModeRSThenSend sends RS, then the frame after SD or after a short
	// pause, whichever comes first.
	ModeRSThenSend
)

// String names the mode.
func (m Mode) String() string {
	switch m {
	case ModeHandshake:
		return "rs-sd-handshake"
	case ModeDirect:
		return "direct"
	case ModeRSThenSend:
		return "rs-then-send"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// StepKind is what the transport must do next.
type StepKind uint8

// Steps a Sender asks for.
const (
	// StepAssertDTR: raise DTR (the RT sends and receives nothing without
	// it).
	StepAssertDTR StepKind = iota + 1
	// StepWrite: write Step.Data to the port.
	StepWrite
	// StepWaitSD: keep reading, pass every byte to Receive, and call Tick
	// at Step.Until if nothing decided the matter before.
	StepWaitSD
	// StepDone: the frame has been handed to the port.
	StepDone
	// StepFailed: give up; Step.Err says why.
	StepFailed
)

// String names the step kind.
func (k StepKind) String() string {
	return [...]string{"?", "assert-dtr", "write", "wait-sd", "done", "failed"}[min(int(k), 5)]
}

// Step is one instruction for the transport.
type Step struct {
	Kind  StepKind
	Data  []byte    // StepWrite
	Until time.Time // StepWaitSD
	Err   error     // StepFailed
}

// SenderConfig tunes a Sender. Zero durations take the defaults.
type SenderConfig struct {
	Mode Mode
	// SDTimeout is how long ModeHandshake waits for SD (default 3 s).
	SDTimeout time.Duration
	// Pause is how long ModeRSThenSend waits before sending without SD
	// (default 500 ms).
	Pause time.Duration
}

// Sender is the pure state machine that delivers one PC → RT frame. The
// transport calls Start, performs the returned steps in order, passes
// every byte it reads to Receive and calls Tick when a wait runs out,
// performing whatever steps those return, until a StepDone or StepFailed.
// A Sender does no I/O and reads no clock, so every mode is testable
// without a port.
type Sender struct {
	cfg     SenderConfig
	frame   []byte
	framer  *codec.Framer
	started bool
	waiting bool
	until   time.Time
	done    bool
	err     error
}

// NewSender returns a Sender for frame (from Encode).
func NewSender(cfg SenderConfig, frame []byte) *Sender {
	if cfg.SDTimeout <= 0 {
		cfg.SDTimeout = 3 * time.Second
	}
	if cfg.Pause <= 0 {
		cfg.Pause = 500 * time.Millisecond
	}
	f, _ := codec.NewFramer(codec.FrameSpec{Start: []byte{SOH}, End: []byte{EOT}, MaxSize: 256, Mask7: true})
	return &Sender{cfg: cfg, frame: bytes.Clone(frame), framer: f}
}

// Start returns the first steps.
func (s *Sender) Start(now time.Time) []Step {
	if s.started {
		return nil
	}
	s.started = true
	steps := []Step{{Kind: StepAssertDTR}}
	switch s.cfg.Mode {
	case ModeDirect:
		return append(steps, s.send()...)
	case ModeHandshake:
		s.waiting, s.until = true, now.Add(s.cfg.SDTimeout)
	case ModeRSThenSend:
		s.waiting, s.until = true, now.Add(s.cfg.Pause)
	default:
		return append(steps, s.fail(fmt.Errorf("unknown send mode %v: %w", s.cfg.Mode, lane.ErrInvalid))...)
	}
	return append(steps, Step{Kind: StepWrite, Data: bytes.Clone(RSFrame)}, Step{Kind: StepWaitSD, Until: s.until})
}

// Receive takes bytes read from the port while waiting; an SD frame lets
// the frame go. Other frames (e.g. the RT printing a result) are ignored.
func (s *Sender) Receive(p []byte, now time.Time) []Step {
	if !s.waiting {
		return nil
	}
	for _, fr := range s.framer.Write(p, now) {
		if fr.Err == nil && isSD(fr.Data) {
			s.waiting = false
			return s.send()
		}
	}
	return nil
}

// isSD reports whether a frame is the RT's "ready to receive" answer.
func isSD(frame []byte) bool {
	i := bytes.IndexByte(frame, STX)
	return i >= 0 && bytes.HasPrefix(frame[i+1:], []byte("SD"))
}

// Tick tells the Sender the time; a wait that has run out ends: the
// handshake fails with ErrNoSD, RS-then-send sends the frame anyway.
func (s *Sender) Tick(now time.Time) []Step {
	if !s.waiting || now.Before(s.until) {
		return nil
	}
	s.waiting = false
	if s.cfg.Mode == ModeHandshake {
		return s.fail(ErrNoSD)
	}
	return s.send()
}

// Result reports whether the Sender has finished, and how.
func (s *Sender) Result() (done bool, err error) { return s.done || s.err != nil, s.err }

func (s *Sender) send() []Step {
	s.done = true
	return []Step{{Kind: StepWrite, Data: bytes.Clone(s.frame)}, {Kind: StepDone}}
}

func (s *Sender) fail(err error) []Step {
	s.err = err
	return []Step{{Kind: StepFailed, Err: err}}
}
