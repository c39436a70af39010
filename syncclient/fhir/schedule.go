package fhir

import (
	"github.com/examlane/examlane/lane"
)

// appointmentStatus maps the lane's flow status to FHIR Appointment.status.
// The stages between arrival and the end of the visit are all "checked-in";
// the exact stage travels in ExtFlowStatus.
var appointmentStatus = map[lane.AppointmentStatus]string{
	lane.ApptBooked:         "booked",
	lane.ApptArrived:        "arrived",
	lane.ApptPretest:        "checked-in",
	lane.ApptReadyForDoctor: "checked-in",
	lane.ApptExam:           "checked-in",
	lane.ApptDispensing:     "checked-in",
	lane.ApptDone:           "fulfilled",
	lane.ApptCancelled:      "cancelled",
	lane.ApptNoShow:         "noshow",
}

// appointmentFromStatus maps FHIR Appointment.status to the lane when the
// resource carries no (consistent) flow-status extension.
var appointmentFromStatus = map[string]lane.AppointmentStatus{
	"proposed":         lane.ApptBooked,
	"pending":          lane.ApptBooked,
	"booked":           lane.ApptBooked,
	"waitlist":         lane.ApptBooked,
	"arrived":          lane.ApptArrived,
	"checked-in":       lane.ApptArrived,
	"fulfilled":        lane.ApptDone,
	"cancelled":        lane.ApptCancelled,
	"entered-in-error": lane.ApptCancelled,
	"noshow":           lane.ApptNoShow,
}

// Appointment maps a lane appointment. Participants are the patient, the
// booked optometrist and the location.
func (m Mapper) Appointment(a lane.Appointment) *Appointment {
	r := &Appointment{Base: Base{ResourceType: "Appointment"}}
	r.Identifier = []Identifier{laneIdentifier(string(a.ID))}
	r.Status = appointmentStatus[a.Status]
	if r.Status == "" {
		r.Status = "booked"
	}
	r.Extension = append(r.Extension, codeExt(ExtFlowStatus, string(a.Status))...)
	r.Extension = append(r.Extension, strExt(ExtLane, a.Lane)...)
	if a.With != "" {
		r.Extension = append(r.Extension, Extension{URL: ExtWith, ValueReference: Ref("Practitioner", string(a.With))})
	}
	if a.Reason != "" {
		r.ReasonCode = []CodeableConcept{{Text: a.Reason}}
	}
	r.Start, r.End = instant(a.Start), instant(a.End)
	r.Participant = []AppointmentParticipant{}
	if ref := Ref("Patient", string(a.PatientID)); ref != nil {
		r.Participant = append(r.Participant, AppointmentParticipant{Actor: ref, Status: "accepted"})
	}
	if ref := Ref("Practitioner", string(a.Provider)); ref != nil {
		r.Participant = append(r.Participant, AppointmentParticipant{
			Type:  []CodeableConcept{concept(SystemParticipation, "PPRF", "primary performer")},
			Actor: ref, Status: "accepted",
		})
	}
	if ref := Ref("Location", a.Location); ref != nil {
		r.Participant = append(r.Participant, AppointmentParticipant{Actor: ref, Status: "accepted"})
	}
	return r
}

// AppointmentFrom maps a FHIR Appointment.
func (m Mapper) AppointmentFrom(r *Appointment) (lane.Appointment, error) {
	a := lane.Appointment{ID: lane.AppointmentID(recordID(r))}
	st, ok := appointmentFromStatus[r.Status]
	if !ok {
		return lane.Appointment{}, invalidf("appointment status %q", r.Status)
	}
	a.Status = st
	if flow := lane.AppointmentStatus(extStr(r.Extension, ExtFlowStatus)); flow != "" && appointmentStatus[flow] == r.Status {
		a.Status = flow // the finer stage, still consistent with what the server holds
	}
	a.Lane = extStr(r.Extension, ExtLane)
	if e := getExt(r.Extension, ExtWith); e != nil {
		a.With = lane.UserID(RefID(e.ValueReference, "Practitioner"))
	}
	if len(r.ReasonCode) > 0 {
		a.Reason = r.ReasonCode[0].Text
	}
	if a.Reason == "" {
		a.Reason = r.Description
	}
	var err error
	if a.Start, err = ParseTime(r.Start); err != nil {
		return lane.Appointment{}, err
	}
	if a.End, err = ParseTime(r.End); err != nil {
		return lane.Appointment{}, err
	}
	for _, p := range r.Participant {
		if id := RefID(p.Actor, "Patient"); id != "" && a.PatientID == "" {
			a.PatientID = lane.PatientID(id)
		}
		if id := RefID(p.Actor, "Practitioner"); id != "" && a.Provider == "" {
			a.Provider = lane.UserID(id)
		}
		if id := RefID(p.Actor, "Location"); id != "" && a.Location == "" {
			a.Location = id
		}
	}
	if a.Updated, err = updated(r); err != nil {
		return lane.Appointment{}, err
	}
	return a, nil
}

// encounterStatus maps the lane's exam lifecycle to FHIR Encounter.status;
// the exact stage travels in ExtFlowStatus.
var encounterStatus = map[lane.EncounterStatus]string{
	lane.EncScheduled:  "planned",
	lane.EncCheckedIn:  "arrived",
	lane.EncPretest:    "in-progress",
	lane.EncExam:       "in-progress",
	lane.EncDispensing: "in-progress",
	lane.EncDone:       "finished",
}

