package lane

import (
	"fmt"
	"math"
)

// This file holds the ophthalmic optics the lane computes with: cylinder
// transposition, spherical equivalent, principal meridians, vertex
// conversion, keratometry, prism in polar and rectangular form and
// Prentice's rule. Powers stay in exact thousandths of a dioptre; where a
// formula is not closed in thousandths (vertex, keratometry, oblique
// meridians) the result is rounded half away from zero to 0.001 D.

// QuarterDiopter is the clinical power step, 0.25 D.
const QuarterDiopter Diopters = 250

// divRound returns num/den rounded half away from zero; den must not be 0.
func divRound(num, den int64) int64 {
	if den < 0 {
		num, den = -num, -den
	}
	if num >= 0 {
		return (num + den/2) / den
	}
	return -((-num + den/2) / den)
}

// Round returns d rounded to the nearest multiple of step, halves away from
// zero (-8.875 → -9.00 with step 0.25 D). A step ≤ 0 returns d unchanged.
func (d Diopters) Round(step Diopters) Diopters {
	if step <= 0 {
		return d
	}
	return Diopters(divRound(int64(d), int64(step)) * int64(step))
}

// CylinderConvention reports the convention r is written in: PlusCylinder
// when the cylinder is positive, MinusCylinder otherwise (a sphere has no
// convention of its own and reports MinusCylinder).
func (r Refraction) CylinderConvention() CylinderSign {
	if r.Cylinder > 0 {
		return PlusCylinder
	}
	return MinusCylinder
}

// transposeAxis turns an axis by 90°, keeping it in 1..180.
func transposeAxis(a Axis) Axis {
	if a == 0 {
		return 0
	}
	return NormalizeAxis(int(a) + 90)
}

// Transpose returns r written in the other cylinder convention:
// S' = S + C, C' = -C, A' = A ± 90 kept in 1..180. A sphere (zero cylinder)
// is returned with axis 0 and otherwise unchanged. Add, prism and vertex are
// not affected by the convention.
func (r Refraction) Transpose() Refraction {
	if r.Cylinder == 0 {
		r.Axis = 0
		return r
	}
	r.Sphere += r.Cylinder
	r.Cylinder = -r.Cylinder
	r.Axis = transposeAxis(r.Axis)
	return r
}

// ToMinusCylinder returns r in minus-cylinder form (transposing a plus
// cylinder; a minus cylinder or a sphere is returned as is, a sphere with
// axis 0).
func (r Refraction) ToMinusCylinder() Refraction {
	if r.Cylinder > 0 {
		return r.Transpose()
	}
	if r.Cylinder == 0 {
		r.Axis = 0
	}
	return r
}

// ToPlusCylinder returns r in plus-cylinder form.
func (r Refraction) ToPlusCylinder() Refraction {
	if r.Cylinder < 0 {
		return r.Transpose()
	}
	if r.Cylinder == 0 {
		r.Axis = 0
	}
	return r
}

// SphericalEquivalent returns S + C/2, rounded half away from zero to
// 0.001 D when the cylinder has an odd number of thousandths.
func (r Refraction) SphericalEquivalent() Diopters {
	return Diopters(divRound(2*int64(r.Sphere)+int64(r.Cylinder), 2))
}

// Near returns the near prescription: the distance sphere plus the add,
// with the add cleared.
func (r Refraction) Near() Refraction {
	r.Sphere += r.Add
	r.Add = 0
	return r
}

// Meridian is a principal meridian of a sphero-cylinder: the power acting
// in the meridian whose orientation is Axis (1..180; 0 for a sphere, whose
// meridians are all alike).
type Meridian struct {
	Power Diopters
	Axis  Axis
}

// PrincipalMeridians returns r's two principal meridians. The first lies
// along the cylinder axis and has the sphere power S; the second lies at
// 90° to it and has S + C. In minus-cylinder form the first is the most
// plus meridian, in plus-cylinder form the most minus.
func (r Refraction) PrincipalMeridians() (alongAxis, across Meridian) {
	if r.Cylinder == 0 {
		return Meridian{Power: r.Sphere}, Meridian{Power: r.Sphere}
	}
	return Meridian{Power: r.Sphere, Axis: r.Axis},
		Meridian{Power: r.Sphere + r.Cylinder, Axis: transposeAxis(r.Axis)}
}

