package synth

import (
	"math"
)

// segment is one tapered piece of vessel, in pixel coordinates.
type segment struct {
	x0, y0, x1, y1 float64
	r0, r1         float64 // radii in pixels at each end
	vein           bool
}

// lesion is one round spot, in pixel coordinates.
type lesion struct {
	x, y, r float64
	exudate bool
}

// tree is how one major vessel leaves the disc. Angles are in degrees with
// 0 temporal, -90 up and +90 down; radius is in field-of-view units.
type tree struct {
	start, target, rate float64
	radius              float64
	maxLen              float64
}

var arteryTrees = []tree{
	{start: -80, target: 6, rate: 2.0, radius: 0.0078, maxLen: 1.7},   // superotemporal
	{start: 82, target: -6, rate: 2.0, radius: 0.0078, maxLen: 1.7},   // inferotemporal
	{start: -115, target: -155, rate: 1.6, radius: 0.0062, maxLen: 1}, // superonasal
	{start: 112, target: 158, rate: 1.6, radius: 0.0060, maxLen: 1},   // inferonasal
	{start: -8, target: -2, rate: 1, radius: 0.0030, maxLen: 0.45},    // small macular branch
	{start: 176, target: 180, rate: 1, radius: 0.0036, maxLen: 0.6},   // nasal
}

var veinTrees = []tree{
	{start: -74, target: 8, rate: 1.9, radius: 0.0105, maxLen: 1.7},
	{start: 76, target: -8, rate: 1.9, radius: 0.0105, maxLen: 1.7},
	{start: -122, target: -160, rate: 1.5, radius: 0.0082, maxLen: 1},
	{start: 120, target: 162, rate: 1.5, radius: 0.0080, maxLen: 1},
	{start: 12, target: 4, rate: 1, radius: 0.0036, maxLen: 0.45},
	{start: -178, target: -176, rate: 1, radius: 0.0044, maxLen: 0.6},
}

const deg = math.Pi / 180

// growVessels builds the artery and vein trees from the disc.
func (s *scene) growVessels() {
	minR := max(0.0016*s.rf, 0.45)
	// Vessels emerge at the cup margin in the direction they leave, veins
	// a little temporal of their arteries.
	origin := func(a float64, shift float64) (float64, float64) {
		return s.ux - s.nasal*(math.Cos(a)*0.75*s.urx-shift*s.urx), s.uy + math.Sin(a)*0.75*s.ury
	}
	for _, t := range arteryTrees {
		x, y := origin(t.start*deg, -0.1)
		s.grow(false, x, y, t.start*deg, t.target*deg, t.rate, t.radius*s.rf, minR, t.maxLen*s.rf, 0)
	}
	for _, t := range veinTrees {
		x, y := origin(t.start*deg, 0.15)
		s.grow(true, x, y, t.start*deg, t.target*deg, t.rate, t.radius*s.rf, minR, t.maxLen*s.rf, 0)
	}
	// A few small vessels at seeded angles, leaving from the disc margin.
	for i := range 6 {
		a := (s.rng.Float64()*2 - 1) * math.Pi
		x := s.dx - s.nasal*math.Cos(a)*s.rx*0.8
		y := s.dy + math.Sin(a)*s.ry*0.8
		s.grow(i%2 == 1, x, y, a, a, 0.5, (0.0025+0.0015*s.rng.Float64())*s.rf, minR, 0.5*s.rf, 3)
	}
}

// grow walks one vessel from (x,y) with heading theta, steering towards
// target at rate (per field radius), wandering smoothly, tapering and
// branching as it goes.
func (s *scene) grow(vein bool, x, y, theta, target, rate, r, minR, maxLen float64, depth int) {
	tdir := -s.nasal // image x sign of "temporal"
	step := max(0.010*s.rf, 0.7)
	ds := step / s.rf // step in field units
	length := 0.0
	omega := 0.0 // wander: a slowly varying turn rate (radians per field unit)
	for r >= minR && length < maxLen {
		omega = omega*math.Exp(-12*ds) + s.rng.NormFloat64()*2.2*math.Sqrt(ds)
		theta += ((target-theta)*rate + omega) * ds
		nx := x + tdir*math.Cos(theta)*step
		ny := y + math.Sin(theta)*step
		// Taper: about 40% of the calibre is lost per field radius.
		nr := r * math.Exp(-0.5*ds)
		s.vessels = append(s.vessels, segment{x, y, nx, ny, r, nr, vein})
		x, y, r = nx, ny, nr
		length += step
		if dx, dy := (x-s.cx)/s.rf, (y-s.cy)/s.rf; dx*dx+dy*dy > 1.03 {
			return
		}
		// Branch: the child takes a share of the calibre (Murray's law:
		// r³ = r1³ + r2³) and leaves at 30–65°, then heads away from the
		// disc like real branches do.
		if depth < 5 && r > 2.5*minR && length > 0.08*s.rf && s.rng.Float64() < 3.2*ds {
			share := 0.72 + 0.2*s.rng.Float64() // parent's share of the radius
			rc := r * math.Cbrt(1-share*share*share)
			r *= share * 1.05
			side := 1.0
			if s.rng.IntN(2) == 0 {
				side = -1
			}
			ct := theta + side*(30+35*s.rng.Float64())*deg
			// Radial heading from the disc, in the tree's angle convention.
			radial := math.Atan2(y-s.dy, (x-s.dx)*tdir)
			for radial-ct > math.Pi {
				radial -= 2 * math.Pi
			}
			for ct-radial > math.Pi {
				radial += 2 * math.Pi
			}
			ctarget := 0.5*ct + 0.5*radial
			s.grow(vein, x, y, ct, ctarget, 2, rc, minR, (maxLen-length)*0.9, depth+1)
			// The parent bends slightly away from its branch.
			theta -= side * 5 * deg
		}
	}
}

