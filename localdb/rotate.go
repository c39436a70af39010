package localdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/examlane/examlane/lane"
)

// sealedCol is a sealed column and the SQL expression of the version bound
// into its AAD.
type sealedCol struct{ name, version string }

// sealedTable describes a table whose rows carry sealed columns under one
// key_id, for key rotation and checks.
type sealedTable struct {
	name  string
	rowID string // SQL expression of the AAD row id
	cols  []sealedCol
	// reindex recomputes plaintext columns derived under the key (blind
	// indexes) from the opened values.
	reindex func(db *DB, kid uint32, plain map[string][]byte) (set []string, args []any, err error)
}

// sealedTables lists every table with sealed values except audit_log, which
// is append-only: its details stay under the key that sealed them, so keys
// that audit events use are retired, never destroyed.
var sealedTables = []sealedTable{
	{name: "patients", rowID: "id", cols: []sealedCol{{"sealed", "version"}, {"name_sealed", "version"}}, reindex: reindexPatient},
	{name: "appointments", rowID: "id", cols: []sealedCol{{"sealed", "version"}}},
	{name: "encounters", rowID: "id", cols: []sealedCol{{"sealed", "version"}}},
	{name: "measurements", rowID: "id", cols: []sealedCol{{"sealed", "version"}}},
	{name: "prescriptions", rowID: "id", cols: []sealedCol{{"sealed", "version"}}},
	{name: "images", rowID: "id", cols: []sealedCol{{"sealed", "version"}}},
	{name: "image_chunks", rowID: "image_id || '/' || n", cols: []sealedCol{{"data", "version"}}},
	{name: "annotations", rowID: "id", cols: []sealedCol{{"sealed", "version"}}},
	{name: "captures", rowID: "id", cols: []sealedCol{{"sealed", "version"}}},
	{name: "users", rowID: "id", cols: []sealedCol{{"sealed", "version"}, {"verifier", "version"}, {"totp", "version"}}, reindex: reindexUser},
	{name: "outbox", rowID: "idem_key", cols: []sealedCol{{"actor", "0"}, {"last_error", "attempts"}}},
	{name: "conflicts", rowID: "id", cols: []sealedCol{{"sealed", "version"}}},
	{name: "tombstones", rowID: "entity || '/' || id || '/' || version", cols: []sealedCol{{"sealed", "version"}}},
	{name: "lane_identity", rowID: "CAST(id AS TEXT)", cols: []sealedCol{{"priv", "version"}}},
}

func reindexPatient(db *DB, kid uint32, plain map[string][]byte) ([]string, []any, error) {
	var p lane.Patient
	if err := json.Unmarshal(plain["sealed"], &p); err != nil {
		return nil, nil, fmt.Errorf("decode patient: %w", ErrCorrupt)
	}
	if p.Deleted {
		return nil, nil, nil
	}
	return []string{"bidx_mrn", "bidx_family_dob"}, []any{db.keys.BlindIndex(kid, "mrn", p.MRN), db.familyDOBIndex(kid, p.Name.Family, p.BirthDate)}, nil
}

func reindexUser(db *DB, kid uint32, plain map[string][]byte) ([]string, []any, error) {
	var u userDoc
	if err := json.Unmarshal(plain["sealed"], &u); err != nil {
		return nil, nil, fmt.Errorf("decode user: %w", ErrCorrupt)
	}
	return []string{"bidx_login"}, []any{db.keys.BlindIndex(kid, "login", u.Login)}, nil
}

// RotationBatch is how many rows one rotation transaction re-seals.
const RotationBatch = 200

// RotationProgress reports a rotation's progress: rows re-sealed so far of
// the rows that were under old keys when this run started.
type RotationProgress struct {
	ToKey     uint32
	Table     string
	Done      int
	Total     int
	Resumed   bool
	Completed bool
}

