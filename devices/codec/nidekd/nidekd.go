// Package nidekd is the codec for NIDEK "D-block" frames ("nidek-dblock"):
// what NIDEK lensmeters (LM-1000/1000P/1200/1800, block DLM), autorefractor
// and keratometers (ARK/AR, blocks DRM and DKM), tonometers (DNT) and
// pachymeters (DPM) send, and what a PC or an ARK sends to an RT phoropter.
//
//	SOH D<xx> STX item ETB [CR] item ETB [CR] … [D<yy> STX item ETB …] EOT [checksum(4 hex)] [CR]
//
// Numbers are zero-padded ("-01.25", "120"). The checksum (present in NCP10
// I/F mode) is the sum of every byte from SOH to EOT inclusive except CR,
// modulo 0x10000, in four upper-case hex digits. A wrong checksum rejects the
// frame; a missing one is a warning.
//
// What is verified: the DLM layout and checksum (LM-1000 interface manual,
// with its published example). The DRM/DKM item layouts follow the RT
// input grammar (OR/OL SCA) and the RT's own KM items; DNT/DPM follow
// third-party notes. Those are marked [U] in devices.md.
package nidekd

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
const Name = "nidek-dblock"

// Control bytes.
const (
	SOH = 0x01
	STX = 0x02
	EOT = 0x04
	ETB = 0x17
	CR  = 0x0D
	LF  = 0x0A
)

// Spec frames D-block output: SOH … EOT and an optional 4-hex checksum.
var Spec = codec.FrameSpec{
	Start:        []byte{SOH},
	End:          []byte{EOT},
	Trailer:      4,
	TrailerChars: "0123456789ABCDEFabcdef",
	MaxSize:      8 << 10,
	InterByte:    3 * time.Second,
	Whole:        60 * time.Second,
	Mask7:        true,
}

// Codec is the nidek-dblock codec. It is stateless.
type Codec struct{}

func init() { codec.Register(Codec{}) }

// Name returns "nidek-dblock".
func (Codec) Name() string { return Name }

// Framing returns Spec.
func (Codec) Framing() *codec.FrameSpec {
	s := Spec
	return &s
}

// Sniff accepts input holding SOH 'D' letter letter STX.
func (Codec) Sniff(data []byte) bool {
	for i := 0; i+4 < len(data); i++ {
		if data[i]&0x7f == SOH && data[i+1]&0x7f == 'D' && isLetter(data[i+2]&0x7f) && isLetter(data[i+3]&0x7f) && data[i+4]&0x7f == STX {
			return true
		}
	}
	return false
}

