package retina_test

import (
	"image"
	"math"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
)

func near(a, b lane.Point, tol float64) bool {
	return math.Abs(a.X-b.X) <= tol && math.Abs(a.Y-b.Y) <= tol
}

func TestFit(t *testing.T) {
	t.Parallel()
	img, vp := image.Pt(4000, 3000), image.Pt(1920, 1080)
	tests := []struct {
		rot  float64
		want float64
	}{
		{0, 0.36},
		{90, 0.27},  // 3000 wide, 4000 high on screen
		{180, 0.36}, // same footprint as 0
		{45, 1080 / (3500 * math.Sqrt2)},
	}
	for _, tt := range tests {
		v := retina.Fit(img, vp, tt.rot)
		if math.Abs(v.Scale-tt.want) > 1e-9 {
			t.Errorf("Fit(rot %v).Scale = %v, want %v", tt.rot, v.Scale, tt.want)
		}
		// The whole image lies inside the viewport and touches two sides.
		r := v.ImageRect(img, vp)
		if r.Min.X < 0 || r.Min.Y < 0 || r.Max.X > vp.X || r.Max.Y > vp.Y {
			t.Errorf("Fit(rot %v) covers %v, outside the %v viewport", tt.rot, r, vp)
		}
		if r.Dx() < vp.X-1 && r.Dy() < vp.Y-1 {
			t.Errorf("Fit(rot %v) covers %v: does not fill the viewport in either direction", tt.rot, r)
		}
	}
}

func TestViewMapping(t *testing.T) {
	t.Parallel()
	vp := image.Pt(400, 300) // over an 800×600 image
	c := lane.Point{X: 400, Y: 300}
	right := lane.Point{X: 500, Y: 300} // 100 px right of the centre
	tests := []struct {
		name string
		v    retina.View
		want lane.Point // where `right` appears
	}{
		{"plain", retina.View{Scale: 1, Center: c}, lane.Point{X: 300, Y: 150}},
		{"scale 2", retina.View{Scale: 2, Center: c}, lane.Point{X: 400, Y: 150}},
		{"rot 90 clockwise", retina.View{Scale: 1, Center: c, Rotation: 90}, lane.Point{X: 200, Y: 250}},
		{"rot 180", retina.View{Scale: 1, Center: c, Rotation: 180}, lane.Point{X: 100, Y: 150}},
		{"rot -90", retina.View{Scale: 1, Center: c, Rotation: -90}, lane.Point{X: 200, Y: 50}},
		{"flip H", retina.View{Scale: 1, Center: c, FlipH: true}, lane.Point{X: 100, Y: 150}},
		{"flip V", retina.View{Scale: 1, Center: c, FlipV: true}, lane.Point{X: 300, Y: 150}},
		// Flips act on the screen after rotation: rotated down, then the
		// vertical flip sends it up.
		{"rot 90 flip V", retina.View{Scale: 1, Center: c, Rotation: 90, FlipV: true}, lane.Point{X: 200, Y: 50}},
	}
	for _, tt := range tests {
		got := tt.v.ViewportPoint(right, vp)
		if !near(got, tt.want, 1e-9) {
			t.Errorf("%s: ViewportPoint(%v) = %v, want %v", tt.name, right, got, tt.want)
		}
		if back := tt.v.ImagePoint(got, vp); !near(back, right, 1e-9) {
			t.Errorf("%s: ImagePoint(ViewportPoint(p)) = %v, want %v", tt.name, back, right)
		}
		if got := tt.v.ViewportPoint(c, vp); !near(got, lane.Point{X: 200, Y: 150}, 1e-9) {
			t.Errorf("%s: centre maps to %v, want the viewport centre", tt.name, got)
		}
	}
}

func TestViewRoundTripFreeAngles(t *testing.T) {
	t.Parallel()
	vp := image.Pt(1920, 1080)
	for _, rot := range []float64{0, 13, 90, 137.5, 271, -33} {
		for _, flips := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			v := retina.View{Scale: 0.37, Center: lane.Point{X: 1234.5, Y: 987.25}, Rotation: rot, FlipH: flips[0], FlipV: flips[1]}
			for _, p := range []lane.Point{{}, {X: 4000, Y: 3000}, {X: 17.3, Y: 2999.9}} {
				q := v.ViewportPoint(p, vp)
				if back := v.ImagePoint(q, vp); !near(back, p, 1e-6) {
					t.Errorf("rot %v flips %v: round trip of %v = %v", rot, flips, p, back)
				}
			}
			// Distances scale by Scale whatever the orientation.
			a, b := v.ViewportPoint(lane.Point{X: 0, Y: 0}, vp), v.ViewportPoint(lane.Point{X: 300, Y: 400}, vp)
			if d := math.Hypot(a.X-b.X, a.Y-b.Y); math.Abs(d-500*0.37) > 1e-9 {
				t.Errorf("rot %v: 500 px maps to %v, want %v", rot, d, 500*0.37)
			}
		}
	}
}

func TestZoomAtKeepsCursorPoint(t *testing.T) {
	t.Parallel()
	img, vp := image.Pt(4000, 3000), image.Pt(1920, 1080)
	v := retina.Fit(img, vp, 0).Rotate(30)
	v.FlipH = true
	cursor := lane.Point{X: 1500, Y: 200}
	under := v.ImagePoint(cursor, vp)
	z := v.ZoomAt(2.5, cursor, img, vp)
	if math.Abs(z.Scale-v.Scale*2.5) > 1e-12 {
		t.Errorf("Scale = %v, want %v", z.Scale, v.Scale*2.5)
	}
	if got := z.ImagePoint(cursor, vp); !near(got, under, 1e-6) {
		t.Errorf("point under the cursor moved from %v to %v", under, got)
	}
	// Clamping: far in stops at MaxScale, far out at a quarter of fit.
	if s := v.ZoomAt(1e6, cursor, img, vp).Scale; s != retina.MaxScale {
		t.Errorf("zoom in clamps at %v, want %v", s, retina.MaxScale)
	}
	if s, want := v.ZoomAt(1e-6, cursor, img, vp).Scale, retina.MinFitFraction*retina.FitScale(img, vp, v.Rotation); math.Abs(s-want) > 1e-12 {
		t.Errorf("zoom out clamps at %v, want %v", s, want)
	}
}

