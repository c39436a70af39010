package synth_test

import (
	"bytes"
	"flag"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina/synth"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata")

func TestDeterministic(t *testing.T) {
	t.Parallel()
	p := synth.Params{Width: 200, Height: 150, Seed: 9, Lesions: true}
	a, ga := synth.Generate(p)
	b, gb := synth.Generate(p)
	if !bytes.Equal(a.Pix, b.Pix) || ga != gb {
		t.Error("same params gave different images")
	}
	p.Seed = 10
	c, _ := synth.Generate(p)
	if bytes.Equal(a.Pix, c.Pix) {
		t.Error("different seeds gave the same image")
	}
}

func lum(img *image.RGBA, x, y int) int {
	c := img.RGBAAt(x, y)
	return (299*int(c.R) + 587*int(c.G) + 114*int(c.B)) / 1000
}

func ell(x, y float64, c [2]float64, rx, ry float64) float64 {
	dx, dy := (x-c[0])/rx, (y-c[1])/ry
	return dx*dx + dy*dy
}

// median returns the median luminance of the pixels whose centres satisfy in.
func median(img *image.RGBA, in func(x, y float64) bool) int {
	var v []int
	for y := range img.Rect.Dy() {
		for x := range img.Rect.Dx() {
			if in(float64(x)+0.5, float64(y)+0.5) {
				v = append(v, lum(img, x, y))
			}
		}
	}
	if len(v) == 0 {
		return -1
	}
	sort.Ints(v)
	return v[len(v)/2]
}

func TestAnatomy(t *testing.T) {
	t.Parallel()
	for _, eye := range []lane.Eye{lane.EyeRight, lane.EyeLeft} {
		img, g := synth.Generate(synth.Params{Width: 400, Height: 300, Seed: 3, Eye: eye, Noise: -1})
		// Disc nasal: right of centre for a right eye, left for a left eye;
		// the fovea on the other side.
		if right := g.Disc[0] > 200; right != (eye == lane.EyeRight) {
			t.Errorf("%v eye: disc at x=%.0f", eye, g.Disc[0])
		}
		if (g.Fovea[0] < 200) != (eye == lane.EyeRight) {
			t.Errorf("%v eye: fovea at x=%.0f", eye, g.Fovea[0])
		}
		// Corners are outside the field of view: black.
		if c := img.RGBAAt(0, 0); c.R+c.G+c.B != 0 {
			t.Errorf("%v eye: corner %v, want black", eye, c)
		}
		// The cup is the brightest, the disc rim brighter than the fundus,
		// the fovea darker than the fundus around it; the fundus is
		// orange-red (R > G > B).
		// Medians over regions, so that vessels crossing them do not matter.
		cup := median(img, func(x, y float64) bool { return ell(x, y, g.Cup, g.CupRX, g.CupRY) < 0.8 })
		rim := median(img, func(x, y float64) bool {
			return ell(x, y, g.Disc, g.DiscRX, g.DiscRY) < 0.9 && ell(x, y, g.Cup, g.CupRX, g.CupRY) > 1.3
		})
		fovea := median(img, func(x, y float64) bool { return ell(x, y, g.Fovea, 3, 3) < 1 })
		bgc := [2]float64{(g.Fovea[0] + g.FOVCenter[0]) / 2, g.FOVCenter[1] + 0.4*g.FOVRadius}
		bg := median(img, func(x, y float64) bool { return ell(x, y, bgc, 15, 15) < 1 })
		mid := img.RGBAAt(int(bgc[0]), int(bgc[1]))
		if !(cup > rim && rim > bg && fovea < bg) {
			t.Errorf("%v eye: luminance cup %d, rim %d, background %d, fovea %d", eye, cup, rim, bg, fovea)
		}
		if !(mid.R > mid.G && mid.G > mid.B) {
			t.Errorf("%v eye: background colour %v is not orange-red", eye, mid)
		}
	}
	// The cup-to-disc ratio is the one asked for.
	_, g := synth.Generate(synth.Params{Width: 100, Height: 80, CupDisc: 0.6})
	if r := g.CupRY / g.DiscRY; r < 0.599 || r > 0.601 {
		t.Errorf("vertical cup/disc = %v, want 0.6", r)
	}
}

// TestGolden pins the generator's output (with noise and lesions) so a
// change to it is a reviewed change of every test picture.
func TestGolden(t *testing.T) {
	t.Parallel()
	img, _ := synth.Generate(synth.Params{Width: 240, Height: 180, Seed: 42, Lesions: true})
	path := filepath.Join("testdata", "fundus_seed42.png")
	if *update {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	w := image.NewRGBA(want.Bounds())
	draw.Draw(w, w.Rect, want, image.Point{}, draw.Src)
	bad := 0
	for i := range img.Pix {
		d := int(img.Pix[i]) - int(w.Pix[i])
		if d > 2 || d < -2 {
			bad++
		}
	}
	if bad > 0 {
		os.MkdirAll(filepath.Join("testdata", "failed"), 0o755)
		if f, err := os.Create(filepath.Join("testdata", "failed", "fundus_seed42.png")); err == nil {
			png.Encode(f, img)
			f.Close()
		}
		t.Errorf("%d channel values differ from the golden by more than 2 (actual in testdata/failed)", bad)
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, s := range []image.Point{{640, 480}, {4000, 3000}} {
		b.Run(s.String(), func(b *testing.B) {
			for b.Loop() {
				synth.Generate(synth.Params{Width: s.X, Height: s.Y, Seed: 1, Lesions: true})
			}
		})
	}
}
