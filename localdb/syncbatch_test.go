package localdb_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
	"github.com/examlane/examlane/localdb"
)

// remotePatient is a patient as pulled from the server (local id = server
// id).
func remotePatient(id string) lane.Patient {
	p := lanetest.SyntheticPatient("Remote", "R-"+id)
	p.ID = lane.PatientID(id)
	return p
}

func remoteEncounter(id, pid string) lane.Encounter {
	return lane.Encounter{ID: lane.EncounterID(id), PatientID: lane.PatientID(pid), Status: lane.EncPretest,
		Start: lanetest.T0, Location: "loc-1"}
}

func remoteMeasurement(id, pid, enc string) lane.Measurement {
	return lane.Measurement{ID: lane.MeasurementID(id), PatientID: lane.PatientID(pid), EncounterID: lane.EncounterID(enc),
		Kind: lane.KindIOP, Eye: lane.EyeRight, Source: lane.SourceManual, ReceivedAt: lanetest.T0,
		IOP: &lane.IOP{Pressure: 155, Method: lane.IOPNonContact}}
}

func rr(rec any, sid, vid string) lane.RemoteRecord {
	return lane.RemoteRecord{Rec: rec, ServerID: sid, ServerVersion: vid}
}

// localState is what a set of records left in a store: each record's
// version and server ref, the outbox, and the audit events by entity type.
func localState(t *testing.T, db *localdb.DB, ids map[string][]string) string {
	t.Helper()
	var b strings.Builder
	for _, entity := range []string{lane.EntityPatient, lane.EntityEncounter, lane.EntityMeasurement, lane.EntityImage} {
		for _, id := range ids[entity] {
			rec, err := db.Record(ctx, entity, id)
			sid, sv, _ := db.ServerRef(ctx, entity, id)
			switch {
			case errors.Is(err, lane.ErrNotFound):
				fmt.Fprintf(&b, "%s/%s: absent, server %q@%q\n", entity, id, sid, sv)
			case err != nil:
				t.Fatal(err)
			default:
				fmt.Fprintf(&b, "%s/%s: %T server %s@%s\n", entity, id, rec, sid, sv)
			}
		}
	}
	n, err := db.PendingCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "outbox %d\n", n)
	return b.String()
}

