package lane

import (
	"fmt"
	"time"
)

// AppointmentID identifies an appointment.
type AppointmentID string

// EncounterID identifies an encounter (one visit's exam).
type EncounterID string

// UserID identifies a staff member's account.
type UserID string

// AppointmentStatus is where a patient is in today's flow, as the worklist
// shows it.
type AppointmentStatus string

// Appointment statuses, in visit order.
const (
	ApptBooked         AppointmentStatus = "booked"
	ApptArrived        AppointmentStatus = "arrived"
	ApptPretest        AppointmentStatus = "pretest"
	ApptReadyForDoctor AppointmentStatus = "ready-for-doctor"
	ApptExam           AppointmentStatus = "exam"
	ApptDispensing     AppointmentStatus = "dispensing"
	ApptDone           AppointmentStatus = "done"
	ApptCancelled      AppointmentStatus = "cancelled"
	ApptNoShow         AppointmentStatus = "noshow"
)

// Appointment is a booked slot on the practice schedule.
type Appointment struct {
	ID        AppointmentID
	PatientID PatientID
	Start     time.Time
	End       time.Time
	Location  string // location (site) id
	Lane      string // lane name, empty when not yet assigned
	Provider  UserID // the optometrist booked
	Reason    string // e.g. "Routine eye exam"
	Status    AppointmentStatus
	// With is the staff member currently with the patient.
	With UserID

	Version int64
	Updated time.Time
	Deleted bool
}

// EncounterStatus is the exam lifecycle.
type EncounterStatus string

// Encounter statuses, in lifecycle order.
const (
	EncScheduled  EncounterStatus = "scheduled"
	EncCheckedIn  EncounterStatus = "checked-in"
	EncPretest    EncounterStatus = "pretest"
	EncExam       EncounterStatus = "exam"
	EncDispensing EncounterStatus = "dispensing"
	EncDone       EncounterStatus = "done"
)

var encounterOrder = map[EncounterStatus]int{
	EncScheduled: 0, EncCheckedIn: 1, EncPretest: 2, EncExam: 3, EncDispensing: 4, EncDone: 5,
}

// CanAdvance reports whether an encounter may move from s to next: forward
// by any number of steps (a patient may skip pretest or dispensing), never
// backwards, never to the same status.
func (s EncounterStatus) CanAdvance(next EncounterStatus) bool {
	a, ok1 := encounterOrder[s]
	b, ok2 := encounterOrder[next]
	return ok1 && ok2 && b > a
}

// Addendum is a note added to a signed exam. Signed exams never change;
// addenda are how clinicians correct or complete them.
type Addendum struct {
	Author UserID
	At     time.Time
	Text   string
}

// Encounter is one visit: the exam and everything recorded in it.
type Encounter struct {
	ID            EncounterID
	PatientID     PatientID
	AppointmentID AppointmentID
	Status        EncounterStatus
	Start         time.Time
	Location      string
	Lane          string
	// Clinician is the optometrist responsible for the exam.
	Clinician UserID
	// ChiefComplaint, History, Assessment and Plan are the clinical notes.
	ChiefComplaint string
	History        string
	Assessment     string
	Plan           string
	// SignedBy and SignedAt are set when the optometrist signs the exam;
	// from then on the encounter is immutable except for Addenda and status.
	SignedBy UserID
	SignedAt time.Time
	Addenda  []Addendum

	Version int64
	Updated time.Time
	Deleted bool
}

// Signed reports whether the exam has been signed.
func (e Encounter) Signed() bool { return e.SignedBy != "" }

// CheckEdit returns an ErrImmutable error when next changes clinical content
// of a signed encounter: anything other than status, addenda (which may only
// be appended), or version bookkeeping.
func (e Encounter) CheckEdit(next Encounter) error {
	if !e.Signed() {
		return nil
	}
	same := e.ID == next.ID && e.PatientID == next.PatientID && e.AppointmentID == next.AppointmentID &&
		e.Start.Equal(next.Start) && e.Location == next.Location && e.Lane == next.Lane &&
		e.Clinician == next.Clinician && e.ChiefComplaint == next.ChiefComplaint &&
		e.History == next.History && e.Assessment == next.Assessment && e.Plan == next.Plan &&
		e.SignedBy == next.SignedBy && e.SignedAt.Equal(next.SignedAt) && e.Deleted == next.Deleted
	if !same {
		return fmt.Errorf("encounter %s signed %s: %w: add an addendum instead", e.ID, e.SignedAt.Format("2006-01-02"), ErrImmutable)
	}
	if len(next.Addenda) < len(e.Addenda) {
		return fmt.Errorf("encounter %s: %w: addenda cannot be removed", e.ID, ErrImmutable)
	}
	for i, a := range e.Addenda {
		b := next.Addenda[i]
		if a.Author != b.Author || a.Text != b.Text || !a.At.Equal(b.At) {
			return fmt.Errorf("encounter %s: %w: addenda cannot be changed", e.ID, ErrImmutable)
		}
	}
	return nil
}
