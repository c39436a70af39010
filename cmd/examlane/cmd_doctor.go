package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/examlane/examlane/cmd/internal/laneconfig"
	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/syncclient"
)

func init() {
	register(&command{
		Path:    "doctor",
		Summary: "check this lane's set-up and print a report",
		Help: `Checks the configuration, keychain access, the database (integrity, foreign
keys, audit chain, a sample of sealed values), free disk space, the practice
server (reachable, TLS pinned to the practice CA, lane certificate accepted
and not expiring, clock skew), each configured instrument's port or folder
with its last traffic, and the watched camera folders. Prints one line per
check; exit status 1 when any check failed. Run it while the app is closed
or open: it only reads.`,
		Run: runDoctor,
	})
}

// checkStatus is a check's outcome.
type checkStatus int

const (
	checkOK checkStatus = iota
	checkWarn
	checkFail
	checkSkip
)

func (s checkStatus) String() string {
	return [...]string{"ok", "WARN", "FAIL", "skip"}[s]
}

// checkResult is one line of the report.
type checkResult struct {
	Name   string
	Status checkStatus
	Detail string
}

// Limits the doctor applies.
const (
	doctorMinFree  = 500 << 20 // below: FAIL (backups and images stop fitting)
	doctorWarnFree = 2 << 30   // below: WARN
	doctorMaxSkew  = 60 * time.Second
	doctorWarnSkew = 10 * time.Second
	// doctorCertWarn is how long before the lane certificate runs out the
	// doctor warns.
	doctorCertWarn = 30 * 24 * time.Hour
)

// doctor runs the checks. Its seams let tests inject faults the way they
// happen on a lane (a clock that is off, a disk that is full).
type doctor struct {
	env   *env
	clock lane.Clock
	// diskFree returns the free and total bytes of the file system
	// holding path.
	diskFree func(path string) (free, total uint64, err error)
	timeout  time.Duration
}

// doctorHook, when set (tests), adjusts every new doctor.
var doctorHook func(*doctor)

func newDoctor(e *env) *doctor {
	d := &doctor{env: e, clock: lane.SystemClock{}, diskFree: diskFree, timeout: 10 * time.Second}
	if doctorHook != nil {
		doctorHook(d)
	}
	return d
}

func runDoctor(ctx context.Context, e *env, _ *flag.FlagSet, args []string) error {
	if len(args) != 0 {
		return usagef("takes no arguments")
	}
	results := newDoctor(e).run(ctx)
	return printDoctorReport(e.Stdout, results)
}

// printDoctorReport writes the report and returns an error when a check
// failed.
func printDoctorReport(w io.Writer, results []checkResult) error {
	var failed, warned int
	for _, r := range results {
		fmt.Fprintf(w, "%-4s  %-28s %s\n", r.Status, r.Name, r.Detail)
		switch r.Status {
		case checkFail:
			failed++
		case checkWarn:
			warned++
		}
	}
	fmt.Fprintf(w, "\n%d checks: %d failed, %d warnings\n", len(results), failed, warned)
	if failed > 0 {
		return fmt.Errorf("%d check(s) failed (see the FAIL lines)", failed)
	}
	return nil
}

// run runs every check in order.
func (d *doctor) run(ctx context.Context) []checkResult {
	var out []checkResult
	add := func(name string, st checkStatus, format string, args ...any) {
		out = append(out, checkResult{Name: name, Status: st, Detail: fmt.Sprintf(format, args...)})
	}
	res, err := laneconfig.Load(laneconfig.Options{File: d.env.Config, DataDir: d.env.DataDir, NoSave: true})
	if err != nil {
		add("configuration", checkFail, "%v", err)
		return out
	}
	cfg := res.Config
	if len(res.Warnings) > 0 {
		add("configuration", checkWarn, "%s", strings.Join(res.Warnings, "; "))
	} else {
		add("configuration", checkOK, "%d instrument(s), %d camera folder(s)", len(cfg.Instruments), len(cfg.Cameras))
	}

	out = append(out, d.checkKeychain(cfg))
	db, dbResults := d.checkDatabase(ctx, cfg)
	out = append(out, dbResults...)
	if db != nil {
		defer db.Close()
	}
	out = append(out, d.checkDisk(cfg.Data.Dir))
	out = append(out, d.checkServer(ctx, cfg)...)
	out = append(out, d.checkInstruments(ctx, res, db)...)
	for _, c := range cfg.Cameras {
		st, detail := checkFolder(c.Folder)
		add("camera folder "+c.Name, st, "%s", detail)
	}
	return out
}

