package lane

import "time"

// AuditAction is what an audit event records.
type AuditAction string

// Audit actions.
const (
	AuditView        AuditAction = "view" // a chart opened (access)
	AuditCreate      AuditAction = "create"
	AuditUpdate      AuditAction = "update"
	AuditDelete      AuditAction = "delete"
	AuditSign        AuditAction = "sign"
	AuditExport      AuditAction = "export" // print or PDF of a document, data export
	AuditCapture     AuditAction = "capture"
	AuditSignIn      AuditAction = "sign-in"
	AuditSignOut     AuditAction = "sign-out"
	AuditLock        AuditAction = "lock"
	AuditUnlock      AuditAction = "unlock"
	AuditBreakGlass  AuditAction = "break-glass"
	AuditSettings    AuditAction = "settings"
	AuditBackup      AuditAction = "backup"
	AuditPurge       AuditAction = "purge"
	AuditKeyRotation AuditAction = "key-rotation"
)

// AuditOutcome is whether the action succeeded.
type AuditOutcome string

// Outcomes.
const (
	OutcomeSuccess AuditOutcome = "success"
	OutcomeFailure AuditOutcome = "failure"
	OutcomeDenied  AuditOutcome = "denied"
)

// AuditEvent is one entry of the tamper-evident audit trail. Detail may hold
// patient data and is sealed at rest; the other fields are identifiers.
type AuditEvent struct {
	Seq       int64 // position in the lane's chain, assigned by the store
	ID        string
	At        time.Time
	User      UserID
	Role      Role
	Lane      string
	PatientID PatientID // empty when no patient is involved
	Action    AuditAction
	// Entity names the record touched, e.g. "Measurement/7f3…".
	Entity  string
	Outcome AuditOutcome
	// Reason is the typed reason for break-glass or a deletion.
	Reason string
	Detail string
}

// Actor is who performs a change: the signed-in user on this lane. Stores
// record it in the audit event written in the same transaction as the
// change.
type Actor struct {
	User  UserID
	Roles []Role
	Lane  string
	// Device is the lane's device identity (sent as Provenance on sync).
	Device string
	// Reason is set for break-glass access and deletions.
	Reason string
}

// PrimaryRole returns the first role, or "" when none.
func (a Actor) PrimaryRole() Role {
	if len(a.Roles) == 0 {
		return ""
	}
	return a.Roles[0]
}
