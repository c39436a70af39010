package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/examlane/examlane/lane"
)

// Server-side permission checks for synced writes. Every write a lane makes
// is allowed only when the user it names (X-Examlane-User, or the user of
// its token) is an enabled staff account of the tenant and one of that
// user's current roles, from the staff table, grants a permission the write
// needs, by the same role table the lane's service layer uses
// (lane.Allowed). A token is not required: mutual TLS proves the lane, and
// changes made offline reach the server after their author's token has
// expired. A token, when present, must name the same user (bearer), and it
// is recorded: every Provenance and AuditEvent a lane creates is stamped
// with extUserAuthenticated, true when the user was proven by a token and
// false when only asserted by the lane.
//
// Audit events and Provenance are the exception to the role check: they
// record what happened on the lane, and are accepted for any actor (a user
// disabled since, the lane's sync process), so that the audit trail is
// never lost.

// Examlane code systems and extensions the rules read (as syncclient/fhir
// writes them; the server does not import the lane's mapping).
const (
	sourceSystem = "https://examlane.org/fhir/CodeSystem/source"
	extBase      = "https://examlane.org/fhir/StructureDefinition/"
	extFlow      = extBase + "flow-status"
	extSignature = extBase + "signature"
	extAddendum  = extBase + "addendum"
	// extUserAuthenticated (valueBoolean) on a Provenance or AuditEvent a
	// lane created: whether its user was proven by a token.
	extUserAuthenticated = extBase + "user-authenticated"
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
		// As the lane's SaveEncounter, SignExam, AddAddendum and
		// AdvanceVisit: notes need exam.edit, status changes and opening
		// a visit's encounter without notes measure.capture, a signature
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
		case encounterNotes(m) != encounterNotes(cur):
			// cur is nil for a create: a new encounter carrying notes
			return needs(lane.PermEditExam)
		case method == http.MethodPost:
			// a visit's encounter opened without notes, as AdvanceVisit
			// opens it when a technician starts the pretest
			return needs(lane.PermCapture)
		}
		return needs(lane.PermCapture)
	case "Observation":
		if src := codeIn(body, "method", sourceSystem); src != "" {
			return needs(lane.MeasurementPermissions(lane.Measurement{Source: lane.Source(src)})...)
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

// allow checks a rule against the caller: nil for the server's own writes
// (administration and seeding have no lane), for audit records, and when a
// current role of the named, enabled user grants the write.
func (id identity) allow(r writeRule, what string) error {
	if id.Lane == "" {
		return nil
	}
	switch {
	case r.never:
		return fmt.Errorf("%s: %w: the record is append-only or signed", what, lane.ErrForbidden)
	case r.anyRole:
		return nil
	case id.User == "":
		return fmt.Errorf("%s: %w: the request names no user", what, lane.ErrForbidden)
	case !id.Active:
		return fmt.Errorf("%s: %w: user %s is not an enabled staff account", what, lane.ErrForbidden, id.User)
	}
	for _, p := range r.perms {
		if lane.Allowed(id.Roles, p) {
			return nil
		}
	}
	names := make([]string, len(r.perms))
	for i, p := range r.perms {
		names[i] = string(p)
	}
	return fmt.Errorf("%s needs %s: %w for roles %v", what, strings.Join(names, " or "), lane.ErrForbidden, id.Roles)
}

// authorizeWrite checks a write in this transaction against the caller's
// roles. cur is the current stored version (nil when creating). A
// Provenance or AuditEvent a lane creates is stamped (in m) with whether
// its user was proven by a token.
func (w *writeCtx) authorizeWrite(method, typ string, m map[string]any, cur *stored) error {
	if method == http.MethodPost && (typ == "Provenance" || typ == "AuditEvent") && w.who.Lane != "" && m != nil {
		stampAuthenticated(m, w.who.Authenticated)
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

// stampAuthenticated sets m's extUserAuthenticated extension, replacing
// any the lane sent (a lane cannot claim a proof it did not give).
func stampAuthenticated(m map[string]any, proven bool) {
	var keep []any
	for _, e := range collect(m, []string{"extension"}) {
		if x, _ := e.(map[string]any); str(x, "url") != extUserAuthenticated {
			keep = append(keep, e)
		}
	}
	m["extension"] = append(keep, map[string]any{"url": extUserAuthenticated, "valueBoolean": proven})
}

// namedUser completes the identity of a request without a token from the
// staff table: Active and Roles when the user the lane names is an enabled
// account of its tenant, neither otherwise (writes needing a role are then
// refused).
func (s *Server) namedUser(ctx context.Context, id identity) (identity, error) {
	if id.User == "" {
		return id, nil
	}
	var roles string
	var disabled bool
	err := s.db.r.QueryRowContext(ctx, `SELECT roles, disabled FROM staff WHERE tenant=? AND id=?`, id.Tenant, id.User).Scan(&roles, &disabled)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return id, nil
	case err != nil:
		return id, fmt.Errorf("user: %w", unavailable(err))
	}
	if !disabled {
		id.Roles, id.Active = splitRoles(roles), true
	}
	return id, nil
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
