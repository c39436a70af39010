package fhir

import (
	"strconv"
	"time"

	"github.com/examlane/examlane/lane"
)

// auditType maps lane audit actions to DICOM audit event ids (PS3.16 CID
// 400) and FHIR AuditEvent.action (C, R, U, D, E).
var auditType = map[lane.AuditAction]struct{ code, display, action string }{
	lane.AuditView:        {DCMPatientRecord, "Patient Record", "R"},
	lane.AuditCreate:      {DCMPatientRecord, "Patient Record", "C"},
	lane.AuditUpdate:      {DCMPatientRecord, "Patient Record", "U"},
	lane.AuditDelete:      {DCMPatientRecord, "Patient Record", "D"},
	lane.AuditSign:        {DCMPatientRecord, "Patient Record", "U"},
	lane.AuditCapture:     {DCMPatientRecord, "Patient Record", "C"},
	lane.AuditPurge:       {DCMPatientRecord, "Patient Record", "D"},
	lane.AuditExport:      {DCMExport, "Export", "R"},
	lane.AuditSignIn:      {DCMUserAuthentication, "User Authentication", "E"},
	lane.AuditSignOut:     {DCMUserAuthentication, "User Authentication", "E"},
	lane.AuditBreakGlass:  {DCMSecurityAlert, "Security Alert", "E"},
	lane.AuditLock:        {DCMApplicationActivity, "Application Activity", "E"},
	lane.AuditUnlock:      {DCMApplicationActivity, "Application Activity", "E"},
	lane.AuditSettings:    {DCMApplicationActivity, "Application Activity", "E"},
	lane.AuditBackup:      {DCMApplicationActivity, "Application Activity", "E"},
	lane.AuditKeyRotation: {DCMApplicationActivity, "Application Activity", "E"},
}

var auditOutcome = map[lane.AuditOutcome]string{
	lane.OutcomeSuccess: "0",
	lane.OutcomeDenied:  "4",
	lane.OutcomeFailure: "8",
}

const entitySystem = "urn:examlane:entity"

// AuditEvent maps a lane audit event. R4 AuditEvent has no identifier, so
// the lane event id travels as meta.tag urn:examlane:id. The type is the
// DICOM audit event id, the subtype the lane action; the user is the
// requesting agent with their role; the patient and the record touched are
// entities, the record carrying the sealed detail.
func (m Mapper) AuditEvent(e lane.AuditEvent) *AuditEvent {
	r := &AuditEvent{Base: Base{ResourceType: "AuditEvent", Meta: &Meta{Tag: []Coding{{System: SystemLaneID, Code: e.ID}}}}}
	t, ok := auditType[e.Action]
	if !ok {
		t = auditType[lane.AuditSettings]
	}
	r.Type = Coding{System: SystemDCM, Code: t.code, Display: t.display}
	r.Subtype = []Coding{{System: SystemAudit, Code: string(e.Action)}}
	r.Action = t.action
	r.Recorded = instant(e.At)
	r.Outcome = auditOutcome[e.Outcome]
	if e.Reason != "" {
		r.PurposeOfEvent = []CodeableConcept{{Text: e.Reason}}
	}
	ag := AuditAgent{Who: Ref("Practitioner", string(e.User)), Requestor: true}
	if e.Role != "" {
		ag.Role = []CodeableConcept{concept(SystemRole, string(e.Role), string(e.Role))}
	}
	r.Agent = []AuditAgent{ag}
	r.Source = AuditSource{Site: e.Lane, Observer: Reference{Display: "Examlane lane " + e.Lane}}
	if ref := Ref("Patient", string(e.PatientID)); ref != nil {
		r.Entity = append(r.Entity, AuditEntity{
			What: ref,
			Type: &Coding{System: SystemAuditEntity, Code: "1", Display: "Person"},
			Role: &Coding{System: SystemObjectRole, Code: "1", Display: "Patient"},
		})
	}
	if e.Entity != "" || e.Detail != "" {
		ent := AuditEntity{Type: &Coding{System: SystemAuditEntity, Code: "2", Display: "System Object"}}
		if e.Entity != "" {
			ent.What = &Reference{Identifier: &Identifier{System: entitySystem, Value: e.Entity}}
		}
		if e.Detail != "" {
			ent.Detail = []AuditEntityDetail{{Type: "detail", ValueString: e.Detail}}
		}
		r.Entity = append(r.Entity, ent)
	}
	if e.Seq != 0 {
		r.Extension = []Extension{{URL: ExtAuditSeq, ValueString: strconv.FormatInt(e.Seq, 10)}}
	}
	return r
}

