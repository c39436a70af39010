package localdb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"

	"github.com/examlane/examlane/lane"
)

// ChunkSize is the largest piece of image bytes sealed as one value.
const ChunkSize = 1 << 20

// SaveImage stores an image's metadata and, when data is not nil, its bytes
// in sealed chunks (SHA256 and Size are set from data). A new image needs
// data; an update with nil data keeps the stored bytes.
func (db *DB) SaveImage(ctx context.Context, by lane.Actor, img lane.Image, data []byte) (lane.Image, error) {
	if err := checkActor(by); err != nil {
		return img, err
	}
	if data != nil {
		sum := sha256.Sum256(data)
		if img.SHA256 != ([32]byte{}) && img.SHA256 != sum {
			return img, lane.Invalidf("save image: SHA256 does not match the data")
		}
		img.SHA256, img.Size = sum, int64(len(data))
	} else if img.Version == 0 {
		return img, lane.Invalidf("save image: a new image needs its data")
	}
	var out any
	err := db.write(ctx, func(tx *wtx) error {
		ri, err := db.describe(ctx, tx, img)
		if err != nil {
			return err
		}
		if out, err = tx.save(ri, saveLocal, by, ""); err != nil {
			return err
		}
		if data == nil {
			return nil
		}
		return tx.writeChunks(ri.id, out.(lane.Image).Version, data)
	})
	if err != nil {
		return img, fmt.Errorf("localdb: save image: %w", err)
	}
	return out.(lane.Image), nil
}

func (tx *wtx) writeChunks(id string, ver int64, data []byte) error {
	if _, err := tx.ExecContext(tx.ctx, `DELETE FROM image_chunks WHERE image_id = ?`, id); err != nil {
		return err
	}
	kid := tx.db.keys.Current()
	for n := 0; n == 0 || n*ChunkSize < len(data); n++ {
		part := data[n*ChunkSize : min(len(data), (n+1)*ChunkSize)]
		sealed, err := tx.db.keys.SealWith(kid, tx.db.aad("image_chunks", id+"/"+strconv.Itoa(n), "data", ver), part)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(tx.ctx, `INSERT INTO image_chunks(image_id, n, version, key_id, data) VALUES (?, ?, ?, ?, ?)`,
			id, n, ver, kid, sealed); err != nil {
			return err
		}
	}
	return nil
}

