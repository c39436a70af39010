package ui

import (
	"fmt"
	"time"

	"github.com/examlane/examlane/lane"
)

// Thresholds above which a new reading is flagged on the pretest screen as
// differing markedly from the same reading at the last visit. A flag asks
// the technician to look again (re-take, or check the patient and the
// instrument); it never blocks a reading. The change must be strictly
// greater than the threshold:
//
//   - refraction (autorefraction, lensometry, subjective): spherical
//     equivalent (sphere + cylinder/2) changed by more than 0.75 D, or
//     cylinder (compared in minus-cylinder form) by more than 0.75 D;
//   - IOP: more than 5 mmHg;
//   - keratometry: either principal meridian's power (K1 or K2) by more
//     than 1.00 D.
//
// The same kind, eye and source are compared (an autorefraction with the
// last autorefraction), with the newest such value from an earlier
// encounter.
const (
	flagSphericalEquivalent lane.Diopters = 750
	flagCylinder            lane.Diopters = 750
	flagIOP                 lane.MmHg     = 50
	flagKeratometry         lane.Diopters = 1000
)

// lastVisitFlags compares m with the newest comparable measurement of an
// earlier encounter in ms and returns a sentence for each threshold it
// exceeds; nil when none is exceeded or there is nothing to compare with.
func lastVisitFlags(m lane.Measurement, ms []lane.Measurement, tz *time.Location) []string {
	prev, ok := previousReading(m, ms)
	if !ok {
		return nil
	}
	when := "since " + dateText(prev.ReceivedAt, tz)
	var out []string
	switch {
	case m.Refraction != nil && prev.Refraction != nil:
		a, b := m.Refraction.ToMinusCylinder(), prev.Refraction.ToMinusCylinder()
		if d := a.SphericalEquivalent() - b.SphericalEquivalent(); d.Abs() > flagSphericalEquivalent {
			out = append(out, fmt.Sprintf("SE %s D %s (more than %s D)", d, when, flagSphericalEquivalent.Abs().String()[1:]))
		}
		if d := a.Cylinder - b.Cylinder; d.Abs() > flagCylinder {
			out = append(out, fmt.Sprintf("Cylinder %s D %s (more than %s D)", d, when, flagCylinder.Abs().String()[1:]))
		}
	case m.IOP != nil && prev.IOP != nil:
		if d := m.IOP.Pressure - prev.IOP.Pressure; abs(d) > flagIOP {
			out = append(out, fmt.Sprintf("IOP %s%s mmHg %s (more than %s mmHg)", sign(int(d)), abs(d), when, flagIOP))
		}
	case m.Keratometry != nil && prev.Keratometry != nil:
		for _, k := range []struct {
			name string
			a, b lane.Diopters
		}{
			{"K1", m.Keratometry.K1.Power, prev.Keratometry.K1.Power},
			{"K2", m.Keratometry.K2.Power, prev.Keratometry.K2.Power},
		} {
			if d := k.a - k.b; k.a != 0 && k.b != 0 && d.Abs() > flagKeratometry {
				out = append(out, fmt.Sprintf("%s %s D %s (more than %s D)", k.name, d, when, flagKeratometry.Abs().String()[1:]))
			}
		}
	}
	return out
}

// previousReading returns the newest measurement in ms of the same kind,
// eye and source as m, from another encounter, received before m.
func previousReading(m lane.Measurement, ms []lane.Measurement) (lane.Measurement, bool) {
	var best lane.Measurement
	found := false
	for _, x := range ms {
		if x.ID == m.ID || x.Kind != m.Kind || x.Eye != m.Eye || x.Source != m.Source ||
			x.EncounterID == m.EncounterID || x.Deleted || !x.ReceivedAt.Before(m.ReceivedAt) {
			continue
		}
		if !found || x.ReceivedAt.After(best.ReceivedAt) ||
			(x.ReceivedAt.Equal(best.ReceivedAt) && x.Representative && !best.Representative) {
			best, found = x, true
		}
	}
	return best, found
}

// abs returns the magnitude of a pressure.
func abs(p lane.MmHg) lane.MmHg {
	if p < 0 {
		return -p
	}
	return p
}

// sign returns "+" for a positive number and "-" for a negative one.
func sign(v int) string {
	switch {
	case v > 0:
		return "+"
	case v < 0:
		return "-"
	}
	return ""
}
