package codec

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultMaxFrame is the frame size cap used when FrameSpec.MaxSize is zero.
const DefaultMaxFrame = 64 << 10

// Reasons a Framer abandons a frame. Frame.Err wraps exactly one of them, so
// the hub can tell the technician "frame never finished" and why.
var (
	// ErrOverflow: the frame grew past FrameSpec.MaxSize without ending.
	ErrOverflow = errors.New("frame too long")
	// ErrTimeout: the frame stalled (inter-byte gap) or took too long in
	// total (whole-frame limit).
	ErrTimeout = errors.New("frame timed out")
	// ErrIncomplete: a new frame started before this one ended, or the input
	// ended (Flush) in the middle of a frame.
	ErrIncomplete = errors.New("frame never finished")
)

// Frame is one frame cut from a byte stream. Data holds the bytes from the
// start sequence through the end sequence and any trailer (CR/LF after the
// frame are not included). Err is nil for a complete frame; for an abandoned
// one it wraps ErrOverflow, ErrTimeout or ErrIncomplete and Data holds what
// had arrived (at most MaxSize bytes).
type Frame struct {
	Data []byte
	Err  error
}

type framerState uint8

const (
	stateHunt    framerState = iota // discarding noise, looking for Start
	stateBody                       // inside a frame, looking for End
	stateTrailer                    // End seen, collecting trailer bytes
)

// Framer cuts frames out of a byte stream according to a FrameSpec. It is a
// pure state machine: the caller passes the bytes it read together with the
// time they arrived, and calls Expire from a ticker so that stalled frames
// are reported even when no more bytes come. Memory is bounded by MaxSize
// whatever arrives. A Framer is not safe for concurrent use.
type Framer struct {
	start, end []byte
	trailer    int
	trailerSet string
	max        int
	interByte  time.Duration
	whole      time.Duration
	mask7      bool

	state   framerState
	match   int    // hunting: bytes of start matched so far
	buf     []byte // current frame
	scratch []byte // masked copy of the bytes being written
	got     int    // trailer bytes collected
	started time.Time
	last    time.Time
}

// NewFramer returns a Framer for spec. A spec without a start or end
// sequence, or with negative sizes, is a programming error and returns an
// error.
func NewFramer(spec FrameSpec) (*Framer, error) {
	if len(spec.Start) == 0 || len(spec.End) == 0 {
		return nil, errors.New("codec: frame spec needs a start and an end sequence")
	}
	if spec.Trailer < 0 || spec.MaxSize < 0 {
		return nil, errors.New("codec: frame spec has a negative size")
	}
	max := spec.MaxSize
	if max == 0 {
		max = DefaultMaxFrame
	}
	if max < len(spec.Start)+len(spec.End) {
		return nil, fmt.Errorf("codec: frame spec max size %d is smaller than start+end", max)
	}
	return &Framer{
		start:      bytes.Clone(spec.Start),
		end:        bytes.Clone(spec.End),
		trailer:    spec.Trailer,
		trailerSet: spec.TrailerChars,
		max:        max,
		interByte:  spec.InterByte,
		whole:      spec.Whole,
		mask7:      spec.Mask7,
	}, nil
}

// Write feeds bytes that arrived at now and returns the frames they
// completed or abandoned, in stream order. A frame already stalled at now is
// reported (as by Expire) before the new bytes are looked at.
func (f *Framer) Write(p []byte, now time.Time) []Frame {
	out := f.Expire(now)
	if len(p) == 0 {
		return out
	}
	f.last = now
	if f.mask7 {
		f.scratch = append(f.scratch[:0], p...)
		for i := range f.scratch {
			f.scratch[i] &= 0x7f
		}
		p = f.scratch
	}
	single := len(f.start) == 1 && len(f.end) == 1
	for i := 0; i < len(p); {
		if single {
			switch f.state {
			case stateHunt:
				// Skip noise up to the next start byte in one go.
				j := bytes.IndexByte(p[i:], f.start[0])
				if j < 0 {
					i = len(p)
					continue
				}
				i += j
			case stateBody:
				// Copy the run of ordinary bytes in one go, up to the cap.
				lim := min(len(p), i+f.max-len(f.buf))
				j := i
				for j < lim && p[j] != f.start[0] && p[j] != f.end[0] {
					j++
				}
				if j > i {
					f.buf = append(f.buf, p[i:j]...)
					i = j
					continue
				}
			}
		}
		out = f.step(p[i], now, out)
		i++
	}
	if cap(f.scratch) > 64<<10 {
		f.scratch = nil // do not keep a huge read's buffer
	}
	return out
}