func isLetter(c byte) bool { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') }

// Checksum returns the NIDEK checksum of frame[SOH..EOT]: the byte sum
// without CR codes, modulo 0x10000.
func Checksum(frame []byte) uint16 {
	var sum uint16
	for _, b := range frame {
		if b != CR {
			sum += uint16(b)
		}
	}
	return sum
}

// Decode decodes one frame.
func (Codec) Decode(data []byte) (lane.Capture, error) {
	d := decoder{c: lane.Capture{Format: Name, Instrument: lane.InstrumentRef{Vendor: "NIDEK"}}}
	if err := d.run(data); err != nil {
		return lane.Capture{}, err
	}
	codec.Finish(&d.c)
	return d.c, nil
}

type decoder struct {
	c       lane.Capture
	block   string // "LM", "RM", "WF", "KM", "NT", "PM", "ID", "?"
	night   bool
	last    string // code of the previous item, for ADD2/NSPH2 continuations
	eye     lane.Eye
	lm      map[lane.Eye]int // lensometry reading per eye
	ar      map[lane.Eye]int
	km      map[lane.Eye]int
	polar   map[lane.Eye]lane.PrismDiopters
	notes   map[lane.Eye][]string
	unknown map[string]bool
}

func (d *decoder) warn(format string, args ...any) {
	d.c.Warnings = append(d.c.Warnings, fmt.Sprintf(format, args...))
}

func (d *decoder) run(raw []byte) error {
	data := make([]byte, len(raw))
	parity := false
	for i, b := range raw {
		data[i] = b & 0x7f
		parity = parity || b&0x80 != 0
	}
	start := bytes.IndexByte(data, SOH)
	if start < 0 {
		return codec.Invalidf(Name, "no SOH: not a NIDEK frame")
	}
	end := bytes.IndexByte(data[start:], EOT)
	if end < 0 {
		return codec.Invalidf(Name, "no EOT: the frame never finished")
	}
	end += start
	frame := data[start : end+1]
	if bytes.IndexByte(frame[1:], SOH) >= 0 {
		return codec.Invalidf(Name, "a second SOH inside the frame")
	}
	if parity {
		d.warn("bytes had bit 7 set (parity); it was stripped — check the port's data bits")
	}
	if err := d.checksum(frame, data[end+1:]); err != nil {
		return err
	}
	d.lm, d.ar, d.km = map[lane.Eye]int{}, map[lane.Eye]int{}, map[lane.Eye]int{}
	d.polar = map[lane.Eye]lane.PrismDiopters{}
	d.notes = map[lane.Eye][]string{}
	d.unknown = map[string]bool{}

	body := frame[1 : len(frame)-1]
	var seg []byte
	items, blocks := 0, 0
	flush := func() {
		s := string(seg)
		seg = seg[:0]
		if strings.TrimSpace(s) == "" {
			return
		}
		items++
		d.item(s)
	}
	for _, b := range body {
		switch b {
		case STX:
			if err := d.header(string(seg)); err != nil {
				return err
			}
			seg = seg[:0]
			blocks++
		case ETB, CR, LF:
			flush()
		default:
			seg = append(seg, b)
		}
	}
	flush()
	if blocks == 0 {
		return codec.Invalidf(Name, "no D-block header")
	}
	if items == 0 {
		return codec.Invalidf(Name, "frame holds no items")
	}
	d.finish()
	return nil
}

// checksum validates the 4 hex digits after EOT, if any.
func (d *decoder) checksum(frame, after []byte) error {
	trail := after
	if i := bytes.IndexAny(trail, "\r\n\x01"); i >= 0 {
		trail = trail[:i]
	}
	trail = bytes.TrimSpace(trail)
	if len(trail) == 0 {
		d.warn("no checksum after EOT (NIDEK I/F mode); the frame could not be verified")
		return nil
	}
	if len(trail) != 4 {
		return codec.Invalidf(Name, "malformed checksum after EOT; reading rejected")
	}
	want, err := strconv.ParseUint(string(trail), 16, 16)
	if err != nil {
		return codec.Invalidf(Name, "malformed checksum after EOT; reading rejected")
	}
	if got := Checksum(frame); uint16(want) != got {
		return codec.Invalidf(Name, "checksum mismatch (frame says %04X, bytes sum to %04X); reading rejected", want, got)
	}
	return nil
}

// header starts a block: D + two letters; lower case letters mean night.
func (d *decoder) header(h string) error {
	h = strings.TrimSpace(h)
	d.last = ""
	if len(h) != 3 {
		if strings.HasPrefix(h, "C") {
			return codec.Invalidf(Name, "a command frame (RS/SD), not measurement data")
		}
		d.warn("block header of %d characters not understood; its items were skipped", len(h))
		d.block = "?"
		return nil
	}
	if h[0] == 'C' {
		return codec.Invalidf(Name, "a command frame (RS/SD), not measurement data")
	}
	code := strings.ToUpper(h[1:])
	d.night = h[1:] != code
	switch {
	case h[0] != 'D':
		d.block = "?"
	case code == "LM" || code == "RM" || code == "WF" || code == "KM" || code == "NT" || code == "PM":
		d.block = code
	case code == "RL":
		d.block = "ID"
	default:
		d.block = "?"
	}
	if d.block == "?" {
		d.warn("block %s not understood; its items were skipped", h)
	}
	return nil
}

func (d *decoder) item(s string) {
	code := s[:min(2, len(s))]
	prev := d.last
	d.last = code
	switch {
	case d.block == "?" || d.block == "ID":
		return // unknown block, or the PC→RT ID block (a patient number)
	case d.block == "":
		d.unknown[code] = true
		return
	case code == "ID":
		d.identity(s[2:])
		return
	case code == "DA":
		d.date(s[2:])
		return
	case code == "NO" || code == "IP":
		return // running number / patient ID: not kept
	}
	switch d.block {
	case "LM":
		d.lensmeter(s, code, prev)
	case "RM", "WF":
		d.autoref(s, code)
	case "KM":
		d.kerato(s, code)
	case "NT":
		d.series(s, lane.KindIOP)
	case "PM":
		d.series(s, lane.KindPachymetry)
	}
}

func (d *decoder) identity(s string) {
	s = strings.TrimSpace(s)
	vendor, model, ok := strings.Cut(s, "/")
	if !ok {
		model = s
		vendor = "NIDEK"
	}
	if vendor = strings.TrimSpace(vendor); vendor != "" {
		d.c.Instrument.Vendor = vendor
	}
	d.c.Instrument.Model = strings.TrimSpace(model)
}

// date reads "2008.11.12.17:05", "2008/11/12" and similar.
func (d *decoder) date(s string) {
	s = strings.TrimSpace(s)
	f := strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '/' || r == '-' || r == ' ' || r == ':' })
	if len(f) < 3 {
		d.warn("device date unreadable")
		return
	}
	n := make([]int, 5)
	for i := 0; i < len(f) && i < 5; i++ {
		v, err := strconv.Atoi(f[i])
		if err != nil {
			d.warn("device date unreadable")
			return
		}
		n[i] = v
	}
	t := time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], 0, 0, time.Local)
	if n[0] < 1980 || n[0] > 2200 || t.Month() != time.Month(n[1]) || t.Day() != n[2] || n[3] > 23 || n[4] > 59 {
		d.warn("device date unreadable")
		return
	}
	d.c.DeviceTime = t
}

