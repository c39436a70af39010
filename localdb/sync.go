package localdb

import (
	"context"
	"fmt"
	"strconv"

	"github.com/examlane/examlane/lane"
)

// syncActor is who remote changes are attributed to in the audit log.
var syncActor = lane.Actor{User: "sync", Lane: "", Device: ""}

// enqueue adds an outbox entry in this transaction, based on the server
// version currently known for the record.
func (tx *wtx) enqueue(entity, id string, op lane.OutboxOp, localVersion int64, patient lane.PatientID, by lane.Actor) error {
	base, err := tx.serverVersion(entity, id)
	if err != nil {
		return err
	}
	return tx.enqueueOn(entity, id, op, localVersion, base, patient, by)
}

func (tx *wtx) enqueueOn(entity, id string, op lane.OutboxOp, localVersion int64, base string, patient lane.PatientID, by lane.Actor) error {
	idem := lane.NewID()
	kid := tx.db.keys.Current()
	actor, err := tx.db.sealJSON(kid, tx.db.aad("outbox", idem, "actor", 0), by)
	if err != nil {
		return err
	}
	var pid any
	if patient != "" && entity != lane.EntityAudit {
		pid = string(patient)
	}
	_, err = tx.ExecContext(tx.ctx, `INSERT INTO outbox(entity, entity_id, op, idem_key, local_version, base_version, patient_id, key_id, actor, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, entity, id, string(op), idem, localVersion, base, pid, kid, actor, tx.db.now())
	return err
}

func (tx *wtx) serverVersion(entity, id string) (string, error) {
	var v string
	err := tx.QueryRowContext(tx.ctx, `SELECT server_version FROM sync_refs WHERE entity = ? AND id = ?`, entity, id).Scan(&v)
	if noRows(err) {
		return "", nil
	}
	return v, err
}

// setServerVersion records the server version of a record, keeping its
// server id (the local id when none is known yet).
func (tx *wtx) setServerVersion(entity, id, v string) error {
	_, err := tx.ExecContext(tx.ctx, `INSERT INTO sync_refs(entity, id, server_id, server_version) VALUES (?, ?, ?, ?)
		ON CONFLICT(entity, id) DO UPDATE SET server_version = excluded.server_version`, entity, id, id, v)
	return err
}

// setServerRef records the server id and version of a record.
func (tx *wtx) setServerRef(entity, id, serverID, v string) error {
	if serverID == "" {
		return tx.setServerVersion(entity, id, v)
	}
	_, err := tx.ExecContext(tx.ctx, `INSERT INTO sync_refs(entity, id, server_id, server_version) VALUES (?, ?, ?, ?)
		ON CONFLICT(entity, id) DO UPDATE SET server_id = excluded.server_id, server_version = excluded.server_version`,
		entity, id, serverID, v)
	return err
}

// PendingChanges returns undelivered, unparked outbox entries in Seq order
// (all of them when limit <= 0).
func (db *DB) PendingChanges(ctx context.Context, limit int) ([]lane.OutboxEntry, error) {
	q := `SELECT seq, entity, entity_id, op, idem_key, local_version, base_version, key_id, actor, created_at, attempts, last_error
		FROM outbox WHERE parked = 0 ORDER BY seq`
	if limit > 0 {
		q += " LIMIT " + strconv.Itoa(limit)
	}
	rows, err := db.r.QueryContext(ctx, q)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []lane.OutboxEntry
	for rows.Next() {
		var e lane.OutboxEntry
		var op string
		var kid uint32
		var actor, lastErr []byte
		var created int64
		if err := rows.Scan(&e.Seq, &e.Entity, &e.ID, &op, &e.IdempotencyKey, &e.LocalVersion, &e.BaseVersion, &kid, &actor,
			&created, &e.Attempts, &lastErr); err != nil {
			return nil, err
		}
		e.Op, e.Created = lane.OutboxOp(op), timeMs(created)
		if err := db.openJSON(db.aad("outbox", e.IdempotencyKey, "actor", 0), actor, &e.Actor); err != nil {
			return nil, err
		}
		if lastErr != nil {
			if err := db.openJSON(db.aad("outbox", e.IdempotencyKey, "last_error", int64(e.Attempts)), lastErr, &e.LastError); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
	return out, classify(rows.Err())
}

// Record returns the current local record an outbox entry refers to (a
// tombstone has Deleted set).
func (db *DB) Record(ctx context.Context, entity, id string) (any, error) {
	switch entity {
	case lane.EntityAudit:
		r, err := scanAudit(db.r.QueryRowContext(ctx, `SELECT `+auditCols+` FROM audit_log WHERE id = ?`, id))
		if noRows(err) {
			return nil, notFound(entity, id)
		}
		if err != nil {
			return nil, classify(err)
		}
		return db.auditEvent(r)
	case lane.EntityPatient:
		return record[lane.Patient](ctx, db, tPatients, id)
	case lane.EntityAppointment:
		return record[lane.Appointment](ctx, db, tAppointments, id)
	case lane.EntityEncounter:
		return record[lane.Encounter](ctx, db, tEncounters, id)
	case lane.EntityMeasurement:
		return record[lane.Measurement](ctx, db, tMeasurements, id)
	case lane.EntitySpectacleRx:
		return record[lane.SpectacleRx](ctx, db, tSpectacleRx, id)
	case lane.EntityContactRx:
		return record[lane.ContactLensRx](ctx, db, tContactRx, id)
	case lane.EntityImage:
		return record[lane.Image](ctx, db, tImages, id)
	case lane.EntityAnnotation:
		return record[lane.Annotation](ctx, db, tAnnotations, id)
	}
	return nil, lane.Invalidf("record: unknown entity %q", entity)
}

func record[T any](ctx context.Context, db *DB, t table, id string) (any, error) {
	rec, _, err := getRecord[T](ctx, db, db.r, t, id)
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// MarkPushed removes a delivered entry and remembers the server's id and
// version of its record, in one transaction.
func (db *DB) MarkPushed(ctx context.Context, seq int64, serverID, serverVersion string) error {
	return db.write(ctx, func(tx *wtx) error { return tx.markPushed(seq, serverID, serverVersion) })
}

// MarkAttempt records a failed delivery attempt with its error in words
// (sealed: a server's message may quote patient data).
func (db *DB) MarkAttempt(ctx context.Context, seq int64, errText string) error {
	return db.write(ctx, func(tx *wtx) error {
		var idem string
		var attempts int64
		var kid uint32
		err := tx.QueryRowContext(ctx, `SELECT idem_key, attempts, key_id FROM outbox WHERE seq = ?`, seq).Scan(&idem, &attempts, &kid)
		if noRows(err) {
			return notFound("outbox entry", strconv.FormatInt(seq, 10))
		}
		if err != nil {
			return err
		}
		sealed, err := db.sealJSON(kid, db.aad("outbox", idem, "last_error", attempts+1), errText)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?`, sealed, seq)
		return err
	})
}

