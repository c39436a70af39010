// Package nidekrt is the codec for the NIDEK RT-2100/3100/5100 phoropter
// serial dialect ("nidek-rt").
//
// RT → PC (PRINT on the control box) is
//
//	SOH heading CR  STX @source CR  STX item CR …  EOT [CR]
//
// with no checksum and no ETB. Sources are @LM (lensmeter data the RT
// holds), @RM and @WF (objective data from an autorefractor or wavefront
// device), @RT (the refraction itself), @KM (keratometry) and @NT
// (tonometry); a lower-case source (@lm, @rm, @wf, @rt) is night-time data.
// Inside @RT the case of an item's first letter matters: upper case is the
// final prescription, lower case the subjective (full correction); W/M/K
// are unaided acuities. The item's second letter is the eye (R, L, B), in
// lower case for near. Numbers are space-padded ("- 1.50", "  0").
//
// The other direction (PC → RT: loading lensmeter and autorefractor values
// into the phoropter) uses NIDEK D-block records; Encode builds that frame
// and Sender drives the three ways of delivering it.
package nidekrt

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/examlane/examlane/devices/codec"
	"github.com/examlane/examlane/devices/codec/internal/field"
	"github.com/examlane/examlane/lane"
)

// Name is the dialect's registered name.
const Name = "nidek-rt"

// Control bytes of the NIDEK serial family.
const (
	SOH = 0x01
	STX = 0x02
	EOT = 0x04
	ETB = 0x17
	CR  = 0x0D
)

// Spec frames RT → PC output: SOH … EOT, optional CR after. A full print is
// about 1.3 KiB (5.5 s at 2400 baud); the limits leave room for slower
// links and bigger prints.
var Spec = codec.FrameSpec{
	Start:     []byte{SOH},
	End:       []byte{EOT},
	MaxSize:   16 << 10,
	InterByte: 3 * time.Second,
	Whole:     90 * time.Second,
	Mask7:     true,
}

// Codec is the nidek-rt codec. It is stateless.
type Codec struct{}

func init() { codec.Register(Codec{}) }

// Name returns "nidek-rt".
func (Codec) Name() string { return Name }

// Framing returns Spec.
func (Codec) Framing() *codec.FrameSpec {
	s := Spec
	return &s
}

// Sniff accepts input holding an SOH whose frame is not a D-block or
// command frame and that soon has an "STX @" source line.
func (Codec) Sniff(data []byte) bool {
	for i := 0; i < len(data); i++ {
		if data[i]&0x7f != SOH {
			continue
		}
		rest := data[i+1:]
		if len(rest) > 0 && (rest[0]&0x7f == 'D' || rest[0]&0x7f == 'C') && len(rest) > 3 && rest[3]&0x7f == STX {
			continue // D-block or command frame
		}
		window := rest[:min(len(rest), 200)]
		if bytes.Contains(mask(window), []byte{STX, '@'}) {
			return true
		}
	}
	return false
}

func mask(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = c & 0x7f
	}
	return out
}

// Decode decodes one RT → PC frame.
func (Codec) Decode(data []byte) (lane.Capture, error) {
	d := decoder{c: lane.Capture{Format: Name, Instrument: lane.InstrumentRef{Vendor: "NIDEK"}}}
	if err := d.run(data); err != nil {
		return lane.Capture{}, err
	}
	codec.Finish(&d.c)
	return d.c, nil
}

// section is the current "@" source.
type section struct {
	code  string // LM, RM, WF, RT, KM, NT; "" before the first, "?" unknown
	night bool
}

type readingKey struct {
	kind   lane.Kind
	source lane.Source
	eye    lane.Eye
	near   bool
	night  bool
	extra  string // VA: pinhole/with-add variants
}

type decoder struct {
	c   lane.Capture
	sec section
	// index of readings by key, to merge items about the same value (ADD
	// into its SCA, U into V, C with D for keratometry).
	idx map[readingKey]int
	// values that must join a refraction (ADD, prism) and arrived without
	// one yet.
	pendingAdd   map[readingKey]lane.Diopters
	pendingPrism map[readingKey]lane.Prism
	notes        map[lane.Source][]string
	unknown      map[string]bool
	kpa          map[lane.Eye]lane.MmHg
}

