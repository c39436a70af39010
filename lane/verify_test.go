package lane_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/examlane/examlane/lane"
)

var allLenses = []lane.LensType{lane.LensSingleVision, lane.LensMultifocal, lane.LensProgressive}

// both returns a pair with the same prescription in each eye.
func both(r lane.Refraction) lane.RxPair { return lane.RxPair{Right: r, Left: r} }

// withLensAdd gives each eye the add a multifocal or PAL order needs.
func withLensAdd(lens lane.LensType, p lane.RxPair) lane.RxPair {
	if lens != lane.LensSingleVision {
		if p.Right.Add == 0 {
			p.Right.Add = 2000
		}
		if p.Left.Add == 0 {
			p.Left.Add = 2000
		}
	}
	return p
}

func verify(t *testing.T, lens lane.LensType, ordered, measured lane.RxPair) lane.Verification {
	t.Helper()
	v, err := lane.VerifySpectacles(lens, withLensAdd(lens, ordered), withLensAdd(lens, measured))
	if err != nil {
		t.Fatalf("VerifySpectacles: %v", err)
	}
	return v
}

func findCheck(t *testing.T, v lane.Verification, eye lane.Eye, p lane.CheckParameter) lane.VerifyCheck {
	t.Helper()
	for _, c := range v.Checks {
		if c.Eye == eye && c.Parameter == p {
			return c
		}
	}
	t.Fatalf("no %s %s check in %+v", eye, p, v.Checks)
	return lane.VerifyCheck{}
}

// boundaryDiffs returns, in thousandths, the largest difference strictly
// inside tol, tol itself when it is a whole number of thousandths, and the
// smallest difference strictly outside.
func boundaryDiffs(tol lane.Millionths) []int64 {
	t := int64(tol)
	if t%1000 == 0 {
		return []int64{t/1000 - 1, t / 1000, t/1000 + 1}
	}
	return []int64{t / 1000, t/1000 + 1}
}

type row struct {
	nominal lane.Diopters
	tol     lane.Millionths
	rule    string
}

func mf(lens lane.LensType) string {
	if lens == lane.LensProgressive {
		return "PAL"
	}
	return "SV/MF"
}

// checkBoundaries runs every difference around the row's tolerance, with
// both signs, through build and asserts pass, tolerance and rule.
func checkBoundaries(t *testing.T, lens lane.LensType, p lane.CheckParameter, eye lane.Eye, r row,
	build func(nominal lane.Diopters, diff int64) (ordered, measured lane.RxPair), signedDiff bool) {
	t.Helper()
	for _, d := range boundaryDiffs(r.tol) {
		for _, sign := range []int64{1, -1} {
			name := fmt.Sprintf("%s/%s/%s/nominal %s/diff %+d", lens, p, eye, r.nominal, sign*d)
			t.Run(name, func(t *testing.T) {
				o, m := build(r.nominal, sign*d)
				v := verify(t, lens, o, m)
				c := findCheck(t, v, eye, p)
				wantPass := d*1000 <= int64(r.tol)
				if c.Pass != wantPass {
					t.Errorf("pass = %v, want %v (%+v)", c.Pass, wantPass, c)
				}
				if c.Tolerance != r.tol {
					t.Errorf("tolerance = %s, want %s", c.Tolerance, r.tol)
				}
				if !strings.Contains(c.Rule, r.rule) {
					t.Errorf("rule = %q, want it to contain %q", c.Rule, r.rule)
				}
				want := lane.Millionths(sign * d * 1000)
				if signedDiff && c.Difference != want || c.Difference.Abs() != want.Abs() {
					t.Errorf("difference = %s, want %s", c.Difference, want)
				}
				if c.Difference != c.Measured-c.Ordered && p != lane.CheckAxis {
					t.Errorf("difference %s != measured %s − ordered %s", c.Difference, c.Measured, c.Ordered)
				}
				if v.Pass && !c.Pass {
					t.Error("verification passes with a failing check")
				}
			})
		}
	}
}