func lmEye(code string) (lane.Eye, bool) {
	switch code {
	case "  ":
		return lane.EyeUnknown, true // a single lens
	case " R":
		return lane.EyeRight, true
	case " L":
		return lane.EyeLeft, true
	}
	return 0, false
}

func sideEye(c byte) (lane.Eye, bool) {
	switch c {
	case 'R':
		return lane.EyeRight, true
	case 'L':
		return lane.EyeLeft, true
	case ' ':
		return lane.EyeUnknown, true
	}
	return 0, false
}

func (d *decoder) reading(kind lane.Kind, src lane.Source, eye lane.Eye) lane.Measurement {
	m := lane.Measurement{Kind: kind, Eye: eye, Source: src, Representative: true}
	if d.night {
		codec.AddMethod(&m, codec.MethodNight)
	}
	if d.block == "WF" {
		codec.AddMethod(&m, codec.MethodWavefront)
	}
	return m
}

// sca reads an item's sphere, cylinder and axis into the eye's reading of
// kind, indexed in idx (what names it in the warning): an eye sent twice
// keeps the later value. It reports whether the value was read.
func (d *decoder) sca(v, code string, kind lane.Kind, src lane.Source, eye lane.Eye, idx map[lane.Eye]int, what string) bool {
	rf, err := field.SCA(v)
	if err != nil {
		d.warn("item %s: %v", strings.TrimSpace(code), err)
		return false
	}
	m := d.reading(kind, src, eye)
	m.CylinderSign = field.CylinderSign(rf.Cylinder)
	m.Refraction = &rf
	if i, dup := idx[eye]; dup {
		d.warn("%s %s sent twice; the later value is kept", what, eye)
		d.c.Readings[i] = m
		return true
	}
	idx[eye] = len(d.c.Readings)
	d.c.Readings = append(d.c.Readings, m)
	return true
}

