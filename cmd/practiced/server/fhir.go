package server

import (
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/examlane/examlane/lane"
)

// fhirBase is the FHIR endpoint's path.
const fhirBase = "/fhir/R4"

// fhir routes /fhir/R4/... by path segment.
func (s *Server) fhir(w http.ResponseWriter, r *http.Request) {
	if err := checkFormat(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, fhirBase), "/")
	var seg []string
	if rest != "" {
		seg = strings.Split(rest, "/")
	}
	switch {
	case len(seg) == 0:
		if r.Method == http.MethodPost {
			s.transaction(w, r)
			return
		}
	case len(seg) == 1 && seg[0] == "_history":
		if r.Method == http.MethodGet {
			s.history(w, r, "", "")
			return
		}
	case !knownType(seg[0]):
		s.writeError(w, r, fmt.Errorf("resource type %q: %w", truncate(seg[0], 40), lane.ErrNotFound))
		return
	case len(seg) == 1:
		switch r.Method {
		case http.MethodGet:
			s.search(w, r, seg[0])
			return
		case http.MethodPost:
			s.create(w, r, seg[0])
			return
		}
	case len(seg) == 2 && seg[1] == "_history":
		if r.Method == http.MethodGet {
			s.history(w, r, seg[0], "")
			return
		}
	case len(seg) == 2:
		if !validID(seg[1]) {
			s.writeError(w, r, notFound(seg[0], "?"))
			return
		}
		switch r.Method {
		case http.MethodGet:
			s.read(w, r, seg[0], seg[1])
			return
		case http.MethodPut:
			s.update(w, r, seg[0], seg[1])
			return
		case http.MethodDelete:
			s.delete(w, r, seg[0], seg[1])
			return
		}
	case len(seg) == 3 && seg[2] == "_history":
		if r.Method == http.MethodGet && validID(seg[1]) {
			s.history(w, r, seg[0], seg[1])
			return
		}
	case len(seg) == 4 && seg[2] == "_history":
		if r.Method == http.MethodGet && validID(seg[1]) {
			s.vread(w, r, seg[0], seg[1], seg[3])
			return
		}
	default:
		s.writeError(w, r, fmt.Errorf("path: %w", lane.ErrNotFound))
		return
	}
	s.writeError(w, r, fmt.Errorf("%s %s: %w", r.Method, "this path", errMethod))
}

// truncate shortens s for error messages.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// checkFormat refuses requests for formats other than JSON.
func checkFormat(r *http.Request) error {
	if f := r.URL.Query().Get("_format"); f != "" && !strings.Contains(f, "json") {
		return fmt.Errorf("_format: only JSON is served: %w", errNotAcceptable)
	}
	return nil
}

// isJSONType reports whether a Content-Type is JSON (or absent).
func isJSONType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/fhir+json" || mt == "application/json")
}

// readResource reads and checks a request body as a resource of type typ.
// A Binary may be posted raw with its own Content-Type.
func readResource(w http.ResponseWriter, r *http.Request, typ string) (map[string]any, error) {
	body, err := readBody(w, r, maxResourceBytes)
	if err != nil {
		return nil, err
	}
	ct := r.Header.Get("Content-Type")
	if !isJSONType(ct) {
		if typ != "Binary" {
			return nil, lane.Invalidf("Content-Type must be application/fhir+json")
		}
		mt, _, _ := mime.ParseMediaType(ct)
		return map[string]any{"resourceType": "Binary", "contentType": mt, "data": base64.StdEncoding.EncodeToString(body)}, nil
	}
	m, err := parseResource(body)
	if err != nil {
		return nil, err
	}
	if m["resourceType"] != typ {
		return nil, lane.Invalidf("resourceType does not match the URL")
	}
	return m, nil
}

// writeResource answers with one stored version and its headers.
func (s *Server) writeResource(w http.ResponseWriter, r *http.Request, status int, st stored) {
	h := w.Header()
	h.Set("ETag", st.etag())
	h.Set("Last-Modified", st.LastUpdated.Format(http.TimeFormat))
	if status == http.StatusCreated || r.Method == http.MethodPost {
		h.Set("Location", fmt.Sprintf("%s%s/%s/%s/_history/%d", baseURL(r), fhirBase, st.Type, st.ID, st.Version))
	}
	if strings.Contains(r.Header.Get("Prefer"), "return=minimal") {
		w.WriteHeader(status)
		return
	}
	h.Set("Content-Type", fhirJSON)
	w.WriteHeader(status)
	w.Write(st.Body)
}