// ServerRef returns the server id and last server version known for a
// local record; both "" when the server has never seen it.
func (db *DB) ServerRef(ctx context.Context, entity, localID string) (serverID, serverVersion string, err error) {
	err = db.queryRow(ctx, `SELECT server_id, server_version FROM sync_refs WHERE entity = ? AND id = ?`, entity, localID).
		Scan(&serverID, &serverVersion)
	if noRows(err) {
		return "", "", nil
	}
	return serverID, serverVersion, classify(err)
}

// LocalID maps a server id back to the local id; ErrNotFound when the lane
// knows no record with that server id.
func (db *DB) LocalID(ctx context.Context, entity, serverID string) (string, error) {
	var id string
	// INDEXED BY: left to itself the planner walks the primary key for the
	// ORDER BY, reading every ref of the entity (a full scan per pulled
	// record and per reference).
	err := db.queryRow(ctx, `SELECT id FROM sync_refs INDEXED BY sync_refs_server
		WHERE entity = ? AND server_id = ? ORDER BY id LIMIT 1`, entity, serverID).Scan(&id)
	if noRows(err) {
		return "", notFound(entity+" with server id", serverID)
	}
	return id, classify(err)
}

// noPending is the rule for applying the server's version of a record: it
// fails with an error wrapping ErrConflict while the record has undelivered
// (or parked) outbox entries.
func (tx *wtx) noPending(entity, id string) error {
	var n int
	if err := tx.QueryRowContext(tx.ctx, `SELECT count(*) FROM outbox WHERE entity = ? AND entity_id = ?`, entity, id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%s %s has undelivered local changes: %w", entity, id, lane.ErrConflict)
	}
	return nil
}

