package retina

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"

	"github.com/examlane/examlane/lane"
)

// Identity maps image coordinates to themselves: use it with
// DrawAnnotations to draw on a full-resolution exported copy.
var Identity = Affine{A: 1, D: 1}

// Style says how annotations are drawn. The zero value gives 2-pixel
// strokes, the default colours, measurement labels and 1× text.
type Style struct {
	// Width is the stroke width in destination pixels; 0 means 2.
	Width float64
	// Colors overrides the colour of some kinds.
	Colors map[lane.AnnotationKind]color.RGBA
	// NoLabels hides measurement labels (lengths, areas, cup-to-disc).
	NoLabels bool
	// TextScale magnifies the 7×13 bitmap font (for exports at full
	// resolution); 0 means 1.
	TextScale int
}

// DefaultColors are the annotation colours, chosen to stay visible on the
// orange-red fundus and on red-free grey.
var DefaultColors = map[lane.AnnotationKind]color.RGBA{
	lane.AnnotArrow:    {255, 255, 255, 255},
	lane.AnnotCircle:   {80, 220, 255, 255},
	lane.AnnotFreehand: {120, 255, 120, 255},
	lane.AnnotText:     {255, 255, 255, 255},
	lane.AnnotLength:   {255, 240, 60, 255},
	lane.AnnotArea:     {255, 120, 255, 255},
	lane.AnnotDisc:     {255, 255, 0, 255},
	lane.AnnotCup:      {0, 200, 255, 255},
}

var outlineColor = color.RGBA{0, 0, 0, 200}

// DrawAnnotations draws anns over dst, mapping image coordinates with m
// (View.ToViewport for a viewport, Identity for an exported copy). Deleted
// annotations are skipped; lengths and areas are labelled with cal; when a
// disc and a cup outline are both present the cup-to-disc ratios are
// labelled beside the disc. Every mark has a dark outline so it stays
// visible whatever is under it. Points are drawn as given: an annotation
// with too few points for its kind draws what it can.
func DrawAnnotations(dst *image.RGBA, m Affine, anns []lane.Annotation, cal Calibration, st Style) {
	if st.Width <= 0 {
		st.Width = 2
	}
	if st.TextScale <= 0 {
		st.TextScale = 1
	}
	p := &painter{dst: dst, st: st}
	var disc, cup *lane.Annotation
	for i := range anns {
		a := &anns[i]
		if a.Deleted {
			continue
		}
		p.draw(*a, m, cal)
		switch a.Kind {
		case lane.AnnotDisc:
			disc = a
		case lane.AnnotCup:
			cup = a
		}
	}
	if disc != nil && cup != nil && !st.NoLabels {
		if r, err := CupToDisc(*disc, *cup); err == nil {
			pts := mapAll(m, Outline(*disc))
			_, y0, x1, _ := bbox(pts)
			label := "C/D v " + ftoa2(r.Vertical) + " h " + ftoa2(r.Horizontal) + " area " + ftoa2(r.Area)
			p.text(lane.Point{X: x1 + 4*st.Width, Y: y0}, label, p.color(lane.AnnotDisc))
		}
	}
}

func ftoa2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

type painter struct {
	dst *image.RGBA
	st  Style
	z   vector.Rasterizer
}

func (p *painter) color(k lane.AnnotationKind) color.RGBA {
	if c, ok := p.st.Colors[k]; ok {
		return c
	}
	if c, ok := DefaultColors[k]; ok {
		return c
	}
	return color.RGBA{255, 255, 255, 255}
}

func mapAll(m Affine, pts []lane.Point) []lane.Point {
	out := make([]lane.Point, len(pts))
	for i, q := range pts {
		out[i] = m.Apply(q)
	}
	return out
}

