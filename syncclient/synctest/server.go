package synctest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/examlane/examlane/syncclient/fhir"
)

// Options configure a Server.
type Options struct {
	// Plain serves HTTP instead of HTTPS with mutual TLS.
	Plain bool
	// Now is the server's clock; the wall clock when nil. Tests skew it
	// against the lane's clock.
	Now func() time.Time
	// NoTransactions makes the server refuse transaction Bundles (404) and
	// leave them out of its CapabilityStatement, like a minimal server.
	NoTransactions bool
	// NoHistory makes type-level _history unavailable (404), so deletions
	// can only be seen as 410 on read.
	NoHistory bool
	// NoNextLinks leaves out next links; clients must page with _offset.
	NoNextLinks bool
	// PageSize caps _count (500 when zero).
	PageSize int
}

// Fault is what the server does to one request instead of, or besides,
// answering it normally.
type Fault struct {
	// Down closes the connection before reading the request, as a server
	// that is not there.
	Down bool
	// Status answers with this HTTP status and an OperationOutcome without
	// processing the request (500, 503, ...).
	Status int
	// Delay waits this long before processing (or until the client gives
	// up), to push a request past the client's timeout.
	Delay time.Duration
	// CutAfterCommit processes and commits the request, then closes the
	// connection without sending the response.
	CutAfterCommit bool
	// Duplicate processes the request twice (a retried delivery) and
	// answers with the second response.
	Duplicate bool
}

// WriteRecord is one committed write, in commit order.
type WriteRecord struct {
	Seq       int
	Type, ID  string
	VersionID string
	Method    string // POST, PUT or DELETE
	LaneID    string // identifier urn:examlane:id or meta.tag, if any
	ChangeID  string // the change-id extension, if any
	At        time.Time
}

// Server is an in-memory FHIR R4 + DICOMweb server on 127.0.0.1 that
// follows the lane ↔ practice server contract (see package syncclient).
// It keeps every version of every resource, assigns sequential ids and
// version ids, and records each committed write. It is safe for concurrent
// use; Close stops it.
type Server struct {
	// URL is the server's origin, e.g. https://127.0.0.1:41234.
	URL string
	// PKI is the practice CA and server certificate (nil when Plain).
	PKI *PKI

	opts Options
	ts   *httptest.Server

	mu        sync.Mutex
	now       func() time.Time
	res       map[string]map[string]*resource // type → id → resource
	byKey     map[string]map[*resource]bool   // type|system|value of live identifiers and tags
	nextID    int
	writes    []WriteRecord
	dicom     map[string]*dicomInstance // SOP instance UID → instance
	codes     map[string]*enrollCode    // code id → code
	fault     func(r *http.Request) Fault
	refuse    func() bool
	requests  int
	lastPaths []string
}

// NewServer starts a server. With Options.Plain it serves HTTP; otherwise
// HTTPS (TLS 1.3 only) with a fresh practice CA, requiring a client
// certificate signed by it on every endpoint but /enroll, /fhir/R4/metadata
// and /healthz.
func NewServer(opts Options) (*Server, error) {
	s := &Server{
		opts: opts, res: map[string]map[string]*resource{}, byKey: map[string]map[*resource]bool{}, dicom: map[string]*dicomInstance{},
		codes: map[string]*enrollCode{}, now: opts.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.ts.Listener = &refusingListener{Listener: s.ts.Listener, s: s}
	if opts.Plain {
		s.ts.Start()
	} else {
		pki, err := NewPKI()
		if err != nil {
			return nil, err
		}
		s.PKI = pki
		pool := x509.NewCertPool()
		pool.AddCert(pki.CA)
		s.ts.TLS = &tls.Config{
			Certificates: []tls.Certificate{pki.Server},
			ClientCAs:    pool,
			ClientAuth:   tls.VerifyClientCertIfGiven,
			MinVersion:   tls.VersionTLS13,
		}
		s.ts.StartTLS()
	}
	s.URL = s.ts.URL
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.ts.CloseClientConnections(); s.ts.Close() }

// SetNow replaces the server clock.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// SetFault installs a fault hook consulted for every request; nil removes it.
func (s *Server) SetFault(f func(r *http.Request) Fault) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

// SetRefuse installs a check made for every new connection: while it
// returns true the server closes connections as soon as they are accepted,
// before TLS, like a host that is down. Cheaper than Fault.Down for long
// outages; nil removes it.
func (s *Server) SetRefuse(f func() bool) {
	s.mu.Lock()
	s.refuse = f
	s.mu.Unlock()
	s.ts.CloseClientConnections()
}

// refusingListener drops connections while the server refuses them.
type refusingListener struct {
	net.Listener
	s *Server
}

// Accept returns the next connection the server does not refuse.
func (l *refusingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.s.mu.Lock()
		f := l.s.refuse
		l.s.mu.Unlock()
		if f == nil || !f() {
			return c, nil
		}
		l.s.mu.Lock()
		l.s.requests++
		l.s.mu.Unlock()
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		c.Close()
	}
}

