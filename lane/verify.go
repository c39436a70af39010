package lane

import (
	"fmt"
	"strings"
)

// This file verifies finished spectacles against the order with the ANSI
// Z80.1-2015 tolerances (the 2010 and 2020 editions have the same rows):
//
//   - Sphere, compared in the meridian of highest absolute power of the
//     ordered lens. Both lenses are put in minus-cylinder form, where the
//     sphere S is the most plus principal meridian and S + C the most
//     minus; whichever of the two has the larger magnitude in the order is
//     compared with the same meridian of the measured lens (a tie takes S).
//     SV/MF: ±0.13 D up to ±6.50 D, ±2 % above; PAL: ±0.16 D up to
//     ±8.00 D, ±2 % above.
//   - Cylinder in minus-cylinder form. SV/MF: ±0.13 D up to 2.00 D, ±0.15 D
//     up to 4.50 D, ±4 % above; PAL: ±0.16 D up to 2.00 D, ±0.18 D up to
//     3.50 D, ±5 % above.
//   - Axis by nominal (ordered) cylinder: ±14° for 0.12..0.25 D, ±7° to
//     0.50 D, ±5° to 0.75 D, ±3° to 1.50 D, ±2° above; the difference is
//     circular (179° and 2° differ by 3°). Below 0.12 D the standard defines
//     no tolerance: the check is still listed, with pass true, tolerance 0
//     and a rule saying so, so that every eye reports the same rows. When
//     either lens has no cylinder the axis difference is reported as 0 (the
//     cylinder row decides).
//   - Add (multifocal and PAL only): ±0.12 D up to +4.00 D, ±0.18 D above.
//   - Prism of the mounted pair, from the lensmeter readings at the prism
//     reference points: the net horizontal prism (total base-in, base-out
//     negative) within 0.67 Δ of the order when no eye's horizontal
//     meridian exceeds ±2.75 D, and the vertical imbalance (right base-up
//     minus left base-up; R 1Δ BU with L 1Δ BD is 2Δ) within 0.33 Δ when no
//     eye's vertical meridian exceeds ±3.375 D. Above those powers the
//     standard bounds the position of the prism reference point (2.5 mm
//     from the ordered PD, 1.0 mm difference in height), which a prism
//     reading cannot check directly; the tolerance becomes the prism that
//     displacement induces in the strongest meridian of the pair by
//     Prentice's rule (2.5 mm × F, 1.0 mm × F), and the rule text says so.
//
// Percentages and boundaries are computed exactly: powers are thousandths
// of a dioptre and tolerances millionths, so 2 % of 7.125 D is exactly
// 0.1425 D. A difference exactly at the tolerance passes. Measured values
// are compared exactly as reported, without rounding.

// CheckParameter names the quantity a verification check compares.
type CheckParameter string

// Verification check parameters.
const (
	CheckSphere   CheckParameter = "sphere"
	CheckCylinder CheckParameter = "cylinder"
	CheckAxis     CheckParameter = "axis"
	CheckAdd      CheckParameter = "add"
	CheckPrismH   CheckParameter = "prism_h"
	CheckPrismV   CheckParameter = "prism_v"
)

// Millionths is an exact verification quantity in millionths of its unit:
// dioptres for powers, degrees for axes, prism dioptres for prism.
type Millionths int64

// Float returns the value in its unit (the nearest float64 to the exact
// decimal, so -2250000 prints as -2.25).
func (m Millionths) Float() float64 { return float64(m) / 1e6 }

// Abs returns the magnitude of m.
func (m Millionths) Abs() Millionths {
	if m < 0 {
		return -m
	}
	return m
}

// String formats m as a decimal with trailing zeros trimmed ("0.1425",
// "-2.25", "3").
func (m Millionths) String() string { return millionthsText(m, 0) }

// millionthsText formats m with at least minFrac decimals.
func millionthsText(m Millionths, minFrac int) string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	s := strings.TrimRight(fmt.Sprintf("%d.%06d", int64(m)/1e6, int64(m)%1e6), "0")
	if frac := len(s) - strings.IndexByte(s, '.') - 1; frac < minFrac {
		s += strings.Repeat("0", minFrac-frac)
	}
	return sign + strings.TrimSuffix(s, ".")
}

