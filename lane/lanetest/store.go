package lanetest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/examlane/examlane/lane"
)

// Store is an in-memory lane.Store and lane.SyncStore with the semantics of
// the real store (localdb), checked by the same conformance suites. Records
// are kept as JSON, so callers never share memory with it. It is safe for
// concurrent use.
type Store struct {
	mu    sync.Mutex
	clock lane.Clock

	recs       map[string]map[string]*frec // entity → id → record; guarded by mu
	captures   map[lane.CaptureID][]byte   // guarded by mu
	imageData  map[lane.ImageID][]byte     // guarded by mu
	outbox     []*fout                     // guarded by mu
	seq        int64                       // guarded by mu
	audit      []lane.AuditEvent           // guarded by mu
	refs       map[string]ref              // entity\x00id → server ref; guarded by mu
	watermarks map[string]string           // guarded by mu
	conflicts  []lane.Conflict             // guarded by mu
	tombstones []Tombstone                 // guarded by mu

	// Fail, when not nil, is returned by every write and nothing is
	// written (failure injection for consumers' tests).
	Fail error
}

// Tombstone is a deletion kept by the fake.
type Tombstone struct {
	Entity, ID string
	Version    int64
	By         lane.UserID
	At         time.Time
	Reason     string
	Prior      []byte
}

type frec struct {
	version int64
	deleted bool
	patient lane.PatientID
	doc     []byte
}

type fout struct {
	e       lane.OutboxEntry
	patient lane.PatientID
	parked  bool
}

type ref struct{ serverID, version string }

var (
	_ lane.Store     = (*Store)(nil)
	_ lane.SyncStore = (*Store)(nil)
)

// NewStore returns an empty store reading time from clock (the system
// clock when nil).
func NewStore(clock lane.Clock) *Store {
	if clock == nil {
		clock = lane.SystemClock{}
	}
	return &Store{clock: clock, recs: map[string]map[string]*frec{}, captures: map[lane.CaptureID][]byte{},
		imageData: map[lane.ImageID][]byte{}, refs: map[string]ref{}, watermarks: map[string]string{}}
}

// Tombstones returns every deletion kept, oldest first.
func (s *Store) Tombstones() []Tombstone {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Tombstone(nil), s.tombstones...)
}

// info is how a record is kept.
type info struct {
	entity  string
	id      string
	version int64
	patient lane.PatientID
	deleted bool
	at      func(ver int64, now time.Time) any
}

func (s *Store) describe(rec any) (info, error) {
	switch r := rec.(type) {
	case lane.Patient:
		newID(&r.ID, r.Version)
		if err := r.Validate(); err != nil {
			return info{}, err
		}
		return info{lane.EntityPatient, string(r.ID), r.Version, r.ID, r.Deleted,
			func(v int64, now time.Time) any { r.Version, r.Updated, r.Deleted = v, now, false; return r }}, nil
	case lane.Appointment:
		newID(&r.ID, r.Version)
		if r.PatientID == "" || r.Start.IsZero() || r.End.Before(r.Start) {
			return info{}, lane.Invalidf("appointment: missing patient or times")
		}
		return info{lane.EntityAppointment, string(r.ID), r.Version, r.PatientID, r.Deleted,
			func(v int64, now time.Time) any { r.Version, r.Updated, r.Deleted = v, now, false; return r }}, nil
	case lane.Encounter:
		newID(&r.ID, r.Version)
		return owned(lane.EntityEncounter, "encounter", string(r.ID), r.Version, r.PatientID, r.Deleted,
			func(v int64, now time.Time) any { r.Version, r.Updated, r.Deleted = v, now, false; return r })
	case lane.Measurement:
		newID(&r.ID, r.Version)
		return owned(lane.EntityMeasurement, "measurement", string(r.ID), r.Version, r.PatientID, r.Deleted,
			func(v int64, now time.Time) any { r.Version, r.Deleted = v, false; return r })
	case lane.SpectacleRx:
		newID(&r.ID, r.Version)
		return owned(lane.EntitySpectacleRx, "prescription", string(r.ID), r.Version, r.PatientID, r.Deleted,
			func(v int64, now time.Time) any { r.Version, r.Updated, r.Deleted = v, now, false; return r })
	case lane.ContactLensRx:
		newID(&r.ID, r.Version)
		return owned(lane.EntityContactRx, "contact lens prescription", string(r.ID), r.Version, r.PatientID, r.Deleted,
			func(v int64, now time.Time) any { r.Version, r.Updated, r.Deleted = v, now, false; return r })
	case lane.Image:
		newID(&r.ID, r.Version)
		return owned(lane.EntityImage, "image", string(r.ID), r.Version, r.PatientID, r.Deleted,
			func(v int64, now time.Time) any { r.Version, r.Deleted = v, false; return r })
	case lane.Annotation:
		newID(&r.ID, r.Version)
		if r.ImageID == "" {
			return info{}, lane.Invalidf("annotation: missing image")
		}
		img, ok := s.recs[lane.EntityImage][string(r.ImageID)]
		if !ok {
			return info{}, fmt.Errorf("annotation: image %s: %w", r.ImageID, lane.ErrNotFound)
		}
		return info{lane.EntityAnnotation, r.ID, r.Version, img.patient, r.Deleted,
			func(v int64, now time.Time) any { r.Version, r.Deleted = v, false; return r }}, nil
	}
	return info{}, fmt.Errorf("lanetest: unsupported record type %T: %w", rec, lane.ErrInvalid)
}

