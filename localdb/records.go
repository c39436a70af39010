package localdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb/seal"
)

// table pairs a SQL table with the lane entity name its records sync as.
type table struct {
	name   string
	entity string
}

var (
	tPatients     = table{"patients", lane.EntityPatient}
	tAppointments = table{"appointments", lane.EntityAppointment}
	tEncounters   = table{"encounters", lane.EntityEncounter}
	tMeasurements = table{"measurements", lane.EntityMeasurement}
	tSpectacleRx  = table{"prescriptions", lane.EntitySpectacleRx}
	tContactRx    = table{"prescriptions", lane.EntityContactRx}
	tImages       = table{"images", lane.EntityImage}
	tAnnotations  = table{"annotations", lane.EntityAnnotation}
	entityTables  = []table{tPatients, tAppointments, tEncounters, tMeasurements, tSpectacleRx, tContactRx, tImages, tAnnotations}
	tableOfEntity = func() map[string]table {
		m := map[string]table{}
		for _, t := range entityTables {
			m[t.entity] = t
		}
		return m
	}()
)

// recInfo describes how a lane record is stored.
type recInfo struct {
	t       table
	id      string
	version int64 // the caller's version (expected stored version)
	patient lane.PatientID
	// cols returns the table's extra plaintext columns for a row sealed
	// with key kid at version ver.
	cols func(kid uint32, ver int64) ([]string, []any, error)
	// at returns the record to seal, with Version (and Updated) set.
	at      func(ver int64) any
	deleted bool
	// action overrides the audit action (create/update by default).
	action lane.AuditAction
}