// TestApplyRemoteBatch applies pages of pulled records in one transaction
// and checks each against applying the same records one by one with
// ApplyRemote: same records, refs and per-record errors.
func TestApplyRemoteBatch(t *testing.T) {
	type want struct {
		errs []error // per record: nil, lane.ErrConflict or lane.ErrNotFound
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, db *localdb.DB)
		recs  []lane.RemoteRecord
		want  want
	}{
		{
			name: "patient then its children in one page",
			recs: []lane.RemoteRecord{
				rr(remotePatient("p1"), "p1", "1"),
				rr(remoteEncounter("e1", "p1"), "e1", "1"),
				rr(remoteMeasurement("m1", "p1", "e1"), "m1", "2"),
			},
			want: want{errs: []error{nil, nil, nil}},
		},
		{
			name: "child before its patient is not found, alone",
			recs: []lane.RemoteRecord{
				rr(remoteEncounter("e1", "p1"), "e1", "1"),
				rr(remotePatient("p1"), "p1", "1"),
				rr(remoteMeasurement("m1", "p1", "e1"), "m1", "1"),
			},
			want: want{errs: []error{lane.ErrNotFound, nil, nil}},
		},
		{
			name: "record with undelivered local changes is a conflict, alone",
			setup: func(t *testing.T, db *localdb.DB) {
				if err := db.ApplyRemote(ctx, remotePatient("p1"), "p1", "1"); err != nil {
					t.Fatal(err)
				}
				if _, err := db.SaveMeasurement(ctx, tech, remoteMeasurement("m1", "p1", "")); err != nil {
					t.Fatal(err)
				}
			},
			recs: []lane.RemoteRecord{
				rr(remoteEncounter("e1", "p1"), "e1", "1"),
				rr(remoteMeasurement("m1", "p1", "e1"), "m1", "7"),
				rr(remoteMeasurement("m2", "p1", "e1"), "m2", "1"),
			},
			want: want{errs: []error{nil, lane.ErrConflict, nil}},
		},
		{
			name: "server deletion and an image with its bytes",
			setup: func(t *testing.T, db *localdb.DB) {
				if err := db.ApplyRemote(ctx, remotePatient("p1"), "p1", "1"); err != nil {
					t.Fatal(err)
				}
				if err := db.ApplyRemote(ctx, remoteEncounter("e1", "p1"), "e1", "1"); err != nil {
					t.Fatal(err)
				}
			},
			recs: func() []lane.RemoteRecord {
				gone := remoteEncounter("e1", "p1")
				gone.Deleted = true
				img := lane.Image{ID: "i1", PatientID: "p1", MediaType: "image/jpeg", CapturedAt: lanetest.T0}
				data := []byte("synthetic image bytes")
				img.SHA256 = sha256.Sum256(data)
				return []lane.RemoteRecord{rr(gone, "e1", "2"), {Rec: img, ServerID: "i1", ServerVersion: "1", Data: data}}
			}(),
			want: want{errs: []error{nil, nil}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids := map[string][]string{}
			for _, r := range tc.recs {
				e, id := entityOf(r.Rec)
				ids[e] = append(ids[e], id)
			}
			// one by one
			one := newDB(t)
			if tc.setup != nil {
				tc.setup(t, one)
			}
			for i, r := range tc.recs {
				var err error
				if img, ok := r.Rec.(lane.Image); ok && r.Data != nil {
					err = one.ApplyRemoteImage(ctx, img, r.Data, r.ServerID, r.ServerVersion)
				} else {
					err = one.ApplyRemote(ctx, r.Rec, r.ServerID, r.ServerVersion)
				}
				if !errorIs(err, tc.want.errs[i]) {
					t.Fatalf("ApplyRemote %d: %v, want %v", i, err, tc.want.errs[i])
				}
			}
			// as a batch
			batch := newDB(t)
			if tc.setup != nil {
				tc.setup(t, batch)
			}
			errs, err := batch.ApplyRemoteBatch(ctx, tc.recs)
			if err != nil {
				t.Fatalf("ApplyRemoteBatch: %v", err)
			}
			if len(errs) != len(tc.recs) {
				t.Fatalf("%d errors for %d records", len(errs), len(tc.recs))
			}
			for i, e := range errs {
				if !errorIs(e, tc.want.errs[i]) {
					t.Errorf("record %d: %v, want %v", i, e, tc.want.errs[i])
				}
			}
			if a, b := localState(t, one, ids), localState(t, batch, ids); a != b {
				t.Errorf("one by one:\n%s\nbatch:\n%s", a, b)
			}
			for _, r := range tc.recs {
				if img, ok := r.Rec.(lane.Image); ok && r.Data != nil {
					got, err := batch.ImageData(ctx, img.ID)
					if err != nil || string(got) != string(r.Data) {
						t.Errorf("image bytes: %q, %v", got, err)
					}
				}
			}
			if rep, err := batch.VerifyAudit(ctx); err != nil || rep.BrokenAt != 0 {
				t.Errorf("audit chain after the batch: %+v, %v", rep, err)
			}
		})
	}
}

func errorIs(err, want error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}

func entityOf(rec any) (string, string) {
	switch r := rec.(type) {
	case lane.Patient:
		return lane.EntityPatient, string(r.ID)
	case lane.Encounter:
		return lane.EntityEncounter, string(r.ID)
	case lane.Measurement:
		return lane.EntityMeasurement, string(r.ID)
	case lane.Image:
		return lane.EntityImage, string(r.ID)
	}
	panic(fmt.Sprintf("entityOf %T", rec))
}

