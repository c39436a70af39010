package retina

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"golang.org/x/image/vector"

	"github.com/examlane/examlane/lane"
)

// refFill is the straightforward way to draw layers, kept as the oracle
// for painter.fill (it is what fill did before issue #7): each layer's
// polygons rasterised together over their whole bounding box clipped to
// dst, one layer after the other.
func refFill(dst *image.RGBA, layers ...layer) (rasterised int) {
	var z vector.Rasterizer
	for _, l := range layers {
		x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, poly := range l.polys {
			for _, q := range poly {
				x0, y0 = math.Min(x0, q.X), math.Min(y0, q.Y)
				x1, y1 = math.Max(x1, q.X), math.Max(y1, q.Y)
			}
		}
		r := image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1))+1, int(math.Ceil(y1))+1).Intersect(dst.Rect)
		if r.Empty() {
			continue
		}
		z.Reset(r.Dx(), r.Dy())
		rasterised += r.Dx() * r.Dy()
		ox, oy := float64(r.Min.X), float64(r.Min.Y)
		for _, poly := range l.polys {
			if len(poly) < 3 {
				continue
			}
			z.MoveTo(float32(poly[0].X-ox), float32(poly[0].Y-oy))
			for _, q := range poly[1:] {
				z.LineTo(float32(q.X-ox), float32(q.Y-oy))
			}
			z.ClosePath()
		}
		z.Draw(dst, r, image.NewUniform(l.col), image.Point{})
	}
	return rasterised
}

// background returns a w×h picture with a gradient and a checker, so that
// compositing errors show whatever the colour.
func background(r image.Rectangle) *image.RGBA {
	img := image.NewRGBA(r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := uint8((x*255)/max(1, r.Dx()-1)) ^ uint8(((x/7+y/7)%2)*96)
			img.SetRGBA(x, y, color.RGBA{c, uint8((y * 255) / max(1, r.Dy()-1)), 128, 255})
		}
	}
	return img
}

// maxDiff returns the largest per-channel difference and where.
func maxDiff(a, b *image.RGBA) (worst int, at image.Point) {
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(b.Pix[i])
		if d < 0 {
			d = -d
		}
		if d > worst {
			worst, at = d, image.Pt(a.Rect.Min.X+(i/4)%a.Rect.Dx(), a.Rect.Min.Y+(i/4)/a.Rect.Dx())
		}
	}
	return worst, at
}

var (
	testCol  = color.RGBA{80, 220, 255, 255}
	testTint = color.RGBA{48, 22, 48, 48}
)

// strokeLayers are the layers strokeOutlined draws.
func strokeLayers(pts []lane.Point, closed bool, w float64) []layer {
	return []layer{{strokePolys(pts, closed, w+2), outlineColor}, {strokePolys(pts, closed, w), testCol}}
}

func circlePts(cx, cy, r float64) []lane.Point {
	return Outline(lane.Annotation{Kind: lane.AnnotCircle, Points: []lane.Point{{X: cx, Y: cy}, {X: cx + r, Y: cy}}})
}

func star(cx, cy, r0, r1 float64, n int) []lane.Point {
	var pts []lane.Point
	for i := range 2 * n {
		r := r0
		if i%2 == 1 {
			r = r1
		}
		t := math.Pi * float64(i) / float64(n)
		pts = append(pts, lane.Point{X: cx + r*math.Cos(t), Y: cy + r*math.Sin(t)})
	}
	return pts
}

func randomWalk(rng *rand.Rand, n int, x, y, step float64) []lane.Point {
	pts := []lane.Point{{X: x, Y: y}}
	for range n - 1 {
		x += (rng.Float64()*2 - 1) * step
		y += (rng.Float64()*2 - 1) * step
		pts = append(pts, lane.Point{X: x, Y: y})
	}
	return pts
}

