// Package transport is the byte-level seam between instruments and the rest
// of the device layer: a Conn is an open link to one instrument (a serial
// port, a USB-serial bridge, or a test double) with read timeouts and modem
// control lines. Conn knows nothing about framing or dialects; the hub feeds
// what it reads to a codec framer.
//
// OpenSerial opens a real port through go.bug.st/serial with the link
// settings of a device profile (baud, data bits, parity, stop bits), drives
// DTR/RTS, optionally waits for DSR/CTS, and masks bytes to 7 bits in 7-bit
// modes. Pseudo-terminals (used by the simulator and the tests) accept every
// setting but ignore baud rate, parity and stop bits, and do not implement the
// modem lines: on a pty, modem calls fail with ErrModemUnsupported and the
// waits for DSR/CTS are skipped with a note.
package transport

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/examlane/examlane/lane"
)

// Parity is a serial parity setting.
type Parity byte

// Parity settings, named by the letter used in "8N1"-style link strings.
const (
	ParityNone  Parity = 'N'
	ParityEven  Parity = 'E'
	ParityOdd   Parity = 'O'
	ParityMark  Parity = 'M'
	ParitySpace Parity = 'S'
)

// StopBits is the number of stop bits: 1 or 2 (15 means 1.5).
type StopBits int

// Stop-bit settings.
const (
	StopBits1     StopBits = 1
	StopBits1Dot5 StopBits = 15
	StopBits2     StopBits = 2
)

// Link is a serial line setting such as 2400 baud, 7 data bits, even
// parity, 2 stop bits ("2400 7E2"). The zero value means "not set".
type Link struct {
	Baud     int
	DataBits int
	Parity   Parity
	StopBits StopBits
}

// IsZero reports whether no link setting is configured.
func (l Link) IsZero() bool { return l == Link{} }

// String formats the link as "2400 7E2" (or "2400 8N1.5").
func (l Link) String() string {
	if l.IsZero() {
		return ""
	}
	sb := strconv.Itoa(int(l.StopBits))
	if l.StopBits == StopBits1Dot5 {
		sb = "1.5"
	}
	return fmt.Sprintf("%d %d%c%s", l.Baud, l.DataBits, l.Parity, sb)
}

// ParseLink parses "2400 7E2", "9600 8N1", "9600,8,N,1" or "9600/8O1". The
// error wraps lane.ErrInvalid and names the bad part.
func ParseLink(s string) (Link, error) {
	f := strings.FieldsFunc(strings.TrimSpace(s), func(r rune) bool {
		return r == ' ' || r == ',' || r == '/' || r == '-' || r == '\t'
	})
	if len(f) == 4 { // "9600,8,N,1"
		f = []string{f[0], f[1] + f[2] + f[3]}
	}
	if len(f) != 2 {
		return Link{}, lane.Invalidf("link %q: want BAUD and FRAME, e.g. \"2400 7E2\"", s)
	}
	baud, err := strconv.Atoi(f[0])
	if err != nil || baud < 50 || baud > 4000000 {
		return Link{}, lane.Invalidf("link %q: baud %q is not a rate between 50 and 4000000", s, f[0])
	}
	fr := strings.ToUpper(f[1])
	if len(fr) < 3 {
		return Link{}, lane.Invalidf("link %q: frame %q: want data bits, parity, stop bits, e.g. 8N1", s, f[1])
	}
	l := Link{Baud: baud}
	switch fr[0] {
	case '5', '6', '7', '8':
		l.DataBits = int(fr[0] - '0')
	default:
		return Link{}, lane.Invalidf("link %q: data bits %q: want 5..8", s, fr[:1])
	}
	switch p := Parity(fr[1]); p {
	case ParityNone, ParityEven, ParityOdd, ParityMark, ParitySpace:
		l.Parity = p
	default:
		return Link{}, lane.Invalidf("link %q: parity %q: want N, E, O, M or S", s, fr[1:2])
	}
	switch fr[2:] {
	case "1":
		l.StopBits = StopBits1
	case "2":
		l.StopBits = StopBits2
	case "1.5", "15":
		l.StopBits = StopBits1Dot5
	default:
		return Link{}, lane.Invalidf("link %q: stop bits %q: want 1, 1.5 or 2", s, fr[2:])
	}
	return l, nil
}

// MustParseLink is ParseLink for constants; it panics on a bad string.
func MustParseLink(s string) Link {
	l, err := ParseLink(s)
	if err != nil {
		panic(err)
	}
	return l
}

// UnmarshalText implements encoding.TextUnmarshaler (TOML profile files).
func (l *Link) UnmarshalText(b []byte) error {
	v, err := ParseLink(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (l Link) MarshalText() ([]byte, error) { return []byte(l.String()), nil }
