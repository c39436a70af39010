package retina_test

import (
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
	"github.com/examlane/examlane/ui/retina/synth"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata")

// goldenTolerance is the largest per-channel difference accepted: enough
// for floating-point differences between architectures (e.g. fused
// multiply-add on arm64), far below anything visible.
const goldenTolerance = 2

// assertGolden compares img with testdata/name.png. With -update it
// rewrites the golden; on a mismatch it writes the actual image to
// testdata/failed/name.png for review.
func assertGolden(t *testing.T, name string, img *image.RGBA) {
	t.Helper()
	path := filepath.Join("testdata", name+".png")
	if *update {
		writePNG(t, path, img)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test -update to create it)", path, err)
	}
	defer f.Close()
	want, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	wr := image.NewRGBA(want.Bounds())
	draw.Draw(wr, wr.Rect, want, want.Bounds().Min, draw.Src)
	if msg := compareRGBA(img, wr, goldenTolerance); msg != "" {
		failed := filepath.Join("testdata", "failed", name+".png")
		writePNG(t, failed, img)
		t.Errorf("%s: %s (actual image written to %s)", name, msg, failed)
	}
}

func compareRGBA(got, want *image.RGBA, tol int) string {
	if got.Rect.Size() != want.Rect.Size() {
		return fmt.Sprintf("size %v, want %v", got.Rect.Size(), want.Rect.Size())
	}
	bad, worst := 0, 0
	for y := range got.Rect.Dy() {
		for x := range got.Rect.Dx() {
			a, b := got.RGBAAt(got.Rect.Min.X+x, got.Rect.Min.Y+y), want.RGBAAt(x, y)
			for _, d := range []int{int(a.R) - int(b.R), int(a.G) - int(b.G), int(a.B) - int(b.B), int(a.A) - int(b.A)} {
				d = max(d, -d)
				worst = max(worst, d)
				if d > tol {
					bad++
				}
			}
		}
	}
	if bad > 0 {
		return fmt.Sprintf("%d channel values differ by more than %d (worst %d)", bad, tol, worst)
	}
	return ""
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// fundus is the synthetic test picture: a right eye with lesions, seed 42,
// without sensor noise (so goldens compress well).
func fundus(w, h int) (*image.RGBA, synth.Geometry) {
	return synth.Generate(synth.Params{Width: w, Height: h, Seed: 42, Lesions: true, Noise: -1})
}

func TestGoldenPyramid(t *testing.T) {
	t.Parallel()
	src, _ := fundus(1024, 768)
	p := retina.NewPyramid(src)
	if p.NumLevels() != 3 {
		t.Fatalf("%d levels, want 3", p.NumLevels())
	}
	for k := 1; k < 3; k++ {
		assertGolden(t, fmt.Sprintf("pyramid_level%d", k), p.Level(k).(*image.RGBA))
	}
	// A zoomed, rotated, flipped view across the disc.
	v := retina.View{Scale: 0.8, Center: lane.Point{X: 700, Y: 360}, Rotation: 25, FlipH: true}
	assertGolden(t, "render_rotated", p.Render(v, 240, 160))
}

func TestGoldenAdjustments(t *testing.T) {
	t.Parallel()
	src, _ := fundus(640, 480)
	p := retina.NewPyramid(src)
	vp := image.Pt(160, 120)
	base := p.Render(retina.Fit(p.Size(), vp, 0), vp.X, vp.Y)
	assertGolden(t, "adjust_none", base)
	tests := []struct {
		name string
		a    retina.Adjust
	}{
		{"brightness", retina.Adjust{Brightness: 0.15}},
		{"contrast", retina.Adjust{Contrast: 0.4}},
		{"gamma", retina.Adjust{Gamma: 1.8}},
		{"redfree", retina.Adjust{Channel: retina.RedFree}},
		{"redfree_tint", retina.Adjust{Channel: retina.RedFree, Tint: true}},
		{"red", retina.Adjust{Channel: retina.RedOnly}},
		{"green", retina.Adjust{Channel: retina.GreenOnly}},
		{"blue", retina.Adjust{Channel: retina.BlueOnly}},
		{"clahe", retina.Adjust{CLAHE: true}},
		{"clahe_redfree", retina.Adjust{CLAHE: true, ClipLimit: 3, Channel: retina.RedFree}},
		{"invert", retina.Adjust{Invert: true}},
		{"combined", retina.Adjust{Brightness: -0.05, Contrast: 0.2, Gamma: 1.2, CLAHE: true, Tiles: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img := image.NewRGBA(base.Rect)
			copy(img.Pix, base.Pix)
			tt.a.Apply(img)
			assertGolden(t, "adjust_"+tt.name, img)
		})
	}
}

// demoAnnotations marks every kind on the synthetic fundus, using its known
// landmarks.
func demoAnnotations(g synth.Geometry) []lane.Annotation {
	return []lane.Annotation{
		{Kind: lane.AnnotArrow, Points: []lane.Point{{X: 150, Y: 120}, {X: g.Fovea[0] - 6, Y: g.Fovea[1] - 6}}},
		{Kind: lane.AnnotDisc, Points: ellipse(g.Disc[0], g.Disc[1], g.DiscRX, g.DiscRY, 48)},
		{Kind: lane.AnnotCup, Points: []lane.Point{{X: g.Cup[0], Y: g.Cup[1]}, {X: g.Cup[0], Y: g.Cup[1] + g.CupRY}}},
		{Kind: lane.AnnotLength, Points: []lane.Point{{X: g.Disc[0], Y: g.Disc[1]}, {X: g.Fovea[0], Y: g.Fovea[1]}}},
		{Kind: lane.AnnotArea, Points: []lane.Point{{X: 180, Y: 300}, {X: 260, Y: 290}, {X: 270, Y: 370}, {X: 190, Y: 380}}},
		{Kind: lane.AnnotText, Points: []lane.Point{{X: 90, Y: 60}}, Text: "dot haem?"},
		{Kind: lane.AnnotFreehand, Points: []lane.Point{{X: 400, Y: 380}, {X: 420, Y: 360}, {X: 450, Y: 370}, {X: 470, Y: 400}}},
		{Kind: lane.AnnotCircle, Points: []lane.Point{{X: 330, Y: 120}, {X: 355, Y: 120}}},
		{Kind: lane.AnnotCircle, Points: []lane.Point{{X: 100, Y: 100}, {X: 400, Y: 100}}, Deleted: true},
	}
}

func TestGoldenAnnotations(t *testing.T) {
	t.Parallel()
	src, g := fundus(640, 480)
	p := retina.NewPyramid(src)
	anns := demoAnnotations(g)
	// About 26 µm per pixel puts the disc 4.5 mm from the fovea, as in an
	// adult eye.
	cal := retina.Calibration{MMPerPixel: 0.026}

	// Over a rendered viewport, rotated and zoomed.
	vp := image.Pt(320, 240)
	v := retina.Fit(p.Size(), vp, 0).ZoomAt(1.3, lane.Point{X: 200, Y: 110}, p.Size(), vp)
	img := p.Render(v, vp.X, vp.Y)
	retina.DrawAnnotations(img, v.ToViewport(vp), anns, cal, retina.Style{})
	assertGolden(t, "annotations_viewport", img)

	// An exported copy at full resolution, in degrees, bigger text.
	full := image.NewRGBA(src.Rect)
	copy(full.Pix, src.Pix)
	retina.DrawAnnotations(full, retina.Identity, anns, retina.CalibrationFor(lane.Image{Width: 640}, 45), retina.Style{Width: 3, TextScale: 2})
	assertGolden(t, "annotations_export", full)

	// The deleted annotation draws nothing.
	a := p.Render(v, vp.X, vp.Y)
	b := p.Render(v, vp.X, vp.Y)
	retina.DrawAnnotations(a, v.ToViewport(vp), anns[:len(anns)-1], cal, retina.Style{})
	retina.DrawAnnotations(b, v.ToViewport(vp), anns, cal, retina.Style{})
	if msg := compareRGBA(a, b, 0); msg != "" {
		t.Errorf("deleted annotation drawn: %s", msg)
	}
	// Annotations far outside the viewport or degenerate do not panic.
	retina.DrawAnnotations(a, v.ToViewport(vp), []lane.Annotation{
		{Kind: lane.AnnotLength, Points: []lane.Point{{X: -1e9, Y: 5}, {X: 1e9, Y: 5}}},
		{Kind: lane.AnnotArrow, Points: []lane.Point{{X: 5, Y: 5}, {X: 5, Y: 5}}},
		{Kind: lane.AnnotArea, Points: []lane.Point{{X: 5, Y: 5}}},
		{Kind: lane.AnnotText},
	}, cal, retina.Style{})
}
