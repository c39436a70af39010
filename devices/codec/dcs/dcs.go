// Package dcs is the codec for the Vision Council Data Communication
// Standard ("dcs", formerly VCA/OMA), used by lab equipment and some
// lensmeters:
//
//	FS  LABEL=value CR LF  …  RS  CRC=<decimal> CR LF  GS
//
// The CRC is CRC-16/XMODEM (polynomial 0x1021, initial value 0) over the
// bytes after FS up to and including RS, written in decimal (zero-padded
// to five digits by some vendors, e.g. VEN=BRI). A wrong CRC rejects the
// message; a missing one is a warning. Per-eye records carry "R;L".
//
// Lens power records: SPH, CYL, AX (also AXS), ADD, PRVM (prism amount) and
// PRVA (prism base angle, 360° notation). The DCS lensmeter record set was
// not verified against the standard's lensmeter section [U]; the labels
// are those of DCS lens-power records. Session records (REQ, ANS, STATUS,
// DEV, VEN, MODEL, SN, JOB) are read for the instrument's identity; the
// Session type drives the ACK/NAK exchange.
package dcs

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/examlane/examlane/devices/codec"
	"github.com/examlane/examlane/devices/codec/internal/field"
	"github.com/examlane/examlane/lane"
)

// Name is the dialect's registered name.
const Name = "dcs"

// Reserved characters.
const (
	FS  = 0x1C // start of message
	GS  = 0x1D // end of message
	RS  = 0x1E // before the CRC record
	ACK = 0x06
	NAK = 0x15
)

// Spec frames DCS messages: FS … GS.
var Spec = codec.FrameSpec{
	Start:     []byte{FS},
	End:       []byte{GS},
	MaxSize:   64 << 10,
	InterByte: 5 * time.Second,
	Whole:     60 * time.Second,
}

// Codec is the dcs codec. It is stateless.
type Codec struct{}

func init() { codec.Register(Codec{}) }

// Name returns "dcs".
func (Codec) Name() string { return Name }

// Framing returns Spec.
func (Codec) Framing() *codec.FrameSpec {
	s := Spec
	return &s
}

// Sniff accepts input with an FS followed by a record ("LABEL=").
func (Codec) Sniff(data []byte) bool {
	for i, b := range data {
		if b != FS {
			continue
		}
		j := i + 1
		for j < len(data) && (data[j] == '\r' || data[j] == '\n') {
			j++
		}
		k := j
		for k < len(data) && k-j <= 12 && isLabelByte(data[k]) {
			k++
		}
		if k > j && k < len(data) && data[k] == '=' {
			return true
		}
	}
	return false
}

// validLabel reports whether s is a record label: 1 to 12 letters, digits
// or underscores.
func validLabel(s string) bool {
	if s == "" || len(s) > 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLabelByte(s[i]) {
			return false
		}
	}
	return true
}

func isLabelByte(c byte) bool {
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || (c >= 'a' && c <= 'z')
}

