package ui_test

import (
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui"
	"github.com/examlane/examlane/ui/uitest"
)

func TestStatusBar(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Technician)
	st := f.d.Shell().Status()
	if st.Sync != "Online · last sync 09:56 · 2 changes queued" {
		t.Errorf("sync status %q", st.Sync)
	}
	if st.Instruments != "Instruments: 2 of 3 connected · Phoropter disconnected" {
		t.Errorf("instruments status %q", st.Instruments)
	}

	f.p.Sync.SetStatus(lane.SyncStatus{Online: false, LastSuccess: time.Date(2026, 11, 22, 17, 5, 0, 0, time.UTC), Queued: 1,
		LastError: "server not reachable", Progress: -1})
	f.d.Tick()
	if got := f.d.Shell().Status().Sync; got != "Offline (server not reachable) · last sync 2026-11-22 17:05 · 1 change queued" {
		t.Errorf("offline status %q", got)
	}
	// Reachable, but a change was refused: the queue does not drain.
	f.p.Sync.SetStatus(lane.SyncStatus{Online: true, LastSuccess: time.Date(2026, 11, 22, 17, 5, 0, 0, time.UTC), Queued: 1,
		LastError: "server refused a request (403 Forbidden)", Progress: -1})
	f.d.Tick()
	if got := f.d.Shell().Status().Sync; got != "Online · last sync 2026-11-22 17:05 · 1 change queued · not accepted: server refused a request (403 Forbidden)" {
		t.Errorf("refused status %q", got)
	}
	f.d.HandleEvent(lane.SyncChanged{Status: lane.SyncStatus{Online: true, LastSuccess: uitest.Now, Progress: 0.25}})
	st = f.d.Shell().Status()
	if !st.Busy || st.Progress != 0.25 || !strings.Contains(st.Sync, "fetching 25%") {
		t.Errorf("pre-fetch status %+v", st)
	}

	f.p.Instruments.SetState(uitest.ProfileLM, "error")
	f.d.HandleEvent(lane.InstrumentChanged{State: lane.InstrumentState{Profile: uitest.ProfileLM, State: "error", LastError: "no reply"}})
	if got := f.d.Shell().Status().Instruments; got != "Instruments: 1 of 3 connected · Lensmeter error, Phoropter disconnected" {
		t.Errorf("instruments status %q", got)
	}
}

func TestNoticeExpires(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Technician)
	f.ingest(uitest.Autorefraction(uitest.Rx(t, "-1.00 DS"), uitest.Rx(t, "-1.00 DS")))
	if got := f.d.Shell().Notice(); got != "Autorefraction received from Simulated AR-1 at 10:00 (unassigned)" {
		t.Errorf("notice %q", got)
	}
	f.p.Clock.Advance(9 * time.Second)
	f.d.Tick()
	if got := f.d.Shell().Notice(); got != "" {
		t.Errorf("notice still %q after 9 s", got)
	}
}

func TestConflictResolution(t *testing.T) {
	f := newFixture(t)
	f.p.Sync.AddConflict(lane.Conflict{ID: "c1", Entity: lane.EntityPatient, EntityID: "pat-ben", PatientID: "pat-ben",
		Mine:   []byte(`{"phone":"555-0199","email":"ben@example.invalid","family":"Sample"}`),
		Theirs: []byte(`{"phone":"555-0142","email":"ben.s@example.invalid","family":"Sample"}`), TheirsVersion: "7", Detected: uitest.Now})
	f.signIn(uitest.Optometrist)
	f.d.Tick()
	f.tap("1 conflict waiting")
	if got := f.d.Shell().Current(); got != ui.ScreenSync {
		t.Fatalf("the conflicts button shows %q", got)
	}
	f.tap("Patient details · 2026-11-23 10:00")
	m := f.markup()
	for _, want := range []string{"555-0199", "555-0142", "Mine (this lane)", "Theirs (server)", "same"} {
		if !strings.Contains(m, want) {
			t.Errorf("the conflict view does not show %q", want)
		}
	}
	f.golden("sync/conflict.xml")
	// Keep my phone, take their e-mail.
	radios := radioGroups(f)
	if len(radios) != 2 {
		t.Fatalf("%d field choices, want 2 (email, phone)", len(radios))
	}
	radios[0].SetSelected("Theirs") // email (fields are sorted)
	f.tap("Merge chosen fields")
	res := f.p.Sync.Resolved()
	if len(res) != 1 || res[0].How != lane.ResolveMerge {
		t.Fatalf("resolutions %+v", res)
	}
	if got := string(res[0].Merged); got != `{"email":"ben.s@example.invalid","family":"Sample","phone":"555-0199"}` {
		t.Errorf("merged %s", got)
	}
	if got := f.d.Shell().Status().Conflicts; got != 0 {
		t.Errorf("%d conflicts after resolving", got)
	}
}

func TestConflictsReadOnlyForTechnician(t *testing.T) {
	f := newFixture(t)
	f.p.Sync.AddConflict(lane.Conflict{ID: "c1", Entity: lane.EntityEncounter, Mine: []byte(`{"a":1}`), Theirs: []byte(`{"a":2}`), Detected: uitest.Now})
	f.signIn(uitest.Technician)
	f.shortcut("6")
	f.tap("Exam · 2026-11-23 10:00")
	if b := f.button("Keep mine"); !b.Disabled() {
		t.Error("a technician can resolve a conflict")
	}
}
