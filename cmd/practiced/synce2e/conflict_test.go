package synce2e_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient"
	"github.com/examlane/examlane/syncclient/fhir"
)

// TestTwoLanesEditSameEncounter: lanes A and B hold the same encounter. B
// loses its network (a proxy in front of practiced that only B uses goes
// dark) and edits the plan; meanwhile A edits the assessment and syncs.
// When B is back its change meets A's: a conflict with both versions
// reaches B's store, B's edit stays on B (nothing is overwritten), B's
// unrelated work is delivered meanwhile and its dependent work waits; a
// merge puts both edits on the server and on both lanes.
func TestTwoLanesEditSameEncounter(t *testing.T) {
	p := startPractice(t, practiceOptions{seed: &smallSeed})
	a := p.newLane(t, "Lane A", laneOptions{})
	px := newProxy(t, p.url)
	b := p.newLane(t, "Lane B", laneOptions{serverURL: px.URL()})
	a.sync()
	b.sync()

	// A starts today's exam; B pulls it.
	appts := a.schedule()
	if len(appts) < 2 {
		t.Fatalf("%d appointments on today's schedule, want 2", len(appts))
	}
	ap := appts[0]
	now := a.cfg.Clock.Now()
	enc := a.save(a.tech, lane.Encounter{PatientID: ap.PatientID, AppointmentID: ap.ID, Status: lane.EncExam, Start: now,
		Location: ap.Location, Lane: a.name, Clinician: a.optom.User, ChiefComplaint: "headaches when reading"}).(lane.Encounter)
	a.sync()
	b.sync()
	// B keeps it under its own local id (practiced's id; the lane uuid
	// stays A's).
	encSID, _, _ := a.db.ServerRef(bg, lane.EntityEncounter, string(enc.ID))
	bID, err := b.db.LocalID(bg, lane.EntityEncounter, encSID)
	if err != nil {
		t.Fatalf("lane B did not pull lane A's encounter: %v", err)
	}
	recB, err := b.db.Record(bg, lane.EntityEncounter, bID)
	must(t, err)
	encB := recB.(lane.Encounter)

	// B goes offline and keeps working.
	px.SetOffline(true)
	encB.Plan = "plan written on lane B"
	encB = b.save(b.optom, encB).(lane.Encounter)
	dependent := b.save(b.tech, measurement(encB.PatientID, encB.ID, now, 1)).(lane.Measurement) // on the encounter
	other := appts[1]
	unrelated := b.save(b.tech, measurement(other.PatientID, "", now, 2)).(lane.Measurement)
	if err := b.client.SyncNow(bg); err == nil {
		t.Fatal("lane B synced through a dead network")
	}
	if st := b.client.Status(); st.Online || !humaneError(st.LastError) || st.Queued == 0 {
		t.Errorf("lane B offline status %+v: want offline, a reason in words and the queue", st)
	} else {
		t.Logf("lane B offline: %q, %d queued", st.LastError, st.Queued)
	}

	// A edits the same encounter and syncs.
	encA, err := a.db.GetEncounter(bg, enc.ID)
	must(t, err)
	encA.Assessment = "assessment written on lane A"
	encA = a.save(a.optom, encA).(lane.Encounter)
	a.sync()

	// B comes back.
	px.SetOffline(false)
	b.sync()
	cs, err := b.db.Conflicts(bg, false)
	must(t, err)
	if len(cs) != 1 {
		t.Fatalf("lane B has %d open conflicts, want 1", len(cs))
	}
	cf := cs[0]
	if cf.Entity != lane.EntityEncounter || cf.EntityID != bID {
		t.Errorf("conflict on %s %s, want the encounter", cf.Entity, cf.EntityID)
	}
	if !strings.Contains(string(cf.Mine), "plan written on lane B") || strings.Contains(string(cf.Mine), "assessment written on lane A") {
		t.Errorf("conflict's Mine is not lane B's version: %s", cf.Mine)
	}
	if !strings.Contains(string(cf.Theirs), "assessment written on lane A") || strings.Contains(string(cf.Theirs), "plan written on lane B") {
		t.Errorf("conflict's Theirs is not lane A's version: %s", cf.Theirs)
	}
	// Nothing lost: B still holds its edit, the server A's.
	cur, err := b.db.GetEncounter(bg, encB.ID)
	must(t, err)
	if cur.Plan != "plan written on lane B" {
		t.Errorf("lane B's plan was overwritten by the conflict: %q", cur.Plan)
	}
	sid := encSID
	if e := serverEncounter(t, p, b, sid); e.Assessment != "assessment written on lane A" || e.Plan != "" {
		t.Errorf("server encounter assessment %q plan %q: want lane A's version untouched", e.Assessment, e.Plan)
	}
	// The parking rule: the reading on the encounter in conflict waits; the
	// unrelated one went through.
	if usid, _, _ := b.db.ServerRef(bg, lane.EntityMeasurement, string(unrelated.ID)); usid == "" {
		t.Error("lane B's unrelated reading was held back by a conflict on another patient's encounter")
	}
	if dsid, _, _ := b.db.ServerRef(bg, lane.EntityMeasurement, string(dependent.ID)); dsid != "" {
		t.Error("lane B's reading on the encounter in conflict was delivered before the conflict was resolved")
	}
	if st := b.client.Status(); st.Conflicts != 1 {
		t.Errorf("status shows %d conflicts, want 1", st.Conflicts)
	}

	// A person merges: B's plan, A's assessment.
	mine, theirs, err := b.client.ConflictVersions(bg, cf)
	must(t, err)
	diff, err := syncclient.Differences(mine, theirs)
	must(t, err)
	if strings.Join(diff, ",") != "Assessment,Plan" {
		t.Errorf("the versions differ in %v, want Assessment and Plan", diff)
	}
	merged, err := syncclient.Merge(mine, theirs, []string{"Assessment"})
	must(t, err)
	must(t, b.client.ResolveConflict(bg, cf.ID, lane.ResolveMerge, b.optom, merged))
	b.drain(3, nil)
	a.drain(3, nil) // pulling B's work queues audit events; the next cycle sends them
	b.drain(3, nil)

	e := serverEncounter(t, p, b, sid)
	for name, got := range map[string]lane.Encounter{"server": e, "lane A": mustEncounter(t, a, enc.ID), "lane B": mustEncounter(t, b, encB.ID)} {
		if got.Plan != "plan written on lane B" || got.Assessment != "assessment written on lane A" || got.ChiefComplaint != "headaches when reading" {
			t.Errorf("%s holds plan %q assessment %q complaint %q: an edit was lost", name, got.Plan, got.Assessment, got.ChiefComplaint)
		}
	}
	if cs, _ := b.db.Conflicts(bg, true); len(cs) != 1 || cs[0].Resolution != lane.ResolveMerge {
		t.Errorf("lane B's conflict record after resolving: %+v", cs)
	}
	checkDelivered(t, p, b, checkOptions{})
	if n := p.total("Encounter", url.Values{"identifier": {fhir.SystemLaneID + "|" + string(enc.ID)}}); n != 1 {
		t.Errorf("%d encounters on the server carry lane A's id after lane B's edit, want 1", n)
	}
	checkDelivered(t, p, a, checkOptions{})
}

