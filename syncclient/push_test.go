package syncclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient"
	"github.com/examlane/examlane/syncclient/fhir"
	"github.com/examlane/examlane/syncclient/synctest"
)

func TestPushCreateWithProvenance(t *testing.T) {
	for _, tc := range serverModes {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.opts)
			r := newLane(t, srv, "Lane 1", nil)
			pid := seedPatient(t, srv, 1, "loc-1", r.today(9, 0))
			r.mustSync()
			enc := lane.Encounter{ID: lane.EncounterID(lane.NewID()), PatientID: lane.PatientID(pid), Status: lane.EncPretest, Start: r.today(9, 5), Lane: "Lane 1"}
			r.save(tech, enc)
			m := newMeasurement(lane.PatientID(pid), 1)
			m.EncounterID = enc.ID
			r.save(tech, m)
			r.mustSync()
			assertExactlyOnce(t, r, "Encounter", []string{string(enc.ID)})
			assertExactlyOnce(t, r, "Observation", []string{string(m.ID)})

			sid := srv.FindByLaneID("Observation", string(m.ID))[0]
			raw, _ := srv.Get("Observation", sid)
			got := serverRecord(t, raw).(lane.Measurement)
			encSID := srv.FindByLaneID("Encounter", string(enc.ID))[0]
			if string(got.EncounterID) != encSID || string(got.PatientID) != pid {
				t.Errorf("references not rewritten to server ids: %s %s (want %s %s)", got.PatientID, got.EncounterID, pid, encSID)
			}
			if *got.Refraction != *m.Refraction {
				t.Errorf("server refraction %+v, want %+v", got.Refraction, m.Refraction)
			}
			// The lane remembers the server's id.
			if s, v, _ := r.store.ServerRef(context.Background(), lane.EntityMeasurement, string(m.ID)); s != sid || v != "1" {
				t.Errorf("ServerRef = %s %s, want %s 1", s, v, sid)
			}
			// Provenance: target, user and lane device.
			var found bool
			for _, p := range srv.All("Provenance") {
				if strings.Contains(string(p), `"Observation/`+sid+`"`) {
					found = true
					if !jsonHas(t, p, `"Practitioner/tech-1"`) || !jsonHas(t, p, `"Device/`) {
						t.Errorf("provenance agents: %s", p)
					}
				}
			}
			if !found {
				t.Errorf("no Provenance targets Observation/%s", sid)
			}
			// A second cycle writes nothing.
			before := len(srv.Writes())
			r.mustSync()
			if d := len(srv.Writes()) - before; d != 0 {
				t.Errorf("an idle cycle wrote %d times", d)
			}
		})
	}
}

func TestPushUpdateKeepsForeignElements(t *testing.T) {
	srv := newServer(t, synctest.Options{})
	r := newLane(t, srv, "Lane 1", nil)
	pid := seedPatient(t, srv, 1, "loc-1", r.today(9, 0))
	if _, err := srv.Update("Patient", pid, func(o map[string]any) {
		o["extension"] = []any{map[string]any{"url": "http://example.test/ext/pronouns", "valueString": "they"}}
		o["communication"] = []any{map[string]any{"language": map[string]any{"text": "Esperanto"}}}
	}); err != nil {
		t.Fatal(err)
	}
	r.mustSync()
	rec, _ := r.store.Get(lane.EntityPatient, pid)
	p := rec.(lane.Patient)
	p.Phone = "+1 555 0199"
	r.save(tech, p)
	r.mustSync()
	raw, _ := srv.Get("Patient", pid)
	for _, want := range []string{"http://example.test/ext/pronouns", "Esperanto", "+1 555 0199", fhir.ExtChangeID} {
		if !jsonHas(t, raw, want) {
			t.Errorf("server patient lacks %s:\n%s", want, prettyJSON(raw))
		}
	}
	var meta struct {
		Meta fhir.Meta `json:"meta"`
	}
	_ = json.Unmarshal(raw, &meta)
	if meta.Meta.VersionID != "3" {
		t.Errorf("server version %s, want 3", meta.Meta.VersionID)
	}
	assertExactlyOnce(t, r, "Patient", nil)
}

