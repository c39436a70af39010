package simulator

import "github.com/examlane/examlane/lane"

// Baseline is what a simulated instrument knows of the patient in front of
// it: their values from earlier visits. Readings are then drawn near them,
// as a real instrument would measure the same eyes again, instead of from
// the whole population's range, so that trends and last-visit comparisons
// look clinically sensible. A nil or zero field is unknown: that value is
// drawn from the population's range as without a baseline.
type Baseline struct {
	// Right and Left are the last prescription (or refraction) of each
	// eye. A lensmeter reads them back exactly (the patient's glasses were
	// made to them); autorefractors and phoropters read near them.
	Right, Left *lane.Refraction
	// KRight and KLeft are the last keratometry of each eye.
	KRight, KLeft *lane.Keratometry
	// IOPRight and IOPLeft are the last pressures.
	IOPRight, IOPLeft lane.MmHg
	// PD is the last binocular distance PD.
	PD lane.Millimeters
}

// Near offsets of a repeat measurement from a baseline: sphere within
// ±0.50 D, cylinder within ±0.25 D (staying minus), axis within ±10°,
// corneal radius within ±0.03 mm and its axis within ±5°, pressure within
// ±2 mmHg, PD within ±0.5 mm.
const (
	nearSphere   = 500
	nearCylinder = 250
	nearAxis     = 10
	nearRadius   = 3 // hundredths of a mm
	nearKAxis    = 5
	nearIOP      = 20 // tenths of a mmHg
	nearPD       = 50 // hundredths of a mm
)

// RefractionNear returns a refraction a repeat measurement of an eye whose
// last refraction was base could give: in minus cylinder form, in 0.25 D
// steps, within ±0.50 D sphere, ±0.25 D cylinder and ±10° axis of base,
// keeping its add.
func (s *Synth) RefractionNear(base lane.Refraction) lane.Refraction {
	b := base.ToMinusCylinder().Rounded(lane.QuarterDiopter)
	rf := lane.Refraction{
		Sphere:   b.Sphere + lane.Diopters(s.step(-nearSphere, nearSphere, 250)),
		Cylinder: min(0, b.Cylinder+lane.Diopters(s.step(-nearCylinder, nearCylinder, 250))),
		Add:      b.Add,
	}
	rf.Sphere = min(max(rf.Sphere, -20000), 20000)
	if rf.Cylinder != 0 {
		ax := int(b.Axis)
		if ax == 0 {
			ax = s.step(5, 180, 5)
		}
		rf.Axis = wrapAxis(ax + s.step(-nearAxis, nearAxis, 5))
	}
	return rf
}

// PairNear returns a repeat refraction of both eyes; an eye without a base
// gets one drawn from the population (see Pair).
func (s *Synth) PairNear(b Baseline) (r, l lane.Refraction) {
	switch {
	case b.Right != nil && b.Left != nil:
		return s.RefractionNear(*b.Right), s.RefractionNear(*b.Left)
	case b.Right != nil:
		r = s.RefractionNear(*b.Right)
		_, l = s.Pair()
		return r, l
	case b.Left != nil:
		r, _ = s.Pair()
		return r, s.RefractionNear(*b.Left)
	}
	return s.Pair()
}

// KeratometryNear returns a repeat keratometry of a cornea last measured
// as base: radii within ±0.03 mm, the flat axis within ±5°, the steep one
// perpendicular to it.
func (s *Synth) KeratometryNear(base lane.Keratometry) lane.Keratometry {
	r1 := min(max(int(base.K1.Radius)+s.step(-nearRadius, nearRadius, 1), 600), 1000)
	r2 := min(max(int(base.K2.Radius)+s.step(-nearRadius, nearRadius, 1), 600), 1000)
	ax := int(base.K1.Axis)
	if ax == 0 {
		ax = s.step(1, 180, 1)
	}
	ax = int(wrapAxis(ax + s.step(-nearKAxis, nearKAxis, 1)))
	ax2 := (ax+89)%180 + 1
	return lane.Keratometry{
		K1:    lane.KMeridian{Radius: lane.Millimeters(r1), Power: kPower(r1), Axis: lane.Axis(ax)},
		K2:    lane.KMeridian{Radius: lane.Millimeters(r2), Power: kPower(r2), Axis: lane.Axis(ax2)},
		Index: base.Index,
	}
}

// IOPNear returns a pressure in whole mmHg within ±2 mmHg of base.
func (s *Synth) IOPNear(base lane.MmHg) lane.MmHg {
	p := (int(base) + 5) / 10 * 10
	return lane.MmHg(min(max(p+s.step(-nearIOP, nearIOP, 10), 50), 600))
}

// PDNear returns a binocular PD within ±0.5 mm of base, in 0.5 mm steps.
func (s *Synth) PDNear(base lane.Millimeters) lane.Millimeters {
	p := (int(base) + 25) / 50 * 50
	return lane.Millimeters(min(max(p+s.step(-nearPD, nearPD, 50), 4000), 8500))
}

// wrapAxis brings an axis in degrees into 1..180.
func wrapAxis(deg int) lane.Axis {
	deg %= 180
	if deg <= 0 {
		deg += 180
	}
	return lane.Axis(deg)
}