// TestApplyRemoteBatchAllOrNothing: a record failing for any other reason
// than the conflict rule or a missing parent rolls back the whole batch:
// no record, ref, audit event or outbox entry of it remains.
func TestApplyRemoteBatchAllOrNothing(t *testing.T) {
	db := newDB(t)
	before, err := db.ListAudit(ctx, lane.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	bad := lane.Appointment{ID: "a1", PatientID: "p1"} // no start: invalid
	_, err = db.ApplyRemoteBatch(ctx, []lane.RemoteRecord{
		rr(remotePatient("p1"), "p1", "1"),
		rr(remoteEncounter("e1", "p1"), "e1", "1"),
		rr(bad, "a1", "1"),
	})
	if !errors.Is(err, lane.ErrInvalid) {
		t.Fatalf("ApplyRemoteBatch = %v, want ErrInvalid", err)
	}
	ids := map[string][]string{lane.EntityPatient: {"p1"}, lane.EntityEncounter: {"e1"}}
	if got, want := localState(t, db, ids), "Patient/p1: absent, server \"\"@\"\"\nEncounter/e1: absent, server \"\"@\"\"\noutbox 0\n"; got != want {
		t.Errorf("after a failed batch:\n%s\nwant:\n%s", got, want)
	}
	if sid, _, _ := db.ServerRef(ctx, lane.EntityPatient, "p1"); sid != "" {
		t.Errorf("server ref kept after a failed batch: %q", sid)
	}
	after, err := db.ListAudit(ctx, lane.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("%d audit events after a failed batch, want %d", len(after), len(before))
	}
}

// TestApplyRemoteBatchAudit: a batch appends one audit event per patient,
// entity type and action, attributed to sync, whose detail names every
// record; a batch of one writes exactly what ApplyRemote writes.
func TestApplyRemoteBatchAudit(t *testing.T) {
	db := newDB(t)
	recs := []lane.RemoteRecord{rr(remotePatient("p1"), "p1", "1"), rr(remotePatient("p2"), "p2", "1")}
	for i := 0; i < 5; i++ {
		recs = append(recs, rr(remoteMeasurement(fmt.Sprintf("m%d", i), "p1", ""), fmt.Sprintf("m%d", i), "1"))
	}
	recs = append(recs, rr(remoteMeasurement("m9", "p2", ""), "m9", "1"))
	if _, err := db.ApplyRemoteBatch(ctx, recs); err != nil {
		t.Fatal(err)
	}
	evs, err := db.ListAudit(ctx, lane.AuditFilter{User: "sync"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%s %s %s", e.PatientID, e.Action, e.Entity))
		if e.Entity == lane.EntityMeasurement {
			for i := 0; i < 5; i++ {
				if !strings.Contains(e.Detail, fmt.Sprintf("Observation/m%d: version 1; from server version 1", i)) {
					t.Errorf("folded detail lacks m%d: %q", i, e.Detail)
				}
			}
		}
	}
	want := []string{"p1 create Patient/p1", "p2 create Patient/p2", "p1 create Observation", "p2 create Observation/m9"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rep, err := db.VerifyAudit(ctx); err != nil || rep.BrokenAt != 0 {
		t.Errorf("audit chain: %+v, %v", rep, err)
	}
}

// TestMarkPushedBatch marks many entries in one transaction, all or
// nothing.
func TestMarkPushedBatch(t *testing.T) {
	db := newDB(t)
	p := savePatient(t, db, "Batch", "B-1")
	for i := 0; i < 3; i++ {
		if _, err := db.SaveMeasurement(ctx, tech, remoteMeasurement(fmt.Sprintf("m%d", i), string(p.ID), "")); err != nil {
			t.Fatal(err)
		}
	}
	pending, err := db.PendingChanges(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ds []lane.Delivered
	for _, e := range pending {
		ds = append(ds, lane.Delivered{Seq: e.Seq, ServerID: "srv-" + e.ID, ServerVersion: "1"})
	}
	// An unknown entry fails the batch and marks nothing.
	if err := db.MarkPushedBatch(ctx, append(ds[:1:1], lane.Delivered{Seq: 1 << 40})); !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("MarkPushedBatch with an unknown seq = %v, want ErrNotFound", err)
	}
	if n, _ := db.PendingCount(ctx); n != len(pending) {
		t.Fatalf("%d pending after a failed batch, want %d", n, len(pending))
	}
	if err := db.MarkPushedBatch(ctx, ds); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.PendingCount(ctx); n != 0 {
		t.Errorf("%d pending after marking all", n)
	}
	if sid, v, _ := db.ServerRef(ctx, lane.EntityMeasurement, "m1"); sid != "srv-m1" || v != "1" {
		t.Errorf("server ref of m1 = %q@%q", sid, v)
	}
	if id, err := db.LocalID(ctx, lane.EntityMeasurement, "srv-m2"); err != nil || id != "m2" {
		t.Errorf("LocalID(srv-m2) = %q, %v", id, err)
	}
}

// BenchmarkApplyRemote compares storing a chart-sized page (one patient,
// 60 records) record by record and as one batch.
func BenchmarkApplyRemote(b *testing.B) {
	page := func(n int) []lane.RemoteRecord {
		pid := fmt.Sprintf("p%d", n)
		recs := []lane.RemoteRecord{rr(remotePatient(pid), pid, "1")}
		for i := 0; i < 59; i++ {
			id := fmt.Sprintf("%s-m%d", pid, i)
			recs = append(recs, rr(remoteMeasurement(id, pid, ""), id, "1"))
		}
		return recs
	}
	b.Run("record by record", func(b *testing.B) {
		db := newDB(b)
		for i := 0; i < b.N; i++ {
			for _, r := range page(i) {
				if err := db.ApplyRemote(ctx, r.Rec, r.ServerID, r.ServerVersion); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("batch", func(b *testing.B) {
		db := newDB(b)
		for i := 0; i < b.N; i++ {
			if _, err := db.ApplyRemoteBatch(ctx, page(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
