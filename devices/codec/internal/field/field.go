// Package field parses the numeric fields instrument dialects send (powers,
// axes, lengths, pressures, acuities) into exact lane units without going
// through floating point. It accepts the padding variants seen in real
// captures: a sign separated from the digits by spaces ("- 1.50"), a blank
// sign for zero ("  0.00"), leading zeros ("-01.25"), surrounding blanks
// (" +3.75"), bare integers ("0") and a decimal comma ("1,25"). StripUnit
// removes a unit suffix ("550um") where a format writes one.
//
// Errors wrap lane.ErrInvalid (or lane.ErrRange for values outside what the
// lane accepts) and never quote the value, so they are safe to log.
package field

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/examlane/examlane/lane"
)

// ErrEmpty reports a blank field: the instrument did not measure the value.
var ErrEmpty = errors.New("empty field")

// Fixed parses a decimal number into an integer scaled by 10^scale,
// rounding half away from zero when the text has more fractional digits.
// Anything but blanks, a sign, digits and one decimal separator is an
// error: fixed-width serial fields carry no units (see StripUnit).
func Fixed(s string, scale int) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, ErrEmpty
	}
	neg := false
	switch s[0] {
	case '+':
		s = strings.TrimLeft(s[1:], " ")
	case '-':
		neg = true
		s = strings.TrimLeft(s[1:], " ")
	}
	if s == "" {
		return 0, fmt.Errorf("number: sign without digits: %w", lane.ErrInvalid)
	}
	var ip, fp string
	if i := strings.IndexAny(s, ".,"); i >= 0 {
		ip, fp = s[:i], s[i+1:]
	} else {
		ip = s
	}
	if ip == "" && fp == "" {
		return 0, fmt.Errorf("number: no digits: %w", lane.ErrInvalid)
	}
	if len(ip) > 9 || len(fp) > 9 {
		return 0, fmt.Errorf("number: too many digits: %w", lane.ErrInvalid)
	}
	var v int64
	for i := 0; i < len(ip); i++ {
		c := ip[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("number: unexpected character: %w", lane.ErrInvalid)
		}
		v = v*10 + int64(c-'0')
	}
	round := false
	for i := 0; i < len(fp); i++ {
		c := fp[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("number: unexpected character: %w", lane.ErrInvalid)
		}
		switch {
		case i < scale:
			v = v*10 + int64(c-'0')
		case i == scale:
			round = c >= '5'
		}
	}
	for i := len(fp); i < scale; i++ {
		v *= 10
	}
	if round {
		v++
	}
	if neg {
		v = -v
	}
	return v, nil
}

// StripUnit drops a unit written after a number ("550um", "12.7mmHg",
// "0.0%", "550µm"); text that is not a number followed by a unit (e.g.
// "ERR") is returned unchanged, so the parser still rejects it.
func StripUnit(s string) string {
	end := len(s)
	for end > 0 {
		c := s[end-1]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '%' || c >= 0x80 {
			end--
			continue
		}
		break
	}
	t := strings.TrimSpace(s[:end])
	if t == "" || t[len(t)-1] < '0' || t[len(t)-1] > '9' {
		// Not a number followed by a unit (e.g. "ERR"): keep it whole so
		// that the parser reports it instead of taking it for a blank.
		return s
	}
	return t
}

// Int parses a whole number (blanks allowed around it).
func Int(s string) (int, error) {
	v, err := Fixed(s, 0)
	if err != nil {
		return 0, err
	}
	if strings.ContainsAny(s, ".,") {
		if f, _ := Fixed(s, 3); f%1000 != 0 {
			return 0, fmt.Errorf("number: want a whole number: %w", lane.ErrInvalid)
		}
	}
	return int(v), nil
}

// Diopters parses a spectacle power (sphere, cylinder, add, near sphere):
// at most ±40 D, thousandths kept exactly.
func Diopters(s string) (lane.Diopters, error) {
	v, err := Fixed(s, 3)
	if err != nil {
		return 0, err
	}
	if v > int64(lane.MaxPower) || v < -int64(lane.MaxPower) {
		return 0, fmt.Errorf("power out of range ±40 D: %w", lane.ErrRange)
	}
	return lane.Diopters(v), nil
}

