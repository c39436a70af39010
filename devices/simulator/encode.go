package simulator

import (
	"fmt"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
)

// Control bytes of the framed dialects.
const (
	soh = 0x01
	stx = 0x02
	eot = 0x04
	etb = 0x17
	cr  = 0x0D
	lf  = 0x0A
	fs  = 0x1C
	gs  = 0x1D
	rs  = 0x1E
)

// Eyes holds a value per eye; nil means the eye was not measured.
type Eyes[T any] struct {
	R, L *T
}

// RTPrint is what a NIDEK RT phoropter sends when PRINT is pressed: any
// section may be empty.
type RTPrint struct {
	Model string // "RT-5100"
	Date  time.Time
	// Lensmeter holds the glasses read into the RT (@LM), with Add.
	Lensmeter Eyes[lane.Refraction]
	// Objective holds the autorefraction (@RM) and its PD.
	Objective   Eyes[lane.Refraction]
	ObjectivePD lane.Millimeters
	// Subjective (lower-case items) and Final (upper-case items) are the
	// @RT refraction results, with Add.
	Subjective Eyes[lane.Refraction]
	Final      Eyes[lane.Refraction]
	// Kerato (@KM, radii and axis) and Tono (@NT, mmHg).
	Kerato Eyes[lane.Keratometry]
	Tono   Eyes[lane.MmHg]
}

// EncodeRT builds an RT → PC frame the way the RT-5100 prints one (device
// notes §2.1): SOH heading CR, STX-prefixed items each ending in CR,
// space-padded numbers, EOT CR, no checksum.
func EncodeRT(p RTPrint) []byte {
	var b strings.Builder
	model := p.Model
	if model == "" {
		model = "RT-5100"
	}
	// Real captures pad month and day with a space and leave the 12-char ID
	// blank (device notes §2.1).
	fmt.Fprintf(&b, "%cNIDEK %s ID%12s DA%4d/%2d/%2d\r", soh, model, "", p.Date.Year(), int(p.Date.Month()), p.Date.Day())
	item := func(s string) { fmt.Fprintf(&b, "%c%s\r", stx, s) }
	sca := func(code byte, eye string, rf *lane.Refraction) {
		if rf != nil {
			item(string(code) + eye + rtSCA(*rf))
		}
	}
	add := func(code byte, eye string, rf *lane.Refraction) {
		if rf != nil && rf.Add != 0 {
			item(string(code) + eye + rtPower(rf.Add))
		}
	}
	if p.Lensmeter.R != nil || p.Lensmeter.L != nil {
		item("@LM")
		sca(' ', "R", p.Lensmeter.R)
		sca(' ', "L", p.Lensmeter.L)
		add('A', "R", p.Lensmeter.R)
		add('A', "L", p.Lensmeter.L)
	}
	if p.Objective.R != nil || p.Objective.L != nil || p.ObjectivePD != 0 {
		item("@RM")
		sca('O', "R", p.Objective.R)
		sca('O', "L", p.Objective.L)
		if p.ObjectivePD != 0 {
			item("PD" + rtPD(p.ObjectivePD) + strings.Repeat(" ", 8))
		}
	}
	if p.Subjective.R != nil || p.Subjective.L != nil || p.Final.R != nil || p.Final.L != nil {
		item("@RT")
		sca('f', "R", p.Subjective.R)
		sca('f', "L", p.Subjective.L)
		add('a', "R", p.Subjective.R)
		add('a', "L", p.Subjective.L)
		sca('F', "R", p.Final.R)
		sca('F', "L", p.Final.L)
		add('A', "R", p.Final.R)
		add('A', "L", p.Final.L)
	}
	if p.Kerato.R != nil || p.Kerato.L != nil {
		item("@KM")
		for _, e := range []struct {
			eye string
			k   *lane.Keratometry
		}{{"R", p.Kerato.R}, {"L", p.Kerato.L}} {
			if e.k != nil {
				item(fmt.Sprintf("C%s%5s%5s%3d", e.eye, mm2(e.k.K1.Radius), mm2(e.k.K2.Radius), e.k.K1.Axis))
			}
		}
	}
	if p.Tono.R != nil || p.Tono.L != nil {
		item("@NT")
		for _, e := range []struct {
			eye string
			v   *lane.MmHg
		}{{"R", p.Tono.R}, {"L", p.Tono.L}} {
			if e.v != nil {
				item(fmt.Sprintf("T%s%4s", e.eye, fmt.Sprintf("%d.%d", *e.v/10, *e.v%10)))
			}
		}
	}
	fmt.Fprintf(&b, "%c\r", eot)
	return []byte(b.String())
}