// describe returns how rec (a lane value) is stored, assigning a new id to
// a record without one. It validates what the store relies on.
func (db *DB) describe(ctx context.Context, q querier, rec any) (recInfo, error) {
	now := db.clock.Now()
	switch r := rec.(type) {
	case lane.Patient:
		newID(&r.ID, r.Version)
		if err := r.Validate(); err != nil {
			return recInfo{}, err
		}
		return recInfo{t: tPatients, id: string(r.ID), version: r.Version, patient: r.ID, deleted: r.Deleted,
			cols: func(kid uint32, ver int64) ([]string, []any, error) {
				name, err := db.keys.SealWith(kid, db.aad("patients", string(r.ID), "name_sealed", ver), []byte(seal.Normalize(r.Name.Family)+"\x1f"+nameKey(r.Name)))
				if err != nil {
					return nil, nil, err
				}
				return []string{"name_sealed", "bidx_mrn", "bidx_family_dob", "chg"},
					[]any{name, db.keys.BlindIndex(kid, "mrn", r.MRN), db.familyDOBIndex(kid, r.Name.Family, r.BirthDate), chgExpr{}}, nil
			},
			at: func(ver int64) any { r.Version, r.Updated, r.Deleted = ver, now, false; return r }}, nil
	case lane.Appointment:
		newID(&r.ID, r.Version)
		if r.PatientID == "" {
			return recInfo{}, lane.Invalidf("appointment: missing patient")
		}
		if r.Start.IsZero() || r.End.Before(r.Start) {
			return recInfo{}, lane.Invalidf("appointment: missing start or end before start")
		}
		return recInfo{t: tAppointments, id: string(r.ID), version: r.Version, patient: r.PatientID, deleted: r.Deleted,
			cols: fixedCols([]string{"patient_id", "start_at", "end_at", "location"},
				[]any{string(r.PatientID), r.Start.UnixMilli(), r.End.UnixMilli(), r.Location}),
			at: func(ver int64) any { r.Version, r.Updated, r.Deleted = ver, now, false; return r }}, nil
	case lane.Encounter:
		newID(&r.ID, r.Version)
		if r.PatientID == "" {
			return recInfo{}, lane.Invalidf("encounter: missing patient")
		}
		return recInfo{t: tEncounters, id: string(r.ID), version: r.Version, patient: r.PatientID, deleted: r.Deleted,
			cols: fixedCols([]string{"patient_id"}, []any{string(r.PatientID)}),
			at:   func(ver int64) any { r.Version, r.Updated, r.Deleted = ver, now, false; return r }}, nil
	case lane.Measurement:
		newID(&r.ID, r.Version)
		if r.PatientID == "" {
			return recInfo{}, lane.Invalidf("measurement: missing patient")
		}
		return recInfo{t: tMeasurements, id: string(r.ID), version: r.Version, patient: r.PatientID, deleted: r.Deleted,
			cols: fixedCols([]string{"patient_id", "encounter_id"}, []any{string(r.PatientID), string(r.EncounterID)}),
			at:   func(ver int64) any { r.Version, r.Deleted = ver, false; return r }}, nil
	case lane.SpectacleRx:
		newID(&r.ID, r.Version)
		if r.PatientID == "" {
			return recInfo{}, lane.Invalidf("prescription: missing patient")
		}
		return recInfo{t: tSpectacleRx, id: string(r.ID), version: r.Version, patient: r.PatientID, deleted: r.Deleted,
			cols: fixedCols([]string{"kind", "patient_id", "encounter_id"}, []any{"spectacle", string(r.PatientID), string(r.EncounterID)}),
			at:   func(ver int64) any { r.Version, r.Updated, r.Deleted = ver, now, false; return r }}, nil
	case lane.ContactLensRx:
		newID(&r.ID, r.Version)
		if r.PatientID == "" {
			return recInfo{}, lane.Invalidf("contact lens prescription: missing patient")
		}
		return recInfo{t: tContactRx, id: string(r.ID), version: r.Version, patient: r.PatientID, deleted: r.Deleted,
			cols: fixedCols([]string{"kind", "patient_id", "encounter_id"}, []any{"contact", string(r.PatientID), string(r.EncounterID)}),
			at:   func(ver int64) any { r.Version, r.Updated, r.Deleted = ver, now, false; return r }}, nil
	case lane.Image:
		newID(&r.ID, r.Version)
		if r.PatientID == "" {
			return recInfo{}, lane.Invalidf("image: missing patient")
		}
		return recInfo{t: tImages, id: string(r.ID), version: r.Version, patient: r.PatientID, deleted: r.Deleted,
			cols: fixedCols([]string{"patient_id", "encounter_id"}, []any{string(r.PatientID), string(r.EncounterID)}),
			at:   func(ver int64) any { r.Version, r.Deleted = ver, false; return r }}, nil
	case lane.Annotation:
		newID(&r.ID, r.Version)
		if r.ImageID == "" {
			return recInfo{}, lane.Invalidf("annotation: missing image")
		}
		var patient string
		err := q.QueryRowContext(ctx, `SELECT patient_id FROM images WHERE id = ?`, string(r.ImageID)).Scan(&patient)
		if noRows(err) {
			return recInfo{}, notFound("annotation: image", string(r.ImageID))
		}
		if err != nil {
			return recInfo{}, err
		}
		return recInfo{t: tAnnotations, id: r.ID, version: r.Version, patient: lane.PatientID(patient), deleted: r.Deleted,
			cols: fixedCols([]string{"image_id"}, []any{string(r.ImageID)}),
			at:   func(ver int64) any { r.Version, r.Deleted = ver, false; return r }}, nil
	}
	return recInfo{}, fmt.Errorf("localdb: unsupported record type %T: %w", rec, lane.ErrInvalid)
}

// newID gives a new record (no id, version 0) a fresh id.
func newID[ID ~string](id *ID, version int64) {
	if *id == "" && version == 0 {
		*id = ID(lane.NewID())
	}
}

func fixedCols(names []string, vals []any) func(uint32, int64) ([]string, []any, error) {
	return func(uint32, int64) ([]string, []any, error) { return names, vals, nil }
}

// chgExpr marks the patients.chg column: the next change sequence.
type chgExpr struct{}

// nextChg is the next patients.chg value: above every row's and above the
// high-water mark a purge leaves in meta, so the sequence never repeats
// (the name cache reads changes by chg > last seen).
const nextChg = `(SELECT max(coalesce((SELECT max(chg) FROM patients), 0),
	coalesce((SELECT CAST(v AS INTEGER) FROM meta WHERE k = 'chg_hw'), 0)) + 1)`

// nameKey is what the name search matches: the normalised given names and
// family name.
func nameKey(n lane.Name) string {
	return seal.Normalize(strings.Join(n.Given, " ") + " " + n.Family)
}

