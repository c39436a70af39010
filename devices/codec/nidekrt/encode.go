package nidekrt

import (
	"fmt"
	"strings"

	"github.com/examlane/examlane/lane"
)

// Load is what the PC loads into the phoropter before a refraction: the
// autorefractor (objective) values and the lensmeter (habitual glasses)
// values. A nil eye or a zero PD leaves that block out; a Load with
// nothing in it cannot be encoded.
type Load struct {
	// ID, when set, is sent in the ID block (RT-3100/5100 only; the RT-2100
	// has none): up to 12 digits, right-justified and space-filled. Leave it
	// empty unless the practice wants the patient number on the phoropter.
	ID string
	// ARRight, ARLeft: objective refraction (sphere, cylinder, axis).
	ARRight, ARLeft *lane.Refraction
	// ARPD is the objective far PD (binocular).
	ARPD lane.Millimeters
	// LMRight, LMLeft: lensmeter readings (sphere, cylinder, axis, add and
	// rectangular prism).
	LMRight, LMLeft *lane.Refraction
	// LMPD is the PD measured on the glasses (binocular).
	LMPD lane.Millimeters
	// Night sends the values as night-time data (Drm/Dlm blocks).
	Night bool
}

// Encode builds the PC → RT frame (NIDEK RT-5100 interface manual §5–7):
//
//	SOH [DRL STX ID<12> ETB] [DRM STX OR<SCA> ETB OL<SCA> ETB PD<2> ETB]
//	    [DLM STX ␠R<SCA> ETB ␠L<SCA> ETB AR<ADD> ETB AL<ADD> ETB
//	     PR<H> ETB PR<V> ETB PL<H> ETB PL<V> ETB PD<2> ETB] EOT
//
// SCA is SPH(6) CYL(6) AXIS(3) with the sign always written and zeros
// kept ("-01.25+00.50090"); ADD is "DD.DD"; a prism is "DD.DD" and its
// base letter (I/O for horizontal, U/D for vertical); PD is two digits,
// rounded to the millimetre. Items are the records NIDEK lensmeters and
// autorefractors send to the RT themselves; values go in the cylinder
// convention they are given in. The manual does not spell out the PD
// item; "PD" plus two digits inside the block is our reading of it [U].
func Encode(l Load) ([]byte, error) {
	var b strings.Builder
	b.WriteByte(SOH)
	blocks := 0
	block := func(code string, items []string) {
		if len(items) == 0 {
			return
		}
		b.WriteString(code)
		b.WriteByte(STX)
		for _, it := range items {
			b.WriteString(it)
			b.WriteByte(ETB)
		}
		blocks++
	}
	if l.ID != "" {
		id := strings.TrimSpace(l.ID)
		if len(id) > 12 || strings.Trim(id, "0123456789") != "" {
			return nil, fmt.Errorf("%s encode: ID must be up to 12 digits: %w", Name, lane.ErrInvalid)
		}
		block("DRL", []string{"ID" + strings.Repeat(" ", 12-len(id)) + id})
	}

	var ar []string
	for _, e := range []struct {
		code string
		rf   *lane.Refraction
	}{{"OR", l.ARRight}, {"OL", l.ARLeft}} {
		if e.rf == nil {
			continue
		}
		s, err := scaField(*e.rf)
		if err != nil {
			return nil, fmt.Errorf("%s encode: autorefraction %s: %w", Name, e.code[1:], err)
		}
		ar = append(ar, e.code+s)
	}
	if l.ARPD != 0 {
		s, err := pdField(l.ARPD)
		if err != nil {
			return nil, fmt.Errorf("%s encode: autorefraction PD: %w", Name, err)
		}
		ar = append(ar, s)
	}
	block(nightCode("DRM", l.Night), ar)

	var lm []string
	type eyeRx struct {
		eye string
		rf  *lane.Refraction
	}
	eyes := []eyeRx{{"R", l.LMRight}, {"L", l.LMLeft}}
	for _, e := range eyes {
		if e.rf == nil {
			continue
		}
		s, err := scaField(*e.rf)
		if err != nil {
			return nil, fmt.Errorf("%s encode: lensmeter %s: %w", Name, e.eye, err)
		}
		lm = append(lm, " "+e.eye+s)
	}
	for _, e := range eyes {
		if e.rf == nil || e.rf.Add == 0 {
			continue
		}
		if e.rf.Add < 0 || e.rf.Add > 9990 {
			return nil, fmt.Errorf("%s encode: lensmeter %s add out of range 0..9.99: %w", Name, e.eye, lane.ErrRange)
		}
		lm = append(lm, "A"+e.eye+unsigned(int64(e.rf.Add)))
	}
	for _, e := range eyes {
		if e.rf == nil || e.rf.Prism.IsZero() {
			continue
		}
		p := e.rf.Prism
		if p.H != 0 {
			base := map[lane.HorizontalBase]string{lane.BaseIn: "I", lane.BaseOut: "O"}[p.HBase]
			if base == "" || p.H > 30000 {
				return nil, fmt.Errorf("%s encode: lensmeter %s horizontal prism needs a base in/out and ≤30Δ: %w", Name, e.eye, lane.ErrInvalid)
			}
			lm = append(lm, "P"+e.eye+unsigned(int64(p.H))+base)
		}
		if p.V != 0 {
			base := map[lane.VerticalBase]string{lane.BaseUp: "U", lane.BaseDown: "D"}[p.VBase]
			if base == "" || p.V > 30000 {
				return nil, fmt.Errorf("%s encode: lensmeter %s vertical prism needs a base up/down and ≤30Δ: %w", Name, e.eye, lane.ErrInvalid)
			}
			lm = append(lm, "P"+e.eye+unsigned(int64(p.V))+base)
		}
	}
	if l.LMPD != 0 {
		s, err := pdField(l.LMPD)
		if err != nil {
			return nil, fmt.Errorf("%s encode: lensmeter PD: %w", Name, err)
		}
		lm = append(lm, s)
	}
	block(nightCode("DLM", l.Night), lm)

	if blocks == 0 || (blocks == 1 && l.ID != "") {
		return nil, fmt.Errorf("%s encode: nothing to send: %w", Name, lane.ErrInvalid)
	}
	b.WriteByte(EOT)
	return []byte(b.String()), nil
}