// checkKeychain reads a name that is never stored: a reachable keychain
// answers "not found".
func (d *doctor) checkKeychain(cfg *laneconfig.Config) checkResult {
	r := checkResult{Name: "keychain"}
	_, err := dbKeychain().Get("examlane-doctor-probe")
	switch {
	case err == nil || errors.Is(err, lane.ErrNotFound):
		r.Status, r.Detail = checkOK, "the OS keychain answers"
	case cfg.Data.KeyMode == laneconfig.KeyModePassphraseFallback:
		r.Status, r.Detail = checkWarn, fmt.Sprintf("the OS keychain does not answer (%v); the practice passphrase opens the database instead", err)
	default:
		r.Status, r.Detail = checkFail, fmt.Sprintf("the OS keychain does not answer (%v): patient data cannot be opened", err)
	}
	return r
}

// checkDatabase opens the database as 'examlane db check' does and runs
// the same checks on a sample of sealed values.
func (d *doctor) checkDatabase(ctx context.Context, cfg *laneconfig.Config) (*localdb.DB, []checkResult) {
	e := *d.env
	e.DataDir = cfg.Data.Dir
	db, err := dbOpen(ctx, &e)
	if err != nil {
		return nil, []checkResult{{Name: "database", Status: checkFail, Detail: "cannot open: " + err.Error()}}
	}
	rep, err := db.Check(ctx, 50)
	if err != nil {
		return db, []checkResult{{Name: "database", Status: checkFail, Detail: "check failed to run: " + err.Error()}}
	}
	var problems []string
	if rep.Integrity != "ok" {
		problems = append(problems, "integrity_check: "+rep.Integrity)
	}
	if len(rep.ForeignKeys) > 0 {
		problems = append(problems, fmt.Sprintf("%d foreign key violation(s)", len(rep.ForeignKeys)))
	}
	if !rep.Audit.OK() {
		problems = append(problems, fmt.Sprintf("audit chain broken at event %d: %s", rep.Audit.BrokenAt, rep.Audit.Problem))
	}
	if len(rep.SealedFailed) > 0 {
		problems = append(problems, fmt.Sprintf("%d sealed value(s) do not authenticate", len(rep.SealedFailed)))
	}
	if len(problems) > 0 {
		return db, []checkResult{{Name: "database", Status: checkFail,
			Detail: strings.Join(problems, "; ") + " (restore the latest good backup with 'examlane db restore')"}}
	}
	return db, []checkResult{{Name: "database", Status: checkOK,
		Detail: fmt.Sprintf("integrity ok, audit chain ok (%d events), %d sealed values open", rep.Audit.Events, rep.SealedChecked)}}
}

func (d *doctor) checkDisk(dir string) checkResult {
	r := checkResult{Name: "disk space"}
	free, total, err := d.diskFree(dir)
	switch {
	case err != nil:
		r.Status, r.Detail = checkWarn, "cannot measure: "+err.Error()
	case free < doctorMinFree:
		r.Status, r.Detail = checkFail, fmt.Sprintf("%s free of %s in the data folder's disk: below %s, backups and images stop fitting", bytesText(free), bytesText(total), bytesText(doctorMinFree))
	case free < doctorWarnFree:
		r.Status, r.Detail = checkWarn, fmt.Sprintf("%s free of %s: running low", bytesText(free), bytesText(total))
	default:
		r.Status, r.Detail = checkOK, fmt.Sprintf("%s free of %s", bytesText(free), bytesText(total))
	}
	return r
}

