package syncclient_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient"
	"github.com/examlane/examlane/syncclient/fhir"
	"github.com/examlane/examlane/syncclient/synctest"
)

// scenario is a lane with a pulled chart and a queue of local changes:
// creates, updates and a delete.
type scenario struct {
	*rig
	pid     string
	created []string // lane ids of created measurements
	enc     lane.Encounter
	patient lane.Patient
	deleted string
}

func newScenario(t *testing.T, opts synctest.Options, mod func(*syncclient.Config)) *scenario {
	srv := newServer(t, opts)
	r := newLane(t, srv, "Lane 1", mod)
	pid := seedPatient(t, srv, 1, "loc-1", r.today(9, 0))
	seedChart(t, srv, pid, 1, 2, r.clock.Now())
	r.mustSync()
	s := &scenario{rig: r, pid: pid}
	s.enc = r.store.Records(lane.EntityEncounter)[0].(lane.Encounter)
	rec, _ := r.store.Get(lane.EntityPatient, pid)
	s.patient = rec.(lane.Patient)
	for i := 0; i < 20; i++ {
		m := newMeasurement(lane.PatientID(pid), i)
		m.EncounterID = s.enc.ID
		r.save(tech, m)
		s.created = append(s.created, string(m.ID))
	}
	s.enc.Plan = "plan from the lane"
	s.enc = r.save(optom, s.enc).(lane.Encounter)
	s.enc.Assessment = "assessment from the lane"
	s.enc = r.save(optom, s.enc).(lane.Encounter)
	s.patient.Phone = "+1 555 0123"
	s.patient = r.save(tech, s.patient).(lane.Patient)
	old := r.store.Records(lane.EntityMeasurement)
	for _, rec := range old {
		if m := rec.(lane.Measurement); m.Note == "" { // a seeded one
			s.deleted = string(m.ID)
			if err := r.store.Delete(tech, lane.EntityMeasurement, s.deleted); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	return s
}

// check asserts that every queued change is on the server exactly once.
func (s *scenario) check(t *testing.T) {
	t.Helper()
	assertExactlyOnce(t, s.rig, "Observation", s.created)
	for i, id := range s.created {
		sid := s.srv.FindByLaneID("Observation", id)
		if len(sid) != 1 {
			continue
		}
		raw, _ := s.srv.Get("Observation", sid[0])
		if m := serverRecord(t, raw).(lane.Measurement); m.Note != fmt.Sprintf("n=%d", i) {
			t.Errorf("observation %d on the server has note %q", i, m.Note)
		}
	}
	raw, _ := s.srv.Get("Encounter", string(s.enc.ID))
	if e := serverRecord(t, raw).(lane.Encounter); e.Plan != s.enc.Plan || e.Assessment != s.enc.Assessment {
		t.Errorf("server encounter plan %q assessment %q", e.Plan, e.Assessment)
	}
	raw, _ = s.srv.Get("Patient", s.pid)
	if p := serverRecord(t, raw).(lane.Patient); p.Phone != s.patient.Phone {
		t.Errorf("server patient phone %q", p.Phone)
	}
	if _, ok := s.srv.Get("Observation", s.deleted); ok {
		t.Error("deleted observation still on the server")
	}
	if cs, _ := s.store.Conflicts(context.Background(), true); len(cs) != 0 {
		t.Errorf("faults produced %d conflicts: %+v", len(cs), cs[0])
	}
}

func isWrite(r *http.Request) bool { return r.Method != http.MethodGet }

// TestFaults: for each kind of failure, the queued changes reach the
// server exactly once and the outbox drains.
func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		opts  synctest.Options
		fault func(n int, r *http.Request) synctest.Fault // n counts writes
	}{
		{"down mid-push", synctest.Options{}, func(n int, r *http.Request) synctest.Fault {
			if n >= 5 && n < 25 {
				return synctest.Fault{Down: true}
			}
			return synctest.Fault{}
		}},
		{"500s", synctest.Options{}, func(n int, r *http.Request) synctest.Fault {
			if n%3 == 0 && n < 60 {
				return synctest.Fault{Status: http.StatusInternalServerError}
			}
			return synctest.Fault{}
		}},
		{"503 on reads too", synctest.Options{}, func(n int, r *http.Request) synctest.Fault {
			if n < 10 {
				return synctest.Fault{Status: http.StatusServiceUnavailable}
			}
			return synctest.Fault{}
		}},
		{"slow past the timeout", synctest.Options{}, func(n int, r *http.Request) synctest.Fault {
			if n%4 == 1 && n < 40 {
				return synctest.Fault{Delay: 2 * time.Second}
			}
			return synctest.Fault{}
		}},
		{"cut after commit", synctest.Options{}, func(n int, r *http.Request) synctest.Fault {
			if n%2 == 0 && n < 80 {
				return synctest.Fault{CutAfterCommit: true}
			}
			return synctest.Fault{}
		}},
		{"cut after commit, plain REST", synctest.Options{NoTransactions: true}, func(n int, r *http.Request) synctest.Fault {
			if n%2 == 0 && n < 120 {
				return synctest.Fault{CutAfterCommit: true}
			}
			return synctest.Fault{}
		}},
		{"duplicate delivery", synctest.Options{}, func(n int, r *http.Request) synctest.Fault {
			return synctest.Fault{Duplicate: true}
		}},
		{"duplicate delivery, plain REST", synctest.Options{NoTransactions: true}, func(n int, r *http.Request) synctest.Fault {
			return synctest.Fault{Duplicate: true}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScenario(t, tt.opts, func(c *syncclient.Config) { c.RequestTimeout = 300 * time.Millisecond })
			var writes atomic.Int64
			s.srv.SetFault(func(r *http.Request) synctest.Fault {
				n := 0
				if isWrite(r) {
					n = int(writes.Add(1))
				} else if tt.name == "503 on reads too" {
					n = int(writes.Add(1))
				} else {
					return synctest.Fault{}
				}
				return tt.fault(n, r)
			})
			s.syncUntilDrained(150)
			s.srv.SetFault(nil)
			s.mustSync()
			s.check(t)
		})
	}
}

