package retina_test

import (
	"image"
	"image/color"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
)

func TestLevelFor(t *testing.T) {
	t.Parallel()
	p := retina.NewPyramid(image.NewGray(image.Rect(0, 0, 4000, 3000))) // 5 levels
	tests := []struct {
		s    float64
		want int
	}{
		{32, 0}, {1, 0}, {0.9, 0}, {0.5, 1}, {0.4999, 1}, {0.36, 1}, {0.25, 2}, {0.2, 2}, {0.125, 3}, {0.0625, 4}, {1e-6, 4}, {0, 0},
	}
	for _, tt := range tests {
		if got := p.LevelFor(tt.s); got != tt.want {
			t.Errorf("LevelFor(%v) = %d, want %d", tt.s, got, tt.want)
		}
	}
}

// TestRenderOneToOne: at 1:1 with pixel-aligned centre, rendering copies
// pixels exactly, for every source type, in every quarter-turn and flip.
func TestRenderOneToOne(t *testing.T) {
	t.Parallel()
	rgba := randomRGBA(96, 64, 4)
	gray := image.NewGray(rgba.Rect)
	for i := range gray.Pix {
		gray.Pix[i] = rgba.Pix[4*i+1]
	}
	ycc := image.NewYCbCr(rgba.Rect, image.YCbCrSubsampleRatio444)
	for i := range ycc.Y {
		ycc.Y[i], ycc.Cb[i], ycc.Cr[i] = rgba.Pix[4*i], rgba.Pix[4*i+1], rgba.Pix[4*i+2]
	}
	srcs := map[string]image.Image{"rgba": rgba, "gray": gray, "ycbcr444": ycc}
	type orient struct {
		rot          float64
		flipH, flipV bool
		// where source pixel (x,y) lands in a w×h image
		to func(x, y, w, h int) (int, int)
	}
	orients := []orient{
		{0, false, false, func(x, y, w, h int) (int, int) { return x, y }},
		{90, false, false, func(x, y, w, h int) (int, int) { return h - 1 - y, x }},
		{180, false, false, func(x, y, w, h int) (int, int) { return w - 1 - x, h - 1 - y }},
		{270, false, false, func(x, y, w, h int) (int, int) { return y, w - 1 - x }},
		{0, true, false, func(x, y, w, h int) (int, int) { return w - 1 - x, y }},
		{0, false, true, func(x, y, w, h int) (int, int) { return x, h - 1 - y }},
	}
	for name, src := range srcs {
		p := retina.NewPyramid(src)
		w, h := 96, 64
		for _, o := range orients {
			vw, vh := w, h
			if o.rot == 90 || o.rot == 270 {
				vw, vh = h, w
			}
			v := retina.View{Scale: 1, Center: lane.Point{X: 48, Y: 32}, Rotation: o.rot, FlipH: o.flipH, FlipV: o.flipV}
			out := p.Render(v, vw, vh)
			for y := range h {
				for x := range w {
					ox, oy := o.to(x, y, w, h)
					want := color.RGBAModel.Convert(src.At(x, y)).(color.RGBA)
					if got := out.RGBAAt(ox, oy); got != want {
						t.Fatalf("%s rot %v flips %v/%v: pixel (%d,%d) → (%d,%d) = %v, want %v", name, o.rot, o.flipH, o.flipV, x, y, ox, oy, got, want)
					}
				}
			}
		}
	}
}

// TestRenderBackgroundAndEdges: outside the image is Background; a zoomed
// view of a flat image stays flat right up to the edges (clamped
// sampling, no dark fringe).
func TestRenderBackgroundAndEdges(t *testing.T) {
	t.Parallel()
	flat := image.NewRGBA(image.Rect(0, 0, 50, 40))
	for i := range flat.Pix {
		flat.Pix[i] = []uint8{200, 100, 50, 255}[i%4]
	}
	p := retina.NewPyramid(flat)
	for _, v := range []retina.View{
		{Scale: 2, Center: lane.Point{X: 25, Y: 20}},
		{Scale: 3.3, Center: lane.Point{X: 5, Y: 3}, Rotation: 33},
		{Scale: 0.7, Center: lane.Point{X: 25, Y: 20}, Rotation: 120, FlipH: true},
	} {
		vp := image.Pt(160, 120)
		out := p.Render(v, vp.X, vp.Y)
		inv := v.ToImage(vp)
		for y := range vp.Y {
			for x := range vp.X {
				q := inv.Apply(lane.Point{X: float64(x) + 0.5, Y: float64(y) + 0.5})
				got := out.RGBAAt(x, y)
				inside := q.X >= 0 && q.Y >= 0 && q.X < 50 && q.Y < 40
				// Pixels within a hair of the border may go either way.
				edge := q.X > -0.01 && q.Y > -0.01 && q.X < 50.01 && q.Y < 40.01 && !(q.X > 0.01 && q.Y > 0.01 && q.X < 49.99 && q.Y < 39.99)
				switch {
				case edge:
				case inside && got != (color.RGBA{200, 100, 50, 255}):
					t.Fatalf("view %+v: inside pixel (%d,%d) = %v", v, x, y, got)
				case !inside && got != (color.RGBA{0, 0, 0, 255}):
					t.Fatalf("view %+v: outside pixel (%d,%d) = %v", v, x, y, got)
				}
			}
		}
	}
	// An empty viewport renders nothing and does not panic.
	_ = p.Render(retina.View{Scale: 1}, 0, 0)
}

// TestRenderLevelsAgree: a fitted view rendered from the pyramid is close
// to the same view rendered from level 0 alone (no pyramid), i.e. the
// levels are where they should be.
func TestRenderLevelsAgree(t *testing.T) {
	t.Parallel()
	src := smoothRGBA(1200, 900)
	p := retina.NewPyramid(src)
	vp := image.Pt(300, 200)
	v := retina.Fit(p.Size(), vp, 0).Rotate(10)
	a := p.Render(v, vp.X, vp.Y)
	// Reference: average of level-0 pixels under each viewport pixel.
	inv := v.ToImage(vp)
	var sum, n int
	for y := 10; y < vp.Y-10; y += 7 {
		for x := 40; x < vp.X-40; x += 7 {
			c := inv.Apply(lane.Point{X: float64(x) + 0.5, Y: float64(y) + 0.5})
			var r, k int
			for dy := -2; dy < 2; dy++ {
				for dx := -2; dx < 2; dx++ {
					r += int(src.RGBAAt(int(c.X)+dx, int(c.Y)+dy).R)
					k++
				}
			}
			d := int(a.RGBAAt(x, y).R) - r/k
			sum += max(d, -d)
			n++
		}
	}
	if mean := float64(sum) / float64(n); mean > 2 {
		t.Errorf("fitted render differs from level 0 by %.2f on average", mean)
	}
}

func smoothRGBA(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x + y) * 127 / (w + h)), 255})
		}
	}
	return img
}