// newID gives a new record (no id, version 0) a fresh id.
func newID[ID ~string](id *ID, version int64) {
	if *id == "" && version == 0 {
		*id = ID(lane.NewID())
	}
}

// owned describes a record that belongs to a patient; what names the record
// in the error when the patient is missing.
func owned(entity, what, id string, version int64, patient lane.PatientID, deleted bool, at func(int64, time.Time) any) (info, error) {
	if patient == "" {
		return info{}, lane.Invalidf("%s: missing patient", what)
	}
	return info{entity, id, version, patient, deleted, at}, nil
}

// decoders reads each entity's JSON document back into its record value.
var decoders = map[string]func([]byte) (any, error){
	lane.EntityPatient:     decodeAs[lane.Patient],
	lane.EntityAppointment: decodeAs[lane.Appointment],
	lane.EntityEncounter:   decodeAs[lane.Encounter],
	lane.EntityMeasurement: decodeAs[lane.Measurement],
	lane.EntitySpectacleRx: decodeAs[lane.SpectacleRx],
	lane.EntityContactRx:   decodeAs[lane.ContactLensRx],
	lane.EntityImage:       decodeAs[lane.Image],
	lane.EntityAnnotation:  decodeAs[lane.Annotation],
}

func decodeAs[T any](b []byte) (any, error) {
	var r T
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return r, nil
}

func decode(entity string, b []byte) (any, error) {
	d, ok := decoders[entity]
	if !ok {
		return nil, lane.Invalidf("unknown entity %q", entity)
	}
	return d(b)
}

type mode int

const (
	modeLocal mode = iota
	modeRemote
	modeResolve
)

// save is the fake's write path. Caller holds s.mu.
func (s *Store) save(in info, m mode, by lane.Actor, serverVersion string, action lane.AuditAction) (any, error) {
	if s.Fail != nil {
		return nil, s.Fail
	}
	tbl := s.recs[in.entity]
	if tbl == nil {
		tbl = map[string]*frec{}
		s.recs[in.entity] = tbl
	}
	cur, exists := tbl[in.id]
	if exists && cur.patient != in.patient && in.entity != lane.EntityAnnotation {
		return nil, lane.Invalidf("%s %s belongs to another patient", in.entity, in.id)
	}
	if m == modeLocal {
		switch {
		case !exists && in.version != 0:
			return nil, fmt.Errorf("%s %s: %w", in.entity, in.id, lane.ErrNotFound)
		case exists && cur.deleted:
			return nil, fmt.Errorf("%s %s was deleted: %w", in.entity, in.id, lane.ErrNotFound)
		case exists && cur.version != in.version:
			return nil, fmt.Errorf("%s %s: %w", in.entity, in.id, lane.ErrConflict)
		}
	}
	if in.entity != lane.EntityPatient {
		if p, ok := s.recs[lane.EntityPatient][string(in.patient)]; !ok || p == nil {
			return nil, fmt.Errorf("patient %s: %w", in.patient, lane.ErrNotFound)
		}
	}
	var ver int64 = 1
	if exists {
		ver = cur.version + 1
	}
	rec := in.at(ver, s.clock.Now())
	doc, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	tbl[in.id] = &frec{version: ver, patient: in.patient, doc: doc}
	op, act := lane.OpCreate, lane.AuditCreate
	if exists {
		op, act = lane.OpUpdate, lane.AuditUpdate
	}
	if action != "" {
		act = action
	}
	switch m {
	case modeLocal:
		s.enqueue(in.entity, in.id, op, ver, s.refs[refKey(in.entity, in.id)].version, in.patient, by)
	case modeRemote:
		s.setRef(in.entity, in.id, "", serverVersion)
	case modeResolve:
		s.setRef(in.entity, in.id, "", serverVersion)
		s.enqueue(in.entity, in.id, lane.OpUpdate, ver, serverVersion, in.patient, by)
	}
	s.appendAudit(lane.AuditEvent{User: by.User, Role: by.PrimaryRole(), Lane: by.Lane, PatientID: in.patient, Action: act,
		Entity: in.entity + "/" + in.id, Outcome: lane.OutcomeSuccess, Reason: by.Reason, Detail: fmt.Sprintf("version %d", ver)})
	return rec, nil
}

