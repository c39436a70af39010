package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/examlane/examlane/cmd/internal/logging"
	"github.com/examlane/examlane/cmd/practiced/server"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/auth"
	"github.com/examlane/examlane/syncclient"
)

// phiNeedle is one value that must never appear in a log: a synthetic
// patient's field.
type phiNeedle struct {
	field, value string
}

// phiHit is a needle found in a log line.
type phiHit struct {
	file  string
	line  int
	field string
	value string
}

func (h phiHit) String() string {
	return fmt.Sprintf("%s:%d: %s %q", h.file, h.line, h.field, h.value)
}

// needlesOf lists what identifies a patient, in every form the app
// writes: names, the birth date in each date format, identifiers, phone
// (as written and as digits), e-mail and address lines.
func needlesOf(p phiPatient) []phiNeedle {
	var out []phiNeedle
	add := func(field, v string) {
		if v = strings.TrimSpace(v); len(v) >= 2 {
			out = append(out, phiNeedle{field, v})
		}
	}
	add("family name", p.family)
	for _, g := range p.given {
		add("given name", g)
	}
	if len(p.given) > 0 {
		add("full name", p.given[0]+" "+p.family)
		add("DICOM name", strings.ToUpper(p.family)+"^"+strings.ToUpper(p.given[0]))
	}
	if d, err := time.Parse("2006-01-02", p.birth); err == nil {
		for _, layout := range []string{"2006-01-02", "02/01/2006", "01/02/2006", "2.1.2006", "02.01.2006", "20060102",
			"Jan 2 2006", "Jan 2, 2006", "2 Jan 2006", "January 2, 2006", "2 January 2006", "02-Jan-2006"} {
			add("birth date", d.Format(layout))
		}
	}
	for _, id := range p.ids {
		add("identifier", id)
	}
	for _, ph := range p.phones {
		add("phone", ph)
		digits := strings.Map(func(r rune) rune {
			if unicode.IsDigit(r) {
				return r
			}
			return -1
		}, ph)
		if len(digits) >= 7 {
			add("phone digits", digits)
		}
	}
	for _, e := range p.emails {
		add("email", e)
	}
	for _, l := range p.address {
		add("address line", l)
	}
	return out
}

// phiPatient is the identifying part of a FHIR Patient.
type phiPatient struct {
	family  string
	given   []string
	birth   string
	ids     []string
	phones  []string
	emails  []string
	address []string
}

