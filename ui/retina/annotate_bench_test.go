package retina_test

import (
	"image"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
	"github.com/examlane/examlane/ui/retina/synth"
)

// benchAnnotations are the marks of the viewer's frame benchmarks (a disc
// and a cup circle, a length, an arrow, a label) plus a freehand outline
// and an area, on a 4000×3000 image: the landmarks of a 400×300 synthetic
// fundus (seed 1), scaled by 10 (generating the 12 MP picture itself is
// not needed to draw marks).
func benchAnnotations() []lane.Annotation {
	_, g := synth.Generate(synth.Params{Width: 400, Height: 300, Seed: 1, Lesions: true, Noise: -1})
	s := func(x, y float64) lane.Point { return lane.Point{X: 10 * x, Y: 10 * y} }
	dx, dy, fx, fy := g.Disc[0], g.Disc[1], g.Fovea[0], g.Fovea[1]
	var free []lane.Point
	for i := range 40 {
		free = append(free, s(fx+float64(i), fy+10+5*float64(i%3)))
	}
	return []lane.Annotation{
		{Kind: lane.AnnotDisc, Points: []lane.Point{s(dx, dy), s(dx+g.DiscRY, dy)}},
		{Kind: lane.AnnotCup, Points: []lane.Point{s(g.Cup[0], g.Cup[1]), s(g.Cup[0]+g.CupRY, g.Cup[1])}},
		{Kind: lane.AnnotLength, Points: []lane.Point{s(fx, fy), s(dx, dy)}},
		{Kind: lane.AnnotArrow, Points: []lane.Point{s(fx-30, fy-30), s(fx-3, fy-3)}},
		{Kind: lane.AnnotText, Points: []lane.Point{s(fx-32, fy-32)}, Text: "fovea"},
		{Kind: lane.AnnotFreehand, Points: free},
		{Kind: lane.AnnotArea, Points: []lane.Point{s(fx-20, fy+15), s(fx-5, fy+18), s(fx-8, fy+30), s(fx-22, fy+28)}},
	}
}

// BenchmarkDrawAnnotations1080p draws the marks alone over a 1920×1080
// viewport of a 4000×3000 image, centred between disc and fovea, at the
// zooms of issue #7 (scale = viewport pixels per image pixel; the fitted
// view is about 0.36). The same frame is drawn over again: the cost does
// not depend on the pixels under the marks.
func BenchmarkDrawAnnotations1080p(b *testing.B) {
	anns := benchAnnotations()
	size := image.Pt(4000, 3000)
	fit := retina.Fit(size, viewport, 0)
	// Centre the magnified views on the disc, where the clinician zooms.
	onDisc := func(scale float64) retina.View {
		v := fit.WithScale(scale, size, viewport)
		v.Center = anns[0].Points[0]
		return v
	}
	cal := retina.Calibration{MMPerPixel: 0.006}
	dst := image.NewRGBA(image.Rectangle{Max: viewport})
	for _, c := range []struct {
		name string
		v    retina.View
	}{
		{"fit", fit},
		{"1to1", fit.WithScale(1, size, viewport)},
		{"2x", fit.WithScale(2, size, viewport)},
		{"2x-disc", onDisc(2)},
		{"8x-disc", onDisc(8)},
	} {
		b.Run(c.name, func(b *testing.B) {
			m := c.v.ToViewport(viewport)
			defer cpuMetric(b)()
			for b.Loop() {
				retina.DrawAnnotations(dst, m, anns, cal, retina.Style{Width: 2})
			}
		})
	}
}
