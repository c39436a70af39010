package viewer

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
	"github.com/examlane/examlane/ui/retina/synth"
)

// The benchmarks use 12-megapixel (4000×3000) synthetic fundus photographs
// encoded once as quality-90 JPEGs, like a fundus camera's output, and
// decoded with image/jpeg (level 0 stays *image.YCbCr, as in the app).
var bigImages struct {
	once sync.Once
	jpg  [2][]byte
	geo  synth.Geometry
}

func bigJPEG(b *testing.B, i int) []byte {
	bigImages.once.Do(func() {
		for k := range bigImages.jpg {
			img, g := synth.Generate(synth.Params{Width: 4000, Height: 3000, Seed: uint64(k + 1), Lesions: true})
			if k == 0 {
				bigImages.geo = g
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
				panic(err)
			}
			bigImages.jpg[k] = buf.Bytes()
		}
	})
	return bigImages.jpg[i]
}

func decodeJPEG(data []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(data)) }

// benchMarks are the marks drawn in the overlay benchmarks: a disc and a
// cup outline (64-point circles), a length, an arrow and a label.
func benchMarks(g synth.Geometry) []lane.Annotation {
	return []lane.Annotation{
		{Kind: lane.AnnotDisc, Points: []lane.Point{{X: g.Disc[0], Y: g.Disc[1]}, {X: g.Disc[0] + g.DiscRY, Y: g.Disc[1]}}},
		{Kind: lane.AnnotCup, Points: []lane.Point{{X: g.Cup[0], Y: g.Cup[1]}, {X: g.Cup[0] + g.CupRY, Y: g.Cup[1]}}},
		{Kind: lane.AnnotLength, Points: []lane.Point{{X: g.Fovea[0], Y: g.Fovea[1]}, {X: g.Disc[0], Y: g.Disc[1]}}},
		{Kind: lane.AnnotArrow, Points: []lane.Point{{X: g.Fovea[0] - 300, Y: g.Fovea[1] - 300}, {X: g.Fovea[0] - 30, Y: g.Fovea[1] - 30}}},
		{Kind: lane.AnnotText, Points: []lane.Point{{X: g.Fovea[0] - 320, Y: g.Fovea[1] - 320}}, Text: "fovea"},
	}
}

// BenchmarkFrame1080p12MP is the viewer's frame time: one 1920×1080 frame
// of a 12 MP image through the render goroutine's path (render, adjust,
// overlay), for the views and adjustments a clinician uses. "overlay-only"
// is a frame where only the marks changed (a mark being drawn).
func BenchmarkFrame1080p12MP(b *testing.B) {
	m, err := decodeJPEG(bigJPEG(b, 0))
	if err != nil {
		b.Fatal(err)
	}
	pyr := retina.NewPyramid(m)
	pyr.Build()
	vp := image.Pt(1920, 1080)
	fit := retina.Fit(pyr.Size(), vp, 0)
	cal := retina.Calibration{MMPerPixel: 0.006}
	marks := benchMarks(bigImages.geo)
	for _, tc := range []struct {
		name  string
		view  retina.View
		adj   retina.Adjust
		marks bool
		same  bool // render the same request twice per op, timing the second
	}{
		{name: "fit", view: fit},
		{name: "fit+marks", view: fit, marks: true},
		{name: "fit+contrast+gamma+marks", view: fit, adj: retina.Adjust{Contrast: 0.2, Gamma: 1.3}, marks: true},
		{name: "fit+redfree+clahe+marks", view: fit, adj: retina.Adjust{Channel: retina.RedFree, CLAHE: true}, marks: true},
		{name: "1to1+marks", view: fit.WithScale(1, pyr.Size(), vp), marks: true},
		{name: "4x-rotated+contrast+marks", view: fit.WithScale(4, pyr.Size(), vp).Rotate(90), adj: retina.Adjust{Contrast: 0.2}, marks: true},
		// Magnified views (issue #7: 60 fps when zoomed in).
		{name: "2x", view: fit.WithScale(2, pyr.Size(), vp)},
		{name: "2x+marks", view: fit.WithScale(2, pyr.Size(), vp), marks: true},
		{name: "8x+contrast", view: fit.WithScale(8, pyr.Size(), vp), adj: retina.Adjust{Contrast: 0.2}},
		{name: "overlay-only", view: fit, adj: retina.Adjust{Contrast: 0.2, CLAHE: true}, marks: true, same: true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			l := newRenderLoop(nil)
			r := frameRequest{pyr: pyr, view: tc.view, adj: tc.adj, cal: cal, size: vp, style: retina.Style{Width: 2}}
			if tc.marks {
				r.anns = marks
			}
			if tc.same {
				l.recycle(l.render(r))
			}
			c0 := cpuTime()
			for b.Loop() {
				if !tc.same {
					l.base = nil // a new view: the picture is rendered again
				}
				l.recycle(l.render(r))
			}
			// On a shared machine wall time depends on the neighbours; CPU
			// time (all cores summed) much less.
			if c1 := cpuTime(); c0 > 0 && b.N > 0 {
				b.ReportMetric(float64(c1-c0)/float64(b.N)/1e6, "cpu-ms/op")
			}
		})
	}
}