// serverEncounter reads an encounter from practiced as a lane record.
func serverEncounter(t *testing.T, p *practice, l *laneRig, sid string) lane.Encounter {
	t.Helper()
	st, body := p.get("Encounter/" + sid)
	if st != http.StatusOK {
		t.Fatalf("read encounter: %d", st)
	}
	rec, err := p.record(l, body)
	must(t, err)
	return rec.(lane.Encounter)
}

func mustEncounter(t *testing.T, l *laneRig, id lane.EncounterID) lane.Encounter {
	t.Helper()
	e, err := l.db.GetEncounter(bg, id)
	must(t, err)
	return e
}

// TestLaneIDSurvivesAnotherLanesEdit: a record keeps the identifier
// urn:examlane:id|<uuid> of the lane that created it when another lane
// updates it. The creating lane's conditional create (If-None-Exist by that
// identifier) and its delete of a never-confirmed create (search by it)
// depend on it; practiced's idempotency table hides the loss from the
// conditional create, but a server without one (Medplum) would make a
// duplicate.
func TestLaneIDSurvivesAnotherLanesEdit(t *testing.T) {
	// regression: mergeIdentifiers replaced the creating lane's identifier
	p := startPractice(t, practiceOptions{seed: &smallSeed})
	a := p.newLane(t, "Lane A", laneOptions{})
	b := p.newLane(t, "Lane B", laneOptions{})
	a.drain(3, nil)
	b.drain(3, nil)
	ap := a.schedule()[0]
	enc := a.save(a.tech, lane.Encounter{PatientID: ap.PatientID, AppointmentID: ap.ID, Status: lane.EncPretest, Start: a.cfg.Clock.Now(),
		Location: ap.Location, Lane: a.name, Clinician: a.optom.User, ChiefComplaint: "itchy eyes"}).(lane.Encounter)
	a.drain(3, nil)
	b.drain(3, nil)
	sid, _, _ := a.db.ServerRef(bg, lane.EntityEncounter, string(enc.ID))
	bID, err := b.db.LocalID(bg, lane.EntityEncounter, sid)
	if err != nil {
		t.Fatalf("lane B did not pull lane A's encounter: %v", err)
	}
	encB, err := b.db.GetEncounter(bg, lane.EncounterID(bID))
	must(t, err)
	encB.History = "history taken on lane B"
	b.save(b.optom, encB)
	b.drain(3, nil)
	byLaneID := url.Values{"identifier": {fhir.SystemLaneID + "|" + string(enc.ID)}}
	if n := p.total("Encounter", byLaneID); n != 1 {
		_, body := p.get("Encounter/" + sid)
		t.Errorf("after lane B's edit, %d encounters carry lane A's id, want 1: %s", n, body)
	}
	a.drain(3, nil)
	checkDelivered(t, p, a, checkOptions{})
	checkDelivered(t, p, b, checkOptions{})
}