func TestVerifySphereRows(t *testing.T) {
	rows := map[lane.LensType][]row{
		lane.LensSingleVision: {
			{0, 130000, "SV/MF sphere 0.00 to ±6.50 D: ±0.13 D"},
			{3000, 130000, "SV/MF sphere 0.00 to ±6.50 D: ±0.13 D"},
			{6499, 130000, "SV/MF sphere 0.00 to ±6.50 D: ±0.13 D"},
			{6500, 130000, "SV/MF sphere 0.00 to ±6.50 D: ±0.13 D"},
			{6501, 130020, "SV/MF sphere above ±6.50 D: ±2 % (±0.13002 D)"},
			{6750, 135000, "SV/MF sphere above ±6.50 D: ±2 % (±0.135 D)"},
			{7125, 142500, "SV/MF sphere above ±6.50 D: ±2 % (±0.1425 D)"},
			{12000, 240000, "SV/MF sphere above ±6.50 D: ±2 % (±0.24 D)"},
			{29000, 580000, "±2 % (±0.58 D)"},
		},
		lane.LensProgressive: {
			{0, 160000, "PAL sphere 0.00 to ±8.00 D: ±0.16 D"},
			{6501, 160000, "PAL sphere 0.00 to ±8.00 D: ±0.16 D"},
			{7999, 160000, "PAL sphere 0.00 to ±8.00 D: ±0.16 D"},
			{8000, 160000, "PAL sphere 0.00 to ±8.00 D: ±0.16 D"},
			{8001, 160020, "PAL sphere above ±8.00 D: ±2 % (±0.16002 D)"},
			{8250, 165000, "PAL sphere above ±8.00 D: ±2 % (±0.165 D)"},
			{20000, 400000, "PAL sphere above ±8.00 D: ±2 % (±0.40 D)"},
		},
	}
	rows[lane.LensMultifocal] = rows[lane.LensSingleVision]
	for _, lens := range allLenses {
		for _, r := range rows[lens] {
			for _, s := range []lane.Diopters{1, -1} {
				r := r
				r.nominal *= s
				checkBoundaries(t, lens, lane.CheckSphere, lane.EyeRight, r, func(n lane.Diopters, d int64) (lane.RxPair, lane.RxPair) {
					return both(lane.Refraction{Sphere: n}), lane.RxPair{Right: lane.Refraction{Sphere: n + lane.Diopters(d)}, Left: lane.Refraction{Sphere: n}}
				}, true)
			}
		}
	}
}

func TestVerifySphereUsesMeridianOfHighestPower(t *testing.T) {
	// -6.00 -1.00 x 180: the meridian at 90 is -7.00 D, so the 2 % row
	// applies (±0.14 D), and it is that meridian that is compared.
	o := both(rx(-6, -1, 180))
	m := both(rx(-6, -1.14, 180))
	v := verify(t, lane.LensSingleVision, o, m)
	s := findCheck(t, v, lane.EyeRight, lane.CheckSphere)
	if s.Ordered != -7000000 || s.Measured != -7140000 || s.Tolerance != 140000 || !s.Pass {
		t.Errorf("sphere check = %+v", s)
	}
	if !strings.Contains(s.Rule, "meridian of highest absolute power: S + C") {
		t.Errorf("rule does not say which meridian: %q", s.Rule)
	}
	c := findCheck(t, v, lane.EyeRight, lane.CheckCylinder)
	if c.Pass || c.Difference != -140000 || c.Tolerance != 130000 {
		t.Errorf("cylinder check = %+v", c)
	}
	// +7.00 -1.00 x 90: the sphere meridian is the strongest.
	v = verify(t, lane.LensSingleVision, both(rx(7, -1, 90)), both(rx(7.14, -1, 90)))
	s = findCheck(t, v, lane.EyeRight, lane.CheckSphere)
	if s.Ordered != 7000000 || s.Tolerance != 140000 || !s.Pass || !strings.HasSuffix(s.Rule, "(meridian of highest absolute power: S)") {
		t.Errorf("sphere check = %+v", s)
	}
	// The same lens written in plus cylinder selects the same meridian.
	v = verify(t, lane.LensSingleVision, both(rx(-7, 1, 90)), both(rx(-7.14, 1, 90)))
	s = findCheck(t, v, lane.EyeRight, lane.CheckSphere)
	if s.Ordered != -7000000 || s.Measured != -7140000 || !s.Pass {
		t.Errorf("plus-cylinder order: sphere check = %+v", s)
	}
	// Tie (+1.00 -2.00 x 90): the sphere meridian is compared.
	v = verify(t, lane.LensSingleVision, both(rx(1, -2, 90)), both(rx(1.13, -2.26, 90)))
	s = findCheck(t, v, lane.EyeRight, lane.CheckSphere)
	if s.Ordered != 1000000 || s.Measured != 1130000 || !s.Pass {
		t.Errorf("tie: sphere check = %+v", s)
	}
}

