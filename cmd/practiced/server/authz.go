package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/examlane/examlane/lane"
)

// Server-side permission checks for synced writes. A write made with a
// valid user token (identity.Authenticated) is allowed only when one of the
// user's current roles grants a permission the write needs, by the same
// role table the lane's service layer uses (lane.Allowed). Writes without a
// token are not checked yet: lanes send tokens once their sign-in layer is
// wired into sync, and the server will then require them.

// Examlane code systems and extensions the rules read (as syncclient/fhir
// writes them; the server does not import the lane's mapping).
const (
	sourceSystem = "https://examlane.org/fhir/CodeSystem/source"
	extBase      = "https://examlane.org/fhir/StructureDefinition/"
	extFlow      = extBase + "flow-status"
	extSignature = extBase + "signature"
	extAddendum  = extBase + "addendum"
)

// notesExts are the Encounter extensions that hold clinical notes.
var notesExts = []string{extBase + "history", extBase + "assessment", extBase + "plan"}

// writeRule is what a write needs: any role at all (append-only records
// every signed-in user produces), one of perms, or never (changes to
// append-only records).
type writeRule struct {
	anyRole bool
	never   bool
	perms   []lane.Permission
}

func needs(p ...lane.Permission) writeRule { return writeRule{perms: p} }

// writeRuleFor returns the rule of method (POST, PUT, DELETE) on typ with
// the new content m (nil for DELETE) and the current version cur (nil for
// POST).
func writeRuleFor(method, typ string, m map[string]any, cur map[string]any) writeRule {
	body := m
	if body == nil {
		body = cur
	}
	switch typ {
	case "Patient":
		return needs(lane.PermEditDemographics)
	case "Appointment":
		// Moving a patient along today's visit flow needs what the lane's
		// AdvanceVisit needs; any other change is scheduling.
		flow := lane.AppointmentStatus(extCode(m, extFlow))
		if method == http.MethodPut && flow != lane.AppointmentStatus(extCode(cur, extFlow)) {
			if p, ok := lane.VisitPermission(flow); ok {
				return needs(p)
			}
		}
		return needs(lane.PermEditSchedule)
	case "Encounter":
		// As the lane's SaveEncounter, SignExam and AddAddendum: notes
		// need exam.edit, status changes measure.capture, a signature
		// exam.sign, an addendum exam.addendum; a signature is never
		// removed.
		switch {
		case method == http.MethodDelete:
			return needs(lane.PermEditExam)
		case hasExt(cur, extSignature) && !hasExt(m, extSignature):
			return writeRule{never: true}
		case hasExt(cur, extSignature):
			if countExt(m, extAddendum) > countExt(cur, extAddendum) {
				return needs(lane.PermAddendum)
			}
			return needs(lane.PermCapture)
		case hasExt(m, extSignature):
			return needs(lane.PermSignExam)
		case method == http.MethodPost || encounterNotes(m) != encounterNotes(cur):
			return needs(lane.PermEditExam)
		}
		return needs(lane.PermCapture)
	case "Observation":
		if src := codeIn(body, "method", sourceSystem); src != "" {
			return needs(lane.MeasurementPermission(lane.Measurement{Source: lane.Source(src)}))
		}
		return needs(lane.PermCapture, lane.PermEditExam)
	case "VisionPrescription":
		if method == http.MethodDelete {
			return needs(lane.PermEditFinalRx)
		}
		if str(m, "status") == "active" || str(cur, "status") == "active" {
			return needs(lane.PermSignRx)
		}
		return needs(lane.PermEditFinalRx, lane.PermSignRx)
	case "Practitioner", "PractitionerRole":
		return needs(lane.PermManageUsers)
	case "Location":
		return needs(lane.PermChangeSettings)
	case "Device":
		return needs(lane.PermManageInstruments)
	case "DocumentReference", "Binary", "Media", "ImagingStudy":
		return needs(lane.PermCapture) // images and photos, as AttachImage
	case "Basic":
		return needs(lane.PermEditExam) // image annotations, as SaveAnnotation
	case "AuditEvent", "Provenance":
		if method == http.MethodPost {
			return writeRule{anyRole: true}
		}
		return writeRule{never: true}
	}
	return writeRule{never: true}
}

// allow checks a rule against the caller; nil when the caller has no token
// (not enforced) or a role grants it.
func (id identity) allow(r writeRule, what string) error {
	if !id.Authenticated {
		return nil
	}
	switch {
	case r.never:
		return fmt.Errorf("%s: %w: the record is append-only or signed", what, lane.ErrForbidden)
	case r.anyRole:
		if len(id.Roles) > 0 {
			return nil
		}
	default:
		for _, p := range r.perms {
			if lane.Allowed(id.Roles, p) {
				return nil
			}
		}
	}
	names := make([]string, len(r.perms))
	for i, p := range r.perms {
		names[i] = string(p)
	}
	return fmt.Errorf("%s needs %s: %w for roles %v", what, strings.Join(names, " or "), lane.ErrForbidden, id.Roles)
}

// authorizeWrite checks a write in this transaction against the caller's
// roles. cur is the current stored version (nil when creating).
func (w *writeCtx) authorizeWrite(method, typ string, m map[string]any, cur *stored) error {
	if !w.who.Authenticated {
		return nil
	}
	var curBody map[string]any
	if cur != nil && len(cur.Body) > 0 {
		curBody, _ = parseResource(cur.Body)
	}
	return w.who.allow(writeRuleFor(method, typ, m, curBody), method+" "+typ)
}

// allowCapture checks a DICOM store (STOW-RS) by the caller.
func (s *Server) allowCapture(ctx context.Context) error {
	return callerOf(ctx).allow(needs(lane.PermCapture), "STOW-RS")
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// extCode returns the code (valueCode or valueString) of the extension
// with url in m's top-level extensions.
func extCode(m map[string]any, url string) string {
	for _, e := range collect(m, []string{"extension"}) {
		x, _ := e.(map[string]any)
		if str(x, "url") == url {
			if c := str(x, "valueCode"); c != "" {
				return c
			}
			return str(x, "valueString")
		}
	}
	return ""
}

// countExt counts m's top-level extensions with url.
func countExt(m map[string]any, url string) int {
	n := 0
	for _, e := range collect(m, []string{"extension"}) {
		if x, _ := e.(map[string]any); str(x, "url") == url {
			n++
		}
	}
	return n
}

// encounterNotes returns an Encounter's clinical notes (chief complaint,
// history, assessment, plan) as one comparable string.
func encounterNotes(m map[string]any) string {
	var sb strings.Builder
	for _, c := range collect(m, []string{"reasonCode", "text"}) {
		fmt.Fprintf(&sb, "%v\x00", c)
	}
	for _, u := range notesExts {
		sb.WriteString(extCode(m, u))
		sb.WriteByte(0)
	}
	return sb.String()
}

// hasExt reports whether m has a top-level extension with url.
func hasExt(m map[string]any, url string) bool {
	for _, e := range collect(m, []string{"extension"}) {
		if x, _ := e.(map[string]any); str(x, "url") == url {
			return true
		}
	}
	return false
}

// codeIn returns the first code of system in the CodeableConcept m[field].
func codeIn(m map[string]any, field, system string) string {
	for _, c := range collect(m, []string{field, "coding"}) {
		if x, _ := c.(map[string]any); str(x, "system") == system {
			return str(x, "code")
		}
	}
	return ""
}