func (p *painter) draw(a lane.Annotation, m Affine, cal Calibration) {
	col := p.color(a.Kind)
	w := p.st.Width
	pts := mapAll(m, a.Points)
	switch a.Kind {
	case lane.AnnotArrow:
		if len(pts) < 2 {
			return
		}
		tail, head := pts[0], pts[1]
		dx, dy := head.X-tail.X, head.Y-tail.Y
		l := math.Hypot(dx, dy)
		if l == 0 {
			return
		}
		ux, uy := dx/l, dy/l
		hl := math.Min(l, 4*w+8) // head length
		base := lane.Point{X: head.X - ux*hl, Y: head.Y - uy*hl}
		headPoly := []lane.Point{head, {X: base.X - uy*hl*0.5, Y: base.Y + ux*hl*0.5}, {X: base.X + uy*hl*0.5, Y: base.Y - ux*hl*0.5}}
		shaft := []lane.Point{tail, base}
		p.strokeOutlined(shaft, false, col)
		p.fill([][]lane.Point{grow(headPoly, w)}, outlineColor)
		p.fill([][]lane.Point{headPoly}, col)
	case lane.AnnotCircle, lane.AnnotDisc, lane.AnnotCup:
		p.strokeOutlined(mapAll(m, Outline(a)), true, col)
	case lane.AnnotFreehand:
		p.strokeOutlined(pts, false, col)
	case lane.AnnotText:
		if len(pts) > 0 {
			p.text(pts[0], a.Text, col)
		}
	case lane.AnnotLength:
		if len(pts) < 2 {
			return
		}
		p.strokeOutlined(pts, false, col)
		// End ticks across the first and last segments.
		for _, e := range [][2]lane.Point{{pts[0], pts[1]}, {pts[len(pts)-1], pts[len(pts)-2]}} {
			dx, dy := e[1].X-e[0].X, e[1].Y-e[0].Y
			if l := math.Hypot(dx, dy); l > 0 {
				nx, ny := -dy/l*(2*w+3), dx/l*(2*w+3)
				p.strokeOutlined([]lane.Point{{X: e[0].X - nx, Y: e[0].Y - ny}, {X: e[0].X + nx, Y: e[0].Y + ny}}, false, col)
			}
		}
		if !p.st.NoLabels {
			mid := pts[len(pts)/2]
			if len(pts) == 2 {
				mid = lane.Point{X: (pts[0].X + pts[1].X) / 2, Y: (pts[0].Y + pts[1].Y) / 2}
			}
			p.text(lane.Point{X: mid.X + 2*w + 4, Y: mid.Y - 2*w - 4}, cal.Length(a.Points).String(), col)
		}
	case lane.AnnotArea:
		if len(pts) < 3 {
			p.strokeOutlined(pts, false, col)
			return
		}
		tr := col
		tr.R, tr.G, tr.B, tr.A = uint8(uint32(col.R)*48/255), uint8(uint32(col.G)*48/255), uint8(uint32(col.B)*48/255), 48
		p.fill([][]lane.Point{pts}, tr)
		p.strokeOutlined(pts, true, col)
		if !p.st.NoLabels {
			var cx, cy float64
			for _, q := range pts {
				cx += q.X
				cy += q.Y
			}
			n := float64(len(pts))
			p.text(lane.Point{X: cx / n, Y: cy / n}, cal.Area(a.Points).String(), col)
		}
	}
}

// strokeOutlined strokes a polyline in col over a wider dark outline.
func (p *painter) strokeOutlined(pts []lane.Point, closed bool, col color.RGBA) {
	w := p.st.Width
	p.fill(strokePolys(pts, closed, w+2), outlineColor)
	p.fill(strokePolys(pts, closed, w), col)
}

// grow returns a triangle enlarged by d around its centroid, for an
// outline behind a filled arrow head.
func grow(tri []lane.Point, d float64) []lane.Point {
	var cx, cy float64
	for _, q := range tri {
		cx += q.X / 3
		cy += q.Y / 3
	}
	out := make([]lane.Point, len(tri))
	for i, q := range tri {
		dx, dy := q.X-cx, q.Y-cy
		l := math.Hypot(dx, dy)
		if l == 0 {
			out[i] = q
			continue
		}
		out[i] = lane.Point{X: q.X + dx/l*d*1.6, Y: q.Y + dy/l*d*1.6}
	}
	return out
}

// strokePolys returns the polygons covering a stroke of width w along pts:
// a quadrilateral per segment and a round cap at every vertex, all wound
// the same way so that their union fills without holes.
func strokePolys(pts []lane.Point, closed bool, w float64) [][]lane.Point {
	r := w / 2
	var polys [][]lane.Point
	n := len(pts)
	segs := n - 1
	if closed && n > 2 {
		segs = n
	}
	for i := 0; i < segs; i++ {
		a, b := pts[i], pts[(i+1)%n]
		dx, dy := b.X-a.X, b.Y-a.Y
		l := math.Hypot(dx, dy)
		if l == 0 {
			continue
		}
		nx, ny := -dy/l*r, dx/l*r
		polys = append(polys, ccw([]lane.Point{{X: a.X + nx, Y: a.Y + ny}, {X: b.X + nx, Y: b.Y + ny}, {X: b.X - nx, Y: b.Y - ny}, {X: a.X - nx, Y: a.Y - ny}}))
	}
	for _, q := range pts {
		polys = append(polys, disc(q, r))
	}
	return polys
}

// disc returns a 12-sided polygon of radius r around c, counter-clockwise.
func disc(c lane.Point, r float64) []lane.Point {
	out := make([]lane.Point, 12)
	for i := range out {
		t := 2 * math.Pi * float64(i) / 12
		out[i] = lane.Point{X: c.X + r*math.Cos(t), Y: c.Y - r*math.Sin(t)}
	}
	return ccw(out)
}

