package lane_test

import (
	"errors"
	"testing"

	"github.com/examlane/examlane/lane"
)

// TestRoleGrants spells out, for every role, every permission it must hold
// and (by omission) every one it must not. It is the permission matrix of
// the sign-in issue: technicians capture but never sign; optometrists do all
// clinical work; opticians verify glasses and see Rx only; front desk sees
// schedule and demographics; admins manage the lane with no clinical access.
func TestRoleGrants(t *testing.T) {
	want := map[lane.Role][]lane.Permission{
		lane.RoleTechnician: {lane.PermViewSchedule, lane.PermViewDemographics, lane.PermViewChart,
			lane.PermCapture, lane.PermViewRx, lane.PermBreakGlass},
		lane.RoleOptometrist: {lane.PermViewSchedule, lane.PermViewDemographics, lane.PermViewChart,
			lane.PermCapture, lane.PermEditExam, lane.PermSignExam, lane.PermAddendum, lane.PermEditFinalRx,
			lane.PermSignRx, lane.PermViewRx, lane.PermVerifyGlasses, lane.PermRecordDispensing, lane.PermExport,
			lane.PermResolveConflict, lane.PermBreakGlass},
		lane.RoleOptician: {lane.PermViewSchedule, lane.PermViewDemographics, lane.PermViewRx,
			lane.PermVerifyGlasses, lane.PermRecordDispensing, lane.PermExport, lane.PermBreakGlass},
		lane.RoleFrontDesk: {lane.PermViewSchedule, lane.PermEditSchedule, lane.PermViewDemographics,
			lane.PermEditDemographics},
		lane.RoleAdmin: {lane.PermViewSchedule, lane.PermChangeSettings, lane.PermManageInstruments,
			lane.PermManageUsers, lane.PermViewAudit},
	}
	for _, r := range lane.Roles {
		granted := map[lane.Permission]bool{}
		for _, p := range want[r] {
			granted[p] = true
		}
		for _, p := range lane.Permissions {
			got := lane.Allowed([]lane.Role{r}, p)
			if got != granted[p] {
				t.Errorf("Allowed(%s, %s) = %v, want %v", r, p, got, granted[p])
			}
			err := lane.Check([]lane.Role{r}, p)
			if (err == nil) != granted[p] || (err != nil && !errors.Is(err, lane.ErrForbidden)) {
				t.Errorf("Check(%s, %s) = %v", r, p, err)
			}
		}
	}
}

func TestAllowedUnionOfRoles(t *testing.T) {
	// An admin who is also an optometrist gets clinical access; an admin
	// alone does not.
	if lane.Allowed([]lane.Role{lane.RoleAdmin}, lane.PermViewChart) {
		t.Fatal("admin alone may view charts")
	}
	if !lane.Allowed([]lane.Role{lane.RoleAdmin, lane.RoleOptometrist}, lane.PermViewChart) {
		t.Fatal("admin+optometrist may not view charts")
	}
	if lane.Allowed(nil, lane.PermViewSchedule) {
		t.Fatal("no roles grants a permission")
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range lane.Roles {
		got, err := lane.ParseRole(string(r))
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	if _, err := lane.ParseRole("doctor"); err == nil {
		t.Error("ParseRole(doctor) succeeded")
	}
}
