package main

import (
	"context"
	"database/sql"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/cmd/practiced/server"
	"github.com/examlane/examlane/devices/simulator"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/syncclient"
)

// doctorLane is a lane set up as IT would: an enrolled data directory
// with a database, a practice server on 127.0.0.1, a serial instrument
// on a real pty and a camera folder, all named in lane.toml.
type doctorLane struct {
	dataDir, config, camera, port, logDir string
	srv                                   *server.Server
	stop                                  func()
	enrolled                              syncclient.Enrollment
	pty                                   *simulator.PTY
}

// startPractice initialises and serves a practice server on loopback.
func startPractice(t *testing.T) (*server.Server, string, func()) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if err := server.Init(ctx, dir, server.InitOptions{Tenant: "alpha", Name: "Alpha Eye Care", LocationName: "Main"}); err != nil {
		t.Fatal(err)
	}
	srv, err := server.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(sctx, ln) }()
	var stopped bool
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(func() { stop(); srv.Close() })
	return srv, "https://" + ln.Addr().String(), stop
}

func newDoctorLane(t *testing.T) *doctorLane {
	t.Helper()
	dbUseMockKeychain(t)
	l := &doctorLane{dataDir: t.TempDir(), camera: t.TempDir()}
	dbRun(t, 0, "--data-dir", l.dataDir, "db", "init")
	dbAddPatient(t, l.dataDir, "DEMO-DR-1")
	dbAddPatient(t, l.dataDir, "DEMO-DR-2")

	srv, url, stop := startPractice(t)
	l.srv, l.stop = srv, stop
	code, _, err := srv.EnrollCode(context.Background(), "alpha", "Main", "Lane 1")
	if err != nil {
		t.Fatal(err)
	}
	if l.enrolled, err = syncclient.Enroll(context.Background(), url, code, "Lane 1"); err != nil {
		t.Fatal(err)
	}
	if err := saveEnrollment(l.dataDir, l.enrolled); err != nil {
		t.Fatal(err)
	}
	l.port = filepath.Join(t.TempDir(), "ark1")
	if l.pty, err = simulator.OpenPTY(l.port); err != nil {
		t.Skipf("no pty on this system: %v", err)
	}
	t.Cleanup(func() { l.pty.Close() })
	l.config = filepath.Join(t.TempDir(), "lane.toml")
	l.logDir = filepath.Join(t.TempDir(), "logs")
	toml := "[data]\ndir = '" + l.dataDir + "'\n[log]\ndir = '" + l.logDir + "'\n" +
		"[[instrument]]\nname = \"Autorefractor\"\nprofile = \"nidek-ark1\"\nport = '" + l.port + "'\n" +
		"[[camera]]\nname = \"Fundus camera\"\nfolder = '" + l.camera + "'\n"
	if err := os.WriteFile(l.config, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return l
}

// skewedClock is the system clock off by a fixed amount.
type skewedClock struct{ off time.Duration }

func (c skewedClock) Now() time.Time { return time.Now().Add(c.off) }

// TestDoctorCatchesEachFault injects each fault the doctor lists and
// expects that check to fail with a readable line and exit status 1; the
// healthy lane passes.
func TestDoctorCatchesEachFault(t *testing.T) {
	if testing.Short() {
		t.Skip("starts practice servers and opens databases")
	}
	plenty := func(string) (uint64, uint64, error) { return 50 << 30, 100 << 30, nil }
	tests := []struct {
		name string
		// inject breaks the lane; doctor adjusts the doctor's seams.
		inject func(t *testing.T, l *doctorLane)
		doctor func(d *doctor)
		// check is the report line that must fail, with want in it.
		check, want string
	}{
		{name: "healthy"},
		{name: "keychain unreachable", inject: func(t *testing.T, l *doctorLane) {
			dbKeychain = func() lane.Secrets { return dbNoKeychain{} }
		}, check: "keychain", want: "does not answer"},
		{name: "database tampered", inject: func(t *testing.T, l *doctorLane) {
			raw, err := sql.Open("sqlite", filepath.Join(l.dataDir, localdb.FileName))
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.Exec(`DROP TRIGGER audit_no_update; UPDATE audit_log SET user_id = 'mallory' WHERE seq = 2`); err != nil {
				t.Fatal(err)
			}
		}, check: "database", want: "audit chain broken"},
		{name: "database missing", inject: func(t *testing.T, l *doctorLane) {
			os.Remove(filepath.Join(l.dataDir, localdb.FileName))
		}, check: "database", want: "cannot open"},
		{name: "disk full", doctor: func(d *doctor) {
			d.diskFree = func(string) (uint64, uint64, error) { return 10 << 20, 100 << 30, nil }
		}, check: "disk space", want: "10 MiB free"},
		{name: "clock skew", doctor: func(d *doctor) { d.clock = skewedClock{off: 10 * time.Minute} },
			check: "clock skew", want: "ahead of the server's"},
		{name: "server unreachable", inject: func(t *testing.T, l *doctorLane) { l.stop() },
			check: "practice server", want: "unreachable"},
		{name: "TLS pin mismatch", inject: func(t *testing.T, l *doctorLane) {
			// Another practice's server answers at the enrolled address.
			_, other, _ := startPractice(t)
			en := l.enrolled
			en.ServerURL = other
			if err := saveEnrollment(l.dataDir, en); err != nil {
				t.Fatal(err)
			}
		}, check: "TLS pin", want: "not from the practice CA"},
		{name: "lane revoked", inject: func(t *testing.T, l *doctorLane) {
			if err := l.srv.RevokeLane(context.Background(), l.enrolled.LaneID); err != nil {
				t.Fatal(err)
			}
		}, check: "lane certificate", want: "refused by the server"},
		{name: "instrument port missing", inject: func(t *testing.T, l *doctorLane) { l.pty.Close() },
			check: "instrument Autorefractor", want: "missing"},
		{name: "camera folder missing", inject: func(t *testing.T, l *doctorLane) { os.RemoveAll(l.camera) },
			check: "camera folder Fundus camera", want: "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newDoctorLane(t)
			if tt.inject != nil {
				tt.inject(t, l)
			}
			doctorHook = func(d *doctor) {
				d.diskFree = plenty
				d.timeout = 5 * time.Second
				if tt.doctor != nil {
					tt.doctor(d)
				}
			}
			defer func() { doctorHook = nil }()
			r := invoke("--config", l.config, "doctor")
			lines := map[string]string{}
			for _, line := range strings.Split(r.stdout, "\n") {
				f := strings.Fields(line)
				if len(f) > 1 {
					for name := range map[string]bool{"keychain": true, "database": true, "disk space": true, "clock skew": true,
						"practice server": true, "TLS pin": true, "lane certificate": true, "instrument Autorefractor": true,
						"camera folder Fundus camera": true, "configuration": true} {
						if strings.HasPrefix(strings.TrimSpace(line[4:]), name+" ") {
							lines[name] = line
						}
					}
				}
			}
			if tt.check == "" {
				if r.code != 0 {
					t.Fatalf("healthy lane: exit %d\n%s%s", r.code, r.stdout, r.stderr)
				}
				for name, line := range lines {
					if !strings.HasPrefix(line, "ok") {
						t.Errorf("healthy lane: %s: %q", name, line)
					}
				}
				if len(lines) != 10 {
					t.Errorf("healthy lane: %d checks reported, want 10:\n%s", len(lines), r.stdout)
				}
				return
			}
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
			}
			line := lines[tt.check]
			if !strings.HasPrefix(line, "FAIL") || !strings.Contains(line, tt.want) {
				t.Fatalf("check %q: line %q, want FAIL with %q\nreport:\n%s", tt.check, line, tt.want, r.stdout)
			}
			if !strings.Contains(r.stderr, "check(s) failed") {
				t.Errorf("stderr: %q", r.stderr)
			}
		})
	}
}