func (db *DB) familyDOBIndex(kid uint32, family string, dob lane.Date) []byte {
	if seal.Normalize(family) == "" || dob.IsZero() {
		return nil
	}
	return db.keys.BlindIndex(kid, "family-dob", seal.Normalize(family)+"|"+dob.String())
}

// saveMode says how a save treats versions, the outbox and the audit.
type saveMode int

const (
	saveLocal   saveMode = iota // optimistic check, outbox entry, audit by the actor
	saveRemote                  // from the server: no check, no outbox
	saveResolve                 // conflict resolution: no check, outbox on the server's version
	// saveApplied is saveRemote for a record acceptRemote has checked:
	// its server id and version are already recorded in the transaction.
	saveApplied
)

// stored is the current row of a record.
type stored struct {
	exists, deleted bool
	version         int64
	keyID           uint32
	sealed          []byte
	patient         string
}

func (tx *wtx) current(t table, id string) (stored, error) {
	var s stored
	q := `SELECT version, deleted, key_id, sealed, ` + patientCol(t) + ` FROM ` + t.name + ` WHERE id = ?`
	err := tx.QueryRowContext(tx.ctx, q, id).Scan(&s.version, &s.deleted, &s.keyID, &s.sealed, &s.patient)
	if noRows(err) {
		return s, nil
	}
	s.exists = err == nil
	return s, err
}

func patientCol(t table) string {
	switch t.name {
	case "patients":
		return "id"
	case "annotations":
		return "(SELECT patient_id FROM images WHERE images.id = annotations.image_id)"
	}
	return "patient_id"
}

// save writes a record in the current transaction: version check (local
// saves), seal at the new version, upsert, outbox entry and audit event. It
// returns the stored record.
func (tx *wtx) save(ri recInfo, mode saveMode, by lane.Actor, base string) (any, error) {
	db := tx.db
	cur, err := tx.current(ri.t, ri.id)
	if err != nil {
		return nil, err
	}
	if cur.exists && cur.patient != string(ri.patient) && ri.t.name != "annotations" {
		return nil, fmt.Errorf("%s %s belongs to another patient: %w", ri.t.entity, ri.id, lane.ErrInvalid)
	}
	if mode == saveLocal {
		switch {
		case !cur.exists && ri.version != 0:
			return nil, notFound(ri.t.entity, ri.id)
		case cur.exists && cur.deleted:
			return nil, fmt.Errorf("%s %s was deleted: %w", ri.t.entity, ri.id, lane.ErrNotFound)
		case cur.exists && cur.version != ri.version:
			return nil, fmt.Errorf("%s %s: have version %d, stored %d: %w", ri.t.entity, ri.id, ri.version, cur.version, lane.ErrConflict)
		}
	}
	if ri.t.name != "patients" {
		if err := tx.requirePatient(ri.patient); err != nil {
			return nil, err
		}
	}
	ver := cur.version + 1
	rec := ri.at(ver)
	kid := db.keys.Current()
	sealed, err := db.sealJSON(kid, db.aad(ri.t.name, ri.id, "sealed", ver), rec)
	if err != nil {
		return nil, err
	}
	names, vals, err := ri.cols(kid, ver)
	if err != nil {
		return nil, err
	}
	cols := []string{"id", "version", "key_id", "sealed", "updated_at", "deleted"}
	args := []any{ri.id, ver, kid, sealed, db.now(), 0}
	ph := []string{"?", "?", "?", "?", "?", "?"}
	for i, n := range names {
		cols = append(cols, n)
		if _, ok := vals[i].(chgExpr); ok {
			ph = append(ph, nextChg)
			continue
		}
		ph = append(ph, "?")
		args = append(args, vals[i])
	}
	var set []string
	for _, c := range cols[1:] {
		set = append(set, c+" = excluded."+c)
	}
	q := `INSERT INTO ` + ri.t.name + `(` + strings.Join(cols, ", ") + `) VALUES (` + strings.Join(ph, ", ") +
		`) ON CONFLICT(id) DO UPDATE SET ` + strings.Join(set, ", ")
	if _, err := tx.ExecContext(tx.ctx, q, args...); err != nil {
		return nil, err
	}
	action, op := lane.AuditCreate, lane.OpCreate
	if cur.exists {
		action, op = lane.AuditUpdate, lane.OpUpdate
	}
	if ri.action != "" {
		action = ri.action
	}
	detail := fmt.Sprintf("version %d", ver)
	if cur.exists && !cur.deleted {
		if f := tx.changedFields(ri.t, ri.id, cur, rec); f != "" {
			detail += "; changed " + f
		}
	}
	switch mode {
	case saveLocal:
		if err := tx.enqueue(ri.t.entity, ri.id, op, ver, ri.patient, by); err != nil {
			return nil, err
		}
	case saveRemote, saveApplied:
		detail += "; from server version " + base
		if mode == saveRemote {
			if err := tx.setServerVersion(ri.t.entity, ri.id, base); err != nil {
				return nil, err
			}
		}
	case saveResolve:
		if err := tx.setServerVersion(ri.t.entity, ri.id, base); err != nil {
			return nil, err
		}
		if err := tx.enqueue(ri.t.entity, ri.id, lane.OpUpdate, ver, ri.patient, by); err != nil {
			return nil, err
		}
	}
	if err := tx.audit(auditFor(by, action, ri.t.entity, ri.id, ri.patient, detail)); err != nil {
		return nil, err
	}
	return rec, nil
}

