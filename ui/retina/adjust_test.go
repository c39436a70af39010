package retina_test

import (
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/examlane/examlane/ui/retina"
)

func TestLUT(t *testing.T) {
	t.Parallel()
	id := retina.Adjust{}.LUT()
	for i, v := range id {
		if int(v) != i {
			t.Fatalf("zero Adjust: LUT[%d] = %d", i, v)
		}
	}
	tests := []struct {
		name string
		a    retina.Adjust
		in   []int
		out  []int
	}{
		{"invert", retina.Adjust{Invert: true}, []int{0, 10, 255}, []int{255, 245, 0}},
		{"brightness +0.2", retina.Adjust{Brightness: 0.2}, []int{0, 100, 250}, []int{51, 151, 255}},
		{"brightness -1", retina.Adjust{Brightness: -1}, []int{0, 128, 255}, []int{0, 0, 0}},
		{"gamma 2", retina.Adjust{Gamma: 2}, []int{0, 64, 255}, []int{0, 128, 255}},
		{"contrast 0.5 triples", retina.Adjust{Contrast: 0.5}, []int{100, 128, 140}, []int{45, 129, 165}},
		{"contrast -0.5 divides by 3", retina.Adjust{Contrast: -0.5}, []int{0, 255}, []int{85, 170}},
	}
	for _, tt := range tests {
		l := tt.a.LUT()
		for i, in := range tt.in {
			if got := int(l[in]); got != tt.out[i] {
				t.Errorf("%s: LUT[%d] = %d, want %d", tt.name, in, got, tt.out[i])
			}
		}
	}
	// Monotonic unless inverted.
	l := retina.Adjust{Brightness: 0.1, Contrast: 0.4, Gamma: 0.7}.LUT()
	for i := 1; i < 256; i++ {
		if l[i] < l[i-1] {
			t.Fatalf("LUT not monotonic at %d", i)
		}
	}
}

func TestChannels(t *testing.T) {
	t.Parallel()
	px := func(a retina.Adjust) [4]uint8 {
		img := image.NewRGBA(image.Rect(0, 0, 1, 1))
		copy(img.Pix, []uint8{200, 120, 40, 255})
		a.Apply(img)
		return [4]uint8(img.Pix)
	}
	tests := []struct {
		a    retina.Adjust
		want [4]uint8
	}{
		{retina.Adjust{}, [4]uint8{200, 120, 40, 255}},
		{retina.Adjust{Channel: retina.RedFree}, [4]uint8{120, 120, 120, 255}},
		{retina.Adjust{Channel: retina.RedFree, Tint: true}, [4]uint8{30, 120, 30, 255}},
		{retina.Adjust{Channel: retina.RedOnly}, [4]uint8{200, 200, 200, 255}},
		{retina.Adjust{Channel: retina.GreenOnly}, [4]uint8{120, 120, 120, 255}},
		{retina.Adjust{Channel: retina.BlueOnly}, [4]uint8{40, 40, 40, 255}},
		{retina.Adjust{Channel: retina.BlueOnly, Invert: true}, [4]uint8{215, 215, 215, 255}},
	}
	for _, tt := range tests {
		if got := px(tt.a); got != tt.want {
			t.Errorf("%v (tint %v, invert %v): %v, want %v", tt.a.Channel, tt.a.Tint, tt.a.Invert, got, tt.want)
		}
	}
}

func lumStats(img *image.RGBA, x0, y0, x1, y1 int) (mean, sd float64) {
	var s, s2, n float64
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			c := img.RGBAAt(x, y)
			l := 0.299*float64(c.R) + 0.587*float64(c.G) + 0.114*float64(c.B)
			s += l
			s2 += l * l
			n++
		}
	}
	mean = s / n
	return mean, math.Sqrt(s2/n - mean*mean)
}

func TestCLAHE(t *testing.T) {
	t.Parallel()
	// A low-contrast picture: left half dim, right half bright, each a
	// texture spanning 40 grey levels. CLAHE must raise local contrast in
	// both halves.
	mk := func() *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, 256, 128))
		for y := range 128 {
			for x := range 256 {
				base := 40
				if x >= 128 {
					base = 180
				}
				v := uint8(base + (x*7+y*13+(x*y)%11)%40)
				img.SetRGBA(x, y, color.RGBA{v, v, v, 255})
			}
		}
		return img
	}
	img := mk()
	_, sdL0 := lumStats(img, 16, 16, 112, 112)
	_, sdR0 := lumStats(img, 144, 16, 240, 112)
	retina.CLAHE(img, 8, 3)
	_, sdL := lumStats(img, 16, 16, 112, 112)
	_, sdR := lumStats(img, 144, 16, 240, 112)
	if sdL < 2*sdL0 || sdR < 2*sdR0 {
		t.Errorf("local contrast (sd) %.1f→%.1f and %.1f→%.1f: want at least doubled", sdL0, sdL, sdR0, sdR)
	}
	// With one tile and no clip, CLAHE is plain histogram equalisation:
	// monotonic in input, and the brightest input maps to 255.
	img = mk()
	orig := mk()
	retina.CLAHE(img, 1, 1e9)
	out := map[uint8]uint8{}
	for i := 0; i < len(img.Pix); i += 4 {
		out[orig.Pix[i]] = img.Pix[i]
	}
	prev, top := -1, uint8(0)
	for in := range 256 {
		if o, ok := out[uint8(in)]; ok {
			if int(o) < prev {
				t.Fatalf("equalisation not monotonic at %d", in)
			}
			prev, top = int(o), o
		}
	}
	if top != 255 {
		t.Errorf("brightest input maps to %d, want 255", top)
	}
	// A flat image stays flat (no seams between tiles).
	flat := image.NewRGBA(image.Rect(0, 0, 200, 150))
	for i := range flat.Pix {
		flat.Pix[i] = []uint8{120, 60, 30, 255}[i%4]
	}
	retina.CLAHE(flat, 8, 2)
	first := flat.RGBAAt(0, 0)
	for y := range 150 {
		for x := range 200 {
			if flat.RGBAAt(x, y) != first {
				t.Fatalf("flat image not flat after CLAHE at (%d,%d)", x, y)
			}
		}
	}
	// Chroma is kept: the colour difference R−G is unchanged where no
	// channel clips.
	if first.R-first.G != 60 {
		t.Errorf("flat colour %v: R−G changed from 60", first)
	}
}
