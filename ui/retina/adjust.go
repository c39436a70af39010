package retina

import (
	"image"
	"math"
)

// Channel selects which colour information an adjusted image shows.
type Channel uint8

// Channels. RedFree shows the green channel as grey (vessels and
// haemorrhages stand out against the choroid); Red, Green and Blue show one
// channel as grey.
const (
	AllChannels Channel = iota
	RedFree
	RedOnly
	GreenOnly
	BlueOnly
)

// String returns the channel's name.
func (c Channel) String() string {
	switch c {
	case RedFree:
		return "red-free"
	case RedOnly:
		return "red"
	case GreenOnly:
		return "green"
	case BlueOnly:
		return "blue"
	}
	return "colour"
}

// Adjust is a set of display adjustments, applied to a rendered viewport
// (never to stored pixels). The zero value changes nothing.
type Adjust struct {
	// Brightness adds Brightness·255 to every channel, in [-1, 1].
	Brightness float64
	// Contrast scales around mid-grey by (1+Contrast)/(1−Contrast) for
	// Contrast in (-1, 1): 0 is unchanged, 0.5 triples, −0.5 divides by 3.
	Contrast float64
	// Gamma is the display exponent: out = in^(1/Gamma); 0 means 1.
	Gamma float64
	// Channel selects colour, red-free or a single channel.
	Channel Channel
	// Tint shows red-free in green tones instead of grey.
	Tint bool
	// CLAHE applies contrast-limited adaptive histogram equalisation to
	// luminance before the tone curve.
	CLAHE bool
	// ClipLimit is CLAHE's clip limit, as a multiple of the mean histogram
	// bin count; 0 means 2.
	ClipLimit float64
	// Tiles is the number of CLAHE tiles across the longer side; 0 means 8.
	Tiles int
	// Invert shows the negative.
	Invert bool
}

// IsZero reports whether a changes nothing.
func (a Adjust) IsZero() bool { return a == Adjust{} }

// LUT returns the tone curve of a: brightness, contrast, gamma and invert
// combined into one 256-entry table.
func (a Adjust) LUT() [256]uint8 {
	var t [256]uint8
	c := math.Max(-0.999, math.Min(0.999, a.Contrast))
	k := (1 + c) / (1 - c)
	g := a.Gamma
	if !(g > 0) {
		g = 1
	}
	for i := range t {
		v := float64(i) / 255
		v = (v-0.5)*k + 0.5 + a.Brightness
		v = math.Max(0, math.Min(1, v))
		if g != 1 {
			v = math.Pow(v, 1/g)
		}
		if a.Invert {
			v = 1 - v
		}
		t[i] = uint8(math.Round(v * 255))
	}
	return t
}

// Apply adjusts img in place. It is meant for viewport-sized images and
// runs on several goroutines.
func (a Adjust) Apply(img *image.RGBA) {
	if a.IsZero() {
		return
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w <= 0 || h <= 0 {
		return
	}
	if a.Channel != AllChannels {
		a.selectChannel(img)
	}
	if a.CLAHE {
		clip := a.ClipLimit
		if !(clip > 0) {
			clip = 2
		}
		tiles := a.Tiles
		if tiles <= 0 {
			tiles = 8
		}
		CLAHE(img, tiles, clip)
	}
	lut := a.LUT()
	var tint [256]uint8 // red and blue of a green-tinted red-free pixel
	for i := range tint {
		tint[i] = uint8(i / 4)
	}
	tinted := a.Channel == RedFree && a.Tint
	parallelRows(h, w*h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := img.Pix[y*img.Stride : y*img.Stride+4*w]
			for i := 0; i+3 < len(row); i += 4 {
				p := row[i : i+3 : i+3]
				if tinted {
					g := lut[p[1]]
					p[0], p[1], p[2] = tint[g], g, tint[g]
					continue
				}
				p[0], p[1], p[2] = lut[p[0]], lut[p[1]], lut[p[2]]
			}
		}
	})
}

// selectChannel replaces every pixel by the grey level of the chosen
// channel.
func (a Adjust) selectChannel(img *image.RGBA) {
	ch := 1
	switch a.Channel {
	case RedOnly:
		ch = 0
	case BlueOnly:
		ch = 2
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	parallelRows(h, w*h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := img.Pix[y*img.Stride : y*img.Stride+4*w]
			for i := 0; i+3 < len(row); i += 4 {
				v := row[i+ch]
				row[i], row[i+1], row[i+2] = v, v, v
			}
		}
	})
}
