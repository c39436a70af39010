package localdb

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
)

// The audit log is a SHA-256 hash chain:
//
//	hash(n) = SHA-256("examlane-audit/v1" ‖ hash(n-1) ‖ canonical(event n))
//
// hash(0) = SHA-256("examlane-audit-genesis/v1" ‖ database id). canonical
// is the big-endian seq, the uvarint-length-prefixed id, the big-endian
// unix-nanosecond time, the length-prefixed user, role, lane, patient id,
// action, entity, outcome, the big-endian key id and the length-prefixed
// sealed detail bytes. Because the sealed detail (not its plaintext) is
// hashed, verifying the chain needs no key. Every CheckpointEvery events a
// checkpoint signs "examlane-audit-checkpoint/v1\n<db id>\n<seq>\n<hex
// hash>\n" with the lane's Ed25519 key.

const auditLabel = "examlane-audit/v1"

func genesis(dbID string) []byte {
	h := sha256.Sum256([]byte("examlane-audit-genesis/v1" + dbID))
	return h[:]
}

// auditRow is an audit_log row.
type auditRow struct {
	seq                                                int64
	id                                                 string
	at                                                 int64
	user, role, lane, patient, action, entity, outcome string
	keyID                                              uint32
	detail, prev, hash                                 []byte
}

func (r *auditRow) canonical() []byte {
	b := make([]byte, 0, 128+len(r.detail))
	b = binary.BigEndian.AppendUint64(b, uint64(r.seq))
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str(r.id)
	b = binary.BigEndian.AppendUint64(b, uint64(r.at))
	for _, s := range [...]string{r.user, r.role, r.lane, r.patient, r.action, r.entity, r.outcome} {
		str(s)
	}
	b = binary.BigEndian.AppendUint32(b, r.keyID)
	b = binary.AppendUvarint(b, uint64(len(r.detail)))
	return append(b, r.detail...)
}

func chainHash(prev []byte, r *auditRow) []byte {
	h := sha256.New()
	h.Write([]byte(auditLabel))
	h.Write(prev)
	h.Write(r.canonical())
	return h.Sum(nil)
}

func checkpointMessage(dbID string, seq int64, hash []byte) []byte {
	return []byte(fmt.Sprintf("examlane-audit-checkpoint/v1\n%s\n%d\n%s\n", dbID, seq, hex.EncodeToString(hash)))
}

