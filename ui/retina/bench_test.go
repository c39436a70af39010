package retina_test

import (
	"bytes"
	"image"
	"image/jpeg"
	"runtime"
	"sync"
	"testing"

	xdraw "golang.org/x/image/draw"

	"github.com/examlane/examlane/ui/retina"
	"github.com/examlane/examlane/ui/retina/synth"
)

// The benchmarks use a 12-megapixel (4000×3000) synthetic fundus encoded
// once as a quality-90 JPEG, like a fundus camera's output.
var big struct {
	once sync.Once
	jpg  []byte
}

func bigJPEG(b *testing.B) []byte {
	big.once.Do(func() {
		img, _ := synth.Generate(synth.Params{Width: 4000, Height: 3000, Seed: 1, Lesions: true})
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
			panic(err)
		}
		big.jpg = buf.Bytes()
	})
	return big.jpg
}

var viewport = image.Pt(1920, 1080)

// cpuMetric starts measuring process CPU time; the returned function
// reports it per operation as "cpu-ms/op". On a shared machine wall time
// depends on the neighbours, CPU time much less: compare cpu-ms/op between
// benchmarks of one run (it sums all cores, so it is the single-core cost).
func cpuMetric(b *testing.B) func() {
	c0 := cpuTime()
	return func() {
		if c1 := cpuTime(); c1 > 0 && b.N > 0 {
			b.ReportMetric(float64(c1-c0)/float64(b.N)/1e6, "cpu-ms/op")
		}
	}
}

// BenchmarkDecodeJPEG12MP is the floor: image/jpeg alone.
func BenchmarkDecodeJPEG12MP(b *testing.B) {
	data := bigJPEG(b)
	b.SetBytes(int64(len(data)))
	defer cpuMetric(b)()
	for b.Loop() {
		if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenFirstFrame12MP is decode + pyramid + the first fitted
// 1920×1080 frame (which builds level 1 on demand).
func BenchmarkOpenFirstFrame12MP(b *testing.B) {
	data := bigJPEG(b)
	b.SetBytes(int64(len(data)))
	dec := func(d []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(d)) }
	defer cpuMetric(b)()
	for b.Loop() {
		p, err := retina.Open(data, dec)
		if err != nil {
			b.Fatal(err)
		}
		_ = p.Render(retina.Fit(p.Size(), viewport, 0), viewport.X, viewport.Y)
	}
}

func builtPyramid(b *testing.B) *retina.Pyramid {
	img, err := jpeg.Decode(bytes.NewReader(bigJPEG(b)))
	if err != nil {
		b.Fatal(err)
	}
	p := retina.NewPyramid(img)
	p.Build()
	return p
}

// BenchmarkRender1080p re-renders a 1920×1080 viewport from a built
// pyramid at several zooms (scale = viewport pixels per image pixel).
func BenchmarkRender1080p(b *testing.B) {
	p := builtPyramid(b)
	fit := retina.Fit(p.Size(), viewport, 0)
	dst := image.NewRGBA(image.Rectangle{Max: viewport})
	cases := []struct {
		name string
		v    retina.View
	}{
		{"fit", fit},
		{"scale=0.5", fit.WithScale(0.5, p.Size(), viewport)},
		{"scale=0.75", fit.WithScale(0.75, p.Size(), viewport)},
		{"scale=1", fit.WithScale(1, p.Size(), viewport)},
		{"scale=2", fit.WithScale(2, p.Size(), viewport)},
		{"scale=8", fit.WithScale(8, p.Size(), viewport)},
		{"scale=1,rot=90", fit.WithScale(1, p.Size(), viewport).Rotate(90)},
		{"scale=1,rot=17", fit.WithScale(1, p.Size(), viewport).Rotate(17)},
		{"fit,rot=17,flipH", func() retina.View { v := fit.Rotate(17); v.FlipH = true; return v }()},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			defer cpuMetric(b)()
			for b.Loop() {
				p.RenderInto(dst, c.v)
			}
		})
	}
}

// BenchmarkAdjust1080p applies adjustments to a rendered 1920×1080
// viewport (rendering excluded; the frame is re-copied each time).
func BenchmarkAdjust1080p(b *testing.B) {
	p := builtPyramid(b)
	src := p.Render(retina.Fit(p.Size(), viewport, 0).WithScale(1, p.Size(), viewport), viewport.X, viewport.Y)
	dst := image.NewRGBA(src.Rect)
	cases := []struct {
		name string
		a    retina.Adjust
	}{
		{"tone", retina.Adjust{Brightness: 0.1, Contrast: 0.3, Gamma: 1.4}},
		{"redfree", retina.Adjust{Channel: retina.RedFree, Tint: true}},
		{"invert", retina.Adjust{Invert: true}},
		{"clahe", retina.Adjust{CLAHE: true}},
		{"all", retina.Adjust{Brightness: 0.1, Contrast: 0.3, Gamma: 1.4, Channel: retina.RedFree, CLAHE: true, Invert: true}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			defer cpuMetric(b)()
			for b.Loop() {
				copy(dst.Pix, src.Pix)
				c.a.Apply(dst)
			}
		})
	}
}

// BenchmarkHalve12MP compares the 2×2 box halving used for level 1 with a
// Catmull-Rom resampling through golang.org/x/image/draw.
func BenchmarkHalve12MP(b *testing.B) {
	img, err := jpeg.Decode(bytes.NewReader(bigJPEG(b)))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("box", func(b *testing.B) {
		defer cpuMetric(b)()
		for b.Loop() {
			retina.NewPyramid(img).Level(1)
		}
	})
	b.Run("catmullrom", func(b *testing.B) {
		dst := image.NewRGBA(image.Rect(0, 0, 2000, 1500))
		defer cpuMetric(b)()
		for b.Loop() {
			xdraw.CatmullRom.Scale(dst, dst.Rect, img, img.Bounds(), xdraw.Src, nil)
		}
	})
}

// BenchmarkTwo12MPResident opens two 12 MP JPEGs side by side, builds both
// pyramids fully and reports the pixel bytes held and the live heap.
func BenchmarkTwo12MPResident(b *testing.B) {
	data := bigJPEG(b)
	for b.Loop() {
		var ps [2]*retina.Pyramid
		for i := range ps {
			img, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			ps[i] = retina.NewPyramid(img)
			ps[i].Build()
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ps[0].Bytes()+ps[1].Bytes())/1e6, "pyramidMB")
		b.ReportMetric(float64(ms.HeapAlloc)/1e6, "heapMB")
		runtime.KeepAlive(ps)
	}
}