// rssBytes returns the process's resident set size from /proc/self/statm
// (0 where there is none).
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// BenchmarkCompareMemory12MP loads two 12 MP JPEGs into a side-by-side
// compare view (two 960×1080 viewports, the halves of a 1080p screen),
// builds their pyramids and renders a frame of each, then reports the
// memory: live heap after GC, the pixels held (pyramids and frame
// buffers), and how much the process's resident set grew for the first
// compare view (it also holds the JPEG decoder's garbage until the runtime
// returns it).
func BenchmarkCompareMemory12MP(b *testing.B) {
	jpgs := [][]byte{bigJPEG(b, 0), bigJPEG(b, 1)}
	test.NewTempApp(b)
	rss0 := rssBytes()
	var heap, pix, rss float64
	first := true
	for b.Loop() {
		// Each iteration's viewers stop with its context; what an earlier
		// iteration left is in both readings, so the difference is this
		// compare view's.
		ctx, cancel := context.WithCancel(b.Context())
		var ms0 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		c, err := NewCompare(ctx, Config{}, 2)
		if err != nil {
			b.Fatal(err)
		}
		c.noTicker = true
		var imgs []lane.Image
		var pyrs []*retina.Pyramid
		for i, data := range jpgs {
			c.viewers[i].sync = true
			m, err := decodeJPEG(data)
			if err != nil {
				b.Fatal(err)
			}
			p := retina.NewPyramid(m)
			p.Build()
			pyrs = append(pyrs, p)
			imgs = append(imgs, lane.Image{ID: lane.ImageID(strconv.Itoa(i)), Eye: lane.EyeRight})
		}
		w := test.NewWindow(c)
		w.SetPadded(false)
		c.SetImages(imgs, pyrs, nil)
		// Size the viewports to 960×1080 each.
		c.grid.Resize(fyne.NewSize(1920, 1080))
		for _, v := range c.viewers {
			v.Resize(fyne.NewSize(960, 1080))
			test.WidgetRenderer(v).Layout(fyne.NewSize(960, 1080))
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = float64(int64(ms.HeapAlloc) - int64(ms0.HeapAlloc))
		if first {
			// Later iterations reuse memory the runtime has not returned
			// to the system; the first shows what one compare view costs.
			rss, first = float64(rssBytes()-rss0), false
		}
		pix = float64(pyrs[0].Bytes() + pyrs[1].Bytes())
		for _, v := range c.viewers {
			if v.Frame() == nil || v.Frame().Rect.Size() != image.Pt(960, 1080) {
				b.Fatalf("frame %v", v.Frame())
			}
			pix += 3 * 960 * 1080 * 4 // two frame buffers and the base, at most
		}
		runtime.KeepAlive(c)
		w.Close()
		cancel()
	}
	b.ReportMetric(heap/(1<<20), "heap-MB")
	b.ReportMetric(pix/(1<<20), "pixels-MB")
	b.ReportMetric(rss/(1<<20), "rss-growth-MB")
}
