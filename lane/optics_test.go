package lane_test

import (
	"errors"
	"math"
	"testing"

	"github.com/examlane/examlane/lane"
)

func rx(s, c float64, axis int) lane.Refraction {
	return lane.Refraction{Sphere: lane.MustDiopters(s), Cylinder: lane.MustDiopters(c), Axis: lane.Axis(axis)}
}

func TestTranspose(t *testing.T) {
	tests := []struct {
		name    string
		in, out lane.Refraction
	}{
		// Classic textbook pair (any ophthalmic optics text, e.g. Brooks &
		// Borish, "System for Ophthalmic Dispensing"): +1.00 -2.00 x 90 is
		// -1.00 +2.00 x 180.
		{"mixed astigmatism", rx(1, -2, 90), rx(-1, 2, 180)},
		{"axis 180 becomes 90", rx(-2.25, -0.75, 180), rx(-3, 0.75, 90)},
		{"axis 1 becomes 91", rx(-1, -0.5, 1), rx(-1.5, 0.5, 91)},
		{"axis 91 becomes 1", rx(-1, -0.5, 91), rx(-1.5, 0.5, 1)},
		{"axis 90 becomes 180", rx(0, -1, 90), rx(-1, 1, 180)},
		{"sphere keeps axis 0", rx(-2, 0, 0), rx(-2, 0, 0)},
		{"device step", rx(-1.125, -0.01, 45), rx(-1.135, 0.01, 135)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Add, in.Prism = lane.MustDiopters(2), lane.Prism{H: 500, HBase: lane.BaseIn}
			got := in.Transpose()
			want := tt.out
			want.Add, want.Prism = in.Add, in.Prism
			if got != want {
				t.Fatalf("Transpose(%s) = %s, want %s", lane.FormatRx(in), lane.FormatRx(got), lane.FormatRx(want))
			}
			if back := got.Transpose(); back != in {
				t.Errorf("double transpose = %s, want %s", lane.FormatRx(back), lane.FormatRx(in))
			}
		})
	}
}

func TestCylinderConventionHelpers(t *testing.T) {
	plus, minus := rx(-3, 0.75, 90), rx(-2.25, -0.75, 180)
	if plus.CylinderConvention() != lane.PlusCylinder || minus.CylinderConvention() != lane.MinusCylinder {
		t.Fatal("CylinderConvention misreads the sign")
	}
	if got := plus.ToMinusCylinder(); got != minus {
		t.Errorf("ToMinusCylinder = %s, want %s", lane.FormatRx(got), lane.FormatRx(minus))
	}
	if got := minus.ToMinusCylinder(); got != minus {
		t.Errorf("ToMinusCylinder of minus = %s", lane.FormatRx(got))
	}
	if got := minus.ToPlusCylinder(); got != plus {
		t.Errorf("ToPlusCylinder = %s, want %s", lane.FormatRx(got), lane.FormatRx(plus))
	}
	if got := plus.ToPlusCylinder(); got != plus {
		t.Errorf("ToPlusCylinder of plus = %s", lane.FormatRx(got))
	}
	stray := lane.Refraction{Sphere: 1000, Axis: 90} // invalid axis on a sphere
	if got := stray.ToMinusCylinder(); got.Axis != 0 {
		t.Errorf("sphere axis not cleared: %d", got.Axis)
	}
	if got := stray.ToPlusCylinder(); got.Axis != 0 {
		t.Errorf("sphere axis not cleared: %d", got.Axis)
	}
}

func TestSphericalEquivalentAndNear(t *testing.T) {
	tests := []struct {
		r    lane.Refraction
		want lane.Diopters
	}{
		{rx(-2, -1, 90), -2500},
		{rx(1, -2, 90), 0},
		{rx(-3, 0.75, 90), -2625},
		{rx(-1, -0.125, 10), -1063}, // -1.0625 rounds away from zero
		{rx(0.5, 0.125, 10), 563},
	}
	for _, tt := range tests {
		if got := tt.r.SphericalEquivalent(); got != tt.want {
			t.Errorf("SE(%s) = %s, want %s", lane.FormatRx(tt.r), got, tt.want)
		}
	}
	r := rx(-1.5, -0.5, 180)
	r.Add = 2250
	n := r.Near()
	if n.Sphere != 750 || n.Add != 0 || n.Cylinder != -500 || n.Axis != 180 {
		t.Errorf("Near = %+v", n)
	}
}

