package localdb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
)

// PurgePolicy says which patients the lane no longer needs to hold.
type PurgePolicy struct {
	// Window: a patient with an appointment ending, or any record changed,
	// within Window before now (or any time after) is kept.
	Window time.Duration
	// DryRun counts what would be purged without deleting.
	DryRun bool
}

// PurgeReport says what a purge did.
type PurgeReport struct {
	Candidates int `json:"candidates"` // patients outside the window
	Purged     int `json:"purged"`
	// Kept counts candidates kept, by reason.
	Kept map[string]int `json:"kept"`
}

// Reasons a purge candidate is kept.
const (
	KeptUnsynced = "unsynced local changes"
	KeptConflict = "open sync conflict"
	KeptNoServer = "records the server has never seen"
)

// childTables are the record tables that hang off a patient, with the
// entity name their sync refs use.
var childTables = []table{tAppointments, tEncounters, tMeasurements, tSpectacleRx, tContactRx, tImages}

// Purge removes from the lane every patient outside the retention window
// whose data is safely on the server: no outbox entry (pending or parked),
// no open conflict, and every record of the patient known to the server.
// Unsynced data is never purged. Each patient is removed with all their
// records, image bytes, captures, tombstones and sync refs in one
// transaction that also writes an audit event (action purge). Freed pages
// are zeroed (secure_delete). The audit log itself is kept.
func (db *DB) Purge(ctx context.Context, by lane.Actor, p PurgePolicy) (PurgeReport, error) {
	rep := PurgeReport{Kept: map[string]int{}}
	if err := checkActor(by); err != nil {
		return rep, err
	}
	if p.Window <= 0 {
		return rep, lane.Invalidf("purge: the retention window must be positive")
	}
	cutoff := db.clock.Now().Add(-p.Window).UnixMilli()
	ids, err := queryStrings(ctx, db.r, `SELECT id FROM patients p WHERE updated_at < ?1
		AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.patient_id = p.id AND (a.end_at >= ?1 OR a.updated_at >= ?1))
		AND NOT EXISTS (SELECT 1 FROM encounters e WHERE e.patient_id = p.id AND e.updated_at >= ?1)
		AND NOT EXISTS (SELECT 1 FROM measurements m WHERE m.patient_id = p.id AND m.updated_at >= ?1)
		AND NOT EXISTS (SELECT 1 FROM prescriptions r WHERE r.patient_id = p.id AND r.updated_at >= ?1)
		AND NOT EXISTS (SELECT 1 FROM images i WHERE i.patient_id = p.id AND i.updated_at >= ?1)
		AND NOT EXISTS (SELECT 1 FROM captures c WHERE c.patient_id = p.id AND c.received_at >= ?1)
		ORDER BY id`, cutoff)
	if err != nil {
		return rep, err
	}
	rep.Candidates = len(ids)
	for _, id := range ids {
		var kept string
		err := db.write(ctx, func(tx *wtx) error {
			var err error
			if kept, err = tx.purgeBlocker(id); err != nil || kept != "" || p.DryRun {
				return err
			}
			return tx.purgePatient(id, by)
		})
		if err != nil {
			return rep, fmt.Errorf("localdb: purge: %w", err)
		}
		if kept != "" {
			rep.Kept[kept]++
		} else if !p.DryRun {
			rep.Purged++
		}
	}
	if rep.Purged > 0 {
		db.DropCaches()
	}
	return rep, nil
}

