package retina

import (
	"cmp"
	"image"
	"image/color"
	"image/draw"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

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
	p := painters.Get().(*painter)
	p.dst, p.st, p.rasterised = dst, st, 0
	defer func() {
		p.dst, p.st = nil, Style{}
		painters.Put(p)
	}()
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

	// Scratch space reused from mark to mark and, through painters, from
	// frame to frame.
	items    []fillItem
	active   []int
	spans    []fillSpan
	clip     [2][]lane.Point
	uniforms []*image.Uniform
	margin   []int             // per layer: how far outside a run polygons are clipped
	boxes    []image.Rectangle // per layer: the pixels of dst it may reach
	bandAll  bool              // draw even small fills in bands (tests)

	// rasterised counts the pixels handed to the rasteriser (cleared,
	// accumulated and composited): the cost the tests keep proportional
	// to what the strokes cover.
	rasterised int
}

// painters keeps painters (their rasteriser and scratch buffers) between
// calls; DrawAnnotations may run on several goroutines at once (one per
// viewer).
var painters = sync.Pool{New: func() any { return new(painter) }}

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
		p.fill(layer{strokePolys(shaft, false, w+2), outlineColor}, layer{strokePolys(shaft, false, w), col},
			layer{[][]lane.Point{grow(headPoly, w)}, outlineColor}, layer{[][]lane.Point{headPoly}, col})
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
		p.fill(layer{[][]lane.Point{pts}, tr}, layer{strokePolys(pts, true, w+2), outlineColor}, layer{strokePolys(pts, true, w), col})
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
	if !p.near(pts, w) {
		return
	}
	p.fill(layer{strokePolys(pts, closed, w+2), outlineColor}, layer{strokePolys(pts, closed, w), col})
}