// CRC16 is CRC-16/XMODEM: polynomial 0x1021, initial value 0, no
// reflection, no final XOR.
func CRC16(p []byte) uint16 {
	var crc uint16
	for _, b := range p {
		crc ^= uint16(b) << 8
		for i := 0; i < 8; i++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// Record is one "LABEL=value" line.
type Record struct {
	Label, Value string
}

// Message is a parsed DCS message.
type Message struct {
	Records []Record
	// HasCRC says whether the message carried a CRC record (it was then
	// checked: a wrong CRC is an error, not a Message).
	HasCRC bool
}

// Get returns the value of the first record with the label.
func (m Message) Get(label string) (string, bool) {
	for _, r := range m.Records {
		if r.Label == label {
			return r.Value, true
		}
	}
	return "", false
}

// ParseMessage parses one framed message (FS … GS). Errors wrap
// lane.ErrInvalid.
func ParseMessage(data []byte) (Message, error) {
	var m Message
	start := bytes.IndexByte(data, FS)
	if start < 0 {
		return m, codec.Invalidf(Name, "no FS: not a DCS message")
	}
	end := bytes.IndexByte(data[start:], GS)
	if end < 0 {
		return m, codec.Invalidf(Name, "no GS: the message never finished")
	}
	body := data[start+1 : start+end]
	if bytes.IndexByte(body, FS) >= 0 {
		return m, codec.Invalidf(Name, "a second FS inside the message")
	}
	recs := body
	if rs := bytes.LastIndexByte(body, RS); rs >= 0 {
		recs = body[:rs]
		tail := strings.TrimSpace(string(body[rs+1:]))
		if tail != "" {
			v, ok := strings.CutPrefix(tail, "CRC=")
			if !ok {
				return m, codec.Invalidf(Name, "text after RS is not a CRC record")
			}
			want, err := strconv.ParseUint(strings.TrimSpace(v), 10, 16)
			if err != nil {
				return m, codec.Invalidf(Name, "malformed CRC; message rejected")
			}
			if got := CRC16(body[:rs+1]); uint16(want) != got {
				return m, codec.Invalidf(Name, "CRC mismatch (message says %d, bytes give %d); message rejected", want, got)
			}
			m.HasCRC = true
		}
	}
	for _, line := range bytes.FieldsFunc(recs, func(r rune) bool { return r == '\r' || r == '\n' }) {
		s := strings.TrimSpace(string(line))
		if s == "" {
			continue
		}
		label, value, ok := strings.Cut(s, "=")
		if !ok || !validLabel(label) {
			return m, codec.Invalidf(Name, "malformed record (want LABEL=value)")
		}
		if len(m.Records) >= 10000 {
			return m, codec.Invalidf(Name, "too many records")
		}
		m.Records = append(m.Records, Record{Label: strings.ToUpper(label), Value: value})
	}
	if len(m.Records) == 0 {
		return m, codec.Invalidf(Name, "message holds no records")
	}
	return m, nil
}

// EncodeMessage frames records as a DCS message with its CRC; pad5 writes
// the CRC with five digits (VEN=BRI devices expect it).
func EncodeMessage(recs []Record, pad5 bool) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte(FS)
	for _, r := range recs {
		if !validLabel(r.Label) || strings.ContainsAny(r.Value, "\r\n\x1c\x1d\x1e") {
			return nil, fmt.Errorf("%s: record %q cannot be encoded: %w", Name, r.Label, lane.ErrInvalid)
		}
		b.WriteString(r.Label + "=" + r.Value + "\r\n")
	}
	b.WriteByte(RS)
	crc := CRC16(b.Bytes()[1:])
	if pad5 {
		fmt.Fprintf(&b, "CRC=%05d\r\n", crc)
	} else {
		fmt.Fprintf(&b, "CRC=%d\r\n", crc)
	}
	b.WriteByte(GS)
	return b.Bytes(), nil
}

// Decode decodes one message into a capture: the instrument from VEN,
// MODEL and SN, and lensometry readings from the lens power records. A
// session-only message (REQ=INI, ANS=…) decodes to a capture without
// readings and says so in a warning.
func (Codec) Decode(data []byte) (lane.Capture, error) {
	msg, err := ParseMessage(data)
	if err != nil {
		return lane.Capture{}, err
	}
	c := lane.Capture{Format: Name}
	warn := func(format string, args ...any) { c.Warnings = append(c.Warnings, fmt.Sprintf(format, args...)) }
	if !msg.HasCRC {
		warn("no CRC record; the message could not be verified")
	}
	if v, ok := msg.Get("VEN"); ok {
		c.Instrument.Vendor = clean(v)
	}
	if v, ok := msg.Get("MODEL"); ok {
		c.Instrument.Model = clean(v)
	}
	if v, ok := msg.Get("SN"); ok {
		c.Instrument.Serial = clean(v)
	}
	eyes := [2]lane.Eye{lane.EyeRight, lane.EyeLeft}
	sides := map[string][2]string{}
	for _, label := range []string{"SPH", "CYL", "AX", "AXS", "ADD", "PRVM", "PRVA"} {
		v, ok := msg.Get(label)
		if !ok {
			continue
		}
		r, l, two := strings.Cut(v, ";")
		if !two {
			warn("record %s is not an R;L pair; not imported", label)
			continue
		}
		sides[label] = [2]string{strings.TrimSpace(r), strings.TrimSpace(l)}
	}
	if _, ok := sides["AX"]; !ok {
		sides["AX"] = sides["AXS"]
	}
	for i, eye := range eyes {
		sph := sides["SPH"][i]
		if sph == "" || sph == "?" {
			continue
		}
		var rf lane.Refraction
		var err error
		if rf.Sphere, err = field.Diopters(sph); err != nil {
			warn("%s sphere: %v", eye, err)
			continue
		}
		if v := sides["CYL"][i]; v != "" && v != "?" {
			if rf.Cylinder, err = field.Diopters(v); err != nil {
				warn("%s cylinder: %v", eye, err)
				continue
			}
		}
		if rf.Axis, err = field.AxisFor(sides["AX"][i], rf.Cylinder); err != nil {
			warn("%s axis: %v", eye, err)
			continue
		}
		if v := sides["ADD"][i]; v != "" && v != "?" {
			if rf.Add, err = field.Diopters(v); err != nil || rf.Add < 0 {
				warn("%s add unreadable", eye)
				rf.Add = 0
			}
		}
		if v := sides["PRVM"][i]; v != "" && v != "?" {
			amount, neg, err := field.Prism(v)
			angle, err2 := field.Int(sides["PRVA"][i])
			switch {
			case err != nil || neg || err2 != nil:
				warn("%s prism unreadable; not imported", eye)
			case amount != 0:
				if p, err := field.PolarPrism(amount, angle, eye); err == nil {
					rf.Prism = p
				} else {
					warn("%s prism: %v", eye, err)
				}
			}
		}
		c.Readings = append(c.Readings, lane.Measurement{
			Kind: lane.KindLensometry, Eye: eye, Source: lane.SourceLensometry, Representative: true,
			CylinderSign: field.CylinderSign(rf.Cylinder), Refraction: &rf,
		})
	}
	if len(c.Readings) == 0 {
		kind := "no lens power records"
		for _, l := range []string{"REQ", "ANS"} {
			if v, ok := msg.Get(l); ok {
				kind = "a session message " + l + "=" + clean(v)
				break
			}
		}
		warn("%s; nothing to import", kind)
	}
	var labels []string
	for _, r := range msg.Records {
		switch r.Label {
		case "SPH", "CYL", "AX", "AXS", "ADD", "PRVM", "PRVA", "REQ", "ANS", "STATUS", "DEV", "VEN", "MODEL", "SN", "JOB", "DO", "INFO":
		default:
			labels = append(labels, r.Label)
		}
	}
	if len(labels) > 0 {
		sort.Strings(labels)
		labels = compact(labels)
		if len(labels) > 12 {
			labels = append(labels[:12], "…")
		}
		warn("records not imported: %s", strings.Join(labels, ", "))
	}
	codec.Finish(&c)
	return c, nil
}

func compact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func clean(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 40 {
		s = s[:40]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