// HighestPowerMeridian returns the principal meridian of highest absolute
// power, the one ANSI Z80.1 applies the sphere tolerance to. When both
// meridians have the same magnitude (+1.00 -2.00 x 90) the more plus one is
// returned, so the choice does not depend on the convention r is written in.
func (r Refraction) HighestPowerMeridian() Meridian {
	plus, minus := r.ToMinusCylinder().PrincipalMeridians()
	if minus.Power.Abs() > plus.Power.Abs() {
		return minus
	}
	return plus
}

// PowerInMeridian returns the curvature power of r in the meridian at deg
// degrees (any integer; taken modulo 180): F = S + C·sin²(θ − A). Principal
// meridians are exact; oblique meridians are rounded to 0.001 D. This is the
// value Prentice's rule uses for a vertical (90) or horizontal (180)
// decentration of a sphero-cylinder.
func (r Refraction) PowerInMeridian(deg int) Diopters {
	if r.Cylinder == 0 {
		return r.Sphere
	}
	delta := int(NormalizeAxis(deg)) - int(r.Axis)
	switch ((delta % 180) + 180) % 180 {
	case 0:
		return r.Sphere
	case 90:
		return r.Sphere + r.Cylinder
	case 45, 135:
		return r.Sphere + Diopters(divRound(int64(r.Cylinder), 2))
	}
	s := math.Sin(float64(delta) * math.Pi / 180)
	return r.Sphere + Diopters(math.Round(float64(r.Cylinder)*s*s))
}

// VertexConvert returns r re-expressed for a correcting lens at vertex
// distance to, given that r's powers hold at vertex distance from (both
// measured from the cornea; 0 is the corneal plane of a contact lens). Both
// principal meridians are converted with F' = F / (1 − d·F), d = from − to
// in metres, then the sphere and cylinder are rebuilt in r's own
// convention. Each meridian is computed exactly in fixed point and rounded
// half away from zero to 0.001 D, so the cylinder is within 0.001 D of the
// exact difference; use Rounded for a clinical 0.25 D display. Add and
// prism are left as they are (they are not vertex-dependent in the usual
// spectacle-to-contact conversion); Vertex is set to to.
//
// It fails with ErrRange when a meridian's focal point lies at or between
// the two planes (1 − d·F ≤ 0) or the result exceeds MaxPower.
func VertexConvert(r Refraction, from, to Millimeters) (Refraction, error) {
	shift := int64(from) - int64(to) // hundredths of a millimetre
	conv := func(f Diopters) (Diopters, error) {
		// F' = F / (1 − (shift/1e5 m)(F/1e3 D)) in thousandths:
		// f·1e8 / (1e8 − shift·f).
		den := int64(1e8) - shift*int64(f)
		if den <= 0 {
			return 0, fmt.Errorf("vertex %s → %s mm: power %s D focuses within the shift: %w", from, to, f, ErrRange)
		}
		v := divRound(int64(f)*1e8, den)
		if v > int64(MaxPower) || v < -int64(MaxPower) {
			return 0, fmt.Errorf("vertex %s → %s mm: power %s D becomes %.3f D: %w", from, to, f, float64(v)/1000, ErrRange)
		}
		return Diopters(v), nil
	}
	a, err := conv(r.Sphere)
	if err != nil {
		return Refraction{}, err
	}
	b, err := conv(r.Sphere + r.Cylinder)
	if err != nil {
		return Refraction{}, err
	}
	r.Sphere, r.Cylinder = a, b-a
	if r.Cylinder == 0 {
		r.Axis = 0
	}
	r.Vertex = to
	return r, nil
}

// Rounded returns r with sphere, cylinder and add each rounded to the
// nearest multiple of step (halves away from zero), as a prescription is
// written for display: -5.597 -1.702 x 180 becomes -5.50 -1.75 x 180. The
// sphere and cylinder are rounded separately, as clinicians and devices
// do, so that a tiny cylinder rounds away instead of turning into a whole
// step through the meridians (-2.10 -0.05 becomes -2.00 DS, not -2.00
// -0.25); a cylinder that rounds to zero leaves a sphere with axis 0.
func (r Refraction) Rounded(step Diopters) Refraction {
	r.Sphere = r.Sphere.Round(step)
	r.Cylinder = r.Cylinder.Round(step)
	if r.Cylinder == 0 {
		r.Axis = 0
	}
	r.Add = r.Add.Round(step)
	return r
}