// KPower parses a keratometric power in dioptres: 20..80 D.
func KPower(s string) (lane.Diopters, error) {
	v, err := Fixed(s, 3)
	if err != nil {
		return 0, err
	}
	if v < 20000 || v > 80000 {
		return 0, fmt.Errorf("corneal power out of range 20..80 D: %w", lane.ErrRange)
	}
	return lane.Diopters(v), nil
}

// Axis parses a cylinder axis in whole degrees, 0..180; 0 becomes 180 (the
// same meridian). A zero or blank axis with no cylinder is the caller's
// business: AxisOrNone accepts it.
func Axis(s string) (lane.Axis, error) {
	v, err := Int(s)
	if err != nil {
		return 0, err
	}
	a, err := lane.NewAxis(v)
	if err != nil {
		return 0, fmt.Errorf("axis out of range 0..180: %w", lane.ErrRange)
	}
	return a, nil
}

// AxisFor parses the axis of a refraction whose cylinder is cyl: with no
// cylinder the axis is meaningless and returned as zero (a blank axis is
// fine); with a cylinder it must be 0..180.
func AxisFor(s string, cyl lane.Diopters) (lane.Axis, error) {
	if cyl == 0 {
		if _, err := Int(s); err != nil && !errors.Is(err, ErrEmpty) {
			return 0, err
		}
		return 0, nil
	}
	return Axis(s)
}

// Millimeters parses a length in millimetres with the given bounds.
func Millimeters(s string, min, max float64) (lane.Millimeters, error) {
	v, err := Fixed(s, 2)
	if err != nil {
		return 0, err
	}
	if v < int64(min*100) || v > int64(max*100) {
		return 0, fmt.Errorf("length out of range %v..%v mm: %w", min, max, lane.ErrRange)
	}
	return lane.Millimeters(v), nil
}

// Radius parses a corneal radius in millimetres (4..15 mm).
func Radius(s string) (lane.Millimeters, error) { return Millimeters(s, 4, 15) }

// PD parses a pupillary distance: binocular 30..90 mm, monocular 15..45 mm.
func PD(s string, mono bool) (lane.Millimeters, error) {
	if mono {
		return Millimeters(s, 15, 45)
	}
	return Millimeters(s, 30, 90)
}

// Prism parses a prism amount; a sign, if any, is returned separately so
// the caller can turn it into a base direction.
func Prism(s string) (amount lane.PrismDiopters, negative bool, err error) {
	v, err := Fixed(s, 3)
	if err != nil {
		return 0, false, err
	}
	if v < 0 {
		negative, v = true, -v
	}
	if v > 30000 {
		return 0, false, fmt.Errorf("prism out of range 0..30: %w", lane.ErrRange)
	}
	return lane.PrismDiopters(v), negative, nil
}

// MmHg parses a pressure in mmHg (0..90).
func MmHg(s string) (lane.MmHg, error) {
	v, err := Fixed(s, 1)
	if err != nil {
		return 0, err
	}
	if v < 0 || v > 900 {
		return 0, fmt.Errorf("pressure out of range 0..90 mmHg: %w", lane.ErrRange)
	}
	return lane.MmHg(v), nil
}

// MmHgFromKPa converts a pressure in kilopascals (1 kPa = 7.50062 mmHg).
func MmHgFromKPa(s string) (lane.MmHg, error) {
	v, err := Fixed(s, 3) // thousandths of kPa = pascals
	if err != nil {
		return 0, err
	}
	return mmHgFromPa(v)
}

// MmHgFromHPa converts a pressure in hectopascals (1 hPa = 0.750062 mmHg).
func MmHgFromHPa(s string) (lane.MmHg, error) {
	v, err := Fixed(s, 2) // hundredths of hPa = pascals
	if err != nil {
		return 0, err
	}
	return mmHgFromPa(v)
}

func mmHgFromPa(pa int64) (lane.MmHg, error) {
	// tenths of mmHg = Pa × 10 / 133.322 = Pa × 10000 / 133322, rounded.
	if pa < 0 || pa > 12000 {
		return 0, fmt.Errorf("pressure out of range 0..90 mmHg: %w", lane.ErrRange)
	}
	return lane.MmHg((pa*10000 + 66661) / 133322), nil
}