// AuditEventFrom maps an AuditEvent written by a lane back to the lane
// event. Events without a lane action subtype give ErrUnsupported.
func (m Mapper) AuditEventFrom(r *AuditEvent) (lane.AuditEvent, error) {
	var e lane.AuditEvent
	for _, c := range r.Subtype {
		if c.System == SystemAudit {
			e.Action = lane.AuditAction(c.Code)
		}
	}
	if e.Action == "" {
		return e, ErrUnsupported
	}
	e.ID = recordID(r)
	var err error
	if e.At, err = ParseTime(r.Recorded); err != nil {
		return lane.AuditEvent{}, err
	}
	for o, code := range auditOutcome {
		if code == r.Outcome {
			e.Outcome = o
		}
	}
	if len(r.PurposeOfEvent) > 0 {
		e.Reason = r.PurposeOfEvent[0].Text
	}
	for _, ag := range r.Agent {
		if !ag.Requestor {
			continue
		}
		e.User = lane.UserID(RefID(ag.Who, "Practitioner"))
		for i := range ag.Role {
			if code := codeIn(&ag.Role[i], SystemRole); code != "" {
				e.Role = lane.Role(code)
			}
		}
		break
	}
	e.Lane = r.Source.Site
	for _, ent := range r.Entity {
		if id := RefID(ent.What, "Patient"); id != "" {
			e.PatientID = lane.PatientID(id)
			continue
		}
		if ent.What != nil && ent.What.Identifier != nil && ent.What.Identifier.System == entitySystem {
			e.Entity = ent.What.Identifier.Value
		}
		for _, d := range ent.Detail {
			if d.Type == "detail" {
				e.Detail = d.ValueString
			}
		}
	}
	if s := extStr(r.Extension, ExtAuditSeq); s != "" {
		if e.Seq, err = strconv.ParseInt(s, 10, 64); err != nil {
			return lane.AuditEvent{}, invalidf("audit seq is not a number")
		}
	}
	return e, nil
}

var dataOperation = map[lane.OutboxOp]struct{ code, display string }{
	lane.OpCreate: {"CREATE", "create"},
	lane.OpUpdate: {"UPDATE", "revise"},
	lane.OpDelete: {"DELETE", "delete"},
}

// Provenance describes one change the lane pushes: target is the changed
// resource (a "Type/id" reference or a transaction urn:uuid), the agents are
// the acting user (author) and the lane device, and key (the outbox entry's
// idempotency key) is carried as meta.tag urn:examlane:provenance so a
// retried push can create it conditionally.
func (m Mapper) Provenance(target string, recorded time.Time, user lane.UserID, laneDevice string, op lane.OutboxOp, key string) *Provenance {
	p := &Provenance{Base: Base{ResourceType: "Provenance", Meta: &Meta{Tag: []Coding{{System: SystemProvenanceTag, Code: key}}}}}
	p.Target = []Reference{{Reference: target}}
	p.Recorded = instant(recorded)
	if d, ok := dataOperation[op]; ok {
		p.Activity = &CodeableConcept{Coding: []Coding{{System: SystemDataOperation, Code: d.code, Display: d.display}}}
	}
	if ref := Ref("Practitioner", string(user)); ref != nil {
		p.Agent = append(p.Agent, ProvenanceAgent{
			Type: &CodeableConcept{Coding: []Coding{{System: SystemProvAgentType, Code: "author", Display: "Author"}}},
			Who:  *ref,
		})
	}
	if ref := Ref("Device", laneDevice); ref != nil {
		p.Agent = append(p.Agent, ProvenanceAgent{
			Type: &CodeableConcept{Coding: []Coding{{System: SystemProvAgentType, Code: "performer", Display: "Performer"}}},
			Who:  *ref,
		})
	}
	return p
}