func dioptreText(m Millionths) string { return millionthsText(m, 2) }

// magText formats the magnitude of d without a sign ("6.50").
func magText(d Diopters) string { return strings.TrimPrefix(d.Abs().String(), "+") }

// VerifyCheck is one line of a verification report.
type VerifyCheck struct {
	// Eye is EyeRight or EyeLeft, or EyeBoth for the mounted pair.
	Eye       Eye
	Parameter CheckParameter
	Ordered   Millionths
	Measured  Millionths
	// Difference is measured − ordered; for the axis, the signed circular
	// difference in -89..90 degrees.
	Difference Millionths
	// Tolerance is the largest |Difference| that passes; 0 when the
	// standard defines none (axis of a cylinder below 0.12 D).
	Tolerance Millionths
	Pass      bool
	// Rule names the table row applied, e.g. "Z80.1-2015 SV/MF sphere
	// 0.00 to ±6.50 D: ±0.13 D (meridian of highest absolute power: S)".
	Rule string
}

// Verification is the outcome of verifying finished spectacles.
type Verification struct {
	Lens   LensType
	Pass   bool
	Checks []VerifyCheck
}

// Failed returns the checks that did not pass.
func (v Verification) Failed() []VerifyCheck {
	var out []VerifyCheck
	for _, c := range v.Checks {
		if !c.Pass {
			out = append(out, c)
		}
	}
	return out
}

const (
	pctDen   = 100
	mPerMill = 1000 // millionths per thousandth
)

func mill(d Diopters) Millionths { return Millionths(d) * mPerMill }

// newCheck fills difference and pass for a plain (non-axis) check.
func newCheck(eye Eye, p CheckParameter, ordered, measured, tol Millionths, rule string) VerifyCheck {
	diff := measured - ordered
	return VerifyCheck{Eye: eye, Parameter: p, Ordered: ordered, Measured: measured, Difference: diff,
		Tolerance: tol, Pass: diff.Abs() <= tol, Rule: rule}
}

func lensLabel(lens LensType) string {
	if lens == LensProgressive {
		return "PAL"
	}
	return "SV/MF"
}

// sphereTolerance returns the sphere row for a nominal meridian power.
func sphereTolerance(lens LensType, nominal Diopters) (Millionths, string) {
	limit, fixed := 6500, Millionths(130000)
	if lens == LensProgressive {
		limit, fixed = 8000, 160000
	}
	a := nominal.Abs()
	if a <= Diopters(limit) {
		return fixed, fmt.Sprintf("Z80.1-2015 %s sphere 0.00 to ±%s D: ±%s D", lensLabel(lens), magText(Diopters(limit)), dioptreText(fixed))
	}
	tol := mill(a) * 2 / pctDen
	return tol, fmt.Sprintf("Z80.1-2015 %s sphere above ±%s D: ±2 %% (±%s D)", lensLabel(lens), magText(Diopters(limit)), dioptreText(tol))
}

// cylinderTolerance returns the cylinder row for a nominal cylinder.
func cylinderTolerance(lens LensType, nominal Diopters) (Millionths, string) {
	upTo, tols, pct := [2]Diopters{2000, 4500}, [2]Millionths{130000, 150000}, 4
	if lens == LensProgressive {
		upTo, tols, pct = [2]Diopters{2000, 3500}, [2]Millionths{160000, 180000}, 5
	}
	head := fmt.Sprintf("Z80.1-2015 %s cylinder", lensLabel(lens))
	a := nominal.Abs()
	switch {
	case a <= upTo[0]:
		return tols[0], fmt.Sprintf("%s ≥0.00 to ≤%s D: ±%s D (minus-cylinder form)", head, magText(upTo[0]), dioptreText(tols[0]))
	case a <= upTo[1]:
		return tols[1], fmt.Sprintf("%s >%s to ≤%s D: ±%s D (minus-cylinder form)", head, magText(upTo[0]), magText(upTo[1]), dioptreText(tols[1]))
	}
	tol := mill(a) * Millionths(pct) / pctDen
	return tol, fmt.Sprintf("%s >%s D: ±%d %% (±%s D) (minus-cylinder form)", head, magText(upTo[1]), pct, dioptreText(tol))
}

