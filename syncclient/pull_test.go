package syncclient_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient"
	"github.com/examlane/examlane/syncclient/synctest"
)

func TestPullTodaysSchedule(t *testing.T) {
	srv := newServer(t, synctest.Options{})
	var progress []float64
	r := newLane(t, srv, "Lane 1", func(c *syncclient.Config) {
		c.OnProgress = func(p float64) { progress = append(progress, p) }
	})
	p1 := seedPatient(t, srv, 1, "loc-1", r.today(9, 0))
	p2 := seedPatient(t, srv, 2, "loc-1", r.today(10, 0))
	other := seedPatient(t, srv, 3, "loc-2", r.today(10, 0))                 // another site
	later := seedPatient(t, srv, 4, "loc-1", r.today(9, 0).AddDate(0, 0, 3)) // beyond the window
	for _, p := range []string{p1, p2, other, later} {
		seedChart(t, srv, p, 2, 3, r.clock.Now())
	}
	r.mustSync()

	for _, p := range []string{p1, p2} {
		rec, ok := r.store.Get(lane.EntityPatient, p)
		if !ok {
			t.Fatalf("patient %s not pulled", p)
		}
		ch := rec.(lane.Patient)
		if ch.MRN == "" || ch.Name.Family == "" {
			t.Errorf("patient %s = %+v", p, ch)
		}
	}
	for _, p := range []string{other, later} {
		if _, ok := r.store.Get(lane.EntityPatient, p); ok {
			t.Errorf("patient %s outside the lane's window was pulled", p)
		}
	}
	if n := len(r.store.Records(lane.EntityEncounter)); n != 4 {
		t.Errorf("encounters = %d, want 4 (2 patients × 2)", n)
	}
	if n := len(r.store.Records(lane.EntityMeasurement)); n != 12 {
		t.Errorf("measurements = %d, want 12", n)
	}
	if n := len(r.store.Records(lane.EntitySpectacleRx)); n != 4 {
		t.Errorf("prescriptions = %d, want 4", n)
	}
	// references point at local ids (here: the server's ids)
	for _, rec := range r.store.Records(lane.EntityMeasurement) {
		m := rec.(lane.Measurement)
		if _, ok := r.store.Get(lane.EntityEncounter, string(m.EncounterID)); !ok {
			t.Errorf("measurement %s refers to unknown encounter %s", m.ID, m.EncounterID)
		}
	}
	if len(progress) == 0 || progress[len(progress)-1] != 1 {
		t.Errorf("progress = %v, want it to end at 1", progress)
	}
	st := r.client.Status()
	if !st.Online || st.LastError != "" || st.Progress >= 0 || st.LastSuccess.IsZero() {
		t.Errorf("status after a good cycle = %+v", st)
	}

	// Look-ahead brings the later patient in.
	r2 := newLane(t, srv, "Lane 2", func(c *syncclient.Config) { c.LookAheadDays = 3 })
	r2.mustSync()
	if _, ok := r2.store.Get(lane.EntityPatient, later); !ok {
		t.Error("look-ahead of 3 days did not pull the patient booked in 3 days")
	}
}

