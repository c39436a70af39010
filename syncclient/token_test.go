package syncclient_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient"
	"github.com/examlane/examlane/syncclient/synctest"
)

// seenRequest is one write request as the server received it.
type seenRequest struct {
	method, path, user, auth string
	agents                   []string // Practitioner ids named in the body
	body                     string
}

var practitionerRef = regexp.MustCompile(`Practitioner/([A-Za-z0-9._-]+)`)

// recordWrites installs a fault hook on srv that records every write
// request (headers and the practitioners its body names) and answers 401
// to the tokens in expired.
func recordWrites(srv *synctest.Server, expired map[string]bool) func() []seenRequest {
	var mu sync.Mutex
	var seen []seenRequest
	srv.SetFault(func(r *http.Request) synctest.Fault {
		if r.Method == http.MethodGet {
			return synctest.Fault{}
		}
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		s := seenRequest{method: r.Method, path: r.URL.Path, user: r.Header.Get("X-Examlane-User"), auth: r.Header.Get("Authorization"), body: string(b)}
		for _, m := range practitionerRef.FindAllSubmatch(b, -1) {
			s.agents = append(s.agents, string(m[1]))
		}
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
		if expired[s.auth] {
			return synctest.Fault{Status: http.StatusUnauthorized}
		}
		return synctest.Fault{}
	})
	return func() []seenRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]seenRequest(nil), seen...)
	}
}

// TestPushCarriesEachUsersToken: every write names one user and carries
// that user's token when the sign-in layer has one (none for a user signed
// in offline); a batch of creates never mixes authors; a token the server
// refuses is dropped and the write resent without it.
func TestPushCarriesEachUsersToken(t *testing.T) {
	optom := lane.Actor{User: "optom-1", Roles: []lane.Role{lane.RoleOptometrist}, Lane: "Lane 1"}
	offline := lane.Actor{User: "tech-2", Roles: []lane.Role{lane.RoleTechnician}, Lane: "Lane 1"}
	for _, tc := range []struct {
		name   string
		tokens map[lane.UserID]string
		// wantAuth is the Authorization each user's accepted writes carry.
		wantAuth map[string]string
		expired  map[string]bool
	}{
		{"tokens", map[lane.UserID]string{tech.User: "tok-tech", optom.User: "tok-optom"},
			map[string]string{"tech-1": "Bearer tok-tech", "optom-1": "Bearer tok-optom", "tech-2": ""}, nil},
		{"no token source", nil, map[string]string{"tech-1": "", "optom-1": "", "tech-2": ""}, nil},
		{"expired token", map[lane.UserID]string{tech.User: "tok-old", optom.User: "tok-optom"},
			map[string]string{"tech-1": "", "optom-1": "Bearer tok-optom", "tech-2": ""}, map[string]bool{"Bearer tok-old": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, synctest.Options{})
			var mu sync.Mutex
			asked := map[lane.UserID]int{}
			r := newLane(t, srv, "Lane 1", func(c *syncclient.Config) {
				if tc.tokens == nil {
					return
				}
				c.Tokens = func(ctx context.Context, u lane.UserID) (string, error) {
					mu.Lock()
					defer mu.Unlock()
					asked[u]++
					if tok, ok := tc.tokens[u]; ok {
						return tok, nil
					}
					return "", fmt.Errorf("user token: %w", lane.ErrNotFound)
				}
			})
			pid := seedPatient(t, srv, 1, "loc-1", r.today(9, 0))
			r.mustSync()
			// runs of creates by three authors, interleaved
			for n, by := range []lane.Actor{tech, tech, tech, optom, optom, offline, tech, tech} {
				m := newMeasurement(lane.PatientID(pid), n)
				r.save(by, m)
			}
			seen := recordWrites(srv, tc.expired)
			r.syncUntilDrained(3)

			writes := seen()
			if len(writes) == 0 {
				t.Fatal("no writes reached the server")
			}
			accepted := 0
			for _, w := range writes {
				if w.user == "" {
					t.Errorf("%s %s names no user", w.method, w.path)
					continue
				}
				for _, a := range w.agents {
					if a != w.user {
						t.Errorf("%s %s for %s carries a change by %s (authors mixed)", w.method, w.path, w.user, a)
					}
				}
				if tc.expired[w.auth] {
					continue // refused; the resend is checked below
				}
				accepted++
				if want := tc.wantAuth[w.user]; w.auth != want {
					t.Errorf("%s %s for %s: Authorization %q, want %q", w.method, w.path, w.user, w.auth, want)
				}
			}
			if accepted == 0 {
				t.Error("no write was accepted")
			}
			if n := srv.Count("Observation"); n != 8 {
				t.Errorf("server has %d observations, want 8", n)
			}
			if tc.tokens != nil && asked[tech.User] == 0 {
				t.Error("the token source was never asked")
			}
		})
	}
}

// TestPushCreateSentForItsLastAuthor: a record created by one user and
// changed by another before it reached the server goes as one create of
// its current state, sent for the author of the last change (whose rights
// cover that state: a visit the technician opened and the optometrist
// signed is a signed encounter); a later change goes for its own author.
func TestPushCreateSentForItsLastAuthor(t *testing.T) {
	optom := lane.Actor{User: "optom-1", Roles: []lane.Role{lane.RoleOptometrist}, Lane: "Lane 1"}
	srv := newServer(t, synctest.Options{})
	r := newLane(t, srv, "Lane 1", nil)
	pid := seedPatient(t, srv, 1, "loc-1", r.today(9, 0))
	r.mustSync()
	m := r.save(optom, newMeasurement(lane.PatientID(pid), 1)).(lane.Measurement)
	m.Note = "re-checked by the technician"
	m = r.save(tech, m).(lane.Measurement)
	seen := recordWrites(srv, nil)
	r.syncUntilDrained(3)
	m.Note = "amended"
	r.save(optom, m)
	r.syncUntilDrained(3)

	// Observation writes, single or in a transaction Bundle
	obsCreate := regexp.MustCompile(`"method":\s*"POST",\s*"url":\s*"Observation"`)
	obsUpdate := regexp.MustCompile(`"method":\s*"PUT",\s*"url":\s*"Observation/`)
	var creates, updates []string
	for _, w := range seen() {
		switch {
		case obsCreate.MatchString(w.body) || (w.method == http.MethodPost && strings.HasSuffix(w.path, "/Observation")):
			creates = append(creates, w.user)
		case obsUpdate.MatchString(w.body) || (w.method == http.MethodPut && strings.Contains(w.path, "/Observation/")):
			updates = append(updates, w.user)
		}
	}
	if len(creates) == 0 || len(updates) == 0 {
		t.Fatalf("writes: creates %v, updates %v; want both", creates, updates)
	}
	for _, u := range creates {
		if u != string(tech.User) {
			t.Errorf("the create went for %q, want the last author %q", u, tech.User)
		}
	}
	for _, u := range updates {
		if u != string(optom.User) {
			t.Errorf("the later change went for %q, want its author %q", u, optom.User)
		}
	}
}