// ImageData returns an image's bytes. Chunks that are missing, reordered or
// from another image fail with an error wrapping lane.ErrUnauthenticated.
func (db *DB) ImageData(ctx context.Context, id lane.ImageID) ([]byte, error) {
	tx, err := db.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, classify(err)
	}
	defer tx.Rollback()
	img, err := getLive[lane.Image](ctx, db, tx, tImages, string(id), "image")
	if err != nil {
		return nil, fmt.Errorf("localdb: image data: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT n, version, data FROM image_chunks WHERE image_id = ? ORDER BY n`, string(id))
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var buf bytes.Buffer
	buf.Grow(int(img.Size))
	for rows.Next() {
		var n int
		var ver int64
		var sealed []byte
		if err := rows.Scan(&n, &ver, &sealed); err != nil {
			return nil, err
		}
		part, err := db.keys.Open(db.aad("image_chunks", string(id)+"/"+strconv.Itoa(n), "data", ver), sealed)
		if err != nil {
			return nil, fmt.Errorf("localdb: image %s chunk %d: %w", id, n, err)
		}
		buf.Write(part)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	if sha256.Sum256(buf.Bytes()) != img.SHA256 {
		return nil, fmt.Errorf("localdb: image %s: bytes do not match the sealed checksum (chunks missing or replaced): %w", id, lane.ErrUnauthenticated)
	}
	return buf.Bytes(), nil
}

// SaveCapture keeps an instrument transmission's raw bytes and decoded
// readings, sealed. Saving an existing capture again updates its binding
// (patient, encounter) and readings; its raw bytes are evidence and never
// change (different bytes under the same id return ErrConflict). Captures
// stay on the lane: they are audited but not queued for sync (the
// measurements made from them are).
func (db *DB) SaveCapture(ctx context.Context, by lane.Actor, c lane.Capture) error {
	if err := checkActor(by); err != nil {
		return err
	}
	if c.ID == "" {
		return lane.Invalidf("save capture: missing id")
	}
	if c.SHA256 == ([32]byte{}) {
		c.SHA256 = sha256.Sum256(c.Raw)
	} else if c.SHA256 != sha256.Sum256(c.Raw) {
		return lane.Invalidf("save capture: SHA256 does not match the raw bytes")
	}
	err := db.write(ctx, func(tx *wtx) error {
		if c.PatientID != "" {
			if err := tx.requirePatient(c.PatientID); err != nil {
				return err
			}
		}
		var ver int64
		var sealed []byte
		err := tx.QueryRowContext(ctx, `SELECT version, sealed FROM captures WHERE id = ?`, string(c.ID)).Scan(&ver, &sealed)
		exists := err == nil
		if err != nil && !noRows(err) {
			return err
		}
		action, detail := lane.AuditCapture, fmt.Sprintf("%d bytes, format %s", len(c.Raw), c.Format)
		if exists {
			var old lane.Capture
			if err := db.openJSON(db.aad("captures", string(c.ID), "sealed", ver), sealed, &old); err != nil {
				return err
			}
			if old.SHA256 != c.SHA256 {
				return fmt.Errorf("capture %s: raw bytes differ from the stored capture: %w", c.ID, lane.ErrConflict)
			}
			action, detail = lane.AuditUpdate, "capture assigned to patient "+string(c.PatientID)
		}
		ver++
		kid := db.keys.Current()
		if sealed, err = db.sealJSON(kid, db.aad("captures", string(c.ID), "sealed", ver), c); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO captures(id, patient_id, version, key_id, sealed, received_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET patient_id = excluded.patient_id, version = excluded.version, key_id = excluded.key_id,
			sealed = excluded.sealed, received_at = excluded.received_at`,
			string(c.ID), string(c.PatientID), ver, kid, sealed, c.ReceivedAt.UnixMilli()); err != nil {
			return err
		}
		return tx.audit(auditFor(by, action, "Capture", string(c.ID), c.PatientID, detail))
	})
	if err != nil {
		return fmt.Errorf("localdb: save capture: %w", err)
	}
	return nil
}

// GetCapture returns a stored capture with its raw bytes.
func (db *DB) GetCapture(ctx context.Context, id lane.CaptureID) (lane.Capture, error) {
	var c lane.Capture
	var ver int64
	var sealed []byte
	err := db.r.QueryRowContext(ctx, `SELECT version, sealed FROM captures WHERE id = ?`, string(id)).Scan(&ver, &sealed)
	if noRows(err) {
		return c, notFound("capture", string(id))
	}
	if err != nil {
		return c, classify(err)
	}
	err = db.openJSON(db.aad("captures", string(id), "sealed", ver), sealed, &c)
	return c, err
}

// ListCaptures returns captures without their Raw bytes, newest first: a
// patient's (PatientID), the unassigned ones (Unassigned), or all.
func (db *DB) ListCaptures(ctx context.Context, f lane.CaptureFilter) ([]lane.Capture, error) {
	q, args := `SELECT id, version, sealed FROM captures`, []any{}
	switch {
	case f.Unassigned:
		q += ` WHERE patient_id = ''`
	case f.PatientID != "":
		q, args = q+` WHERE patient_id = ?`, append(args, string(f.PatientID))
	}
	q += ` ORDER BY received_at DESC, id`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []lane.Capture
	for rows.Next() {
		var id string
		var ver int64
		var sealed []byte
		if err := rows.Scan(&id, &ver, &sealed); err != nil {
			return nil, err
		}
		var c lane.Capture
		if err := db.openJSON(db.aad("captures", id, "sealed", ver), sealed, &c); err != nil {
			return nil, err
		}
		c.Raw = nil
		out = append(out, c)
	}
	return out, classify(rows.Err())
}