func (d *decoder) lensmeter(s, code, prev string) {
	if eye, ok := lmEye(code); ok {
		if d.sca(s[2:], code, lane.KindLensometry, lane.SourceLensometry, eye, d.lm, "lensmeter") {
			d.eye = eye
		}
		return
	}
	// A bare value continues the previous ADD or near sphere (ADD2, NSPH2).
	if c := s[0]; (c >= '0' && c <= '9') || c == '+' || c == '-' {
		switch prev[:min(1, len(prev))] {
		case "A":
			d.note(d.eye, "ADD2", s)
		case "N":
			d.note(d.eye, "near sphere 2", s)
		default:
			d.unknown["(value)"] = true
		}
		d.last = prev
		return
	}
	eye, eyeOK := sideEye(code[min(1, len(code)-1)])
	switch {
	case code[0] == 'A' && eyeOK:
		v, err := field.Diopters(s[2:])
		if err != nil || v < 0 {
			d.warn("item %s: add unreadable", code)
			return
		}
		d.setRx(d.lm, eye, "ADD", func(rf *lane.Refraction) { rf.Add = v })
	case code[0] == 'N' && eyeOK:
		d.note(eye, "near sphere", s[2:])
	case code[0] == 'P' && eyeOK:
		d.prism(eye, s[2:])
	case code[0] == 'B' && eyeOK:
		d.polarBase(eye, s[2:])
	case code == "PD":
		d.pd(s[2:], lane.SourceLensometry)
	case code == "IE" || code == "DE":
		m := d.reading(lane.KindError, lane.SourceLensometry, d.eye)
		m.Representative = false
		m.Message = "lensmeter error " + strings.TrimSpace(s[:min(len(s), 8)])
		d.c.Readings = append(d.c.Readings, m)
	default:
		d.unknown[code] = true
	}
}

// note records a value that has no lane field (ADD2, near sphere) on the
// eye's lensometry reading.
func (d *decoder) note(eye lane.Eye, what, v string) {
	p, err := field.Diopters(v)
	if err != nil {
		d.warn("%s unreadable", what)
		return
	}
	d.notes[eye] = append(d.notes[eye], what+" "+p.String())
}

func (d *decoder) setRx(idx map[lane.Eye]int, eye lane.Eye, what string, f func(*lane.Refraction)) {
	i, ok := idx[eye]
	if !ok {
		d.warn("%s for %s sent before its sphere/cylinder; not imported", what, eye)
		return
	}
	f(d.c.Readings[i].Refraction)
}

// prism reads "DD.DD" followed by a base letter I/O/U/D (rectangular), or a
// bare amount whose base angle follows in a B item (polar).
func (d *decoder) prism(eye lane.Eye, v string) {
	v = strings.TrimSpace(v)
	if v == "" {
		d.warn("prism for %s unreadable", eye)
		return
	}
	base := v[len(v)-1]
	if strings.IndexByte("IOUD", base) < 0 {
		amount, neg, err := field.Prism(v)
		if err != nil || neg {
			d.warn("prism for %s unreadable", eye)
			return
		}
		d.polar[eye] = amount
		return
	}
	amount, neg, err := field.Prism(v[:len(v)-1])
	if err != nil || neg {
		d.warn("prism for %s unreadable", eye)
		return
	}
	d.setRx(d.lm, eye, "prism", func(rf *lane.Refraction) {
		switch base {
		case 'I':
			rf.Prism.H, rf.Prism.HBase = amount, lane.BaseIn
		case 'O':
			rf.Prism.H, rf.Prism.HBase = amount, lane.BaseOut
		case 'U':
			rf.Prism.V, rf.Prism.VBase = amount, lane.BaseUp
		case 'D':
			rf.Prism.V, rf.Prism.VBase = amount, lane.BaseDown
		}
	})
}