func TestVerifyCylinderRows(t *testing.T) {
	sv := []row{
		{0, 130000, "SV/MF cylinder ≥0.00 to ≤2.00 D: ±0.13 D (minus-cylinder form)"},
		{1999, 130000, "SV/MF cylinder ≥0.00 to ≤2.00 D: ±0.13 D"},
		{2000, 130000, "SV/MF cylinder ≥0.00 to ≤2.00 D: ±0.13 D"},
		{2001, 150000, "SV/MF cylinder >2.00 to ≤4.50 D: ±0.15 D"},
		{4499, 150000, "SV/MF cylinder >2.00 to ≤4.50 D: ±0.15 D"},
		{4500, 150000, "SV/MF cylinder >2.00 to ≤4.50 D: ±0.15 D"},
		{4501, 180040, "SV/MF cylinder >4.50 D: ±4 % (±0.18004 D)"},
		{5000, 200000, "SV/MF cylinder >4.50 D: ±4 % (±0.20 D)"},
		{6125, 245000, "SV/MF cylinder >4.50 D: ±4 % (±0.245 D)"},
	}
	pal := []row{
		{0, 160000, "PAL cylinder ≥0.00 to ≤2.00 D: ±0.16 D (minus-cylinder form)"},
		{2000, 160000, "PAL cylinder ≥0.00 to ≤2.00 D: ±0.16 D"},
		{2001, 180000, "PAL cylinder >2.00 to ≤3.50 D: ±0.18 D"},
		{3500, 180000, "PAL cylinder >2.00 to ≤3.50 D: ±0.18 D"},
		{3501, 175050, "PAL cylinder >3.50 D: ±5 % (±0.17505 D)"},
		{4000, 200000, "PAL cylinder >3.50 D: ±5 % (±0.20 D)"},
		{4125, 206250, "PAL cylinder >3.50 D: ±5 % (±0.20625 D)"},
	}
	for _, lens := range allLenses {
		rows := sv
		if lens == lane.LensProgressive {
			rows = pal
		}
		for _, r := range rows {
			build := func(n lane.Diopters, d int64) (lane.RxPair, lane.RxPair) {
				o := lane.Refraction{Sphere: -1000, Cylinder: -n, Axis: 90}
				m := lane.Refraction{Sphere: -1000, Cylinder: -n + lane.Diopters(d), Axis: 90}
				if o.Cylinder == 0 {
					o.Axis = 0
				}
				return both(o), lane.RxPair{Right: o, Left: m}
			}
			// A nominal plano cylinder measured as +0.13 is read as -0.13
			// in minus-cylinder form, so only the magnitude is compared.
			checkBoundaries(t, lens, lane.CheckCylinder, lane.EyeLeft, r, build, r.nominal != 0)
		}
	}
}