// ApplyRemote stores a record pulled from the server (see lane.SyncStore).
// A child record whose patient this lane does not hold returns an error
// wrapping ErrNotFound: pull patients first.
func (db *DB) ApplyRemote(ctx context.Context, rec any, serverID, serverVersion string) error {
	err := db.write(ctx, func(tx *wtx) error {
		return db.applyRemote(ctx, tx, lane.RemoteRecord{Rec: rec, ServerID: serverID, ServerVersion: serverVersion})
	})
	if err != nil {
		return fmt.Errorf("localdb: apply remote %T: %w", rec, err)
	}
	return nil
}

// acceptRemote describes a record pulled from the server, checks it against
// ApplyRemote's conflict rule and records its server id and version.
func (db *DB) acceptRemote(ctx context.Context, tx *wtx, rec any, serverID, serverVersion string) (recInfo, error) {
	ri, err := db.describe(ctx, tx, rec)
	if err != nil {
		return ri, err
	}
	if err := tx.noPending(ri.t.entity, ri.id); err != nil {
		return ri, err
	}
	return ri, tx.setServerRef(ri.t.entity, ri.id, serverID, serverVersion)
}

// ApplyRemoteDelete marks a record deleted by the server, with the same
// conflict rule as ApplyRemote. Deleting a record the lane does not hold
// only records the server version.
func (db *DB) ApplyRemoteDelete(ctx context.Context, entity, id, serverVersion string) error {
	t, ok := tableOfEntity[entity]
	if !ok {
		return lane.Invalidf("apply remote delete: unknown entity %q", entity)
	}
	err := db.write(ctx, func(tx *wtx) error {
		if err := tx.noPending(entity, id); err != nil {
			return err
		}
		return tx.remove(t, id, 0, saveRemote, syncActor, serverVersion)
	})
	if err != nil {
		return fmt.Errorf("localdb: apply remote delete: %w", err)
	}
	return nil
}

// Watermark returns the incremental-pull position kept under key ("" when
// none).
func (db *DB) Watermark(ctx context.Context, key string) (string, error) {
	var v string
	err := db.r.QueryRowContext(ctx, `SELECT v FROM watermarks WHERE k = ?`, key).Scan(&v)
	if noRows(err) {
		return "", nil
	}
	return v, classify(err)
}

// SetWatermark stores an incremental-pull position.
func (db *DB) SetWatermark(ctx context.Context, key, value string) error {
	return db.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO watermarks(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`, key, value)
		return err
	})
}

// conflictDoc is the sealed part of a conflict.
type conflictDoc struct {
	Mine   []byte `json:"mine"`
	Theirs []byte `json:"theirs"`
}

// AddConflict keeps both versions of a refused change and parks the
// record's outbox entries until a person resolves it.
func (db *DB) AddConflict(ctx context.Context, c lane.Conflict) error {
	if c.Entity == "" || c.EntityID == "" {
		return lane.Invalidf("add conflict: missing entity or id")
	}
	if c.ID == "" {
		c.ID = lane.ConflictID(lane.NewID())
	}
	if c.Detected.IsZero() {
		c.Detected = db.clock.Now()
	}
	return db.write(ctx, func(tx *wtx) error {
		kid := db.keys.Current()
		sealed, err := db.sealJSON(kid, db.aad("conflicts", string(c.ID), "sealed", 1), conflictDoc{Mine: c.Mine, Theirs: c.Theirs})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO conflicts(id, entity, entity_id, patient_id, theirs_version, version, key_id, sealed, detected_at)
			VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)`, string(c.ID), c.Entity, c.EntityID, string(c.PatientID), c.TheirsVersion, kid, sealed,
			c.Detected.UnixMilli()); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET parked = 1 WHERE entity = ? AND entity_id = ?`, c.Entity, c.EntityID)
		return err
	})
}

// Conflicts returns conflicts by detection time, unresolved only unless
// includeResolved.
func (db *DB) Conflicts(ctx context.Context, includeResolved bool) ([]lane.Conflict, error) {
	q := `SELECT id, entity, entity_id, patient_id, theirs_version, version, sealed, detected_at, coalesce(resolved_at, 0), resolution, resolved_by
		FROM conflicts`
	if !includeResolved {
		q += ` WHERE resolved_at IS NULL`
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY detected_at, id`)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []lane.Conflict
	for rows.Next() {
		var c lane.Conflict
		var id, pid, res, by string
		var ver, det, resAt int64
		var sealed []byte
		if err := rows.Scan(&id, &c.Entity, &c.EntityID, &pid, &c.TheirsVersion, &ver, &sealed, &det, &resAt, &res, &by); err != nil {
			return nil, err
		}
		c.ID, c.PatientID, c.Resolution, c.ResolvedBy = lane.ConflictID(id), lane.PatientID(pid), lane.ConflictResolution(res), lane.UserID(by)
		c.Detected, c.Resolved = timeMs(det), timeMs(resAt)
		var d conflictDoc
		if err := db.openJSON(db.aad("conflicts", id, "sealed", ver), sealed, &d); err != nil {
			return nil, err
		}
		c.Mine, c.Theirs = d.Mine, d.Theirs
		out = append(out, c)
	}
	return out, classify(rows.Err())
}

