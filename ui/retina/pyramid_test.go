package retina_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
)

func randomRGBA(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return img
}

func TestPyramidLevels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		w, h  int
		sizes []image.Point
	}{
		{1000, 700, []image.Point{{1000, 700}, {500, 350}, {250, 175}}},
		{257, 10, []image.Point{{257, 10}, {129, 5}}},
		{256, 256, []image.Point{{256, 256}}},
		{4000, 3000, []image.Point{{4000, 3000}, {2000, 1500}, {1000, 750}, {500, 375}, {250, 188}}},
	}
	for _, tt := range tests {
		p := retina.NewPyramid(image.NewGray(image.Rect(0, 0, tt.w, tt.h)))
		if p.NumLevels() != len(tt.sizes) {
			t.Errorf("%dx%d: %d levels, want %d", tt.w, tt.h, p.NumLevels(), len(tt.sizes))
			continue
		}
		for k, s := range tt.sizes {
			if p.LevelSize(k) != s {
				t.Errorf("%dx%d: level %d is %v, want %v", tt.w, tt.h, k, p.LevelSize(k), s)
			}
		}
	}
}

// TestHalving checks the box filter against its definition, including the
// odd last row and column.
func TestHalving(t *testing.T) {
	t.Parallel()
	src := randomRGBA(601, 403, 7)
	p := retina.NewPyramid(src)
	l1 := p.Level(1).(*image.RGBA)
	if l1.Rect.Size() != image.Pt(301, 202) {
		t.Fatalf("level 1 is %v", l1.Rect.Size())
	}
	for y := range 202 {
		for x := range 301 {
			for c := range 4 {
				var sum, n int
				for dy := range 2 {
					for dx := range 2 {
						sx, sy := min(2*x+dx, 600), min(2*y+dy, 402)
						sum += int(src.Pix[sy*src.Stride+4*sx+c])
						n++
					}
				}
				want := uint8((sum + 2) / 4)
				if got := l1.Pix[y*l1.Stride+4*x+c]; got != want {
					t.Fatalf("level 1 (%d,%d) channel %d = %d, want %d", x, y, c, got, want)
				}
			}
		}
	}
	if p.Bytes() != int64(len(src.Pix)+len(l1.Pix)) {
		t.Errorf("Bytes = %d before building level 2, want %d", p.Bytes(), len(src.Pix)+len(l1.Pix))
	}
}

// TestHalvingYCbCr compares halving a 4:2:0 image with converting its
// pixels by image/color and averaging.
func TestHalvingYCbCr(t *testing.T) {
	t.Parallel()
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422} {
		src := image.NewYCbCr(image.Rect(0, 0, 513, 301), ratio)
		r := rand.New(rand.NewPCG(3, uint64(ratio)))
		for i := range src.Y {
			src.Y[i] = uint8(r.IntN(256))
		}
		for i := range src.Cb {
			src.Cb[i], src.Cr[i] = uint8(96+r.IntN(64)), uint8(96+r.IntN(64))
		}
		l1 := retina.NewPyramid(src).Level(1).(*image.RGBA)
		for _, pt := range []image.Point{{0, 0}, {100, 50}, {256, 150}, {255, 149}} {
			// Averaging luma and taking the block's chroma: compare
			// with the colour of the averaged Y and the block's mean
			// chroma.
			var ys, cbs, crs int
			for dy := range 2 {
				for dx := range 2 {
					x, y := min(2*pt.X+dx, 512), min(2*pt.Y+dy, 300)
					ys += int(src.Y[src.YOffset(x, y)])
					cbs += int(src.Cb[src.COffset(x, y)])
					crs += int(src.Cr[src.COffset(x, y)])
				}
			}
			wr, wg, wb := color.YCbCrToRGB(uint8((ys+2)/4), uint8((cbs+2)/4), uint8((crs+2)/4))
			got := l1.RGBAAt(pt.X, pt.Y)
			if absd(got.R, wr) > 1 || absd(got.G, wg) > 1 || absd(got.B, wb) > 1 {
				t.Errorf("ratio %v at %v: %v, want (%d,%d,%d)", ratio, pt, got, wr, wg, wb)
			}
		}
	}
}