// refKey is the key of s.refs.
func refKey(entity, id string) string { return entity + "\x00" + id }

// setRef records that the server holds a record at serverVersion, under
// serverID when given, else under the id it already has (the local id until
// the server names another). Caller holds s.mu.
func (s *Store) setRef(entity, id, serverID, serverVersion string) {
	k := refKey(entity, id)
	r := s.refs[k]
	switch {
	case serverID != "":
		r.serverID = serverID
	case r.serverID == "":
		r.serverID = id
	}
	r.version = serverVersion
	s.refs[k] = r
}

func (s *Store) enqueue(entity, id string, op lane.OutboxOp, ver int64, base string, patient lane.PatientID, by lane.Actor) {
	s.seq++
	s.outbox = append(s.outbox, &fout{e: lane.OutboxEntry{Seq: s.seq, Entity: entity, ID: id, Op: op, IdempotencyKey: lane.NewID(),
		LocalVersion: ver, BaseVersion: base, Actor: copyActor(by), Created: s.clock.Now()}, patient: patient})
}

func copyActor(a lane.Actor) lane.Actor {
	a.Roles = append([]lane.Role(nil), a.Roles...)
	return a
}

func (s *Store) appendAudit(e lane.AuditEvent) {
	if e.ID == "" {
		e.ID = lane.NewID()
	}
	if e.At.IsZero() {
		e.At = s.clock.Now()
	}
	if e.Outcome == "" {
		e.Outcome = lane.OutcomeSuccess
	}
	e.Seq = int64(len(s.audit)) + 1
	s.audit = append(s.audit, e)
	s.enqueue(lane.EntityAudit, e.ID, lane.OpCreate, 1, "", "", lane.Actor{User: e.User, Lane: e.Lane})
}

func (s *Store) remove(entity, id string, expect int64, m mode, by lane.Actor, serverVersion string) error {
	if s.Fail != nil {
		return s.Fail
	}
	cur, ok := s.recs[entity][id]
	if !ok || cur.deleted {
		if m == modeRemote {
			s.setRef(entity, id, "", serverVersion)
			return nil
		}
		return fmt.Errorf("%s %s: %w", entity, id, lane.ErrNotFound)
	}
	if m == modeLocal && cur.version != expect {
		return fmt.Errorf("%s %s: %w", entity, id, lane.ErrConflict)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(cur.doc, &doc); err != nil {
		return err
	}
	ver := cur.version + 1
	doc["Deleted"], doc["Version"] = json.RawMessage("true"), json.RawMessage(fmt.Sprint(ver))
	nd, _ := json.Marshal(doc)
	s.tombstones = append(s.tombstones, Tombstone{Entity: entity, ID: id, Version: ver, By: by.User, At: s.clock.Now(), Reason: by.Reason, Prior: cur.doc})
	s.recs[entity][id] = &frec{version: ver, deleted: true, patient: cur.patient, doc: nd}
	if m == modeLocal {
		s.enqueue(entity, id, lane.OpDelete, ver, s.refs[refKey(entity, id)].version, cur.patient, by)
	} else {
		s.setRef(entity, id, "", serverVersion)
	}
	s.appendAudit(lane.AuditEvent{User: by.User, Role: by.PrimaryRole(), Lane: by.Lane, PatientID: cur.patient, Action: lane.AuditDelete,
		Entity: entity + "/" + id, Reason: by.Reason, Detail: fmt.Sprintf("deleted at version %d", ver)})
	return nil
}

func saveLocal[T any](s *Store, by lane.Actor, rec any, action func(info) lane.AuditAction) (T, error) {
	var zero T
	if by.User == "" {
		return zero, lane.Invalidf("no acting user")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, err := s.describe(rec)
	if err != nil {
		return zero, err
	}
	var act lane.AuditAction
	if action != nil {
		act = action(in)
	}
	out, err := s.save(in, modeLocal, by, "", act)
	if err != nil {
		return zero, err
	}
	return out.(T), nil
}

func get[T any](s *Store, entity, id string) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero T
	r, ok := s.recs[entity][id]
	if !ok || r.deleted {
		return zero, fmt.Errorf("%s %s: %w", entity, id, lane.ErrNotFound)
	}
	v, err := decode(entity, r.doc)
	if err != nil {
		return zero, err
	}
	return v.(T), nil
}

func list[T any](s *Store, entity string, keep func(T) bool) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []T
	for _, r := range s.recs[entity] {
		if r.deleted {
			continue
		}
		v, err := decode(entity, r.doc)
		if err != nil {
			continue
		}
		if t := v.(T); keep(t) {
			out = append(out, t)
		}
	}
	return out
}

