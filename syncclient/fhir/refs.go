package fhir

import (
	"fmt"

	"github.com/examlane/examlane/lane"
)

// MapRefs returns a copy of a lane record with every reference to another
// record (its patient, encounter, appointment or image) replaced by fn(entity,
// id), where entity is the lane entity name of the referenced record. The
// record's own id is left alone. Empty references stay empty. It is the one
// place that knows which lane fields are references; the sync engine uses
// it to turn local ids into server ids before pushing and back after
// pulling.
func MapRefs(rec any, fn func(entity, id string) (string, error)) (any, error) {
	var err error
	m := func(entity, id string) string {
		if id == "" || err != nil {
			return id
		}
		var out string
		if out, err = fn(entity, id); err != nil {
			err = fmt.Errorf("fhir: map %s reference: %w", entity, err)
		}
		return out
	}
	switch r := rec.(type) {
	case lane.Patient:
		return r, nil
	case lane.Appointment:
		r.PatientID = lane.PatientID(m(lane.EntityPatient, string(r.PatientID)))
		return r, err
	case lane.Encounter:
		r.PatientID = lane.PatientID(m(lane.EntityPatient, string(r.PatientID)))
		r.AppointmentID = lane.AppointmentID(m(lane.EntityAppointment, string(r.AppointmentID)))
		return r, err
	case lane.Measurement:
		r.PatientID = lane.PatientID(m(lane.EntityPatient, string(r.PatientID)))
		r.EncounterID = lane.EncounterID(m(lane.EntityEncounter, string(r.EncounterID)))
		return r, err
	case lane.SpectacleRx:
		r.PatientID = lane.PatientID(m(lane.EntityPatient, string(r.PatientID)))
		r.EncounterID = lane.EncounterID(m(lane.EntityEncounter, string(r.EncounterID)))
		return r, err
	case lane.ContactLensRx:
		r.PatientID = lane.PatientID(m(lane.EntityPatient, string(r.PatientID)))
		r.EncounterID = lane.EncounterID(m(lane.EntityEncounter, string(r.EncounterID)))
		return r, err
	case lane.Image:
		r.PatientID = lane.PatientID(m(lane.EntityPatient, string(r.PatientID)))
		r.EncounterID = lane.EncounterID(m(lane.EntityEncounter, string(r.EncounterID)))
		return r, err
	case lane.Annotation:
		r.ImageID = lane.ImageID(m(lane.EntityImage, string(r.ImageID)))
		return r, err
	case lane.AuditEvent:
		r.PatientID = lane.PatientID(m(lane.EntityPatient, string(r.PatientID)))
		return r, err
	}
	return nil, fmt.Errorf("fhir: references of %T: %w", rec, ErrUnsupported)
}

// WithID returns a copy of a lane record with its own id replaced.
func WithID(rec any, id string) (any, error) {
	switch r := rec.(type) {
	case lane.Patient:
		r.ID = lane.PatientID(id)
		return r, nil
	case lane.Appointment:
		r.ID = lane.AppointmentID(id)
		return r, nil
	case lane.Encounter:
		r.ID = lane.EncounterID(id)
		return r, nil
	case lane.Measurement:
		r.ID = lane.MeasurementID(id)
		return r, nil
	case lane.SpectacleRx:
		r.ID = lane.PrescriptionID(id)
		return r, nil
	case lane.ContactLensRx:
		r.ID = lane.PrescriptionID(id)
		return r, nil
	case lane.Image:
		r.ID = lane.ImageID(id)
		return r, nil
	case lane.Annotation:
		r.ID = id
		return r, nil
	case lane.AuditEvent:
		r.ID = id
		return r, nil
	}
	return nil, fmt.Errorf("fhir: id of %T: %w", rec, ErrUnsupported)
}
