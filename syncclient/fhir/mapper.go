package fhir

import (
	"encoding/json"
	"fmt"

	"github.com/examlane/examlane/lane"
)

// Mapper converts lane records to FHIR R4 resources and back. It is the one
// place that knows the mapping; the zero value is ready to use. Mapping is
// pure: ids and references are written as the lane values carry them, and
// the sync engine rewrites them between local and server ids with MapRefs.
//
// A lane record is always a value, never a pointer: lane.Patient,
// lane.Appointment, lane.Encounter, lane.Measurement, lane.SpectacleRx,
// lane.ContactLensRx, lane.Image, lane.Annotation or lane.AuditEvent.
type Mapper struct {
	// MRNSystem is the identifier system of the practice's medical record
	// numbers; DefaultMRNSystem when empty.
	MRNSystem string
}

func (m Mapper) mrnSystem() string {
	if m.MRNSystem != "" {
		return m.MRNSystem
	}
	return DefaultMRNSystem
}

// ToFHIR maps a lane record to its FHIR resource. The resource has no id or
// meta: the caller sets the server id when it updates. lane.Image maps to an
// ImagingStudy when its media type is application/dicom and to a
// DocumentReference otherwise. A lane.Annotation needs the resource type of
// its image, which the annotation does not carry: map it with Basic (ToFHIR
// refuses it with ErrUnsupported).
func (m Mapper) ToFHIR(rec any) (Resource, error) {
	switch r := rec.(type) {
	case lane.Patient:
		return m.Patient(r), nil
	case lane.Appointment:
		return m.Appointment(r), nil
	case lane.Encounter:
		return m.Encounter(r), nil
	case lane.Measurement:
		return m.Observation(r)
	case lane.SpectacleRx:
		return m.SpectacleRx(r)
	case lane.ContactLensRx:
		return m.ContactLensRx(r)
	case lane.Image:
		if IsDICOM(r) {
			return m.ImagingStudy(r, ""), nil
		}
		return m.DocumentReference(r, ""), nil
	case lane.AuditEvent:
		return m.AuditEvent(r), nil
	case lane.Annotation:
		return nil, fmt.Errorf("fhir: map lane.Annotation without its image's type (use Mapper.Basic): %w", ErrUnsupported)
	}
	return nil, fmt.Errorf("fhir: map %T: %w", rec, ErrUnsupported)
}

// FromFHIR maps a FHIR resource to a lane record. The record's id is the
// lane uuid the resource carries, else the server id; references hold the
// ids found in the resource. It returns ErrUnsupported for resources the
// lane does not keep and an error wrapping lane.ErrInvalid for malformed
// ones.
func (m Mapper) FromFHIR(res Resource) (any, error) {
	switch r := res.(type) {
	case *Patient:
		return m.PatientFrom(r)
	case *Appointment:
		return m.AppointmentFrom(r)
	case *Encounter:
		return m.EncounterFrom(r)
	case *Observation:
		return m.MeasurementFrom(r)
	case *VisionPrescription:
		return m.PrescriptionFrom(r)
	case *DocumentReference:
		return m.ImageFromDocumentReference(r)
	case *Media:
		return m.ImageFromMedia(r)
	case *ImagingStudy:
		return m.ImageFromImagingStudy(r)
	case *AuditEvent:
		return m.AuditEventFrom(r)
	case *Basic:
		return m.AnnotationFrom(r)
	}
	return nil, fmt.Errorf("fhir: %s: %w", res.base().ResourceType, ErrUnsupported)
}

// ResourceTypes lists every resource type Decode returns a typed struct for.
var ResourceTypes = []string{
	"Patient", "Appointment", "Encounter", "Observation", "VisionPrescription",
	"Practitioner", "PractitionerRole", "Location", "Device", "DocumentReference",
	"Binary", "Media", "ImagingStudy", "AuditEvent", "Provenance", "Basic",
}