func (d *decoder) warn(format string, args ...any) {
	d.c.Warnings = append(d.c.Warnings, fmt.Sprintf(format, args...))
}

func (d *decoder) run(data []byte) error {
	start := bytes.IndexByte(mask(data), SOH)
	if start < 0 {
		return codec.Invalidf(Name, "no SOH: not a NIDEK frame")
	}
	body := mask(data[start+1:])
	parity := false
	for _, b := range data[start:] {
		if b&0x80 != 0 {
			parity = true
			break
		}
	}
	end := bytes.IndexByte(body, EOT)
	if end < 0 {
		return codec.Invalidf(Name, "no EOT: the frame never finished")
	}
	body = body[:end]
	if parity {
		d.warn("bytes had bit 7 set (parity); it was stripped — check the port's data bits")
	}
	if bytes.IndexByte(body, SOH) >= 0 {
		return codec.Invalidf(Name, "a second SOH inside the frame")
	}
	d.idx = map[readingKey]int{}
	d.pendingAdd = map[readingKey]lane.Diopters{}
	d.pendingPrism = map[readingKey]lane.Prism{}
	d.notes = map[lane.Source][]string{}
	d.unknown = map[string]bool{}
	d.kpa = map[lane.Eye]lane.MmHg{}

	// Heading: up to the first CR or STX.
	h := bytes.IndexAny(body, "\r\x02")
	if h < 0 {
		h = len(body)
	}
	d.heading(string(body[:h]))
	rest := body[h:]

	stray := 0
	items := 0
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, STX)
		if i < 0 {
			stray += len(bytes.TrimSpace(rest))
			break
		}
		stray += len(bytes.TrimSpace(rest[:i]))
		rest = rest[i+1:]
		j := bytes.IndexAny(rest, "\r\x02")
		if j < 0 {
			j = len(rest)
		}
		item := string(rest[:j])
		rest = rest[j:]
		if len(rest) > 0 && rest[0] == CR {
			rest = rest[1:]
		}
		if strings.TrimSpace(item) == "" {
			continue
		}
		items++
		if strings.HasPrefix(item, "@") {
			d.source(item)
			continue
		}
		d.item(item)
	}
	if stray > 0 {
		d.warn("ignored %d stray bytes between items", stray)
	}
	if items == 0 {
		return codec.Invalidf(Name, "frame holds no items")
	}
	d.flushPending()
	if len(d.unknown) > 0 {
		codes := make([]string, 0, len(d.unknown))
		for c := range d.unknown {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		d.warn("items not imported: %s", strings.Join(codes, ", "))
	}
	return nil
}

// heading reads "NIDEK RT-5100 ID<12> DAyyyy/mm/dd[_SN]" leniently.
func (d *decoder) heading(h string) {
	h = strings.ReplaceAll(h, "_", " ")
	if strings.Contains(strings.ToUpper(h), "NIDEK") {
		d.c.Instrument.Vendor = "NIDEK"
	}
	if m := modelIn(h); m != "" {
		d.c.Instrument.Model = m
	}
	if i := strings.Index(h, "DA"); i >= 0 {
		d.date(h[i+2:])
	}
	// The ID field is the phoropter's patient ID: deliberately not kept.
}

// modelIn finds "RT-5100", "RT5100" or "RT 5100" and returns "RT-5100".
func modelIn(s string) string {
	u := strings.ToUpper(s)
	for i := 0; i+2 <= len(u); i++ {
		if u[i] != 'R' || u[i+1] != 'T' {
			continue
		}
		j := i + 2
		for j < len(u) && (u[j] == '-' || u[j] == ' ') && j < i+4 {
			j++
		}
		k := j
		for k < len(u) && u[k] >= '0' && u[k] <= '9' {
			k++
		}
		if k-j == 4 {
			return "RT-" + u[j:k]
		}
	}
	return ""
}

