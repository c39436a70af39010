// Package synth draws synthetic colour fundus photographs for tests, demos
// and benchmarks. The images are made from a seed and a few parameters and
// are reproducible: the same Params give the same pixels. No real patient
// image is used or imitated pixel by pixel; the anatomy is a plausible
// caricature (an orange-red field with radial vignetting inside a circular
// field of view, an optic disc with a paler cup, a darker macula with a
// foveal pit, branching arteries and veins that taper away from the disc,
// mild sensor noise, and optional dot haemorrhages and hard exudates).
//
// Geometry follows the clinical convention for a fundus photograph viewed
// from the front: the optic disc is nasal, so a right eye has its disc on
// the right of the image and a left eye on the left, and the macula lies
// temporal to the disc.
package synth

import (
	"image"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/examlane/examlane/lane"
)

// Params describes one synthetic fundus image. Zero values select sensible
// defaults (see Defaults).
type Params struct {
	// Width and Height are the image size in pixels; both must be ≥ 1.
	Width, Height int
	// Seed selects the vessel tree, texture, noise and lesions.
	Seed uint64
	// Eye is EyeRight (disc on the right) or EyeLeft (disc on the left);
	// EyeUnknown and EyeBoth draw a right eye.
	Eye lane.Eye
	// CupDisc is the vertical cup-to-disc diameter ratio, in (0, 0.95].
	CupDisc float64
	// DiscRadius is the vertical disc radius as a fraction of the
	// field-of-view radius.
	DiscRadius float64
	// DiscOffset moves the disc centre from its default position, in
	// fractions of the field-of-view radius (X nasal-positive, Y down).
	DiscOffsetX, DiscOffsetY float64
	// Noise is the standard deviation of the per-channel sensor noise in
	// 8-bit levels; negative disables noise.
	Noise float64
	// Lesions adds a few dot haemorrhages and hard exudates.
	Lesions bool
}

// Defaults returns p with zero fields replaced by their defaults: a right
// eye, cup-to-disc 0.35, disc radius 0.13 and noise 2 levels.
func (p Params) Defaults() Params {
	if p.Eye != lane.EyeLeft {
		p.Eye = lane.EyeRight
	}
	if p.CupDisc <= 0 {
		p.CupDisc = 0.35
	}
	p.CupDisc = min(p.CupDisc, 0.95)
	if p.DiscRadius <= 0 {
		p.DiscRadius = 0.13
	}
	if p.Noise == 0 {
		p.Noise = 2
	}
	return p
}

// Geometry is where the generator put the landmarks, in image pixel
// coordinates, so tests can check measurements against ground truth.
type Geometry struct {
	// FOVCenter and FOVRadius describe the circular field of view.
	FOVCenter [2]float64
	FOVRadius float64
	// Disc is the optic disc centre; DiscRX and DiscRY its horizontal and
	// vertical radii. Cup, CupRX and CupRY describe the cup likewise.
	Disc           [2]float64
	DiscRX, DiscRY float64
	Cup            [2]float64
	CupRX, CupRY   float64
	// Fovea is the centre of the foveal pit.
	Fovea [2]float64
}

// Colours in linear-ish 8-bit sRGB, chosen by eye to resemble a colour
// fundus photograph.
var (
	colCentre    = [3]float64{212, 92, 38}
	colPeriphery = [3]float64{118, 38, 14}
	colMacula    = [3]float64{132, 52, 24}
	colRim       = [3]float64{236, 156, 96}
	colCup       = [3]float64{250, 222, 172}
	colArtery    = [3]float64{172, 38, 22}
	colVein      = [3]float64{100, 18, 20}
	colHaem      = [3]float64{104, 12, 8}
	colExudate   = [3]float64{238, 212, 104}
)

// Generate draws the image described by p and returns it with the
// landmark geometry. It panics if Width or Height is < 1 (a programming
// error). It uses every CPU for large images.
func Generate(p Params) (*image.RGBA, Geometry) {
	p = p.Defaults()
	if p.Width < 1 || p.Height < 1 {
		panic("synth: image size must be at least 1×1")
	}
	g := newScene(p)
	img := image.NewRGBA(image.Rect(0, 0, p.Width, p.Height))
	g.rasteriseVessels()
	g.rasteriseLesions()
	g.shade(img)
	return img, g.geometry()
}