// placeLesions scatters dot haemorrhages and clusters of hard exudates.
func (s *scene) placeLesions() {
	nh := 6 + s.rng.IntN(8)
	for range nh {
		var x, y float64
		for {
			a := s.rng.Float64() * 2 * math.Pi
			d := (0.15 + 0.65*s.rng.Float64()) * s.rf
			x, y = s.cx+d*math.Cos(a), s.cy+d*math.Sin(a)
			if math.Hypot(x-s.dx, y-s.dy) > 2*s.ry {
				break
			}
		}
		r := (0.006 + 0.012*s.rng.Float64()) * s.rf
		// A blot of two or three overlapping dots.
		for range 1 + s.rng.IntN(3) {
			s.lesions = append(s.lesions, lesion{x + (s.rng.Float64()-0.5)*r, y + (s.rng.Float64()-0.5)*r, r * (0.6 + 0.4*s.rng.Float64()), false})
		}
	}
	for range 2 + s.rng.IntN(2) {
		a := s.rng.Float64() * 2 * math.Pi
		d := (0.12 + 0.18*s.rng.Float64()) * s.rf
		x, y := s.fx+d*math.Cos(a), s.fy+d*math.Sin(a)
		for range 5 + s.rng.IntN(8) {
			r := (0.003 + 0.005*s.rng.Float64()) * s.rf
			s.lesions = append(s.lesions, lesion{x + s.rng.NormFloat64()*0.025*s.rf, y + s.rng.NormFloat64()*0.025*s.rf, r, true})
		}
	}
}

// rasteriseVessels draws every segment as a tapered capsule into the
// artery and vein maps (maximum of overlapping profiles).
func (s *scene) rasteriseVessels() {
	s.artery = make([]uint8, s.w*s.h)
	s.vein = make([]uint8, s.w*s.h)
	for _, g := range s.vessels {
		m := s.artery
		if g.vein {
			m = s.vein
		}
		s.capsule(m, g)
	}
}

// capsule rasterises one segment with a cylindrical absorption profile and
// about one pixel of antialiasing.
func (s *scene) capsule(m []uint8, g segment) {
	rmax := max(g.r0, g.r1) + 1
	xa := max(0, int(math.Floor(min(g.x0, g.x1)-rmax)))
	xb := min(s.w-1, int(math.Ceil(max(g.x0, g.x1)+rmax)))
	ya := max(0, int(math.Floor(min(g.y0, g.y1)-rmax)))
	yb := min(s.h-1, int(math.Ceil(max(g.y0, g.y1)+rmax)))
	vx, vy := g.x1-g.x0, g.y1-g.y0
	l2 := vx*vx + vy*vy
	for y := ya; y <= yb; y++ {
		py := float64(y) + 0.5
		row := m[y*s.w:]
		for x := xa; x <= xb; x++ {
			px := float64(x) + 0.5
			t := 0.0
			if l2 > 0 {
				t = max(0, min(1, ((px-g.x0)*vx+(py-g.y0)*vy)/l2))
			}
			qx, qy := g.x0+t*vx-px, g.y0+t*vy-py
			d := math.Sqrt(qx*qx + qy*qy)
			r := g.r0 + (g.r1-g.r0)*t
			var v float64
			if r >= 0.5 {
				if d >= r+0.5 {
					continue
				}
				u := d / (r + 0.5)
				core := math.Sqrt(max(0, 1-u*u))
				v = clamp01(r+0.5-d) * (0.55 + 0.45*core)
			} else {
				v = clamp01(1-d) * 1.8 * r
			}
			if b := uint8(v*255 + 0.5); b > row[x] {
				row[x] = b
			}
		}
	}
}

// rasteriseLesions draws the lesions with soft edges.
func (s *scene) rasteriseLesions() {
	if len(s.lesions) == 0 {
		return
	}
	s.haem = make([]uint8, s.w*s.h)
	s.exu = make([]uint8, s.w*s.h)
	for _, l := range s.lesions {
		m := s.haem
		if l.exudate {
			m = s.exu
		}
		s.capsule(m, segment{x0: l.x, y0: l.y, x1: l.x, y1: l.y, r0: l.r, r1: l.r})
	}
}