func nightCode(code string, night bool) string {
	if night {
		return code[:1] + strings.ToLower(code[1:])
	}
	return code
}

// scaField formats SPH(6) CYL(6) AXIS(3): "+01.25-00.50090".
func scaField(rf lane.Refraction) (string, error) {
	if rf.Sphere > 29990 || rf.Sphere < -29990 || rf.Cylinder > 9990 || rf.Cylinder < -9990 {
		return "", fmt.Errorf("power beyond what the phoropter accepts: %w", lane.ErrRange)
	}
	if rf.Sphere%10 != 0 || rf.Cylinder%10 != 0 {
		return "", fmt.Errorf("power finer than 0.01 D: %w", lane.ErrInvalid)
	}
	axis := int(rf.Axis)
	if rf.Cylinder != 0 && (axis < 1 || axis > 180) {
		return "", fmt.Errorf("cylinder without an axis: %w", lane.ErrInvalid)
	}
	if rf.Cylinder == 0 {
		axis = 0
	}
	return signed(int64(rf.Sphere)) + signed(int64(rf.Cylinder)) + fmt.Sprintf("%03d", axis), nil
}

// signed formats thousandths of a dioptre as "±DD.DD".
func signed(v int64) string {
	sign := "+"
	if v < 0 {
		sign, v = "-", -v
	}
	return sign + unsigned(v)
}

// unsigned formats thousandths as "DD.DD".
func unsigned(v int64) string {
	v /= 10
	return fmt.Sprintf("%02d.%02d", v/100, v%100)
}

// pdField formats "PD" and the PD rounded to whole millimetres.
func pdField(pd lane.Millimeters) (string, error) {
	mm := (int(pd) + 50) / 100
	if mm < 30 || mm > 99 {
		return "", fmt.Errorf("PD out of range 30..99 mm: %w", lane.ErrRange)
	}
	return fmt.Sprintf("PD%02d", mm), nil
}