// Expire reports the frame in progress if it has stalled: no byte for
// InterByte, or not finished Whole after it started. A stalled frame whose
// end sequence has arrived (only its optional trailer is missing) is
// reported complete; otherwise it is abandoned with ErrTimeout.
func (f *Framer) Expire(now time.Time) []Frame {
	if f.state == stateHunt {
		return nil
	}
	var reason string
	switch {
	case f.interByte > 0 && now.Sub(f.last) >= f.interByte:
		reason = fmt.Sprintf("no byte for %v", f.interByte)
	case f.whole > 0 && now.Sub(f.started) >= f.whole:
		reason = fmt.Sprintf("not finished within %v", f.whole)
	default:
		return nil
	}
	if f.state == stateTrailer {
		return []Frame{f.finish(nil)}
	}
	return []Frame{f.finish(fmt.Errorf("%w: %s after %d bytes", ErrTimeout, reason, len(f.buf)))}
}

// Flush ends the stream (end of file, port closed): a frame in progress is
// reported complete if its end sequence has arrived and abandoned with
// ErrIncomplete otherwise. The Framer is then ready for a new stream.
func (f *Framer) Flush() []Frame {
	f.match = 0
	switch f.state {
	case stateTrailer:
		return []Frame{f.finish(nil)}
	case stateBody:
		return []Frame{f.finish(fmt.Errorf("%w: input ended after %d bytes", ErrIncomplete, len(f.buf)))}
	}
	return nil
}

// Pending reports how many bytes of an unfinished frame the Framer holds:
// never more than MaxSize plus Trailer.
func (f *Framer) Pending() int {
	if f.state == stateHunt {
		return 0
	}
	return len(f.buf)
}

// finish hands the current frame out and returns to hunting.
func (f *Framer) finish(err error) Frame {
	fr := Frame{Data: f.buf, Err: err}
	f.buf = nil
	f.got = 0
	f.match = 0
	f.state = stateHunt
	return fr
}

// begin starts a new frame whose start sequence has just been matched.
func (f *Framer) begin(now time.Time) {
	f.buf = make([]byte, 0, 256)
	f.buf = append(f.buf, f.start...)
	f.state = stateBody
	f.match = 0
	f.got = 0
	f.started = now
}

func (f *Framer) step(b byte, now time.Time, out []Frame) []Frame {
	switch f.state {
	case stateHunt:
		if f.advanceMatch(b) {
			f.begin(now)
		}
	case stateBody:
		f.buf = append(f.buf, b)
		n := len(f.buf)
		switch {
		case n > f.max:
			f.buf = f.buf[:f.max]
			out = append(out, f.finish(fmt.Errorf("%w: over %d bytes without an end", ErrOverflow, f.max)))
		case n >= len(f.start)+len(f.end) && hasSuffix(f.buf, f.end):
			if f.trailer == 0 {
				return append(out, f.finish(nil))
			}
			f.state = stateTrailer
		case n > len(f.start) && hasSuffix(f.buf, f.start):
			// A new frame began before this one ended.
			f.buf = f.buf[:n-len(f.start)]
			out = append(out, f.finish(fmt.Errorf("%w: a new frame started after %d bytes", ErrIncomplete, len(f.buf))))
			f.begin(now)
		}
	case stateTrailer:
		if b == '\r' || b == '\n' || b == f.start[0] || (f.trailerSet != "" && strings.IndexByte(f.trailerSet, b) < 0) {
			out = append(out, f.finish(nil))
			if b != '\r' && b != '\n' {
				return f.step(b, now, out)
			}
			return out
		}
		f.buf = append(f.buf, b)
		f.got++
		if f.got == f.trailer {
			return append(out, f.finish(nil))
		}
	}
	return out
}

// advanceMatch feeds b to the start-sequence matcher and reports whether the
// whole start sequence has now been seen.
func (f *Framer) advanceMatch(b byte) bool {
	if len(f.start) == 1 {
		return b == f.start[0]
	}
	// Longest prefix of start that is a suffix of (matched prefix + b).
	cand := append(append(make([]byte, 0, len(f.start)), f.start[:f.match]...), b)
	for k := len(cand); k > 0; k-- {
		if bytes.Equal(cand[len(cand)-k:], f.start[:k]) {
			f.match = k
			if k == len(f.start) {
				f.match = 0
				return true
			}
			return false
		}
	}
	f.match = 0
	return false
}

// hasSuffix is bytes.HasSuffix with a fast path for one-byte sequences.
func hasSuffix(b, seq []byte) bool {
	if len(seq) == 1 {
		return len(b) > 0 && b[len(b)-1] == seq[0]
	}
	return bytes.HasSuffix(b, seq)
}
