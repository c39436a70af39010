package main

import (
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
)

// TestBaselineOf: the demo's simulators are told the patient's last signed
// prescription (else their last refraction) and last keratometry, pressure
// and PD, from earlier visits only, never pending or removed readings.
func TestBaselineOf(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2025, 1, d, 10, 0, 0, 0, time.UTC) }
	rf := func(s float64) *lane.Refraction { return &lane.Refraction{Sphere: lane.MustDiopters(s)} }
	meas := func(enc string, at int, eye lane.Eye, k lane.Kind, set func(*lane.Measurement)) lane.Measurement {
		m := lane.Measurement{EncounterID: lane.EncounterID(enc), ReceivedAt: day(at), Eye: eye, Kind: k}
		set(&m)
		return m
	}
	ref := func(s float64) func(*lane.Measurement) { return func(m *lane.Measurement) { m.Refraction = rf(s) } }
	iop := func(p lane.MmHg) func(*lane.Measurement) {
		return func(m *lane.Measurement) { m.IOP = &lane.IOP{Pressure: p} }
	}
	old := []lane.Measurement{
		meas("e1", 1, lane.EyeRight, lane.KindRefraction, ref(-1)),
		meas("e2", 5, lane.EyeRight, lane.KindRefraction, ref(-1.5)),
		meas("e2", 5, lane.EyeLeft, lane.KindRefraction, ref(-2)),
		meas("e2", 5, lane.EyeRight, lane.KindIOP, iop(150)),
		meas("e1", 1, lane.EyeRight, lane.KindIOP, iop(210)),
		meas("e2", 5, lane.EyeLeft, lane.KindIOP, iop(170)),
		meas("e2", 5, lane.EyeRight, lane.KindKeratometry, func(m *lane.Measurement) {
			m.Keratometry = &lane.Keratometry{K1: lane.KMeridian{Radius: 780, Axis: 10}}
		}),
		meas("e2", 5, lane.EyeBoth, lane.KindPD, func(m *lane.Measurement) { m.PD = &lane.PD{Value: 6250} }),
	}
	current := []lane.Measurement{ // today's visit, e3: must not count
		meas("e3", 9, lane.EyeRight, lane.KindRefraction, ref(-6)),
		meas("e3", 9, lane.EyeRight, lane.KindIOP, iop(300)),
	}
	removed := meas("e2", 6, lane.EyeLeft, lane.KindIOP, iop(400))
	removed.Deleted = true
	pending := meas("e2", 6, lane.EyeRight, lane.KindIOP, iop(400))
	pending.Pending = true
	signed := lane.SpectacleRx{Right: *rf(-1.25), Left: *rf(-1.75), PD: 6400, SignedAt: day(4)}
	newerDraft := lane.SpectacleRx{Right: *rf(-9), Left: *rf(-9)} // unsigned
	older := lane.SpectacleRx{Right: *rf(-0.5), Left: *rf(-0.5), SignedAt: day(2)}

	tests := []struct {
		name        string
		chart       lane.Chart
		right, left lane.Diopters // 0: no refraction expected
		iopR, iopL  lane.MmHg
		pd          lane.Millimeters
	}{
		{"no history", lane.Chart{}, 0, 0, 0, 0, 0},
		{"measurements only", lane.Chart{Measurements: append(append(append([]lane.Measurement{}, old...), current...), removed, pending)},
			-1500, -2000, 150, 170, 6250},
		{"signed Rx wins over refractions", lane.Chart{Prescriptions: []lane.SpectacleRx{older, signed, newerDraft}, Measurements: old},
			-1250, -1750, 150, 170, 6400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := baselineOf(tt.chart, "e3")
			sph := func(r *lane.Refraction) lane.Diopters {
				if r == nil {
					return 0
				}
				return r.Sphere
			}
			if sph(b.Right) != tt.right || sph(b.Left) != tt.left {
				t.Errorf("refraction R %v L %v, want %v %v", sph(b.Right), sph(b.Left), tt.right, tt.left)
			}
			if b.IOPRight != tt.iopR || b.IOPLeft != tt.iopL {
				t.Errorf("IOP R %v L %v, want %v %v", b.IOPRight, b.IOPLeft, tt.iopR, tt.iopL)
			}
			if b.PD != tt.pd {
				t.Errorf("PD %v, want %v", b.PD, tt.pd)
			}
			if (b.KRight != nil) != (len(tt.chart.Measurements) > 0) {
				t.Errorf("keratometry %+v", b.KRight)
			}
		})
	}
}