// Decode parses one resource's JSON into its typed struct. It returns an
// error wrapping ErrUnsupported for other resource types and lane.ErrInvalid
// for malformed JSON.
func Decode(raw []byte) (Resource, error) {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, invalidf("resource: %v", err)
	}
	var res Resource
	switch head.ResourceType {
	case "Patient":
		res = &Patient{}
	case "Appointment":
		res = &Appointment{}
	case "Encounter":
		res = &Encounter{}
	case "Observation":
		res = &Observation{}
	case "VisionPrescription":
		res = &VisionPrescription{}
	case "Practitioner":
		res = &Practitioner{}
	case "PractitionerRole":
		res = &PractitionerRole{}
	case "Location":
		res = &Location{}
	case "Device":
		res = &Device{}
	case "DocumentReference":
		res = &DocumentReference{}
	case "Binary":
		res = &Binary{}
	case "Media":
		res = &Media{}
	case "ImagingStudy":
		res = &ImagingStudy{}
	case "AuditEvent":
		res = &AuditEvent{}
	case "Provenance":
		res = &Provenance{}
	case "Basic":
		res = &Basic{}
	case "":
		return nil, invalidf("resource without resourceType")
	default:
		return nil, fmt.Errorf("fhir: resource type %q: %w", head.ResourceType, ErrUnsupported)
	}
	if err := json.Unmarshal(raw, res); err != nil {
		return nil, invalidf("%s: %v", head.ResourceType, err)
	}
	return res, nil
}

// Type returns the resource type of res ("Patient", ...).
func Type(res Resource) string { return res.base().ResourceType }

// ID returns the server id of res.
func ID(res Resource) string { return res.base().ID }

// SetID sets the server id of res.
func SetID(res Resource, id string) { res.base().ID = id }

// Version returns meta.versionId and meta.lastUpdated of res.
func Version(res Resource) (versionID, lastUpdated string) {
	if b := res.base(); b.Meta != nil {
		return b.Meta.VersionID, b.Meta.LastUpdated
	}
	return "", ""
}

// EntityOf returns the lane entity name (lane.EntityPatient, ...) and id of
// a lane record; ok is false for values that are not lane records.
func EntityOf(rec any) (entity, id string, ok bool) {
	switch r := rec.(type) {
	case lane.Patient:
		return lane.EntityPatient, string(r.ID), true
	case lane.Appointment:
		return lane.EntityAppointment, string(r.ID), true
	case lane.Encounter:
		return lane.EntityEncounter, string(r.ID), true
	case lane.Measurement:
		return lane.EntityMeasurement, string(r.ID), true
	case lane.SpectacleRx:
		return lane.EntitySpectacleRx, string(r.ID), true
	case lane.ContactLensRx:
		return lane.EntityContactRx, string(r.ID), true
	case lane.Image:
		return lane.EntityImage, string(r.ID), true
	case lane.Annotation:
		return lane.EntityAnnotation, r.ID, true
	case lane.AuditEvent:
		return lane.EntityAudit, r.ID, true
	}
	return "", "", false
}

// ResourceTypeOf returns the FHIR resource type a lane record is written as,
// or "" for values that are not lane records.
func ResourceTypeOf(rec any) string {
	switch r := rec.(type) {
	case lane.Patient:
		return "Patient"
	case lane.Appointment:
		return "Appointment"
	case lane.Encounter:
		return "Encounter"
	case lane.Measurement:
		return "Observation"
	case lane.SpectacleRx, lane.ContactLensRx:
		return "VisionPrescription"
	case lane.Image:
		if IsDICOM(r) {
			return "ImagingStudy"
		}
		return "DocumentReference"
	case lane.Annotation:
		return "Basic"
	case lane.AuditEvent:
		return "AuditEvent"
	}
	return ""
}

// Deleted reports whether a lane record is a tombstone.
func Deleted(rec any) bool {
	switch r := rec.(type) {
	case lane.Patient:
		return r.Deleted
	case lane.Appointment:
		return r.Deleted
	case lane.Encounter:
		return r.Deleted
	case lane.Measurement:
		return r.Deleted
	case lane.SpectacleRx:
		return r.Deleted
	case lane.ContactLensRx:
		return r.Deleted
	case lane.Image:
		return r.Deleted
	case lane.Annotation:
		return r.Deleted
	}
	return false
}

// PatientOf returns the patient a lane record belongs to ("" for none).
func PatientOf(rec any) lane.PatientID {
	switch r := rec.(type) {
	case lane.Patient:
		return r.ID
	case lane.Appointment:
		return r.PatientID
	case lane.Encounter:
		return r.PatientID
	case lane.Measurement:
		return r.PatientID
	case lane.SpectacleRx:
		return r.PatientID
	case lane.ContactLensRx:
		return r.PatientID
	case lane.Image:
		return r.PatientID
	case lane.AuditEvent:
		return r.PatientID
	}
	return ""
}

// Marshal encodes a resource as JSON.
func Marshal(res Resource) ([]byte, error) {
	b, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("fhir: encode %s: %w", Type(res), err)
	}
	return b, nil
}
