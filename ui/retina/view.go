package retina

import (
	"image"
	"math"

	"github.com/examlane/examlane/lane"
)

// Zoom limits, in viewport pixels per image pixel.
const (
	// MaxScale is the largest magnification: 32 screen pixels per image
	// pixel is far past what a photograph resolves.
	MaxScale = 32
	// MinFitFraction is how far below "fit" a view may zoom out.
	MinFitFraction = 0.25
)

// View is what a viewport shows of an image: the image point at the
// viewport's centre, the magnification, and the orientation. Views are
// values; their methods return modified copies.
//
// The mapping from image point p to viewport point q is
//
//	q = vc + F·R·(Scale·(p − Center))
//
// where vc is the viewport centre, R rotates clockwise on screen by
// Rotation degrees, and F mirrors the displayed picture (FlipH mirrors left
// and right, FlipV top and bottom), so flips act on what the user sees
// whatever the rotation.
type View struct {
	// Scale is viewport pixels per image (level-0) pixel: 1 is 1:1.
	Scale float64
	// Center is the image point shown at the viewport centre.
	Center lane.Point
	// Rotation is clockwise, in degrees; any value, 90° steps are exact.
	Rotation float64
	// FlipH and FlipV mirror the displayed image horizontally/vertically.
	FlipH, FlipV bool
}

// Fit returns the view that shows the whole image (size img) centred in a
// viewport of size vp, as large as fits, at the given rotation.
func Fit(img, vp image.Point, rotation float64) View {
	return View{Scale: FitScale(img, vp, rotation), Center: lane.Point{X: float64(img.X) / 2, Y: float64(img.Y) / 2}, Rotation: rotation}
}

// FitScale returns the largest scale at which the whole image, rotated,
// fits in the viewport; 1 if either size is empty.
func FitScale(img, vp image.Point, rotation float64) float64 {
	if img.X <= 0 || img.Y <= 0 || vp.X <= 0 || vp.Y <= 0 {
		return 1
	}
	s, c := sincos(rotation)
	s, c = math.Abs(s), math.Abs(c)
	bw := c*float64(img.X) + s*float64(img.Y)
	bh := s*float64(img.X) + c*float64(img.Y)
	return math.Min(float64(vp.X)/bw, float64(vp.Y)/bh)
}

// sincos returns the sine and cosine of deg degrees, exact for multiples of
// 90 so that quarter turns map pixels to pixels.
func sincos(deg float64) (float64, float64) {
	d := math.Mod(deg, 360)
	if d < 0 {
		d += 360
	}
	switch d {
	case 0:
		return 0, 1
	case 90:
		return 1, 0
	case 180:
		return 0, -1
	case 270:
		return -1, 0
	}
	return math.Sincos(d * math.Pi / 180)
}

// Affine is a 2-D affine map q = M·p + T, with M = [[A, B], [C, D]].
type Affine struct {
	A, B, C, D float64
	TX, TY     float64
}

// Apply maps p.
func (m Affine) Apply(p lane.Point) lane.Point {
	return lane.Point{X: m.A*p.X + m.B*p.Y + m.TX, Y: m.C*p.X + m.D*p.Y + m.TY}
}

// Invert returns the inverse map; ok is false if m is singular.
func (m Affine) Invert() (Affine, bool) {
	det := m.A*m.D - m.B*m.C
	if det == 0 || math.IsNaN(det) || math.IsInf(det, 0) {
		return Affine{}, false
	}
	a, b, c, d := m.D/det, -m.B/det, -m.C/det, m.A/det
	return Affine{A: a, B: b, C: c, D: d, TX: -(a*m.TX + b*m.TY), TY: -(c*m.TX + d*m.TY)}, true
}

// ToViewport returns the affine map from image to viewport coordinates for
// a viewport of size vp.
func (v View) ToViewport(vp image.Point) Affine {
	s, c := sincos(v.Rotation)
	fx, fy := 1.0, 1.0
	if v.FlipH {
		fx = -1
	}
	if v.FlipV {
		fy = -1
	}
	sc := v.scale()
	a, b := fx*c*sc, -fx*s*sc
	cc, d := fy*s*sc, fy*c*sc
	return Affine{
		A: a, B: b, C: cc, D: d,
		TX: float64(vp.X)/2 - (a*v.Center.X + b*v.Center.Y),
		TY: float64(vp.Y)/2 - (cc*v.Center.X + d*v.Center.Y),
	}
}

// ToImage returns the affine map from viewport to image coordinates.
func (v View) ToImage(vp image.Point) Affine {
	m, _ := v.ToViewport(vp).Invert() // never singular: scale() > 0
	return m
}

func (v View) scale() float64 {
	if !(v.Scale > 0) || math.IsInf(v.Scale, 0) {
		return 1
	}
	return v.Scale
}

// ImagePoint returns the image point under viewport point q.
func (v View) ImagePoint(q lane.Point, vp image.Point) lane.Point { return v.ToImage(vp).Apply(q) }

// ViewportPoint returns where image point p appears in the viewport.
func (v View) ViewportPoint(p lane.Point, vp image.Point) lane.Point {
	return v.ToViewport(vp).Apply(p)
}

// ZoomAt multiplies the scale by factor, keeping the image point under
// viewport point at where it is (zoom around the cursor). The scale is
// clamped to [MinFitFraction·fit, MaxScale] for an image of size img.
func (v View) ZoomAt(factor float64, at lane.Point, img, vp image.Point) View {
	p := v.ImagePoint(at, vp)
	return v.WithScale(v.scale()*factor, img, vp).anchor(p, at, vp)
}

// WithScale returns v at scale s (clamped as in ZoomAt), keeping the
// centre; use 1 for 1:1.
func (v View) WithScale(s float64, img, vp image.Point) View {
	lo := MinFitFraction * FitScale(img, vp, v.Rotation)
	v.Scale = math.Max(lo, math.Min(MaxScale, s))
	return v
}

// anchor moves the centre so that image point p appears at viewport point q.
func (v View) anchor(p, q lane.Point, vp image.Point) View {
	cur := v.ViewportPoint(p, vp)
	return v.PanBy(q.X-cur.X, q.Y-cur.Y, vp)
}

// PanBy moves the picture by (dx, dy) viewport pixels, as when dragging.
func (v View) PanBy(dx, dy float64, vp image.Point) View {
	inv := v.ToImage(vp)
	v.Center.X -= inv.A*dx + inv.B*dy
	v.Center.Y -= inv.C*dx + inv.D*dy
	return v
}

// Rotate turns the picture by deg degrees clockwise around the viewport
// centre (use ±90 for quarter turns); the result is kept in [0,360).
func (v View) Rotate(deg float64) View {
	r := math.Mod(v.Rotation+deg, 360)
	if r < 0 {
		r += 360
	}
	v.Rotation = r
	return v
}

// ClampCenter keeps the centre inside the image so the picture cannot be
// dragged out of sight.
func (v View) ClampCenter(img image.Point) View {
	v.Center.X = math.Max(0, math.Min(float64(img.X), v.Center.X))
	v.Center.Y = math.Max(0, math.Min(float64(img.Y), v.Center.Y))
	return v
}