// parseFHIRPatient reads the fields needlesOf uses from a Patient
// resource.
func parseFHIRPatient(raw json.RawMessage) (phiPatient, error) {
	var r struct {
		Name []struct {
			Family string   `json:"family"`
			Given  []string `json:"given"`
		} `json:"name"`
		BirthDate  string `json:"birthDate"`
		Identifier []struct {
			Value string `json:"value"`
		} `json:"identifier"`
		Telecom []struct {
			System, Value string
		} `json:"telecom"`
		Address []struct {
			Line []string `json:"line"`
		} `json:"address"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return phiPatient{}, err
	}
	var p phiPatient
	for _, n := range r.Name {
		p.family = n.Family
		p.given = append(p.given, n.Given...)
	}
	p.birth = r.BirthDate
	for _, id := range r.Identifier {
		p.ids = append(p.ids, id.Value)
	}
	for _, t := range r.Telecom {
		switch t.System {
		case "phone":
			p.phones = append(p.phones, t.Value)
		case "email":
			p.emails = append(p.emails, t.Value)
		}
	}
	for _, a := range r.Address {
		p.address = append(p.address, a.Line...)
	}
	return p, nil
}

// fromLane converts a lane patient (as the lane's store holds it).
func fromLane(lp lane.Patient) phiPatient {
	p := phiPatient{family: lp.Name.Family, given: lp.Name.Given, ids: []string{lp.MRN}, address: lp.Address.Lines}
	if !lp.BirthDate.IsZero() {
		p.birth = fmt.Sprintf("%04d-%02d-%02d", lp.BirthDate.Year, lp.BirthDate.Month, lp.BirthDate.Day)
	}
	if lp.Phone != "" {
		p.phones = []string{lp.Phone}
	}
	if lp.Email != "" {
		p.emails = []string{lp.Email}
	}
	return p
}

// containsWord reports whether v occurs in s not glued to a letter or
// digit on either side (so "Li" does not match "client" and a phone's
// digits do not match inside a longer number).
func containsWord(s, v string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], v)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(v)
		before, after := rune(0), rune(0)
		if start > 0 {
			before = rune(s[start-1])
		}
		if end < len(s) {
			after = rune(s[end])
		}
		if !isAlnum(before) && !isAlnum(after) {
			return true
		}
		i = start + 1
	}
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// scanLogs reads every file under dir and returns each line that carries
// a needle. Log lines are JSON: the scan also decodes each one and looks
// at the unescaped text, so a value hidden behind a JSON escape is found.
func scanLogs(t *testing.T, dir string, needles []phiNeedle) (hits []phiHit, lines int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for n := 1; sc.Scan(); n++ {
			lines++
			text := sc.Text()
			var rec map[string]any
			if json.Unmarshal([]byte(text), &rec) == nil {
				text += "\n" + flatten(rec)
			}
			for _, nd := range needles {
				if containsWord(text, nd.value) {
					hits = append(hits, phiHit{file: filepath.Base(path), line: n, field: nd.field, value: nd.value})
				}
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits, lines
}

// flatten returns the string values of a decoded JSON record, unescaped.
func flatten(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			b.WriteString(x)
			b.WriteByte('\n')
		case map[string]any:
			for k, e := range x {
				b.WriteString(k + "\n")
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return b.String()
}

// TestNoPatientDataInLogs runs a demo day through the real app wiring
// (embedded practice server, enrolled lane, simulated instruments, sign
// in, readings, sync pushes) with the log at debug level, then searches
// every log line (lane and practice server) for every synthetic
// patient's name, birth date, identifiers, phone, e-mail and address.
func TestNoPatientDataInLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a demo day: server, store, simulators")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	b, err := startDemo(ctx, demoOptions{Dir: dir, Seed: server.SeedOptions{Patients: 16, Appointments: 8, ImagePatients: 1},
		SyncInterval: time.Hour, LogLevel: slog.LevelDebug})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- b.lane.Run(runCtx) }()
	stopped := false
	shutdown := func() {
		if stopped {
			return
		}
		stopped = true
		stop()
		if err := <-done; err != nil {
			t.Errorf("lane run: %v", err)
		}
		if err := b.close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	defer shutdown()

	if err := b.sync.SyncNow(ctx); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	var tech demoAccount
	for _, a := range b.accounts.Accounts {
		if len(a.Roles) == 1 && a.Roles[0] == lane.RoleTechnician {
			tech = a
		}
	}
	// A failed sign-in is logged too.
	if _, err := b.auth.SignIn(ctx, tech.Login, "wrong password", "000000"); err == nil {
		t.Fatal("wrong password accepted")
	}
	secret, err := auth.DecodeSecret(tech.TOTPSecret)
	if err != nil {
		t.Fatal(err)
	}
	var sess lane.Session
	for deadline := time.Now().Add(15 * time.Second); ; {
		code, _ := auth.DefaultTOTP().Code(secret, time.Now())
		sess, err = b.auth.SignIn(ctx, tech.Login, tech.Password, code)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if err := b.svc.Begin(ctx, sess); err != nil {
		t.Fatal(err)
	}
	wl, err := b.svc.Worklist(ctx)
	if err != nil || len(wl) == 0 {
		t.Fatalf("worklist: %d %v", len(wl), err)
	}
	demoWait(t, 15*time.Second, "autorefractor connected", func() bool {
		for _, in := range b.ins.List() {
			if in.Profile == "nidek-ark1" && in.State == "connected" {
				return true
			}
		}
		return false
	})
	// Several patients through the lane: open the chart, measure, close.
	events := b.svc.Subscribe(256)
	defer events.Close()
	seen := 0
	for _, appt := range wl[:min(3, len(wl))] {
		if _, err := b.svc.OpenChart(ctx, appt.PatientID); err != nil {
			t.Fatalf("open chart: %v", err)
		}
		if err := b.ins.Measure(ctx, "nidek-ark1"); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(20 * time.Second)
	wait:
		for {
			select {
			case e := <-events.C:
				if c, ok := e.(lane.CaptureArrived); ok && c.Capture.Instrument.Profile == "nidek-ark1" {
					seen++
					break wait
				}
			case <-deadline:
				t.Fatal("no capture from the simulated autorefractor")
			}
		}
		b.svc.CloseChart()
	}
	if err := b.sync.SyncNow(ctx); err != nil {
		t.Logf("sync after the readings: %v", err)
	}
	if err := b.svc.Lock(ctx, "idle"); err != nil {
		t.Logf("lock: %v", err)
	}

	// Every synthetic patient of the practice, from the server, plus what
	// the lane holds.
	patients := demoPatients(t, ctx, b, tech.UserID)
	lanePatients, err := b.db.FindPatients(ctx, lane.PatientQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range lanePatients {
		patients = append(patients, fromLane(p))
	}
	if len(patients) < 16 {
		t.Fatalf("%d patients found, want the 16 seeded at least", len(patients))
	}
	shutdown()

	var needles []phiNeedle
	for _, p := range patients {
		needles = append(needles, needlesOf(p)...)
	}
	logDir := filepath.Join(dir, "logs")
	hits, lines := scanLogs(t, logDir, needles)
	if lines < 50 {
		t.Fatalf("only %d log lines after a demo day at debug level: the test is not seeing the logs", lines)
	}
	for _, h := range hits {
		t.Errorf("patient data in a log: %s", h)
	}
	t.Logf("%d log lines scanned for %d values of %d patients (%d captures)", lines, len(needles), len(patients), seen)

	// The scanner must catch a leak: write one patient's name and birth
	// date through the app's logger into the same directory.
	t.Run("scanner catches a leak", func(t *testing.T) {
		l, err := logging.New(logging.Options{Dir: logDir, Level: slog.LevelDebug, Allow: []string{"leak"}})
		if err != nil {
			t.Fatal(err)
		}
		p := patients[0]
		l.Info("leak test", "leak", p.family+" "+p.birth)
		l.Close()
		hits, _ := scanLogs(t, logDir, needlesOf(p))
		var fields []string
		for _, h := range hits {
			fields = append(fields, h.field)
		}
		if !strings.Contains(strings.Join(fields, ","), "family name") || !strings.Contains(strings.Join(fields, ","), "birth date") {
			t.Fatalf("planted leak not found: hits %v", hits)
		}
	})
}

// demoPatients reads every Patient of the demo practice from its server
// over the lane's mutual TLS.
func demoPatients(t *testing.T, ctx context.Context, b *demoBackend, user string) []phiPatient {
	t.Helper()
	tc, err := syncclient.TLSConfig(b.enrolled)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.url+"/fhir/R4/Patient?_count=1000", nil)
	req.Header.Set("X-Examlane-User", user)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("patients from the server: %d %s", resp.StatusCode, body)
	}
	var bundle struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &bundle); err != nil {
		t.Fatal(err)
	}
	var out []phiPatient
	for _, e := range bundle.Entry {
		p, err := parseFHIRPatient(e.Resource)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		t.Fatal(errors.New("the server listed no patients"))
	}
	return out
}

func TestContainsWord(t *testing.T) {
	for _, tt := range []struct {
		s, v string
		want bool
	}{
		{"patient Li arrived", "Li", true},
		{"client connected", "Li", false},
		{`"msg":"Smith"`, "Smith", true},
		{"id 55501234", "5550123", false},
		{"phone 5550123.", "5550123", true},
	} {
		if got := containsWord(tt.s, tt.v); got != tt.want {
			t.Errorf("containsWord(%q, %q) = %v", tt.s, tt.v, got)
		}
	}
}