// TestServerDownAtStart runs the real loop against a server that is down
// when the lane starts and comes back later; the loop backs off, then
// drains.
func TestServerDownAtStart(t *testing.T) {
	s := newScenario(t, synctest.Options{}, nil)
	s.clock.SetAutoAdvance(true)
	start := s.clock.Now()
	var reqs atomic.Int64
	s.srv.SetRefuse(func() bool { return reqs.Add(1) <= 12 })
	runUntil(t, s.client, func(st lane.SyncStatus) bool { return len(s.store.Outbox()) == 0 && st.Online && st.Queued == 0 })
	s.check(t)
	if waited := s.clock.Now().Sub(start); waited < time.Minute {
		t.Errorf("the loop waited %s of backoff over 12 failures, want at least a minute", waited)
	}
}

// runUntil runs Client.Run until done(status) holds (real-time limit 60 s).
func runUntil(t *testing.T, c *syncclient.Client, done func(lane.SyncStatus) bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := c.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	defer func() { cancel(); wg.Wait() }()
	ch, stop := c.Subscribe()
	defer stop()
	limit := time.After(60 * time.Second)
	for {
		select {
		case st := <-ch:
			if done(st) {
				return
			}
		case <-limit:
			t.Fatalf("condition not reached; status %+v", c.Status())
		}
	}
}

// TestClockSkew: the lane's clock is hours behind the server's (and then
// ahead); watermarks come from the server, so nothing is missed.
func TestClockSkew(t *testing.T) {
	for _, skew := range []time.Duration{-5 * time.Hour, 3 * time.Hour} {
		t.Run(skew.String(), func(t *testing.T) {
			srv := newServer(t, synctest.Options{})
			srv.SetNow(func() time.Time { return time.Now().Add(skew) })
			r := newLane(t, srv, "Lane 1", nil)
			pid := seedPatient(t, srv, 1, "loc-1", r.today(12, 0))
			seedChart(t, srv, pid, 1, 2, r.clock.Now())
			r.mustSync()
			wm, _ := r.store.Watermark(context.Background(), "type:Observation")
			wmT, err := fhir.ParseTime(wm)
			if err != nil || wmT.Sub(time.Now().Add(skew)).Abs() > time.Minute {
				t.Errorf("watermark %q is not the server's time", wm)
			}
			obs := r.store.Records(lane.EntityMeasurement)[0].(lane.Measurement)
			if _, err := srv.Update("Observation", string(obs.ID), func(o map[string]any) {
				o["note"] = []any{map[string]any{"text": "after skew"}}
			}); err != nil {
				t.Fatal(err)
			}
			m := newMeasurement(lane.PatientID(pid), 7)
			r.save(tech, m)
			r.syncUntilDrained(3)
			got, _ := r.store.Get(lane.EntityMeasurement, string(obs.ID))
			if got.(lane.Measurement).Note != "after skew" {
				t.Error("a server change was missed under clock skew")
			}
			assertExactlyOnce(t, r, "Observation", []string{string(m.ID)})
		})
	}
}