// TestConflictParksAndResolves: the server changed an encounter after the
// lane read it; the lane's update meets 412 and becomes a conflict holding
// both versions; a measurement of that encounter waits; an unrelated
// change goes through; keep-mine then pushes on the server's version.
func TestConflictParksAndResolves(t *testing.T) {
	srv := newServer(t, synctest.Options{})
	r := newLane(t, srv, "Lane 1", nil)
	pid := seedPatient(t, srv, 1, "loc-1", r.today(9, 0))
	other := seedPatient(t, srv, 2, "loc-1", r.today(10, 0))
	seedChart(t, srv, pid, 1, 0, r.clock.Now())
	r.mustSync()
	enc := r.store.Records(lane.EntityEncounter)[0].(lane.Encounter)
	if _, err := srv.Update("Encounter", string(enc.ID), func(o map[string]any) {
		o["reasonCode"] = []any{map[string]any{"text": "server complaint"}}
	}); err != nil {
		t.Fatal(err)
	}
	enc.Plan = "lane plan"
	r.save(optom, enc)
	dep := newMeasurement(lane.PatientID(pid), 1)
	dep.EncounterID = enc.ID
	r.save(tech, dep)
	free := newMeasurement(lane.PatientID(other), 2)
	r.save(tech, free)

	err := r.client.SyncNow(context.Background())
	if err != nil {
		t.Fatalf("SyncNow: %v", err)
	}
	cs, _ := r.store.Conflicts(context.Background(), false)
	if len(cs) != 1 {
		t.Fatalf("conflicts = %d, want 1", len(cs))
	}
	cf := cs[0]
	if cf.Entity != lane.EntityEncounter || cf.EntityID != string(enc.ID) || cf.TheirsVersion != "2" || cf.PatientID != lane.PatientID(pid) {
		t.Errorf("conflict = %+v", cf)
	}
	if !jsonHas(t, cf.Mine, "lane plan") || !jsonHas(t, cf.Theirs, "server complaint") {
		t.Errorf("conflict versions:\nmine %s\ntheirs %s", cf.Mine, cf.Theirs)
	}
	if len(srv.FindByLaneID("Observation", string(free.ID))) != 1 {
		t.Error("an unrelated change was held back by the conflict")
	}
	if len(srv.FindByLaneID("Observation", string(dep.ID))) != 0 {
		t.Error("a measurement of the encounter in conflict was pushed")
	}
	if st := r.client.Status(); st.Conflicts != 1 || st.Queued != 1 {
		t.Errorf("status = %+v, want 1 conflict and 1 queued (the held measurement; parked entries count as conflicts)", st)
	}

	// Field-by-field view for the person.
	mine, theirs, err := r.client.ConflictVersions(context.Background(), cf)
	if err != nil {
		t.Fatal(err)
	}
	diff, _ := syncclient.Differences(mine, theirs)
	if strings.Join(diff, ",") != "ChiefComplaint,Plan" {
		t.Errorf("Differences = %v, want ChiefComplaint,Plan", diff)
	}
	merged, err := syncclient.Merge(mine, theirs, []string{"ChiefComplaint"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.client.ResolveConflict(context.Background(), cf.ID, lane.ResolveMerge, tech, merged); !errors.Is(err, lane.ErrForbidden) {
		t.Errorf("a technician resolved a conflict: %v", err)
	}
	if err := r.client.ResolveConflict(context.Background(), cf.ID, lane.ResolveMerge, optom, merged); err != nil {
		t.Fatal(err)
	}
	r.syncUntilDrained(3)
	raw, _ := srv.Get("Encounter", string(enc.ID))
	got := serverRecord(t, raw).(lane.Encounter)
	if got.Plan != "lane plan" || got.ChiefComplaint != "server complaint" {
		t.Errorf("merged encounter on the server: plan %q complaint %q", got.Plan, got.ChiefComplaint)
	}
	assertExactlyOnce(t, r, "Observation", []string{string(dep.ID), string(free.ID)})
	if cs, _ := r.store.Conflicts(context.Background(), false); len(cs) != 0 {
		t.Errorf("open conflicts after resolution: %d", len(cs))
	}
}

func TestResolveKeepMineAndTakeTheirs(t *testing.T) {
	for _, how := range []lane.ConflictResolution{lane.ResolveKeepMine, lane.ResolveTakeTheirs} {
		t.Run(string(how), func(t *testing.T) {
			srv := newServer(t, synctest.Options{})
			r := newLane(t, srv, "Lane 1", nil)
			pid := seedPatient(t, srv, 1, "loc-1", r.today(9, 0))
			r.mustSync()
			rec, _ := r.store.Get(lane.EntityPatient, pid)
			p := rec.(lane.Patient)
			if _, err := srv.Update("Patient", pid, func(o map[string]any) {
				o["telecom"] = []any{map[string]any{"system": "phone", "value": "+1 555 0001"}}
			}); err != nil {
				t.Fatal(err)
			}
			p.Phone = "+1 555 0002"
			r.save(tech, p)
			r.mustSync()
			cs, _ := r.store.Conflicts(context.Background(), false)
			if len(cs) != 1 {
				t.Fatalf("conflicts = %d", len(cs))
			}
			if err := r.client.ResolveConflict(context.Background(), cs[0].ID, how, optom, nil); err != nil {
				t.Fatal(err)
			}
			r.syncUntilDrained(3)
			raw, _ := srv.Get("Patient", pid)
			srvPhone := serverRecord(t, raw).(lane.Patient).Phone
			rec, _ = r.store.Get(lane.EntityPatient, pid)
			localPhone := rec.(lane.Patient).Phone
			want := "+1 555 0002"
			if how == lane.ResolveTakeTheirs {
				want = "+1 555 0001"
			}
			if srvPhone != want || localPhone != want {
				t.Errorf("after %s: server %s, lane %s, want both %s", how, srvPhone, localPhone, want)
			}
		})
	}
}

func TestDeleteConflictAndGone(t *testing.T) {
	srv := newServer(t, synctest.Options{})
	r := newLane(t, srv, "Lane 1", nil)
	pid := seedPatient(t, srv, 1, "loc-1", r.today(9, 0))
	seedChart(t, srv, pid, 1, 2, r.clock.Now())
	r.mustSync()
	ms := r.store.Records(lane.EntityMeasurement)
	a, b := ms[0].(lane.Measurement), ms[1].(lane.Measurement)
	// a: deleted on the server, edited here → conflict "deleted on server"
	if err := srv.Delete("Observation", string(a.ID)); err != nil {
		t.Fatal(err)
	}
	a.Note = "edited on the lane"
	r.save(tech, a)
	// b: deleted here → delete on the server
	if err := r.store.Delete(tech, lane.EntityMeasurement, string(b.ID)); err != nil {
		t.Fatal(err)
	}
	r.mustSync()
	if _, ok := srv.Get("Observation", string(b.ID)); ok {
		t.Error("observation deleted on the lane still on the server")
	}
	cs, _ := r.store.Conflicts(context.Background(), false)
	if len(cs) != 1 || cs[0].TheirsVersion != syncclient.GoneVersion {
		t.Fatalf("conflicts = %+v, want one for the server-side deletion", cs)
	}
	// Keeping mine brings the record back as a new server resource.
	if err := r.client.ResolveConflict(context.Background(), cs[0].ID, lane.ResolveKeepMine, optom, nil); err != nil {
		t.Fatal(err)
	}
	r.syncUntilDrained(3)
	if ids := srv.FindByLaneID("Observation", string(a.ID)); len(ids) != 1 {
		t.Errorf("kept record on the server %d times, want once", len(ids))
	}
	sid, _, _ := r.store.ServerRef(context.Background(), lane.EntityMeasurement, string(a.ID))
	raw, ok := srv.Get("Observation", sid)
	if !ok || !jsonHas(t, raw, "edited on the lane") {
		t.Errorf("kept record not on the server (id %s): %s", sid, raw)
	}
}

func TestImagesDICOMAndPhoto(t *testing.T) {
	srv := newServer(t, synctest.Options{})
	r := newLane(t, srv, "Lane 1", func(c *syncclient.Config) { c.FetchImages = true })
	pid := seedPatient(t, srv, 1, "loc-1", r.today(9, 0))
	r.mustSync()
	dcm := synctest.DICOMFile("1.2.826.0.1.3680043.8.498.10", "1.2.826.0.1.3680043.8.498.11", "1.2.826.0.1.3680043.8.498.12")
	di := lane.Image{ID: lane.ImageID(lane.NewID()), PatientID: lane.PatientID(pid), Eye: lane.EyeRight, Kind: lane.ImageColor,
		CapturedAt: r.today(9, 10), MediaType: fhir.MediaTypeDICOM, StudyUID: "1.2.826.0.1.3680043.8.498.10",
		SeriesUID: "1.2.826.0.1.3680043.8.498.11", InstanceUID: "1.2.826.0.1.3680043.8.498.12", Size: int64(len(dcm)), SHA256: sha(dcm)}
	photo := []byte("\xff\xd8\xff\xe0 synthetic jpeg bytes \xff\xd9")
	pi := lane.Image{ID: lane.ImageID(lane.NewID()), PatientID: lane.PatientID(pid), Eye: lane.EyeLeft, Kind: lane.ImageRedFree,
		CapturedAt: r.today(9, 11), MediaType: "image/jpeg", Size: int64(len(photo)), SHA256: sha(photo)}
	if _, err := r.store.SaveImage(context.Background(), tech, di, dcm); err != nil {
		t.Fatal(err)
	}
	savedPI, err := r.store.SaveImage(context.Background(), tech, pi, photo)
	if err != nil {
		t.Fatal(err)
	}
	r.mustSync()
	stored, ok := srv.DICOMInstance(di.InstanceUID)
	if !ok || string(stored) != string(dcm) {
		t.Error("DICOM instance not stored byte for byte")
	}
	assertExactlyOnce(t, r, "ImagingStudy", []string{string(di.ID)})
	assertExactlyOnce(t, r, "DocumentReference", []string{string(pi.ID)})
	if n := srv.Count("Binary"); n != 1 {
		t.Errorf("Binary count %d, want 1", n)
	}
	// A retried push (as after a lost answer) stores nothing twice.
	savedPI.Eye = lane.EyeRight
	if _, err := r.store.Save(tech, savedPI); err != nil { // a metadata update
		t.Fatal(err)
	}
	r.mustSync()
	if n := srv.Count("Binary"); n != 1 {
		t.Errorf("Binary count after update %d, want 1", n)
	}
	docSID := srv.FindByLaneID("DocumentReference", string(pi.ID))[0]
	raw, _ := srv.Get("DocumentReference", docSID)
	if !jsonHas(t, raw, `"url":"Binary/`) {
		t.Errorf("update lost the Binary reference: %s", raw)
	}

	// Another lane pulls both, bytes included.
	r2 := newLane(t, srv, "Lane 2", func(c *syncclient.Config) { c.FetchImages = true })
	r2.mustSync()
	for _, want := range [][]byte{dcm, photo} {
		found := false
		for _, rec := range r2.store.Records(lane.EntityImage) {
			img := rec.(lane.Image)
			if data, err := r2.store.ImageData(context.Background(), img.ID); err == nil && string(data) == string(want) {
				found = true
			}
		}
		if !found {
			t.Errorf("lane 2 did not receive the image bytes (%d bytes)", len(want))
		}
	}
}

func TestStatusSubscribeKickNeverBlock(t *testing.T) {
	srv := newServer(t, synctest.Options{})
	r := newLane(t, srv, "Lane 1", nil)
	ch, stop := r.client.Subscribe()
	defer stop()
	<-ch // the current status
	for i := 0; i < 10; i++ {
		r.client.Kick() // buffered once, never blocks
	}
	srv.SetDown(true)
	_ = r.client.SyncNow(context.Background()) // nobody reads ch meanwhile: must not block
	_ = r.client.SyncNow(context.Background())
	select {
	case st := <-ch:
		if st.Online || !strings.Contains(st.LastError, "unreachable") {
			t.Errorf("status while down = %+v", st)
		}
	case <-time.After(time.Second):
		t.Fatal("no status delivered")
	}
	if strings.Contains(r.client.Status().LastError, "127.0.0.1") {
		t.Errorf("status error names the server address: %q", r.client.Status().LastError)
	}
}

// TestPushKeepsOutboxOrderAcrossNewReferences: a measurement that refers to
// an encounter created in the same batch travels in that batch (by its
// urn:uuid) instead of being held back while later records overtake it
// (regression: records were delivered out of outbox order).
func TestPushKeepsOutboxOrderAcrossNewReferences(t *testing.T) {
	for _, tc := range serverModes {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.opts)
			r := newLane(t, srv, "Lane 1", nil)
			pid := seedPatient(t, srv, 1, "loc-1", r.today(9, 0))
			r.mustSync()
			old := lane.Encounter{ID: lane.EncounterID(lane.NewID()), PatientID: lane.PatientID(pid), Status: lane.EncPretest, Start: r.today(9, 1)}
			r.save(tech, old)
			r.mustSync() // the first encounter is on the server
			var want []string
			enc := lane.Encounter{ID: lane.EncounterID(lane.NewID()), PatientID: lane.PatientID(pid), Status: lane.EncPretest, Start: r.today(9, 5)}
			r.save(tech, enc)
			want = append(want, string(enc.ID))
			for i := 0; i < 6; i++ {
				m := newMeasurement(lane.PatientID(pid), i)
				m.EncounterID = enc.ID // new in this batch
				if i%2 == 1 {
					m.EncounterID = old.ID // already on the server
				}
				r.save(tech, m)
				want = append(want, string(m.ID))
			}
			r.syncUntilDrained(3)
			var got []string
			for _, w := range srv.Writes() {
				if (w.Type == "Observation" || w.Type == "Encounter") && w.Method == "POST" && w.LaneID != string(old.ID) {
					got = append(got, w.LaneID)
				}
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("server received\n %v\nwant outbox order\n %v", got, want)
			}
			encSID := srv.FindByLaneID("Encounter", string(enc.ID))[0]
			for _, id := range want[1:2] {
				raw, _ := srv.Get("Observation", srv.FindByLaneID("Observation", id)[0])
				if m := serverRecord(t, raw).(lane.Measurement); string(m.EncounterID) != encSID {
					t.Errorf("reference not resolved to the new encounter: %s, want %s", m.EncounterID, encSID)
				}
			}
		})
	}
}