// KeratometricIndex is the conventional keratometric index 1.3375 in
// ten-thousandths, giving K(D) = 337.5 / r(mm).
const KeratometricIndex int32 = 13375

func kIndex(index int32) (int64, error) {
	if index == 0 {
		index = KeratometricIndex
	}
	if index <= 10000 || index > 20000 {
		return 0, Invalidf("keratometric index %d/10000 outside 1.0001..2.0000", index)
	}
	return int64(index) - 10000, nil
}

// CornealPower converts a radius of curvature to keratometric power,
// K = (n − 1) / r, rounded to 0.001 D. index is in ten-thousandths (0 means
// KeratometricIndex). 7.50 mm gives 45.000 D.
func CornealPower(radius Millimeters, index int32) (Diopters, error) {
	n1, err := kIndex(index)
	if err != nil {
		return 0, err
	}
	if radius <= 0 {
		return 0, Invalidf("corneal radius %s mm must be positive", radius)
	}
	// K[thousandths] = (n−1)[1e-4]·1e4 / r[hundredths].
	v := divRound(n1*10000, int64(radius))
	if v > int64(MaxPower)*3 { // radii below ~2.8 mm are not corneas
		return 0, fmt.Errorf("corneal radius %s mm: %w", radius, ErrRange)
	}
	return Diopters(v), nil
}

// CornealRadius converts keratometric power back to a radius of curvature,
// r = (n − 1) / K, rounded to 0.01 mm. index is in ten-thousandths (0 means
// KeratometricIndex). 45.00 D gives 7.50 mm.
func CornealRadius(power Diopters, index int32) (Millimeters, error) {
	n1, err := kIndex(index)
	if err != nil {
		return 0, err
	}
	if power <= 0 {
		return 0, Invalidf("corneal power %s D must be positive", power)
	}
	v := divRound(n1*10000, int64(power))
	if v > 100000 {
		return 0, fmt.Errorf("corneal power %s D: %w", power, ErrRange)
	}
	return Millimeters(v), nil
}

// power returns a K meridian's power, computing it from the radius
// when only the radius was recorded.
func (m KMeridian) power(index int32) (Diopters, error) {
	if m.Power != 0 {
		return m.Power, nil
	}
	if m.Radius == 0 {
		return 0, invalid("keratometry meridian has neither power nor radius")
	}
	return CornealPower(m.Radius, index)
}

// Astigmatism returns the corneal astigmatism of k in minus-cylinder form:
// cyl = −(K_steep − K_flat) at the axis of the flat meridian (a cornea
// steeper at 90° gives "with-the-rule" astigmatism, e.g. −1.50 x 180).
// Powers missing from a meridian are computed from its radius with k.Index.
// When only one meridian carries an axis the other is taken at 90° to it;
// a toric cornea with no axis at all is an ErrInvalid error. Equal powers
// return 0, 0.
func (k Keratometry) Astigmatism() (Diopters, Axis, error) {
	p1, err := k.K1.power(k.Index)
	if err != nil {
		return 0, 0, err
	}
	p2, err := k.K2.power(k.Index)
	if err != nil {
		return 0, 0, err
	}
	flat, steep, fp, sp := k.K1, k.K2, p1, p2
	if p2 < p1 {
		flat, steep, fp, sp = k.K2, k.K1, p2, p1
	}
	if fp == sp {
		return 0, 0, nil
	}
	axis := flat.Axis
	if axis == 0 {
		axis = transposeAxis(steep.Axis)
	}
	if axis == 0 {
		return 0, 0, invalid("toric keratometry reading without an axis")
	}
	return fp - sp, axis, nil
}

// PolarPrism is a prism as an amount and a base direction. Base is the
// TABO angle in degrees, 0 ≤ Base < 360, counter-clockwise as the examiner
// faces the patient: base up is 90°, base down 270°, base in is 0° for the
// right eye and 180° for the left eye.
type PolarPrism struct {
	Amount PrismDiopters
	Base   float64
}