func TestVerifyAxisRows(t *testing.T) {
	rows := []struct {
		nominal lane.Diopters
		deg     int64
		rule    string
	}{
		{120, 14, "axis, nominal cylinder ≥0.12 to ≤0.25 D: ±14°"},
		{250, 14, "axis, nominal cylinder ≥0.12 to ≤0.25 D: ±14°"},
		{251, 7, "axis, nominal cylinder >0.25 to ≤0.50 D: ±7°"},
		{500, 7, "axis, nominal cylinder >0.25 to ≤0.50 D: ±7°"},
		{501, 5, "axis, nominal cylinder >0.50 to ≤0.75 D: ±5°"},
		{750, 5, "axis, nominal cylinder >0.50 to ≤0.75 D: ±5°"},
		{751, 3, "axis, nominal cylinder >0.75 to ≤1.50 D: ±3°"},
		{1500, 3, "axis, nominal cylinder >0.75 to ≤1.50 D: ±3°"},
		{1501, 2, "axis, nominal cylinder >1.50 D: ±2°"},
		{6000, 2, "axis, nominal cylinder >1.50 D: ±2°"},
	}
	for _, lens := range allLenses {
		for _, base := range []int{90, 179, 1, 180} {
			for _, r := range rows {
				for _, d := range []int64{r.deg - 1, r.deg, r.deg + 1} {
					for _, sign := range []int64{1, -1} {
						name := fmt.Sprintf("%s/axis %d/cyl %s/diff %+d", lens, base, r.nominal, sign*d)
						t.Run(name, func(t *testing.T) {
							o := lane.Refraction{Sphere: -2000, Cylinder: -r.nominal, Axis: lane.Axis(base)}
							m := o
							m.Axis = lane.NormalizeAxis(base + int(sign*d))
							v := verify(t, lens, both(o), lane.RxPair{Right: m, Left: o})
							c := findCheck(t, v, lane.EyeRight, lane.CheckAxis)
							if want := d <= r.deg; c.Pass != want {
								t.Errorf("pass = %v, want %v (%+v)", c.Pass, want, c)
							}
							if c.Difference != lane.Millionths(sign*d*1e6) || c.Tolerance != lane.Millionths(r.deg*1e6) {
								t.Errorf("difference %s tolerance %s, want %d and %d", c.Difference, c.Tolerance, sign*d, r.deg)
							}
							if c.Ordered != lane.Millionths(base*1e6) || c.Measured != lane.Millionths(int64(m.Axis)*1e6) {
								t.Errorf("ordered %s measured %s", c.Ordered, c.Measured)
							}
							if !strings.Contains(c.Rule, r.rule) {
								t.Errorf("rule %q, want %q", c.Rule, r.rule)
							}
						})
					}
				}
			}
		}
	}
}

func TestVerifyAxisUndefinedBelow012(t *testing.T) {
	for _, nominal := range []lane.Diopters{0, 10, 119} {
		o := lane.Refraction{Sphere: -2000, Cylinder: -nominal, Axis: 90}
		if nominal == 0 {
			o.Axis = 0
		}
		m := lane.Refraction{Sphere: -2000, Cylinder: -119, Axis: 150}
		v := verify(t, lane.LensSingleVision, both(o), lane.RxPair{Right: m, Left: o})
		c := findCheck(t, v, lane.EyeRight, lane.CheckAxis)
		if !c.Pass || c.Tolerance != 0 || !strings.Contains(c.Rule, "below 0.12 D: no axis tolerance defined") {
			t.Errorf("nominal %s: axis check = %+v", nominal, c)
		}
		if !v.Pass {
			t.Errorf("nominal %s: verification fails: %+v", nominal, v.Failed())
		}
	}
	// Cylinder ordered but none measured: the axis row defers to the
	// cylinder row.
	o := rx(-2, -0.12, 90)
	v := verify(t, lane.LensSingleVision, both(o), lane.RxPair{Right: rx(-2, 0, 0), Left: o})
	c := findCheck(t, v, lane.EyeRight, lane.CheckAxis)
	if !c.Pass || c.Difference != 0 || !strings.Contains(c.Rule, "no cylinder") {
		t.Errorf("axis check = %+v", c)
	}
}