func TestMeridians(t *testing.T) {
	r := rx(-2, -1.5, 30)
	a, b := r.PrincipalMeridians()
	if a != (lane.Meridian{Power: -2000, Axis: 30}) || b != (lane.Meridian{Power: -3500, Axis: 120}) {
		t.Errorf("PrincipalMeridians = %+v %+v", a, b)
	}
	tests := []struct {
		r    lane.Refraction
		want lane.Meridian
	}{
		{rx(-2, -1.5, 30), lane.Meridian{Power: -3500, Axis: 120}},
		{rx(-3.5, 1.5, 120), lane.Meridian{Power: -3500, Axis: 120}}, // same lens in plus cyl
		{rx(4, -1, 90), lane.Meridian{Power: 4000, Axis: 90}},
		{rx(1, -2, 90), lane.Meridian{Power: 1000, Axis: 90}},  // tie: more plus
		{rx(-1, 2, 180), lane.Meridian{Power: 1000, Axis: 90}}, // same tie, plus cyl
		{rx(-2, 0, 0), lane.Meridian{Power: -2000}},            // sphere
		{rx(0.25, -6.5, 10), lane.Meridian{Power: -6250, Axis: 100}},
	}
	for _, tt := range tests {
		if got := tt.r.HighestPowerMeridian(); got != tt.want {
			t.Errorf("HighestPowerMeridian(%s) = %+v, want %+v", lane.FormatRx(tt.r), got, tt.want)
		}
	}
	pm := []struct {
		r    lane.Refraction
		deg  int
		want lane.Diopters
	}{
		{rx(-2, -1, 180), 90, -3000},
		{rx(-2, -1, 180), 180, -2000},
		{rx(-2, -1, 180), 0, -2000},
		{rx(-2, -1, 90), 90, -2000},
		{rx(-2, -1, 90), 180, -3000},
		{rx(-2, -1, 45), 90, -2500},
		{rx(-2, -1, 135), 180, -2500},
		{rx(-2, -1, 30), 90, -2750},  // sin²60° = 0.75
		{rx(-2, -1, 60), 180, -2750}, // sin²60° = 0.75
		{rx(-2, -1, 60), 90, -2250},  // sin²30° = 0.25
		{rx(-2, -1, 20), 90, -2883},  // cos²20° = 0.8830
		{rx(3, 0, 0), 37, 3000},
	}
	for _, tt := range pm {
		if got := tt.r.PowerInMeridian(tt.deg); got != tt.want {
			t.Errorf("PowerInMeridian(%s, %d) = %s, want %s", lane.FormatRx(tt.r), tt.deg, got, tt.want)
		}
	}
}

