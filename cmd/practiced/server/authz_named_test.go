package server

import (
	"context"
	"net/http"
	"testing"

	"github.com/examlane/examlane/lane"
)

// TestWritesCheckTheNamedUser: every lane write is checked against the
// roles of the user it names, from the staff table, with or without a
// token; a token must name the same user as X-Examlane-User.
func TestWritesCheckTheNamedUser(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	l := e.enrol(t, "alpha")
	add := func(name string, roles ...lane.Role) User {
		u, err := e.srv.AddUser(ctx, User{Tenant: "alpha", Name: name, Roles: roles})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	desk := add("Front Desk", lane.RoleFrontDesk)
	tech := add("Tech Nician", lane.RoleTechnician)
	gone := add("Gone Desk", lane.RoleFrontDesk)
	if err := e.srv.DisableUser(ctx, "alpha", gone.ID); err != nil {
		t.Fatal(err)
	}
	token := func(u User) string {
		tok, _, err := e.srv.issueToken("alpha", u.ID, l.id, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	for _, tc := range []struct {
		name   string
		user   string // X-Examlane-User
		auth   string // Authorization
		status int
	}{
		{"role grants it, no token", desk.ID, "", http.StatusCreated},
		{"role grants it, token", desk.ID, token(desk), http.StatusCreated},
		{"token alone names the user", "", token(desk), http.StatusCreated},
		{"role lacks it, no token", tech.ID, "", http.StatusForbidden},
		{"role lacks it, token", tech.ID, token(tech), http.StatusForbidden},
		{"disabled user, no token", gone.ID, "", http.StatusForbidden},
		{"disabled user, token", gone.ID, token(gone), http.StatusUnauthorized},
		{"unknown user", "ghost-1", "", http.StatusForbidden},
		{"no user at all", "", "", http.StatusForbidden},
		{"token of another user", tech.ID, token(desk), http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l.user = tc.user
			var hdr []string
			if tc.auth != "" {
				hdr = []string{"Authorization", tc.auth}
			}
			resp, body := l.do(http.MethodPost, "/fhir/R4/Patient", patient(lane.NewID(), "Named"), hdr...)
			if resp.StatusCode != tc.status {
				t.Errorf("POST Patient: %d %.200s, want %d", resp.StatusCode, body, tc.status)
			}
		})
	}
}

// TestAuditRecordsAreStampedAndAlwaysAccepted: a lane's audit events are
// accepted for any actor (a user disabled since, the lane's sync process)
// and stamped with whether a token proved the user; a lane cannot stamp
// its own.
func TestAuditRecordsAreStampedAndAlwaysAccepted(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	l := e.enrol(t, "alpha")
	desk, err := e.srv.AddUser(ctx, User{Tenant: "alpha", Name: "Front Desk", Roles: []lane.Role{lane.RoleFrontDesk}})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := e.srv.issueToken("alpha", desk.ID, l.id, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	claim := []any{map[string]any{"url": extUserAuthenticated, "valueBoolean": true}} // a lane's false claim
	for _, tc := range []struct {
		name, user, auth string
		proven           bool
	}{
		{"sync process, no token", "sync", "", false},
		{"staff with token", desk.ID, "Bearer " + tok, true},
		{"staff without token", desk.ID, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l.user = tc.user
			var hdr []string
			if tc.auth != "" {
				hdr = []string{"Authorization", tc.auth}
			}
			ev := map[string]any{"resourceType": "AuditEvent", "recorded": "2026-11-23T10:00:00Z", "extension": claim}
			_, got := l.must(http.StatusCreated, http.MethodPost, "/fhir/R4/AuditEvent", ev, hdr...)
			var stamps []any
			for _, x := range asSlice(got["extension"]) {
				if m, _ := x.(map[string]any); str(m, "url") == extUserAuthenticated {
					stamps = append(stamps, m["valueBoolean"])
				}
			}
			if len(stamps) != 1 || stamps[0] != tc.proven {
				t.Errorf("user-authenticated stamps %v, want [%v]", stamps, tc.proven)
			}
		})
	}
}