// purgeBlocker says why a patient must stay ("" when they may go).
func (tx *wtx) purgeBlocker(id string) (string, error) {
	var n int
	if err := tx.QueryRowContext(tx.ctx, `SELECT count(*) FROM outbox WHERE patient_id = ?`, id).Scan(&n); err != nil || n > 0 {
		return KeptUnsynced, err
	}
	if err := tx.QueryRowContext(tx.ctx, `SELECT count(*) FROM conflicts WHERE patient_id = ? AND resolved_at IS NULL`, id).Scan(&n); err != nil || n > 0 {
		return KeptConflict, err
	}
	if err := tx.QueryRowContext(tx.ctx, `SELECT count(*) FROM sync_refs WHERE entity = ? AND id = ?`, lane.EntityPatient, id).Scan(&n); err != nil || n == 0 {
		return KeptNoServer, err
	}
	for _, t := range childTables {
		q := `SELECT count(*) FROM ` + t.name + ` x WHERE x.patient_id = ? AND NOT EXISTS
			(SELECT 1 FROM sync_refs r WHERE r.entity = ? AND r.id = x.id)`
		args := []any{id, t.entity}
		if t.name == "prescriptions" {
			q += ` AND x.kind = ?`
			args = append(args, map[string]string{lane.EntitySpectacleRx: "spectacle", lane.EntityContactRx: "contact"}[t.entity])
		}
		if err := tx.QueryRowContext(tx.ctx, q, args...).Scan(&n); err != nil || n > 0 {
			return KeptNoServer, err
		}
	}
	return "", nil
}

func (tx *wtx) purgePatient(id string, by lane.Actor) error {
	counts := map[string]int64{}
	exec := func(label, q string, args ...any) error {
		res, err := tx.ExecContext(tx.ctx, q, args...)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		counts[label] += n
		return nil
	}
	stmts := []struct{ label, q string }{
		{"sync refs", `DELETE FROM sync_refs WHERE (entity, id) IN (
			SELECT 'Patient', id FROM patients WHERE id = ?1
			UNION ALL SELECT 'Appointment', id FROM appointments WHERE patient_id = ?1
			UNION ALL SELECT 'Encounter', id FROM encounters WHERE patient_id = ?1
			UNION ALL SELECT 'Observation', id FROM measurements WHERE patient_id = ?1
			UNION ALL SELECT CASE kind WHEN 'spectacle' THEN 'VisionPrescription' ELSE 'ContactLensRx' END, id FROM prescriptions WHERE patient_id = ?1
			UNION ALL SELECT 'Image', id FROM images WHERE patient_id = ?1
			UNION ALL SELECT 'Annotation', a.id FROM annotations a JOIN images i ON a.image_id = i.id WHERE i.patient_id = ?1)`},
		{"annotations", `DELETE FROM annotations WHERE image_id IN (SELECT id FROM images WHERE patient_id = ?1)`},
		{"image chunks", `DELETE FROM image_chunks WHERE image_id IN (SELECT id FROM images WHERE patient_id = ?1)`},
		{"images", `DELETE FROM images WHERE patient_id = ?1`},
		{"measurements", `DELETE FROM measurements WHERE patient_id = ?1`},
		{"prescriptions", `DELETE FROM prescriptions WHERE patient_id = ?1`},
		{"encounters", `DELETE FROM encounters WHERE patient_id = ?1`},
		{"appointments", `DELETE FROM appointments WHERE patient_id = ?1`},
		{"captures", `DELETE FROM captures WHERE patient_id = ?1`},
		{"tombstones", `DELETE FROM tombstones WHERE patient_id = ?1`},
		{"conflicts", `DELETE FROM conflicts WHERE patient_id = ?1`},
		{"patients", `DELETE FROM patients WHERE id = ?1`},
	}
	// Keep the change sequence's high-water mark before rows go.
	if _, err := tx.ExecContext(tx.ctx, `INSERT INTO meta(k, v) VALUES ('chg_hw', CAST(`+nextChg+` AS TEXT))
		ON CONFLICT(k) DO UPDATE SET v = excluded.v`); err != nil {
		return err
	}
	for _, s := range stmts {
		if err := exec(s.label, s.q, id); err != nil {
			return fmt.Errorf("%s: %w", s.label, err)
		}
	}
	var parts []string
	for _, s := range stmts {
		if counts[s.label] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s.label, counts[s.label]))
		}
	}
	return tx.audit(lane.AuditEvent{User: by.User, Role: by.PrimaryRole(), Lane: by.Lane, PatientID: lane.PatientID(id),
		Action: lane.AuditPurge, Entity: lane.EntityPatient + "/" + id, Reason: by.Reason,
		Detail: "retention purge removed " + strings.Join(parts, ", ")})
}
