package ui

import (
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/xwidget"
)

// This file turns a chart into the exam screen's trend plots: one value
// per eye and visit (encounter), the newest of the visit.

// eyeSeries are the plotted eyes: right as filled circles, left as hollow
// squares.
var eyeSeries = []struct {
	eye    lane.Eye
	name   string
	marker xwidget.Marker
}{
	{lane.EyeRight, "Right", xwidget.MarkerCircle},
	{lane.EyeLeft, "Left", xwidget.MarkerSquare},
}

// visitKey identifies one eye at one visit.
type visitKey struct {
	enc lane.EncounterID
	eye lane.Eye
}

// perVisit keeps, for each eye and visit, the point of the newest
// measurement that value accepts (ok false to skip it), and returns one
// series per eye.
func perVisit(ms []lane.Measurement, value func(lane.Measurement) (float64, bool)) []xwidget.Series {
	best := map[visitKey]lane.Measurement{}
	vals := map[visitKey]float64{}
	for _, m := range ms {
		if m.Deleted {
			continue
		}
		v, ok := value(m)
		if !ok {
			continue
		}
		k := visitKey{m.EncounterID, m.Eye}
		if prev, seen := best[k]; !seen || m.ReceivedAt.After(prev.ReceivedAt) {
			best[k], vals[k] = m, v
		}
	}
	var out []xwidget.Series
	for _, e := range eyeSeries {
		s := xwidget.Series{Name: e.name, Marker: e.marker}
		for k, m := range best {
			if k.eye == e.eye {
				s.Points = append(s.Points, xwidget.Point{At: m.ReceivedAt, Value: vals[k]})
			}
		}
		out = append(out, s)
	}
	return out
}

// iopTrend returns the pressure per eye and visit, in mmHg.
func iopTrend(c lane.Chart) []xwidget.Series {
	return perVisit(c.Measurements, func(m lane.Measurement) (float64, bool) {
		if m.Kind != lane.KindIOP || m.IOP == nil {
			return 0, false
		}
		return m.IOP.Pressure.Float(), true
	})
}

// seTrend returns the spherical equivalent of the subjective refraction
// per eye and visit, in dioptres; a visit without one contributes its
// signed prescription.
func seTrend(c lane.Chart) []xwidget.Series {
	ms := append([]lane.Measurement(nil), c.Measurements...)
	has := map[visitKey]bool{}
	for _, m := range ms {
		if m.Source == lane.SourceSubjective && m.Refraction != nil {
			has[visitKey{m.EncounterID, m.Eye}] = true
		}
	}
	for _, rx := range c.Prescriptions {
		if !rx.Signed() {
			continue
		}
		for _, e := range []struct {
			eye lane.Eye
			r   lane.Refraction
		}{{lane.EyeRight, rx.Right}, {lane.EyeLeft, rx.Left}} {
			if has[visitKey{rx.EncounterID, e.eye}] {
				continue
			}
			r := e.r
			ms = append(ms, lane.Measurement{Kind: lane.KindRefraction, Source: lane.SourceFinal, Eye: e.eye,
				EncounterID: rx.EncounterID, ReceivedAt: rx.SignedAt, Refraction: &r})
		}
	}
	return perVisit(ms, func(m lane.Measurement) (float64, bool) {
		if m.Refraction == nil || m.Kind != lane.KindRefraction {
			return 0, false
		}
		if m.Source != lane.SourceSubjective && !(m.Source == lane.SourceFinal && !has[visitKey{m.EncounterID, m.Eye}]) {
			return 0, false
		}
		return m.Refraction.SphericalEquivalent().Float(), true
	})
}

// vaTrend returns the best-corrected (or else habitual) distance acuity per
// eye and visit, in logMAR (lower is better).
func vaTrend(c lane.Chart) []xwidget.Series {
	aided := map[visitKey]bool{}
	for _, m := range c.Measurements {
		if m.VA != nil && m.VA.Aided && m.Kind == lane.KindVA {
			aided[visitKey{m.EncounterID, m.Eye}] = true
		}
	}
	return perVisit(c.Measurements, func(m lane.Measurement) (float64, bool) {
		if m.Kind != lane.KindVA || m.VA == nil || m.VA.Distance != lane.DistanceFar {
			return 0, false
		}
		if !m.VA.Aided && aided[visitKey{m.EncounterID, m.Eye}] {
			return 0, false
		}
		return m.VA.LogMAR()
	})
}
