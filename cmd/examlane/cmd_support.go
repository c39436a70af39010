package main

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/examlane/examlane/cmd/internal/laneconfig"
	"github.com/examlane/examlane/cmd/internal/logging"
	"github.com/examlane/examlane/lane"
)

// supportLogBudget bounds the log bytes a bundle carries (the newest
// files first).
const supportLogBudget = 32 << 20

func init() {
	register(&command{
		Path:    "support-bundle",
		Summary: "write a zip for the practice's IT support: configuration, logs, doctor report",
		Usage:   "FILE",
		Help: `Writes FILE (a new zip) with what IT support needs to diagnose the lane and
no patient data:

  versions.txt      the app's version, Go and module versions, the system
  config.toml       the effective configuration, secrets redacted
  doctor.txt        the 'examlane doctor' report
  instruments.txt   per instrument: how many raw captures, formats, when the
                    first and last arrived, warnings; never their bytes or
                    the patients they belong to
  enrolment.txt     the lane's identity with the server (no key)
  logs/             the newest diagnostic logs (already free of patient data)`,
		Run: runSupportBundle,
	})
}

func runSupportBundle(ctx context.Context, e *env, _ *flag.FlagSet, args []string) (err error) {
	if len(args) != 1 {
		return usagef("want one FILE")
	}
	out, err := os.OpenFile(args[0], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("support bundle: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(args[0])
		}
	}()
	zw := zip.NewWriter(out)
	add := func(name string, body []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Now()})
		if err != nil {
			return err
		}
		_, err = w.Write(body)
		return err
	}
	files := []string{}
	put := func(name string, body []byte) {
		if err == nil {
			err = add(name, body)
			files = append(files, name)
		}
	}

	put("versions.txt", supportVersions())

	var cfgText, errText bytes.Buffer
	ce := *e
	ce.Stdout, ce.Stderr = &cfgText, &errText
	if cerr := runConfigShow(ctx, &ce, nil, nil); cerr != nil {
		fmt.Fprintf(&cfgText, "# configuration not loaded: %v\n%s", cerr, errText.String())
	}
	put("config.toml", cfgText.Bytes())

	var rep bytes.Buffer
	_ = printDoctorReport(&rep, newDoctor(e).run(ctx))
	put("doctor.txt", rep.Bytes())

	res, lerr := laneconfig.Load(laneconfig.Options{File: e.Config, DataDir: e.DataDir, NoSave: true})
	if lerr == nil {
		put("instruments.txt", supportInstruments(ctx, e, res.Config))
		put("enrolment.txt", supportEnrolment(res.Config.Data.Dir))
		logs, lerr := supportLogs(res.Config.Log.Dir)
		for _, l := range logs {
			put("logs/"+l.name, l.body)
		}
		if lerr != nil {
			put("logs/README.txt", []byte("logs not collected: "+lerr.Error()+"\n"))
		}
	}
	if err != nil {
		return fmt.Errorf("support bundle: %w", err)
	}
	if err = zw.Close(); err != nil {
		return fmt.Errorf("support bundle: %w", err)
	}
	fmt.Fprintf(e.Stdout, "wrote %s: %s\n", args[0], strings.Join(files, ", "))
	return nil
}

// supportVersions describes the build and the system.
func supportVersions() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n", versionLine())
	v, built, from := runningRelease()
	if !built.IsZero() {
		fmt.Fprintf(&b, "version %s built %s (from the %s)\n", v, built.UTC().Format(time.RFC3339), from)
	}
	fmt.Fprintf(&b, "go %s %s/%s, %d CPUs\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if strings.HasPrefix(s.Key, "vcs.") {
				fmt.Fprintf(&b, "%s %s\n", s.Key, s.Value)
			}
		}
		fmt.Fprintln(&b, "\nmodules:")
		for _, d := range bi.Deps {
			fmt.Fprintf(&b, "  %s %s\n", d.Path, d.Version)
		}
	}
	return b.Bytes()
}

