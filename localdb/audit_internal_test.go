package localdb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/examlane/examlane/lane"
)

// TestRecomputedChainCaughtByCheckpoint: an attacker with write access who
// edits an old event and recomputes every later hash (so the chain itself
// is consistent again) is caught by the signed checkpoint, which they
// cannot re-sign without the sealed lane key.
func TestRecomputedChainCaughtByCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	db, err := Open(ctx, Config{Path: path, UnsafeNoSeal: true, CheckpointEvery: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < 15; i++ {
		if err := db.Audit(ctx, lane.AuditEvent{User: "u-od", Action: lane.AuditView}); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.w.QueryContext(ctx, `SELECT `+auditCols+` FROM audit_log ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var all []*auditRow
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	rows.Close()
	all[2].user = "mallory" // event 3
	prev := genesis(db.dbID)
	if _, err := db.w.ExecContext(ctx, `DROP TRIGGER audit_no_update`); err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		r.prev = prev
		r.hash = chainHash(prev, r)
		prev = r.hash
		if _, err := db.w.ExecContext(ctx, `UPDATE audit_log SET user_id = ?, prev_hash = ?, hash = ? WHERE seq = ?`, r.user, r.prev, r.hash, r.seq); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := db.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.BrokenAt != 10 {
		t.Fatalf("VerifyAudit = %+v, want the checkpoint at 10 to expose the rewrite", rep)
	}
	t.Logf("event %d: %s", rep.BrokenAt, rep.Problem)
}