// requirePatient refuses a child record of a patient this lane does not
// hold.
func (tx *wtx) requirePatient(id lane.PatientID) error {
	var n int
	if err := tx.QueryRowContext(tx.ctx, `SELECT count(*) FROM patients WHERE id = ?`, string(id)).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return notFound("patient", string(id))
	}
	return nil
}

// changedFields names the top-level fields that differ between the stored
// record and rec (for the audit detail; never values).
func (tx *wtx) changedFields(t table, id string, cur stored, rec any) string {
	var old, nw map[string]json.RawMessage
	b, err := tx.db.keys.Open(tx.db.aad(t.name, id, "sealed", cur.version), cur.sealed)
	if err != nil || json.Unmarshal(b, &old) != nil {
		return ""
	}
	nb, _ := json.Marshal(rec)
	if json.Unmarshal(nb, &nw) != nil {
		return ""
	}
	var out []string
	for k, v := range nw {
		if k == "Version" || k == "Updated" {
			continue
		}
		if string(old[k]) != string(v) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// remove tombstones a record in the current transaction: the row keeps a
// sealed copy marked Deleted at a new version, the tombstones table keeps
// who, when, why and the sealed prior version, and (local deletes) the
// outbox gets a delete.
func (tx *wtx) remove(t table, id string, expect int64, mode saveMode, by lane.Actor, base string) error {
	db := tx.db
	cur, err := tx.current(t, id)
	if err != nil {
		return err
	}
	if !cur.exists || cur.deleted {
		switch mode {
		case saveRemote:
			return tx.setServerVersion(t.entity, id, base)
		case saveApplied:
			return nil
		}
		return notFound(t.entity, id)
	}
	if mode == saveLocal && cur.version != expect {
		return fmt.Errorf("%s %s: have version %d, stored %d: %w", t.entity, id, expect, cur.version, lane.ErrConflict)
	}
	prior, err := db.keys.Open(db.aad(t.name, id, "sealed", cur.version), cur.sealed)
	if err != nil {
		return fmt.Errorf("localdb: open %s/%s: %w", t.name, id, err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(prior, &doc); err != nil {
		return fmt.Errorf("localdb: decode %s/%s: %w", t.name, id, ErrCorrupt)
	}
	ver := cur.version + 1
	doc["Deleted"] = json.RawMessage("true")
	doc["Version"] = json.RawMessage(fmt.Sprint(ver))
	kid := db.keys.Current()
	sealed, err := db.sealJSON(kid, db.aad(t.name, id, "sealed", ver), doc)
	if err != nil {
		return err
	}
	set := `version = ?, key_id = ?, sealed = ?, updated_at = ?, deleted = 1`
	args := []any{ver, kid, sealed, db.now()}
	if t.name == "patients" {
		// A deleted patient leaves the name search and the indexes.
		ns, err := db.keys.SealWith(kid, db.aad("patients", id, "name_sealed", ver), nil)
		if err != nil {
			return err
		}
		set += `, name_sealed = ?, bidx_mrn = NULL, bidx_family_dob = NULL, chg = ` + nextChg
		args = append(args, ns)
	}
	if _, err := tx.ExecContext(tx.ctx, `UPDATE `+t.name+` SET `+set+` WHERE id = ?`, append(args, id)...); err != nil {
		return err
	}
	tomb, err := db.sealJSON(kid, db.aad("tombstones", t.entity+"/"+id+"/"+fmt.Sprint(ver), "sealed", ver),
		tombstoneDoc{Reason: by.Reason, Prior: prior})
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(tx.ctx, `INSERT INTO tombstones(entity, id, version, patient_id, deleted_at, deleted_by, key_id, sealed)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, t.entity, id, ver, cur.patient, db.now(), string(by.User), kid, tomb); err != nil {
		return err
	}
	detail := fmt.Sprintf("deleted at version %d", ver)
	switch mode {
	case saveLocal:
		if err := tx.enqueue(t.entity, id, lane.OpDelete, ver, lane.PatientID(cur.patient), by); err != nil {
			return err
		}
	case saveRemote, saveApplied:
		detail += "; by the server (version " + base + ")"
		if mode == saveRemote {
			if err := tx.setServerVersion(t.entity, id, base); err != nil {
				return err
			}
		}
	}
	return tx.audit(auditFor(by, lane.AuditDelete, t.entity, id, lane.PatientID(cur.patient), detail))
}

// tombstoneDoc is the sealed part of a tombstone.
type tombstoneDoc struct {
	Reason string          `json:"reason"`
	Prior  json.RawMessage `json:"prior"`
}

// Tombstone is a deletion as kept locally: who, when, why, and the record
// as it was before.
type Tombstone struct {
	Entity    string
	ID        string
	Version   int64
	PatientID lane.PatientID
	DeletedBy lane.UserID
	DeletedAt int64 // unix milliseconds
	Reason    string
	// Prior is the record before deletion as stored (a JSON document).
	Prior json.RawMessage
}

// Tombstones returns the deletions of a record, oldest first.
func (db *DB) Tombstones(ctx context.Context, entity, id string) ([]Tombstone, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT version, patient_id, deleted_by, deleted_at, sealed FROM tombstones
		WHERE entity = ? AND id = ? ORDER BY version`, entity, id)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []Tombstone
	for rows.Next() {
		ts := Tombstone{Entity: entity, ID: id}
		var by, p string
		var sealed []byte
		if err := rows.Scan(&ts.Version, &p, &by, &ts.DeletedAt, &sealed); err != nil {
			return nil, err
		}
		ts.PatientID, ts.DeletedBy = lane.PatientID(p), lane.UserID(by)
		var d tombstoneDoc
		if err := db.openJSON(db.aad("tombstones", entity+"/"+id+"/"+fmt.Sprint(ts.Version), "sealed", ts.Version), sealed, &d); err != nil {
			return nil, err
		}
		ts.Reason, ts.Prior = d.Reason, d.Prior
		out = append(out, ts)
	}
	return out, rows.Err()
}

// getRecord reads and opens one record; deleted reports a tombstoned row.
func getRecord[T any](ctx context.Context, db *DB, q querier, t table, id string) (rec T, deleted bool, err error) {
	var ver int64
	var sealed []byte
	err = q.QueryRowContext(ctx, `SELECT version, sealed, deleted FROM `+t.name+` WHERE id = ?`, id).Scan(&ver, &sealed, &deleted)
	if noRows(err) {
		return rec, false, notFound(t.entity, id)
	}
	if err != nil {
		return rec, false, classify(err)
	}
	err = db.openJSON(db.aad(t.name, id, "sealed", ver), sealed, &rec)
	return rec, deleted, err
}

// getLive is getRecord for a record that must not be deleted: a tombstoned
// one is not found, what naming it in the error.
func getLive[T any](ctx context.Context, db *DB, q querier, t table, id, what string) (T, error) {
	rec, deleted, err := getRecord[T](ctx, db, q, t, id)
	if err == nil && deleted {
		err = notFound(what, id)
	}
	return rec, err
}

// listRecords opens every live record of t matching where. Large results
// are opened and decoded on all cores.
func listRecords[T any](ctx context.Context, db *DB, q querier, t table, where string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, version, sealed FROM `+t.name+` WHERE deleted = 0 AND `+where, args...)
	if err != nil {
		return nil, classify(err)
	}
	type raw struct {
		id     string
		ver    int64
		sealed []byte
	}
	var raws []raw
	for rows.Next() {
		var r raw
		if err := rows.Scan(&r.id, &r.ver, &r.sealed); err != nil {
			rows.Close()
			return nil, err
		}
		raws = append(raws, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	out := make([]T, len(raws))
	open := func(i int) error {
		return db.openJSON(db.aad(t.name, raws[i].id, "sealed", raws[i].ver), raws[i].sealed, &out[i])
	}
	workers := min(runtime.GOMAXPROCS(0), len(raws)/64)
	if workers < 2 {
		for i := range raws {
			if err := open(i); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(raws); i += workers {
				if err := open(i); err != nil {
					errs[w] = err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// saveLocal is the common body of the Save methods.
func saveLocalRecord[T any](ctx context.Context, db *DB, by lane.Actor, rec any) (T, error) {
	var zero T
	if err := checkActor(by); err != nil {
		return zero, err
	}
	var out any
	err := db.write(ctx, func(tx *wtx) error {
		ri, err := db.describe(ctx, tx, rec)
		if err != nil {
			return err
		}
		out, err = tx.save(ri, saveLocal, by, "")
		return err
	})
	if err != nil {
		return zero, fmt.Errorf("localdb: save %T: %w", rec, err)
	}
	return out.(T), nil
}

// SavePatient stores a patient (see lane.Store).
func (db *DB) SavePatient(ctx context.Context, by lane.Actor, p lane.Patient) (lane.Patient, error) {
	return saveLocalRecord[lane.Patient](ctx, db, by, p)
}

// GetPatient returns a live patient.
func (db *DB) GetPatient(ctx context.Context, id lane.PatientID) (lane.Patient, error) {
	return getLive[lane.Patient](ctx, db, db.r, tPatients, string(id), "patient")
}

// SaveAppointment stores an appointment.
func (db *DB) SaveAppointment(ctx context.Context, by lane.Actor, a lane.Appointment) (lane.Appointment, error) {
	return saveLocalRecord[lane.Appointment](ctx, db, by, a)
}

// ListAppointments returns live appointments overlapping [From, To) (either
// bound may be zero), by start time.
func (db *DB) ListAppointments(ctx context.Context, f lane.AppointmentFilter) ([]lane.Appointment, error) {
	where, args := []string{"1"}, []any{}
	if !f.To.IsZero() {
		where, args = append(where, "start_at < ?"), append(args, f.To.UnixMilli())
	}
	if !f.From.IsZero() {
		where, args = append(where, "end_at > ?"), append(args, f.From.UnixMilli())
	}
	if f.Location != "" {
		where, args = append(where, "location = ?"), append(args, f.Location)
	}
	if f.PatientID != "" {
		where, args = append(where, "patient_id = ?"), append(args, string(f.PatientID))
	}
	out, err := listRecords[lane.Appointment](ctx, db, db.r, tAppointments, strings.Join(where, " AND ")+" ORDER BY start_at, id", args...)
	if err != nil {
		return nil, fmt.Errorf("localdb: list appointments: %w", err)
	}
	return out, nil
}

// GetEncounter returns a live encounter.
func (db *DB) GetEncounter(ctx context.Context, id lane.EncounterID) (lane.Encounter, error) {
	return getLive[lane.Encounter](ctx, db, db.r, tEncounters, string(id), "encounter")
}

// SaveEncounter stores an encounter; a signed encounter only takes status
// changes and new addenda (lane.Encounter.CheckEdit).
func (db *DB) SaveEncounter(ctx context.Context, by lane.Actor, e lane.Encounter) (lane.Encounter, error) {
	if err := checkActor(by); err != nil {
		return e, err
	}
	var out any
	err := db.write(ctx, func(tx *wtx) error {
		if e.ID != "" {
			old, deleted, err := getRecord[lane.Encounter](ctx, db, tx, tEncounters, string(e.ID))
			if err == nil && !deleted {
				if err := old.CheckEdit(e); err != nil {
					return err
				}
			}
		}
		ri, err := db.describe(ctx, tx, e)
		if err != nil {
			return err
		}
		if e.Signed() {
			ri.action = lane.AuditSign // audited as a signature when newly signed
			if old, deleted, err := getRecord[lane.Encounter](ctx, db, tx, tEncounters, string(e.ID)); err == nil && !deleted && old.Signed() {
				ri.action = ""
			}
		}
		out, err = tx.save(ri, saveLocal, by, "")
		return err
	})
	if err != nil {
		return e, fmt.Errorf("localdb: save encounter: %w", err)
	}
	return out.(lane.Encounter), nil
}

// SaveMeasurement stores a measurement.
func (db *DB) SaveMeasurement(ctx context.Context, by lane.Actor, m lane.Measurement) (lane.Measurement, error) {
	return saveLocalRecord[lane.Measurement](ctx, db, by, m)
}

// ListMeasurements returns live measurements of a patient, by received time
// then id.
func (db *DB) ListMeasurements(ctx context.Context, f lane.MeasurementFilter) ([]lane.Measurement, error) {
	if f.PatientID == "" {
		return nil, lane.Invalidf("list measurements: no patient")
	}
	where, args := "patient_id = ?", []any{string(f.PatientID)}
	if f.EncounterID != "" {
		where, args = where+" AND encounter_id = ?", append(args, string(f.EncounterID))
	}
	ms, err := listRecords[lane.Measurement](ctx, db, db.r, tMeasurements, where, args...)
	if err != nil {
		return nil, fmt.Errorf("localdb: list measurements: %w", err)
	}
	if f.Kind != "" {
		k := ms[:0]
		for _, m := range ms {
			if m.Kind == f.Kind {
				k = append(k, m)
			}
		}
		ms = k
	}
	sortMeasurements(ms)
	return ms, nil
}

func sortMeasurements(ms []lane.Measurement) {
	sort.Slice(ms, func(i, j int) bool {
		if !ms[i].ReceivedAt.Equal(ms[j].ReceivedAt) {
			return ms[i].ReceivedAt.Before(ms[j].ReceivedAt)
		}
		return ms[i].ID < ms[j].ID
	})
}

// DeleteMeasurement tombstones a measurement; by.Reason is required.
func (db *DB) DeleteMeasurement(ctx context.Context, by lane.Actor, id lane.MeasurementID, version int64) error {
	if err := checkActor(by); err != nil {
		return err
	}
	if strings.TrimSpace(by.Reason) == "" {
		return lane.Invalidf("delete measurement %s: a reason is required", id)
	}
	err := db.write(ctx, func(tx *wtx) error { return tx.remove(tMeasurements, string(id), version, saveLocal, by, "") })
	if err != nil {
		return fmt.Errorf("localdb: delete measurement: %w", err)
	}
	return nil
}

// SaveSpectacleRx stores a spectacle prescription.
func (db *DB) SaveSpectacleRx(ctx context.Context, by lane.Actor, rx lane.SpectacleRx) (lane.SpectacleRx, error) {
	return saveLocalRecord[lane.SpectacleRx](ctx, db, by, rx)
}

// SaveContactLensRx stores a contact lens prescription.
func (db *DB) SaveContactLensRx(ctx context.Context, by lane.Actor, rx lane.ContactLensRx) (lane.ContactLensRx, error) {
	return saveLocalRecord[lane.ContactLensRx](ctx, db, by, rx)
}

// SaveAnnotation stores an annotation of a stored image.
func (db *DB) SaveAnnotation(ctx context.Context, by lane.Actor, a lane.Annotation) (lane.Annotation, error) {
	return saveLocalRecord[lane.Annotation](ctx, db, by, a)
}

// ListAnnotations returns an image's live annotations by time then id.
func (db *DB) ListAnnotations(ctx context.Context, id lane.ImageID) ([]lane.Annotation, error) {
	as, err := listRecords[lane.Annotation](ctx, db, db.r, tAnnotations, "image_id = ?", string(id))
	if err != nil {
		return nil, fmt.Errorf("localdb: list annotations: %w", err)
	}
	sort.Slice(as, func(i, j int) bool {
		if !as[i].At.Equal(as[j].At) {
			return as[i].At.Before(as[j].At)
		}
		return as[i].ID < as[j].ID
	})
	return as, nil
}

// Chart loads a patient's whole chart: appointments by start, encounters
// newest first, measurements by received time, prescriptions newest issue
// first, images by capture time.
func (db *DB) Chart(ctx context.Context, id lane.PatientID) (lane.Chart, error) {
	var c lane.Chart
	tx, err := db.r.BeginTx(ctx, nil) // one snapshot for the whole chart
	if err != nil {
		return c, classify(err)
	}
	defer tx.Rollback()
	p, err := getLive[lane.Patient](ctx, db, tx, tPatients, string(id), "patient")
	if err != nil {
		return c, fmt.Errorf("localdb: chart: %w", err)
	}
	c.Patient = p
	pid := string(id)
	if c.Appointments, err = listRecords[lane.Appointment](ctx, db, tx, tAppointments, "patient_id = ? ORDER BY start_at, id", pid); err != nil {
		return c, err
	}
	if c.Encounters, err = listRecords[lane.Encounter](ctx, db, tx, tEncounters, "patient_id = ?", pid); err != nil {
		return c, err
	}
	sort.Slice(c.Encounters, func(i, j int) bool {
		a, b := c.Encounters[i], c.Encounters[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.After(b.Start)
		}
		return a.ID < b.ID
	})
	if c.Measurements, err = listRecords[lane.Measurement](ctx, db, tx, tMeasurements, "patient_id = ?", pid); err != nil {
		return c, err
	}
	sortMeasurements(c.Measurements)
	if c.Prescriptions, err = listRecords[lane.SpectacleRx](ctx, db, tx, tSpectacleRx, "patient_id = ? AND kind = 'spectacle'", pid); err != nil {
		return c, err
	}
	sort.Slice(c.Prescriptions, func(i, j int) bool {
		a, b := c.Prescriptions[i], c.Prescriptions[j]
		if a.Issued != b.Issued {
			return b.Issued.Before(a.Issued)
		}
		return a.ID < b.ID
	})
	if c.ContactLenses, err = listRecords[lane.ContactLensRx](ctx, db, tx, tContactRx, "patient_id = ? AND kind = 'contact'", pid); err != nil {
		return c, err
	}
	sort.Slice(c.ContactLenses, func(i, j int) bool {
		a, b := c.ContactLenses[i], c.ContactLenses[j]
		if a.Issued != b.Issued {
			return b.Issued.Before(a.Issued)
		}
		return a.ID < b.ID
	})
	if c.Images, err = listRecords[lane.Image](ctx, db, tx, tImages, "patient_id = ?", pid); err != nil {
		return c, err
	}
	sort.Slice(c.Images, func(i, j int) bool {
		a, b := c.Images[i], c.Images[j]
		if !a.CapturedAt.Equal(b.CapturedAt) {
			return a.CapturedAt.Before(b.CapturedAt)
		}
		return a.ID < b.ID
	})
	return c, nil
}

// Import saves many records in one transaction (all or nothing), each as
// its Save method would: version check, outbox entry and audit event. It is
// for bulk loads such as a FHIR Bundle import; records are lane values
// (Patient, Appointment, Encounter, Measurement, SpectacleRx,
// ContactLensRx, Image metadata of stored images, Annotation), parents
// before children. It returns the stored records in order.
func (db *DB) Import(ctx context.Context, by lane.Actor, recs []any) ([]any, error) {
	if err := checkActor(by); err != nil {
		return nil, err
	}
	out := make([]any, 0, len(recs))
	err := db.write(ctx, func(tx *wtx) error {
		for i, rec := range recs {
			if _, ok := rec.(lane.Image); ok && rec.(lane.Image).Version == 0 {
				return lane.Invalidf("import record %d: images need their data (use SaveImage)", i)
			}
			ri, err := db.describe(ctx, tx, rec)
			if err != nil {
				return fmt.Errorf("record %d: %w", i, err)
			}
			if enc, ok := rec.(lane.Encounter); ok && enc.ID != "" {
				if old, deleted, err := getRecord[lane.Encounter](ctx, db, tx, tEncounters, string(enc.ID)); err == nil && !deleted {
					if err := old.CheckEdit(enc); err != nil {
						return fmt.Errorf("record %d: %w", i, err)
					}
				}
			}
			saved, err := tx.save(ri, saveLocal, by, "")
			if err != nil {
				return fmt.Errorf("record %d: %w", i, err)
			}
			out = append(out, saved)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("localdb: import: %w", err)
	}
	return out, nil
}