func TestVerifyAxisWrapAround(t *testing.T) {
	tests := []struct {
		ordered, measured int
		diff              int64
		pass              bool
	}{
		{179, 2, 3, true}, // the textbook case: 179° and 2° differ by 3°
		{2, 179, -3, true},
		{179, 3, 4, false},
		{1, 180, -1, true},
		{180, 1, 1, true},
		{178, 2, 4, false},
		{90, 93, 3, true},
		{90, 86, -4, false},
		{135, 45, 90, false},
	}
	for _, tt := range tests {
		o := rx(-1, -1, tt.ordered)
		m := rx(-1, -1, tt.measured)
		v := verify(t, lane.LensSingleVision, both(o), lane.RxPair{Right: m, Left: o})
		c := findCheck(t, v, lane.EyeRight, lane.CheckAxis)
		if c.Difference != lane.Millionths(tt.diff*1e6) || c.Pass != tt.pass || c.Tolerance != 3e6 {
			t.Errorf("%d vs %d: %+v, want diff %d pass %v", tt.ordered, tt.measured, c, tt.diff, tt.pass)
		}
	}
}

func TestVerifyAddRows(t *testing.T) {
	rows := []row{
		{1000, 120000, "add ≤+4.00 D: ±0.12 D"},
		{3999, 120000, "add ≤+4.00 D: ±0.12 D"},
		{4000, 120000, "add ≤+4.00 D: ±0.12 D"},
		{4001, 180000, "add >+4.00 D: ±0.18 D"},
		{4750, 180000, "add >+4.00 D: ±0.18 D"},
	}
	for _, lens := range []lane.LensType{lane.LensMultifocal, lane.LensProgressive} {
		for _, r := range rows {
			checkBoundaries(t, lens, lane.CheckAdd, lane.EyeRight, r, func(n lane.Diopters, d int64) (lane.RxPair, lane.RxPair) {
				o := lane.Refraction{Sphere: 1000, Add: n}
				m := o
				m.Add += lane.Diopters(d)
				return both(o), lane.RxPair{Right: m, Left: o}
			}, true)
		}
	}
	// Single vision reports no add row and ignores an add in the order.
	v := verify(t, lane.LensSingleVision, both(lane.Refraction{Sphere: 1000, Add: 2000}), both(lane.Refraction{Sphere: 1000}))
	for _, c := range v.Checks {
		if c.Parameter == lane.CheckAdd {
			t.Errorf("single vision has an add check: %+v", c)
		}
	}
	if !v.Pass {
		t.Errorf("single vision fails on the add: %+v", v.Failed())
	}
	// A multifocal measured without its add fails.
	v, err := lane.VerifySpectacles(lane.LensMultifocal, both(lane.Refraction{Sphere: 1000, Add: 2000}), both(lane.Refraction{Sphere: 1000}))
	if err != nil || v.Pass || findCheck(t, v, lane.EyeLeft, lane.CheckAdd).Pass {
		t.Errorf("missing add passes: %+v, %v", v, err)
	}
}