// TestFillMatchesWholeBox checks that drawing run by run gives the picture
// that rasterising each layer over its whole bounding box gives, within
// one level per channel, for every shape the marks are made of. The
// shapes stay under 512 pixels so that the oracle, like fill, uses the
// rasteriser's fixed-point path (see TestFillLargeMarks for larger).
func TestFillMatchesWholeBox(t *testing.T) {
	t.Parallel()
	rect := image.Rect(0, 0, 400, 300)
	arrow := func(tail, head lane.Point, w float64) []layer {
		dx, dy := head.X-tail.X, head.Y-tail.Y
		l := math.Hypot(dx, dy)
		ux, uy := dx/l, dy/l
		hl := math.Min(l, 4*w+8)
		base := lane.Point{X: head.X - ux*hl, Y: head.Y - uy*hl}
		tri := []lane.Point{head, {X: base.X - uy*hl*0.5, Y: base.Y + ux*hl*0.5}, {X: base.X + uy*hl*0.5, Y: base.Y - ux*hl*0.5}}
		return append(strokeLayers([]lane.Point{tail, base}, false, w), layer{[][]lane.Point{grow(tri, w)}, outlineColor}, layer{[][]lane.Point{tri}, testCol})
	}
	rng := rand.New(rand.NewPCG(7, 11))
	tests := []struct {
		name   string
		layers []layer
	}{
		{"circle", strokeLayers(circlePts(200.3, 150.6, 120), true, 2)},
		{"circle wide", strokeLayers(circlePts(190.5, 140.25, 90), true, 6)},
		{"circle small", strokeLayers(circlePts(33.3, 44.4, 6), true, 2)},
		{"circle across corner", strokeLayers(circlePts(395, -3, 80), true, 2)},
		{"circle across left edge", strokeLayers(circlePts(-40.7, 150, 100), true, 3)},
		{"zigzag", strokeLayers([]lane.Point{{X: 10, Y: 10}, {X: 390, Y: 60}, {X: 15, Y: 120}, {X: 380, Y: 290}}, false, 2)},
		{"steep line", strokeLayers([]lane.Point{{X: 100.2, Y: 2.7}, {X: 130.9, Y: 297.1}}, false, 2)},
		{"horizontal line", strokeLayers([]lane.Point{{X: 3, Y: 100.5}, {X: 397, Y: 100.5}}, false, 2)},
		{"line leaving dst", strokeLayers([]lane.Point{{X: 200, Y: 150}, {X: 700, Y: 480}}, false, 2)},
		{"dot", strokeLayers([]lane.Point{{X: 50.5, Y: 50.5}, {X: 50.7, Y: 50.6}}, false, 2)},
		{"freehand crossing itself", strokeLayers(randomWalk(rng, 300, 200, 150, 12), false, 2)},
		{"freehand dense", strokeLayers(randomWalk(rng, 500, 100, 100, 3), false, 4)},
		{"arrow", arrow(lane.Point{X: 30, Y: 250}, lane.Point{X: 300.5, Y: 40.2}, 2)},
		{"arrow short", arrow(lane.Point{X: 100, Y: 100}, lane.Point{X: 104, Y: 103}, 3)},
		{"area concave", append([]layer{{[][]lane.Point{star(200, 150, 130, 40, 7)}, testTint}}, strokeLayers(star(200, 150, 130, 40, 7), true, 2)...)},
		{"area self-intersecting", append([]layer{{[][]lane.Point{{{X: 20, Y: 20}, {X: 380, Y: 280}, {X: 380, Y: 20}, {X: 20, Y: 280}}}, testTint}}, strokeLayers([]lane.Point{{X: 20, Y: 20}, {X: 380, Y: 280}, {X: 380, Y: 20}, {X: 20, Y: 280}}, true, 2)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want, got, small := background(rect), background(rect), background(rect)
			refFill(want, tt.layers...)
			p := &painter{dst: got, bandAll: true}
			p.fill(tt.layers...)
			if w, at := maxDiff(got, want); w > bandTolerance {
				t.Errorf("differs by %d at %v: got %v, want %v", w, at, got.RGBAAt(at.X, at.Y), want.RGBAAt(at.X, at.Y))
			}
			if p.rasterised == 0 {
				t.Error("nothing rasterised")
			}
			// Drawn as fill chooses (whole boxes for the smaller shapes):
			// either exactly as before or within the tolerance.
			q := &painter{dst: small}
			q.fill(tt.layers...)
			tol := bandTolerance
			if q.bandAll = true; wholeLayers(q, tt.layers) {
				tol = 0
			}
			if w, at := maxDiff(small, want); w > tol {
				t.Errorf("as chosen: differs by %d at %v, want at most %d", w, at, tol)
			}
		})
	}
}

