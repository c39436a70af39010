package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/examlane/examlane/lane"
)

// Content types.
const (
	fhirJSON  = "application/fhir+json; charset=utf-8"
	dicomJSON = "application/dicom+json"
)

// userHeader carries the acting user's id on requests made for a person.
const userHeader = "X-Examlane-User"

// identity is who is calling: the lane's tenant, lane id and location from
// its verified certificate, and the acting user from userHeader or, when
// the request carries a valid user token, from the token. Active is set
// when User is an enabled staff account of the tenant, and Roles are then
// its current roles from the staff table; a lane's writes are checked
// against them whether or not a token came (authz.go). Authenticated is
// set only by a token: the user was proven, not only named by the lane.
type identity struct {
	Tenant, Lane, Location, User string
	Roles                        []lane.Role
	Active                       bool
	Authenticated                bool
}

type identityKey struct{}

// routes builds the handler tree.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("POST /enroll", s.handleEnroll)
	mux.HandleFunc("/fhir/R4/metadata", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.writeError(w, r, fmt.Errorf("metadata: %w", errMethod))
			return
		}
		s.capability(w, r)
	})
	mux.Handle("/fhir/R4", s.authenticated(http.HandlerFunc(s.fhir)))
	mux.Handle("/fhir/R4/", s.authenticated(http.HandlerFunc(s.fhir)))
	mux.Handle("/dicomweb/", s.authenticated(http.HandlerFunc(s.dicomweb)))
	mux.Handle("POST /auth/login", s.authenticated(http.HandlerFunc(s.handleLogin)))
	mux.Handle("POST /auth/refresh", s.authenticated(http.HandlerFunc(s.handleRefresh)))
	s.releaseRoutes(mux)
	return s.logRequests(s.Faults.wrap(mux, s))
}

// authenticated admits only requests carrying a verified, unrevoked lane
// certificate, and puts the caller's identity in the request context.
func (s *Server) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := s.identify(r)
		if err != nil {
			if strings.HasPrefix(r.URL.Path, "/auth/") {
				writeAuthError(w, err)
				return
			}
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	})
}

// identify derives the caller from the TLS client certificate only.
func (s *Server) identify(r *http.Request) (identity, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return identity{}, fmt.Errorf("no client certificate: %w", errNoIdentity)
	}
	leaf := r.TLS.VerifiedChains[0][0]
	tenant, laneID, ok := laneURIs(leaf)
	if !ok {
		return identity{}, fmt.Errorf("certificate names no lane: %w", errNoIdentity)
	}
	var (
		rowTenant, location, serial string
		revoked                     sql.NullInt64
	)
	err := s.db.r.QueryRowContext(r.Context(), `SELECT tenant, location, serial, revoked FROM lanes WHERE id=?`, laneID).
		Scan(&rowTenant, &location, &serial, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return identity{}, fmt.Errorf("unknown lane: %w", errNoIdentity)
	}
	if err != nil {
		return identity{}, fmt.Errorf("identify lane: %w", unavailable(err))
	}
	if rowTenant != tenant || serial != leaf.SerialNumber.Text(16) {
		return identity{}, fmt.Errorf("certificate does not match the enrolled lane: %w", errNoIdentity)
	}
	if revoked.Valid {
		return identity{}, fmt.Errorf("lane revoked: %w", errNoIdentity)
	}
	user := r.Header.Get(userHeader)
	if len(user) > 128 || strings.IndexFunc(user, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0 {
		return identity{}, fmt.Errorf("%s: %w", userHeader, lane.Invalidf("malformed user id"))
	}
	id := identity{Tenant: tenant, Lane: laneID, Location: location, User: user}
	if h := r.Header.Get("Authorization"); h != "" {
		return s.bearer(r.Context(), id, h)
	}
	return s.namedUser(r.Context(), id)
}

// callerOf returns the identity put in the context by authenticated.
func callerOf(ctx context.Context) identity {
	id, _ := ctx.Value(identityKey{}).(identity)
	return id
}

// statusWriter records the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests logs one line per request without query string or body
// (queries may carry identifiers).
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			id := callerOf(r.Context())
			s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
				"dur", time.Since(start).Round(time.Microsecond), "tenant", id.Tenant, "lane", id.Lane)
		}()
		next.ServeHTTP(sw, r)
	})
}

// operationOutcome is the FHIR error body.
func operationOutcome(code, diagnostics string) map[string]any {
	return map[string]any{
		"resourceType": "OperationOutcome",
		"issue": []any{map[string]any{
			"severity":    "error",
			"code":        code,
			"diagnostics": diagnostics,
		}},
	}
}

// writeError answers with an OperationOutcome. 5xx bodies never carry the
// internal error, which goes to the log.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := statusOf(err)
	msg := err.Error()
	switch {
	case status == http.StatusServiceUnavailable:
		s.log.Warn("unavailable", "path", r.URL.Path, "err", err)
		msg = "the server is busy or unavailable; retry later"
		w.Header().Set("Retry-After", "1")
	case status >= 500:
		s.log.Error("internal error", "path", r.URL.Path, "err", err)
		msg = "internal server error"
	}
	writeJSON(w, status, fhirJSON, operationOutcome(code, msg))
}

// writeJSON writes v as JSON with the given status and content type.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := encodeJSON(v)
	if err != nil {
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(b)
}

// readBody reads a request body up to limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("body above %d bytes: %w", limit, errTooLarge)
		}
		return nil, fmt.Errorf("read body: %w", lane.Invalidf("%v", err))
	}
	return b, nil
}

// baseURL returns the absolute URL of the server as the client reached it.
func baseURL(r *http.Request) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

// rawJSON is a stored JSON document embedded in a response as is.
type rawJSON = json.RawMessage