func absd(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestPyramidSerialise(t *testing.T) {
	t.Parallel()
	src := randomRGBA(700, 520, 9)
	p := retina.NewPyramid(src)
	data, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	q, err := retina.LoadPyramid(src, data)
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k < p.NumLevels(); k++ {
		a, b := p.Level(k).(*image.RGBA), q.Level(k).(*image.RGBA)
		if !bytes.Equal(a.Pix, b.Pix) {
			t.Errorf("level %d differs after a round trip", k)
		}
	}
	bad := map[string][]byte{
		"empty":         nil,
		"wrong magic":   append([]byte("EXLPYR0\n"), data[8:]...),
		"truncated":     data[:len(data)-1],
		"trailing":      append(append([]byte(nil), data...), 0),
		"header only":   data[:20],
		"level missing": data[:20+8],
	}
	for name, b := range bad {
		if _, err := retina.LoadPyramid(src, b); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("%s: err = %v, want lane.ErrInvalid", name, err)
		}
	}
	if _, err := retina.LoadPyramid(randomRGBA(701, 520, 1), data); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("other image size: err = %v, want lane.ErrInvalid", err)
	}
}

// FuzzLoadPyramid feeds arbitrary bytes as a cached pyramid for a small
// image: no panic, and either a usable pyramid or lane.ErrInvalid.
func FuzzLoadPyramid(f *testing.F) {
	base := randomRGBA(264, 20, 2) // two levels, a 4 KB cache
	good, _ := retina.NewPyramid(base).MarshalBinary()
	f.Add(good[:64])
	f.Add(good)
	f.Add([]byte("EXLPYR1\n\x08\x01\x00\x00\x14\x00\x00\x00\x02\x00\x00\x00\x84\x00\x00\x00\x0a\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := retina.LoadPyramid(base, data)
		if err != nil {
			if !errors.Is(err, lane.ErrInvalid) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		_ = p.Render(retina.Fit(p.Size(), image.Pt(64, 48), 0), 64, 48)
	})
}

// FuzzRenderAnnotated renders arbitrary views and draws arbitrary
// annotations (points may be huge, NaN or infinite): no panic, and the
// output keeps its size.
func FuzzRenderAnnotated(f *testing.F) {
	src := randomRGBA(300, 200, 5)
	p := retina.NewPyramid(src)
	f.Add(1.0, 150.0, 100.0, 0.0, false, 10.0, 10.0, 100.0, 80.0, uint8(0))
	f.Add(0.01, -1e9, 1e9, 33.3, true, math.NaN(), 0.0, math.Inf(1), 5.0, uint8(4))
	f.Add(31.9, 0.0, 0.0, -720.5, true, 1e300, -1e300, 3.0, 3.0, uint8(7))
	kinds := []lane.AnnotationKind{lane.AnnotArrow, lane.AnnotCircle, lane.AnnotFreehand, lane.AnnotText, lane.AnnotLength, lane.AnnotArea, lane.AnnotDisc, lane.AnnotCup}
	f.Fuzz(func(t *testing.T, scale, cx, cy, rot float64, flip bool, x0, y0, x1, y1 float64, k uint8) {
		v := retina.View{Scale: scale, Center: lane.Point{X: cx, Y: cy}, Rotation: rot, FlipH: flip}
		out := p.Render(v, 64, 48)
		if out.Rect.Dx() != 64 || out.Rect.Dy() != 48 {
			t.Fatalf("render size %v", out.Rect)
		}
		a := lane.Annotation{Kind: kinds[int(k)%len(kinds)], Points: []lane.Point{{X: x0, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}, Text: "x"}
		retina.DrawAnnotations(out, v.ToViewport(image.Pt(64, 48)), []lane.Annotation{a}, retina.Calibration{MMPerPixel: 0.01}, retina.Style{})
	})
}