// SetDown makes every request fail as if the server were down (true) or
// serves normally again (false).
func (s *Server) SetDown(down bool) {
	if down {
		s.SetFault(func(*http.Request) Fault { return Fault{Down: true} })
	} else {
		s.SetFault(nil)
	}
}

// Requests returns how many requests reached the handler (faulted ones
// included).
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Writes returns the committed writes in order.
func (s *Server) Writes() []WriteRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]WriteRecord(nil), s.writes...)
}

// FHIRBase is the FHIR base path.
const FHIRBase = "/fhir/R4"

// DICOMwebBase is the DICOMweb base path.
const DICOMwebBase = "/dicomweb"

func (s *Server) instant(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// serve is the HTTP entry point: it applies the fault hook, checks the
// client certificate and dispatches.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	hook, refuse := s.fault, s.refuse
	s.mu.Unlock()
	if refuse != nil && refuse() { // a connection kept alive from before
		hijackClose(w)
		return
	}
	var f Fault
	if hook != nil {
		f = hook(r)
	}
	if f.Down {
		hijackClose(w)
		return
	}
	if f.Status != 0 {
		writeOO(w, f.Status, "transient", "injected failure")
		return
	}
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 512<<20))
	if err != nil {
		return
	}
	rec := s.handle(r, body)
	if f.Duplicate {
		rec = s.handle(r, body)
	}
	if f.CutAfterCommit {
		hijackClose(w)
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func hijackClose(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// handle processes one request into a recorded response.
func (s *Server) handle(r *http.Request, body []byte) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	w.Header().Set("Date", s.clockNow().UTC().Format(http.TimeFormat))
	p := r.URL.Path
	public := p == "/healthz" || p == "/enroll" || p == FHIRBase+"/metadata"
	if !s.opts.Plain && !public && (r.TLS == nil || len(r.TLS.PeerCertificates) == 0) {
		writeOO(w, http.StatusUnauthorized, "login", "client certificate required")
		return w
	}
	switch {
	case p == "/healthz":
		w.WriteHeader(http.StatusOK)
	case p == "/enroll" && r.Method == http.MethodPost:
		s.enroll(w, body)
	case strings.HasPrefix(p, DICOMwebBase+"/"):
		s.dicomweb(w, r, body)
	case p == FHIRBase || p == FHIRBase+"/":
		if r.Method != http.MethodPost || s.opts.NoTransactions {
			writeOO(w, http.StatusNotFound, "not-supported", "no such endpoint")
			return w
		}
		s.transactionHTTP(w, body)
	case strings.HasPrefix(p, FHIRBase+"/"):
		s.fhirHTTP(w, r, strings.Split(strings.TrimPrefix(p, FHIRBase+"/"), "/"), body)
	default:
		writeOO(w, http.StatusNotFound, "not-found", "no such endpoint")
	}
	return w
}

func (s *Server) clockNow() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeOO(w http.ResponseWriter, status int, code, diag string) {
	writeJSON(w, status, fhir.OperationOutcome{ResourceType: "OperationOutcome",
		Issue: []fhir.OperationOutcomeIssue{{Severity: "error", Code: code, Diagnostics: diag}}})
}

// httpErr is a failed interaction inside the server.
type httpErr struct {
	status int
	code   string
	msg    string
}

// Error returns the message.
func (e *httpErr) Error() string { return e.msg }

func errf(status int, code, format string, args ...any) *httpErr {
	return &httpErr{status, code, fmt.Sprintf(format, args...)}
}

func writeErr(w http.ResponseWriter, err *httpErr) { writeOO(w, err.status, err.code, err.msg) }

var knownTypes = map[string]bool{}

func init() {
	for _, t := range fhir.ResourceTypes {
		knownTypes[t] = true
	}
}

// fhirHTTP routes /fhir/R4/<Type>[/<id>[/_history[/<vid>]]].
func (s *Server) fhirHTTP(w http.ResponseWriter, r *http.Request, parts []string, body []byte) {
	if parts[0] == "metadata" && r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, s.capabilities())
		return
	}
	typ := parts[0]
	if !knownTypes[typ] {
		writeOO(w, http.StatusNotFound, "not-supported", "unknown resource type")
		return
	}
	switch {
	case len(parts) == 1 && r.Method == http.MethodPost:
		s.mu.Lock()
		out, herr := s.createLocked(typ, body, r.Header.Get("If-None-Exist"))
		s.mu.Unlock()
		if herr != nil {
			writeErr(w, herr)
			return
		}
		writeResult(w, out)
	case len(parts) == 1 && r.Method == http.MethodGet:
		s.searchHTTP(w, r, typ)
	case len(parts) == 2 && parts[1] == "_history" && r.Method == http.MethodGet:
		if s.opts.NoHistory {
			writeOO(w, http.StatusNotFound, "not-supported", "type history not supported")
			return
		}
		s.historyHTTP(w, r, typ, "")
	case len(parts) == 2 && r.Method == http.MethodGet:
		s.mu.Lock()
		out, herr := s.readLocked(typ, parts[1], "")
		s.mu.Unlock()
		if herr != nil {
			writeErr(w, herr)
			return
		}
		writeResult(w, out)
	case len(parts) == 2 && r.Method == http.MethodPut:
		s.mu.Lock()
		out, herr := s.updateLocked(typ, parts[1], body, r.Header.Get("If-Match"))
		s.mu.Unlock()
		if herr != nil {
			writeErr(w, herr)
			return
		}
		writeResult(w, out)
	case len(parts) == 2 && r.Method == http.MethodDelete:
		s.mu.Lock()
		out, herr := s.deleteLocked(typ, parts[1], r.Header.Get("If-Match"))
		s.mu.Unlock()
		if herr != nil {
			writeErr(w, herr)
			return
		}
		w.Header().Set("ETag", `W/"`+out.v.vid+`"`)
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 3 && parts[2] == "_history" && r.Method == http.MethodGet:
		s.historyHTTP(w, r, typ, parts[1])
	case len(parts) == 4 && parts[2] == "_history" && r.Method == http.MethodGet:
		s.mu.Lock()
		out, herr := s.readLocked(typ, parts[1], parts[3])
		s.mu.Unlock()
		if herr != nil {
			writeErr(w, herr)
			return
		}
		writeResult(w, out)
	default:
		writeOO(w, http.StatusMethodNotAllowed, "not-supported", "interaction not supported")
	}
}

