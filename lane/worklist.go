package lane

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// WorklistItem is one of today's appointments with the patient it is for.
type WorklistItem struct {
	Appointment Appointment
	// Patient holds the identifying details a worklist shows (ID, MRN,
	// Name, BirthDate, Sex) when the user may view demographics, and only
	// the ID otherwise or when the patient is not stored on the lane yet.
	Patient Patient
}

// patientSummary keeps the fields of p a list of patients shows.
func patientSummary(p Patient) Patient {
	return Patient{ID: p.ID, MRN: p.MRN, Name: p.Name, BirthDate: p.BirthDate, Sex: p.Sex, Version: p.Version}
}

// WorklistItems returns today's appointments at this lane's location, as
// Worklist does, each with its patient's identifying details. It needs
// PermViewSchedule; names and birth dates are included only for users who
// also hold PermViewDemographics. Listing the schedule is not audited as a
// chart access (OpenChart is).
func (s *Service) WorklistItems(ctx context.Context) ([]WorklistItem, error) {
	appts, err := s.Worklist(ctx)
	if err != nil {
		return nil, err
	}
	demo := s.Can(PermViewDemographics)
	out := make([]WorklistItem, 0, len(appts))
	for _, a := range appts {
		it := WorklistItem{Appointment: a, Patient: Patient{ID: a.PatientID}}
		if demo {
			p, err := s.cfg.Store.GetPatient(ctx, a.PatientID)
			switch {
			case err == nil:
				it.Patient = patientSummary(p)
			case !errors.Is(err, ErrNotFound):
				return nil, fmt.Errorf("worklist: %w", err)
			}
		}
		out = append(out, it)
	}
	return out, nil
}

// FindPatients searches every patient stored on the lane by MRN (exact) or
// by words of the name, for opening a chart that is not on today's
// schedule (OpenChart then asks for break-glass). It needs
// PermViewDemographics and returns at most limit patients (25 when limit
// is not positive) with their identifying details only. The search is
// audited as a view without the query text.
func (s *Service) FindPatients(ctx context.Context, text string, limit int) ([]Patient, error) {
	a, err := s.authorize(ctx, PermViewDemographics, "")
	if err != nil {
		return nil, err
	}
	text = strings.TrimSpace(text)
	if len([]rune(text)) < 2 {
		return nil, Invalidf("patient search: type at least 2 characters")
	}
	if limit <= 0 {
		limit = 25
	}
	found, err := s.cfg.Store.FindPatients(ctx, PatientQuery{MRN: text, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("patient search: %w", err)
	}
	if len(found) == 0 {
		if found, err = s.cfg.Store.FindPatients(ctx, PatientQuery{NameContains: text, Limit: limit}); err != nil {
			return nil, fmt.Errorf("patient search: %w", err)
		}
	}
	out := make([]Patient, len(found))
	for i, p := range found {
		out[i] = patientSummary(p)
	}
	if err := s.audit(ctx, a, AuditEvent{Action: AuditView, Outcome: OutcomeSuccess, Detail: fmt.Sprintf("patient search: %d found", len(out))}); err != nil {
		return nil, err
	}
	return out, nil
}

// visitOrder ranks the appointment statuses a visit moves through.
var visitOrder = map[AppointmentStatus]int{
	ApptBooked: 0, ApptArrived: 1, ApptPretest: 2, ApptReadyForDoctor: 3, ApptExam: 4, ApptDispensing: 5, ApptDone: 6,
}

// visitPermission is what moving a visit to a status requires: the
// technician takes the patient through pretest, the optometrist into the
// exam, and whoever dispenses finishes the visit.
func visitPermission(to AppointmentStatus) (Permission, bool) {
	switch to {
	case ApptPretest, ApptReadyForDoctor:
		return PermCapture, true
	case ApptExam:
		return PermEditExam, true
	case ApptDispensing, ApptDone:
		return PermRecordDispensing, true
	}
	return "", false
}

// AdvanceVisit moves a patient's appointment forward through today's flow
// (arrived → pretest → ready-for-doctor → exam → dispensing → done; steps
// may be skipped, never undone) and records who is with the patient: the
// user for pretest, exam and dispensing, nobody while the patient waits
// for the doctor or has left. a is the appointment as the caller read it;
// a stale Version fails with ErrConflict. Pretest and ready-for-doctor
// need PermCapture, exam PermEditExam, dispensing and done
// PermRecordDispensing.
func (s *Service) AdvanceVisit(ctx context.Context, a Appointment, to AppointmentStatus) (Appointment, error) {
	perm, ok := visitPermission(to)
	if !ok {
		return Appointment{}, Invalidf("visit: cannot move to %q", to)
	}
	actor, err := s.authorize(ctx, perm, a.PatientID)
	if err != nil {
		return Appointment{}, err
	}
	from, ok := visitOrder[a.Status]
	if !ok || visitOrder[to] <= from {
		return Appointment{}, Invalidf("visit: cannot go from %s to %s", a.Status, to)
	}
	a.Status = to
	a.With = ""
	switch to {
	case ApptPretest, ApptExam, ApptDispensing:
		a.With = actor.User
	}
	if a.Lane == "" && to != ApptDone {
		a.Lane = s.cfg.Lane
	}
	out, err := s.cfg.Store.SaveAppointment(ctx, actor, a)
	if err != nil {
		return Appointment{}, err
	}
	if to == ApptPretest || to == ApptExam {
		if err := s.openVisitEncounter(ctx, actor, out, to); err != nil {
			return out, err
		}
	}
	return out, nil
}

// openVisitEncounter makes sure today's visit has its encounter once the
// patient enters pretest or the exam, so that readings and findings are
// filed on the visit: it creates the encounter for the appointment when
// there is none (moving an existing unsigned one forward), and makes it the
// active encounter when this chart is open.
func (s *Service) openVisitEncounter(ctx context.Context, actor Actor, a Appointment, to AppointmentStatus) error {
	status := EncPretest
	if to == ApptExam {
		status = EncExam
	}
	c, err := s.cfg.Store.Chart(ctx, a.PatientID)
	if err != nil {
		return fmt.Errorf("visit encounter: %w", err)
	}
	var enc Encounter
	for _, e := range c.Encounters {
		if e.AppointmentID == a.ID && !e.Signed() && !e.Deleted {
			enc = e
			break
		}
	}
	switch {
	case enc.ID == "":
		enc = Encounter{ID: EncounterID(NewID()), PatientID: a.PatientID, AppointmentID: a.ID, Status: status,
			Start: s.cfg.Clock.Now(), Location: a.Location, Lane: s.cfg.Lane, Clinician: a.Provider}
		if enc, err = s.cfg.Store.SaveEncounter(ctx, actor, enc); err != nil {
			return fmt.Errorf("visit encounter: %w", err)
		}
	case enc.Status.CanAdvance(status):
		enc.Status = status
		if enc, err = s.cfg.Store.SaveEncounter(ctx, actor, enc); err != nil {
			return fmt.Errorf("visit encounter: %w", err)
		}
	}
	s.mu.Lock()
	if s.active == a.PatientID {
		s.activeEnc = enc.ID
	}
	s.mu.Unlock()
	return nil
}