// rtPower formats a power as the RT does: sign (blank for zero), then
// "D.DD" right-aligned in 5 ("- 1.50", "-10.50", "  0.00").
func rtPower(d lane.Diopters) string {
	sign := "+"
	switch {
	case d < 0:
		sign = "-"
	case d == 0:
		sign = " "
	}
	return sign + fmt.Sprintf("%5s", hundredths(int64(d.Abs())/10))
}

// rtSCA formats SPH(6) CYL(6) AXIS(3), axis space-padded, 0 without cyl.
func rtSCA(rf lane.Refraction) string {
	ax := int(rf.Axis)
	if rf.Cylinder == 0 {
		ax = 0
	}
	return rtPower(rf.Sphere) + rtPower(rf.Cylinder) + fmt.Sprintf("%3d", ax)
}

// rtPD formats a binocular PD as 4 characters, "64.0".
func rtPD(m lane.Millimeters) string { return fmt.Sprintf("%4.1f", m.Float()) }

func hundredths(v int64) string { return fmt.Sprintf("%d.%02d", v/100, v%100) }

func mm2(m lane.Millimeters) string { return hundredths(int64(m)) }

// LMReading is one lensmeter measurement of a pair of glasses.
type LMReading struct {
	Model string // e.g. "LM-1000P"
	R, L  *lane.Refraction
}

// DBlockOptions shapes a D-block frame.
type DBlockOptions struct {
	// CRCode puts a CR after every ETB (the instrument's "CR code" ON).
	CRCode bool
	// NoChecksum leaves out the 4-digit checksum (NIDEK I/F mode).
	NoChecksum bool
	// BadChecksum sends a wrong checksum.
	BadChecksum bool
}

// EncodeDBlockLM builds a NIDEK lensmeter frame (device notes §2.3):
//
//	SOH "DLM" STX "IDNIDEK/<model>" ETB [CR] " R"<SCA> ETB [CR] "AR"<ADD> ETB [CR]
//	"PR"<H><I|O> ETB [CR] "PR"<V><U|D> ETB [CR] … same for L … EOT <sum 4 hex> CR
//
// with zero-padded numbers ("-01.25").
func EncodeDBlockLM(r LMReading, o DBlockOptions) []byte {
	model := r.Model
	if model == "" {
		model = "LM-1000P"
	}
	items := []string{"IDNIDEK/" + model}
	for _, e := range []struct {
		eye string
		rf  *lane.Refraction
	}{{"R", r.R}, {"L", r.L}} {
		if e.rf == nil {
			continue
		}
		items = append(items, " "+e.eye+dSCA(*e.rf))
		if e.rf.Add != 0 {
			items = append(items, "A"+e.eye+dUnsigned(int64(e.rf.Add)))
		}
		p := e.rf.Prism
		if p.H != 0 {
			items = append(items, "P"+e.eye+dUnsigned(int64(p.H))+map[lane.HorizontalBase]string{lane.BaseIn: "I", lane.BaseOut: "O"}[p.HBase])
		}
		if p.V != 0 {
			items = append(items, "P"+e.eye+dUnsigned(int64(p.V))+map[lane.VerticalBase]string{lane.BaseUp: "U", lane.BaseDown: "D"}[p.VBase])
		}
	}
	return dblock("DLM", items, o)
}

// ARReading is one autorefractor/keratometer measurement.
type ARReading struct {
	Model string // e.g. "ARK-1"
	R, L  *lane.Refraction
	PD    lane.Millimeters
}

// EncodeDBlockAR builds a NIDEK ARK frame in the D-block grammar the RT
// accepts from an ARK (device notes §2.2/§2.4, inferred [U]):
//
//	SOH "DRM" STX "IDNIDEK/<model>" ETB "OR"<SCA> ETB "OL"<SCA> ETB "PD"<2> ETB EOT <sum>
func EncodeDBlockAR(r ARReading, o DBlockOptions) []byte {
	model := r.Model
	if model == "" {
		model = "ARK-1"
	}
	items := []string{"IDNIDEK/" + model}
	if r.R != nil {
		items = append(items, "OR"+dSCA(*r.R))
	}
	if r.L != nil {
		items = append(items, "OL"+dSCA(*r.L))
	}
	if r.PD != 0 {
		items = append(items, fmt.Sprintf("PD%02d", (int(r.PD)+50)/100))
	}
	return dblock("DRM", items, o)
}

