package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/examlane/examlane/cmd/examlane/internal/wire"
	"github.com/examlane/examlane/cmd/internal/laneconfig"
	"github.com/examlane/examlane/cmd/internal/logging"
	"github.com/examlane/examlane/cmd/internal/update"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient"
)

// buildDate is when the binary was built (RFC 3339), stamped at link time
// with -X main.buildDate=...; when empty the running version's age comes
// from the VCS commit time Go records in the binary, else from the
// executable file's modification time.
var buildDate = ""

func init() {
	register(&command{
		Path:    "update check",
		Summary: "ask the practice server for a newer signed release",
		Help: `Fetches the signed release manifest the practice server offers this lane,
verifies its signature with the release keys in lane.toml ([updates]
release_keys) and says whether it is newer than the running version. A
release that is unsigned, signed by another key or not newer (a downgrade)
is refused. Exit status 1 when the check fails.`,
		Run: runUpdateCheck,
	})
	register(&command{
		Path:    "update download",
		Summary: "download and verify the offered release into a folder",
		Usage:   "DIR",
		Help: `Checks like 'update check', then downloads this system's release file into
DIR through a temporary file in DIR/.staging, and keeps it only when its size
and SHA-256 equal the signed manifest's. Nothing is run: install the verified
file with the operating system's installer.`,
		Run: runUpdateDownload,
	})
}

// runningRelease returns the running version and when it was built, with
// the source of that time.
func runningRelease() (update.Version, time.Time, string) {
	v, err := update.ParseVersion(versionString())
	if err != nil {
		v = update.Version{Dev: true}
	}
	if t, err := time.Parse(time.RFC3339, buildDate); err == nil {
		return v, t, "build date"
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					return v, t, "commit date"
				}
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		if fi, err := os.Stat(exe); err == nil {
			return v, fi.ModTime(), "executable file date"
		}
	}
	return v, time.Time{}, ""
}

// newUpdateChecker builds the update checker of an enrolled lane: the
// lane's mutual-TLS client pinned to the practice CA, and the release
// keys of the configuration.
func newUpdateChecker(en syncclient.Enrollment, u laneconfig.Updates, clock lane.Clock, logf func(string, ...any)) (*update.Checker, error) {
	keys, err := update.ParsePublicKeys(u.ReleaseKeys)
	if err != nil {
		return nil, err
	}
	tc, err := syncclient.TLSConfig(en)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: 10 * time.Minute, Transport: &http.Transport{TLSClientConfig: tc, ResponseHeaderTimeout: 30 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	v, built, from := runningRelease()
	return &update.Checker{Client: &update.Client{Server: en.ServerURL, HTTP: hc, Keys: keys}, Running: v, Built: built, BuiltFrom: from,
		Clock: clock, Every: u.CheckEvery.Std(), Logf: logf}, nil
}

// updateCheckerFor loads the configuration and the enrolment of e.
func updateCheckerFor(e *env) (*update.Checker, error) {
	res, err := laneconfig.Load(laneconfig.Options{File: e.Config, DataDir: e.DataDir, NoSave: true})
	if err != nil {
		return nil, err
	}
	en, err := loadEnrollment(res.Config.Data.Dir)
	if errors.Is(err, errNotEnrolled) {
		return nil, fmt.Errorf("this lane is not enrolled: updates come from the practice server (run 'examlane enroll')")
	}
	if err != nil {
		return nil, err
	}
	return newUpdateChecker(en, res.Config.Updates, lane.SystemClock{}, nil)
}

// printUpdateStatus writes the status for an administrator.
func printUpdateStatus(w io.Writer, s update.Status, now time.Time) {
	fmt.Fprintf(w, "running:   %s", s.Running)
	if !s.RunningBuilt.IsZero() {
		fmt.Fprintf(w, " (built %s by its %s, %d days ago)", s.RunningBuilt.UTC().Format("2006-01-02"), s.BuiltFrom, int(s.RunningAge(now).Hours()/24))
	}
	fmt.Fprintln(w)
	switch {
	case s.LastError != "":
		fmt.Fprintf(w, "check:     FAILED: %s\n", s.LastError)
	case s.Available != "":
		fmt.Fprintf(w, "available: %s (published %s)\n", s.Available, s.Published.UTC().Format("2006-01-02"))
		if s.Notes != "" {
			fmt.Fprintf(w, "notes:     %s\n", s.Notes)
		}
	default:
		fmt.Fprintln(w, "available: none (up to date)")
	}
}

func runUpdateCheck(ctx context.Context, e *env, _ *flag.FlagSet, args []string) error {
	if len(args) != 0 {
		return usagef("takes no arguments")
	}
	c, err := updateCheckerFor(e)
	if err != nil {
		return err
	}
	s, err := c.Check(ctx)
	printUpdateStatus(e.Stdout, s, time.Now())
	return err
}

func runUpdateDownload(ctx context.Context, e *env, _ *flag.FlagSet, args []string) error {
	if len(args) != 1 {
		return usagef("want one DIR")
	}
	dir, err := filepath.Abs(args[0])
	if err != nil {
		return err
	}
	c, err := updateCheckerFor(e)
	if err != nil {
		return err
	}
	m, ok, err := c.Client.Latest(ctx)
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintln(e.Stdout, "no release published for this lane")
		return nil
	}
	if err := update.Decide(m, c.Running); err != nil {
		return err
	}
	f, err := m.ForSystem(runtime.GOOS, runtime.GOARCH)
	if err != nil {
		return err
	}
	path, err := c.Client.Download(ctx, f, dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "verified %s %s: %s (%d bytes, sha256 %s)\n", update.Product, m.Release(), path, f.Size, f.SHA256)
	fmt.Fprintln(e.Stdout, "install it with the operating system's installer; Examlane does not run it")
	return nil
}