func TestVerifyPrismRows(t *testing.T) {
	vertical := []row{
		{0, 330000, "vertical meridians 0.00 to ±3.375 D: ≤0.33 Δ"},
		{3374, 330000, "vertical meridians 0.00 to ±3.375 D: ≤0.33 Δ"},
		{3375, 330000, "vertical meridians 0.00 to ±3.375 D: ≤0.33 Δ"},
		{3376, 337600, "1.0 mm × 3.376 D (strongest vertical meridian) = 0.3376 Δ"},
		{5000, 500000, "1.0 mm × 5.00 D (strongest vertical meridian) = 0.50 Δ"},
	}
	horizontal := []row{
		{0, 670000, "horizontal meridians 0.00 to ±2.75 D: ≤0.67 Δ"},
		{2749, 670000, "horizontal meridians 0.00 to ±2.75 D: ≤0.67 Δ"},
		{2750, 670000, "horizontal meridians 0.00 to ±2.75 D: ≤0.67 Δ"},
		{2751, 687750, "2.5 mm × 2.751 D (strongest horizontal meridian) = 0.68775 Δ"},
		{4000, 1000000, "2.5 mm × 4.00 D (strongest horizontal meridian) = 1.00 Δ"},
	}
	for _, lens := range allLenses {
		for _, s := range []lane.Diopters{1, -1} {
			for _, r := range vertical {
				r := r
				r.nominal *= s
				// Right eye base up (positive difference) or base down.
				checkBoundaries(t, lens, lane.CheckPrismV, lane.EyeBoth, r, func(n lane.Diopters, d int64) (lane.RxPair, lane.RxPair) {
					o := both(lane.Refraction{Sphere: n})
					m := o
					if d > 0 {
						m.Right.Prism = lane.Prism{V: lane.PrismDiopters(d), VBase: lane.BaseUp}
					} else if d < 0 {
						m.Right.Prism = lane.Prism{V: lane.PrismDiopters(-d), VBase: lane.BaseDown}
					}
					return o, m
				}, true)
				// The strongest eye sets the row: only the left eye is strong.
				checkBoundaries(t, lens, lane.CheckPrismV, lane.EyeBoth, r, func(n lane.Diopters, d int64) (lane.RxPair, lane.RxPair) {
					o := lane.RxPair{Right: lane.Refraction{Sphere: 1000}, Left: lane.Refraction{Sphere: n}}
					m := o
					if d > 0 { // left base down raises R relative to L
						m.Left.Prism = lane.Prism{V: lane.PrismDiopters(d), VBase: lane.BaseDown}
					} else if d < 0 {
						m.Left.Prism = lane.Prism{V: lane.PrismDiopters(-d), VBase: lane.BaseUp}
					}
					return o, m
				}, true)
			}
			for _, r := range horizontal {
				r := r
				r.nominal *= s
				checkBoundaries(t, lens, lane.CheckPrismH, lane.EyeBoth, r, func(n lane.Diopters, d int64) (lane.RxPair, lane.RxPair) {
					o := both(lane.Refraction{Sphere: n})
					m := o
					if d > 0 {
						m.Left.Prism = lane.Prism{H: lane.PrismDiopters(d), HBase: lane.BaseIn}
					} else if d < 0 {
						m.Left.Prism = lane.Prism{H: lane.PrismDiopters(-d), HBase: lane.BaseOut}
					}
					return o, m
				}, true)
			}
		}
	}
}

func TestVerifyPrismMeridianFromCylinder(t *testing.T) {
	// pl -3.50 x 180: the vertical meridian is -3.50 D (Prentice row),
	// the horizontal meridian plano (prism row).
	v := verify(t, lane.LensSingleVision, both(rx(0, -3.5, 180)), both(rx(0, -3.5, 180)))
	pv := findCheck(t, v, lane.EyeBoth, lane.CheckPrismV)
	ph := findCheck(t, v, lane.EyeBoth, lane.CheckPrismH)
	if pv.Tolerance != 350000 || ph.Tolerance != 670000 {
		t.Errorf("tolerances v %s h %s, want 0.35 and 0.67", pv.Tolerance, ph.Tolerance)
	}
	// Axis 90 swaps them: horizontal meridian -3.50 D → 2.5 mm × 3.50.
	v = verify(t, lane.LensSingleVision, both(rx(0, -3.5, 90)), both(rx(0, -3.5, 90)))
	pv = findCheck(t, v, lane.EyeBoth, lane.CheckPrismV)
	ph = findCheck(t, v, lane.EyeBoth, lane.CheckPrismH)
	if pv.Tolerance != 330000 || ph.Tolerance != 875000 {
		t.Errorf("tolerances v %s h %s, want 0.33 and 0.875", pv.Tolerance, ph.Tolerance)
	}
	if !strings.Contains(ph.Rule, "cannot check") || !strings.Contains(ph.Rule, "Prentice") {
		t.Errorf("rule does not explain the Prentice conversion: %q", ph.Rule)
	}
}

