//go:build unix

package localdb_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
	"github.com/examlane/examlane/localdb"
)

// fileSecrets is a lane.Secrets kept in a file, so that a parent test and
// its child process share the key-encryption key (the go-keyring mock is
// per process).
type fileSecrets struct {
	path string
	mu   sync.Mutex
}

func (s *fileSecrets) load() map[string][]byte {
	m := map[string][]byte{}
	b, err := os.ReadFile(s.path)
	if err == nil {
		_ = json.Unmarshal(b, &m)
	}
	return m
}

func (s *fileSecrets) Get(name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.load()[name]
	if !ok {
		return nil, lane.ErrNotFound
	}
	return v, nil
}

func (s *fileSecrets) Set(name string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.load()
	m[name] = v
	b, _ := json.Marshal(m)
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		_ = f.Sync()
		f.Close()
	}
	return os.Rename(tmp, s.path)
}

func (s *fileSecrets) Delete(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.load()
	delete(m, name)
	b, _ := json.Marshal(m)
	return os.WriteFile(s.path, b, 0o600)
}

const crashEnv = "EXAMLANE_CRASH_CHILD"

func crashConfig(dir string) localdb.Config {
	return localdb.Config{Path: filepath.Join(dir, localdb.FileName), Tenant: "practice-crash",
		Keychain: &fileSecrets{path: filepath.Join(dir, "secrets.json")}, CheckpointEvery: 25}
}

// TestCrashChild is the writer the crash test kills. It runs only when
// started by TestCrashKill9 (EXAMLANE_CRASH_CHILD names the data
// directory). It writes forever and prints one line per change after
// Commit returned: P id version | M id version | D id | A id, and R when a
// data-key rotation finished, B file when a backup was written.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashKill9")
	}
	out := bufio.NewWriter(os.Stdout)
	ack := func(format string, args ...any) {
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush() // one write per line: atomic on a pipe
	}
	db, err := localdb.Open(ctx, crashConfig(dir))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(3)
	}
	ack("READY")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(os.Getpid())))
	if pending, err := db.RotationPending(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child rotation pending:", err)
		os.Exit(4)
	} else if pending { // a kill interrupted a key rotation: resume it
		if err := db.RotateKey(ctx, tech, nil); err != nil {
			fmt.Fprintln(os.Stderr, "child resume rotation:", err)
			os.Exit(4)
		}
		ack("R resumed")
	}
	var patients []lane.PatientID
	type mref struct {
		id  lane.MeasurementID
		ver int64
	}
	var meas []mref
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "child %s: %v\n", what, err)
		os.Exit(4)
	}
	for i := 0; ; i++ {
		switch op := rng.IntN(10); {
		case op < 3 || len(patients) == 0:
			p, err := db.SavePatient(ctx, tech, lanetest.SyntheticPatient(fmt.Sprintf("Crash%d", rng.IntN(1000)), fmt.Sprintf("CR-%d-%d", os.Getpid(), i)))
			if err != nil {
				fail("save patient", err)
			}
			patients = append(patients, p.ID)
			ack("P %s %d", p.ID, p.Version)
		case op < 4:
			p, err := db.GetPatient(ctx, patients[rng.IntN(len(patients))])
			if err != nil {
				fail("get patient", err)
			}
			p.Note = strings.Repeat("x", rng.IntN(2000))
			if p, err = db.SavePatient(ctx, tech, p); err != nil {
				fail("update patient", err)
			}
			ack("P %s %d", p.ID, p.Version)
		case op < 7:
			m, err := db.SaveMeasurement(ctx, tech, lane.Measurement{PatientID: patients[rng.IntN(len(patients))], Kind: lane.KindIOP,
				IOP: &lane.IOP{Pressure: lane.MmHg(100 + rng.IntN(200))}, ReceivedAt: time.Now()})
			if err != nil {
				fail("save measurement", err)
			}
			meas = append(meas, mref{m.ID, m.Version})
			ack("M %s %d", m.ID, m.Version)
		case op < 8 && len(meas) > 0:
			k := rng.IntN(len(meas))
			why := tech
			why.Reason = "crash test"
			if err := db.DeleteMeasurement(ctx, why, meas[k].id, meas[k].ver); err != nil {
				fail("delete measurement", err)
			}
			ack("D %s", meas[k].id)
			meas = append(meas[:k], meas[k+1:]...)
		case op < 9 && rng.IntN(40) == 0:
			if err := db.RotateKey(ctx, tech, nil); err != nil {
				fail("rotate key", err)
			}
			ack("R done")
		case op < 9 && rng.IntN(40) == 0:
			name := filepath.Join(dir, fmt.Sprintf("backup-%d-%d.db", os.Getpid(), i))
			if err := db.Backup(ctx, tech, name); err != nil {
				fail("backup", err)
			}
			ack("B %s", name)
		case op < 9:
			id := lane.NewID()
			if err := db.Audit(ctx, lane.AuditEvent{ID: id, User: "u-od", Action: lane.AuditView, PatientID: patients[0]}); err != nil {
				fail("audit", err)
			}
			ack("A %s", id)
		default:
			pend, err := db.PendingChanges(ctx, 3)
			if err != nil {
				fail("pending", err)
			}
			for _, e := range pend {
				if err := db.MarkPushed(ctx, e.Seq, "srv-"+e.ID, "1"); err != nil {
					fail("mark pushed", err)
				}
			}
		}
	}
}