// date parses "2016/ 8/ 2", "2002/06/16" (and "2016/08/02 3" with a system
// number after it). Device clocks are often wrong; the lane keeps its own
// receive time beside this.
func (d *decoder) date(s string) {
	parts := strings.SplitN(s, "/", 3)
	if len(parts) != 3 {
		d.warn("device date unreadable")
		return
	}
	dayText := strings.TrimLeft(parts[2], " ")
	if k := strings.IndexAny(dayText, " \t"); k >= 0 {
		dayText = dayText[:k]
	}
	y, err1 := field.Int(parts[0])
	m, err2 := field.Int(parts[1])
	day, err3 := field.Int(dayText)
	if err1 != nil || err2 != nil || err3 != nil || y < 1980 || y > 2200 || m < 1 || m > 12 || day < 1 || day > 31 {
		d.warn("device date unreadable")
		return
	}
	t := time.Date(y, time.Month(m), day, 0, 0, 0, 0, time.Local)
	if t.Day() != day {
		d.warn("device date unreadable")
		return
	}
	d.c.DeviceTime = t
}

func (d *decoder) source(item string) {
	code := strings.TrimSpace(item[1:])
	sec := section{code: strings.ToUpper(code), night: code != strings.ToUpper(code)}
	switch sec.code {
	case "LM", "RM", "WF", "RT", "KM", "NT":
	default:
		d.unknown["@"+code] = true
		sec.code = "?"
	}
	d.sec = sec
}

// item dispatches one data item by the current source.
func (d *decoder) item(item string) {
	if len(item) < 2 {
		d.unknown[item] = true
		return
	}
	code := item[:2]
	switch {
	case d.sec.code == "" && code == "ID":
		return // heading form 2: the ID line (patient ID, not kept)
	case d.sec.code == "" && code == "DA":
		d.date(item[2:])
		return
	case code == "WD" || code == "wd" || code == "Wd":
		d.workingDistance(code, item[2:])
		return
	case code == "TT":
		d.refractionTime(item[2:])
		return
	case code == "AG":
		return // the patient's age: patient data the lane already has
	case knownIgnored(item):
		return
	}
	switch d.sec.code {
	case "LM":
		d.lensmeterItem(item)
	case "RM", "WF":
		d.objectiveItem(item)
	case "RT":
		d.refractorItem(item)
	case "KM":
		d.keratoItem(item)
	case "NT":
		d.tonoItem(item)
	case "":
		d.unknown[itemCode(item)] = true
	}
}

// itemCode is the code part of an item for warnings (never the value).
func itemCode(item string) string {
	return strings.TrimSpace(item[:min(2, len(item))])
}

// eyeOf decodes an eye letter; lower case means near.
func eyeOf(c byte) (lane.Eye, bool, bool) {
	switch c {
	case 'R':
		return lane.EyeRight, false, true
	case 'L':
		return lane.EyeLeft, false, true
	case 'B':
		return lane.EyeBoth, false, true
	case 'r':
		return lane.EyeRight, true, true
	case 'l':
		return lane.EyeLeft, true, true
	case 'b':
		return lane.EyeBoth, true, true
	}
	return lane.EyeUnknown, false, false
}

func (d *decoder) lensmeterItem(item string) {
	c0, c1 := item[0], item[1]
	switch {
	case c0 == ' ':
		d.sca(item, lane.KindLensometry, lane.SourceLensometry)
	case c0 == 'A':
		d.add(item, lane.KindLensometry, lane.SourceLensometry)
	case c0 == 'P' && (c1 == 'D' || c1 == 'd'):
		d.pd(item, lane.SourceLensometry)
	case c0 == 'P':
		d.prism(item, lane.KindLensometry, lane.SourceLensometry)
	case strings.IndexByte("VUHYJ", c0) >= 0:
		d.va(item, lane.SourceLensometry, true)
	default:
		d.unknown[itemCode(item)] = true
	}
}

func (d *decoder) objectiveItem(item string) {
	c0, c1 := item[0], item[1]
	switch {
	case c0 == 'O':
		d.sca(item, lane.KindRefraction, lane.SourceAutorefraction)
	case c0 == 'A':
		d.add(item, lane.KindRefraction, lane.SourceAutorefraction)
	case c0 == 'P' && (c1 == 'D' || c1 == 'd'):
		d.pd(item, lane.SourceAutorefraction)
	case strings.IndexByte("VUHYJ", c0) >= 0:
		d.va(item, lane.SourceAutorefraction, true)
	default:
		d.unknown[itemCode(item)] = true
	}
}

