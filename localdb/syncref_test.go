package localdb_test

import (
	"testing"

	"github.com/examlane/examlane/lane"
)

// TestApplyRemoteDeletionRefs: a deletion pulled in a batch records the
// record's server id and version whether or not the lane holds the record
// (the batch records the ref once, before the tombstone), like
// ApplyRemoteDelete records the version.
func TestApplyRemoteDeletionRefs(t *testing.T) {
	gone := func(id string) lane.Encounter {
		e := remoteEncounter(id, "p1")
		e.Deleted = true
		return e
	}
	db := newDB(t)
	if err := db.ApplyRemote(ctx, remotePatient("p1"), "srv-p1", "1"); err != nil {
		t.Fatal(err)
	}
	if err := db.ApplyRemote(ctx, remoteEncounter("e-held", "p1"), "srv-held", "1"); err != nil {
		t.Fatal(err)
	}
	errs, err := db.ApplyRemoteBatch(ctx, []lane.RemoteRecord{
		rr(gone("e-held"), "srv-held", "2"),
		rr(gone("e-unknown"), "srv-unknown", "5"),
		rr(gone("e-held"), "srv-held", "3"), // already a tombstone
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		if e != nil {
			t.Errorf("record %d: %v", i, e)
		}
	}
	for _, c := range []struct{ id, sid, sv string }{
		{"e-held", "srv-held", "3"},
		{"e-unknown", "srv-unknown", "5"},
	} {
		sid, sv, err := db.ServerRef(ctx, lane.EntityEncounter, c.id)
		if err != nil || sid != c.sid || sv != c.sv {
			t.Errorf("%s: server %q@%q, %v; want %s@%s", c.id, sid, sv, err, c.sid, c.sv)
		}
	}
	if _, err := db.GetEncounter(ctx, "e-held"); !errorIs(err, lane.ErrNotFound) {
		t.Errorf("deleted encounter: %v, want not found", err)
	}
	if _, err := db.Record(ctx, lane.EntityEncounter, "e-unknown"); !errorIs(err, lane.ErrNotFound) {
		t.Errorf("a deletion of an unknown record stored a record: %v", err)
	}
	// the one-record path and the explicit delete agree
	if err := db.ApplyRemoteDelete(ctx, lane.EntityEncounter, "e-other", "7"); err != nil {
		t.Fatal(err)
	}
	if sid, sv, _ := db.ServerRef(ctx, lane.EntityEncounter, "e-other"); sid != "e-other" || sv != "7" {
		t.Errorf("ApplyRemoteDelete of an unknown record: server %q@%q, want e-other@7", sid, sv)
	}
}