func TestVerifyNetPrism(t *testing.T) {
	p := func(s string) lane.Prism {
		if s == "" {
			return lane.Prism{}
		}
		pr, err := lane.ParsePrism(s)
		if err != nil {
			t.Fatal(err)
		}
		return pr
	}
	tests := []struct {
		name                     string
		oR, oL, mR, mL           string
		h, hOrdered, v, vOrdered lane.Millionths
		passH, passV             bool
	}{
		{"R BU + L BD is 2Δ imbalance", "", "", "1 BU", "1 BD", 0, 0, 2e6, 0, true, false},
		{"R BU + L BU cancel", "", "", "1 BU", "1 BU", 0, 0, 0, 0, true, true},
		{"R BD + L BU is -2Δ", "", "", "1 BD", "1 BU", 0, 0, -2e6, 0, true, false},
		{"BI in both eyes adds", "", "", "0.5 BI", "0.5 BI", 1e6, 0, 0, 0, false, true},
		{"R BI + L BO cancel", "", "", "1 BI", "1 BO", 0, 0, 0, 0, true, true},
		{"BO counts negative", "", "", "0.34 BO", "0.34 BO", -680000, 0, 0, 0, false, true},
		{"BO just within", "", "", "0.335 BO", "0.335 BO", -670000, 0, 0, 0, true, true},
		{"ordered prism delivered", "2 BI 1 BU", "2 BI", "2 BI 1 BU", "2 BI", 4e6, 4e6, 1e6, 1e6, true, true},
		{"ordered split vertical", "1 BU", "1 BD", "2 BU", "", 0, 0, 2e6, 2e6, true, true},
		{"ordered prism missing", "2 BI", "2 BI", "", "", 0, 4e6, 0, 0, false, true},
		{"vertical imbalance at 0.33", "", "", "0.33 BU", "", 0, 0, 330000, 0, true, true},
		{"vertical imbalance at 0.331", "", "", "0.165 BU", "0.166 BD", 0, 0, 331000, 0, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := both(rx(-1, 0, 0))
			m := both(rx(-1, 0, 0))
			o.Right.Prism, o.Left.Prism, m.Right.Prism, m.Left.Prism = p(tt.oR), p(tt.oL), p(tt.mR), p(tt.mL)
			v := verify(t, lane.LensSingleVision, o, m)
			h := findCheck(t, v, lane.EyeBoth, lane.CheckPrismH)
			vc := findCheck(t, v, lane.EyeBoth, lane.CheckPrismV)
			if h.Measured != tt.h || h.Ordered != tt.hOrdered || h.Pass != tt.passH {
				t.Errorf("prism_h = %+v, want measured %s ordered %s pass %v", h, tt.h, tt.hOrdered, tt.passH)
			}
			if vc.Measured != tt.v || vc.Ordered != tt.vOrdered || vc.Pass != tt.passV {
				t.Errorf("prism_v = %+v, want measured %s ordered %s pass %v", vc, tt.v, tt.vOrdered, tt.passV)
			}
			if v.Pass != (tt.passH && tt.passV) {
				t.Errorf("overall pass = %v", v.Pass)
			}
		})
	}
}

