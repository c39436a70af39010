package lane

import (
	"context"
	"time"
)

// Clock tells the time. lane and syncclient never read the wall clock
// directly, so that tests control time.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// PatientQuery selects patients. Exactly one of the exact-match fields or
// NameContains is normally set.
type PatientQuery struct {
	MRN string
	// Family and BirthDate together are an exact match.
	Family    string
	BirthDate Date
	// NameContains matches any part of the name, case-insensitively.
	NameContains string
	Limit        int
}

// AppointmentFilter selects appointments overlapping [From, To).
type AppointmentFilter struct {
	From, To  time.Time
	Location  string // empty: any
	PatientID PatientID
}

// MeasurementFilter selects measurements.
type MeasurementFilter struct {
	PatientID   PatientID
	EncounterID EncounterID // empty: all encounters of the patient
	Kind        Kind        // empty: all kinds
}

// CaptureFilter selects raw instrument captures.
type CaptureFilter struct {
	PatientID PatientID
	// Unassigned selects captures not yet bound to a patient.
	Unassigned bool
	Limit      int
}

// AuditFilter selects audit events.
type AuditFilter struct {
	PatientID PatientID
	User      UserID
	From, To  time.Time
	Limit     int
}

// Chart is everything the lane shows about one patient.
type Chart struct {
	Patient       Patient
	Appointments  []Appointment
	Encounters    []Encounter // newest first
	Measurements  []Measurement
	Prescriptions []SpectacleRx
	ContactLenses []ContactLensRx
	Images        []Image
}

// Store persists the lane's records. Implementations must be safe for
// concurrent use. Every Save/Delete writes the change, its outbox entry and
// its audit event (attributed to the Actor) in one transaction. Saves use
// optimistic concurrency: a record's Version must equal the stored version
// (0 to create) or the save fails with ErrConflict and writes nothing; on
// success the returned record carries the new Version. Getters return
// ErrNotFound for unknown ids.
type Store interface {
	GetPatient(ctx context.Context, id PatientID) (Patient, error)
	// FindPatients returns live patients sorted by family name, full name,
	// id. MRN and Family+BirthDate match exactly (case and white space
	// folded); NameContains matches names containing every word of it; no
	// criteria returns everyone. Limit > 0 caps the result.
	FindPatients(ctx context.Context, q PatientQuery) ([]Patient, error)
	SavePatient(ctx context.Context, by Actor, p Patient) (Patient, error)

	ListAppointments(ctx context.Context, f AppointmentFilter) ([]Appointment, error)
	SaveAppointment(ctx context.Context, by Actor, a Appointment) (Appointment, error)

	GetEncounter(ctx context.Context, id EncounterID) (Encounter, error)
	SaveEncounter(ctx context.Context, by Actor, e Encounter) (Encounter, error)

	SaveMeasurement(ctx context.Context, by Actor, m Measurement) (Measurement, error)
	ListMeasurements(ctx context.Context, f MeasurementFilter) ([]Measurement, error)
	// DeleteMeasurement leaves a tombstone with the sealed prior version;
	// by.Reason says why.
	DeleteMeasurement(ctx context.Context, by Actor, id MeasurementID, version int64) error

	SaveSpectacleRx(ctx context.Context, by Actor, rx SpectacleRx) (SpectacleRx, error)
	SaveContactLensRx(ctx context.Context, by Actor, rx ContactLensRx) (ContactLensRx, error)

	// SaveCapture keeps an instrument's raw bytes, sealed.
	SaveCapture(ctx context.Context, by Actor, c Capture) error
	GetCapture(ctx context.Context, id CaptureID) (Capture, error)
	// ListCaptures returns captures without their Raw bytes, newest first.
	ListCaptures(ctx context.Context, f CaptureFilter) ([]Capture, error)

	SaveImage(ctx context.Context, by Actor, img Image, data []byte) (Image, error)
	ImageData(ctx context.Context, id ImageID) ([]byte, error)
	SaveAnnotation(ctx context.Context, by Actor, a Annotation) (Annotation, error)
	ListAnnotations(ctx context.Context, id ImageID) ([]Annotation, error)

	// Chart loads a patient's whole chart.
	Chart(ctx context.Context, id PatientID) (Chart, error)

	// Audit appends an event that is not part of a record change (view,
	// sign-in, lock, export, ...). Events of changes are written by the
	// Save methods themselves.
	Audit(ctx context.Context, e AuditEvent) error
	// ListAudit returns matching events oldest first; with f.Limit > 0, the
	// most recent Limit of them (still oldest first).
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}

// Secrets keeps small secrets (wrapped keys) in the OS keychain. Get returns
// ErrNotFound when the name is absent and ErrUnavailable when no keychain is
// reachable; implementations must not block longer than their timeout.
type Secrets interface {
	Get(name string) ([]byte, error)
	Set(name string, v []byte) error
	Delete(name string) error
}