// MicrometersFromMM parses a thickness written in millimetres ("0.550").
func MicrometersFromMM(s string) (lane.Micrometers, error) {
	v, err := Fixed(s, 3)
	if err != nil {
		return 0, err
	}
	return micrometers(v)
}

// Micrometers parses a thickness written in micrometres ("550", "550um").
func Micrometers(s string) (lane.Micrometers, error) {
	v, err := Fixed(s, 0)
	if err != nil {
		return 0, err
	}
	return micrometers(v)
}

func micrometers(v int64) (lane.Micrometers, error) {
	if v < 100 || v > 1500 {
		return 0, fmt.Errorf("thickness out of range 100..1500 µm: %w", lane.ErrRange)
	}
	return lane.Micrometers(v), nil
}

// CylinderSign returns the convention a cylinder was written in, defaulting
// to minus cylinder for a zero cylinder.
func CylinderSign(cyl lane.Diopters) lane.CylinderSign {
	if cyl > 0 {
		return lane.PlusCylinder
	}
	return lane.MinusCylinder
}

// CylinderMode parses a declared cylinder convention ("-", "+", "minus",
// "plus"); ok is false for anything else (e.g. "mix").
func CylinderMode(s string) (lane.CylinderSign, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "-", "minus", "-cyl":
		return lane.MinusCylinder, true
	case "+", "plus", "+cyl":
		return lane.PlusCylinder, true
	}
	return 0, false
}

// SCA parses the fixed-width sphere-cylinder-axis field of the NIDEK
// dialects: SPH(6) CYL(6) AXIS(3), space- or zero-padded ("- 1.50- 0.75180",
// "-01.25-00.75120"). Nothing but blanks may follow the axis.
func SCA(p string) (lane.Refraction, error) {
	var rf lane.Refraction
	if len(p) < 15 {
		p += strings.Repeat(" ", 15-len(p))
	}
	sph, err := Diopters(p[0:6])
	if err != nil {
		return rf, fmt.Errorf("sphere: %w", err)
	}
	cyl, err := Diopters(p[6:12])
	if err != nil {
		return rf, fmt.Errorf("cylinder: %w", err)
	}
	ax, err := AxisFor(p[12:15], cyl)
	if err != nil {
		return rf, fmt.Errorf("axis: %w", err)
	}
	if strings.TrimSpace(p[15:]) != "" {
		return rf, fmt.Errorf("unexpected text after the axis: %w", lane.ErrInvalid)
	}
	rf.Sphere, rf.Cylinder, rf.Axis = sph, cyl, ax
	return rf, nil
}

// PolarPrism turns a prism given as an amount and a base angle in the
// 360° notation (seen from the front, counter-clockwise from the
// examiner's right: 0° points to the patient's left, 90° up) into
// rectangular components for one eye: for the right eye 0° is nasal (base
// in), for the left eye temporal (base out). Components are rounded to
// 0.01Δ.
func PolarPrism(amount lane.PrismDiopters, angleDeg int, eye lane.Eye) (lane.Prism, error) {
	if eye != lane.EyeRight && eye != lane.EyeLeft {
		return lane.Prism{}, fmt.Errorf("polar prism needs the eye: %w", lane.ErrInvalid)
	}
	if angleDeg < 0 || angleDeg > 360 {
		return lane.Prism{}, fmt.Errorf("prism base angle out of range 0..360: %w", lane.ErrRange)
	}
	rad := float64(angleDeg) * math.Pi / 180
	h := math.Round(float64(amount)*math.Cos(rad)/10) * 10
	v := math.Round(float64(amount)*math.Sin(rad)/10) * 10
	var p lane.Prism
	switch {
	case h > 0 && eye == lane.EyeRight, h < 0 && eye == lane.EyeLeft:
		p.H, p.HBase = lane.PrismDiopters(math.Abs(h)), lane.BaseIn
	case h != 0:
		p.H, p.HBase = lane.PrismDiopters(math.Abs(h)), lane.BaseOut
	}
	switch {
	case v > 0:
		p.V, p.VBase = lane.PrismDiopters(v), lane.BaseUp
	case v < 0:
		p.V, p.VBase = lane.PrismDiopters(-v), lane.BaseDown
	}
	return p, nil
}