func TestPanBy(t *testing.T) {
	t.Parallel()
	vp := image.Pt(640, 480)
	for _, rot := range []float64{0, 90, 41} {
		v := retina.View{Scale: 1.7, Center: lane.Point{X: 500, Y: 400}, Rotation: rot, FlipV: true}
		p := lane.Point{X: 520, Y: 380}
		before := v.ViewportPoint(p, vp)
		after := v.PanBy(33, -12, vp).ViewportPoint(p, vp)
		if !near(lane.Point{X: after.X - before.X, Y: after.Y - before.Y}, lane.Point{X: 33, Y: -12}, 1e-9) {
			t.Errorf("rot %v: point moved by (%v, %v), want (33, -12)", rot, after.X-before.X, after.Y-before.Y)
		}
	}
	c := retina.View{Center: lane.Point{X: -5, Y: 9000}}.ClampCenter(image.Pt(100, 100)).Center
	if c != (lane.Point{X: 0, Y: 100}) {
		t.Errorf("ClampCenter = %v, want (0,100)", c)
	}
}

func TestLinkedViewsAcrossResolutions(t *testing.T) {
	t.Parallel()
	imgs := []image.Point{{4000, 3000}, {2000, 1500}, {3000, 3000}, {1600, 1200}}
	vps := []image.Point{{960, 540}, {960, 540}, {960, 540}, {480, 540}}
	if _, err := retina.NewLinked(imgs[:1], vps[:1]); err == nil {
		t.Error("NewLinked with one image: no error")
	}
	l, err := retina.NewLinked(imgs, vps)
	if err != nil {
		t.Fatal(err)
	}
	// Zoom image 0 around a point and pan it: the others follow.
	v := l.View(0).ZoomAt(3, lane.Point{X: 700, Y: 200}, imgs[0], vps[0]).PanBy(40, 25, vps[0])
	l.Set(0, v)
	// The same normalised fundus point lands at the same relative place in
	// every viewport.
	u, w := 0.61, 0.37
	ref := l.View(0).ViewportPoint(lane.Point{X: u * 4000, Y: w * 3000}, vps[0])
	for i := 1; i < l.Len(); i++ {
		got := l.View(i).ViewportPoint(lane.Point{X: u * float64(imgs[i].X), Y: w * float64(imgs[i].Y)}, vps[i])
		rv0 := l.View(0).Relative(imgs[0], vps[0])
		rvi := l.View(i).Relative(imgs[i], vps[i])
		if math.Abs(rv0.Zoom-rvi.Zoom) > 1e-9 || math.Abs(rv0.U-rvi.U) > 1e-9 || math.Abs(rv0.V-rvi.V) > 1e-9 {
			t.Errorf("image %d: relative view %+v, want %+v", i, rvi, rv0)
		}
		if i == 1 && !near(got, ref, 1e-6) {
			// Same aspect and viewport: the same screen position exactly.
			t.Errorf("image 1 shows the point at %v, image 0 at %v", got, ref)
		}
	}
	// Rotation follows unless orientation is independent.
	l.Set(1, l.View(1).Rotate(90))
	if l.View(3).Rotation != 90 {
		t.Errorf("rotation not linked: %v", l.View(3).Rotation)
	}
	l.IndependentOrientation = true
	l.Set(2, l.View(2).Rotate(90))
	if l.View(0).Rotation != 90 || l.View(2).Rotation != 180 {
		t.Errorf("independent orientation: rotations %v and %v, want 90 and 180", l.View(0).Rotation, l.View(2).Rotation)
	}
	// A resized viewport keeps its relative view.
	before := l.View(3).Relative(imgs[3], vps[3])
	l.Resize(3, image.Pt(1000, 700))
	if after := l.View(3).Relative(imgs[3], image.Pt(1000, 700)); math.Abs(after.Zoom-before.Zoom) > 1e-9 || after.U != before.U {
		t.Errorf("Resize changed the relative view: %+v → %+v", before, after)
	}
}

func TestFlicker(t *testing.T) {
	t.Parallel()
	f := retina.Flicker{Interval: 400 * time.Millisecond, Count: 2}
	ms := time.Millisecond
	tests := []struct {
		at   time.Duration
		want int
		next time.Duration
	}{
		{-5 * ms, 0, 405 * ms}, {0, 0, 400 * ms}, {399 * ms, 0, ms}, {400 * ms, 1, 400 * ms}, {799 * ms, 1, ms}, {800 * ms, 0, 400 * ms}, {10*time.Second + 500*ms, 0, 300 * ms},
	}
	for _, tt := range tests {
		if got := f.At(tt.at); got != tt.want {
			t.Errorf("At(%v) = %d, want %d", tt.at, got, tt.want)
		}
		if got := f.Next(tt.at); got != tt.next {
			t.Errorf("Next(%v) = %v, want %v", tt.at, got, tt.next)
		}
	}
	four := retina.Flicker{Count: 4} // default interval 500 ms
	for i, want := range []int{0, 1, 2, 3, 0} {
		if got := four.At(time.Duration(i) * 500 * ms); got != want {
			t.Errorf("4 images: At(%d×500ms) = %d, want %d", i, got, want)
		}
	}
}
