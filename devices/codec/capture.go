package codec

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
)

// Method tokens the codecs put in lane.Measurement.Method, separated by
// "; ". The report reads MethodNear to print "distance": "near" on a
// refraction; the others are for people.
const (
	MethodNear      = "near"            // a near refraction (reading distance)
	MethodNight     = "night"           // NIDEK night-time data (lower-case source)
	MethodMedian    = "computed median" // representative computed by Examlane, not sent by the device
	MethodWithAdd   = "with add"        // VA measured through the near addition
	MethodWavefront = "wavefront"
)

// AddMethod appends a token to m.Method.
func AddMethod(m *lane.Measurement, token string) {
	if HasMethod(*m, token) {
		return
	}
	if m.Method == "" {
		m.Method = token
		return
	}
	m.Method += "; " + token
}

// HasMethod reports whether m.Method carries token.
func HasMethod(m lane.Measurement, token string) bool {
	for _, t := range strings.Split(m.Method, "; ") {
		if t == token {
			return true
		}
	}
	return false
}

// Finish completes a decoded capture: every reading gets the capture's
// instrument and device time, and repeated warnings are dropped.
func Finish(c *lane.Capture) {
	for i := range c.Readings {
		c.Readings[i].Instrument = c.Instrument
		c.Readings[i].DeviceTime = c.DeviceTime
	}
	seen := map[string]bool{}
	w := c.Warnings[:0]
	for _, s := range c.Warnings {
		if !seen[s] {
			seen[s] = true
			w = append(w, s)
		}
	}
	c.Warnings = slices.Clip(w)
}

// Result is one capture cut from an input by DecodeInput.
type Result struct {
	// Index numbers the frames of the input from 1.
	Index   int
	Capture lane.Capture
	Err     error
}

// MaxInput caps what DecodeInput reads from one file.
const MaxInput = 16 << 20

// DecodeInput decodes a whole input (a file, a saved capture) with c: a
// framed dialect is cut into frames first, each decoded on its own; a file
// dialect is decoded whole. Each result carries its capture with Raw and
// SHA256 set, or the error that stopped it (an abandoned frame, a decode
// error). An input without any frame gives one error result.
func DecodeInput(c Codec, data []byte) []Result {
	if len(data) > MaxInput {
		return []Result{{Index: 1, Err: fmt.Errorf("input of %d bytes exceeds %d: %w", len(data), MaxInput, lane.ErrInvalid)}}
	}
	spec := c.Framing()
	if spec == nil {
		return []Result{decodeOne(c, 1, data)}
	}
	f, err := NewFramer(*spec)
	if err != nil {
		return []Result{{Index: 1, Err: err}}
	}
	// A saved input has no timing: frames end only by their own bytes.
	frames := append(f.Write(data, time.Time{}), f.Flush()...)
	if len(frames) == 0 {
		return []Result{{Index: 1, Err: fmt.Errorf("no %s frame found: %w", c.Name(), lane.ErrInvalid)}}
	}
	out := make([]Result, 0, len(frames))
	for i, fr := range frames {
		if fr.Err != nil {
			out = append(out, Result{Index: i + 1, Err: fmt.Errorf("frame %d: %w", i+1, fr.Err)})
			continue
		}
		r := decodeOne(c, i+1, fr.Data)
		if r.Err != nil {
			r.Err = fmt.Errorf("frame %d: %w", i+1, r.Err)
		}
		out = append(out, r)
	}
	return out
}

func decodeOne(c Codec, idx int, data []byte) Result {
	capt, err := c.Decode(data)
	if err != nil {
		return Result{Index: idx, Err: err}
	}
	capt.Raw = bytes.Clone(data)
	capt.SHA256 = sha256.Sum256(data)
	return Result{Index: idx, Capture: capt}
}

// HexText recognises a capture saved as hexadecimal text ("01 4E 49 44 …",
// as serial monitors and our own raw logs print it): two hex digits per
// byte, separated by blanks or line breaks, at least four bytes. It returns
// the bytes and true, or nil and false for anything else (raw bytes, XML).
func HexText(data []byte) ([]byte, bool) {
	fields := bytes.Fields(data)
	if len(fields) < 4 {
		return nil, false
	}
	out := make([]byte, 0, len(fields))
	for _, f := range fields {
		if len(f) != 2 {
			return nil, false
		}
		hi, ok1 := hexDigit(f[0])
		lo, ok2 := hexDigit(f[1])
		if !ok1 || !ok2 {
			return nil, false
		}
		out = append(out, hi<<4|lo)
	}
	return out, true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// Invalidf returns an error wrapping lane.ErrInvalid, prefixed with the
// dialect name; codecs use it for malformed input.
func Invalidf(dialect, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", dialect, fmt.Sprintf(format, args...), lane.ErrInvalid)
}

// MedianInt returns the median of vs (the mean of the two middle values,
// rounded half up, for an even count); vs is reordered. It returns 0 for
// no values.
func MedianInt(vs []int) int {
	if len(vs) == 0 {
		return 0
	}
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	s := vs[n/2-1] + vs[n/2]
	if s >= 0 {
		return (s + 1) / 2
	}
	return -((-s) / 2)
}