func (d *decoder) refractorItem(item string) {
	c0, c1 := item[0], item[1]
	src := lane.SourceFinal
	if c0 >= 'a' && c0 <= 'z' {
		src = lane.SourceSubjective
	}
	switch {
	case c0 == 'W' || c0 == 'M':
		d.va(item, lane.SourceUnaided, false)
	case c0 == 'F' || c0 == 'f' || c0 == 'N' || c0 == 'n':
		d.sca(item, lane.KindRefraction, src)
	case c0 == 'A' || c0 == 'a':
		d.add(item, lane.KindRefraction, src)
	case (c0 == 'P' || c0 == 'p') && (c1 == 'D' || c1 == 'd'):
		d.pd(item, src)
	case c0 == 'P' || c0 == 'p':
		d.prism(item, lane.KindRefraction, src)
	case strings.IndexByte("VUHYJvuhyj", c0) >= 0:
		d.va(item, src, true)
	default:
		d.unknown[itemCode(item)] = true
	}
}

// knownIgnored lists RT items that are not lane measurements (binocular
// vision tests, dominant eye, stereo, aniseikonia, ETDRS charts, …): they
// are dropped without a warning.
func knownIgnored(item string) bool {
	if item[0] == '#' || ignoredCodes[item[:2]] {
		return true
	}
	// Single-letter codes followed by an eye: S/s, I/i (tests), E/e
	// (ETDRS), G/g, l.
	if strings.IndexByte("SsIiEeGgl", item[0]) >= 0 {
		if _, _, ok := eyeOf(item[1]); ok {
			return true
		}
	}
	return false
}

// ignoredCodes are the two-letter codes (or prefixes: AC for ACG/ACH, MG
// for MGA/MGB/MGC) of knownIgnored.
var ignoredCodes = map[string]bool{
	"ME": true, "CP": true, "AP": true, "NA": true, "PA": true, "AC": true, "SH": true, "sh": true,
	"PE": true, "pe": true, "MG": true, "FW": true, "SC": true, "sc": true, "AN": true, "AH": true,
	"CG": true, "ET": true, "DV": true, "CV": true, "dV": true, "cV": true,
}

func (d *decoder) key(kind lane.Kind, src lane.Source, eye lane.Eye, near bool, extra string) readingKey {
	return readingKey{kind: kind, source: src, eye: eye, near: near, night: d.sec.night, extra: extra}
}

func (d *decoder) newReading(kind lane.Kind, src lane.Source, eye lane.Eye) lane.Measurement {
	m := lane.Measurement{Kind: kind, Eye: eye, Source: src, Representative: true}
	if d.sec.night {
		codec.AddMethod(&m, codec.MethodNight)
	}
	if d.sec.code == "WF" {
		codec.AddMethod(&m, codec.MethodWavefront)
	}
	return m
}

// put adds or replaces the reading under k.
func (d *decoder) put(k readingKey, m lane.Measurement) {
	if i, ok := d.idx[k]; ok {
		d.warn("%s %s for %s sent twice; the later value is kept", k.source, k.kind, k.eye)
		d.c.Readings[i] = m
		return
	}
	d.idx[k] = len(d.c.Readings)
	d.c.Readings = append(d.c.Readings, m)
}

// sca decodes "<c><eye><SPH 6><CYL 6><AXIS 3>".
func (d *decoder) sca(item string, kind lane.Kind, src lane.Source) {
	eye, near, ok := eyeOf(item[1])
	if !ok || eye == lane.EyeBoth {
		d.unknown[itemCode(item)] = true
		return
	}
	if item[0] == 'N' || item[0] == 'n' {
		near = true
	}
	rf, err := field.SCA(item[2:])
	if err != nil {
		d.warn("item %s: %v", itemCode(item), err)
		return
	}
	m := d.newReading(kind, src, eye)
	m.CylinderSign = field.CylinderSign(rf.Cylinder)
	m.Refraction = &rf
	if near {
		codec.AddMethod(&m, codec.MethodNear)
	}
	d.put(d.key(kind, src, eye, near, ""), m)
}

