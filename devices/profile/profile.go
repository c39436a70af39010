// Package profile describes the instrument models the lane knows: how each
// is connected (serial, USB-serial bridge, or a folder the instrument drops
// files into), its link settings, the dialect its bytes are in, what it
// measures, and the handshakes it expects. Built-in profiles cover the
// NIDEK and TOPCON models in the device notes plus a generic DCS lensmeter;
// a practice adds or overrides profiles in a TOML file (see LoadFile)
// without rebuilding.
package profile

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/examlane/examlane/devices/transport"
	"github.com/examlane/examlane/lane"
)

// Transport is how an instrument reaches the lane.
type Transport string

// Transports.
const (
	// TransportSerial is an RS-232 port (or any port given by path).
	TransportSerial Transport = "serial"
	// TransportUSBSerial is a USB-serial bridge found by VID:PID; its port
	// path is looked up when the instrument is plugged in.
	TransportUSBSerial Transport = "usb-serial"
	// TransportFile is a folder the instrument (or its software) writes one
	// file per measurement into.
	TransportFile Transport = "file"
)

// Handshake is what the instrument expects on the link while sending.
type Handshake string

// Handshakes.
const (
	// HandshakeNone: the instrument sends when a measurement is printed.
	HandshakeNone Handshake = "none"
	// HandshakeDTRDSR: the lane asserts DTR and (when wait_dsr is set)
	// waits for DSR before the instrument sends (NIDEK "Type 1").
	HandshakeDTRDSR Handshake = "dtr-dsr"
	// HandshakeRTSCTS: the lane asserts RTS and waits for CTS.
	HandshakeRTSCTS Handshake = "rts-cts"
	// HandshakeACKNAK: the lane answers every frame with ACK (good) or NAK
	// (bad checksum: the instrument sends it again), as in DCS.
	HandshakeACKNAK Handshake = "ack-nak"
)

// SendMode is how the lane sends a prescription to an instrument that
// accepts one (the NIDEK RT phoropters).
type SendMode string

// Send modes (device notes §2.2).
const (
	// SendHandshake sends RS, waits for the RT's SD, then sends the data.
	SendHandshake SendMode = "handshake"
	// SendDirect sends the data frame alone (the RT-3100 in practice).
	SendDirect SendMode = "direct"
	// SendNoWait sends RS, then the data without waiting for SD.
	SendNoWait SendMode = "nowait"
)

// Dialects the codecs implement ("auto" lets a file drop sniff each file).
var Dialects = []string{"nidek-rt", "nidek-dblock", "joia", "nidek-xml", "dcs", "auto"}

// Kinds a profile may list under measures.
var Kinds = []lane.Kind{lane.KindRefraction, lane.KindKeratometry, lane.KindIOP, lane.KindPachymetry,
	lane.KindLensometry, lane.KindPD, lane.KindVA}

// USBID is a USB vendor and product id, written "0403:6001".
type USBID struct {
	VID, PID uint16
}

// String formats the id as "0403:6001".
func (u USBID) String() string { return fmt.Sprintf("%04x:%04x", u.VID, u.PID) }

