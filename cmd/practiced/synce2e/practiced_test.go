// Package synce2e_test runs the sync client's acceptance tests end to end:
// the real reference server practiced (cmd/practiced/server: Init, Open,
// ServeTLS on 127.0.0.1) against lanes built as the app builds them —
// enrolled with a one-time code (syncclient.Enroll), mutual TLS pinned to
// the practice CA, and an encrypted localdb in t.TempDir() whose key sits in
// go-keyring's in-memory mock keychain (localdb/keychain). Nothing is faked
// between the lane and the server except what a test injects on purpose
// (practiced's Faults knobs, a TCP proxy that takes one lane offline, an
// injected lane clock).
//
// What "delivered" means is checked against practiced over FHIR, never
// against the lane's own view: every local record is found on the server
// exactly once (search by identifier urn:examlane:id|<id> for lane-created
// records, by id for server-born ones) with the content the lane holds, no
// change id appears in two versions of a resource, no Provenance or audit
// event exists twice, per-patient totals match, and the lane's outbox is
// empty.
package synce2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/examlane/examlane/cmd/practiced/server"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient"
	"github.com/examlane/examlane/syncclient/fhir"
)

// tenant is the practice every test serves.
const (
	tenantID   = "e2e"
	tenantName = "End-to-End Eye Care"
	// siteName is the seeded site the lanes are enrolled at (Seed's first
	// site; it gets three of every five appointments).
	siteName = "Main Street Eye Care"
)

var bg = context.Background()

// practice is a practiced serving HTTPS on a 127.0.0.1 listener, with an
// enrolled "practice system" client through which tests read (and, as the
// practice's other software would, change) what the server holds.
type practice struct {
	t      testing.TB
	srv    *server.Server
	url    string // https://127.0.0.1:port
	site   string // Location id of siteName ("" when not seeded)
	admin  *http.Client
	tech   lane.UserID // seeded staff, the actors of lane changes
	optom  lane.UserID
	report server.SeedReport
	log    *requestLog
	start  time.Time // before the first lane write: history scans start here
}

// practiceOptions shape a practiced for a test.
type practiceOptions struct {
	seed *server.SeedOptions // nil: no demo practice
	// settle waits until the seed is older than the lane's incremental-pull
	// overlap (2 s), as a practice's records are when a lane starts its
	// day; otherwise the lane's second pull fetches the whole seed again.
	settle bool
}

// smallSeed is a demo practice just big enough for the fault scenarios:
// four patients with history, three of them on today's schedule at
// siteName, two with fundus photos (one DICOM, one JPEG).
var smallSeed = server.SeedOptions{Patients: 4, Appointments: 4, ImagePatients: 2, ImageWidth: 64, ImageHeight: 48}

// startPractice initialises a data directory in t.TempDir(), opens it and
// serves it on 127.0.0.1:0 until the test ends.
func startPractice(t testing.TB, o practiceOptions) *practice {
	t.Helper()
	dir := t.TempDir()
	p := startPracticeIn(t, dir, o)
	t.Cleanup(p.stopFn)
	return p.practice
}

// runningPractice is a practice with the function that stops it.
type runningPractice struct {
	*practice
	stopFn func()
}

// startPracticeIn starts practiced over dir; the caller stops it.
func startPracticeIn(t testing.TB, dir string, o practiceOptions) runningPractice {
	t.Helper()
	if err := server.Init(bg, dir, server.InitOptions{Tenant: tenantID, Name: tenantName}); err != nil {
		t.Fatalf("practiced init: %v", err)
	}
	rl := &requestLog{}
	srv, err := server.Open(dir, server.WithTimeZone(time.UTC), server.WithLogger(slog.New(rl)))
	if err != nil {
		t.Fatalf("practiced open: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ctx, ln) }()
	stop := func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("practiced ServeTLS: %v", err)
		}
		srv.Close()
	}
	p := &practice{t: t, srv: srv, url: "https://" + ln.Addr().String(), log: rl}
	loc := "Main"
	if o.seed != nil {
		rep, err := srv.Seed(bg, tenantID, *o.seed)
		if err != nil {
			stop()
			t.Fatalf("practiced seed: %v", err)
		}
		p.report, loc = rep, siteName
		users, err := srv.Users(bg, tenantID)
		if err != nil {
			stop()
			t.Fatal(err)
		}
		for _, u := range users {
			for _, r := range u.Roles {
				if r == lane.RoleTechnician && p.tech == "" {
					p.tech = lane.UserID(u.ID)
				}
				if r == lane.RoleOptometrist && p.optom == "" {
					p.optom = lane.UserID(u.ID)
				}
			}
		}
	} else {
		p.tech, p.optom = "tech-e2e", "optom-e2e"
	}
	// practiced checks every lane write against the named user's roles in
	// its staff table. The scenarios exercise sync, not the role table
	// (practiced/server's authz tests do), and their actors make changes
	// any clinician might: the harness acts through accounts holding every
	// role, the practice system's own writes included (harnessUser).
	for _, id := range []string{"tech-e2e", "optom-e2e", harnessUser} {
		if _, err := srv.AddUser(bg, server.User{Tenant: tenantID, ID: id, Name: "Harness " + id, Roles: lane.Roles}); err != nil {
			stop()
			t.Fatalf("practiced user: %v", err)
		}
	}
	p.tech, p.optom = "tech-e2e", "optom-e2e"
	en := p.enrol(t, "Practice system", loc)
	p.site = en.Location
	tc, err := syncclient.TLSConfig(en)
	if err != nil {
		stop()
		t.Fatal(err)
	}
	p.admin = &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 60 * time.Second}
	// Seeded writes are all before start; history scans begin here.
	time.Sleep(5 * time.Millisecond)
	if o.settle {
		time.Sleep(2100 * time.Millisecond)
	}
	p.start = time.Now().UTC()
	return runningPractice{p, func() {
		p.admin.CloseIdleConnections()
		stop()
	}}
}

