// Command mksrc writes the small synthetic source images the DICOM
// fixtures are made from (see ../README.md). It uses no real image: the
// pictures are smooth colour gradients with a few discs, which survive
// JPEG coding with small errors so tests can compare pixels.
package main

import (
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log"
	"math"
	"os"
)

func main() {
	const w, h = 64, 48
	rgb := image.NewRGBA(image.Rect(0, 0, w, h))
	gray := image.NewGray(rgb.Rect)
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/w, float64(y)/h
			r := 200 - 120*fy
			g := 60 + 100*fx
			b := 40 + 60*math.Sin(3*fx+2*fy)
			// A pale disc and a dark dot, softly edged.
			if d := math.Hypot(float64(x)-44, float64(y)-20); d < 10 {
				k := math.Min(1, (10-d)/3)
				r, g, b = r+(240-r)*k, g+(210-g)*k, b+(150-b)*k
			}
			if d := math.Hypot(float64(x)-18, float64(y)-30); d < 6 {
				k := math.Min(1, (6-d)/2)
				r, g, b = r+(90-r)*k, g+(20-g)*k, b+(20-b)*k
			}
			rgb.Set(x, y, color.RGBA{c8(r), c8(g), c8(b), 255})
			gray.SetGray(x, y, color.Gray{c8(30 + 180*fx*0.5 + 100*fy*0.5 + 20*math.Sin(5*fx))})
		}
	}
	write("src_rgb.png", func(f *os.File) error { return png.Encode(f, rgb) })
	write("src_rgb.jpg", func(f *os.File) error { return jpeg.Encode(f, rgb, &jpeg.Options{Quality: 95}) })
	write("src_gray.png", func(f *os.File) error { return png.Encode(f, gray) })
	write("src_gray.jpg", func(f *os.File) error { return jpeg.Encode(f, gray, &jpeg.Options{Quality: 95}) })
}

func c8(v float64) uint8 { return uint8(math.Round(math.Max(0, math.Min(255, v)))) }

func write(name string, enc func(*os.File) error) {
	f, err := os.Create(name)
	if err != nil {
		log.Fatal(err)
	}
	if err := enc(f); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
