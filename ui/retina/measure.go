package retina

import (
	"fmt"
	"math"

	"github.com/examlane/examlane/lane"
)

// Calibration converts image pixels to physical units. Pixel spacing (from
// DICOM) wins over a camera's field of view; with neither, measurements
// stay in pixels.
type Calibration struct {
	// MMPerPixel is the size of one image pixel in millimetres at the
	// retina (0 when unknown).
	MMPerPixel float64
	// DegPerPixel is the visual angle of one image pixel in degrees (0 when
	// unknown), from a camera's field of view across the image width.
	DegPerPixel float64
}

// CalibrationFor returns the calibration of img: pixel spacing when the
// image carries one, else the camera's horizontal field of view in degrees
// (fovDeg, 0 when unknown) spread over the image width.
func CalibrationFor(img lane.Image, fovDeg float64) Calibration {
	if img.PixelSpacingUM > 0 {
		return Calibration{MMPerPixel: img.PixelSpacingUM / 1000}
	}
	if fovDeg > 0 && img.Width > 0 {
		return Calibration{DegPerPixel: fovDeg / float64(img.Width)}
	}
	return Calibration{}
}

// Unit is the unit of a measured value.
type Unit string

// Measurement units.
const (
	UnitPixel   Unit = "px"
	UnitMM      Unit = "mm"
	UnitDegree  Unit = "°"
	UnitPixel2  Unit = "px²"
	UnitMM2     Unit = "mm²"
	UnitDegree2 Unit = "deg²"
)

// Value is a measurement with its unit.
type Value struct {
	V    float64
	Unit Unit
}

// String formats v for a label: two decimals for millimetres and degrees,
// whole pixels.
func (v Value) String() string {
	switch v.Unit {
	case UnitPixel, UnitPixel2:
		return fmt.Sprintf("%.0f %s", v.V, v.Unit)
	case UnitDegree:
		return fmt.Sprintf("%.2f°", v.V)
	}
	return fmt.Sprintf("%.2f %s", v.V, v.Unit)
}

// Length returns the length of the polyline through pts (a straight
// distance for two points).
func (c Calibration) Length(pts []lane.Point) Value {
	var d float64
	for i := 1; i < len(pts); i++ {
		d += math.Hypot(pts[i].X-pts[i-1].X, pts[i].Y-pts[i-1].Y)
	}
	switch {
	case c.MMPerPixel > 0:
		return Value{d * c.MMPerPixel, UnitMM}
	case c.DegPerPixel > 0:
		return Value{d * c.DegPerPixel, UnitDegree}
	}
	return Value{d, UnitPixel}
}

// Area returns the area of the closed polygon pts (shoelace formula;
// self-intersecting outlines give the net signed area's magnitude).
func (c Calibration) Area(pts []lane.Point) Value {
	a := PolygonArea(pts)
	switch {
	case c.MMPerPixel > 0:
		return Value{a * c.MMPerPixel * c.MMPerPixel, UnitMM2}
	case c.DegPerPixel > 0:
		return Value{a * c.DegPerPixel * c.DegPerPixel, UnitDegree2}
	}
	return Value{a, UnitPixel2}
}

// PolygonArea returns the area in square pixels enclosed by pts, by the
// shoelace formula; fewer than 3 points enclose nothing.
func PolygonArea(pts []lane.Point) float64 {
	if len(pts) < 3 {
		return 0
	}
	var s float64
	for i := range pts {
		j := (i + 1) % len(pts)
		s += pts[i].X*pts[j].Y - pts[j].X*pts[i].Y
	}
	return math.Abs(s) / 2
}

// Outline returns the closed outline an annotation describes: its points
// for a polygon, or 64 points around the circle for a circle given as
// centre and a point on the rim (two points, as Circle, Disc and Cup
// annotations may be).
func Outline(a lane.Annotation) []lane.Point {
	if len(a.Points) == 2 && (a.Kind == lane.AnnotCircle || a.Kind == lane.AnnotDisc || a.Kind == lane.AnnotCup) {
		c, e := a.Points[0], a.Points[1]
		r := math.Hypot(e.X-c.X, e.Y-c.Y)
		pts := make([]lane.Point, 64)
		for i := range pts {
			t := 2 * math.Pi * float64(i) / 64
			pts[i] = lane.Point{X: c.X + r*math.Cos(t), Y: c.Y + r*math.Sin(t)}
		}
		return pts
	}
	return a.Points
}

// CDR is a cup-to-disc ratio measured from outlines.
type CDR struct {
	// Vertical and Horizontal are the ratios of the cup's extent to the
	// disc's along the image's vertical and horizontal axes.
	Vertical, Horizontal float64
	// Area is the ratio of the cup's area to the disc's.
	Area float64
	// CupOutsideDisc is set when part of the cup outline lies outside the
	// disc outline's bounding box: the outlines are probably swapped or
	// misplaced, and the ratios should not be trusted.
	CupOutsideDisc bool
}

// CupToDisc computes the cup-to-disc ratios from a disc and a cup outline
// (polygons, or circles as centre and rim point; see Outline). Extents are
// measured along the image axes, so the image should be upright. It returns
// an error wrapping lane.ErrInvalid if either outline encloses no area.
func CupToDisc(disc, cup lane.Annotation) (CDR, error) {
	d, c := Outline(disc), Outline(cup)
	da, ca := PolygonArea(d), PolygonArea(c)
	if da == 0 || ca == 0 {
		return CDR{}, lane.Invalidf("retina: cup-to-disc: disc and cup outlines need at least 3 points enclosing an area")
	}
	dx0, dy0, dx1, dy1 := bbox(d)
	cx0, cy0, cx1, cy1 := bbox(c)
	r := CDR{
		Vertical:   (cy1 - cy0) / (dy1 - dy0),
		Horizontal: (cx1 - cx0) / (dx1 - dx0),
		Area:       ca / da,
	}
	r.CupOutsideDisc = cx0 < dx0 || cy0 < dy0 || cx1 > dx1 || cy1 > dy1
	return r, nil
}

func bbox(pts []lane.Point) (x0, y0, x1, y1 float64) {
	x0, y0, x1, y1 = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range pts {
		x0, y0 = math.Min(x0, p.X), math.Min(y0, p.Y)
		x1, y1 = math.Max(x1, p.X), math.Max(y1, p.Y)
	}
	return
}