// enrol issues a one-time code for a lane at location (name or id) and
// enrols with it as the lane does.
func (p *practice) enrol(t testing.TB, laneName, location string) syncclient.Enrollment {
	t.Helper()
	code, _, err := p.srv.EnrollCode(bg, tenantID, location, laneName)
	if err != nil {
		t.Fatalf("enrol code: %v", err)
	}
	en, err := syncclient.Enroll(bg, p.url, code, laneName)
	if err != nil {
		t.Fatalf("syncclient.Enroll: %v", err)
	}
	return en
}

// requestLog is practiced's request log (server.WithLogger): it counts
// answers by status and lets a test react to each finished request.
type requestLog struct {
	mu   sync.Mutex
	hook func(method, path string, status int)
	by   map[int]int
	errs []string // what practiced logged as internal errors
}

// internalErrors returns the errors practiced logged as internal.
func (l *requestLog) internalErrors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

// setHook installs fn, called after every finished request (nil: none).
func (l *requestLog) setHook(fn func(method, path string, status int)) {
	l.mu.Lock()
	l.hook = fn
	l.mu.Unlock()
}

// statuses returns how many requests ended with each status.
func (l *requestLog) statuses() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int]int{}
	for k, v := range l.by {
		out[k] = v
	}
	return out
}

func (l *requestLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *requestLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *requestLog) WithGroup(string) slog.Handler            { return l }

func (l *requestLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "internal error" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" {
				l.mu.Lock()
				l.errs = append(l.errs, a.Value.String())
				l.mu.Unlock()
			}
			return true
		})
	}
	if r.Message != "request" {
		return nil
	}
	var method, path string
	status := -1
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "method":
			method = a.Value.String()
		case "path":
			path = a.Value.String()
		case "status":
			status = int(a.Value.Int64())
		}
		return true
	})
	l.mu.Lock()
	if l.by == nil {
		l.by = map[int]int{}
	}
	l.by[status]++
	hook := l.hook
	l.mu.Unlock()
	if hook != nil && path != "/enroll" {
		hook(method, path, status)
	}
	return nil
}

// ---------------------------------------------------------------------------
// FHIR reads and writes as the practice system

// get reads a FHIR path ("Observation?x=y", "Patient/7") or an absolute URL.
func (p *practice) get(path string) (int, []byte) {
	p.t.Helper()
	return p.do(http.MethodGet, path, nil, nil)
}

// harnessUser is the staff account the practice system's writes name.
const harnessUser = "practice-e2e"

func (p *practice) do(method, path string, body []byte, hdr map[string]string) (int, []byte) {
	p.t.Helper()
	u := path
	if !strings.HasPrefix(u, "https://") {
		u = p.url + "/fhir/R4/" + path
	}
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	req.Header.Set("X-Examlane-User", harnessUser)
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := p.admin.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, redact(path), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// redact drops the query (it may carry identifiers) from a path for
// messages.
func redact(path string) string {
	path, _, _ = strings.Cut(path, "?")
	return path
}

// total returns a search's Bundle.total.
func (p *practice) total(typ string, q url.Values) int {
	p.t.Helper()
	q.Set("_summary", "count")
	st, b := p.get(typ + "?" + q.Encode())
	if st != http.StatusOK {
		p.t.Fatalf("count %s: %d %.200s", typ, st, b)
	}
	var bd struct {
		Total *int `json:"total"`
	}
	if err := json.Unmarshal(b, &bd); err != nil || bd.Total == nil {
		p.t.Fatalf("count %s: no total in %.200s", typ, b)
	}
	return *bd.Total
}

// page is the part of a Bundle these tests read.
type page struct {
	Total *int `json:"total"`
	Link  []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		Resource json.RawMessage `json:"resource"`
		Request  *struct {
			Method string `json:"method"`
		} `json:"request"`
		Response *struct {
			Etag string `json:"etag"`
		} `json:"response"`
	} `json:"entry"`
}

// pages follows a search or history from first through its next links.
func (p *practice) pages(first string, fn func(page)) {
	p.t.Helper()
	next := first
	for n := 0; next != ""; n++ {
		if n > 10000 {
			p.t.Fatal("paging does not end")
		}
		st, b := p.get(next)
		if st != http.StatusOK {
			p.t.Fatalf("GET %s: %d %.200s", redact(next), st, b)
		}
		var pg page
		if err := json.Unmarshal(b, &pg); err != nil {
			p.t.Fatal(err)
		}
		fn(pg)
		next = ""
		for _, l := range pg.Link {
			if l.Relation == "next" {
				next = l.URL
			}
		}
	}
}