// bandTolerance is how much a banded mark may differ from the same mark
// rasterised whole, per channel: the antialiased edge of an edge cut by a
// band boundary moves by a few hundredths of a pixel (see fill).
const bandTolerance = 8

// wholeLayers reports whether fill draws layers whole.
func wholeLayers(p *painter, layers []layer) bool {
	for _, l := range layers {
		x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, poly := range l.polys {
			for _, q := range poly {
				x0, y0 = math.Min(x0, q.X), math.Min(y0, q.Y)
				x1, y1 = math.Max(x1, q.X), math.Max(y1, q.Y)
			}
		}
		r := image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1))+1, int(math.Ceil(y1))+1).Intersect(p.dst.Rect)
		if r.Dx()*r.Dy() > wholeMax {
			return false
		}
	}
	return true
}

// TestFillRandomStrokes compares fill with the oracle on seeded random
// strokes anywhere around a small viewport, each drawn over the previous.
func TestFillRandomStrokes(t *testing.T) {
	t.Parallel()
	rect := image.Rect(-20, 10, 300, 250) // dst need not start at 0,0
	want, got := background(rect), background(rect)
	p := &painter{dst: got, bandAll: true}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		n := 2 + rng.IntN(12)
		pts := randomWalk(rng, n, -60+rng.Float64()*400, -30+rng.Float64()*320, 5+rng.Float64()*60)
		ls := strokeLayers(pts, rng.IntN(2) == 0, 1+rng.Float64()*5)
		refFill(want, ls...)
		p.fill(ls...)
		if w, at := maxDiff(got, want); w > bandTolerance {
			t.Fatalf("stroke %d %v: differs by %d at %v", i, pts, w, at)
		}
	}
}

// TestFillLargeMarks covers marks bigger than 512 pixels (a disc outline
// zoomed in). Drawn whole, such a mark took the rasteriser's
// floating-point path; run by run it takes the fixed-point path, which
// places edges up to a few hundredths of a pixel differently (see
// clipMargin): a few levels on antialiased edges, nothing visible.
func TestFillLargeMarks(t *testing.T) {
	t.Parallel()
	rect := image.Rect(0, 0, 1920, 1080)
	for _, tt := range []struct {
		name   string
		layers []layer
		tol    int
	}{
		{"disc at 2x", strokeLayers(circlePts(960.4, 540.7, 520), true, 2), 10},
		{"disc at 8x", strokeLayers(circlePts(1500, 700, 2100), true, 2), 10},
		{"length at 8x", strokeLayers([]lane.Point{{X: -3000, Y: -1200}, {X: 2500, Y: 900}}, false, 2), 10},
		{"steep length at 8x", strokeLayers([]lane.Point{{X: 700, Y: -5000}, {X: 1100, Y: 4000}}, false, 3), 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want, got := background(rect), background(rect)
			refFill(want, tt.layers...)
			p := &painter{dst: got}
			p.fill(tt.layers...)
			w, at := maxDiff(got, want)
			t.Logf("largest difference %d at %v", w, at)
			if w > tt.tol {
				t.Errorf("differs by %d at %v: got %v, want %v", w, at, got.RGBAAt(at.X, at.Y), want.RGBAAt(at.X, at.Y))
			}
		})
	}
}

// TestFillCostFollowsStroke checks what issue #7 is about: the pixels
// rasterised for a mark follow the stroke, not its bounding box.
func TestFillCostFollowsStroke(t *testing.T) {
	t.Parallel()
	rect := image.Rect(0, 0, 1920, 1080)
	tests := []struct {
		name   string
		layers []layer
		stroke float64 // length of the stroke in pixels
	}{
		{"disc at 2x", strokeLayers(circlePts(960, 540, 500), true, 2), 2 * math.Pi * 500},
		{"disc at 8x, partly visible", strokeLayers(circlePts(960, 1900, 1500), true, 2), 2 * 1920},
		{"diagonal length", strokeLayers([]lane.Point{{X: 100, Y: 1000}, {X: 1800, Y: 50}}, false, 2), math.Hypot(1700, 950)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			whole := refFill(background(rect), tt.layers...)
			p := &painter{dst: background(rect)}
			p.fill(tt.layers...)
			// Two layers (halo 4 px wide, colour 2 px, each with a pixel
			// of antialiasing either side) in 16-row bands: a diagonal
			// stroke's run is as wide as the stroke's run over 16 rows.
			// About 30 pixels per pixel of length; a whole box would be
			// hundreds.
			if limit := int(40 * tt.stroke); p.rasterised > limit {
				t.Errorf("rasterised %d pixels, want at most %d (whole boxes: %d)", p.rasterised, limit, whole)
			}
			t.Logf("rasterised %d pixels, whole boxes %d", p.rasterised, whole)
		})
	}
}