// TestTwoLanesEditSameEncounter: lane B edits an encounter while offline,
// lane A edits it online; when B comes back its change becomes a conflict
// with both versions, and a merge keeps both edits.
func TestTwoLanesEditSameEncounter(t *testing.T) {
	srv := newServer(t, synctest.Options{})
	a := newLane(t, srv, "Lane A", nil)
	b := newLane(t, srv, "Lane B", nil)
	pid := seedPatient(t, srv, 1, "loc-1", a.today(9, 0))
	seedChart(t, srv, pid, 1, 0, a.clock.Now())
	a.mustSync()
	b.mustSync()
	var bOffline atomic.Bool
	srv.SetFault(func(r *http.Request) synctest.Fault {
		if bOffline.Load() && r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && r.TLS.PeerCertificates[0].Subject.CommonName == b.cfg.LaneID {
			return synctest.Fault{Down: true}
		}
		return synctest.Fault{}
	})
	bOffline.Store(true)
	encB := b.store.Records(lane.EntityEncounter)[0].(lane.Encounter)
	encB.Plan = "plan written on lane B"
	b.save(optom, encB)
	if err := b.client.SyncNow(context.Background()); err == nil {
		t.Fatal("lane B synced while offline")
	}
	encA := a.store.Records(lane.EntityEncounter)[0].(lane.Encounter)
	encA.Assessment = "assessment written on lane A"
	a.save(optom, encA)
	a.mustSync()

	bOffline.Store(false)
	b.mustSync()
	cs, _ := b.store.Conflicts(context.Background(), false)
	if len(cs) != 1 {
		t.Fatalf("lane B conflicts = %d, want 1", len(cs))
	}
	if !jsonHas(t, cs[0].Mine, "plan written on lane B") || !jsonHas(t, cs[0].Theirs, "assessment written on lane A") {
		t.Fatalf("conflict lacks a version:\nmine %s\ntheirs %s", cs[0].Mine, cs[0].Theirs)
	}
	mine, theirs, err := b.client.ConflictVersions(context.Background(), cs[0])
	if err != nil {
		t.Fatal(err)
	}
	merged, err := syncclient.Merge(mine, theirs, []string{"Assessment"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.client.ResolveConflict(context.Background(), cs[0].ID, lane.ResolveMerge, optom, merged); err != nil {
		t.Fatal(err)
	}
	b.syncUntilDrained(3)
	a.mustSync()
	raw, _ := srv.Get("Encounter", string(encA.ID))
	for _, r := range []any{serverRecord(t, raw), must(a.store.Get(lane.EntityEncounter, string(encA.ID))), must(b.store.Get(lane.EntityEncounter, string(encA.ID)))} {
		e := r.(lane.Encounter)
		if e.Plan != "plan written on lane B" || e.Assessment != "assessment written on lane A" {
			t.Errorf("an edit was lost: plan %q assessment %q", e.Plan, e.Assessment)
		}
	}
}

func must(v any, ok bool) any {
	if !ok {
		panic("missing record")
	}
	return v
}

// TestEightHourOutage: 1,000 changes queued during an eight-hour outage
// (injected clock) drain exactly once, in order, without hammering the
// dead server.
func TestEightHourOutage(t *testing.T) {
	srv := newServer(t, synctest.Options{})
	r := newLane(t, srv, "Lane 1", nil)
	pid := seedPatient(t, srv, 1, "loc-1", r.today(7, 0))
	r.mustSync()
	start := r.clock.Now()
	var during atomic.Int64
	srv.SetRefuse(func() bool {
		if r.clock.Now().Sub(start) < 8*time.Hour {
			during.Add(1)
			return true
		}
		return false
	})
	var ids []string
	for i := 0; i < 1000; i++ {
		m := newMeasurement(lane.PatientID(pid), i)
		r.save(tech, m)
		ids = append(ids, string(m.ID))
	}
	r.clock.SetAutoAdvance(true)
	runUntil(t, r.client, func(st lane.SyncStatus) bool { return len(r.store.Outbox()) == 0 && st.Online && st.Queued == 0 })
	if waited := r.clock.Now().Sub(start); waited < 8*time.Hour {
		t.Errorf("drained after %s of lane time, before the outage ended", waited)
	}
	assertExactlyOnce(t, r, "Observation", ids)
	// Order: the server saw the creates in the lane's Seq order.
	pos := map[string]int{}
	for i, w := range srv.Writes() {
		if w.Type == "Observation" && w.Method == http.MethodPost {
			pos[w.LaneID] = i
		}
	}
	for i := 1; i < len(ids); i++ {
		if pos[ids[i]] < pos[ids[i-1]] {
			t.Fatalf("change %d reached the server before change %d", i, i-1)
		}
	}
	// With back-off capped at 5 minutes, 8 hours cost about 100 attempts,
	// one request each.
	if n := during.Load(); n > 150 {
		t.Errorf("%d connection attempts during the outage, want ≤ 150 (back-off and breaker)", n)
	}
	t.Logf("connection attempts during the 8 h outage: %d", during.Load())
}