func TestIncrementalPullAndDedup(t *testing.T) {
	srv := newServer(t, synctest.Options{})
	r := newLane(t, srv, "Lane 1", nil)
	p := seedPatient(t, srv, 1, "loc-1", r.today(9, 0))
	seedChart(t, srv, p, 1, 4, r.clock.Now())
	r.syncUntilDrained(3) // the pull's audit events go up in the next cycle
	applied := r.store.AppliedRemote()
	reqs := srv.Requests()

	// Nothing changed: a cycle re-reads only the overlap window and stores
	// nothing again.
	r.mustSync()
	if got := r.store.AppliedRemote(); got != applied {
		t.Errorf("an idle cycle stored %d records again", got-applied)
	}
	idleReqs := srv.Requests() - reqs
	if idleReqs > 1+2*8 { // schedule, then search + history per type (Patient, 6 chart types, Basic)
		t.Errorf("an idle cycle made %d requests, want a handful (no chart re-fetch)", idleReqs)
	}

	// The server changes one observation and adds an encounter.
	obs := r.store.Records(lane.EntityMeasurement)[0].(lane.Measurement)
	if _, err := srv.Update("Observation", string(obs.ID), func(o map[string]any) {
		o["note"] = []any{map[string]any{"text": "reviewed"}}
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	r.mustSync()
	got, _ := r.store.Get(lane.EntityMeasurement, string(obs.ID))
	if got.(lane.Measurement).Note != "reviewed" {
		t.Errorf("changed observation not pulled: note %q", got.(lane.Measurement).Note)
	}
	if d := r.store.AppliedRemote() - applied; d != 1 {
		t.Errorf("incremental pull stored %d records, want 1", d)
	}
}

func TestPagingWithAndWithoutNextLinks(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts synctest.Options
	}{{"next links", synctest.Options{PageSize: 7}}, {"offset only", synctest.Options{PageSize: 7, NoNextLinks: true}}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.opts)
			r := newLane(t, srv, "Lane 1", nil)
			p := seedPatient(t, srv, 1, "loc-1", r.today(9, 0))
			seedChart(t, srv, p, 3, 10, r.clock.Now())
			r.mustSync()
			if n := len(r.store.Records(lane.EntityMeasurement)); n != 30 {
				t.Errorf("measurements = %d, want 30 across pages of 7", n)
			}
		})
	}
}

func TestDeletionsFromHistory(t *testing.T) {
	srv := newServer(t, synctest.Options{})
	r := newLane(t, srv, "Lane 1", nil)
	p := seedPatient(t, srv, 1, "loc-1", r.today(9, 0))
	seedChart(t, srv, p, 1, 2, r.clock.Now())
	r.mustSync()
	ms := r.store.Records(lane.EntityMeasurement)
	gone := ms[0].(lane.Measurement)
	if err := srv.Delete("Observation", string(gone.ID)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	r.mustSync()
	got, _ := r.store.Get(lane.EntityMeasurement, string(gone.ID))
	if !got.(lane.Measurement).Deleted {
		t.Error("measurement deleted on the server is not deleted on the lane")
	}
	kept, _ := r.store.Get(lane.EntityMeasurement, string(ms[1].(lane.Measurement).ID))
	if kept.(lane.Measurement).Deleted {
		t.Error("the other measurement was deleted too")
	}
}

func TestPullConflictNeverOverwrites(t *testing.T) {
	srv := newServer(t, synctest.Options{})
	r := newLane(t, srv, "Lane 1", nil)
	p := seedPatient(t, srv, 1, "loc-1", r.today(9, 0))
	seedChart(t, srv, p, 1, 1, r.clock.Now())
	r.mustSync()
	enc := r.store.Records(lane.EntityEncounter)[0].(lane.Encounter)

	// The lane edits the encounter but the server refuses writes for now
	// (400), so the change stays queued; meanwhile the server's copy moves.
	enc.Plan = "lane plan"
	r.save(optom, enc)
	srv.SetFault(func(req *http.Request) synctest.Fault {
		if req.Method != http.MethodGet {
			return synctest.Fault{Status: http.StatusBadRequest}
		}
		return synctest.Fault{}
	})
	if _, err := srv.Update("Encounter", string(enc.ID), func(o map[string]any) { o["status"] = "finished" }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	_ = r.client.SyncNow(context.Background())
	cs, _ := r.store.Conflicts(context.Background(), false)
	if len(cs) != 1 || cs[0].EntityID != string(enc.ID) || cs[0].TheirsVersion != "2" {
		t.Fatalf("conflicts = %+v, want one for the encounter at server version 2", cs)
	}
	got, _ := r.store.Get(lane.EntityEncounter, string(enc.ID))
	if got.(lane.Encounter).Plan != "lane plan" {
		t.Error("the pulled version overwrote the local change")
	}
	if !jsonHas(t, cs[0].Mine, "lane plan") || !jsonHas(t, cs[0].Theirs, `"finished"`) {
		t.Errorf("conflict does not hold both versions:\nmine %s\ntheirs %s", cs[0].Mine, cs[0].Theirs)
	}
	if st := r.client.Status(); st.Conflicts != 1 {
		t.Errorf("status conflicts = %d", st.Conflicts)
	}
}