// add decodes "<A|a><eye><ADD 6>" and joins it to the far SCA of the eye.
func (d *decoder) add(item string, kind lane.Kind, src lane.Source) {
	eye, _, ok := eyeOf(item[1])
	if !ok || eye == lane.EyeBoth {
		d.unknown[itemCode(item)] = true
		return
	}
	v, err := field.Diopters(item[2:])
	if err == nil && v < 0 {
		err = fmt.Errorf("negative: %w", lane.ErrInvalid)
	}
	if err != nil {
		d.warn("item %s: add: %v", itemCode(item), err)
		return
	}
	d.pendingAdd[d.key(kind, src, eye, false, "")] = v
}

// prism decodes "<P|p><eye>" followed by base letters I/O/U/D each with an
// amount, e.g. "I 2.00U 1.00".
func (d *decoder) prism(item string, kind lane.Kind, src lane.Source) {
	eye, _, ok := eyeOf(item[1])
	if !ok || eye == lane.EyeBoth {
		d.unknown[itemCode(item)] = true
		return
	}
	pr, err := parsePrism(item[2:])
	if err != nil {
		d.warn("item %s: prism: %v", itemCode(item), err)
		return
	}
	d.pendingPrism[d.key(kind, src, eye, false, "")] = pr
}

func parsePrism(p string) (lane.Prism, error) {
	var pr lane.Prism
	seen := false
	for len(p) > 0 {
		p = strings.TrimLeft(p, " ")
		if p == "" {
			break
		}
		base := p[0]
		j := 1
		for j < len(p) && strings.IndexByte("IOUD", p[j]) < 0 {
			j++
		}
		amount, neg, err := field.Prism(p[1:j])
		if err != nil || neg {
			return pr, fmt.Errorf("amount: %w", lane.ErrInvalid)
		}
		switch base {
		case 'I':
			pr.H, pr.HBase = amount, lane.BaseIn
		case 'O':
			pr.H, pr.HBase = amount, lane.BaseOut
		case 'U':
			pr.V, pr.VBase = amount, lane.BaseUp
		case 'D':
			pr.V, pr.VBase = amount, lane.BaseDown
		default:
			return pr, fmt.Errorf("base direction: %w", lane.ErrInvalid)
		}
		seen = true
		p = p[j:]
	}
	if !seen {
		return pr, field.ErrEmpty
	}
	return pr, nil
}

// pd decodes "PD"/"Pd"/"pD"/"pd": Bino(4) R(4) L(4), blanks where absent.
func (d *decoder) pd(item string, src lane.Source) {
	dist := lane.DistanceFar
	if item[1] == 'd' {
		dist = lane.DistanceNear
	}
	p := item[2:]
	if len(p) < 12 {
		p += strings.Repeat(" ", 12-len(p))
	}
	if strings.TrimSpace(p[12:]) != "" {
		d.warn("item %s: PD layout not understood", itemCode(item))
		return
	}
	for i, eye := range []lane.Eye{lane.EyeBoth, lane.EyeRight, lane.EyeLeft} {
		w := p[4*i : 4*i+4]
		if strings.TrimSpace(w) == "" {
			continue
		}
		v, err := field.PD(w, eye != lane.EyeBoth)
		if err != nil {
			d.warn("item %s: PD: %v", itemCode(item), err)
			continue
		}
		m := d.newReading(lane.KindPD, src, eye)
		m.PD = &lane.PD{Value: v, Distance: dist}
		d.put(d.key(lane.KindPD, src, eye, dist == lane.DistanceNear, ""), m)
	}
}

// va decodes VA(5) items (V, W, H, Y) and VA extended(7) items (U, M, J);
// a V and a U for the same eye and test are one reading.
func (d *decoder) va(item string, src lane.Source, aided bool) {
	eye, near, ok := eyeOf(item[1])
	if !ok {
		d.unknown[itemCode(item)] = true
		return
	}
	c := item[0] | 0x20 // lower case
	extended := c == 'u' || c == 'm' || c == 'j'
	variant := ""
	switch c {
	case 'h':
		variant = "pinhole"
	case 'y', 'j':
		variant = codec.MethodWithAdd
	}
	v, err := parseVA(item[2:], extended)
	if err != nil {
		d.warn("item %s: VA: %v", itemCode(item), err)
		return
	}
	v.Aided = aided
	v.Pinhole = variant == "pinhole"
	if near {
		v.Distance = lane.DistanceNear
	}
	k := d.key(lane.KindVA, src, eye, near, variant)
	if i, ok := d.idx[k]; ok {
		old := d.c.Readings[i].VA
		if old.Decimal != v.Decimal || old.Qualifier != v.Qualifier {
			d.warn("item %s: the 5- and 7-character acuities differ; the first is kept", itemCode(item))
			return
		}
		if extended {
			old.Letters = v.Letters
			old.Text = v.Text
		}
		return
	}
	m := d.newReading(lane.KindVA, src, eye)
	if variant == codec.MethodWithAdd {
		codec.AddMethod(&m, variant)
	}
	m.VA = &v
	d.put(k, m)
}