var encounterFromStatus = map[string]lane.EncounterStatus{
	"planned":          lane.EncScheduled,
	"arrived":          lane.EncCheckedIn,
	"triaged":          lane.EncPretest,
	"in-progress":      lane.EncExam,
	"onleave":          lane.EncExam,
	"finished":         lane.EncDone,
	"cancelled":        lane.EncDone,
	"entered-in-error": lane.EncDone,
	"unknown":          lane.EncExam,
}

// Encounter maps a lane encounter (class AMB). The chief complaint is the
// reason; history, assessment, plan, the signature and addenda travel as
// Examlane extensions.
func (m Mapper) Encounter(e lane.Encounter) *Encounter {
	r := &Encounter{Base: Base{ResourceType: "Encounter"}}
	r.Identifier = []Identifier{laneIdentifier(string(e.ID))}
	r.Status = encounterStatus[e.Status]
	if r.Status == "" {
		r.Status = "planned"
	}
	r.Class = Coding{System: SystemActCode, Code: "AMB", Display: "ambulatory"}
	r.Subject = Ref("Patient", string(e.PatientID))
	if ref := Ref("Appointment", string(e.AppointmentID)); ref != nil {
		r.Appointment = []Reference{*ref}
	}
	if !e.Start.IsZero() {
		r.Period = &Period{Start: instant(e.Start)}
	}
	if ref := Ref("Practitioner", string(e.Clinician)); ref != nil {
		r.Participant = []EncounterParticipant{{
			Type:       []CodeableConcept{concept(SystemParticipation, "ATND", "attender")},
			Individual: ref,
		}}
	}
	if ref := Ref("Location", e.Location); ref != nil {
		r.Location = []EncounterLocation{{Location: *ref}}
	}
	if e.ChiefComplaint != "" {
		r.ReasonCode = []CodeableConcept{{Text: e.ChiefComplaint}}
	}
	x := codeExt(ExtFlowStatus, string(e.Status))
	x = append(x, strExt(ExtLane, e.Lane)...)
	x = append(x, strExt(ExtHistory, e.History)...)
	x = append(x, strExt(ExtAssessment, e.Assessment)...)
	x = append(x, strExt(ExtPlan, e.Plan)...)
	if e.SignedBy != "" {
		x = append(x, Extension{URL: ExtSignature, Extension: []Extension{
			{URL: "by", ValueReference: Ref("Practitioner", string(e.SignedBy))},
			{URL: "at", ValueDateTime: instant(e.SignedAt)},
		}})
	}
	for _, ad := range e.Addenda {
		sub := []Extension{}
		if ad.Author != "" {
			sub = append(sub, Extension{URL: "author", ValueReference: Ref("Practitioner", string(ad.Author))})
		}
		sub = append(sub, Extension{URL: "at", ValueDateTime: instant(ad.At)})
		sub = append(sub, Extension{URL: "text", ValueString: ad.Text})
		x = append(x, Extension{URL: ExtAddendum, Extension: sub})
	}
	r.Extension = x
	return r
}

// EncounterFrom maps a FHIR Encounter. A status of entered-in-error marks the
// record deleted.
func (m Mapper) EncounterFrom(r *Encounter) (lane.Encounter, error) {
	e := lane.Encounter{ID: lane.EncounterID(recordID(r))}
	st, ok := encounterFromStatus[r.Status]
	if !ok {
		return lane.Encounter{}, invalidf("encounter status %q", r.Status)
	}
	e.Status = st
	if flow := lane.EncounterStatus(extStr(r.Extension, ExtFlowStatus)); flow != "" && encounterStatus[flow] == r.Status {
		e.Status = flow
	}
	e.Deleted = r.Status == "entered-in-error"
	e.PatientID = lane.PatientID(RefID(r.Subject, "Patient"))
	for i := range r.Appointment {
		if id := RefID(&r.Appointment[i], "Appointment"); id != "" {
			e.AppointmentID = lane.AppointmentID(id)
			break
		}
	}
	var err error
	if r.Period != nil {
		if e.Start, err = ParseTime(r.Period.Start); err != nil {
			return lane.Encounter{}, err
		}
	}
	for _, p := range r.Participant {
		if id := RefID(p.Individual, "Practitioner"); id != "" {
			e.Clinician = lane.UserID(id)
			break
		}
	}
	for i := range r.Location {
		if id := RefID(&r.Location[i].Location, "Location"); id != "" {
			e.Location = id
			break
		}
	}
	if len(r.ReasonCode) > 0 {
		e.ChiefComplaint = r.ReasonCode[0].Text
	}
	e.Lane = extStr(r.Extension, ExtLane)
	e.History = extStr(r.Extension, ExtHistory)
	e.Assessment = extStr(r.Extension, ExtAssessment)
	e.Plan = extStr(r.Extension, ExtPlan)
	for _, x := range r.Extension {
		switch x.URL {
		case ExtSignature:
			if by := getExt(x.Extension, "by"); by != nil {
				e.SignedBy = lane.UserID(RefID(by.ValueReference, "Practitioner"))
			}
			if at := getExt(x.Extension, "at"); at != nil {
				if e.SignedAt, err = ParseTime(at.ValueDateTime); err != nil {
					return lane.Encounter{}, err
				}
			}
		case ExtAddendum:
			var ad lane.Addendum
			if au := getExt(x.Extension, "author"); au != nil {
				ad.Author = lane.UserID(RefID(au.ValueReference, "Practitioner"))
			}
			if at := getExt(x.Extension, "at"); at != nil {
				if ad.At, err = ParseTime(at.ValueDateTime); err != nil {
					return lane.Encounter{}, err
				}
			}
			ad.Text = extStr(x.Extension, "text")
			e.Addenda = append(e.Addenda, ad)
		}
	}
	if e.Updated, err = updated(r); err != nil {
		return lane.Encounter{}, err
	}
	return e, nil
}