// result is the outcome of one interaction.
type result struct {
	status int
	r      *resource
	v      *version
}

func writeResult(w http.ResponseWriter, out result) {
	w.Header().Set("ETag", `W/"`+out.v.vid+`"`)
	w.Header().Set("Last-Modified", out.v.updated.UTC().Format(http.TimeFormat))
	if out.status == http.StatusCreated {
		w.Header().Set("Location", FHIRBase+"/"+out.r.typ+"/"+out.r.id+"/_history/"+out.v.vid)
	}
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	w.WriteHeader(out.status)
	_, _ = w.Write(out.v.body)
}

func (s *Server) capabilities() fhir.CapabilityStatement {
	rest := fhir.CapabilityRest{Mode: "server"}
	if !s.opts.NoTransactions {
		rest.Interaction = append(rest.Interaction, fhir.CapabilityInteraction{Code: "transaction"})
	}
	for _, t := range fhir.ResourceTypes {
		cr := fhir.CapabilityResource{Type: t, Versioning: "versioned-update"}
		for _, c := range []string{"read", "vread", "update", "delete", "create", "search-type", "history-instance"} {
			cr.Interaction = append(cr.Interaction, fhir.CapabilityInteraction{Code: c})
		}
		if !s.opts.NoHistory {
			cr.Interaction = append(cr.Interaction, fhir.CapabilityInteraction{Code: "history-type"})
		}
		rest.Resource = append(rest.Resource, cr)
	}
	return fhir.CapabilityStatement{ResourceType: "CapabilityStatement", Status: "active", Kind: "instance",
		FHIRVersion: "4.0.1", Format: []string{"json"}, Date: s.instant(s.clockNow()), Rest: []fhir.CapabilityRest{rest}}
}