// parseVA reads "<compare><D.DD>" (5) and, extended, "<+|-><count>" (2).
func parseVA(p string, extended bool) (lane.VisualAcuity, error) {
	var v lane.VisualAcuity
	if len(p) < 5 {
		p += strings.Repeat(" ", 5-len(p))
	}
	cmp := p[0]
	val := strings.TrimSpace(p[1:5])
	if val == "" {
		return v, field.ErrEmpty
	}
	text := val
	switch cmp {
	case ' ':
	case '<':
		v.Qualifier = lane.VALessThan
		text = "<" + val
	case '>':
		v.Qualifier = lane.VAMoreThan
		text = ">" + val
	case '-':
		text = "-" + val // meaning not documented: kept verbatim
	default:
		// No compare column: the value starts at once.
		val = strings.TrimSpace(p[0:5])
		text = val
	}
	if strings.ContainsAny(val, ".,") {
		f, err := field.Fixed(val, 3)
		if err != nil || f <= 0 || f > 4000 {
			return v, fmt.Errorf("decimal acuity: %w", lane.ErrInvalid)
		}
		v.Decimal = float64(f) / 1000
	}
	if extended && len(p) >= 7 {
		sign, count := p[5], p[6]
		if count >= '0' && count <= '9' && (sign == '+' || sign == '-') {
			n := int(count - '0')
			if sign == '-' {
				n = -n
			}
			v.Letters = n
			text += string(sign) + string(count)
		}
	}
	v.Text = text
	return v, nil
}

// keratoItem decodes "C<eye>" R1(5) R2(5) AXIS(3) in mm and "D<eye>" R1(5)
// R2(5) in dioptres; both join one keratometry reading per eye.
func (d *decoder) keratoItem(item string) {
	c0 := item[0]
	eye, _, ok := eyeOf(item[1])
	if !ok || eye == lane.EyeBoth || (c0 != 'C' && c0 != 'D') {
		d.unknown[itemCode(item)] = true
		return
	}
	p := item[2:]
	if len(p) < 13 {
		p += strings.Repeat(" ", 13-len(p))
	}
	k := d.key(lane.KindKeratometry, lane.SourceObjective, eye, false, "")
	var km lane.Keratometry
	if i, ok := d.idx[k]; ok {
		km = *d.c.Readings[i].Keratometry
	}
	var err error
	if c0 == 'C' {
		if km.K1.Radius, err = field.Radius(p[0:5]); err == nil {
			if km.K2.Radius, err = field.Radius(p[5:10]); err == nil {
				km.K1.Axis, err = field.Axis(p[10:13])
			}
		}
	} else {
		if km.K1.Power, err = field.KPower(p[0:5]); err == nil {
			km.K2.Power, err = field.KPower(p[5:10])
		}
	}
	if err != nil {
		d.warn("item %s: keratometry: %v", itemCode(item), err)
		return
	}
	if i, ok := d.idx[k]; ok {
		*d.c.Readings[i].Keratometry = km
		return
	}
	m := d.newReading(lane.KindKeratometry, lane.SourceObjective, eye)
	m.Keratometry = &km
	d.put(k, m)
}