func (d *decoder) polarBase(eye lane.Eye, v string) {
	amount, ok := d.polar[eye]
	if !ok {
		d.warn("prism base angle for %s without an amount", eye)
		return
	}
	delete(d.polar, eye)
	angle, err := field.Int(v)
	if err != nil {
		d.warn("prism base angle for %s unreadable", eye)
		return
	}
	p, err := field.PolarPrism(amount, angle, eye)
	if err != nil {
		d.warn("polar prism for %s: %v", eye, err)
		return
	}
	d.setRx(d.lm, eye, "prism", func(rf *lane.Refraction) { rf.Prism = p })
}

// pd reads a binocular far PD: "PD64.0", "PD64" [U: layout not in the
// manual pages we could read].
func (d *decoder) pd(v string, src lane.Source) {
	mm, err := field.PD(v, false)
	if err != nil {
		d.warn("item PD: PD unreadable")
		return
	}
	m := d.reading(lane.KindPD, src, lane.EyeBoth)
	m.PD = &lane.PD{Value: mm, Distance: lane.DistanceFar}
	d.c.Readings = append(d.c.Readings, m)
}

func (d *decoder) autoref(s, code string) {
	if len(code) == 2 && (code[0] == 'O' || code[0] == ' ') {
		if eye, ok := sideEye(code[1]); ok && eye != lane.EyeUnknown {
			d.sca(s[2:], code, lane.KindRefraction, lane.SourceAutorefraction, eye, d.ar, "autorefraction")
			return
		}
	}
	if code == "PD" {
		d.pd(s[2:], lane.SourceAutorefraction)
		return
	}
	d.unknown[code] = true
}

// kerato reads C<eye> R1(5) R2(5) AXIS(3) in mm and D<eye> R1(5) R2(5) in
// dioptres, as the RT's KM items [U for the ARK's own output].
func (d *decoder) kerato(s, code string) {
	eye, ok := sideEye(code[min(1, len(code)-1)])
	if !ok || eye == lane.EyeUnknown || (code[0] != 'C' && code[0] != 'D') {
		d.unknown[code] = true
		return
	}
	p := s[2:]
	if len(p) < 13 {
		p += strings.Repeat(" ", 13-len(p))
	}
	i, exists := d.km[eye]
	if !exists {
		m := d.reading(lane.KindKeratometry, lane.SourceObjective, eye)
		m.Keratometry = &lane.Keratometry{}
		i = len(d.c.Readings)
		d.km[eye] = i
		d.c.Readings = append(d.c.Readings, m)
	}
	k := d.c.Readings[i].Keratometry
	var err error
	if code[0] == 'C' {
		if k.K1.Radius, err = field.Radius(p[0:5]); err == nil {
			if k.K2.Radius, err = field.Radius(p[5:10]); err == nil {
				k.K1.Axis, err = field.Axis(p[10:13])
			}
		}
	} else {
		if k.K1.Power, err = field.KPower(p[0:5]); err == nil {
			k.K2.Power, err = field.KPower(p[5:10])
		}
	}
	if err != nil {
		d.warn("item %s: keratometry: %v", code, err)
	}
}