// supportInstruments summarises the raw captures by instrument profile,
// from the store's capture list (which carries no raw bytes): counts,
// formats, first and last arrival, warnings. Patient ids, readings and
// raw bytes are left out.
func supportInstruments(ctx context.Context, e *env, cfg *laneconfig.Config) []byte {
	var b bytes.Buffer
	fmt.Fprintln(&b, "configured instruments:")
	for _, in := range cfg.Instruments {
		where := in.Port
		if in.Folder != "" {
			where = in.Folder
		}
		fmt.Fprintf(&b, "  %-20s profile %-16s %s\n", in.Name, in.Profile, orDash(where, "(found by USB id)"))
	}
	ce := *e
	ce.DataDir = cfg.Data.Dir
	db, err := dbOpen(ctx, &ce)
	if err != nil {
		fmt.Fprintf(&b, "\nraw captures: database not opened: %v\n", err)
		return b.Bytes()
	}
	defer db.Close()
	cs, err := db.ListCaptures(ctx, lane.CaptureFilter{Limit: 5000})
	if err != nil {
		fmt.Fprintf(&b, "\nraw captures: %v\n", err)
		return b.Bytes()
	}
	type sum struct {
		n, unassigned, warnings int
		formats                 map[string]int
		first, last             time.Time
		model                   string
	}
	by := map[string]*sum{}
	for _, c := range cs {
		s := by[c.Instrument.Profile]
		if s == nil {
			s = &sum{formats: map[string]int{}, first: c.ReceivedAt, last: c.ReceivedAt}
			by[c.Instrument.Profile] = s
		}
		s.n++
		s.formats[c.Format]++
		s.warnings += len(c.Warnings)
		if c.PatientID == "" {
			s.unassigned++
		}
		if c.ReceivedAt.Before(s.first) {
			s.first = c.ReceivedAt
		}
		if c.ReceivedAt.After(s.last) {
			s.last = c.ReceivedAt
		}
		s.model = strings.TrimSpace(c.Instrument.Vendor + " " + c.Instrument.Model)
	}
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(&b, "\nraw captures (newest %d), by profile:\n", len(cs))
	for _, n := range names {
		s := by[n]
		var fs []string
		for f, k := range s.formats {
			fs = append(fs, fmt.Sprintf("%s×%d", f, k))
		}
		sort.Strings(fs)
		fmt.Fprintf(&b, "  %-16s %-24s %4d captures (%d not yet filed), %d warnings, formats %s, first %s, last %s\n",
			orDash(n, "-"), orDash(s.model, "-"), s.n, s.unassigned, s.warnings, strings.Join(fs, ","),
			s.first.UTC().Format(time.RFC3339), s.last.UTC().Format(time.RFC3339))
	}
	return b.Bytes()
}

// supportEnrolment describes the lane's enrolment without its key.
func supportEnrolment(dataDir string) []byte {
	en, err := loadEnrollment(dataDir)
	if err != nil {
		return []byte(err.Error() + "\n")
	}
	return fmt.Appendf(nil, "server %s\ntenant %s\nlane %s (%s)\nlocation %s\nCA pin sha256 %s\ncertificate expires %s\n",
		en.ServerURL, en.Tenant, en.LaneID, en.LaneName, en.Location, en.CAPin, en.CertExpires.UTC().Format(time.RFC3339))
}

type supportLog struct {
	name string
	body []byte
}

// supportLogs reads the newest log files in dir up to supportLogBudget
// bytes, cutting the oldest one to its newest lines.
func supportLogs(dir string) ([]supportLog, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type lf struct {
		name string
		mod  time.Time
	}
	var files []lf
	for _, de := range ents {
		if !de.Type().IsRegular() || !strings.HasPrefix(de.Name(), strings.TrimSuffix(logging.FileName, ".log")) {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		files = append(files, lf{de.Name(), fi.ModTime()})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod.After(files[j].mod) })
	var out []supportLog
	budget := int64(supportLogBudget)
	for _, f := range files {
		if budget <= 0 {
			break
		}
		b, err := readTail(filepath.Join(dir, f.name), budget)
		if err != nil {
			return out, err
		}
		budget -= int64(len(b))
		out = append(out, supportLog{f.name, b})
	}
	if len(out) == 0 {
		return nil, errors.New("no log files in " + dir)
	}
	return out, nil
}

// readTail returns at most n bytes from the end of a file, starting at a
// line boundary.
func readTail(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(fi.Size()-n, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return nil, err
	}
	if off > 0 {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b, nil
}