func bytesText(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// checkServer checks reachability, the TLS pin, the lane certificate and
// the clock against the server's Date header.
func (d *doctor) checkServer(ctx context.Context, cfg *laneconfig.Config) []checkResult {
	en, err := loadEnrollment(cfg.Data.Dir)
	if errors.Is(err, errNotEnrolled) {
		st := checkSkip
		if cfg.Server.URL != "" {
			st = checkWarn
		}
		return []checkResult{{Name: "practice server", Status: st, Detail: "this lane is not enrolled (run 'examlane enroll'): server checks skipped"}}
	}
	if err != nil {
		return []checkResult{{Name: "practice server", Status: checkFail, Detail: "enrolment unreadable: " + err.Error()}}
	}
	var out []checkResult
	now := d.clock.Now()
	switch left := en.CertExpires.Sub(now); {
	case left <= 0:
		out = append(out, checkResult{"lane certificate", checkFail, "expired on " + en.CertExpires.UTC().Format("2006-01-02") + ": enrol the lane again"})
	case left < doctorCertWarn:
		out = append(out, checkResult{"lane certificate", checkWarn, fmt.Sprintf("runs out on %s (%d days)", en.CertExpires.UTC().Format("2006-01-02"), int(left.Hours()/24))})
	default:
		out = append(out, checkResult{"lane certificate", checkOK, "valid until " + en.CertExpires.UTC().Format("2006-01-02")})
	}
	tc, err := syncclient.TLSConfig(en)
	if err != nil {
		return append(out, checkResult{"TLS pin", checkFail, err.Error()})
	}
	hc := &http.Client{Timeout: d.timeout, Transport: &http.Transport{TLSClientConfig: tc},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer hc.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(en.ServerURL, "/")+"/healthz", nil)
	sent := d.clock.Now()
	resp, err := hc.Do(req)
	if err != nil {
		if isTLSTrustError(err) {
			out = append(out, checkResult{"practice server", checkOK, "answers at " + en.ServerURL},
				checkResult{"TLS pin", checkFail, "the server's certificate is not from the practice CA pinned at enrolment: a different server answers at " + en.ServerURL})
		} else {
			out = append(out, checkResult{"practice server", checkFail, "unreachable at " + en.ServerURL + ": " + syncclient.Describe(fmt.Errorf("%w: %w", err, lane.ErrUnavailable))})
		}
		return out
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	out = append(out, checkResult{"practice server", checkOK, "answers at " + en.ServerURL})
	out = append(out, checkResult{"TLS pin", checkOK, "server certificate issued by the pinned practice CA (sha256 " + shortPin(en.CAPin) + ")"})

	// The lane certificate must be accepted on an authenticated endpoint.
	fhir := "/" + strings.Trim(en.FHIRBase, "/")
	if fhir == "/" {
		fhir = "/fhir/R4"
	}
	areq, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(en.ServerURL, "/")+fhir+"/Location?_count=0", nil)
	if err != nil {
		return append(out, checkResult{"lane certificate", checkFail, "bad FHIR base in the enrolment: " + err.Error()})
	}
	if aresp, err := hc.Do(areq); err != nil {
		out[0] = checkResult{"lane certificate", checkWarn, "not checked with the server: " + syncclient.Describe(fmt.Errorf("%w: %w", err, lane.ErrUnavailable))}
	} else {
		io.Copy(io.Discard, io.LimitReader(aresp.Body, 1<<16))
		aresp.Body.Close()
		if aresp.StatusCode == http.StatusUnauthorized || aresp.StatusCode == http.StatusForbidden {
			out[0] = checkResult{"lane certificate", checkFail, fmt.Sprintf("refused by the server (%d): the lane may be revoked; enrol it again", aresp.StatusCode)}
		}
	}

	if date, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		mid := sent.Add(d.clock.Now().Sub(sent) / 2)
		skew := mid.Sub(date)
		abs := skew
		if abs < 0 {
			abs = -abs
		}
		// The Date header has one-second resolution.
		abs -= time.Second
		dir := "ahead of"
		if skew < 0 {
			dir = "behind"
		}
		switch {
		case abs > doctorMaxSkew:
			out = append(out, checkResult{"clock skew", checkFail, fmt.Sprintf("this computer's clock is %s %s the server's: sign-in codes and certificates fail; fix the time", skew.Abs().Round(time.Second), dir)})
		case abs > doctorWarnSkew:
			out = append(out, checkResult{"clock skew", checkWarn, fmt.Sprintf("%s %s the server", skew.Abs().Round(time.Second), dir)})
		default:
			out = append(out, checkResult{"clock skew", checkOK, "within a few seconds of the server"})
		}
	} else {
		out = append(out, checkResult{"clock skew", checkWarn, "the server sent no Date header"})
	}
	return out
}