// TestCrashKill9 starts a writer in a child process, SIGKILLs it at a
// random moment, reopens the database and checks that every write the
// child acknowledged (after Commit returned) is there, that SQLite's
// integrity check passes and that the audit chain verifies; many times.
// EXAMLANE_CRASH_KILLS sets the number of kills (default 200, 20 with
// -short).
func TestCrashKill9(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("inside the child")
	}
	kills := 200
	if testing.Short() {
		kills = 20
	}
	if v := os.Getenv("EXAMLANE_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("EXAMLANE_CRASH_KILLS=%q", v)
		}
		kills = n
	}
	dir := t.TempDir()
	cfg := crashConfig(dir)
	patients := map[string]int64{}
	meas := map[string]int64{} // -1: deleted
	audits := map[string]bool{}
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	start := time.Now()
	var acks, beforeReady, rotations, resumed, backups int
	for it := 0; it < kills; it++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill at a random point: mostly while writing, sometimes during
		// start-up (opening, migrating, unwrapping keys).
		var delay time.Duration
		early := it%10 == 0
		if early {
			delay = time.Duration(rng.IntN(40)) * time.Millisecond
		} else {
			delay = time.Duration(5+rng.IntN(80)) * time.Millisecond
		}
		timer := time.NewTimer(delay)
		ready := false
		var got []string
	wait:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break wait
				}
				if l == "READY" && !ready && !early {
					ready = true
					timer.Reset(delay) // count from the first write
					continue
				}
				got = append(got, l)
			case <-timer.C:
				break wait
			}
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		for l := range lines { // lines written before the kill
			got = append(got, l)
		}
		werr := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Exited() {
			t.Fatalf("iteration %d: child exited by itself (%v): %s", it, werr, stderr.String())
		}
		if !ready && !early {
			beforeReady++
		}
		for _, l := range got {
			f := strings.Fields(l)
			switch {
			case len(f) == 3 && f[0] == "P":
				v, _ := strconv.ParseInt(f[2], 10, 64)
				patients[f[1]] = max(patients[f[1]], v)
			case len(f) == 3 && f[0] == "M":
				v, _ := strconv.ParseInt(f[2], 10, 64)
				meas[f[1]] = v
			case len(f) == 2 && f[0] == "D":
				meas[f[1]] = -1
			case len(f) == 2 && f[0] == "A":
				audits[f[1]] = true
			case len(f) == 2 && f[0] == "R" && f[1] == "resumed":
				resumed++
			case len(f) == 2 && f[0] == "R":
				rotations++
			case len(f) == 2 && f[0] == "B":
				backups++
				checkBackup(t, f[1])
			case l == "READY":
				continue
			default:
				t.Fatalf("iteration %d: bad ack line %q", it, l)
			}
			acks++
		}
		// Reopen and check.
		db, err := localdb.Open(ctx, cfg)
		if errors.Is(err, localdb.ErrNoDatabase) && len(patients) == 0 {
			continue
		}
		if err != nil {
			t.Fatalf("iteration %d: reopen after kill: %v", it, err)
		}
		if it%10 == 9 || it == kills-1 {
			verifyAcks(t, db, patients, meas, audits)
		} else {
			verifyAcks(t, db, pick(got, "P", patients), pick(got, "M", meas), nil)
		}
		rep, err := db.Check(ctx, 20)
		if err != nil || !rep.OK() {
			t.Fatalf("iteration %d: check after kill: %+v %v", it, rep, err)
		}
		db.Close()
	}
	el := time.Since(start)
	t.Logf("kill -9 harness: kills=%d acknowledged_writes=%d lost=0 integrity_failures=0 audit_breaks=0 patients=%d measurements=%d audit_acks=%d key_rotations_completed=%d rotations_resumed_after_kill=%d backups_verified=%d elapsed=%v (%.0f ms/kill)",
		kills, acks, len(patients), len(meas), len(audits), rotations, resumed, backups, el.Round(time.Millisecond), float64(el.Milliseconds())/float64(kills))
}

// checkBackup checks that an acknowledged backup file is a sound database
// (and removes it to save space).
func checkBackup(t *testing.T, path string) {
	t.Helper()
	r := rawDB(t, path)
	var ic string
	if err := r.QueryRow(`PRAGMA integrity_check`).Scan(&ic); err != nil || ic != "ok" {
		t.Fatalf("acknowledged backup %s: integrity %q %v", path, ic, err)
	}
	r.Close()
	_ = os.Remove(path)
}

// pick keeps the entries acknowledged in this iteration's lines.
func pick(lines []string, kind string, all map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) >= 2 && (f[0] == kind || (kind == "M" && f[0] == "D")) {
			out[f[1]] = all[f[1]]
		}
	}
	return out
}

func verifyAcks(t *testing.T, db *localdb.DB, patients, meas map[string]int64, audits map[string]bool) {
	t.Helper()
	for id, v := range patients {
		p, err := db.GetPatient(ctx, lane.PatientID(id))
		if err != nil || p.Version < v {
			t.Fatalf("acknowledged patient %s v%d lost: got v%d, %v", id, v, p.Version, err)
		}
	}
	for id, v := range meas {
		rec, err := db.Record(ctx, lane.EntityMeasurement, id)
		if err != nil {
			t.Fatalf("acknowledged measurement %s lost: %v", id, err)
		}
		m := rec.(lane.Measurement)
		if v == -1 && !m.Deleted {
			t.Fatalf("acknowledged deletion of %s lost", id)
		}
		if v > 0 && m.Version < v {
			t.Fatalf("acknowledged measurement %s v%d lost: v%d", id, v, m.Version)
		}
	}
	for id := range audits {
		if _, err := db.Record(ctx, lane.EntityAudit, id); err != nil {
			t.Fatalf("acknowledged audit event %s lost: %v", id, err)
		}
	}
}
