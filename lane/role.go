package lane

import "fmt"

// Role is a staff member's job on the lane. A user may hold several.
type Role string

// Roles.
const (
	RoleTechnician  Role = "technician"
	RoleOptometrist Role = "optometrist"
	RoleOptician    Role = "optician"
	RoleFrontDesk   Role = "front-desk"
	RoleAdmin       Role = "admin"
)

// Roles lists every role in display order.
var Roles = []Role{RoleTechnician, RoleOptometrist, RoleOptician, RoleFrontDesk, RoleAdmin}

// ParseRole accepts a role name as written by String.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("role %q: want one of technician, optometrist, optician, front-desk, admin", s)
}

// Permission is one thing a user may be allowed to do.
type Permission string

// Permissions checked by the service layer (and again by the server for
// synced writes).
const (
	PermViewSchedule      Permission = "schedule.view"
	PermEditSchedule      Permission = "schedule.edit"
	PermViewDemographics  Permission = "demographics.view"
	PermEditDemographics  Permission = "demographics.edit"
	PermViewChart         Permission = "chart.view"      // clinical detail
	PermCapture           Permission = "measure.capture" // capture/edit pretest measurements and images
	PermEditExam          Permission = "exam.edit"       // exam findings, subjective, assessment
	PermSignExam          Permission = "exam.sign"
	PermAddendum          Permission = "exam.addendum"
	PermEditFinalRx       Permission = "rx.edit"
	PermSignRx            Permission = "rx.sign"
	PermViewRx            Permission = "rx.view"
	PermVerifyGlasses     Permission = "glasses.verify"
	PermRecordDispensing  Permission = "dispensing.record"
	PermExport            Permission = "export" // print/PDF of Rx, exports
	PermChangeSettings    Permission = "settings.change"
	PermManageInstruments Permission = "instruments.manage"
	PermManageUsers       Permission = "users.manage"
	PermViewAudit         Permission = "audit.view"
	PermResolveConflict   Permission = "sync.resolve"
	PermBreakGlass        Permission = "breakglass"
)

// Permissions lists every permission.
var Permissions = []Permission{
	PermViewSchedule, PermEditSchedule, PermViewDemographics, PermEditDemographics,
	PermViewChart, PermCapture, PermEditExam, PermSignExam, PermAddendum,
	PermEditFinalRx, PermSignRx, PermViewRx, PermVerifyGlasses, PermRecordDispensing,
	PermExport, PermChangeSettings, PermManageInstruments, PermManageUsers, PermViewAudit,
	PermResolveConflict, PermBreakGlass,
}

// grants is the role → permission table. It is data: tests print it and the
// README documents it.
var grants = map[Role][]Permission{
	RoleTechnician: {
		PermViewSchedule, PermViewDemographics, PermViewChart, PermCapture, PermViewRx,
		PermBreakGlass,
	},
	RoleOptometrist: {
		PermViewSchedule, PermViewDemographics, PermViewChart, PermCapture, PermEditExam,
		PermSignExam, PermAddendum, PermEditFinalRx, PermSignRx, PermViewRx, PermVerifyGlasses,
		PermRecordDispensing, PermExport, PermResolveConflict, PermBreakGlass,
	},
	RoleOptician: {
		PermViewSchedule, PermViewDemographics, PermViewRx, PermVerifyGlasses,
		PermRecordDispensing, PermExport, PermBreakGlass,
	},
	RoleFrontDesk: {
		PermViewSchedule, PermEditSchedule, PermViewDemographics, PermEditDemographics,
	},
	RoleAdmin: {
		PermViewSchedule, PermChangeSettings, PermManageInstruments, PermManageUsers, PermViewAudit,
	},
}

// Allowed reports whether any of roles grants p.
func Allowed(roles []Role, p Permission) bool {
	for _, r := range roles {
		for _, g := range grants[r] {
			if g == p {
				return true
			}
		}
	}
	return false
}

// Check returns an ErrForbidden error naming the permission when none of
// roles grants p.
func Check(roles []Role, p Permission) error {
	if Allowed(roles, p) {
		return nil
	}
	return fmt.Errorf("%s: %w for roles %v", p, ErrForbidden, roles)
}
