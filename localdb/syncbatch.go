package localdb

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/examlane/examlane/lane"
)

// applyRemote stores one pulled record in tx under ApplyRemote's rules: the
// conflict rule, the server ref, the tombstone of a record the server
// deleted, and an image's bytes when r carries them (they must match the
// image's SHA256 when it is set).
func (db *DB) applyRemote(ctx context.Context, tx *wtx, r lane.RemoteRecord) error {
	rec := r.Rec
	img, isImg := rec.(lane.Image)
	data := r.Data
	if !isImg {
		data = nil
	}
	if data != nil {
		sum := sha256.Sum256(data)
		if img.SHA256 != ([32]byte{}) && img.SHA256 != sum {
			return lane.Invalidf("apply remote image %s: bytes do not match its SHA256", img.ID)
		}
		img.SHA256, img.Size = sum, int64(len(data))
		rec = img
	}
	ri, err := db.acceptRemote(ctx, tx, rec, r.ServerID, r.ServerVersion)
	if err != nil {
		return err
	}
	if ri.deleted {
		return tx.remove(ri.t, ri.id, 0, saveApplied, syncActor, r.ServerVersion)
	}
	saved, err := tx.save(ri, saveApplied, syncActor, r.ServerVersion)
	if err != nil || data == nil {
		return err
	}
	return tx.writeChunks(ri.id, saved.(lane.Image).Version, data)
}

// ApplyRemoteBatch stores a page of records pulled from the server in one
// transaction, in order, each exactly as ApplyRemote (or ApplyRemoteImage,
// for an image with Data) would store it: records later in the batch see
// the ones before them (a patient, then its encounter).
//
// Each record runs under its own savepoint. A record refused by the
// conflict rule (undelivered local changes: ErrConflict) or lacking its
// patient or image (ErrNotFound) is rolled back alone and its error is
// returned at its index in errs; the others are stored. Any other failure
// rolls back the whole batch and is returned as err (errs is then nil):
// nothing of the batch is stored, so a caller that advances its pull
// watermark only after a successful batch re-fetches the page.
//
// Audit: rather than one event per record, the batch appends one event per
// patient, entity type and action (attributed to the sync process, like
// ApplyRemote's), whose sealed detail lists every record with its local and
// server versions and changed fields. A pull is not a person's access or
// change; the patient's audit trail still names every record the server
// changed.
func (db *DB) ApplyRemoteBatch(ctx context.Context, recs []lane.RemoteRecord) (errs []error, err error) {
	if len(recs) == 0 {
		return nil, nil
	}
	errs = make([]error, len(recs))
	err = db.write(ctx, func(tx *wtx) error {
		var all []lane.AuditEvent
		for i, r := range recs {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT remote_record`); err != nil {
				return err
			}
			var held []lane.AuditEvent
			tx.held = &held
			err := db.applyRemote(ctx, tx, r)
			tx.held = nil
			if err == nil {
				if _, err := tx.ExecContext(ctx, `RELEASE remote_record`); err != nil {
					return err
				}
				all = append(all, held...)
				continue
			}
			if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO remote_record`); rerr != nil {
				return errors.Join(err, rerr)
			}
			if _, rerr := tx.ExecContext(ctx, `RELEASE remote_record`); rerr != nil {
				return errors.Join(err, rerr)
			}
			if !errors.Is(err, lane.ErrConflict) && !errors.Is(err, lane.ErrNotFound) {
				return fmt.Errorf("record %d (%T): %w", i, r.Rec, err)
			}
			errs[i] = fmt.Errorf("localdb: apply remote %T: %w", r.Rec, classify(err))
		}
		for _, e := range foldRemoteAudit(all) {
			if err := tx.audit(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("localdb: apply remote batch: %w", err)
	}
	return errs, nil
}

// foldRemoteAudit merges the audit events of a remote batch into one per
// patient, entity type and action, in order of first appearance. A group
// of one keeps its event as ApplyRemote writes it; a larger group names
// the entity type and lists "Type/id: detail" per record in its detail.
func foldRemoteAudit(events []lane.AuditEvent) []lane.AuditEvent {
	type key struct {
		patient lane.PatientID
		action  lane.AuditAction
		typ     string
	}
	var order []key
	groups := map[key][]lane.AuditEvent{}
	for _, e := range events {
		typ, _, _ := strings.Cut(e.Entity, "/")
		k := key{e.PatientID, e.Action, typ}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], e)
	}
	out := make([]lane.AuditEvent, 0, len(order))
	for _, k := range order {
		g := groups[k]
		if len(g) == 1 {
			out = append(out, g[0])
			continue
		}
		e := g[0]
		var b strings.Builder
		b.WriteString("from the server: " + strconv.Itoa(len(g)) + " records")
		for _, r := range g {
			b.WriteString("\n" + r.Entity + ": " + r.Detail)
		}
		e.Entity, e.Detail = k.typ, b.String()
		out = append(out, e)
	}
	return out
}

// MarkPushedBatch marks a batch of delivered outbox entries in one
// transaction, each as MarkPushed does (the entry removed, the record's
// server id and version remembered). It is all or nothing: an unknown seq
// (ErrNotFound) or any other failure leaves every entry queued.
func (db *DB) MarkPushedBatch(ctx context.Context, ds []lane.Delivered) error {
	if len(ds) == 0 {
		return nil
	}
	err := db.write(ctx, func(tx *wtx) error {
		for _, d := range ds {
			if err := tx.markPushed(d.Seq, d.ServerID, d.ServerVersion); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("localdb: mark pushed: %w", err)
	}
	return nil
}

// markPushed removes a delivered entry and records its server ref in tx.
func (tx *wtx) markPushed(seq int64, serverID, serverVersion string) error {
	var entity, id string
	err := tx.QueryRowContext(tx.ctx, `SELECT entity, entity_id FROM outbox WHERE seq = ?`, seq).Scan(&entity, &id)
	if noRows(err) {
		return notFound("outbox entry", strconv.FormatInt(seq, 10))
	}
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(tx.ctx, `DELETE FROM outbox WHERE seq = ?`, seq); err != nil {
		return err
	}
	return tx.setServerRef(entity, id, serverID, serverVersion)
}