// ParseUSBID parses "0403:6001" (hex, case-insensitive).
func ParseUSBID(s string) (USBID, error) {
	v, p, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return USBID{}, lane.Invalidf("usb id %q: want VID:PID in hex, e.g. 0403:6001", s)
	}
	vid, err1 := strconv.ParseUint(v, 16, 16)
	pid, err2 := strconv.ParseUint(p, 16, 16)
	if err1 != nil || err2 != nil {
		return USBID{}, lane.Invalidf("usb id %q: want VID:PID in hex, e.g. 0403:6001", s)
	}
	return USBID{VID: uint16(vid), PID: uint16(pid)}, nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (u *USBID) UnmarshalText(b []byte) error {
	v, err := ParseUSBID(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (u USBID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// Profile is one instrument model's connection recipe. The zero values of
// optional fields mean "use the default" (see the field comments).
type Profile struct {
	// Name is the profile's unique key, e.g. "nidek-rt5100". Lookups ignore
	// case, hyphens, underscores and spaces, so "NIDEK RT-5100" finds it.
	Name    string
	Vendor  string
	Model   string
	Aliases []string
	// Transport is serial, usb-serial or file.
	Transport Transport
	// Link is the serial setting, e.g. 2400 7E2.
	Link transport.Link
	// DTR and RTS are asserted after opening; WaitDSR and WaitCTS wait for
	// the instrument's ready lines (turn them off for adapters that do not
	// wire them).
	DTR, RTS         bool
	WaitDSR, WaitCTS bool
	// Dialect is the codec name ("nidek-rt", ...).
	Dialect string
	// Measures lists what the instrument reports.
	Measures []lane.Kind
	// Handshake is what the link needs while receiving.
	Handshake Handshake
	// Request is the command the lane may send to ask for a transmission
	// ("sd" for NIDEK ARKs in NIDEK I/F mode), empty when none.
	Request string
	// SendModes lists how the lane may send a prescription to the
	// instrument (empty: it accepts none); DefaultSend is the one to use
	// when the user does not choose.
	SendModes   []SendMode
	DefaultSend SendMode
	// USB lists the bridges (VID:PID) the instrument's cable may show up
	// as; USBSerial narrows to one cable by its USB serial number.
	USB       []USBID
	USBSerial string
	// Port is the serial device path, when fixed (e.g. /dev/ttyS0).
	Port string
	// Folder, Pattern and Stable configure a file drop: the folder to
	// watch, a glob for the export files (default "*"), and how long a file
	// must be unchanged before it is read (default 2 s).
	Folder  string
	Pattern string
	Stable  time.Duration
	// InterByte and Whole override the dialect's frame timeouts (not on
	// DCS links, whose session keeps the standard's timing).
	InterByte time.Duration
	Whole     time.Duration
	// Note is shown to the person configuring the lane: what is verified,
	// what to check on the instrument's interface menu.
	Note string
	// Source says where the profile came from: "built-in" or the file.
	Source string
}

// MeasuresKind reports whether the profile measures k.
func (p Profile) MeasuresKind(k lane.Kind) bool { return slices.Contains(p.Measures, k) }

// CanReceive reports whether the instrument accepts prescriptions.
func (p Profile) CanReceive() bool { return len(p.SendModes) > 0 }

// Serial reports whether the profile uses a serial link (plain or USB).
func (p Profile) Serial() bool {
	return p.Transport == TransportSerial || p.Transport == TransportUSBSerial
}

// SerialConfig returns the transport settings for opening the port.
func (p Profile) SerialConfig() transport.SerialConfig {
	return transport.SerialConfig{
		Link:    p.Link,
		DTR:     p.DTR,
		RTS:     p.RTS,
		WaitDSR: p.WaitDSR,
		WaitCTS: p.WaitCTS,
		Mask7:   transport.Mask7For(p.Link),
	}
}

// Validate checks the profile is usable and returns an error wrapping
// lane.ErrInvalid that names the offending field.
func (p Profile) Validate() error {
	bad := func(field, format string, args ...any) error {
		return lane.Invalidf("profile %q: %s: %s", p.Name, field, fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(p.Name) == "" {
		return lane.Invalidf("profile: name: missing")
	}
	if !slices.Contains(Dialects, p.Dialect) {
		return bad("dialect", "%q unknown (want one of %s)", p.Dialect, strings.Join(Dialects, ", "))
	}
	switch p.Transport {
	case TransportSerial, TransportUSBSerial:
		if p.Link.IsZero() {
			return bad("link", "missing (e.g. \"2400 7E2\")")
		}
		if p.Dialect == "joia" || p.Dialect == "nidek-xml" || p.Dialect == "auto" {
			return bad("dialect", "%q is a file format; use transport = \"file\"", p.Dialect)
		}
	case TransportFile:
	default:
		return bad("transport", "%q unknown (want serial, usb-serial or file)", p.Transport)
	}
	switch p.Handshake {
	case "", HandshakeNone, HandshakeDTRDSR, HandshakeRTSCTS, HandshakeACKNAK:
	default:
		return bad("handshake", "%q unknown (want none, dtr-dsr, rts-cts or ack-nak)", p.Handshake)
	}
	switch p.Request {
	case "", "sd":
	default:
		return bad("request", "%q unknown (want \"sd\" or nothing)", p.Request)
	}
	for _, m := range p.SendModes {
		switch m {
		case SendHandshake, SendDirect, SendNoWait:
		default:
			return bad("send_modes", "%q unknown (want handshake, direct or nowait)", m)
		}
	}
	if p.DefaultSend != "" && !slices.Contains(p.SendModes, p.DefaultSend) {
		return bad("default_send", "%q is not one of send_modes", p.DefaultSend)
	}
	for _, k := range p.Measures {
		if !slices.Contains(Kinds, k) {
			return bad("measures", "%q unknown", k)
		}
	}
	if p.Pattern != "" {
		if _, err := path.Match(p.Pattern, "x"); err != nil {
			return bad("pattern", "%q is not a valid glob", p.Pattern)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"stable", p.Stable}, {"inter_byte", p.InterByte}, {"whole", p.Whole}} {
		if d.v < 0 {
			return bad(d.name, "negative duration %v", d.v)
		}
	}
	return nil
}

// key normalises a name for lookups: lower case without separators.
func key(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch r {
		case '-', '_', ' ', '.', '/':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