// search returns every resource matching q.
func (p *practice) search(typ string, q url.Values) []json.RawMessage {
	p.t.Helper()
	q.Set("_count", "500")
	var out []json.RawMessage
	p.pages(typ+"?"+q.Encode(), func(pg page) {
		for _, e := range pg.Entry {
			out = append(out, e.Resource)
		}
	})
	return out
}

// version is one entry of a type history.
type version struct {
	method   string
	id, vid  string
	resource json.RawMessage
}

// history returns the type history of typ since the practice started
// serving the test, oldest first.
func (p *practice) history(typ string) []version {
	p.t.Helper()
	q := url.Values{"_since": {p.start.Format(time.RFC3339Nano)}, "_count": {"500"}}
	var out []version
	p.pages(typ+"/_history?"+q.Encode(), func(pg page) {
		for _, e := range pg.Entry {
			v := version{resource: e.Resource}
			if e.Request != nil {
				v.method = e.Request.Method
			}
			var head resourceHead
			if json.Unmarshal(e.Resource, &head) == nil {
				v.id, v.vid = head.ID, head.Meta.VersionID
			}
			out = append(out, v)
		}
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// resourceHead is what the checks read of any resource.
type resourceHead struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		VersionID string `json:"versionId"`
		Tag       []struct {
			System string `json:"system"`
			Code   string `json:"code"`
		} `json:"tag"`
	} `json:"meta"`
	Identifier []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"identifier"`
	Extension []struct {
		URL         string `json:"url"`
		ValueString string `json:"valueString"`
	} `json:"extension"`
}

func (h resourceHead) changeID() string {
	for _, e := range h.Extension {
		if e.URL == fhir.ExtChangeID {
			return e.ValueString
		}
	}
	return ""
}

func (h resourceHead) laneID() string {
	for _, i := range h.Identifier {
		if i.System == fhir.SystemLaneID {
			return i.Value
		}
	}
	return ""
}

func (h resourceHead) tag(system string) string {
	for _, t := range h.Meta.Tag {
		if t.System == system {
			return t.Code
		}
	}
	return ""
}

// create posts a resource as the practice system and returns its id.
func (p *practice) create(res fhir.Resource) string {
	p.t.Helper()
	body, err := fhir.Marshal(res)
	if err != nil {
		p.t.Fatal(err)
	}
	st, b := p.do(http.MethodPost, fhir.Type(res), body, nil)
	if st != http.StatusCreated {
		p.t.Fatalf("create %s: %d %.300s", fhir.Type(res), st, b)
	}
	var h resourceHead
	json.Unmarshal(b, &h)
	return h.ID
}

// edit changes a stored resource as the practice's other software would:
// read, change with fn, PUT with If-Match.
func (p *practice) edit(typ, id string, fn func(map[string]any)) string {
	p.t.Helper()
	st, b := p.get(typ + "/" + id)
	if st != http.StatusOK {
		p.t.Fatalf("read %s: %d", typ, st)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		p.t.Fatal(err)
	}
	vid := m["meta"].(map[string]any)["versionId"].(string)
	fn(m)
	body, _ := json.Marshal(m)
	st, b = p.do(http.MethodPut, typ+"/"+id, body, map[string]string{"If-Match": `W/"` + vid + `"`})
	if st != http.StatusOK {
		p.t.Fatalf("update %s: %d %.300s", typ, st, b)
	}
	var h resourceHead
	json.Unmarshal(b, &h)
	return h.Meta.VersionID
}

// record reads a server resource as the lane record it maps to, with
// references turned into the lane's local ids.
func (p *practice) record(l *laneRig, body []byte) (any, error) {
	res, err := fhir.Decode(body)
	if err != nil {
		return nil, err
	}
	rec, err := fhir.Mapper{}.FromFHIR(res)
	if err != nil {
		return nil, err
	}
	return fhir.MapRefs(rec, func(entity, sid string) (string, error) {
		id, err := l.db.LocalID(bg, entity, sid)
		if errors.Is(err, lane.ErrNotFound) {
			return sid, nil
		}
		return id, err
	})
}

// measurement is a synthetic autorefraction reading for a patient's
// encounter; n makes it distinct.
func measurement(pid lane.PatientID, enc lane.EncounterID, at time.Time, n int) lane.Measurement {
	return lane.Measurement{
		PatientID: pid, EncounterID: enc, Kind: lane.KindRefraction, Eye: lane.Eye(1 + n%2),
		Source: lane.SourceAutorefraction, ReceivedAt: at, Representative: n%3 == 0,
		Refraction: &lane.Refraction{Sphere: lane.Diopters(-25 * (n % 400)), Cylinder: -250, Axis: lane.Axis(1 + n%180)},
		Note:       "reading " + strconv.Itoa(n),
	}
}

// must fails the test on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