// tonoItem decodes "T<eye>" mmHg(4) and "t<eye>" kPa(4); the mmHg value is
// used when both are sent.
func (d *decoder) tonoItem(item string) {
	eye, _, ok := eyeOf(item[1])
	if !ok || eye == lane.EyeBoth || (item[0] != 'T' && item[0] != 't') {
		d.unknown[itemCode(item)] = true
		return
	}
	if item[0] == 't' {
		v, err := field.MmHgFromKPa(item[2:])
		if err != nil {
			d.warn("item %s: pressure: %v", itemCode(item), err)
			return
		}
		d.kpa[eye] = v
		return
	}
	v, err := field.MmHg(item[2:])
	if err != nil {
		d.warn("item %s: pressure: %v", itemCode(item), err)
		return
	}
	m := d.newReading(lane.KindIOP, lane.SourceObjective, eye)
	m.IOP = &lane.IOP{Pressure: v, Method: lane.IOPNonContact}
	d.put(d.key(lane.KindIOP, lane.SourceObjective, eye, false, ""), m)
}

// workingDistance records WD (subjective), wd (final) and Wd (lensmeter)
// working distances as a note on the matching readings.
func (d *decoder) workingDistance(code, v string) {
	cm, err := field.Int(v)
	if err != nil || cm <= 0 || cm > 999 {
		d.warn("item %s: working distance unreadable", code)
		return
	}
	src := map[string]lane.Source{"WD": lane.SourceSubjective, "wd": lane.SourceFinal, "Wd": lane.SourceLensometry}[code]
	d.notes[src] = append(d.notes[src], fmt.Sprintf("working distance %d cm", cm))
}

// refractionTime records TT (mmss) as a note on subjective and final
// refractions.
func (d *decoder) refractionTime(v string) {
	t := strings.TrimSpace(v)
	n, err := field.Int(t)
	if err != nil || n < 0 || n%100 >= 60 {
		d.warn("item TT: refraction time unreadable")
		return
	}
	note := fmt.Sprintf("refraction time %d:%02d", n/100, n%100)
	d.notes[lane.SourceSubjective] = append(d.notes[lane.SourceSubjective], note)
	d.notes[lane.SourceFinal] = append(d.notes[lane.SourceFinal], note)
}

// flushPending joins ADD and prism items to their refraction, converts kPa
// pressures sent without an mmHg twin, and writes notes.
func (d *decoder) flushPending() {
	join := func(k readingKey, what string, apply func(rf *lane.Refraction)) {
		if i, ok := d.idx[k]; ok && d.c.Readings[i].Refraction != nil {
			apply(d.c.Readings[i].Refraction)
			return
		}
		d.warn("%s for %s %s sent without sphere/cylinder; not imported", what, k.source, k.eye)
	}
	keys := make([]readingKey, 0, len(d.pendingAdd))
	for k := range d.pendingAdd {
		keys = append(keys, k)
	}
	sortKeys(keys)
	for _, k := range keys {
		v := d.pendingAdd[k]
		join(k, "ADD", func(rf *lane.Refraction) { rf.Add = v })
	}
	keys = keys[:0]
	for k := range d.pendingPrism {
		keys = append(keys, k)
	}
	sortKeys(keys)
	for _, k := range keys {
		p := d.pendingPrism[k]
		join(k, "prism", func(rf *lane.Refraction) { rf.Prism = p })
	}
	for _, eye := range []lane.Eye{lane.EyeRight, lane.EyeLeft} {
		v, ok := d.kpa[eye]
		if !ok {
			continue
		}
		k := readingKey{kind: lane.KindIOP, source: lane.SourceObjective, eye: eye}
		found := false
		for kk := range d.idx {
			if kk.kind == k.kind && kk.eye == eye {
				found = true
			}
		}
		if found {
			continue
		}
		m := lane.Measurement{Kind: lane.KindIOP, Eye: eye, Source: lane.SourceObjective, Representative: true,
			IOP: &lane.IOP{Pressure: v, Method: lane.IOPNonContact}}
		d.put(k, m)
		d.warn("pressure for %s sent in kPa only; converted to mmHg", eye)
	}
	for i := range d.c.Readings {
		m := &d.c.Readings[i]
		if m.Refraction == nil {
			continue
		}
		if notes := d.notes[m.Source]; len(notes) > 0 {
			m.Note = strings.Join(notes, "; ")
		}
	}
}

func sortKeys(keys []readingKey) {
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.source != b.source {
			return a.source < b.source
		}
		if a.eye != b.eye {
			return a.eye < b.eye
		}
		return !a.night && b.night
	})
}