func shortPin(p string) string {
	if len(p) > 16 {
		return p[:16] + "…"
	}
	return p
}

// isTLSTrustError reports whether err is a failed server verification
// (another CA, or the pin check).
func isTLSTrustError(err error) bool {
	var ua x509.UnknownAuthorityError
	var cv *tls.CertificateVerificationError
	var he x509.HostnameError
	return errors.As(err, &ua) || errors.As(err, &cv) || errors.As(err, &he) ||
		strings.Contains(err.Error(), "pinned practice CA")
}

// checkInstruments checks each configured instrument's port or folder,
// and reports its last traffic from the raw captures the store keeps.
func (d *doctor) checkInstruments(ctx context.Context, res *laneconfig.Result, db *localdb.DB) []checkResult {
	last := map[string]time.Time{}
	if db != nil && len(res.Config.Instruments) > 0 {
		if cs, err := db.ListCaptures(ctx, lane.CaptureFilter{Limit: 1000}); err == nil {
			for _, c := range cs {
				if t, ok := last[c.Instrument.Profile]; !ok || c.ReceivedAt.After(t) {
					last[c.Instrument.Profile] = c.ReceivedAt
				}
			}
		}
	}
	var out []checkResult
	for _, in := range res.Config.Instruments {
		name := "instrument " + in.Name
		p, err := res.Profiles.Lookup(in.Profile)
		if err != nil {
			out = append(out, checkResult{name, checkFail, "profile: " + err.Error()})
			continue
		}
		p = in.Apply(p)
		traffic := "no traffic recorded"
		if t, ok := last[p.Name]; ok {
			traffic = "last traffic " + agoText(d.clock.Now().Sub(t)) + " ago"
		}
		var st checkStatus
		var detail string
		switch {
		case p.Transport == profile.TransportFile:
			st, detail = checkFolder(p.Folder)
		case p.Port == "":
			st, detail = checkOK, "found by its USB id when the app starts (not checked here)"
		default:
			st, detail = checkPort(p.Port)
		}
		out = append(out, checkResult{name, st, detail + "; " + traffic})
	}
	return out
}

// checkPort checks that a serial port exists and is a device. The doctor
// does not open it: the running app may hold it.
func checkPort(port string) (checkStatus, string) {
	fi, err := os.Stat(port)
	switch {
	case err != nil:
		return checkFail, fmt.Sprintf("port %s missing: is the cable or USB adapter plugged in?", port)
	case fi.Mode()&os.ModeDevice == 0:
		return checkFail, fmt.Sprintf("%s is not a serial device", port)
	}
	return checkOK, "port " + port + " present"
}

// checkFolder checks that a watched folder exists and can be listed.
func checkFolder(dir string) (checkStatus, string) {
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return checkFail, fmt.Sprintf("folder %s missing (is the share mounted?)", dir)
	case !fi.IsDir():
		return checkFail, fmt.Sprintf("%s is not a folder", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return checkFail, fmt.Sprintf("folder %s cannot be read: %v", dir, errors.Unwrap(err))
	}
	return checkOK, fmt.Sprintf("folder %s readable (%d entries)", dir, len(ents))
}

func agoText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