func TestVertexConvert(t *testing.T) {
	tests := []struct {
		name     string
		in       lane.Refraction
		from, to lane.Millimeters
		want     lane.Refraction
		rounded  lane.Refraction
	}{
		// Worked examples of F' = F / (1 − dF) found in contact lens texts
		// and vertex tables (e.g. the AOA/CLAO vertex conversion chart):
		// -10.00 D at 12 mm is -8.93 D at the cornea; +10.00 D is +11.36 D.
		{"myope to cornea", rx(-10, 0, 0), 1200, 0, rx(-8.929, 0, 0), rx(-9, 0, 0)},
		{"hyperope to cornea", rx(10, 0, 0), 1200, 0, rx(11.364, 0, 0), rx(11.25, 0, 0)},
		// Back from the cornea to 12 mm restores the spectacle power.
		// The rounded -8.929 goes back to -10.001.
		{"cornea to spectacle", rx(-8.929, 0, 0), 0, 1200, rx(-10.001, 0, 0), rx(-10, 0, 0)},
		// Both meridians: -6.00 at 12 mm → -5.597, -8.00 → -7.299; the
		// common teaching result -5.50 -1.75 x 180 after rounding.
		{"toric", rx(-6, -2, 180), 1200, 0, rx(-5.597, -1.702, 180), rx(-5.5, -1.75, 180)},
		{"toric plus cyl", rx(-8, 2, 90), 1200, 0, rx(-7.299, 1.702, 90), rx(-7.25, 1.75, 90)},
		// Low powers barely change: -3.00 at 12 mm → -2.896 (≈ -2.90).
		{"low power", rx(-3, 0, 0), 1200, 0, rx(-2.896, 0, 0), rx(-3, 0, 0)},
		{"13.75 mm", rx(-5, 0, 0), 1375, 0, rx(-4.678, 0, 0), rx(-4.75, 0, 0)},
		// Moving a plus lens away from the eye needs less power: 5/(1+0.01).
		{"refractor 12 to frame 14 mm", rx(5, 0, 0), 1200, 1400, rx(4.95, 0, 0), rx(5, 0, 0)},
		{"plano", rx(0, 0, 0), 1200, 0, rx(0, 0, 0), rx(0, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lane.VertexConvert(tt.in, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Vertex = tt.to
			if got != want {
				t.Fatalf("VertexConvert(%s) = %s, want %s", lane.FormatRx(tt.in), lane.FormatRx(got), lane.FormatRx(want))
			}
			r := got.Rounded(lane.QuarterDiopter)
			rw := tt.rounded
			rw.Vertex = tt.to
			if r != rw {
				t.Errorf("Rounded = %s, want %s", lane.FormatRx(r), lane.FormatRx(rw))
			}
		})
	}
	// A +90 D meridian 12 mm away focuses 11.1 mm from the lens: it cannot
	// be moved to the cornea. MaxPower keeps such values out anyway, so test
	// the guard with a move that crosses the focal point of +40 D (25 mm).
	if _, err := lane.VertexConvert(rx(40, 0, 0), 3000, 0); !errors.Is(err, lane.ErrRange) {
		t.Errorf("crossing the focal point: err = %v, want ErrRange", err)
	}
	if _, err := lane.VertexConvert(rx(30, 0, 0), 1200, 0); !errors.Is(err, lane.ErrRange) {
		t.Errorf("result above MaxPower: err = %v, want ErrRange", err)
	}
	if _, err := lane.VertexConvert(rx(-2, 30, 90), 1200, 0); !errors.Is(err, lane.ErrRange) {
		t.Errorf("second meridian above MaxPower: err = %v, want ErrRange", err)
	}
}

func TestRound(t *testing.T) {
	tests := []struct {
		d, step, want lane.Diopters
	}{
		{-8929, 250, -9000},
		{-8875, 250, -9000}, // half away from zero
		{8875, 250, 9000},
		{8874, 250, 8750},
		{11364, 250, 11250},
		{11375, 250, 11500},
		{123, 0, 123},
		{-10, 125, 0},
	}
	for _, tt := range tests {
		if got := tt.d.Round(tt.step); got != tt.want {
			t.Errorf("%s.Round(%s) = %s, want %s", tt.d, tt.step, got, tt.want)
		}
	}
	// Sphere and cylinder round separately: a -0.05 D cylinder vanishes
	// rather than growing into -0.25 D.
	r := rx(-2.1, -0.05, 90)
	r.Add = 1130
	got := r.Rounded(lane.QuarterDiopter)
	if got != (lane.Refraction{Sphere: -2000, Add: 1250}) {
		t.Errorf("Rounded = %+v, want -2.00 DS add +1.25", got)
	}
	if got := rx(-1.13, -1.63, 35).Rounded(lane.QuarterDiopter); got != rx(-1.25, -1.75, 35) {
		t.Errorf("Rounded = %s, want -1.25 -1.75 x 035", lane.FormatRx(got))
	}
}

func TestKeratometry(t *testing.T) {
	// Keratometric index 1.3375 (K = 337.5 / r), as on every keratometer
	// conversion table: 7.50 mm = 45.00 D, 7.80 mm = 43.27 D, 8.00 mm =
	// 42.19 D, 7.00 mm = 48.21 D.
	powers := []struct {
		r    lane.Millimeters
		want lane.Diopters
	}{{750, 45000}, {780, 43269}, {800, 42188}, {700, 48214}, {844, 39988}}
	for _, tt := range powers {
		got, err := lane.CornealPower(tt.r, 0)
		if err != nil || got != tt.want {
			t.Errorf("CornealPower(%s mm) = %s, %v; want %s", tt.r, got, err, tt.want)
		}
	}
	radii := []struct {
		k    lane.Diopters
		want lane.Millimeters
	}{{45000, 750}, {43250, 780}, {42000, 804}, {40000, 844}}
	for _, tt := range radii {
		got, err := lane.CornealRadius(tt.k, lane.KeratometricIndex)
		if err != nil || got != tt.want {
			t.Errorf("CornealRadius(%s D) = %s, %v; want %s", tt.k, got, err, tt.want)
		}
	}
	// Index 1.332 (some Zeiss/Haag-Streit): 7.50 mm = 44.27 D.
	if got, _ := lane.CornealPower(750, 13320); got != 44267 {
		t.Errorf("CornealPower(7.50, 1.332) = %s, want 44.267", got)
	}
	for _, bad := range []struct {
		r     lane.Millimeters
		index int32
	}{{0, 0}, {-5, 0}, {750, 10000}, {750, 25000}} {
		if _, err := lane.CornealPower(bad.r, bad.index); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("CornealPower(%d, %d) err = %v, want ErrInvalid", bad.r, bad.index, err)
		}
	}
	if _, err := lane.CornealPower(1, 0); !errors.Is(err, lane.ErrRange) {
		t.Errorf("0.01 mm radius: err = %v, want ErrRange", err)
	}
	if _, err := lane.CornealRadius(45000, 9000); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("index below 1: err = %v", err)
	}
	if _, err := lane.CornealRadius(0, 0); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("zero power: err = %v", err)
	}
	if _, err := lane.CornealRadius(1, 0); !errors.Is(err, lane.ErrRange) {
		t.Errorf("0.001 D: err = %v, want ErrRange", err)
	}
}