// ResolveConflict records a person's decision (see lane.SyncStore). The
// parked outbox entries of the record are dropped; keep-mine and merge
// queue rec as a new change on the server's version, take-theirs applies
// rec locally without an outbox entry.
func (db *DB) ResolveConflict(ctx context.Context, id lane.ConflictID, how lane.ConflictResolution, by lane.Actor, rec any) error {
	if err := checkActor(by); err != nil {
		return err
	}
	switch how {
	case lane.ResolveKeepMine, lane.ResolveMerge, lane.ResolveTakeTheirs:
	default:
		return lane.Invalidf("resolve conflict: unknown resolution %q", how)
	}
	if rec == nil {
		return lane.Invalidf("resolve conflict: no record")
	}
	err := db.write(ctx, func(tx *wtx) error {
		var entity, entityID, theirs string
		var resolved int64
		err := tx.QueryRowContext(ctx, `SELECT entity, entity_id, theirs_version, coalesce(resolved_at, 0) FROM conflicts WHERE id = ?`, string(id)).
			Scan(&entity, &entityID, &theirs, &resolved)
		if noRows(err) {
			return notFound("conflict", string(id))
		}
		if err != nil {
			return err
		}
		if resolved != 0 {
			return fmt.Errorf("conflict %s already resolved: %w", id, lane.ErrConflict)
		}
		ri, err := db.describe(ctx, tx, rec)
		if err != nil {
			return err
		}
		if ri.t.entity != entity || ri.id != entityID {
			return lane.Invalidf("resolve conflict %s: record is %s/%s, conflict is about %s/%s", id, ri.t.entity, ri.id, entity, entityID)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE entity = ? AND entity_id = ?`, entity, entityID); err != nil {
			return err
		}
		mode := saveResolve
		if how == lane.ResolveTakeTheirs {
			mode = saveRemote
		}
		if _, err := tx.save(ri, mode, by, theirs); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE conflicts SET resolved_at = ?, resolution = ?, resolved_by = ? WHERE id = ?`,
			db.now(), string(how), string(by.User), string(id)); err != nil {
			return err
		}
		return tx.audit(auditFor(by, lane.AuditUpdate, "Conflict", string(id), ri.patient, "conflict resolved: "+string(how)))
	})
	if err != nil {
		return fmt.Errorf("localdb: resolve conflict: %w", err)
	}
	return nil
}

// PendingCount returns how many outbox entries wait for delivery (parked
// ones excluded), for the status bar.
func (db *DB) PendingCount(ctx context.Context) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE parked = 0`).Scan(&n)
	return n, classify(err)
}

// ApplyRemoteImage stores an image pulled from the server with its bytes,
// in one transaction, under ApplyRemote's conflict rule. The bytes must
// match the image's SHA256 when it is set.
func (db *DB) ApplyRemoteImage(ctx context.Context, img lane.Image, data []byte, serverID, serverVersion string) error {
	if data == nil {
		return db.ApplyRemote(ctx, img, serverID, serverVersion)
	}
	err := db.write(ctx, func(tx *wtx) error {
		return db.applyRemote(ctx, tx, lane.RemoteRecord{Rec: img, ServerID: serverID, ServerVersion: serverVersion, Data: data})
	})
	if err != nil {
		return fmt.Errorf("localdb: apply remote image: %w", err)
	}
	return nil
}