// scene holds the landmarks in pixel units and the rasterised maps.
type scene struct {
	p              Params
	w, h           int
	cx, cy, rf     float64 // field of view
	dx, dy, rx, ry float64 // disc
	ux, uy, urx    float64 // cup centre and horizontal radius
	ury            float64
	fx, fy         float64 // fovea
	nasal          float64 // +1 when nasal is to the right in the image
	vessels        []segment
	lesions        []lesion
	artery, vein   []uint8 // vessel maps, w*h, 255 = vessel centre
	haem, exu      []uint8 // lesion maps, nil without lesions
	rng            *rand.Rand
}

func newScene(p Params) *scene {
	s := &scene{p: p, w: p.Width, h: p.Height}
	s.rng = rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15))
	s.cx, s.cy = float64(s.w)/2, float64(s.h)/2
	// Cameras crop the circular field slightly at the top and bottom of a
	// landscape frame.
	if s.w >= s.h {
		s.rf = 0.51 * float64(s.h)
		if s.rf > 0.5*float64(s.w) {
			s.rf = 0.5 * float64(s.w)
		}
	} else {
		s.rf = 0.49 * float64(s.w)
	}
	s.nasal = 1
	if p.Eye == lane.EyeLeft {
		s.nasal = -1
	}
	s.dx = s.cx + s.nasal*(0.40+p.DiscOffsetX)*s.rf
	s.dy = s.cy + (-0.03+p.DiscOffsetY)*s.rf
	s.ry = p.DiscRadius * s.rf
	s.rx = 0.9 * s.ry
	// The cup sits slightly temporal in the disc.
	s.ury = p.CupDisc * s.ry
	s.urx = p.CupDisc * s.rx * 0.95
	s.ux = s.dx - s.nasal*0.12*(s.rx-s.urx)
	s.uy = s.dy
	// Fovea: about 2.5 disc diameters temporal to the disc, slightly lower.
	s.fx = s.dx - s.nasal*0.70*s.rf
	s.fy = s.dy + 0.06*s.rf
	s.growVessels()
	if p.Lesions {
		s.placeLesions()
	}
	return s
}

func (s *scene) geometry() Geometry {
	return Geometry{
		FOVCenter: [2]float64{s.cx, s.cy}, FOVRadius: s.rf,
		Disc: [2]float64{s.dx, s.dy}, DiscRX: s.rx, DiscRY: s.ry,
		Cup: [2]float64{s.ux, s.uy}, CupRX: s.urx, CupRY: s.ury,
		Fovea: [2]float64{s.fx, s.fy},
	}
}

// parallelRows runs fn over [0,h) split into bands, one per CPU, and waits.
func parallelRows(h int, fn func(y0, y1 int)) {
	n := runtime.GOMAXPROCS(0)
	if h < 64 || n == 1 {
		fn(0, h)
		return
	}
	n = min(n*4, h)
	var wg sync.WaitGroup
	for i := range n {
		y0, y1 := h*i/n, h*(i+1)/n
		wg.Go(func() { fn(y0, y1) })
	}
	wg.Wait()
}

func clamp01(v float64) float64 { return max(0, min(1, v)) }

func smoothstep(e0, e1, x float64) float64 {
	t := clamp01((x - e0) / (e1 - e0))
	return t * t * (3 - 2*t)
}

func lerp3(a, b [3]float64, t float64) [3]float64 {
	return [3]float64{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t, a[2] + (b[2]-a[2])*t}
}

// hash32 mixes integer lattice coordinates with the seed (a small
// integer hash; quality is ample for texture and noise).
func hash32(x, y int32, seed uint32) uint32 {
	h := uint32(x)*0x8da6b343 ^ uint32(y)*0xd8163841 ^ seed*0xcb1ab31f
	h ^= h >> 13
	h *= 0x5bd1e995
	h ^= h >> 15
	return h
}

// valueNoise is smooth lattice noise in [0,1].
func valueNoise(x, y float64, seed uint32) float64 {
	x0, y0 := math.Floor(x), math.Floor(y)
	tx, ty := x-x0, y-y0
	tx = tx * tx * (3 - 2*tx)
	ty = ty * ty * (3 - 2*ty)
	ix, iy := int32(x0), int32(y0)
	const inv = 1.0 / 4294967295.0
	a := float64(hash32(ix, iy, seed)) * inv
	b := float64(hash32(ix+1, iy, seed)) * inv
	c := float64(hash32(ix, iy+1, seed)) * inv
	d := float64(hash32(ix+1, iy+1, seed)) * inv
	return a + (b-a)*tx + (c-a)*ty + (a-b-c+d)*tx*ty
}