func TestCornealAstigmatism(t *testing.T) {
	tests := []struct {
		name     string
		k        lane.Keratometry
		cyl      lane.Diopters
		axis     lane.Axis
		errIsInv bool
	}{
		// With-the-rule: steeper vertical meridian; 43.00 @ 180 / 44.50 @ 90
		// is -1.50 x 180.
		{"with the rule", lane.Keratometry{K1: lane.KMeridian{Power: 43000, Axis: 180}, K2: lane.KMeridian{Power: 44500, Axis: 90}}, -1500, 180, false},
		{"against the rule, K1 steeper", lane.Keratometry{K1: lane.KMeridian{Power: 44000, Axis: 180}, K2: lane.KMeridian{Power: 43250, Axis: 90}}, -750, 90, false},
		{"from radii", lane.Keratometry{K1: lane.KMeridian{Radius: 780, Axis: 5}, K2: lane.KMeridian{Radius: 750, Axis: 95}}, -1731, 5, false},
		{"only steep axis", lane.Keratometry{K1: lane.KMeridian{Power: 42000}, K2: lane.KMeridian{Power: 43000, Axis: 100}}, -1000, 10, false},
		{"spherical cornea", lane.Keratometry{K1: lane.KMeridian{Power: 43000, Axis: 180}, K2: lane.KMeridian{Power: 43000, Axis: 90}}, 0, 0, false},
		{"no axes", lane.Keratometry{K1: lane.KMeridian{Power: 42000}, K2: lane.KMeridian{Power: 43000}}, 0, 0, true},
		{"empty meridian", lane.Keratometry{K1: lane.KMeridian{Power: 42000, Axis: 180}}, 0, 0, true},
		{"empty first meridian", lane.Keratometry{K2: lane.KMeridian{Power: 42000, Axis: 180}}, 0, 0, true},
	}
	for _, tt := range tests {
		cyl, axis, err := tt.k.Astigmatism()
		if tt.errIsInv {
			if !errors.Is(err, lane.ErrInvalid) {
				t.Errorf("%s: err = %v, want ErrInvalid", tt.name, err)
			}
			continue
		}
		if err != nil || cyl != tt.cyl || axis != tt.axis {
			t.Errorf("%s: = %s x %d, %v; want %s x %d", tt.name, cyl, axis, err, tt.cyl, tt.axis)
		}
	}
}