// GetPatient implements lane.Store.
func (s *Store) GetPatient(_ context.Context, id lane.PatientID) (lane.Patient, error) {
	return get[lane.Patient](s, lane.EntityPatient, string(id))
}

// SavePatient implements lane.Store.
func (s *Store) SavePatient(_ context.Context, by lane.Actor, p lane.Patient) (lane.Patient, error) {
	return saveLocal[lane.Patient](s, by, p, nil)
}

// normalize folds case and white space like the real store.
func normalize(v string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(v), unicode.IsSpace), " ")
}

func nameKey(n lane.Name) string { return normalize(strings.Join(n.Given, " ") + " " + n.Family) }

// FindPatients implements lane.Store with the real store's rules: exact
// MRN, exact family name + birth date, or every word of NameContains in the
// name; sorted by family name, full name, id.
func (s *Store) FindPatients(_ context.Context, q lane.PatientQuery) ([]lane.Patient, error) {
	if (strings.TrimSpace(q.Family) == "") != q.BirthDate.IsZero() && strings.TrimSpace(q.MRN) == "" {
		return nil, lane.Invalidf("find patients: family name and birth date go together")
	}
	out := list(s, lane.EntityPatient, func(p lane.Patient) bool {
		switch {
		case strings.TrimSpace(q.MRN) != "":
			return normalize(p.MRN) == normalize(q.MRN)
		case strings.TrimSpace(q.Family) != "":
			return normalize(p.Name.Family) == normalize(q.Family) && p.BirthDate == q.BirthDate
		case strings.TrimSpace(q.NameContains) != "":
			k := nameKey(p.Name)
			for _, w := range strings.Fields(normalize(q.NameContains)) {
				if !strings.Contains(k, w) {
					return false
				}
			}
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if fa, fb := normalize(a.Name.Family), normalize(b.Name.Family); fa != fb {
			return fa < fb
		}
		if na, nb := nameKey(a.Name), nameKey(b.Name); na != nb {
			return na < nb
		}
		return a.ID < b.ID
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// ListAppointments implements lane.Store.
func (s *Store) ListAppointments(_ context.Context, f lane.AppointmentFilter) ([]lane.Appointment, error) {
	out := list(s, lane.EntityAppointment, func(a lane.Appointment) bool {
		return (f.To.IsZero() || a.Start.Before(f.To)) && (f.From.IsZero() || a.End.After(f.From)) &&
			(f.Location == "" || a.Location == f.Location) && (f.PatientID == "" || a.PatientID == f.PatientID)
	})
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// SaveAppointment implements lane.Store.
func (s *Store) SaveAppointment(_ context.Context, by lane.Actor, a lane.Appointment) (lane.Appointment, error) {
	return saveLocal[lane.Appointment](s, by, a, nil)
}

// GetEncounter implements lane.Store.
func (s *Store) GetEncounter(_ context.Context, id lane.EncounterID) (lane.Encounter, error) {
	return get[lane.Encounter](s, lane.EntityEncounter, string(id))
}

// SaveEncounter implements lane.Store; signed encounters are checked with
// lane.Encounter.CheckEdit.
func (s *Store) SaveEncounter(ctx context.Context, by lane.Actor, e lane.Encounter) (lane.Encounter, error) {
	var old lane.Encounter
	var had bool
	if e.ID != "" {
		if o, err := s.GetEncounter(ctx, e.ID); err == nil {
			if err := o.CheckEdit(e); err != nil {
				return e, err
			}
			old, had = o, true
		}
	}
	return saveLocal[lane.Encounter](s, by, e, func(info) lane.AuditAction {
		if e.Signed() && !(had && old.Signed()) {
			return lane.AuditSign
		}
		return ""
	})
}

// SaveMeasurement implements lane.Store.
func (s *Store) SaveMeasurement(_ context.Context, by lane.Actor, m lane.Measurement) (lane.Measurement, error) {
	return saveLocal[lane.Measurement](s, by, m, nil)
}

// ListMeasurements implements lane.Store: by received time then id.
func (s *Store) ListMeasurements(_ context.Context, f lane.MeasurementFilter) ([]lane.Measurement, error) {
	if f.PatientID == "" {
		return nil, lane.Invalidf("list measurements: no patient")
	}
	out := list(s, lane.EntityMeasurement, func(m lane.Measurement) bool {
		return m.PatientID == f.PatientID && (f.EncounterID == "" || m.EncounterID == f.EncounterID) && (f.Kind == "" || m.Kind == f.Kind)
	})
	sortMeasurements(out)
	return out, nil
}

func sortMeasurements(ms []lane.Measurement) {
	sort.Slice(ms, func(i, j int) bool {
		if !ms[i].ReceivedAt.Equal(ms[j].ReceivedAt) {
			return ms[i].ReceivedAt.Before(ms[j].ReceivedAt)
		}
		return ms[i].ID < ms[j].ID
	})
}

// DeleteMeasurement implements lane.Store; by.Reason is required.
func (s *Store) DeleteMeasurement(_ context.Context, by lane.Actor, id lane.MeasurementID, version int64) error {
	if by.User == "" {
		return lane.Invalidf("no acting user")
	}
	if strings.TrimSpace(by.Reason) == "" {
		return lane.Invalidf("delete measurement: a reason is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remove(lane.EntityMeasurement, string(id), version, modeLocal, by, "")
}

// SaveSpectacleRx implements lane.Store.
func (s *Store) SaveSpectacleRx(_ context.Context, by lane.Actor, rx lane.SpectacleRx) (lane.SpectacleRx, error) {
	return saveLocal[lane.SpectacleRx](s, by, rx, nil)
}

// SaveContactLensRx implements lane.Store.
func (s *Store) SaveContactLensRx(_ context.Context, by lane.Actor, rx lane.ContactLensRx) (lane.ContactLensRx, error) {
	return saveLocal[lane.ContactLensRx](s, by, rx, nil)
}

// SaveCapture implements lane.Store: an existing capture may be re-saved
// (assignment) but its raw bytes never change (ErrConflict).
func (s *Store) SaveCapture(_ context.Context, by lane.Actor, c lane.Capture) error {
	if by.User == "" {
		return lane.Invalidf("no acting user")
	}
	if c.ID == "" {
		return lane.Invalidf("save capture: missing id")
	}
	sum := sha256.Sum256(c.Raw)
	if c.SHA256 == ([32]byte{}) {
		c.SHA256 = sum
	} else if c.SHA256 != sum {
		return lane.Invalidf("save capture: SHA256 does not match the raw bytes")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return s.Fail
	}
	if c.PatientID != "" {
		if _, ok := s.recs[lane.EntityPatient][string(c.PatientID)]; !ok {
			return fmt.Errorf("patient %s: %w", c.PatientID, lane.ErrNotFound)
		}
	}
	act := lane.AuditCapture
	if old, ok := s.captures[c.ID]; ok {
		var o lane.Capture
		_ = json.Unmarshal(old, &o)
		if o.SHA256 != c.SHA256 {
			return fmt.Errorf("capture %s: raw bytes differ: %w", c.ID, lane.ErrConflict)
		}
		act = lane.AuditUpdate
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	s.captures[c.ID] = b
	s.appendAudit(lane.AuditEvent{User: by.User, Role: by.PrimaryRole(), Lane: by.Lane, PatientID: c.PatientID, Action: act,
		Entity: "Capture/" + string(c.ID)})
	return nil
}

// GetCapture implements lane.Store.
func (s *Store) GetCapture(_ context.Context, id lane.CaptureID) (lane.Capture, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c lane.Capture
	b, ok := s.captures[id]
	if !ok {
		return c, fmt.Errorf("capture %s: %w", id, lane.ErrNotFound)
	}
	err := json.Unmarshal(b, &c)
	return c, err
}

// ListCaptures implements lane.Store: without Raw, newest first.
func (s *Store) ListCaptures(_ context.Context, f lane.CaptureFilter) ([]lane.Capture, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []lane.Capture
	for _, b := range s.captures {
		var c lane.Capture
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, err
		}
		if (f.Unassigned && c.PatientID != "") || (!f.Unassigned && f.PatientID != "" && c.PatientID != f.PatientID) {
			continue
		}
		c.Raw = nil
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].ReceivedAt.Equal(out[j].ReceivedAt) {
			return out[i].ReceivedAt.After(out[j].ReceivedAt)
		}
		return out[i].ID < out[j].ID
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// SaveImage implements lane.Store.
func (s *Store) SaveImage(_ context.Context, by lane.Actor, img lane.Image, data []byte) (lane.Image, error) {
	if data != nil {
		sum := sha256.Sum256(data)
		if img.SHA256 != ([32]byte{}) && img.SHA256 != sum {
			return img, lane.Invalidf("save image: SHA256 does not match the data")
		}
		img.SHA256, img.Size = sum, int64(len(data))
	} else if img.Version == 0 {
		return img, lane.Invalidf("save image: a new image needs its data")
	}
	out, err := saveLocal[lane.Image](s, by, img, nil)
	if err != nil {
		return img, err
	}
	if data != nil {
		s.mu.Lock()
		s.imageData[out.ID] = append([]byte(nil), data...)
		s.mu.Unlock()
	}
	return out, nil
}

// ImageData implements lane.Store.
func (s *Store) ImageData(_ context.Context, id lane.ImageID) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[lane.EntityImage][string(id)]
	d, ok2 := s.imageData[id]
	if !ok || !ok2 || r.deleted {
		return nil, fmt.Errorf("image %s: %w", id, lane.ErrNotFound)
	}
	return append([]byte(nil), d...), nil
}

// SaveAnnotation implements lane.Store.
func (s *Store) SaveAnnotation(_ context.Context, by lane.Actor, a lane.Annotation) (lane.Annotation, error) {
	return saveLocal[lane.Annotation](s, by, a, nil)
}

// ListAnnotations implements lane.Store: by time then id.
func (s *Store) ListAnnotations(_ context.Context, id lane.ImageID) ([]lane.Annotation, error) {
	out := list(s, lane.EntityAnnotation, func(a lane.Annotation) bool { return a.ImageID == id })
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Chart implements lane.Store with the real store's orders.
func (s *Store) Chart(ctx context.Context, id lane.PatientID) (lane.Chart, error) {
	var c lane.Chart
	p, err := s.GetPatient(ctx, id)
	if err != nil {
		return c, err
	}
	c.Patient = p
	c.Appointments, _ = s.ListAppointments(ctx, lane.AppointmentFilter{PatientID: id})
	c.Encounters = list(s, lane.EntityEncounter, func(e lane.Encounter) bool { return e.PatientID == id })
	sort.Slice(c.Encounters, func(i, j int) bool {
		a, b := c.Encounters[i], c.Encounters[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.After(b.Start)
		}
		return a.ID < b.ID
	})
	c.Measurements, _ = s.ListMeasurements(ctx, lane.MeasurementFilter{PatientID: id})
	c.Prescriptions = list(s, lane.EntitySpectacleRx, func(r lane.SpectacleRx) bool { return r.PatientID == id })
	sort.Slice(c.Prescriptions, func(i, j int) bool {
		a, b := c.Prescriptions[i], c.Prescriptions[j]
		return issuedBefore(a.Issued, b.Issued, a.ID, b.ID)
	})
	c.ContactLenses = list(s, lane.EntityContactRx, func(r lane.ContactLensRx) bool { return r.PatientID == id })
	sort.Slice(c.ContactLenses, func(i, j int) bool {
		a, b := c.ContactLenses[i], c.ContactLenses[j]
		return issuedBefore(a.Issued, b.Issued, a.ID, b.ID)
	})
	c.Images = list(s, lane.EntityImage, func(m lane.Image) bool { return m.PatientID == id })
	sort.Slice(c.Images, func(i, j int) bool {
		a, b := c.Images[i], c.Images[j]
		if !a.CapturedAt.Equal(b.CapturedAt) {
			return a.CapturedAt.Before(b.CapturedAt)
		}
		return a.ID < b.ID
	})
	return c, nil
}

// issuedBefore orders prescriptions as the chart lists them: newest issue
// first, then by id.
func issuedBefore(a, b lane.Date, aID, bID lane.PrescriptionID) bool {
	if a != b {
		return b.Before(a)
	}
	return aID < bID
}

// Audit implements lane.Store.
func (s *Store) Audit(_ context.Context, e lane.AuditEvent) error {
	if e.User == "" || e.Action == "" {
		return lane.Invalidf("audit: no user or action")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return s.Fail
	}
	s.appendAudit(e)
	return nil
}

// ListAudit implements lane.Store: oldest first; with a Limit, the most
// recent Limit matching events.
func (s *Store) ListAudit(_ context.Context, f lane.AuditFilter) ([]lane.AuditEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []lane.AuditEvent
	for _, e := range s.audit {
		if (f.PatientID != "" && e.PatientID != f.PatientID) || (f.User != "" && e.User != f.User) ||
			(!f.From.IsZero() && e.At.Before(f.From)) || (!f.To.IsZero() && !e.At.Before(f.To)) {
			continue
		}
		out = append(out, e)
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return append([]lane.AuditEvent(nil), out...), nil
}

// PendingChanges implements lane.SyncStore.
func (s *Store) PendingChanges(_ context.Context, limit int) ([]lane.OutboxEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []lane.OutboxEntry
	for _, o := range s.outbox {
		if o.parked {
			continue
		}
		e := o.e
		e.Actor = copyActor(e.Actor)
		out = append(out, e)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

// PendingCount returns the number of undelivered, unparked outbox entries
// (as localdb.DB does).
func (s *Store) PendingCount(_ context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, o := range s.outbox {
		if !o.parked {
			n++
		}
	}
	return n, nil
}

// Record implements lane.SyncStore.
func (s *Store) Record(_ context.Context, entity, id string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if entity == lane.EntityAudit {
		for _, e := range s.audit {
			if e.ID == id {
				return e, nil
			}
		}
		return nil, fmt.Errorf("audit event %s: %w", id, lane.ErrNotFound)
	}
	if _, err := decode(entity, []byte("{}")); err != nil {
		return nil, err
	}
	r, ok := s.recs[entity][id]
	if !ok {
		return nil, fmt.Errorf("%s %s: %w", entity, id, lane.ErrNotFound)
	}
	return decode(entity, r.doc)
}

func (s *Store) findOut(seq int64) int {
	for i, o := range s.outbox {
		if o.e.Seq == seq {
			return i
		}
	}
	return -1
}

// MarkPushed implements lane.SyncStore.
func (s *Store) MarkPushed(_ context.Context, seq int64, serverID, serverVersion string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return s.Fail
	}
	i := s.findOut(seq)
	if i < 0 {
		return fmt.Errorf("outbox entry %d: %w", seq, lane.ErrNotFound)
	}
	e := s.outbox[i].e
	s.outbox = append(s.outbox[:i], s.outbox[i+1:]...)
	s.setRef(e.Entity, e.ID, serverID, serverVersion)
	return nil
}

// MarkAttempt implements lane.SyncStore.
func (s *Store) MarkAttempt(_ context.Context, seq int64, errText string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return s.Fail
	}
	i := s.findOut(seq)
	if i < 0 {
		return fmt.Errorf("outbox entry %d: %w", seq, lane.ErrNotFound)
	}
	s.outbox[i].e.Attempts++
	s.outbox[i].e.LastError = errText
	return nil
}

// ServerRef implements lane.SyncStore.
func (s *Store) ServerRef(_ context.Context, entity, localID string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.refs[refKey(entity, localID)]
	return r.serverID, r.version, nil
}

// LocalID implements lane.SyncStore.
func (s *Store) LocalID(_ context.Context, entity, serverID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for k, r := range s.refs {
		e, id, _ := strings.Cut(k, "\x00")
		if e == entity && r.serverID == serverID {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return "", fmt.Errorf("%s with server id %s: %w", entity, serverID, lane.ErrNotFound)
	}
	sort.Strings(ids)
	return ids[0], nil
}

func (s *Store) pending(entity, id string) bool {
	for _, o := range s.outbox {
		if o.e.Entity == entity && o.e.ID == id {
			return true
		}
	}
	return false
}

// ApplyRemote implements lane.SyncStore.
func (s *Store) ApplyRemote(_ context.Context, rec any, serverID, serverVersion string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, err := s.describe(rec)
	if err != nil {
		return err
	}
	if s.pending(in.entity, in.id) {
		return fmt.Errorf("%s %s has undelivered local changes: %w", in.entity, in.id, lane.ErrConflict)
	}
	sync := lane.Actor{User: "sync"}
	if in.deleted {
		err = s.remove(in.entity, in.id, 0, modeRemote, sync, serverVersion)
	} else {
		_, err = s.save(in, modeRemote, sync, serverVersion, "")
	}
	if err != nil {
		return err
	}
	if serverID != "" {
		s.setRef(in.entity, in.id, serverID, serverVersion)
	}
	return nil
}

// ApplyRemoteDelete implements lane.SyncStore.
func (s *Store) ApplyRemoteDelete(_ context.Context, entity, localID, serverVersion string) error {
	if _, err := decode(entity, []byte("{}")); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending(entity, localID) {
		return fmt.Errorf("%s %s has undelivered local changes: %w", entity, localID, lane.ErrConflict)
	}
	return s.remove(entity, localID, 0, modeRemote, lane.Actor{User: "sync"}, serverVersion)
}

// Watermark implements lane.SyncStore.
func (s *Store) Watermark(_ context.Context, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.watermarks[key], nil
}

// SetWatermark implements lane.SyncStore.
func (s *Store) SetWatermark(_ context.Context, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return s.Fail
	}
	s.watermarks[key] = value
	return nil
}

// AddConflict implements lane.SyncStore.
func (s *Store) AddConflict(_ context.Context, c lane.Conflict) error {
	if c.Entity == "" || c.EntityID == "" {
		return lane.Invalidf("add conflict: missing entity or id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return s.Fail
	}
	if c.ID == "" {
		c.ID = lane.ConflictID(lane.NewID())
	}
	if c.Detected.IsZero() {
		c.Detected = s.clock.Now()
	}
	c.Mine, c.Theirs = append([]byte(nil), c.Mine...), append([]byte(nil), c.Theirs...)
	s.conflicts = append(s.conflicts, c)
	for _, o := range s.outbox {
		if o.e.Entity == c.Entity && o.e.ID == c.EntityID {
			o.parked = true
		}
	}
	return nil
}

// Conflicts implements lane.SyncStore.
func (s *Store) Conflicts(_ context.Context, includeResolved bool) ([]lane.Conflict, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []lane.Conflict
	for _, c := range s.conflicts {
		if !includeResolved && !c.Resolved.IsZero() {
			continue
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Detected.Before(out[j].Detected) })
	return out, nil
}

// ResolveConflict implements lane.SyncStore.
func (s *Store) ResolveConflict(_ context.Context, id lane.ConflictID, how lane.ConflictResolution, by lane.Actor, rec any) error {
	if by.User == "" {
		return lane.Invalidf("no acting user")
	}
	switch how {
	case lane.ResolveKeepMine, lane.ResolveMerge, lane.ResolveTakeTheirs:
	default:
		return lane.Invalidf("resolve conflict: unknown resolution %q", how)
	}
	if rec == nil {
		return lane.Invalidf("resolve conflict: no record")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return s.Fail
	}
	ci := -1
	for i, c := range s.conflicts {
		if c.ID == id {
			ci = i
		}
	}
	if ci < 0 {
		return fmt.Errorf("conflict %s: %w", id, lane.ErrNotFound)
	}
	c := s.conflicts[ci]
	if !c.Resolved.IsZero() {
		return fmt.Errorf("conflict %s already resolved: %w", id, lane.ErrConflict)
	}
	in, err := s.describe(rec)
	if err != nil {
		return err
	}
	if in.entity != c.Entity || in.id != c.EntityID {
		return lane.Invalidf("resolve conflict: record is %s/%s, conflict is about %s/%s", in.entity, in.id, c.Entity, c.EntityID)
	}
	kept := s.outbox[:0]
	for _, o := range s.outbox {
		if !(o.e.Entity == c.Entity && o.e.ID == c.EntityID) {
			kept = append(kept, o)
		}
	}
	s.outbox = kept
	m := modeResolve
	if how == lane.ResolveTakeTheirs {
		m = modeRemote
	}
	if _, err := s.save(in, m, by, c.TheirsVersion, ""); err != nil {
		return err
	}
	c.Resolved, c.Resolution, c.ResolvedBy = s.clock.Now(), how, by.User
	s.conflicts[ci] = c
	s.appendAudit(lane.AuditEvent{User: by.User, Role: by.PrimaryRole(), Lane: by.Lane, PatientID: in.patient, Action: lane.AuditUpdate,
		Entity: "Conflict/" + string(id), Detail: "conflict resolved: " + string(how)})
	return nil
}