// TestRetriedCreateAfterAnotherLanesEdit: lane A creates an encounter and
// the answer is lost (practiced committed, then the connection was cut);
// before A retries, lane B pulls the encounter and edits it. A's retry
// finds the record already there — and must not take B's version as one it
// holds: B's edit has to reach A, and A's next edit must not silently
// remove it from the server.
func TestRetriedCreateAfterAnotherLanesEdit(t *testing.T) {
	// regression: a retried create took another lane's version as its own
	p := startPractice(t, practiceOptions{seed: &smallSeed})
	a := p.newLane(t, "Lane A", laneOptions{})
	b := p.newLane(t, "Lane B", laneOptions{})
	a.drain(3, nil)
	b.drain(3, nil)
	ap := a.schedule()[0]
	enc := a.save(a.tech, lane.Encounter{PatientID: ap.PatientID, AppointmentID: ap.ID, Status: lane.EncPretest, Start: a.cfg.Clock.Now(),
		Location: ap.Location, Lane: a.name, Clinician: a.optom.User, ChiefComplaint: "itchy eyes"}).(lane.Encounter)
	p.srv.Faults.CutNext(1)
	if err := a.client.SyncNow(bg); err == nil {
		t.Fatal("lane A heard back although the connection was cut")
	}
	byLaneID := url.Values{"identifier": {fhir.SystemLaneID + "|" + string(enc.ID)}}
	found := p.search("Encounter", byLaneID)
	if len(found) != 1 {
		t.Fatalf("the cut create is on the server %d times, want 1 (committed)", len(found))
	}
	var h resourceHead
	must(t, json.Unmarshal(found[0], &h))
	sid := h.ID

	b.drain(3, nil)
	bID, err := b.db.LocalID(bg, lane.EntityEncounter, sid)
	if err != nil {
		t.Fatalf("lane B did not pull lane A's encounter: %v", err)
	}
	encB, err := b.db.GetEncounter(bg, lane.EncounterID(bID))
	must(t, err)
	encB.History = "history taken on lane B"
	b.save(b.optom, encB)
	b.drain(3, nil)

	a.drain(3, nil) // the retry meets the existing encounter
	a.drain(3, nil)
	if cs, _ := a.db.Conflicts(bg, false); len(cs) == 0 {
		if got := mustEncounter(t, a, enc.ID); got.History != "history taken on lane B" {
			t.Errorf("lane A holds history %q and no conflict: lane B's edit never reached it", got.History)
		}
	}
	encA := mustEncounter(t, a, enc.ID)
	encA.Assessment = "assessment written on lane A"
	a.save(a.optom, encA)
	a.drain(3, nil)
	if e := serverEncounter(t, p, a, sid); e.History != "history taken on lane B" {
		if cs, _ := a.db.Conflicts(bg, false); len(cs) == 0 {
			t.Errorf("lane A's update silently removed lane B's history from the server (history now %q)", e.History)
		}
	}
	if n := p.total("Encounter", url.Values{"patient": {"Patient/" + string(ap.PatientID)}, "_id": {sid}}); n != 1 {
		t.Errorf("encounter count %d", n)
	}
}
