package dcs

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/examlane/examlane/devices/codec"
	"github.com/examlane/examlane/lane"
)

// SessionConfig sets how the host answers and retries.
type SessionConfig struct {
	// Device, Vendor, Model identify the host in its ANS=INI answer
	// (DEV=, VEN=, MODEL=).
	Device, Vendor, Model string
	// InitRecords are added to ANS=INI (e.g. the formats the host
	// accepts).
	InitRecords []Record
	// AckTimeout is how long to wait for ACK/NAK after sending (default
	// 3 s).
	AckTimeout time.Duration
	// MaxSends is how many times one message is sent before giving up
	// (default 3).
	MaxSends int
	// Pad5 writes CRCs with five digits.
	Pad5 bool
}

// ActionKind is what the transport must do for an Action.
type ActionKind uint8

// Actions a Session asks for.
const (
	// ActWrite: write Action.Data to the port.
	ActWrite ActionKind = iota + 1
	// ActDeliver: a message arrived intact (already acknowledged):
	// Action.Msg, with its bytes in Action.Raw for Codec.Decode.
	ActDeliver
	// ActFailed: a message the host sent was never acknowledged, or came
	// back NAKed too often; Action.Err says which.
	ActFailed
)

// String names the action kind.
func (k ActionKind) String() string {
	return [...]string{"?", "write", "deliver", "failed"}[min(int(k), 3)]
}

// Action is one instruction for the transport.
type Action struct {
	Kind ActionKind
	Data []byte
	Msg  Message
	Raw  []byte
	Err  error
}

// Session is the pure state machine of the host side of a DCS link: it
// acknowledges each message from the device (ACK when intact, NAK when the
// CRC is wrong or the message was cut, so the device resends), answers
// REQ=INI with ANS=INI, and sends the host's own messages one at a time,
// resending on NAK or when no answer comes within AckTimeout. The
// transport passes every byte read to Feed, calls Tick from a ticker and
// performs the returned actions in order. A Session does no I/O and reads
// no clock; it is not safe for concurrent use.
type Session struct {
	cfg      SessionConfig
	framer   *codec.Framer
	queue    [][]byte
	inflight []byte
	sends    int
	deadline time.Time
	last     []byte // the last message delivered, to spot resends
}

// ErrNotAcknowledged wraps lane.ErrUnavailable for a message the device
// never acknowledged.
var ErrNotAcknowledged = fmt.Errorf("dcs: message not acknowledged: %w", lane.ErrUnavailable)

// NewSession returns a Session.
func NewSession(cfg SessionConfig) *Session {
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 3 * time.Second
	}
	if cfg.MaxSends <= 0 {
		cfg.MaxSends = 3
	}
	f, _ := codec.NewFramer(Spec)
	return &Session{cfg: cfg, framer: f}
}

// Feed takes bytes read from the port.
func (s *Session) Feed(p []byte, now time.Time) []Action {
	var out []Action
	for i := 0; i < len(p); i++ {
		b := p[i]
		if s.framer.Pending() == 0 && (b == ACK || b == NAK) {
			out = append(out, s.answer(b == ACK, now)...)
			continue
		}
		// Feed the run of bytes up to the next ACK/NAK outside a frame in
		// one call; frames cannot contain FS, so a frame ends inside it.
		j := i + 1
		for j < len(p) && p[j] != ACK && p[j] != NAK {
			j++
		}
		for _, fr := range s.framer.Write(p[i:j], now) {
			out = append(out, s.frame(fr)...)
		}
		i = j - 1
	}
	return append(out, s.next(now)...)
}

// Tick reports stalled incoming messages (NAK, so the device resends) and
// resends or gives up an unacknowledged outgoing one.
func (s *Session) Tick(now time.Time) []Action {
	var out []Action
	for _, fr := range s.framer.Expire(now) {
		out = append(out, s.frame(fr)...)
	}
	if s.inflight != nil && !now.Before(s.deadline) {
		out = append(out, s.retry(now, "no answer")...)
	}
	return append(out, s.next(now)...)
}

// Send queues a message from the host; it goes out at once when nothing
// else is waiting for an answer.
func (s *Session) Send(recs []Record, now time.Time) ([]Action, error) {
	msg, err := EncodeMessage(recs, s.cfg.Pad5)
	if err != nil {
		return nil, err
	}
	s.queue = append(s.queue, msg)
	return s.next(now), nil
}

// Idle reports whether no host message is waiting to be sent or
// acknowledged.
func (s *Session) Idle() bool { return s.inflight == nil && len(s.queue) == 0 }

func (s *Session) frame(fr codec.Frame) []Action {
	if fr.Err != nil {
		return []Action{{Kind: ActWrite, Data: []byte{NAK}}}
	}
	msg, err := ParseMessage(fr.Data)
	if err != nil {
		return []Action{{Kind: ActWrite, Data: []byte{NAK}}}
	}
	out := []Action{{Kind: ActWrite, Data: []byte{ACK}}}
	if bytes.Equal(fr.Data, s.last) {
		return out // our ACK was lost and the device sent it again
	}
	s.last = fr.Data
	out = append(out, Action{Kind: ActDeliver, Msg: msg, Raw: fr.Data})
	if req, ok := msg.Get("REQ"); ok && strings.EqualFold(strings.TrimSpace(req), "INI") {
		recs := []Record{{"ANS", "INI"}, {"STATUS", "0"}, {"DEV", s.cfg.Device}, {"VEN", s.cfg.Vendor}, {"MODEL", s.cfg.Model}}
		recs = append(recs, s.cfg.InitRecords...)
		if enc, err := EncodeMessage(recs, s.cfg.Pad5); err == nil {
			s.queue = append(s.queue, enc)
		} else {
			out = append(out, Action{Kind: ActFailed, Err: err})
		}
	}
	return out
}

// answer handles an ACK or NAK from the device.
func (s *Session) answer(ack bool, now time.Time) []Action {
	if s.inflight == nil {
		return nil // a stray acknowledgement
	}
	if ack {
		s.inflight = nil
		return s.next(now)
	}
	return s.retry(now, "NAK")
}

func (s *Session) retry(now time.Time, why string) []Action {
	if s.sends >= s.cfg.MaxSends {
		s.inflight = nil
		fail := Action{Kind: ActFailed, Err: fmt.Errorf("%w after %d sends (last: %s)", ErrNotAcknowledged, s.sends, why)}
		return append([]Action{fail}, s.next(now)...)
	}
	s.sends++
	s.deadline = now.Add(s.cfg.AckTimeout)
	return []Action{{Kind: ActWrite, Data: bytes.Clone(s.inflight)}}
}

func (s *Session) next(now time.Time) []Action {
	if s.inflight != nil || len(s.queue) == 0 {
		return nil
	}
	s.inflight, s.queue = s.queue[0], s.queue[1:]
	s.sends = 1
	s.deadline = now.Add(s.cfg.AckTimeout)
	return []Action{{Kind: ActWrite, Data: bytes.Clone(s.inflight)}}
}
