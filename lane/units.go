package lane

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// ErrRange reports a value outside the range a unit accepts.
var ErrRange = errors.New("value out of range")

// Diopters is an optical power in exact thousandths of a dioptre
// (Diopter = 1000). Arithmetic with + and - is exact; use Scale for
// percentages.
type Diopters int32

// Diopter is one dioptre.
const Diopter Diopters = 1000

// MaxPower bounds every power the lane accepts (±40 D covers aphakia and high
// myopia with margin; anything beyond is an input error).
const MaxPower Diopters = 40 * Diopter

// NewDiopters converts a decimal dioptre value, rounding to the nearest
// thousandth. NaN, infinities and magnitudes above MaxPower are rejected.
func NewDiopters(f float64) (Diopters, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > float64(MaxPower)/1000 {
		return 0, fmt.Errorf("power %v D: %w (limit ±%v D)", f, ErrRange, float64(MaxPower)/1000)
	}
	return Diopters(math.Round(f * 1000)), nil
}

// MustDiopters is NewDiopters for constants in code and tests; it panics on
// an invalid value.
func MustDiopters(f float64) Diopters {
	d, err := NewDiopters(f)
	if err != nil {
		panic(err)
	}
	return d
}

// Float returns the power in dioptres.
func (d Diopters) Float() float64 { return float64(d) / 1000 }

// Abs returns the magnitude of d.
func (d Diopters) Abs() Diopters {
	if d < 0 {
		return -d
	}
	return d
}

// Scale returns d×num/den rounded half away from zero to the nearest
// thousandth, e.g. d.Scale(2, 100) for 2 %.
func (d Diopters) Scale(num, den int64) Diopters {
	v := int64(d) * num
	if v >= 0 {
		return Diopters((v + den/2) / den)
	}
	return Diopters(-((-v + den/2) / den))
}

// String formats d the way clinicians write it: an explicit sign and two
// decimals ("+1.25", "-0.75", "0.00"), or three when the value needs them
// ("+0.125").
func (d Diopters) String() string {
	sign := "+"
	if d < 0 {
		sign = "-"
	}
	if d == 0 {
		sign = ""
	}
	a := int64(d.Abs())
	if a%10 != 0 {
		return fmt.Sprintf("%s%d.%03d", sign, a/1000, a%1000)
	}
	return fmt.Sprintf("%s%d.%02d", sign, a/1000, (a%1000)/10)
}

// Axis is a cylinder axis in whole degrees, always in 1..180 (0 ≡ 180). The
// zero value means "no axis" and is only valid with a zero cylinder.
type Axis int16

// NewAxis validates and normalises an axis in degrees: 0 becomes 180, values
// outside 0..180 are rejected.
func NewAxis(deg int) (Axis, error) {
	if deg < 0 || deg > 180 {
		return 0, fmt.Errorf("axis %d°: %w (0..180)", deg, ErrRange)
	}
	if deg == 0 {
		deg = 180
	}
	return Axis(deg), nil
}

// NormalizeAxis maps any whole number of degrees onto 1..180, treating axes
// as meridians (a rotation by 180° is the same axis).
func NormalizeAxis(deg int) Axis {
	deg %= 180
	if deg <= 0 {
		deg += 180
	}
	return Axis(deg)
}

// Degrees returns the axis as an int.
func (a Axis) Degrees() int { return int(a) }

// String formats the axis as clinicians write it, zero-padded to three
// digits ("005", "180").
func (a Axis) String() string { return fmt.Sprintf("%03d", int(a)) }

// AxisDifference returns the smallest angle between two axes as meridians,
// 0..90: 179 and 2 differ by 3.
func AxisDifference(a, b Axis) int {
	d := int(a) - int(b)
	if d < 0 {
		d = -d
	}
	d %= 180
	if d > 90 {
		d = 180 - d
	}
	return d
}

// Millimeters is a length in exact hundredths of a millimetre.
type Millimeters int32

// Millimeter is one millimetre.
const Millimeter Millimeters = 100

// NewMillimeters converts a decimal millimetre value, rounding to the nearest
// hundredth; it rejects NaN, infinities and values outside 0..1000 mm.
func NewMillimeters(f float64) (Millimeters, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1000 {
		return 0, fmt.Errorf("length %v mm: %w (0..1000)", f, ErrRange)
	}
	return Millimeters(math.Round(f * 100)), nil
}

// Float returns the length in millimetres.
func (m Millimeters) Float() float64 { return float64(m) / 100 }

// String formats the length with two decimals, trailing zeros trimmed to one
// ("63.5", "7.85", "12.0").
func (m Millimeters) String() string {
	s := strconv.FormatFloat(m.Float(), 'f', 2, 64)
	if len(s) > 3 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	return s
}

// PrismDiopters is a prism amount (Δ) in exact thousandths, never negative;
// direction is carried by the base.
type PrismDiopters int32

// PrismDiopter is one prism dioptre.
const PrismDiopter PrismDiopters = 1000

// NewPrismDiopters converts a decimal prism amount; it rejects negative,
// NaN and values above 30 Δ.
func NewPrismDiopters(f float64) (PrismDiopters, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 30 {
		return 0, fmt.Errorf("prism %vΔ: %w (0..30)", f, ErrRange)
	}
	return PrismDiopters(math.Round(f * 1000)), nil
}

// Float returns the amount in prism dioptres.
func (p PrismDiopters) Float() float64 { return float64(p) / 1000 }

// String formats the amount with up to three decimals, trailing zeros trimmed
// to two ("0.50", "2.00", "0.125").
func (p PrismDiopters) String() string {
	if p%10 != 0 {
		return fmt.Sprintf("%d.%03d", p/1000, p%1000)
	}
	return fmt.Sprintf("%d.%02d", p/1000, (p%1000)/10)
}

// MmHg is an intraocular pressure in exact tenths of a millimetre of mercury.
type MmHg int32

// NewMmHg converts a decimal pressure; it rejects NaN and values outside
// 0..90 mmHg.
func NewMmHg(f float64) (MmHg, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 90 {
		return 0, fmt.Errorf("pressure %v mmHg: %w (0..90)", f, ErrRange)
	}
	return MmHg(math.Round(f * 10)), nil
}

// Float returns the pressure in mmHg.
func (p MmHg) Float() float64 { return float64(p) / 10 }

// String formats the pressure with one decimal when it has one ("15", "14.5").
func (p MmHg) String() string {
	if p%10 == 0 {
		return strconv.Itoa(int(p / 10))
	}
	return strconv.FormatFloat(p.Float(), 'f', 1, 64)
}

// Micrometers is a thickness in whole micrometres (pachymetry).
type Micrometers int32

// NewMicrometers validates a corneal thickness in 100..1500 µm.
func NewMicrometers(v int) (Micrometers, error) {
	if v < 100 || v > 1500 {
		return 0, fmt.Errorf("thickness %d µm: %w (100..1500)", v, ErrRange)
	}
	return Micrometers(v), nil
}
