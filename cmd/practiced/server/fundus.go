package server

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// fundusOptions describe a synthetic fundus photograph.
type fundusOptions struct {
	Width, Height int
	Right         bool    // right eye: the optic disc is on the image's right (nasal)
	CupDisc       float64 // cup-to-disc ratio, 0.2..0.8
	Seed          uint64
}

// syntheticFundus draws a fundus-looking picture: a circular orange-red
// field with choroidal texture and vignetting, a bright optic disc with a
// paler cup on the nasal side, a darker macula with a fovea temporally, and
// branching vessels leaving the disc. It is synthetic through and through:
// no real image went into it.
func syntheticFundus(o fundusOptions) *image.RGBA {
	w, h := o.Width, o.Height
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	cx, cy := float64(w)/2, float64(h)/2
	R := 0.47 * math.Min(float64(w), float64(h))
	side := 1.0
	if !o.Right {
		side = -1
	}
	discX, discY := cx+side*0.30*R, cy-0.04*R+rng.Float64()*0.04*R
	discR := 0.085 * R
	cup := math.Max(0.2, math.Min(0.8, o.CupDisc))
	macX, macY := cx-side*0.12*R, cy+0.02*R
	// Choroidal texture: a few random low-frequency waves.
	type wave struct{ fx, fy, ph, amp float64 }
	var waves []wave
	for range 6 {
		waves = append(waves, wave{rng.Float64()*0.08 + 0.01, rng.Float64()*0.08 + 0.01, rng.Float64() * 2 * math.Pi, rng.Float64()*6 + 2})
	}
	tint := rng.Float64()*30 - 15 // fundus pigmentation varies between people
	vessel := make([]float32, w*h)
	vesselShade := make([]float32, w*h)
	// Vessels: four arcades from the disc, each branching.
	type seg struct {
		x, y, ang, width, length float64
		depth                    int
		artery                   bool
	}
	var stack []seg
	for i, base := range []float64{-0.55, 0.55, math.Pi - 1.05, math.Pi + 1.05} {
		a := base
		if side < 0 {
			a = math.Pi - a
		}
		stack = append(stack,
			seg{discX, discY, a, 0.022 * R, 1.1 * R, 0, false},
			seg{discX, discY, a + 0.12*float64(1-2*(i%2)), 0.016 * R, 1.0 * R, 0, true})
	}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		x, y, a, wd := s.x, s.y, s.ang, s.width
		curve := (rng.Float64() - 0.5) * 0.02
		if s.depth == 0 && math.Cos(a)*side < 0 {
			// Temporal arcades bend back around the macula.
			curve = math.Copysign(0.007, math.Sin(a)) * side
		}
		steps := int(s.length)
		for i := 0; i < steps && wd > 0.6; i++ {
			a += curve/2 + (rng.Float64()-0.5)*0.03
			x += math.Cos(a)
			y += math.Sin(a)
			wd *= 0.998
			if math.Hypot(x-cx, y-cy) > R {
				break
			}
			stamp(vessel, vesselShade, w, h, x, y, wd/2, s.artery)
			if s.depth < 3 && i > 40 && rng.Float64() < 0.006 {
				dir := 1.0
				if rng.IntN(2) == 0 {
					dir = -1
				}
				stack = append(stack, seg{x, y, a + dir*(0.5+rng.Float64()*0.5), wd * 0.7, s.length * 0.5, s.depth + 1, s.artery})
			}
		}
	}
	for py := 0; py < h; py++ {
		for px := 0; px < w; px++ {
			x, y := float64(px)+0.5, float64(py)+0.5
			d := math.Hypot(x-cx, y-cy)
			if d > R {
				img.SetRGBA(px, py, color.RGBA{0, 0, 0, 255})
				continue
			}
			vig := 1 - 0.45*math.Pow(d/R, 2.2)
			tex := 0.0
			for _, wv := range waves {
				tex += wv.amp * math.Sin(wv.fx*x+wv.fy*y+wv.ph)
			}
			r := (205 + tint + tex) * vig
			g := (88 + tint*0.4 + tex*0.5) * vig
			b := (38 + tex*0.3) * vig
			// Macula and fovea: darker, browner.
			md := math.Hypot(x-macX, y-macY) / R
			mac := math.Exp(-md * md / 0.010)
			r, g, b = r*(1-0.42*mac), g*(1-0.5*mac), b*(1-0.35*mac)
			if md < 0.012 {
				r, g = r*1.15, g*1.1
			}
			// Vessels.
			if v := float64(vessel[py*w+px]); v > 0 {
				vr, vg, vb := 120.0, 22.0, 18.0
				if vesselShade[py*w+px] > 0.5 {
					vr, vg, vb = 165, 40, 25
				}
				r, g, b = r*(1-v)+vr*vig*v, g*(1-v)+vg*vig*v, b*(1-v)+vb*vig*v
			}
			// Optic disc, with a paler cup; vessels fade inside the rim.
			dd := math.Hypot(x-discX, (y-discY)*0.92) / discR
			if dd < 1.25 {
				t := smooth(1.25, 0.95, dd)
				r, g, b = mix(r, 245, t), mix(g, 185, t), mix(b, 120, t)
				ct := smooth(cup*1.05, cup*0.8, dd)
				r, g, b = mix(r, 252, ct), mix(g, 232, ct), mix(b, 190, ct)
			}
			img.SetRGBA(px, py, color.RGBA{clamp8(r), clamp8(g), clamp8(b), 255})
		}
	}
	return img
}

// stamp paints a soft disc of radius rad into the vessel mask.
func stamp(mask, shade []float32, w, h int, x, y, rad float64, artery bool) {
	r := rad + 1
	for py := int(y - r); py <= int(y+r); py++ {
		for px := int(x - r); px <= int(x+r); px++ {
			if px < 0 || py < 0 || px >= w || py >= h {
				continue
			}
			d := math.Hypot(float64(px)+0.5-x, float64(py)+0.5-y)
			a := float32(math.Max(0, math.Min(1, rad+0.5-d)) * 0.85)
			i := py*w + px
			if a > mask[i] {
				mask[i] = a
				if artery {
					shade[i] = 1
				} else {
					shade[i] = 0
				}
			}
		}
	}
}

// smooth is 0 at from, 1 at to, smooth in between.
func smooth(from, to, v float64) float64 {
	t := (v - from) / (to - from)
	t = math.Max(0, math.Min(1, t))
	return t * t * (3 - 2*t)
}

func mix(a, b, t float64) float64 { return a*(1-t) + b*t }

func clamp8(v float64) uint8 { return uint8(math.Max(0, math.Min(255, math.Round(v)))) }

// fundusJPEG encodes a synthetic fundus as a baseline JPEG.
func fundusJPEG(o fundusOptions) ([]byte, error) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, syntheticFundus(o), &jpeg.Options{Quality: 85}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
