package devices

import (
	"time"

	"github.com/examlane/examlane/devices/codec"
	"github.com/examlane/examlane/devices/codec/dcs"
	"github.com/examlane/examlane/devices/profile"
)

// Acknowledgement bytes of ACK/NAK dialects (DCS, Haag-Streit).
const (
	ack = 0x06
	nak = 0x15
)

// protocol is a dialect's conversation on a link: it cuts frames and says
// what to answer. It is used by one goroutine.
type protocol interface {
	feed(p []byte, now time.Time) step
	tick(now time.Time) step
	flush() step
	pending() int
}

// step is what a protocol decided after some bytes or a tick.
type step struct {
	writes [][]byte     // answers to send, in order
	events []frameEvent // in stream order
}

// frameEvent is one thing seen in the stream: noise bytes outside any
// frame (noise > 0); a frame to decode (raw, err == nil); an abandoned or
// refused frame (err set); session traffic that is only logged (note).
type frameEvent struct {
	raw   []byte
	err   error
	note  string
	noise int
}

// noiseCounter gathers bytes outside frames into noise events.
type noiseCounter struct{ n int }

func (c *noiseCounter) add(b byte) {
	if b != '\r' && b != '\n' && b != ack && b != nak { // line ends and answers are not noise
		c.n++
	}
}

func (c *noiseCounter) flush(st *step) {
	if c.n > 0 {
		st.events = append(st.events, frameEvent{noise: c.n})
		c.n = 0
	}
}

func newProtocol(ins *instrument, spec codec.FrameSpec) (protocol, error) {
	f, err := codec.NewFramer(spec)
	if err != nil {
		return nil, err
	}
	if ins.prof.Dialect == dcs.Name {
		return &dcsProtocol{s: dcs.NewSession(dcs.SessionConfig{Device: "LANE", Vendor: "EXAMLANE", Model: "examlane"}), mirror: f}, nil
	}
	return &plainProtocol{f: f, ackNak: ins.prof.Handshake == profile.HandshakeACKNAK, codec: ins.codec}, nil
}

// plainProtocol frames with the dialect's framer; with ackNak it answers
// each frame ACK when it decodes and NAK otherwise.
type plainProtocol struct {
	f      *codec.Framer
	ackNak bool
	codec  codec.Codec
}

// feed passes the bytes one at a time so that noise between frames is
// told apart from the frames, in order.
func (p *plainProtocol) feed(b []byte, now time.Time) step {
	var st step
	var noise noiseCounter
	for i := range b {
		before := p.f.Pending()
		frames := p.f.Write(b[i:i+1], now)
		if len(frames) == 0 && before == 0 && p.f.Pending() == 0 {
			noise.add(b[i])
			continue
		}
		noise.flush(&st)
		p.frames(&st, frames)
	}
	noise.flush(&st)
	return st
}

func (p *plainProtocol) tick(now time.Time) step {
	var st step
	p.frames(&st, p.f.Expire(now))
	return st
}

func (p *plainProtocol) flush() step {
	var st step
	p.frames(&st, p.f.Flush())
	return st
}

func (p *plainProtocol) pending() int { return p.f.Pending() }

func (p *plainProtocol) frames(st *step, frames []codec.Frame) {
	for _, fr := range frames {
		st.events = append(st.events, frameEvent{raw: fr.Data, err: fr.Err})
		if p.ackNak {
			answer := byte(ack)
			if fr.Err != nil {
				answer = nak
			} else if _, err := decode(p.codec, fr.Data); err != nil {
				answer = nak
			}
			st.writes = append(st.writes, []byte{answer})
		}
	}
}

// dcsProtocol runs the DCS session (ACK/NAK, REQ=INI answers, resend
// detection) and mirrors its framing to learn why a message was refused
// and where noise lies: the session NAKs without saying why; the mirror
// framer and the message parser give the reason and the bytes. The
// session is fed up to each frame end the mirror sees, so both cut the
// stream at the same bytes and events stay in stream order.
type dcsProtocol struct {
	s      *dcs.Session
	mirror *codec.Framer
	why    []frameEvent // refusals seen by the mirror, not yet matched to a NAK
}

func (p *dcsProtocol) feed(b []byte, now time.Time) step {
	var st step
	var noise noiseCounter
	start := 0
	for i := range b {
		before := p.mirror.Pending()
		frames := p.mirror.Write(b[i:i+1], now)
		if len(frames) == 0 && before == 0 && p.mirror.Pending() == 0 {
			noise.add(b[i])
			continue
		}
		if len(frames) == 0 {
			continue
		}
		noise.flush(&st)
		p.learn(frames)
		p.actions(&st, p.s.Feed(b[start:i+1], now))
		start = i + 1
	}
	noise.flush(&st)
	if start < len(b) {
		p.actions(&st, p.s.Feed(b[start:], now))
	}
	return st
}

func (p *dcsProtocol) tick(now time.Time) step {
	var st step
	p.learn(p.mirror.Expire(now))
	p.actions(&st, p.s.Tick(now))
	return st
}

func (p *dcsProtocol) flush() step {
	var st step
	for _, fr := range p.mirror.Flush() {
		if fr.Err != nil {
			st.events = append(st.events, frameEvent{raw: fr.Data, err: fr.Err})
		}
	}
	return st
}

func (p *dcsProtocol) pending() int { return p.mirror.Pending() }

// learn records why the mirror refused frames.
func (p *dcsProtocol) learn(frames []codec.Frame) {
	for _, fr := range frames {
		if fr.Err != nil {
			p.why = append(p.why, frameEvent{raw: fr.Data, err: fr.Err})
		} else if _, err := dcs.ParseMessage(fr.Data); err != nil {
			p.why = append(p.why, frameEvent{raw: fr.Data, err: err})
		}
	}
}

func (p *dcsProtocol) actions(st *step, actions []dcs.Action) {
	for _, a := range actions {
		switch a.Kind {
		case dcs.ActWrite:
			st.writes = append(st.writes, a.Data)
			if len(a.Data) == 1 && a.Data[0] == nak {
				ev := frameEvent{err: errRefused}
				if len(p.why) > 0 {
					ev, p.why = p.why[0], p.why[1:]
				}
				st.events = append(st.events, ev)
			}
		case dcs.ActDeliver:
			if _, req := a.Msg.Get("REQ"); req {
				st.events = append(st.events, frameEvent{note: "DCS session request answered"})
				continue
			}
			if _, ans := a.Msg.Get("ANS"); ans {
				st.events = append(st.events, frameEvent{note: "DCS session answer received"})
				continue
			}
			st.events = append(st.events, frameEvent{raw: a.Raw})
		case dcs.ActFailed:
			st.events = append(st.events, frameEvent{note: "DCS: " + a.Err.Error()})
		}
	}
}

// errRefused explains a NAK whose cause the mirror did not see.
var errRefused = errorString("message refused (bad CRC or cut short); NAK sent so the instrument sends it again")

type errorString string

func (e errorString) Error() string { return string(e) }
