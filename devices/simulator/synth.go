package simulator

import (
	"math/rand/v2"

	"github.com/examlane/examlane/lane"
)

// Synth draws plausible, clinically sensible readings: spheres -8..+6 D and
// cylinders -3..0 D in 0.25 D steps, axes in 5° steps, adds 0.75..3.00 D,
// PDs 56..72 mm, corneal radii 7.2..8.4 mm, pressures 10..24 mmHg, central
// corneal thickness 480..620 µm. It is deterministic for a seed and not
// safe for concurrent use.
type Synth struct {
	r *rand.Rand
}

// NewSynth returns a Synth seeded with seed.
func NewSynth(seed uint64) *Synth {
	return &Synth{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// step returns lo + k·step for a random k, in thousandths.
func (s *Synth) step(lo, hi, step int) int {
	return lo + step*s.r.IntN((hi-lo)/step+1)
}

// Refraction returns a sphero-cylinder in minus cylinder form.
func (s *Synth) Refraction() lane.Refraction {
	rf := lane.Refraction{
		Sphere:   lane.Diopters(s.step(-8000, 6000, 250)),
		Cylinder: lane.Diopters(s.step(-3000, 0, 250)),
	}
	if rf.Cylinder != 0 {
		rf.Axis = lane.Axis(s.step(5, 180, 5))
	}
	return rf
}

// Near returns rf with a random add.
func (s *Synth) Near(rf lane.Refraction) lane.Refraction {
	rf.Add = lane.Diopters(s.step(750, 3000, 250))
	return rf
}

// Prism returns a small rectangular prism (or none, half of the time).
func (s *Synth) Prism() lane.Prism {
	if s.r.IntN(2) == 0 {
		return lane.Prism{}
	}
	p := lane.Prism{H: lane.PrismDiopters(s.step(250, 3000, 250)), HBase: lane.BaseIn}
	if s.r.IntN(2) == 0 {
		p.HBase = lane.BaseOut
	}
	if s.r.IntN(2) == 0 {
		p.V, p.VBase = lane.PrismDiopters(s.step(250, 2000, 250)), lane.BaseUp
		if s.r.IntN(2) == 0 {
			p.VBase = lane.BaseDown
		}
	}
	return p
}

// Pair returns right and left refractions that differ by at most 1.5 D
// sphere (anisometropia beyond that is unusual).
func (s *Synth) Pair() (r, l lane.Refraction) {
	r = s.Refraction()
	l = s.Refraction()
	l.Sphere = r.Sphere + lane.Diopters(s.step(-1500, 1500, 250))
	l.Sphere = min(max(l.Sphere, -10000), 8000)
	return r, l
}

// PD returns a binocular distance PD in 0.5 mm steps.
func (s *Synth) PD() lane.Millimeters { return lane.Millimeters(s.step(5600, 7200, 50)) }

// Keratometry returns a reading with K2 steeper than K1, axes
// perpendicular.
func (s *Synth) Keratometry() lane.Keratometry {
	r1 := s.step(740, 840, 1) // hundredths of a mm
	r2 := r1 - s.step(0, 40, 1)
	ax := s.step(1, 180, 1)
	ax2 := (ax+89)%180 + 1
	return lane.Keratometry{
		K1: lane.KMeridian{Radius: lane.Millimeters(r1), Power: kPower(r1), Axis: lane.Axis(ax)},
		K2: lane.KMeridian{Radius: lane.Millimeters(r2), Power: kPower(r2), Axis: lane.Axis(ax2)},
	}
}

// kPower is the keratometric power (n = 1.3375) of a radius in hundredths
// of a mm, rounded to 0.25 D as instruments display it.
func kPower(r int) lane.Diopters {
	d := 33750000 / r // 337.5 / (r/100 mm) D, in thousandths
	return lane.Diopters((d + 125) / 250 * 250)
}

// IOP returns a pressure in whole mmHg.
func (s *Synth) IOP() lane.MmHg { return lane.MmHg(s.step(100, 240, 10)) }

// CCT returns a central corneal thickness.
func (s *Synth) CCT() lane.Micrometers { return lane.Micrometers(s.step(480, 620, 1)) }

// Bytes returns n random bytes none of which is in avoid.
func (s *Synth) Bytes(n int, avoid ...byte) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		b := byte(s.r.IntN(256))
		ok := true
		for _, a := range avoid {
			if b == a {
				ok = false
			}
		}
		if ok {
			out = append(out, b)
		}
	}
	return out
}

// IntN returns a random int in [0, n).
func (s *Synth) IntN(n int) int { return s.r.IntN(n) }
