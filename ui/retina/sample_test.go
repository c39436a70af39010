package retina

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina/synth"
)

// synthJPEG returns a synthetic fundus (seed 7, sensor noise on) of the
// given size, through a quality-90 JPEG as a camera would deliver it: a
// 4:2:0 *image.YCbCr.
func synthJPEG(t testing.TB, w, h int) (*image.YCbCr, *image.RGBA) {
	t.Helper()
	img, _ := synth.Generate(synth.Params{Width: w, Height: h, Seed: 7, Lesions: true})
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	m, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	y, ok := m.(*image.YCbCr)
	if !ok || y.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		t.Fatalf("decoded %T, want 4:2:0 *image.YCbCr", m)
	}
	return y, img
}

// TestFastPathsMatchReference renders views that take each fast path
// (the converted visible rectangle of a 4:2:0 image, separable sampling of
// unrotated and quarter-turned views, the fast 4:2:0 halving behind the
// fitted view; and the per-pixel 4:2:0 samplers of minified views) and the same views with the plain per-pixel samplers, and
// requires every channel of every pixel to agree within 1.
func TestFastPathsMatchReference(t *testing.T) {
	t.Parallel()
	for _, size := range []image.Point{{800, 600}, {641, 483}} {
		ycc, rgba := synthJPEG(t, size.X, size.Y)
		for name, src := range map[string]image.Image{"ycbcr420": ycc, "rgba": rgba} {
			p := NewPyramid(src)
			vp := image.Pt(320, 200)
			fit := Fit(p.Size(), vp, 0)
			flipped := func(v View, h, w bool) View { v.FlipH, v.FlipV = h, w; return v }
			corner := fit.WithScale(3, p.Size(), vp)
			corner.Center = lane.Point{X: 10, Y: float64(size.Y) - 7}
			views := map[string]View{
				"fit":               fit,
				"fit,rot=90":        Fit(p.Size(), vp, 90),
				"scale=0.75":        fit.WithScale(0.75, p.Size(), vp),
				"scale=1":           fit.WithScale(1, p.Size(), vp),
				"scale=0.6,flipV":   flipped(fit.WithScale(0.6, p.Size(), vp), false, true),
				"scale=0.75,rot=90": fit.WithScale(0.75, p.Size(), vp).Rotate(90),
				"scale=1,rot=270h":  flipped(fit.WithScale(1, p.Size(), vp).Rotate(270), true, false),
				"scale=1,corner": func() View {
					v := fit.WithScale(1, p.Size(), vp)
					v.Center = lane.Point{X: 3.3, Y: float64(size.Y) - 2}
					return v
				}(),
				"scale=1.5":        fit.WithScale(1.5, p.Size(), vp),
				"scale=2":          fit.WithScale(2, p.Size(), vp),
				"scale=2,rot=90":   fit.WithScale(2, p.Size(), vp).Rotate(90),
				"scale=2,rot=270h": flipped(fit.WithScale(2, p.Size(), vp).Rotate(270), true, false),
				"scale=2,rot=17":   fit.WithScale(2, p.Size(), vp).Rotate(17),
				"scale=8":          fit.WithScale(8, p.Size(), vp),
				"scale=8,flipV":    flipped(fit.WithScale(8, p.Size(), vp), false, true),
				"scale=31,rot=180": fit.WithScale(31, p.Size(), vp).Rotate(180),
				"corner,scale=3":   corner,
				"corner,rot=90":    corner.Rotate(90),
				"outside":          View{Scale: 4, Center: lane.Point{X: -500, Y: 40}},
			}
			for vn, v := range views {
				t.Run(fmt.Sprintf("%dx%d/%s/%s", size.X, size.Y, name, vn), func(t *testing.T) {
					fast := image.NewRGBA(image.Rectangle{Max: vp})
					ref := image.NewRGBA(image.Rectangle{Max: vp})
					p.RenderInto(fast, v)
					p.renderReference(ref, v)
					if x, y, c, d := worstDiff(fast, ref); d > 1 {
						t.Errorf("pixel (%d,%d) channel %d differs by %d (fast %v, reference %v)", x, y, c, d, fast.RGBAAt(x, y), ref.RGBAAt(x, y))
					}
				})
			}
		}
	}
}

// TestConvert420 checks the converted rectangle against the per-pixel
// sampler evaluated at each luma pixel centre, where they must be equal,
// for rectangles touching each edge of an odd-sized image.
func TestConvert420(t *testing.T) {
	t.Parallel()
	src, _ := synthJPEG(t, 67, 41)
	for _, r := range []image.Rectangle{
		image.Rect(0, 0, 67, 41), image.Rect(1, 1, 66, 40), image.Rect(3, 2, 20, 9), image.Rect(60, 35, 67, 41), image.Rect(0, 38, 5, 41),
	} {
		dst := image.NewRGBA(image.Rectangle{Max: r.Size()})
		convert420(dst, src, r)
		row := make([]uint8, 4)
		for j := r.Min.Y; j < r.Max.Y; j++ {
			for i := r.Min.X; i < r.Max.X; i++ {
				rowYCbCr(row, src, fixRun{u: toFix(float64(i)), w: toFix(float64(j))}, false)
				got := dst.Pix[(j-r.Min.Y)*dst.Stride+4*(i-r.Min.X):][:4]
				if !bytes.Equal(got, row) {
					t.Fatalf("rect %v: pixel (%d,%d) = %v, want %v", r, i, j, got, row)
				}
			}
		}
	}
}