// ccw returns poly with a consistent (positive shoelace) winding.
func ccw(poly []lane.Point) []lane.Point {
	var s float64
	for i := range poly {
		j := (i + 1) % len(poly)
		s += poly[i].X*poly[j].Y - poly[j].X*poly[i].Y
	}
	if s < 0 {
		for i, j := 0, len(poly)-1; i < j; i, j = i+1, j-1 {
			poly[i], poly[j] = poly[j], poly[i]
		}
	}
	return poly
}

// fill rasterises the union of polys in col (antialiased, source-over).
// Shapes are clipped to dst; non-finite coordinates are skipped.
func (p *painter) fill(polys [][]lane.Point, col color.RGBA) {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, poly := range polys {
		for _, q := range poly {
			if math.IsNaN(q.X) || math.IsNaN(q.Y) || math.IsInf(q.X, 0) || math.IsInf(q.Y, 0) {
				return
			}
			x0, y0 = math.Min(x0, q.X), math.Min(y0, q.Y)
			x1, y1 = math.Max(x1, q.X), math.Max(y1, q.Y)
		}
	}
	if x0 > x1 {
		return
	}
	r := image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1))+1, int(math.Ceil(y1))+1).Intersect(p.dst.Rect)
	if r.Empty() {
		return
	}
	p.z.Reset(r.Dx(), r.Dy())
	ox, oy := float64(r.Min.X), float64(r.Min.Y)
	for _, poly := range polys {
		if len(poly) < 3 {
			continue
		}
		p.z.MoveTo(clampF(poly[0].X-ox), clampF(poly[0].Y-oy))
		for _, q := range poly[1:] {
			p.z.LineTo(clampF(q.X-ox), clampF(q.Y-oy))
		}
		p.z.ClosePath()
	}
	p.z.Draw(p.dst, r, image.NewUniform(col), image.Point{})
}

// clampF keeps far-away coordinates in float32 range for the rasteriser.
func clampF(v float64) float32 { return float32(math.Max(-1e6, math.Min(1e6, v))) }

// labelText makes a label drawable with the ASCII bitmap font.
var labelText = strings.NewReplacer("°", " deg", "²", "^2")

// text draws s with its baseline-left at q in col, over a dark halo.
func (p *painter) text(q lane.Point, s string, col color.RGBA) {
	s = labelText.Replace(s)
	if s == "" || math.IsNaN(q.X) || math.IsNaN(q.Y) || math.Abs(q.X) > 1e6 || math.Abs(q.Y) > 1e6 {
		return
	}
	face := basicfont.Face7x13
	adv := font.MeasureString(face, s).Ceil()
	mask := image.NewAlpha(image.Rect(0, 0, adv+2, face.Height+2))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face, Dot: fixed.P(1, 1+face.Ascent)}
	d.DrawString(s)
	k := p.st.TextScale
	// Halo: the mask dilated by one font pixel.
	halo := image.NewAlpha(mask.Rect)
	for y := range mask.Rect.Dy() {
		for x := range mask.Rect.Dx() {
			if mask.Pix[y*mask.Stride+x] == 0 {
				continue
			}
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					if u, v := x+dx, y+dy; u >= 0 && v >= 0 && u < halo.Rect.Dx() && v < halo.Rect.Dy() {
						halo.Pix[v*halo.Stride+u] = 255
					}
				}
			}
		}
	}
	origin := image.Pt(int(math.Round(q.X))-k, int(math.Round(q.Y))-k*(1+face.Ascent))
	// Keep a label whose anchor is visible wholly inside dst (e.g. the
	// cup-to-disc label beside a disc near the right edge).
	if b := p.dst.Rect; image.Pt(int(q.X), int(q.Y)).In(b) {
		size := mask.Rect.Size().Mul(k)
		origin.X = max(b.Min.X, min(origin.X, b.Max.X-size.X))
		origin.Y = max(b.Min.Y, min(origin.Y, b.Max.Y-size.Y))
	}
	p.blit(halo, origin, k, outlineColor)
	p.blit(mask, origin, k, col)
}

// blit draws col through mask magnified k times at origin.
func (p *painter) blit(mask *image.Alpha, origin image.Point, k int, col color.RGBA) {
	if k == 1 {
		r := mask.Rect.Add(origin)
		draw.DrawMask(p.dst, r, image.NewUniform(col), image.Point{}, mask, image.Point{}, draw.Over)
		return
	}
	big := image.NewAlpha(image.Rect(0, 0, mask.Rect.Dx()*k, mask.Rect.Dy()*k))
	for y := range big.Rect.Dy() {
		for x := range big.Rect.Dx() {
			big.Pix[y*big.Stride+x] = mask.Pix[(y/k)*mask.Stride+x/k]
		}
	}
	draw.DrawMask(p.dst, big.Rect.Add(origin), image.NewUniform(col), image.Point{}, big, image.Point{}, draw.Over)
}
