package main

import (
	"context"
	"time"

	"github.com/examlane/examlane/cmd/internal/logging"
	"github.com/examlane/examlane/devices/simulator"
	"github.com/examlane/examlane/lane"
)

// baseline is the simulators' view of the patient in front of them: the
// open chart's values from earlier visits, read from the lane's store, so
// that demo readings sit near the patient's history (see
// simulator.Baseline). With no chart open it is empty and readings come
// from the population's range.
func (b *demoBackend) baseline() simulator.Baseline {
	pid, enc := b.svc.Active()
	if pid == "" {
		return simulator.Baseline{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := b.db.Chart(ctx, pid)
	if err != nil {
		b.log.Warn("demo baseline not read", logging.Err(err))
		return simulator.Baseline{}
	}
	return baselineOf(c, enc)
}

// baselineOf picks from chart c the values a repeat measurement should be
// near: the newest signed prescription per eye (else the newest refraction
// of an earlier visit), and the newest keratometry, pressure and distance
// PD of earlier visits. Values of the current visit (encounter cur) are
// left out, so that re-measuring does not drift; removed and pending
// readings are left out too.
func baselineOf(c lane.Chart, cur lane.EncounterID) simulator.Baseline {
	var b simulator.Baseline
	var rxAt time.Time
	for _, rx := range c.Prescriptions {
		if rx.Deleted || !rx.Signed() || !rx.SignedAt.After(rxAt) {
			continue
		}
		right, left := rx.Right, rx.Left
		b.Right, b.Left, rxAt = &right, &left, rx.SignedAt
		if rx.PD != 0 {
			b.PD = rx.PD
		}
	}
	pdFromRx := b.PD != 0
	newest := map[string]time.Time{}
	newer := func(key string, m lane.Measurement) bool {
		if m.ReceivedAt.After(newest[key]) {
			newest[key] = m.ReceivedAt
			return true
		}
		return false
	}
	for _, m := range c.Measurements {
		if m.Deleted || m.Pending || (cur != "" && m.EncounterID == cur) {
			continue
		}
		eye := string(m.Eye)
		switch {
		case m.Kind == lane.KindRefraction && m.Refraction != nil && rxAt.IsZero() && m.Refraction.Add == 0:
			if newer("rx"+eye, m) {
				r := *m.Refraction
				switch m.Eye {
				case lane.EyeRight:
					b.Right = &r
				case lane.EyeLeft:
					b.Left = &r
				}
			}
		case m.Kind == lane.KindKeratometry && m.Keratometry != nil:
			if newer("k"+eye, m) {
				k := *m.Keratometry
				switch m.Eye {
				case lane.EyeRight:
					b.KRight = &k
				case lane.EyeLeft:
					b.KLeft = &k
				}
			}
		case m.Kind == lane.KindIOP && m.IOP != nil:
			if newer("iop"+eye, m) {
				switch m.Eye {
				case lane.EyeRight:
					b.IOPRight = m.IOP.Pressure
				case lane.EyeLeft:
					b.IOPLeft = m.IOP.Pressure
				}
			}
		case m.Kind == lane.KindPD && m.PD != nil && m.Eye == lane.EyeBoth && !pdFromRx:
			if newer("pd", m) {
				b.PD = m.PD.Value
			}
		}
	}
	return b
}