func TestVerifyBothConventions(t *testing.T) {
	ordered, err := lane.ParsePair("R: -2.00 -1.00 x 90 add +2.00; L: +1.50 -0.75 x 10 add +2.00")
	if err != nil {
		t.Fatal(err)
	}
	measured, err := lane.ParsePair("R: -3.00 +1.00 x 180 add +2.00; L: +0.75 +0.75 x 100 add +2.00")
	if err != nil {
		t.Fatal(err)
	}
	for _, lens := range allLenses {
		for _, pair := range [][2]lane.RxPair{{ordered, measured}, {measured, ordered}, {measured, measured}} {
			v, err := lane.VerifySpectacles(lens, pair[0], pair[1])
			if err != nil {
				t.Fatal(err)
			}
			if !v.Pass {
				t.Errorf("%s: same lenses in the other convention fail: %+v", lens, v.Failed())
			}
			for _, c := range v.Checks {
				if c.Difference != 0 {
					t.Errorf("%s: %s %s difference %s", lens, c.Eye, c.Parameter, c.Difference)
				}
			}
			r := findCheck(t, v, lane.EyeRight, lane.CheckCylinder)
			a := findCheck(t, v, lane.EyeRight, lane.CheckAxis)
			if r.Ordered != -1e6 || a.Ordered != 90e6 {
				t.Errorf("%s: not reported in minus cylinder: cyl %s axis %s", lens, r.Ordered, a.Ordered)
			}
		}
	}
	// A plus-cylinder measurement that is off by 0.14 D of cylinder fails
	// the minus-cylinder comparison.
	off, _ := lane.ParsePair("R: -3.14 +1.14 x 180; L: +0.75 +0.75 x 100")
	v, _ := lane.VerifySpectacles(lane.LensSingleVision, ordered, off)
	c := findCheck(t, v, lane.EyeRight, lane.CheckCylinder)
	if c.Pass || c.Measured != -1140000 || c.Difference != -140000 {
		t.Errorf("cylinder = %+v", c)
	}
}

func TestVerifyReportShape(t *testing.T) {
	o := both(rx(-2, -0.5, 180))
	for _, tt := range []struct {
		lens lane.LensType
		want []string
	}{
		{lane.LensSingleVision, []string{"R sphere", "R cylinder", "R axis", "L sphere", "L cylinder", "L axis", "B prism_h", "B prism_v"}},
		{lane.LensMultifocal, []string{"R sphere", "R cylinder", "R axis", "R add", "L sphere", "L cylinder", "L axis", "L add", "B prism_h", "B prism_v"}},
	} {
		v := verify(t, tt.lens, o, o)
		var got []string
		for _, c := range v.Checks {
			got = append(got, c.Eye.String()+" "+string(c.Parameter))
			if !c.Pass || !strings.HasPrefix(c.Rule, "Z80.1-2015 ") {
				t.Errorf("%+v", c)
			}
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s checks = %v, want %v", tt.lens, got, tt.want)
		}
		if !v.Pass || v.Lens != tt.lens || len(v.Failed()) != 0 {
			t.Errorf("%+v", v)
		}
	}
}

func TestVerifyErrors(t *testing.T) {
	ok := both(rx(-1, 0, 0))
	if _, err := lane.VerifySpectacles("bifocal", ok, ok); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("unknown lens: %v", err)
	}
	if _, err := lane.VerifySpectacles(lane.LensProgressive, ok, ok); !errors.Is(err, lane.ErrInvalid) || !strings.Contains(err.Error(), "needs an add") {
		t.Errorf("PAL without add: %v", err)
	}
	bad := lane.RxPair{Right: lane.Refraction{Cylinder: -1000}, Left: rx(-1, 0, 0)}
	if _, err := lane.VerifySpectacles(lane.LensSingleVision, ok, bad); !errors.Is(err, lane.ErrInvalid) || !strings.Contains(err.Error(), "measured right eye") {
		t.Errorf("invalid measured Rx: %v", err)
	}
}

func TestMillionthsString(t *testing.T) {
	for m, want := range map[lane.Millionths]string{0: "0", -2250000: "-2.25", 142500: "0.1425", 3e6: "3", 1: "0.000001", -90e6: "-90"} {
		if got := m.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int64(m), got, want)
		}
	}
	if lane.Millionths(-2250000).Float() != -2.25 || lane.Millionths(142500).Float() != 0.1425 {
		t.Error("Float is not the nearest float64")
	}
}

func BenchmarkVerifySpectacles(b *testing.B) {
	o, _ := lane.ParsePair("R: -2.25 -0.75 x 180 add +2.00 0.5 BI; L: -2.00 -0.50 x 170 add +2.00 0.5 BI")
	m, _ := lane.ParsePair("R: -3.00 +0.75 x 90 add +2.00 0.5 BI; L: -2.12 -0.37 x 168 add +2.12 0.25 BI")
	for b.Loop() {
		_, _ = lane.VerifySpectacles(lane.LensProgressive, o, m)
	}
}