// xy returns the prism's components in TABO orientation: x toward 0°, y up.
func (p Prism) xy(eye Eye) (x, y int64, err error) {
	h, v := int64(p.H), int64(p.V)
	switch p.HBase {
	case BaseIn:
	case BaseOut:
		h = -h
	default:
		if h != 0 {
			return 0, 0, invalid("horizontal prism without a base direction")
		}
	}
	switch p.VBase {
	case BaseUp:
	case BaseDown:
		v = -v
	default:
		if v != 0 {
			return 0, 0, invalid("vertical prism without a base direction")
		}
	}
	switch eye {
	case EyeRight:
		return h, v, nil
	case EyeLeft:
		return -h, v, nil
	}
	return 0, 0, Invalidf("prism base angle needs the right or left eye, not %s", eye)
}

// Polar converts p, prescribed for eye (EyeRight or EyeLeft), to polar
// form: amount = sqrt(H² + V²) rounded to 0.001 Δ, base angle per TABO. A
// zero prism has base 0.
func (p Prism) Polar(eye Eye) (PolarPrism, error) {
	x, y, err := p.xy(eye)
	if err != nil {
		return PolarPrism{}, err
	}
	amount := math.Round(math.Sqrt(float64(x*x + y*y)))
	if x == 0 && y == 0 {
		return PolarPrism{}, nil
	}
	deg := math.Atan2(float64(y), float64(x)) * 180 / math.Pi
	if deg < 0 {
		deg += 360
	}
	if deg >= 360 {
		deg -= 360
	}
	return PolarPrism{Amount: PrismDiopters(amount), Base: deg}, nil
}

// PrismFromPolar converts a polar prism for eye (EyeRight or EyeLeft) to
// rectangular form, each component rounded to 0.001 Δ.
func PrismFromPolar(eye Eye, pp PolarPrism) (Prism, error) {
	if eye != EyeRight && eye != EyeLeft {
		return Prism{}, Invalidf("prism base angle needs the right or left eye, not %s", eye)
	}
	if math.IsNaN(pp.Base) || pp.Base < 0 || pp.Base >= 360 {
		return Prism{}, Invalidf("prism base angle %v° outside 0..360", pp.Base)
	}
	if pp.Amount < 0 || pp.Amount > 30*PrismDiopter {
		return Prism{}, fmt.Errorf("prism %sΔ: %w (0..30)", pp.Amount, ErrRange)
	}
	rad := pp.Base * math.Pi / 180
	x := int64(math.Round(float64(pp.Amount) * math.Cos(rad)))
	y := int64(math.Round(float64(pp.Amount) * math.Sin(rad)))
	if eye == EyeLeft {
		x = -x
	}
	var p Prism
	switch {
	case x > 0:
		p.H, p.HBase = PrismDiopters(x), BaseIn
	case x < 0:
		p.H, p.HBase = PrismDiopters(-x), BaseOut
	}
	switch {
	case y > 0:
		p.V, p.VBase = PrismDiopters(y), BaseUp
	case y < 0:
		p.V, p.VBase = PrismDiopters(-y), BaseDown
	}
	return p, nil
}

// Prentice returns the prism induced by decentring a lens of the given
// power by dec (Prentice's rule: Δ = c(cm) × F(D)), as a magnitude rounded
// to 0.001 Δ; the base direction depends on the lens sign and the direction
// of decentration. 5 mm of a −4.00 D lens gives 2.00 Δ.
func Prentice(dec Millimeters, power Diopters) PrismDiopters {
	// Δ[thousandths] = dec[1e-2 mm]·F[1e-3 D] / 1e3.
	v := divRound(int64(dec)*int64(power), 1000)
	if v < 0 {
		v = -v
	}
	return PrismDiopters(v)
}

// PrenticeDecentration returns the decentration that induces prism p in a
// lens of the given power (c = Δ / F), rounded to 0.01 mm. A plano power
// induces no prism at any decentration and is an ErrInvalid error.
func PrenticeDecentration(p PrismDiopters, power Diopters) (Millimeters, error) {
	if power == 0 {
		return 0, invalid("a plano meridian induces no prism")
	}
	v := divRound(int64(p)*1000, int64(power.Abs()))
	if v > 100000 {
		return 0, fmt.Errorf("decentration for %sΔ at %s D: %w", p, power, ErrRange)
	}
	return Millimeters(v), nil
}