// TestFillOutsideAndDegenerate covers marks off screen, far away and
// garbage: nothing outside dst costs anything, a line from far away still
// shows where it crosses dst, and non-finite or absurd coordinates draw
// nothing.
func TestFillOutsideAndDegenerate(t *testing.T) {
	t.Parallel()
	rect := image.Rect(0, 0, 200, 100)
	tests := []struct {
		name    string
		layers  []layer
		visible bool
	}{
		{"left of dst", strokeLayers(circlePts(-300, 50, 100), true, 2), false},
		{"below dst", strokeLayers([]lane.Point{{X: 0, Y: 150}, {X: 200, Y: 160}}, false, 2), false},
		{"across from afar", strokeLayers([]lane.Point{{X: -1e9, Y: 50.5}, {X: 1e9, Y: 50.5}}, false, 2), true},
		{"steep from afar", strokeLayers([]lane.Point{{X: 100.5, Y: -1e9}, {X: 100.5, Y: 1e9}}, false, 2), true},
		{"beyond maxCoord", strokeLayers([]lane.Point{{X: -1e13, Y: 50.5}, {X: 1e13, Y: 50.5}}, false, 2), false},
		{"NaN", strokeLayers([]lane.Point{{X: math.NaN(), Y: 50.5}, {X: 100, Y: 50.5}}, false, 2), false},
		{"infinite", strokeLayers([]lane.Point{{X: math.Inf(-1), Y: 50.5}, {X: 100, Y: 50.5}}, false, 2), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := background(rect)
			dst := background(rect)
			p := &painter{dst: dst}
			p.fill(tt.layers...)
			changed, _ := maxDiff(dst, before)
			if got := changed > 0; got != tt.visible {
				t.Errorf("drawn %v, want %v", got, tt.visible)
			}
			if !tt.visible && p.rasterised != 0 {
				t.Errorf("rasterised %d pixels for nothing", p.rasterised)
			}
			if p.rasterised > 4*rect.Dx()*rect.Dy() {
				t.Errorf("rasterised %d pixels on a %v dst", p.rasterised, rect.Size())
			}
			if tt.visible && dst.RGBAAt(100, 50) != testCol {
				t.Errorf("centre pixel %v, want the stroke colour", dst.RGBAAt(100, 50))
			}
		})
	}
}

// TestDrawAnnotationsConcurrent draws from several goroutines at once
// (the painters are pooled; compare views draw two viewers in parallel):
// every picture equals the one drawn alone. Run with -race.
func TestDrawAnnotationsConcurrent(t *testing.T) {
	t.Parallel()
	rect := image.Rect(0, 0, 320, 240)
	anns := []lane.Annotation{
		{Kind: lane.AnnotDisc, Points: []lane.Point{{X: 160, Y: 120}, {X: 220, Y: 120}}},
		{Kind: lane.AnnotLength, Points: []lane.Point{{X: 20, Y: 200}, {X: 300, Y: 30}}},
		{Kind: lane.AnnotArrow, Points: []lane.Point{{X: 10, Y: 10}, {X: 90, Y: 70}}},
		{Kind: lane.AnnotArea, Points: []lane.Point{{X: 40, Y: 150}, {X: 90, Y: 140}, {X: 80, Y: 220}}},
	}
	cal := Calibration{MMPerPixel: 0.01}
	want := background(rect)
	DrawAnnotations(want, Identity, anns, cal, Style{})
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for range 10 {
				got := background(rect)
				// Different marks in between leave the pooled painter's
				// buffers in another state.
				DrawAnnotations(background(image.Rect(0, 0, 50+g, 40)), Identity, anns[g%len(anns):], cal, Style{Width: float64(g)})
				DrawAnnotations(got, Identity, anns, cal, Style{})
				if w, at := maxDiff(got, want); w != 0 {
					errs <- fmt.Sprintf("goroutine %d: differs by %d at %v", g, w, at)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