// near reports whether a stroke of width w along pts may reach dst (false
// skips building the polygons of a mark far outside the viewport).
func (p *painter) near(pts []lane.Point, w float64) bool {
	if len(pts) == 0 {
		return false
	}
	x0, y0, x1, y1 := bbox(pts)
	m := w + 4
	r := p.dst.Rect
	return !(x1+m < float64(r.Min.X) || y1+m < float64(r.Min.Y) || x0-m > float64(r.Max.X) || y0-m > float64(r.Max.Y))
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

// A layer is one colour drawn through the union of some polygons.
type layer struct {
	polys [][]lane.Point
	col   color.RGBA
}

// Mark drawing costs what the stroke covers on screen, not its bounding
// box. A fill whose layers each reach at most wholeMax pixels of dst is
// rasterised layer by layer over its whole box, as it always was: that is
// cheap, and those marks (most marks in a fitted view, the goldens) come
// out bit for bit as before. A larger fill is cut into bands of bandRows
// rows and, in each band, only the runs of columns that some polygon
// reaches are rasterised (polygons whose extents overlap share a run). A
// circle around the disc at 2× thus rasterises two short arcs per band
// instead of the whole square around it.
//
// golang.org/x/image/vector rasterises canvases up to 512 pixels in fixed
// point, larger ones in floating point. The fixed-point path steps along
// each edge from its top vertex, rounding by up to 1/512 pixel a row, and
// truncates coordinates towards the canvas origin, so the same edge on
// another canvas can land a fraction of a pixel elsewhere. Runs are at
// most fixedMax wide, so banded marks are always rasterised in fixed
// point:
//   - A layer that reaches at most 512×512 pixels was rasterised whole in
//     fixed point. Its polygons are clipped only clipMargin pixels away
//     from a run, which they do not reach unless they run far off screen,
//     so every edge starts where it did; edges cut by a band boundary may
//     still move by a few hundredths of a pixel (a few levels on the
//     antialiased edge).
//   - A larger layer (a disc at 2×) took the floating-point path, which
//     does not drift. Its polygons are clipped one pixel around each run,
//     so no edge drifts over more than a band: its antialiased edges stay
//     within a few hundredths of a pixel of before too. Forcing the
//     floating-point path would need canvases over 512 pixels wide and
//     give back most of the gain.
//
// TestFillMatchesWholeBox and TestFillLargeMarks bound the differences.
const (
	bandRows   = 16
	fixedMax   = 512      // the rasteriser's floating-point threshold
	clipMargin = fixedMax // for layers within fixedMax×fixedMax
	// wholeMax is the largest box (in pixels) a fill's layers are
	// rasterised whole over: up to it the box costs less than bands
	// would save, and such marks come out bit for bit as they always did
	// (the goldens of ui/viewer compare exactly).
	wholeMax = 256 * 256
	// maxCoord bounds destination coordinates: a mark beyond it (no
	// image is a million pixels wide, even at 32×) is garbage and not
	// drawn, and the clipping arithmetic cannot overflow.
	maxCoord = 1e12
)

// fillItem is a polygon of a layer with its bounding box.
type fillItem struct {
	layer          int
	poly           []lane.Point
	x0, y0, x1, y1 float64 // bounding box
}

// fillSpan is the pixel rectangle an item may touch within one band.
type fillSpan struct {
	item           int
	x0, y0, x1, y1 int
}

// fill draws layers in order, each the union of its polygons in its
// colour (antialiased, source-over), as rasterising each layer whole one
// after the other did (within rounding, and see the note above on marks
// over 512 pixels): runs are disjoint, so each pixel still sees every
// layer in order. Shapes are clipped to dst; if any coordinate is not
// finite (or beyond maxCoord) nothing is drawn.
func (p *painter) fill(layers ...layer) {
	items := p.items[:0]
	defer func() {
		clear(items) // do not keep the caller's polygons alive in the pool
		p.items = items[:0]
	}()
	bx0, by0, bx1, by1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for li, l := range layers {
		for _, poly := range l.polys {
			if len(poly) < 3 {
				continue
			}
			it := fillItem{layer: li, poly: poly, x0: math.Inf(1), y0: math.Inf(1), x1: math.Inf(-1), y1: math.Inf(-1)}
			for _, q := range poly {
				if !(math.Abs(q.X) <= maxCoord && math.Abs(q.Y) <= maxCoord) { // also NaN
					return
				}
				it.x0, it.y0 = math.Min(it.x0, q.X), math.Min(it.y0, q.Y)
				it.x1, it.y1 = math.Max(it.x1, q.X), math.Max(it.y1, q.Y)
			}
			bx0, by0 = math.Min(bx0, it.x0), math.Min(by0, it.y0)
			bx1, by1 = math.Max(bx1, it.x1), math.Max(by1, it.y1)
			items = append(items, it)
		}
	}
	if len(items) == 0 {
		return
	}
	clip := image.Rect(ifloor(bx0), ifloor(by0), ifloor(math.Ceil(bx1))+1, ifloor(math.Ceil(by1))+1).Intersect(p.dst.Rect)
	if clip.Empty() {
		return
	}
	p.uniforms, p.margin, p.boxes = p.uniforms[:0], p.margin[:0], p.boxes[:0]
	small := true
	for li, l := range layers {
		p.uniforms = append(p.uniforms, image.NewUniform(l.col))
		// The pixels the layer reaches decide how far to clip (see
		// clipMargin).
		var lb image.Rectangle
		for _, it := range items {
			if it.layer == li {
				lb = lb.Union(image.Rect(ifloor(it.x0), ifloor(it.y0), ifloor(math.Ceil(it.x1))+1, ifloor(math.Ceil(it.y1))+1))
			}
		}
		m := 1
		if lb = lb.Intersect(p.dst.Rect); lb.Dx() <= fixedMax && lb.Dy() <= fixedMax {
			m = clipMargin
		}
		p.margin = append(p.margin, m)
		p.boxes = append(p.boxes, lb)
		small = small && lb.Dx()*lb.Dy() <= wholeMax
	}
	if small && !p.bandAll {
		for li := range layers {
			p.whole(items, li)
		}
		return
	}
	slices.SortFunc(items, func(a, b fillItem) int { return cmp.Compare(a.y0, b.y0) })

	active := p.active[:0]
	next := 0
	for y := clip.Min.Y; y < clip.Max.Y; {
		if len(active) == 0 {
			// Skip the rows above the next polygon.
			for next < len(items) && items[next].y1 <= float64(y) {
				next++
			}
			if next == len(items) {
				break
			}
			y = max(y, ifloor(items[next].y0))
			if y >= clip.Max.Y {
				break
			}
		}
		yEnd := min(y+bandRows, clip.Max.Y)
		// Drop the items that ended above this band, add those starting
		// in it.
		k := 0
		for _, i := range active {
			if items[i].y1 > float64(y) {
				active[k] = i
				k++
			}
		}
		active = active[:k]
		for next < len(items) && items[next].y0 < float64(yEnd) {
			if items[next].y1 > float64(y) {
				active = append(active, next)
			}
			next++
		}
		p.band(items, active, clip, y, yEnd)
		y = yEnd
	}
	p.active = active[:0]
}

// band draws the active items' rows y0..y1 (exclusive) within clip.
func (p *painter) band(items []fillItem, active []int, clip image.Rectangle, y0, y1 int) {
	spans := p.spans[:0]
	for _, i := range active {
		ex0, ex1, ey0, ey1, ok := slabExtent(items[i].poly, float64(y0), float64(y1))
		if !ok {
			continue
		}
		s := fillSpan{item: i,
			x0: max(ifloor(ex0), clip.Min.X), x1: min(ifloor(math.Ceil(ex1))+1, clip.Max.X),
			y0: max(ifloor(ey0), y0), y1: min(ifloor(math.Ceil(ey1))+1, y1)}
		if s.x0 < s.x1 && s.y0 < s.y1 {
			spans = append(spans, s)
		}
	}
	slices.SortFunc(spans, func(a, b fillSpan) int { return cmp.Compare(a.x0, b.x0) })
	// Merge the spans whose columns overlap into runs.
	for i := 0; i < len(spans); {
		r := image.Rect(spans[i].x0, spans[i].y0, spans[i].x1, spans[i].y1)
		j := i + 1
		for ; j < len(spans) && spans[j].x0 < r.Max.X; j++ {
			r.Max.X = max(r.Max.X, spans[j].x1)
			r.Min.Y, r.Max.Y = min(r.Min.Y, spans[j].y0), max(r.Max.Y, spans[j].y1)
		}
		p.run(items, spans[i:j])
		i = j
	}
	p.spans = spans[:0]
}

// run rasterises, layer by layer, the polygons of a run's spans and
// draws each layer over the pixels its spans cover.
func (p *painter) run(items []fillItem, spans []fillSpan) {
	for li := range p.uniforms {
		var r image.Rectangle
		for _, s := range spans {
			if items[s.item].layer == li {
				r = r.Union(image.Rect(s.x0, s.y0, s.x1, s.y1))
			}
		}
		if r.Empty() {
			continue
		}
		for x := r.Min.X; x < r.Max.X; x += fixedMax {
			p.rasterise(items, spans, li, image.Rect(x, r.Min.Y, min(x+fixedMax, r.Max.X), r.Max.Y))
		}
	}
}

// whole rasterises layer li over its whole visible bounding box.
func (p *painter) whole(items []fillItem, li int) {
	r := p.boxes[li]
	if r.Empty() {
		return
	}
	p.z.Reset(r.Dx(), r.Dy())
	p.rasterised += r.Dx() * r.Dy()
	win := [4]float64{float64(r.Min.X - clipMargin), float64(r.Min.Y - clipMargin), float64(r.Max.X + clipMargin), float64(r.Max.Y + clipMargin)}
	ox, oy := float64(r.Min.X), float64(r.Min.Y)
	for _, it := range items {
		if it.layer != li {
			continue
		}
		poly := it.poly
		if it.x0 < win[0] || it.y0 < win[1] || it.x1 > win[2] || it.y1 > win[3] {
			// Only a mark running far off screen (see rasterise).
			if poly = p.clipPoly(poly, win); len(poly) < 3 {
				continue
			}
		}
		p.z.MoveTo(clampF(poly[0].X-ox), clampF(poly[0].Y-oy))
		for _, q := range poly[1:] {
			p.z.LineTo(clampF(q.X-ox), clampF(q.Y-oy))
		}
		p.z.ClosePath()
	}
	p.z.Draw(p.dst, r, p.uniforms[li], image.Point{})
}

// rasterise draws layer li of the spans' polygons over r.
func (p *painter) rasterise(items []fillItem, spans []fillSpan, li int, r image.Rectangle) {
	p.z.Reset(r.Dx(), r.Dy())
	p.rasterised += r.Dx() * r.Dy()
	// Polygons reaching outside r by more than the layer's margin are
	// clipped to r grown by it: coverage inside r is unchanged, and the
	// rasteriser never walks thousands of rows outside r (a long line
	// mostly off screen at high zoom).
	m := p.margin[li]
	win := [4]float64{float64(r.Min.X - m), float64(r.Min.Y - m), float64(r.Max.X + m), float64(r.Max.Y + m)}
	ox, oy := float64(r.Min.X), float64(r.Min.Y)
	for _, s := range spans {
		it := &items[s.item]
		if it.layer != li || s.x1 <= r.Min.X || s.x0 >= r.Max.X {
			continue
		}
		poly := it.poly
		if it.x0 < win[0] || it.y0 < win[1] || it.x1 > win[2] || it.y1 > win[3] {
			if poly = p.clipPoly(poly, win); len(poly) < 3 {
				continue
			}
		}
		p.z.MoveTo(clampF(poly[0].X-ox), clampF(poly[0].Y-oy))
		for _, q := range poly[1:] {
			p.z.LineTo(clampF(q.X-ox), clampF(q.Y-oy))
		}
		p.z.ClosePath()
	}
	p.z.Draw(p.dst, r, p.uniforms[li], image.Point{})
}

// slabExtent returns the extent of the part of poly with y0 <= y <= y1,
// and false if there is none.
func slabExtent(poly []lane.Point, y0, y1 float64) (ex0, ex1, ey0, ey1 float64, ok bool) {
	ex0, ey0, ex1, ey1 = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for i, a := range poly {
		b := poly[(i+1)%len(poly)]
		if a.Y > b.Y {
			a, b = b, a
		}
		if b.Y < y0 || a.Y > y1 {
			continue
		}
		// Clip the edge to the slab (b.Y > a.Y wherever a division
		// happens).
		c, d := a, b
		if a.Y < y0 {
			c = lane.Point{X: a.X + (b.X-a.X)*(y0-a.Y)/(b.Y-a.Y), Y: y0}
		}
		if b.Y > y1 {
			d = lane.Point{X: a.X + (b.X-a.X)*(y1-a.Y)/(b.Y-a.Y), Y: y1}
		}
		ex0, ex1 = math.Min(ex0, math.Min(c.X, d.X)), math.Max(ex1, math.Max(c.X, d.X))
		ey0, ey1 = math.Min(ey0, c.Y), math.Max(ey1, d.Y)
		ok = true
	}
	return ex0, ex1, ey0, ey1, ok
}

// clipPoly clips poly to the rectangle win (x0, y0, x1, y1) with the
// Sutherland–Hodgman algorithm, in the painter's scratch buffers. Inside
// the window every point keeps its winding number, so the coverage the
// rasteriser computes there is unchanged, even for a concave or
// self-intersecting outline.
func (p *painter) clipPoly(poly []lane.Point, win [4]float64) []lane.Point {
	in := poly
	for edge := range 4 {
		out := p.clip[edge%2][:0]
		// inside reports whether q is on the kept side of the edge; cut
		// returns where a→b crosses it.
		inside := func(q lane.Point) bool {
			switch edge {
			case 0:
				return q.X >= win[0]
			case 1:
				return q.Y >= win[1]
			case 2:
				return q.X <= win[2]
			}
			return q.Y <= win[3]
		}
		cut := func(a, b lane.Point) lane.Point {
			if edge%2 == 0 {
				x := win[edge]
				return lane.Point{X: x, Y: a.Y + (b.Y-a.Y)*(x-a.X)/(b.X-a.X)}
			}
			y := win[edge]
			return lane.Point{X: a.X + (b.X-a.X)*(y-a.Y)/(b.Y-a.Y), Y: y}
		}
		for i, b := range in {
			a := in[(i+len(in)-1)%len(in)]
			ain, bin := inside(a), inside(b)
			switch {
			case ain && bin:
				out = append(out, b)
			case ain:
				out = append(out, cut(a, b))
			case bin:
				out = append(out, cut(a, b), b)
			}
		}
		p.clip[edge%2] = out
		in = out
		if len(in) == 0 {
			break
		}
	}
	return in
}

// clampF keeps far-away coordinates in float32 range for the rasteriser.
func clampF(v float64) float32 { return float32(math.Max(-1e6, math.Min(1e6, v))) }

// ifloor converts a coordinate to an int, bounding it first so that huge
// values convert predictably.
func ifloor(v float64) int { return int(math.Floor(math.Max(-1e9, math.Min(1e9, v)))) }

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