// RotationPending reports whether a data-key rotation was started and not
// finished (it resumes with RotateKey).
func (db *DB) RotationPending(ctx context.Context) (bool, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM rotation`).Scan(&n)
	return n > 0, classify(err)
}

// RotateKey replaces the data key: it creates a new key (wrapped under the
// KEK and the recovery key), makes it the key of every new seal, then
// re-seals every row under an older key in batches of RotationBatch rows,
// one transaction per batch, and finally retires the old keys. Progress is
// recorded in the database, so a crash or cancellation mid-way loses
// nothing and the next RotateKey resumes. progress (may be nil) is called
// after each batch. Old keys stay in the database, retired, because
// append-only audit details remain sealed under them.
func (db *DB) RotateKey(ctx context.Context, by lane.Actor, progress func(RotationProgress)) error {
	if db.source == KeySourceUnsealed {
		return lane.Invalidf("rotate key: unsealed benchmark database")
	}
	if err := checkActor(by); err != nil {
		return err
	}
	var to uint32
	var resumed bool
	err := db.write(ctx, func(tx *wtx) error {
		err := tx.QueryRowContext(ctx, `SELECT to_key FROM rotation WHERE id = 1`).Scan(&to)
		if err == nil {
			resumed = true
			return nil
		}
		if !noRows(err) {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT max(key_id) + 1 FROM keys`).Scan(&to); err != nil {
			return err
		}
		if _, err := db.addDataKey(ctx, tx.Tx, to); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO rotation(id, to_key, started_at) VALUES (1, ?, ?)`, to, db.now()); err != nil {
			return err
		}
		tx.after = append(tx.after, func() { _ = db.keys.SetCurrent(to) })
		return tx.audit(lane.AuditEvent{User: by.User, Role: by.PrimaryRole(), Lane: by.Lane, Action: lane.AuditKeyRotation,
			Entity: fmt.Sprintf("DataKey/%d", to), Detail: fmt.Sprintf("data key rotation to key %d started", to)})
	})
	if err != nil {
		return fmt.Errorf("localdb: rotate key: %w", err)
	}
	if db.keys.Current() != to {
		_ = db.keys.SetCurrent(to)
	}
	total, err := db.countUnrotated(ctx, to)
	if err != nil {
		return fmt.Errorf("localdb: rotate key: %w", err)
	}
	p := RotationProgress{ToKey: to, Total: total, Resumed: resumed}
	for _, t := range sealedTables {
		for {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("localdb: rotate key: interrupted, run it again to resume: %w", err)
			}
			n, err := db.rotateBatch(ctx, t, to)
			if err != nil {
				return fmt.Errorf("localdb: rotate key: %s: %w", t.name, err)
			}
			if n == 0 {
				break
			}
			p.Table, p.Done = t.name, p.Done+n
			if progress != nil {
				progress(p)
			}
		}
	}
	err = db.write(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE keys SET retired_at = ? WHERE key_id != ? AND retired_at IS NULL`, db.now(), to); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM rotation`); err != nil {
			return err
		}
		return tx.audit(lane.AuditEvent{User: by.User, Role: by.PrimaryRole(), Lane: by.Lane, Action: lane.AuditKeyRotation,
			Entity: fmt.Sprintf("DataKey/%d", to), Detail: fmt.Sprintf("data key rotation to key %d completed; older keys retired", to)})
	})
	if err != nil {
		return fmt.Errorf("localdb: rotate key: finish: %w", err)
	}
	p.Completed = true
	if progress != nil {
		progress(p)
	}
	return nil
}

func (db *DB) countUnrotated(ctx context.Context, to uint32) (int, error) {
	total := 0
	for _, t := range sealedTables {
		var n int
		if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM `+t.name+` WHERE key_id != ?`, to).Scan(&n); err != nil {
			return 0, classify(err)
		}
		total += n
	}
	return total, nil
}

// rotateBatch re-seals up to RotationBatch rows of t that are not under key
// to, in one transaction, and returns how many it did.
func (db *DB) rotateBatch(ctx context.Context, t sealedTable, to uint32) (int, error) {
	n := 0
	err := db.write(ctx, func(tx *wtx) error {
		sel := []string{"rowid", t.rowID}
		for _, c := range t.cols {
			sel = append(sel, c.name, c.version)
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+strings.Join(sel, ", ")+` FROM `+t.name+` WHERE key_id != ? LIMIT ?`, to, RotationBatch)
		if err != nil {
			return err
		}
		type upd struct {
			rowid int64
			set   []string
			args  []any
		}
		var ups []upd
		for rows.Next() {
			var rowid int64
			var id string
			vals := make([][]byte, len(t.cols))
			vers := make([]int64, len(t.cols))
			dest := []any{&rowid, &id}
			for i := range t.cols {
				dest = append(dest, &vals[i], &vers[i])
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return err
			}
			u := upd{rowid: rowid, set: []string{"key_id = ?"}, args: []any{to}}
			plain := map[string][]byte{}
			for i, c := range t.cols {
				if vals[i] == nil {
					continue
				}
				a := db.aad(t.name, id, c.name, vers[i])
				pt, err := db.keys.Open(a, vals[i])
				if err != nil {
					rows.Close()
					return fmt.Errorf("open %s: %w", a, err)
				}
				plain[c.name] = pt
				s, err := db.keys.SealWith(to, a, pt)
				if err != nil {
					rows.Close()
					return err
				}
				u.set, u.args = append(u.set, c.name+" = ?"), append(u.args, s)
			}
			if t.reindex != nil {
				set, args, err := t.reindex(db, to, plain)
				if err != nil {
					rows.Close()
					return err
				}
				for i := range set {
					u.set, u.args = append(u.set, set[i]+" = ?"), append(u.args, args[i])
				}
			}
			ups = append(ups, u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, u := range ups {
			if _, err := tx.ExecContext(ctx, `UPDATE `+t.name+` SET `+strings.Join(u.set, ", ")+` WHERE rowid = ?`, append(u.args, u.rowid)...); err != nil {
				return err
			}
		}
		n = len(ups)
		if n > 0 {
			_, err = tx.ExecContext(ctx, `UPDATE rotation SET resealed = resealed + ?`, n)
		}
		return err
	})
	return n, err
}

var _ = sql.ErrNoRows
