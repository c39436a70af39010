package lane

import (
	"context"
	"fmt"
	"strings"
)

// RecordDispensing records that finished glasses were verified against a
// prescription and handed over (Pass) or sent back to the lab (not Pass).
// It needs PermRecordDispensing and returns d with its ID, VerifiedBy (the
// user) and At (now) filled in.
//
// The record is kept as an audit event (action create, entity
// "Dispensing/<id>"), which is sealed at rest and synced with the audit
// trail: the Store has no dispensing table yet.
func (s *Service) RecordDispensing(ctx context.Context, d Dispensing) (Dispensing, error) {
	a, err := s.authorize(ctx, PermRecordDispensing, d.PatientID)
	if err != nil {
		return Dispensing{}, err
	}
	if d.PatientID == "" || d.PrescriptionID == "" {
		return Dispensing{}, Invalidf("dispensing: missing patient or prescription")
	}
	if d.ID == "" {
		d.ID = NewID()
	}
	d.VerifiedBy, d.At = a.User, s.cfg.Clock.Now()
	outcome := "verification PASS, dispensed"
	if !d.Pass {
		outcome = "verification FAIL, returned to the lab"
	}
	detail := fmt.Sprintf("prescription %s: %s", d.PrescriptionID, outcome)
	if note := strings.TrimSpace(d.Note); note != "" {
		detail += ": " + note
	}
	err = s.audit(ctx, a, AuditEvent{Action: AuditCreate, Outcome: OutcomeSuccess, PatientID: d.PatientID,
		Entity: "Dispensing/" + d.ID, Detail: detail})
	if err != nil {
		return Dispensing{}, err
	}
	return d, nil
}

// ReassignCapture moves a capture whose readings were bound to the wrong
// chart (the chart open when it arrived) to patient p and encounter enc
// (when enc is empty, p's open encounter, as OpenChart picks it, or none).
// Its readings still pending review in the first chart are removed there
// with reason, then bound to p as pending readings; a capture that waits
// unassigned is simply assigned (as AssignCapture does). A reading already
// accepted in the first chart must be removed by hand first (ErrInvalid),
// because someone reviewed it. It needs PermCapture and a reason.
func (s *Service) ReassignCapture(ctx context.Context, id CaptureID, p PatientID, enc EncounterID, reason string) (Capture, error) {
	a, err := s.authorize(ctx, PermCapture, p)
	if err != nil {
		return Capture{}, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Capture{}, Invalidf("reassign capture: a reason is required")
	}
	if p == "" {
		return Capture{}, Invalidf("reassign capture: no patient")
	}
	if enc == "" {
		ch, err := s.cfg.Store.Chart(ctx, p)
		if err != nil {
			return Capture{}, fmt.Errorf("reassign capture: %w", err)
		}
		for _, e := range ch.Encounters {
			if e.Status != EncDone && !e.Signed() {
				enc = e.ID
				break
			}
		}
	}
	if err := s.checkEncounterOpen(ctx, enc); err != nil {
		return Capture{}, err
	}
	c, err := s.cfg.Store.GetCapture(ctx, id)
	if err != nil {
		return Capture{}, err
	}
	if c.PatientID == p {
		return Capture{}, Invalidf("reassign capture: it already belongs to this chart")
	}
	if c.PatientID != "" {
		ms, err := s.cfg.Store.ListMeasurements(ctx, MeasurementFilter{PatientID: c.PatientID, EncounterID: c.EncounterID})
		if err != nil {
			return Capture{}, err
		}
		var bound []Measurement
		for _, m := range ms {
			if m.CaptureID != id || m.Deleted {
				continue
			}
			if !m.Pending {
				return Capture{}, Invalidf("reassign capture: a reading from it was already accepted; remove it first")
			}
			bound = append(bound, m)
		}
		del := a
		del.Reason = reason
		for _, m := range bound {
			if err := s.cfg.Store.DeleteMeasurement(ctx, del, m.ID, m.Version); err != nil {
				return Capture{}, fmt.Errorf("reassign capture: %w", err)
			}
			m.Deleted = true
			s.bus.Publish(MeasurementChanged{Measurement: m})
		}
	}
	return s.bindCapture(ctx, a, c, p, enc)
}