// auditDetail is the sealed part of an audit event.
type auditDetail struct {
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// audit appends e to the chain in this transaction (and queues it in the
// outbox for the server), filling Seq, ID and At.
func (tx *wtx) audit(e lane.AuditEvent) error {
	if tx.held != nil {
		// a remote batch folds its records' events per patient (syncbatch.go)
		*tx.held = append(*tx.held, e)
		return nil
	}
	_, err := tx.appendAudit(e)
	return err
}

func (tx *wtx) appendAudit(e lane.AuditEvent) (lane.AuditEvent, error) {
	db, ctx := tx.db, tx.ctx
	if e.ID == "" {
		e.ID = lane.NewID()
	}
	if e.At.IsZero() {
		e.At = db.clock.Now()
	}
	if e.Outcome == "" {
		e.Outcome = lane.OutcomeSuccess
	}
	var prev []byte
	var last int64
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if noRows(err) {
		prev, err = genesis(db.dbID), nil
	}
	if err != nil {
		return e, err
	}
	e.Seq = last + 1
	kid := db.keys.Current()
	detail, err := db.sealJSON(kid, db.aad("audit_log", e.ID, "detail", 0), auditDetail{Reason: e.Reason, Detail: e.Detail})
	if err != nil {
		return e, err
	}
	r := &auditRow{seq: e.Seq, id: e.ID, at: e.At.UnixNano(), user: string(e.User), role: string(e.Role), lane: e.Lane,
		patient: string(e.PatientID), action: string(e.Action), entity: e.Entity, outcome: string(e.Outcome),
		keyID: kid, detail: detail, prev: prev}
	r.hash = chainHash(prev, r)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log(seq, id, at, user_id, role, lane, patient_id, action, entity, outcome, key_id, detail, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.seq, r.id, r.at, r.user, r.role, r.lane, r.patient, r.action, r.entity, r.outcome, r.keyID, r.detail, r.prev, r.hash); err != nil {
		return e, err
	}
	if err := tx.enqueue(lane.EntityAudit, e.ID, lane.OpCreate, 1, "", lane.Actor{User: e.User, Lane: e.Lane}); err != nil {
		return e, err
	}
	tx.auditCount++
	if e.Seq%int64(db.cfg.CheckpointEvery) == 0 {
		if err := tx.checkpoint(r.seq, r.hash); err != nil {
			return e, err
		}
	}
	return e, nil
}

func (tx *wtx) checkpoint(seq int64, hash []byte) error {
	if tx.db.signPriv == nil {
		return nil
	}
	sig := ed25519.Sign(tx.db.signPriv, checkpointMessage(tx.db.dbID, seq, hash))
	_, err := tx.ExecContext(tx.ctx, `INSERT INTO audit_checkpoints(seq, at, hash, sig) VALUES (?, ?, ?, ?) ON CONFLICT(seq) DO NOTHING`,
		seq, tx.db.now(), hash, sig)
	return err
}

// Audit appends an event that is not part of a record change (a chart view,
// sign-in, lock, export...). Seq, ID and At are filled in when zero.
func (db *DB) Audit(ctx context.Context, e lane.AuditEvent) error {
	if e.User == "" {
		return lane.Invalidf("audit: no user")
	}
	if e.Action == "" {
		return lane.Invalidf("audit: no action")
	}
	return db.write(ctx, func(tx *wtx) error { return tx.audit(e) })
}

// Checkpoint signs the current head of the audit chain now (besides the
// periodic checkpoints).
func (db *DB) Checkpoint(ctx context.Context) error {
	return db.write(ctx, func(tx *wtx) error {
		var seq int64
		var hash []byte
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
		if noRows(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return tx.checkpoint(seq, hash)
	})
}

const auditCols = `seq, id, at, user_id, role, lane, patient_id, action, entity, outcome, key_id, detail, prev_hash, hash`

func scanAudit(rows interface{ Scan(...any) error }) (*auditRow, error) {
	r := &auditRow{}
	err := rows.Scan(&r.seq, &r.id, &r.at, &r.user, &r.role, &r.lane, &r.patient, &r.action, &r.entity, &r.outcome,
		&r.keyID, &r.detail, &r.prev, &r.hash)
	return r, err
}

func (db *DB) auditEvent(r *auditRow) (lane.AuditEvent, error) {
	e := lane.AuditEvent{Seq: r.seq, ID: r.id, At: time.Unix(0, r.at).UTC(), User: lane.UserID(r.user), Role: lane.Role(r.role),
		Lane: r.lane, PatientID: lane.PatientID(r.patient), Action: lane.AuditAction(r.action), Entity: r.entity,
		Outcome: lane.AuditOutcome(r.outcome)}
	var d auditDetail
	if err := db.openJSON(db.aad("audit_log", r.id, "detail", 0), r.detail, &d); err != nil {
		return e, err
	}
	e.Reason, e.Detail = d.Reason, d.Detail
	return e, nil
}

// ListAudit returns audit events matching f in chain order (oldest first).
// With a Limit, it returns the most recent Limit matching events, still
// oldest first.
func (db *DB) ListAudit(ctx context.Context, f lane.AuditFilter) ([]lane.AuditEvent, error) {
	var where []string
	var args []any
	if f.PatientID != "" {
		where, args = append(where, "patient_id = ?"), append(args, string(f.PatientID))
	}
	if f.User != "" {
		where, args = append(where, "user_id = ?"), append(args, string(f.User))
	}
	if !f.From.IsZero() {
		where, args = append(where, "at >= ?"), append(args, f.From.UnixNano())
	}
	if !f.To.IsZero() {
		where, args = append(where, "at < ?"), append(args, f.To.UnixNano())
	}
	q := `SELECT ` + auditCols + ` FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq DESC"
	if f.Limit > 0 {
		q += " LIMIT " + strconv.Itoa(f.Limit)
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []lane.AuditEvent
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		e, err := db.auditEvent(r)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// ChainReport is the result of verifying the audit chain.
type ChainReport struct {
	Events      int64
	Checkpoints int
	// BrokenAt is the seq of the first broken link (0 when the chain
	// verifies) and Problem says what is wrong with it.
	BrokenAt int64
	Problem  string
}

// OK reports whether the chain verified.
func (r ChainReport) OK() bool { return r.BrokenAt == 0 && r.Problem == "" }

// VerifyAudit walks the whole audit chain from the first event: sequence
// without gaps, each prev_hash equal to the previous hash, each hash
// recomputed, and every signed checkpoint's signature and hash. It stops at
// the first broken link. It needs no key: sealed details are hashed as
// stored.
func (db *DB) VerifyAudit(ctx context.Context) (ChainReport, error) {
	var rep ChainReport
	cps := map[int64][2][]byte{}
	rows, err := db.r.QueryContext(ctx, `SELECT seq, hash, sig FROM audit_checkpoints ORDER BY seq`)
	if err != nil {
		return rep, classify(err)
	}
	for rows.Next() {
		var seq int64
		var h, s []byte
		if err := rows.Scan(&seq, &h, &s); err != nil {
			rows.Close()
			return rep, err
		}
		cps[seq] = [2][]byte{h, s}
	}
	rows.Close()
	var pub []byte
	if err := db.r.QueryRowContext(ctx, `SELECT pub FROM lane_identity WHERE id = 1`).Scan(&pub); err != nil {
		return rep, classify(err)
	}
	rows, err = db.r.QueryContext(ctx, `SELECT `+auditCols+` FROM audit_log ORDER BY seq`)
	if err != nil {
		return rep, classify(err)
	}
	defer rows.Close()
	prev := genesis(db.dbID)
	var want int64 = 1
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return rep, err
		}
		switch {
		case r.seq != want:
			rep.BrokenAt, rep.Problem = want, fmt.Sprintf("event %d is missing (next is %d)", want, r.seq)
		case !bytes.Equal(r.prev, prev):
			rep.BrokenAt, rep.Problem = r.seq, "previous-hash link does not match the event before it"
		case !bytes.Equal(chainHash(prev, r), r.hash):
			rep.BrokenAt, rep.Problem = r.seq, "event content does not match its hash (edited)"
		}
		if rep.BrokenAt != 0 {
			return rep, nil
		}
		if cp, ok := cps[r.seq]; ok {
			if !bytes.Equal(cp[0], r.hash) {
				rep.BrokenAt, rep.Problem = r.seq, "signed checkpoint names another hash (history rewritten)"
				return rep, nil
			}
			if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, checkpointMessage(db.dbID, r.seq, r.hash), cp[1]) {
				rep.BrokenAt, rep.Problem = r.seq, "checkpoint signature does not verify"
				return rep, nil
			}
			rep.Checkpoints++
			delete(cps, r.seq)
		}
		prev = r.hash
		rep.Events++
		want++
	}
	if err := rows.Err(); err != nil {
		return rep, classify(err)
	}
	for seq := range cps {
		rep.BrokenAt, rep.Problem = seq, "checkpoint refers to an event that is missing (log truncated)"
		return rep, nil
	}
	return rep, nil
}

// auditFor returns the audit event of a change to a record.
func auditFor(by lane.Actor, action lane.AuditAction, entity, id string, patient lane.PatientID, detail string) lane.AuditEvent {
	return lane.AuditEvent{User: by.User, Role: by.PrimaryRole(), Lane: by.Lane, PatientID: patient, Action: action,
		Entity: entity + "/" + id, Outcome: lane.OutcomeSuccess, Reason: by.Reason, Detail: detail}
}
