package lane

import (
	"context"
	"time"
)

// OutboxOp is the kind of change an outbox entry carries.
type OutboxOp string

// Outbox operations.
const (
	OpCreate OutboxOp = "create"
	OpUpdate OutboxOp = "update"
	OpDelete OutboxOp = "delete"
)

// OutboxEntry is one local change waiting to reach the practice server. The
// store writes it in the same transaction as the change; the sync client
// drains entries in Seq order and marks each delivered exactly once.
type OutboxEntry struct {
	Seq int64
	// Entity is the record type ("Patient", "Encounter", "Measurement",
	// "SpectacleRx", "Image", "Annotation", "AuditEvent", ...) and ID its id.
	Entity string
	ID     string
	Op     OutboxOp
	// IdempotencyKey is stable across retries of the same change.
	IdempotencyKey string
	// LocalVersion is the record version this entry carries; BaseVersion is
	// the server version the change was made on ("" for a create).
	LocalVersion int64
	BaseVersion  string
	Actor        Actor
	Created      time.Time
	Attempts     int
	LastError    string
}

// ConflictID identifies a sync conflict.
type ConflictID string

// ConflictResolution is how a person resolved a conflict.
type ConflictResolution string

// Resolutions. None is automatic: a person always chooses.
const (
	ResolveKeepMine   ConflictResolution = "keep-mine"
	ResolveTakeTheirs ConflictResolution = "take-theirs"
	ResolveMerge      ConflictResolution = "merge"
)

// Conflict is a change the server refused because someone else changed the
// same record first. Both versions are kept until a person resolves it.
type Conflict struct {
	ID        ConflictID
	Entity    string
	EntityID  string
	PatientID PatientID
	// Mine and Theirs are the two versions as JSON documents (the wire form),
	// so the UI can show them field by field.
	Mine, Theirs  []byte
	TheirsVersion string
	Detected      time.Time
	Resolved      time.Time
	Resolution    ConflictResolution
	ResolvedBy    UserID
}

// SyncStatus is what the status bar shows about sync.
type SyncStatus struct {
	Online      bool
	LastSuccess time.Time
	Queued      int
	Conflicts   int
	// LastError is the last failure in words, empty when the last attempt
	// succeeded.
	LastError string
	// Progress of a running pull, 0..1; negative when idle.
	Progress float64
}

// Entity names used in outbox entries, sync state and conflicts. They are
// the FHIR resource types the records map to where one exists.
const (
	EntityPatient     = "Patient"
	EntityAppointment = "Appointment"
	EntityEncounter   = "Encounter"
	EntityMeasurement = "Observation"
	EntitySpectacleRx = "VisionPrescription"
	EntityContactRx   = "ContactLensRx"
	EntityImage       = "Image"
	EntityAnnotation  = "Annotation"
	EntityAudit       = "AuditEvent"
	EntityUser        = "Practitioner"
)

// SyncStore is what the sync client needs from the local store beyond
// Store. Implementations must be safe for concurrent use.
//
// Records passed as `any` are lane values (not pointers): Patient,
// Appointment, Encounter, Measurement, SpectacleRx, ContactLensRx, Image,
// Annotation, AuditEvent.
type SyncStore interface {
	// PendingChanges returns undelivered outbox entries, oldest first.
	PendingChanges(ctx context.Context, limit int) ([]OutboxEntry, error)
	// Record returns the current local record an outbox entry refers to
	// (for a delete, the tombstone with Deleted set).
	Record(ctx context.Context, entity, id string) (any, error)
	// MarkPushed removes a delivered entry and remembers the server's id and
	// version of the record, in one transaction. Records created on the lane
	// get a server-assigned id on first push (the lane id travels as a FHIR
	// identifier, urn:examlane:id); records pulled from the server use the
	// server id as their local id.
	MarkPushed(ctx context.Context, seq int64, serverID, serverVersion string) error
	// MarkAttempt records a failed delivery attempt with its error in words.
	MarkAttempt(ctx context.Context, seq int64, errText string) error

	// ServerRef returns the server id and last server version known for a
	// local record; both "" when the server has never seen it.
	ServerRef(ctx context.Context, entity, localID string) (serverID, serverVersion string, err error)
	// LocalID maps a server id back to the local id (the server id itself
	// when the record came from the server); ErrNotFound when unknown.
	LocalID(ctx context.Context, entity, serverID string) (string, error)
	// ApplyRemote stores a record pulled from the server as-is (no outbox
	// entry, an audit event attributed to the sync process). When the record
	// has undelivered local changes it writes nothing and returns
	// ErrConflict, so that the caller records a Conflict; it never overwrites
	// local work.
	// rec carries local ids (the caller maps references with LocalID).
	// A child record (appointment, encounter, measurement, prescription,
	// image) whose patient is not stored locally returns ErrNotFound and
	// writes nothing: apply patients first.
	ApplyRemote(ctx context.Context, rec any, serverID, serverVersion string) error
	// ApplyRemoteDelete marks a record deleted by the server, with the same
	// conflict rule as ApplyRemote.
	ApplyRemoteDelete(ctx context.Context, entity, localID, serverVersion string) error
	// Watermark and SetWatermark keep incremental-pull positions by key
	// (e.g. "Patient"), as the server's own timestamp strings.
	Watermark(ctx context.Context, key string) (string, error)
	SetWatermark(ctx context.Context, key, value string) error

	// AddConflict keeps both versions of a refused change until a person
	// resolves it; the outbox entry stays parked (not retried) meanwhile.
	AddConflict(ctx context.Context, c Conflict) error
	Conflicts(ctx context.Context, includeResolved bool) ([]Conflict, error)
	// ResolveConflict records the person's decision. For keep-mine and merge,
	// rec is the record to push (re-queued on the server's version
	// TheirsVersion); for take-theirs, rec is the server's record, applied
	// locally.
	ResolveConflict(ctx context.Context, id ConflictID, how ConflictResolution, by Actor, rec any) error
}

// RemoteRecord is one record pulled from the server, for stores that apply
// a page of pulled records in one transaction (the batch form of
// SyncStore.ApplyRemote).
type RemoteRecord struct {
	// Rec is the lane value with local ids, as passed to ApplyRemote.
	Rec any
	// ServerID and ServerVersion are the server's id and version of Rec.
	ServerID, ServerVersion string
	// Data holds an image's bytes when they were fetched; nil for records
	// without bytes (then only the description is stored).
	Data []byte
}

// Delivered is one outbox entry the server acknowledged: the batch form of
// SyncStore.MarkPushed's arguments.
type Delivered struct {
	Seq                     int64
	ServerID, ServerVersion string
}