// axisTolerance returns the axis row for a nominal cylinder; ok is false
// below 0.12 D, where no tolerance is defined.
func axisTolerance(nominal Diopters) (deg int, rule string, ok bool) {
	a := nominal.Abs()
	rows := []struct {
		from, upTo string
		max        Diopters
		deg        int
	}{
		{"≥0.12", "0.25", 250, 14},
		{">0.25", "0.50", 500, 7},
		{">0.50", "0.75", 750, 5},
		{">0.75", "1.50", 1500, 3},
	}
	if a < 120 {
		return 0, "Z80.1-2015 axis, nominal cylinder below 0.12 D: no axis tolerance defined; not checked", false
	}
	for _, r := range rows {
		if a <= r.max {
			return r.deg, fmt.Sprintf("Z80.1-2015 axis, nominal cylinder %s to ≤%s D: ±%d°", r.from, r.upTo, r.deg), true
		}
	}
	return 2, "Z80.1-2015 axis, nominal cylinder >1.50 D: ±2°", true
}

// addTolerance returns the add row for a nominal add.
func addTolerance(nominal Diopters) (Millionths, string) {
	if nominal <= 4*Diopter {
		return 120000, "Z80.1-2015 add ≤+4.00 D: ±0.12 D"
	}
	return 180000, "Z80.1-2015 add >+4.00 D: ±0.18 D"
}

// circularAxisDiff returns measured − ordered as meridians, in -89..90.
func circularAxisDiff(ordered, measured Axis) int {
	d := (int(measured) - int(ordered)) % 180
	if d > 90 {
		d -= 180
	}
	if d <= -90 {
		d += 180
	}
	return d
}

// verifyEye appends the checks of one eye; ordered and measured are in
// minus-cylinder form.
func verifyEye(lens LensType, eye Eye, ordered, measured Refraction) []VerifyCheck {
	var out []VerifyCheck

	// Sphere: meridian of highest absolute power of the order.
	useCross := (ordered.Sphere + ordered.Cylinder).Abs() > ordered.Sphere.Abs()
	om, mm, which := ordered.Sphere, measured.Sphere, "S"
	if useCross {
		om, mm, which = ordered.Sphere+ordered.Cylinder, measured.Sphere+measured.Cylinder, "S + C, minus-cylinder form"
	}
	tol, rule := sphereTolerance(lens, om)
	out = append(out, newCheck(eye, CheckSphere, mill(om), mill(mm), tol,
		rule+" (meridian of highest absolute power: "+which+")"))

	tol, rule = cylinderTolerance(lens, ordered.Cylinder)
	out = append(out, newCheck(eye, CheckCylinder, mill(ordered.Cylinder), mill(measured.Cylinder), tol, rule))

	deg, rule, defined := axisTolerance(ordered.Cylinder)
	diff := 0
	if ordered.Axis != 0 && measured.Axis != 0 {
		diff = circularAxisDiff(ordered.Axis, measured.Axis)
	}
	ac := VerifyCheck{Eye: eye, Parameter: CheckAxis,
		Ordered: Millionths(ordered.Axis) * 1e6, Measured: Millionths(measured.Axis) * 1e6,
		Difference: Millionths(diff) * 1e6, Tolerance: Millionths(deg) * 1e6, Rule: rule}
	ac.Pass = !defined || ac.Difference.Abs() <= ac.Tolerance
	if defined && measured.Cylinder == 0 {
		ac.Rule += "; the measured lens has no cylinder, so the cylinder row decides"
	}
	out = append(out, ac)

	if lens == LensMultifocal || lens == LensProgressive {
		tol, rule = addTolerance(ordered.Add)
		out = append(out, newCheck(eye, CheckAdd, mill(ordered.Add), mill(measured.Add), tol, rule))
	}
	return out
}

// netPrism returns the pair's net horizontal prism (total base-in, base-out
// negative) and vertical imbalance (right base-up minus left base-up), in
// thousandths of a prism dioptre.
func netPrism(p RxPair) (h, v int64) {
	in := func(pr Prism) int64 {
		if pr.HBase == BaseOut {
			return -int64(pr.H)
		}
		return int64(pr.H)
	}
	up := func(pr Prism) int64 {
		if pr.VBase == BaseDown {
			return -int64(pr.V)
		}
		return int64(pr.V)
	}
	return in(p.Right.Prism) + in(p.Left.Prism), up(p.Right.Prism) - up(p.Left.Prism)
}

