package localdb_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb"
)

// TestChangeOutboxAuditOneTransaction: a save writes its row, its outbox
// entry and its audit event together, and a refused save writes none.
func TestChangeOutboxAuditOneTransaction(t *testing.T) {
	db := newDB(t)
	count := func() (rows, outbox, audit int) {
		s, err := db.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s.Tables["patients"], s.Tables["outbox"], s.Tables["audit_log"]
	}
	p := savePatient(t, db, "Atom", "AT-1")
	r, o, a := count()
	if r != 1 || o != 2 || a != 1 { // outbox: the record and its audit event
		t.Fatalf("after one save rows=%d outbox=%d audit=%d", r, o, a)
	}
	stale := p
	stale.Version = 0
	if _, err := db.SavePatient(ctx, tech, stale); !errors.Is(err, lane.ErrConflict) {
		t.Fatal(err)
	}
	if r2, o2, a2 := count(); r2 != r || o2 != o || a2 != a {
		t.Fatalf("refused save wrote something: %d %d %d", r2, o2, a2)
	}
	evs, _ := db.ListAudit(ctx, lane.AuditFilter{PatientID: p.ID})
	if len(evs) != 1 || evs[0].Action != lane.AuditCreate || evs[0].Entity != "Patient/"+string(p.ID) || evs[0].User != tech.User {
		t.Fatalf("audit = %+v", evs)
	}
	p.Phone = "+1 555 0177"
	if _, err := db.SavePatient(ctx, tech, p); err != nil {
		t.Fatal(err)
	}
	evs, _ = db.ListAudit(ctx, lane.AuditFilter{PatientID: p.ID})
	if !strings.Contains(evs[1].Detail, "changed Phone") || strings.Contains(evs[1].Detail, "0177") {
		t.Errorf("update detail = %q, want the changed field name and no value", evs[1].Detail)
	}
}

func TestAuditAppendOnlyTriggers(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t, cfg)
	for i := 0; i < 12; i++ { // past the first checkpoint
		savePatient(t, db, "Append", fmt.Sprintf("AP-%d", i))
	}
	db.Close()
	r := rawDB(t, cfg.Path)
	for _, q := range []string{`UPDATE audit_log SET user_id = 'someone-else'`, `DELETE FROM audit_log`,
		`UPDATE audit_checkpoints SET sig = x'00'`, `DELETE FROM audit_checkpoints`} {
		if _, err := r.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want append-only refusal", q, err)
		}
	}
}

func TestAuditChainVerifiesAndNamesFirstBrokenLink(t *testing.T) {
	cfg := testConfig(t) // checkpoint every 10 events
	db := openDB(t, cfg)
	p := savePatient(t, db, "Chain", "CH-1")
	for i := 0; i < 25; i++ {
		if err := db.Audit(ctx, lane.AuditEvent{User: "u-od", Action: lane.AuditView, PatientID: p.ID, Detail: fmt.Sprintf("view %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := db.VerifyAudit(ctx)
	if err != nil || !rep.OK() || rep.Events != 26 || rep.Checkpoints != 2 {
		t.Fatalf("VerifyAudit = %+v, %v; want 26 events, 2 checkpoints", rep, err)
	}
	db.Close()

	for _, tc := range []struct {
		name    string
		tamper  string
		brokeAt int64
	}{
		{"edited field", `UPDATE audit_log SET user_id = 'mallory' WHERE seq = 7`, 7},
		{"edited sealed detail", `UPDATE audit_log SET detail = CAST(substr(detail, 1, 20) || x'00' || substr(detail, 22) AS BLOB) WHERE seq = 12`, 12},
		{"deleted event", `DELETE FROM audit_log WHERE seq = 15`, 15},
		{"rewritten suffix", `UPDATE audit_log SET prev_hash = x'00' WHERE seq = 20`, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			c.Path = t.TempDir() + "/copy.db"
			src := openDB(t, cfg)
			if err := src.Backup(ctx, tech, c.Path); err != nil {
				t.Fatal(err)
			}
			src.Close()
			r := rawDB(t, c.Path)
			// The attacker drops the triggers first.
			if _, err := r.Exec(`DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; ` + tc.tamper); err != nil {
				t.Fatal(err)
			}
			r.Close()
			db := openDB(t, c)
			rep, err := db.VerifyAudit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() || rep.BrokenAt != tc.brokeAt {
				t.Fatalf("VerifyAudit = %+v, want first broken link at %d", rep, tc.brokeAt)
			}
			t.Logf("event %d: %s", rep.BrokenAt, rep.Problem)
		})
	}
}

func TestAuditDetailSealedAndDeleteTombstone(t *testing.T) {
	db := newDB(t)
	p := savePatient(t, db, "Tomb", "TB-1")
	m, err := db.SaveMeasurement(ctx, tech, lane.Measurement{PatientID: p.ID, Kind: lane.KindIOP, IOP: &lane.IOP{Pressure: 180}})
	if err != nil {
		t.Fatal(err)
	}
	why := tech
	why.Reason = "entered for the wrong patient"
	if err := db.DeleteMeasurement(ctx, why, m.ID, m.Version); err != nil {
		t.Fatal(err)
	}
	ts, err := db.Tombstones(ctx, lane.EntityMeasurement, string(m.ID))
	if err != nil || len(ts) != 1 {
		t.Fatalf("tombstones = %+v, %v", ts, err)
	}
	if ts[0].Reason != why.Reason || ts[0].DeletedBy != why.User || ts[0].Version != 2 || !strings.Contains(string(ts[0].Prior), `"Pressure":180`) {
		t.Errorf("tombstone = %+v", ts[0])
	}
	pend, _ := db.PendingChanges(ctx, 0)
	var del bool
	for _, e := range pend {
		if e.Entity == lane.EntityMeasurement && e.Op == lane.OpDelete && e.Actor.Reason == why.Reason {
			del = true
		}
	}
	if !del {
		t.Error("deletion not queued in the outbox with its reason")
	}
	rec, err := db.Record(ctx, lane.EntityAudit, func() string {
		evs, _ := db.ListAudit(ctx, lane.AuditFilter{PatientID: p.ID})
		return evs[len(evs)-1].ID
	}())
	if err != nil || rec.(lane.AuditEvent).Action != lane.AuditDelete || rec.(lane.AuditEvent).Reason != why.Reason {
		t.Errorf("Record(AuditEvent) = %+v, %v", rec, err)
	}
}

var _ = localdb.FileName