func dblock(code string, items []string, o DBlockOptions) []byte {
	var b []byte
	b = append(b, soh)
	b = append(b, code...)
	b = append(b, stx)
	for _, it := range items {
		b = append(b, it...)
		b = append(b, etb)
		if o.CRCode {
			b = append(b, cr)
		}
	}
	b = append(b, eot)
	if !o.NoChecksum {
		sum := DBlockChecksum(b)
		if o.BadChecksum {
			sum ^= 0x0101
		}
		b = append(b, fmt.Sprintf("%04X", sum)...)
	}
	return append(b, cr)
}

// DBlockChecksum is the NIDEK D-block checksum: the sum of every byte from
// SOH to EOT except CR, modulo 0x10000 (device notes §2.3, checked on the
// manual's example).
func DBlockChecksum(frame []byte) uint16 {
	var sum uint16
	for _, c := range frame {
		if c != cr {
			sum += uint16(c)
		}
		if c == eot {
			break
		}
	}
	return sum
}

// dSCA formats SPH(6) CYL(6) AXIS(3) zero-padded ("-01.25-00.75120").
func dSCA(rf lane.Refraction) string {
	ax := int(rf.Axis)
	if rf.Cylinder == 0 {
		ax = 0
	}
	return dSigned(int64(rf.Sphere)) + dSigned(int64(rf.Cylinder)) + fmt.Sprintf("%03d", ax)
}

func dSigned(v int64) string {
	sign := "+"
	if v < 0 {
		sign, v = "-", -v
	}
	return sign + dUnsigned(v)
}

func dUnsigned(v int64) string {
	v /= 10
	return fmt.Sprintf("%02d.%02d", v/100, v%100)
}

// DCSOptions shapes a DCS message.
type DCSOptions struct {
	// PadCRC writes the CRC zero-padded to 5 digits (VEN=BRI devices).
	PadCRC bool
	// BadCRC sends a wrong CRC.
	BadCRC bool
}

// EncodeDCSLensmeter builds a Vision Council DCS message with lensmeter
// power records (device notes §5): FS, LABEL=R;L records each ending CRLF,
// RS, CRC=<decimal CRC-16/XMODEM over the body after FS up to and including
// RS> CRLF, GS. The lensmeter record set is not verified against DCS v3.12
// [U]; this is the common SPH/CYL/AX/ADD/PRVM/PRVA set.
func EncodeDCSLensmeter(r LMReading, o DCSOptions) []byte {
	model := r.Model
	if model == "" {
		model = "LM-DCS"
	}
	val := func(f func(*lane.Refraction) string) string {
		var parts [2]string
		for i, rf := range []*lane.Refraction{r.R, r.L} {
			if rf != nil {
				parts[i] = f(rf)
			}
		}
		return parts[0] + ";" + parts[1]
	}
	recs := []string{
		"DEV=LMT", "VEN=SIM", "MODEL=" + model,
		"SPH=" + val(func(rf *lane.Refraction) string { return rf.Sphere.String() }),
		"CYL=" + val(func(rf *lane.Refraction) string { return rf.Cylinder.String() }),
		"AX=" + val(func(rf *lane.Refraction) string {
			if rf.Cylinder == 0 {
				return "0"
			}
			return fmt.Sprint(int(rf.Axis))
		}),
	}
	if (r.R != nil && r.R.Add != 0) || (r.L != nil && r.L.Add != 0) {
		recs = append(recs, "ADD="+val(func(rf *lane.Refraction) string { return unsignedPower(rf.Add) }))
	}
	var body []byte
	for _, rec := range recs {
		body = append(body, rec...)
		body = append(body, cr, lf)
	}
	body = append(body, rs)
	crc := CRC16XMODEM(body)
	if o.BadCRC {
		crc ^= 0x00ff
	}
	crcText := fmt.Sprintf("%d", crc)
	if o.PadCRC {
		crcText = fmt.Sprintf("%05d", crc)
	}
	out := []byte{fs}
	out = append(out, body...)
	out = append(out, "CRC="+crcText...)
	out = append(out, cr, lf, gs)
	return out
}

func unsignedPower(d lane.Diopters) string {
	return hundredths(int64(d.Abs()) / 10)
}

// CRC16XMODEM is CRC-16/XMODEM (poly 0x1021, init 0, no reflection), the
// DCS checksum.
func CRC16XMODEM(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