// startUpdateChecker adds the update checker of an enrolled lane to its
// components when [updates] enables it; a configuration without release
// keys logs that updates cannot be verified and checks nothing.
func startUpdateChecker(wl *wire.Lane, en syncclient.Enrollment, u laneconfig.Updates, log *slog.Logger) *update.Checker {
	if !u.Enabled {
		return nil
	}
	if len(u.ReleaseKeyList()) == 0 {
		log.Warn("update checks off: no release keys configured", "component", "update")
		return nil
	}
	c, err := newUpdateChecker(en, u, lane.SystemClock{}, logging.Logf(log, "update"))
	if err != nil {
		log.Warn("update checker not started", logging.Err(err))
		return nil
	}
	wl.Extra = append(wl.Extra, c.Run)
	return c
}

// updateNotice returns the line the settings screen shows administrators
// about c's status at now(): the running version and its age, a newer
// release offered and how to get it, or the last check's failure.
func updateNotice(c *update.Checker, now func() time.Time) func() string {
	return func() string { return noticeOf(c.Status(), now()) }
}

// noticeOf words an update status for an administrator.
func noticeOf(st update.Status, now time.Time) string {
	running := "Examlane " + st.Running
	if age := st.RunningAge(now); age > 0 {
		running += fmt.Sprintf(", built %s ago (%s)", ageText(age), st.BuiltFrom)
	}
	switch {
	case st.Available != "":
		return fmt.Sprintf("%s. Version %s is available (published %s): download and verify it with 'examlane update download DIR', then install it.",
			running, st.Available, st.Published.Format("2006-01-02"))
	case st.LastError != "":
		return fmt.Sprintf("%s. The last check for updates failed: %s", running, st.LastError)
	case st.LastCheck.IsZero():
		return running + ". Not yet checked for updates."
	}
	return fmt.Sprintf("%s. Up to date (checked %s).", running, st.LastCheck.Local().Format("2006-01-02 15:04"))
}

// ageText words a duration in days (hours under two days).
func ageText(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