// renderReference is RenderInto with the plain per-pixel samplers, with
// clamping, everywhere. A magnified view of a 4:2:0 level samples that
// level converted to RGBA pixel by pixel with the per-pixel Y'CbCr
// sampler at each pixel centre (which TestConvert420 holds convert420 to).
func (p *Pyramid) renderReference(dst *image.RGBA, v View) {
	s := p.plan(v, dst.Rect.Size())
	if y, ok := s.src.(*image.YCbCr); ok && y.SubsampleRatio == image.YCbCrSubsampleRatio420 && !s.minify {
		m := image.NewRGBA(y.Rect)
		for j := range y.Rect.Dy() {
			for i := range y.Rect.Dx() {
				rowYCbCr(m.Pix[j*m.Stride+4*i:][:4], y, fixRun{u: toFix(float64(i)), w: toFix(float64(j))}, false)
			}
		}
		s.src = m
	}
	s.rows(dst, true)
}

// worstDiff returns the pixel and channel where a and b differ most.
func worstDiff(a, b *image.RGBA) (x, y, c, d int) {
	for i := range a.Pix {
		e := int(a.Pix[i]) - int(b.Pix[i])
		if e = max(e, -e); e > d {
			d, c = e, i%4
			x, y = (i%a.Stride)/4, i/a.Stride
		}
	}
	return x, y, c, d
}

// TestClip16 holds both conversions (ycc with clip16, yccPacked with the
// table-driven clipLUT) to image/color's arithmetic for every Y'CbCr
// triple.
func TestClip16(t *testing.T) {
	t.Parallel()
	for y := range 256 {
		for cb := range 256 {
			for cr := range 256 {
				r, g, b := ycc(uint8(y), uint8(cb), uint8(cr))
				wr, wg, wb := color.YCbCrToRGB(uint8(y), uint8(cb), uint8(cr))
				if r != wr || g != wg || b != wb {
					t.Fatalf("ycc(%d,%d,%d) = %d,%d,%d, want %d,%d,%d", y, cb, cr, r, g, b, wr, wg, wb)
				}
				if p, want := yccPacked(uint32(y), uint8(cb), uint8(cr)), uint32(wr)|uint32(wg)<<8|uint32(wb)<<16|0xff000000; p != want {
					t.Fatalf("yccPacked(%d,%d,%d) = %#08x, want %#08x", y, cb, cr, p, want)
				}
			}
		}
	}
}

// FuzzRenderMatchesReference renders arbitrary views (huge, NaN and
// infinite values included) of a small 4:2:0 picture and of its RGBA
// copy: no panic, and the fast paths agree with the per-pixel samplers
// within 1 per channel.
func FuzzRenderMatchesReference(f *testing.F) {
	ycc, rgba := synthJPEG(f, 97, 71)
	pyrs := []*Pyramid{NewPyramid(ycc), NewPyramid(rgba)}
	f.Add(2.0, 48.0, 35.0, 0.0, false, false, uint8(40), uint8(30))
	f.Add(8.0, 0.0, 70.0, 90.0, true, false, uint8(64), uint8(17))
	f.Add(31.9, 96.9, 0.1, 270.0, false, true, uint8(5), uint8(9))
	f.Add(1.7, 50.0, 30.0, 17.0, true, true, uint8(33), uint8(33))
	f.Add(0.6, 48.0, 35.0, 180.0, false, false, uint8(80), uint8(60))
	f.Add(4.0, -1e9, 1e300, 90.0, false, false, uint8(8), uint8(8))
	f.Fuzz(func(t *testing.T, scale, cx, cy, rot float64, flipH, flipV bool, w, h uint8) {
		v := View{Scale: scale, Center: lane.Point{X: cx, Y: cy}, Rotation: rot, FlipH: flipH, FlipV: flipV}
		vp := image.Pt(int(w%96)+1, int(h%96)+1)
		for _, p := range pyrs {
			fast := image.NewRGBA(image.Rectangle{Max: vp})
			ref := image.NewRGBA(image.Rectangle{Max: vp})
			p.RenderInto(fast, v)
			p.renderReference(ref, v)
			if x, y, c, d := worstDiff(fast, ref); d > 1 {
				t.Fatalf("%T view %+v: pixel (%d,%d) channel %d differs by %d", p.Level(0), v, x, y, c, d)
			}
		}
	})
}