func TestPrismPolar(t *testing.T) {
	tests := []struct {
		name   string
		eye    lane.Eye
		p      lane.Prism
		amount lane.PrismDiopters
		base   float64
	}{
		// The 3-4-5 resultant prism of ophthalmic optics texts (e.g. Jalie,
		// "Ophthalmic Lenses and Dispensing"): 3Δ BI with 4Δ BU is 5Δ at
		// 53.13° for the right eye and 126.87° for the left (TABO).
		{"R 3 BI 4 BU", lane.EyeRight, lane.Prism{H: 3000, HBase: lane.BaseIn, V: 4000, VBase: lane.BaseUp}, 5000, 53.130102},
		{"L 3 BI 4 BU", lane.EyeLeft, lane.Prism{H: 3000, HBase: lane.BaseIn, V: 4000, VBase: lane.BaseUp}, 5000, 126.869898},
		{"R BI", lane.EyeRight, lane.Prism{H: 2000, HBase: lane.BaseIn}, 2000, 0},
		{"L BI", lane.EyeLeft, lane.Prism{H: 2000, HBase: lane.BaseIn}, 2000, 180},
		{"R BO", lane.EyeRight, lane.Prism{H: 2000, HBase: lane.BaseOut}, 2000, 180},
		{"L BO", lane.EyeLeft, lane.Prism{H: 2000, HBase: lane.BaseOut}, 2000, 0},
		{"BU", lane.EyeLeft, lane.Prism{V: 1500, VBase: lane.BaseUp}, 1500, 90},
		{"BD", lane.EyeRight, lane.Prism{V: 1500, VBase: lane.BaseDown}, 1500, 270},
		{"R BO BD", lane.EyeRight, lane.Prism{H: 1000, HBase: lane.BaseOut, V: 1000, VBase: lane.BaseDown}, 1414, 225},
		{"none", lane.EyeRight, lane.Prism{}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pp, err := tt.p.Polar(tt.eye)
			if err != nil {
				t.Fatal(err)
			}
			if pp.Amount != tt.amount || math.Abs(pp.Base-tt.base) > 1e-5 {
				t.Fatalf("Polar = %sΔ @ %.6f°, want %sΔ @ %.6f°", pp.Amount, pp.Base, tt.amount, tt.base)
			}
			back, err := lane.PrismFromPolar(tt.eye, pp)
			if err != nil {
				t.Fatal(err)
			}
			if tt.amount%1000 == 0 && back != tt.p { // exact where the amount is
				t.Errorf("PrismFromPolar = %+v, want %+v", back, tt.p)
			}
		})
	}
	if _, err := (lane.Prism{H: 1000, HBase: lane.BaseIn}).Polar(lane.EyeBoth); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("Polar for both eyes: err = %v", err)
	}
	if _, err := (lane.Prism{H: 1000}).Polar(lane.EyeRight); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("Polar without base: err = %v", err)
	}
	if _, err := (lane.Prism{V: 1000}).Polar(lane.EyeRight); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("Polar without vertical base: err = %v", err)
	}
	for _, bad := range []lane.PolarPrism{{Amount: 1000, Base: 360}, {Amount: 1000, Base: -1}, {Amount: 1000, Base: math.NaN()}, {Amount: 31000}} {
		if _, err := lane.PrismFromPolar(lane.EyeRight, bad); err == nil {
			t.Errorf("PrismFromPolar(%+v) accepted", bad)
		}
	}
	if _, err := lane.PrismFromPolar(lane.EyeUnknown, lane.PolarPrism{Amount: 1}); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("PrismFromPolar without eye: err = %v", err)
	}
	// 2Δ at 30° on the right eye: 1.732 BI, 1.000 BU.
	got, _ := lane.PrismFromPolar(lane.EyeRight, lane.PolarPrism{Amount: 2000, Base: 30})
	if got != (lane.Prism{H: 1732, HBase: lane.BaseIn, V: 1000, VBase: lane.BaseUp}) {
		t.Errorf("2Δ @ 30° = %+v", got)
	}
}

func TestPrentice(t *testing.T) {
	// Prentice's rule, Δ = c(cm) × F: the textbook examples "a +5.00 D lens
	// decentred 4 mm gives 2Δ" and "-4.00 D decentred 5 mm gives 2Δ".
	tests := []struct {
		dec   lane.Millimeters
		power lane.Diopters
		want  lane.PrismDiopters
	}{
		{400, 5000, 2000},
		{500, -4000, 2000},
		{100, 3375, 338}, // 1.0 mm × 3.375 D = 0.3375 Δ, rounded
		{250, 2750, 688},
		{0, 10000, 0},
	}
	for _, tt := range tests {
		if got := lane.Prentice(tt.dec, tt.power); got != tt.want {
			t.Errorf("Prentice(%s mm, %s D) = %s, want %s", tt.dec, tt.power, got, tt.want)
		}
	}
	if got, err := lane.PrenticeDecentration(2000, -4000); err != nil || got != 500 {
		t.Errorf("PrenticeDecentration(2Δ, -4 D) = %s, %v; want 5 mm", got, err)
	}
	if _, err := lane.PrenticeDecentration(1000, 0); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("plano decentration: err = %v", err)
	}
	if _, err := lane.PrenticeDecentration(30000, 1); !errors.Is(err, lane.ErrRange) {
		t.Errorf("huge decentration: err = %v", err)
	}
}

func BenchmarkVertexConvert(b *testing.B) {
	r := rx(-6, -2, 180)
	for b.Loop() {
		_, _ = lane.VertexConvert(r, 1200, 0)
	}
}
