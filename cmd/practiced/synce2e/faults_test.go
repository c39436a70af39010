package synce2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/examlane/examlane/cmd/practiced/server"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient/fhir"
)

// scenario is a lane that pulled a seeded chart and then queued a morning's
// changes: a new encounter with twenty readings and two note edits, a
// demographic edit of a server-born patient, a prescription, a deleted
// seeded reading, and a walk-in patient created on the lane with an
// encounter and readings of their own.
type scenario struct {
	p       *practice
	l       *laneRig
	patient lane.Patient
	enc     lane.Encounter
	walkIn  lane.Patient
	gone    []string // Type/serverID deleted by the lane
}

// newScenario starts a seeded practiced and a lane with lo, pulls (and
// delivers the audit events of the pull), then queues the changes, so that
// a fault injected next strikes them. beforePull runs before the first pull
// (e.g. to book an appointment on the lane's day).
func newScenario(t *testing.T, lo laneOptions, beforePull func(p *practice, l *laneRig)) *scenario {
	t.Helper()
	p := startPractice(t, practiceOptions{seed: &smallSeed})
	l := p.newLane(t, "Lane 1", lo)
	if beforePull != nil {
		beforePull(p, l)
	}
	l.drain(3, nil)
	s := &scenario{p: p, l: l}
	appts := l.schedule()
	if len(appts) == 0 {
		t.Fatal("the lane pulled no appointments for its day")
	}
	ap := appts[0]
	pt, err := l.db.GetPatient(bg, ap.PatientID)
	if err != nil {
		t.Fatal(err)
	}
	now := l.cfg.Clock.Now()
	// A new encounter for today's visit, with readings and note edits.
	s.enc = l.save(l.tech, lane.Encounter{PatientID: pt.ID, AppointmentID: ap.ID, Status: lane.EncPretest, Start: now,
		Location: ap.Location, Lane: l.name, Clinician: l.optom.User, ChiefComplaint: "blurred distance vision"}).(lane.Encounter)
	for i := 0; i < 20; i++ {
		l.save(l.tech, measurement(pt.ID, s.enc.ID, now, i))
	}
	s.enc.History = "no ocular history"
	s.enc = l.save(l.optom, s.enc).(lane.Encounter)
	s.enc.Status, s.enc.Assessment, s.enc.Plan = lane.EncExam, "myopia, stable", "update spectacles"
	s.enc = l.save(l.optom, s.enc).(lane.Encounter)
	l.save(l.optom, lane.SpectacleRx{PatientID: pt.ID, EncounterID: s.enc.ID, Right: lane.Refraction{Sphere: -1250, Cylinder: -50, Axis: 90},
		Left: lane.Refraction{Sphere: -1000}, PD: 6300, Issued: lane.DateOf(now), Prescriber: l.optom.User})
	// A server-born patient's phone changes.
	pt.Phone = "+1 555 0100"
	s.patient = l.save(l.tech, pt).(lane.Patient)
	// A seeded reading entered in error.
	ch, err := l.db.Chart(bg, pt.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ch.Measurements {
		if m.EncounterID != s.enc.ID {
			by := l.tech
			by.Reason = "entered in error"
			if err := l.db.DeleteMeasurement(bg, by, m.ID, m.Version); err != nil {
				t.Fatal(err)
			}
			sid, _, _ := l.db.ServerRef(bg, lane.EntityMeasurement, string(m.ID))
			s.gone = append(s.gone, "Observation/"+sid)
			break
		}
	}
	if len(s.gone) == 0 {
		t.Fatal("the seeded chart has no reading to delete")
	}
	// A walk-in registered on the lane.
	s.walkIn = l.save(l.tech, lane.Patient{MRN: "E2E-WALKIN-1", Name: lane.Name{Family: "Walkin", Given: []string{"Synthetic"}},
		BirthDate: lane.Date{Year: 1990, Month: 5, Day: 17}, Sex: lane.SexUnknown}).(lane.Patient)
	wenc := l.save(l.tech, lane.Encounter{PatientID: s.walkIn.ID, Status: lane.EncPretest, Start: now, Location: ap.Location,
		Lane: l.name, Clinician: l.optom.User, ChiefComplaint: "new spectacles"}).(lane.Encounter)
	for i := 0; i < 3; i++ {
		l.save(l.tech, measurement(s.walkIn.ID, wenc.ID, now, 100+i))
	}
	return s
}

// check is the scenario's acceptance check.
func (s *scenario) check(t *testing.T) {
	t.Helper()
	checkDelivered(t, s.p, s.l, checkOptions{gone: s.gone})
}

// TestFaults: for each way the server or the network fails, the queued
// changes reach practiced exactly once and the outbox drains. Each case
// injects its fault through practiced's Faults knobs, triggered from the
// server's request log so that it strikes in the middle of the push.
func TestFaults(t *testing.T) {
	timeout := time.Duration(slowdown) * 400 * time.Millisecond
	tests := []struct {
		name string
		// arm sets the fault up once the scenario is queued; it may
		// install a request hook (n counts successful writes).
		arm func(f *server.Faults, n *atomic.Int64) func(method, path string, status int)
		// before runs ahead of drain attempt i (e.g. to end an outage).
		before func(f *server.Faults, i int)
		// wantFailures is the least number of failed cycles the fault
		// must cause (a fault that never struck proves nothing).
		wantFailures int
		// struck checks, from practiced's answers by status, that a fault
		// which fails no cycle did strike.
		struck func(statuses map[int]int) bool
	}{
		{
			name: "down mid-push",
			arm: func(f *server.Faults, n *atomic.Int64) func(string, string, int) {
				return func(method, path string, status int) {
					if isWrite(method) && status < 300 && n.Add(1) == 2 {
						f.SetDown(true)
					}
				}
			},
			before: func(f *server.Faults, i int) {
				if i == 3 {
					f.SetDown(false)
				}
			},
			wantFailures: 3,
		},
		{
			name: "500s",
			arm: func(f *server.Faults, n *atomic.Int64) func(string, string, int) {
				return func(method, path string, status int) {
					if isWrite(method) && status < 300 && n.Add(1) < 12 {
						f.FailNext(1) // the request after every successful write
					}
				}
			},
			wantFailures: 3,
		},
		{
			name: "slow past the timeout",
			arm: func(f *server.Faults, n *atomic.Int64) func(string, string, int) {
				return func(method, path string, status int) {
					if isWrite(method) && status < 300 && n.Add(1) == 2 {
						f.SetDelay(3 * timeout)
					}
				}
			},
			before: func(f *server.Faults, i int) {
				if i == 3 {
					f.SetDelay(0)
				}
			},
			wantFailures: 3,
		},
		{
			// The server starts each request just before the lane gives
			// up: some commit after the lane stopped listening.
			name: "slow near the timeout",
			arm: func(f *server.Faults, n *atomic.Int64) func(string, string, int) {
				f.SetDelay(timeout - 15*time.Millisecond)
				return nil
			},
			before: func(f *server.Faults, i int) {
				if i == 6 {
					f.SetDelay(0)
				}
			},
			wantFailures: 1,
		},
		{
			name: "cut after commit",
			arm: func(f *server.Faults, n *atomic.Int64) func(string, string, int) {
				f.CutNext(1)
				return func(method, path string, status int) {
					if isWrite(method) && status < 300 && n.Add(1) < 20 {
						f.CutNext(1) // the write after every successful one
					}
				}
			},
			wantFailures: 4,
		},
		{
			name: "duplicate delivery",
			arm: func(f *server.Faults, n *atomic.Int64) func(string, string, int) {
				f.DuplicateNext(1000)
				f.DuplicateEntries(true)
				return nil
			},
			// The second delivery of an update meets its own first one:
			// 412, which the lane must recognise as its landed change.
			struck: func(st map[int]int) bool { return st[http.StatusPreconditionFailed] > 0 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScenario(t, laneOptions{timeout: timeout, images: true}, nil)
			f := s.p.srv.Faults
			var n atomic.Int64
			var mu sync.Mutex
			if hook := tt.arm(f, &n); hook != nil {
				s.p.log.setHook(func(method, path string, status int) {
					mu.Lock()
					defer mu.Unlock()
					hook(method, path, status)
				})
			}
			failed := s.l.drain(40, func(i int) {
				if tt.before != nil {
					tt.before(f, i)
				}
			})
			s.p.log.setHook(nil)
			f.Reset()
			if failed < tt.wantFailures {
				t.Errorf("the fault failed %d cycles, want at least %d: it did not strike", failed, tt.wantFailures)
			}
			if tt.struck != nil && !tt.struck(s.p.log.statuses()) {
				t.Errorf("the fault did not strike: practiced answered %v", s.p.log.statuses())
			}
			s.l.sync() // a clean cycle after the faults: pull what the server holds now
			s.check(t)
			t.Logf("%d failed cycles; server answers by status %v", failed, s.p.log.statuses())
			for _, e := range s.p.log.internalErrors() {
				t.Logf("practiced internal error: %s", e)
			}
		})
	}
}

func isWrite(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodDelete
}

// TestServerDownAtStart runs the lane's real loop (Client.Run with an
// injected clock that skips back-off waits) against a practiced that is
// down when the lane starts: the status says offline in words, and once
// the server is back everything queued is delivered.
func TestServerDownAtStart(t *testing.T) {
	s := newScenario(t, laneOptions{}, nil)
	f := s.p.srv.Faults
	f.SetDown(true)
	s.l.clock.SetAutoAdvance(true)
	start := s.l.clock.Now()

	ctx, cancel := context.WithCancel(bg)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.l.client.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	defer func() { cancel(); wg.Wait() }()
	ch, stop := s.l.client.Subscribe()
	defer stop()

	limit := time.After(60 * time.Second)
	failures := 0
	var offline string
	for done := false; !done; {
		select {
		case st := <-ch:
			switch {
			case offline == "" && !st.Online && st.LastError != "":
				failures++
				if failures == 4 { // several cycles have failed: bring it back
					offline = st.LastError
					if st.Queued == 0 {
						t.Errorf("status while offline says nothing is queued")
					}
					f.SetDown(false)
				}
			case offline != "" && st.Online && st.Queued == 0 && st.LastError == "":
				if n, _ := s.l.db.PendingCount(bg); n == 0 {
					done = true
				}
			}
		case <-limit:
			t.Fatalf("not drained; status %+v", s.l.client.Status())
		}
	}
	cancel()
	wg.Wait()
	if !humaneError(offline) {
		t.Errorf("offline status %q is not words for a person", offline)
	}
	t.Logf("offline status: %q; lane time waited %s", offline, s.l.clock.Now().Sub(start).Round(time.Second))
	if waited := s.l.clock.Now().Sub(start); waited < 5*time.Second {
		t.Errorf("the loop retried for only %s of lane time: no back-off", waited)
	}
	s.l.clock.SetAutoAdvance(false)
	s.l.sync()
	s.check(t)
}

// TestClockSkew: the lane's clock is hours off the server's. Watermarks are
// the server's time, so a change made on the server after the lane's
// first pull is not missed, and the lane's changes arrive exactly once.
func TestClockSkew(t *testing.T) {
	for _, skew := range []time.Duration{-5 * time.Hour, 7 * time.Hour} {
		t.Run(skew.String(), func(t *testing.T) {
			lo := laneOptions{now: time.Now().UTC().Add(skew).Truncate(time.Millisecond)}
			s := newScenario(t, lo, func(p *practice, l *laneRig) {
				// A visit on the lane's day (which may not be the
				// server's): the practice books a seeded patient.
				pats := p.search("Patient", url.Values{})
				var h resourceHead
				must(t, json.Unmarshal(pats[0], &h))
				start := l.today(12, 0)
				a := fhir.Mapper{}.Appointment(lane.Appointment{PatientID: lane.PatientID(h.ID), Start: start, End: start.Add(30 * time.Minute),
					Location: p.site, Provider: p.optom, Reason: "Routine eye exam", Status: lane.ApptBooked})
				a.Identifier = nil
				p.create(a)
			})
			wm, err := s.l.db.Watermark(bg, "type:Observation")
			must(t, err)
			wmT, err := fhir.ParseTime(wm)
			if err != nil || wmT.Sub(time.Now()).Abs() > time.Minute {
				t.Errorf("watermark %q is not the server's time (lane clock %s)", wm, s.l.cfg.Clock.Now().Format(time.RFC3339))
			}
			// The practice's other software corrects a seeded reading.
			var target lane.Measurement
			ch, err := s.l.db.Chart(bg, s.patient.ID)
			must(t, err)
			for _, m := range ch.Measurements {
				if m.EncounterID != s.enc.ID {
					target = m
				}
			}
			sid, _, _ := s.l.db.ServerRef(bg, lane.EntityMeasurement, string(target.ID))
			s.p.edit("Observation", sid, func(o map[string]any) {
				o["note"] = []any{map[string]any{"text": "corrected by the practice"}}
			})
			s.l.drain(3, nil)
			s.l.sync()
			got, err := s.l.db.Record(bg, lane.EntityMeasurement, string(target.ID))
			must(t, err)
			if got.(lane.Measurement).Note != "corrected by the practice" {
				t.Errorf("a server change made after the first pull was missed under %s skew", skew)
			}
			s.check(t)
		})
	}
}