// series reads tonometer/pachymeter lines: "R03 18.0 19.0 19.0 AV18.7/2.5"
// (eye, count, readings, average mmHg/kPa) or "L03 550 552 548 AV550";
// device codes (APL/OVR/ERR, BLK/ALM) become error readings [S: from
// third-party notes].
func (d *decoder) series(s string, kind lane.Kind) {
	eye, ok := sideEye(s[0])
	if !ok || eye == lane.EyeUnknown || len(s) < 3 || s[1] < '0' || s[1] > '9' {
		d.unknown[s[:min(2, len(s))]] = true
		return
	}
	fields := strings.Fields(s[3:])
	var avg string
	for _, f := range fields {
		if strings.HasPrefix(f, "AV") {
			avg = strings.TrimPrefix(f, "AV")
			continue
		}
		if isDeviceCode(f) {
			m := d.reading(lane.KindError, lane.SourceObjective, eye)
			m.Representative = false
			m.Message = map[lane.Kind]string{lane.KindIOP: "tonometer", lane.KindPachymetry: "pachymeter"}[kind] + " reported " + f
			d.c.Readings = append(d.c.Readings, m)
			continue
		}
		d.seriesValue(kind, eye, f, false)
	}
	if avg != "" {
		mmHg, _, _ := strings.Cut(avg, "/")
		d.seriesValue(kind, eye, mmHg, true)
	}
}

func isDeviceCode(f string) bool {
	for _, c := range []string{"APL", "OVR", "ERR", "BLK", "ALM"} {
		if strings.HasPrefix(f, c) {
			return true
		}
	}
	return false
}

func (d *decoder) seriesValue(kind lane.Kind, eye lane.Eye, v string, avg bool) {
	m := d.reading(kind, lane.SourceObjective, eye)
	m.Representative = avg
	if kind == lane.KindIOP {
		p, err := field.MmHg(v)
		if err != nil {
			d.warn("pressure for %s unreadable", eye)
			return
		}
		m.IOP = &lane.IOP{Pressure: p, Method: lane.IOPNonContact}
	} else {
		t, err := field.Micrometers(v)
		if err != nil {
			d.warn("thickness for %s unreadable", eye)
			return
		}
		m.Pachymetry = &lane.Pachymetry{CCT: t}
	}
	d.c.Readings = append(d.c.Readings, m)
}

func (d *decoder) finish() {
	for eye := range d.polar {
		d.warn("prism amount for %s without a base angle; not imported", eye)
	}
	for eye, notes := range d.notes {
		if i, ok := d.lm[eye]; ok {
			d.c.Readings[i].Note = strings.Join(notes, "; ")
		}
	}
	// A tonometer/pachymeter series without an average: the median
	// reading stands for the eye.
	for _, kind := range []lane.Kind{lane.KindIOP, lane.KindPachymetry} {
		for _, eye := range []lane.Eye{lane.EyeRight, lane.EyeLeft} {
			var idx []int
			rep := false
			for i, m := range d.c.Readings {
				if m.Kind == kind && m.Eye == eye {
					idx = append(idx, i)
					rep = rep || m.Representative
				}
			}
			if len(idx) == 0 || rep {
				continue
			}
			if len(idx) == 1 {
				d.c.Readings[idx[0]].Representative = true
				continue
			}
			vals := make([]int, len(idx))
			for i, j := range idx {
				vals[i] = value(d.c.Readings[j])
			}
			med := codec.MedianInt(vals)
			cp := d.reading(kind, lane.SourceObjective, eye)
			if kind == lane.KindIOP {
				cp.IOP = &lane.IOP{Pressure: lane.MmHg(med), Method: lane.IOPNonContact}
			} else {
				cp.Pachymetry = &lane.Pachymetry{CCT: lane.Micrometers(med)}
			}
			codec.AddMethod(&cp, codec.MethodMedian)
			d.c.Readings = append(d.c.Readings, cp)
		}
	}
	if len(d.unknown) > 0 {
		codes := make([]string, 0, len(d.unknown))
		for c := range d.unknown {
			codes = append(codes, strings.TrimSpace(c))
		}
		sort.Strings(codes)
		d.warn("items not imported: %s", strings.Join(codes, ", "))
	}
}

func value(m lane.Measurement) int {
	if m.IOP != nil {
		return int(m.IOP.Pressure)
	}
	if m.Pachymetry != nil {
		return int(m.Pachymetry.CCT)
	}
	return 0
}