// prismTolerance returns a pair prism row. strongest is the larger
// magnitude of the two eyes' ordered powers in the meridian concerned.
func prismTolerance(vertical bool, strongest Diopters) (Millionths, string) {
	if vertical {
		const head = "Z80.1-2015 vertical prism imbalance of the mounted pair (R base-up minus L base-up)"
		if strongest <= 3375 {
			return 330000, head + ", vertical meridians 0.00 to ±3.375 D: ≤0.33 Δ"
		}
		tol := mill(strongest) / 10 // 1.0 mm = 0.1 cm × F
		return tol, fmt.Sprintf("%s, vertical meridian above ±3.375 D: ≤1.0 mm difference in PRP height, which a lensmeter prism reading cannot check; converted by Prentice's rule: 1.0 mm × %s D (strongest vertical meridian) = %s Δ",
			head, magText(strongest), dioptreText(tol))
	}
	const head = "Z80.1-2015 horizontal prism of the mounted pair (total base-in, base-out negative)"
	if strongest <= 2750 {
		return 670000, head + ", horizontal meridians 0.00 to ±2.75 D: ≤0.67 Δ"
	}
	tol := mill(strongest) / 4 // 2.5 mm = 0.25 cm × F
	return tol, fmt.Sprintf("%s, horizontal meridian above ±2.75 D: ≤2.5 mm from the ordered PD, which a lensmeter prism reading cannot check; converted by Prentice's rule: 2.5 mm × %s D (strongest horizontal meridian) = %s Δ",
		head, magText(strongest), dioptreText(tol))
}

// VerifySpectacles verifies finished spectacles (measured on a lensmeter)
// against the ordered prescription with the ANSI Z80.1-2015 tolerances for
// lens (LensSingleVision, LensMultifocal or LensProgressive). Either pair
// may be written in either cylinder convention; both are converted to
// minus cylinder first. A single-vision check ignores any add; multifocal
// and progressive orders need an add in both eyes. The checks come in the
// order R sphere, cylinder, axis[, add], L likewise, then the pair's
// prism_h and prism_v. Invalid input is an ErrInvalid error.
func VerifySpectacles(lens LensType, ordered, measured RxPair) (Verification, error) {
	switch lens {
	case LensSingleVision, LensMultifocal, LensProgressive:
	default:
		return Verification{}, Invalidf("verify: lens type %q: want sv, multifocal or pal", lens)
	}
	for _, x := range []struct {
		what string
		r    Refraction
	}{
		{"ordered right eye", ordered.Right}, {"ordered left eye", ordered.Left},
		{"measured right eye", measured.Right}, {"measured left eye", measured.Left},
	} {
		if err := x.r.Validate(); err != nil {
			return Verification{}, fmt.Errorf("verify: %s: %w", x.what, err)
		}
		if lens != LensSingleVision && strings.HasPrefix(x.what, "ordered") && x.r.Add == 0 {
			return Verification{}, Invalidf("verify: %s: a %s lens needs an add", x.what, lens)
		}
	}
	o, m := ordered.ToMinusCylinder(), measured.ToMinusCylinder()
	v := Verification{Lens: lens}
	v.Checks = append(v.Checks, verifyEye(lens, EyeRight, o.Right, m.Right)...)
	v.Checks = append(v.Checks, verifyEye(lens, EyeLeft, o.Left, m.Left)...)

	oh, ov := netPrism(o)
	mh, mv := netPrism(m)
	strongest := func(deg int) Diopters {
		return max(o.Right.PowerInMeridian(deg).Abs(), o.Left.PowerInMeridian(deg).Abs())
	}
	tol, rule := prismTolerance(false, strongest(180))
	v.Checks = append(v.Checks, newCheck(EyeBoth, CheckPrismH, Millionths(oh)*mPerMill, Millionths(mh)*mPerMill, tol, rule))
	tol, rule = prismTolerance(true, strongest(90))
	v.Checks = append(v.Checks, newCheck(EyeBoth, CheckPrismV, Millionths(ov)*mPerMill, Millionths(mv)*mPerMill, tol, rule))

	v.Pass = true
	for _, c := range v.Checks {
		v.Pass = v.Pass && c.Pass
	}
	return v, nil
}