func (s *Server) searchHTTP(w http.ResponseWriter, r *http.Request, typ string) {
	q := r.URL.Query()
	s.mu.Lock()
	now := s.now()
	matches, herr := s.searchLocked(typ, q)
	s.mu.Unlock()
	if herr != nil {
		writeErr(w, herr)
		return
	}
	count := 50
	if c, err := strconv.Atoi(q.Get("_count")); err == nil && c >= 0 {
		count = min(c, 500)
	}
	if s.opts.PageSize > 0 {
		count = min(count, s.opts.PageSize)
	}
	offset, _ := strconv.Atoi(q.Get("_offset"))
	offset = max(offset, 0)
	total := int64(len(matches))
	b := fhir.Bundle{ResourceType: "Bundle", Type: "searchset", Total: &total, Meta: &fhir.Meta{LastUpdated: s.instant(now)}}
	end := min(offset+count, len(matches))
	if offset < len(matches) {
		for _, m := range matches[offset:end] {
			v := m.cur()
			b.Entry = append(b.Entry, fhir.BundleEntry{FullURL: s.URL + FHIRBase + "/" + typ + "/" + m.id, Resource: v.body})
		}
	}
	if end < len(matches) && !s.opts.NoNextLinks {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("_offset", strconv.Itoa(end))
		nq.Set("_count", strconv.Itoa(count))
		b.Link = append(b.Link, fhir.BundleLink{Relation: "next", URL: s.URL + FHIRBase + "/" + typ + "?" + nq.Encode()})
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) historyHTTP(w http.ResponseWriter, r *http.Request, typ, id string) {
	var since time.Time
	if v := r.URL.Query().Get("_since"); v != "" {
		t, err := fhir.ParseTime(v)
		if err != nil {
			writeOO(w, http.StatusBadRequest, "invalid", "bad _since")
			return
		}
		since = t
	}
	s.mu.Lock()
	now := s.now()
	var entries []fhir.BundleEntry
	for _, res := range s.res[typ] {
		if id != "" && res.id != id {
			continue
		}
		for _, v := range res.versions {
			if v.updated.Before(since) {
				continue
			}
			e := fhir.BundleEntry{FullURL: s.URL + FHIRBase + "/" + typ + "/" + res.id,
				Request:  &fhir.BundleRequest{Method: v.method, URL: typ + "/" + res.id},
				Response: &fhir.BundleResponse{Status: "200", Etag: `W/"` + v.vid + `"`, LastModified: s.instant(v.updated)}}
			if v.deleted {
				e.Request.URL = typ + "/" + res.id + "/_history/" + v.vid
			} else {
				e.Resource = v.body
			}
			entries = append(entries, e)
		}
	}
	s.mu.Unlock()
	if id != "" && len(entries) == 0 {
		writeOO(w, http.StatusNotFound, "not-found", "unknown resource")
		return
	}
	total := int64(len(entries))
	writeJSON(w, http.StatusOK, fhir.Bundle{ResourceType: "Bundle", Type: "history", Total: &total,
		Meta: &fhir.Meta{LastUpdated: s.instant(now)}, Entry: entries})
}

// transactionHTTP runs a transaction Bundle all-or-nothing.
func (s *Server) transactionHTTP(w http.ResponseWriter, body []byte) {
	b, err := fhir.ParseBundle(body)
	if err != nil || (b.Type != "transaction" && b.Type != "batch") {
		writeOO(w, http.StatusBadRequest, "invalid", "not a transaction Bundle")
		return
	}
	s.mu.Lock()
	resp, herr := s.transactionLocked(b)
	s.mu.Unlock()
	if herr != nil {
		writeErr(w, herr)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// Seed stores a resource as if created on the server (not by a lane) and
// returns its id and version.
func (s *Server) Seed(res fhir.Resource) (id, vid string, err error) {
	raw, err := fhir.Marshal(res)
	if err != nil {
		return "", "", err
	}
	return s.SeedJSON(raw)
}

// SeedJSON stores raw resource JSON as a server-side create.
func (s *Server) SeedJSON(raw []byte) (id, vid string, err error) {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return "", "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out, herr := s.createLocked(head.ResourceType, raw, "")
	if herr != nil {
		return "", "", herr
	}
	return out.r.id, out.v.vid, nil
}

// Update changes a stored resource on the server side (another lane or the
// practice system), bumping its version; fn edits the JSON object.
func (s *Server) Update(typ, id string, fn func(obj map[string]any)) (vid string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := s.res[typ][id]
	if res == nil || res.cur().deleted {
		return "", errf(404, "not-found", "unknown resource")
	}
	var obj map[string]any
	if err := json.Unmarshal(res.cur().body, &obj); err != nil {
		return "", err
	}
	fn(obj)
	raw, _ := json.Marshal(obj)
	out, herr := s.updateLocked(typ, id, raw, `W/"`+res.cur().vid+`"`)
	if herr != nil {
		return "", herr
	}
	return out.v.vid, nil
}

// Delete deletes a resource on the server side.
func (s *Server) Delete(typ, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, herr := s.deleteLocked(typ, id, "")
	if herr != nil {
		return herr
	}
	return nil
}

// Get returns the current JSON of a resource and whether it exists (not
// deleted).
func (s *Server) Get(typ, id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := s.res[typ][id]
	if res == nil || res.cur().deleted {
		return nil, false
	}
	return res.cur().body, true
}

// All returns the current JSON of every live resource of a type, ordered by
// id number.
func (s *Server) All(typ string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]byte
	for _, r := range s.sortedLocked(typ) {
		if !r.cur().deleted {
			out = append(out, r.cur().body)
		}
	}
	return out
}

// Count returns how many live resources of a type exist.
func (s *Server) Count(typ string) int { return len(s.All(typ)) }

// FindByLaneID returns the ids of live resources of typ carrying lane id.
func (s *Server) FindByLaneID(typ, laneID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for r := range s.byKey[typ+"|"+fhir.SystemLaneID+"|"+laneID] {
		out = append(out, r.id)
	}
	sort.Strings(out)
	return out
}
