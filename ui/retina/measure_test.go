package retina_test

import (
	"errors"
	"math"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
	"github.com/examlane/examlane/ui/retina/synth"
)

func TestCalibration(t *testing.T) {
	t.Parallel()
	seg := []lane.Point{{X: 0, Y: 0}, {X: 300, Y: 400}} // 500 px
	tests := []struct {
		name string
		cal  retina.Calibration
		want retina.Value
		str  string
	}{
		{"pixel spacing 12.5 µm", retina.CalibrationFor(lane.Image{PixelSpacingUM: 12.5, Width: 4000}, 45), retina.Value{V: 6.25, Unit: retina.UnitMM}, "6.25 mm"},
		{"45° camera over 4000 px", retina.CalibrationFor(lane.Image{Width: 4000}, 45), retina.Value{V: 500 * 45.0 / 4000, Unit: retina.UnitDegree}, "5.62°"},
		{"uncalibrated", retina.CalibrationFor(lane.Image{Width: 4000}, 0), retina.Value{V: 500, Unit: retina.UnitPixel}, "500 px"},
	}
	for _, tt := range tests {
		got := tt.cal.Length(seg)
		if math.Abs(got.V-tt.want.V) > 1e-9 || got.Unit != tt.want.Unit {
			t.Errorf("%s: Length = %v, want %v", tt.name, got, tt.want)
		}
		if got.String() != tt.str {
			t.Errorf("%s: String = %q, want %q", tt.name, got.String(), tt.str)
		}
	}
	// A polyline's length is the sum of its segments.
	if got := (retina.Calibration{}).Length([]lane.Point{{}, {X: 3, Y: 4}, {X: 3, Y: 14}}).V; got != 15 {
		t.Errorf("polyline length = %v, want 15", got)
	}
	sq := []lane.Point{{X: 10, Y: 10}, {X: 110, Y: 10}, {X: 110, Y: 110}, {X: 10, Y: 110}}
	if got := (retina.Calibration{MMPerPixel: 0.01}).Area(sq); math.Abs(got.V-1) > 1e-12 || got.Unit != retina.UnitMM2 {
		t.Errorf("Area(100 px square at 10 µm) = %v, want 1 mm²", got)
	}
	if got := (retina.Calibration{DegPerPixel: 0.1}).Area(sq); math.Abs(got.V-100) > 1e-9 || got.Unit != retina.UnitDegree2 {
		t.Errorf("Area(100 px square at 0.1°/px) = %v, want 100 deg²", got)
	}
}

func TestPolygonArea(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		pts  []lane.Point
		want float64
	}{
		{"triangle", []lane.Point{{X: 0, Y: 0}, {X: 4, Y: 0}, {X: 0, Y: 3}}, 6},
		{"clockwise square", []lane.Point{{X: 0, Y: 0}, {X: 0, Y: 2}, {X: 2, Y: 2}, {X: 2, Y: 0}}, 4},
		{"L shape", []lane.Point{{X: 0, Y: 0}, {X: 3, Y: 0}, {X: 3, Y: 1}, {X: 1, Y: 1}, {X: 1, Y: 3}, {X: 0, Y: 3}}, 5},
		{"two points", []lane.Point{{X: 0, Y: 0}, {X: 3, Y: 3}}, 0},
		{"none", nil, 0},
	}
	for _, tt := range tests {
		if got := retina.PolygonArea(tt.pts); got != tt.want {
			t.Errorf("%s: PolygonArea = %v, want %v", tt.name, got, tt.want)
		}
	}
	// A circle outline approximates πr² (64-gon: within 0.2%).
	c := retina.Outline(lane.Annotation{Kind: lane.AnnotCircle, Points: []lane.Point{{X: 50, Y: 50}, {X: 80, Y: 50}}})
	if got, want := retina.PolygonArea(c), math.Pi*900; math.Abs(got-want)/want > 0.002 {
		t.Errorf("circle area = %v, want ≈ %v", got, want)
	}
}

// ellipse returns a polygon outline of an axis-aligned ellipse.
func ellipse(cx, cy, rx, ry float64, n int) []lane.Point {
	pts := make([]lane.Point, n)
	for i := range pts {
		a := 2 * math.Pi * float64(i) / float64(n)
		pts[i] = lane.Point{X: cx + rx*math.Cos(a), Y: cy + ry*math.Sin(a)}
	}
	return pts
}

func TestCupToDisc(t *testing.T) {
	t.Parallel()
	// Outlines traced on a synthetic fundus whose cup-to-disc ratio is
	// known: the vertical ratio must come back.
	for _, cd := range []float64{0.3, 0.5, 0.8} {
		_, g := synth.Generate(synth.Params{Width: 64, Height: 48, Seed: 1, CupDisc: cd})
		disc := lane.Annotation{Kind: lane.AnnotDisc, Points: ellipse(g.Disc[0], g.Disc[1], g.DiscRX, g.DiscRY, 90)}
		cup := lane.Annotation{Kind: lane.AnnotCup, Points: ellipse(g.Cup[0], g.Cup[1], g.CupRX, g.CupRY, 90)}
		r, err := retina.CupToDisc(disc, cup)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(r.Vertical-cd) > 1e-9 {
			t.Errorf("CupDisc %v: vertical CDR = %v", cd, r.Vertical)
		}
		wantH := g.CupRX / g.DiscRX
		if math.Abs(r.Horizontal-wantH) > 1e-9 {
			t.Errorf("CupDisc %v: horizontal CDR = %v, want %v", cd, r.Horizontal, wantH)
		}
		if want := (g.CupRX * g.CupRY) / (g.DiscRX * g.DiscRY); math.Abs(r.Area-want) > 1e-3 {
			t.Errorf("CupDisc %v: area CDR = %v, want %v", cd, r.Area, want)
		}
		if r.CupOutsideDisc {
			t.Errorf("CupDisc %v: cup reported outside the disc", cd)
		}
	}
	// Circles given as centre and rim point.
	disc := lane.Annotation{Kind: lane.AnnotDisc, Points: []lane.Point{{X: 100, Y: 100}, {X: 100, Y: 140}}}
	cup := lane.Annotation{Kind: lane.AnnotCup, Points: []lane.Point{{X: 104, Y: 100}, {X: 104, Y: 116}}}
	r, err := retina.CupToDisc(disc, cup)
	if err != nil || math.Abs(r.Vertical-0.4) > 1e-9 || math.Abs(r.Horizontal-0.4) > 1e-3 || math.Abs(r.Area-0.16) > 1e-9 {
		t.Errorf("circles: CupToDisc = %+v, %v; want 0.4, 0.4, 0.16", r, err)
	}
	// Swapped outlines are flagged.
	if r, _ := retina.CupToDisc(cup, disc); !r.CupOutsideDisc {
		t.Error("swapped outlines not flagged")
	}
	// Degenerate outlines are refused.
	if _, err := retina.CupToDisc(disc, lane.Annotation{Kind: lane.AnnotCup, Points: []lane.Point{{X: 1, Y: 1}, {X: 2, Y: 2}, {X: 3, Y: 3}}}); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("collinear cup: err = %v, want lane.ErrInvalid", err)
	}
}