// shade computes every pixel from the landmarks and maps.
func (s *scene) shade(img *image.RGBA) {
	seed := uint32(s.p.Seed) ^ uint32(s.p.Seed>>32)
	inv := 1 / s.rf
	edge := max(0.004, 1.5/s.rf) // soft edge of the field of view
	parallelRows(s.h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := img.Pix[y*img.Stride:]
			py := float64(y) + 0.5
			for x := 0; x < s.w; x++ {
				px := float64(x) + 0.5
				i := y*s.w + x
				nx, ny := (px-s.cx)*inv, (py-s.cy)*inv
				r := math.Sqrt(nx*nx + ny*ny)
				var c [3]float64
				inside := smoothstep(1+edge, 1-edge, r)
				if inside > 0 {
					c = s.fundus(px, py, r, i, seed)
					c[0] *= inside
					c[1] *= inside
					c[2] *= inside
				}
				if s.p.Noise > 0 {
					n := hash32(int32(x), int32(y), seed^0xa5a5a5a5)
					// Sum of four uniform bytes: roughly Gaussian, σ ≈ 1.
					for k := range 3 {
						b := n >> (8 * k)
						u := float64(b&0xff) + float64((b>>8)&0xff) + float64((n>>(24-8*k))&0xff)
						c[k] += (u/255 - 1.5) * 2 * s.p.Noise * (0.4 + 0.6*inside)
					}
				}
				o := row[4*x : 4*x+4 : 4*x+4]
				o[0] = to8(c[0])
				o[1] = to8(c[1])
				o[2] = to8(c[2])
				o[3] = 255
			}
		}
	})
}

func to8(v float64) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v + 0.5)
}

// fundus is the colour of the retina at pixel (px,py), r being the
// normalised distance from the field centre and i the map index.
func (s *scene) fundus(px, py, r float64, i int, seed uint32) [3]float64 {
	inv := 1 / s.rf
	// Background with radial vignetting and choroidal texture.
	rc := clamp01(r)
	c := lerp3(colCentre, colPeriphery, rc*rc*(0.75+0.25*rc))
	tx, ty := px*inv*7, py*inv*7
	t := 0.65*valueNoise(tx, ty, seed) + 0.35*valueNoise(tx*2.3, ty*2.3, seed+1)
	k := 1 + 0.10*(t-0.5)
	c[0] *= k
	c[1] *= k * (1 + 0.04*(t-0.5))
	c[2] *= k
	// Macula and fovea.
	mx, my := (px-s.fx)*inv, (py-s.fy)*inv
	if dm2 := mx*mx + my*my; dm2 < 0.25 {
		mac := math.Exp(-dm2 / (0.17 * 0.17))
		c = lerp3(c, colMacula, 0.55*mac)
		pit := math.Exp(-dm2 / (0.035 * 0.035))
		c = lerp3(c, [3]float64{96, 34, 16}, 0.45*pit)
		refl := math.Exp(-dm2 / (0.006 * 0.006))
		c[0] += 40 * refl
		c[1] += 40 * refl
		c[2] += 30 * refl
	}
	// Optic disc, rim and cup.
	ddx, ddy := (px-s.dx)/s.rx, (py-s.dy)/s.ry
	if ed := math.Sqrt(ddx*ddx + ddy*ddy); ed < 1.6 {
		aa := 1.2 / s.ry // about a pixel of antialiasing
		halo := smoothstep(1.45, 1.0, ed)
		c = lerp3(c, [3]float64{200, 120, 70}, 0.25*halo)
		disc := smoothstep(1+aa+0.04, 1-aa-0.04, ed)
		rim := colRim
		// The rim is pinker nasally and brighter at the poles.
		rim[1] -= 14 * clamp01(ddx*s.nasal)
		c = lerp3(c, rim, disc)
		cdx, cdy := (px-s.ux)/s.urx, (py-s.uy)/s.ury
		ec := math.Sqrt(cdx*cdx + cdy*cdy)
		caa := 1.2 / s.ury
		cup := smoothstep(1+caa+0.08, 1-caa-0.08, ec)
		c = lerp3(c, colCup, cup*disc)
	}
	// Vessels: veins under arteries where they cross.
	if v := s.vein[i]; v > 0 {
		f := float64(v) / 255
		c = lerp3(c, colVein, min(1, f*1.15))
	}
	if a := s.artery[i]; a > 0 {
		f := float64(a) / 255
		c = lerp3(c, colArtery, min(1, f*1.1))
		refl := smoothstep(0.98, 0.998, f) * 0.2
		c = lerp3(c, [3]float64{230, 120, 90}, refl)
	}
	if s.haem != nil {
		if h := s.haem[i]; h > 0 {
			c = lerp3(c, colHaem, float64(h)/255)
		}
		if e := s.exu[i]; e > 0 {
			c = lerp3(c, colExudate, float64(e)/255)
		}
	}
	return c
}