// create handles POST /<Type>, conditional with If-None-Exist.
func (s *Server) create(w http.ResponseWriter, r *http.Request, typ string) {
	m, err := readResource(w, r, typ)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	delete(m, "id")
	var st stored
	var created bool
	err = s.withWrite(r.Context(), callerOf(r.Context()), func(wc *writeCtx) error {
		var err error
		st, created, err = wc.create(r.Context(), m, "", r.Header.Get("If-None-Exist"))
		return err
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.writeResource(w, r, status, st)
}

// read handles GET /<Type>/<id>.
func (s *Server) read(w http.ResponseWriter, r *http.Request, typ, id string) {
	st, err := current(r.Context(), s.db.r, callerOf(r.Context()).Tenant, typ, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if st.Deleted {
		w.Header().Set("ETag", st.etag())
		s.writeError(w, r, fmt.Errorf("%s/%s: %w", typ, id, errGone))
		return
	}
	if typ == "Binary" && wantsRaw(r) {
		s.writeRawBinary(w, r, st)
		return
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == st.etag() {
		w.Header().Set("ETag", st.etag())
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.writeResource(w, r, http.StatusOK, st)
}

// vread handles GET /<Type>/<id>/_history/<vid>.
func (s *Server) vread(w http.ResponseWriter, r *http.Request, typ, id, vid string) {
	v, err := strconv.ParseInt(vid, 10, 64)
	if err != nil || v < 1 {
		s.writeError(w, r, fmt.Errorf("version: %w", lane.ErrNotFound))
		return
	}
	st, err := version(r.Context(), s.db.r, callerOf(r.Context()).Tenant, typ, id, v)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if st.Deleted {
		w.Header().Set("ETag", st.etag())
		s.writeError(w, r, fmt.Errorf("%s/%s version %d: %w", typ, id, v, errGone))
		return
	}
	s.writeResource(w, r, http.StatusOK, st)
}

// update handles PUT /<Type>/<id> with If-Match.
func (s *Server) update(w http.ResponseWriter, r *http.Request, typ, id string) {
	m, err := readResource(w, r, typ)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var st stored
	err = s.withWrite(r.Context(), callerOf(r.Context()), func(wc *writeCtx) error {
		var err error
		st, err = wc.update(r.Context(), m, typ, id, r.Header.Get("If-Match"))
		return err
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeResource(w, r, http.StatusOK, st)
}

// delete handles DELETE /<Type>/<id>, honouring If-Match.
func (s *Server) delete(w http.ResponseWriter, r *http.Request, typ, id string) {
	var st stored
	err := s.withWrite(r.Context(), callerOf(r.Context()), func(wc *writeCtx) error {
		var err error
		st, err = wc.remove(r.Context(), typ, id, r.Header.Get("If-Match"))
		return err
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", st.etag())
	w.Header().Set("Last-Modified", st.LastUpdated.Format(http.TimeFormat))
	w.WriteHeader(http.StatusNoContent)
}

// wantsRaw reports whether a Binary read asks for the content itself
// rather than the FHIR resource.
func wantsRaw(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return a != "" && !strings.Contains(a, "json") && !strings.Contains(a, "*/*")
}

// writeRawBinary answers a Binary read with its decoded content.
func (s *Server) writeRawBinary(w http.ResponseWriter, r *http.Request, st stored) {
	m, err := parseResource(st.Body)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("binary: %w", err))
		return
	}
	ct, _ := m["contentType"].(string)
	data, _ := m["data"].(string)
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil || ct == "" {
		s.writeError(w, r, fmt.Errorf("binary content cannot be served raw: %w", errNotAcceptable))
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("ETag", st.etag())
	w.Header().Set("Last-Modified", st.LastUpdated.Format(http.TimeFormat))
	w.Write(b)
}
