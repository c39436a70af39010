package localdb_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb"
)

// rawDB opens the database file directly, as an attacker or a broken tool
// would, bypassing the store.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	r, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	r.SetMaxOpenConns(1)
	t.Cleanup(func() { r.Close() })
	return r
}

func fileSum(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestForeignAndNonDatabaseFilesRefusedUnchanged(t *testing.T) {
	dir := t.TempDir()
	foreign := filepath.Join(dir, "foreign.db")
	r := rawDB(t, foreign)
	if _, err := r.Exec(`CREATE TABLE invoices(id INTEGER PRIMARY KEY, total INTEGER); INSERT INTO invoices VALUES (1, 42)`); err != nil {
		t.Fatal(err)
	}
	r.Close()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("this is not a database, just text\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withAppID := filepath.Join(dir, "other-app.db")
	r = rawDB(t, withAppID)
	if _, err := r.Exec(`PRAGMA application_id = 1234; CREATE TABLE t(x)`); err != nil {
		t.Fatal(err)
	}
	r.Close()
	for _, path := range []string{foreign, text, withAppID} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			before := fileSum(t, path)
			cfg := testConfig(t)
			cfg.Path = path
			_, err := localdb.Open(ctx, cfg)
			if !errors.Is(err, localdb.ErrNotExamlane) {
				t.Fatalf("Open(%s) err = %v, want ErrNotExamlane", filepath.Base(path), err)
			}
			if !strings.Contains(err.Error(), "not an Examlane database") {
				t.Errorf("message %q does not say what is wrong", err)
			}
			if !bytes.Equal(before, fileSum(t, path)) {
				t.Error("the foreign file was modified")
			}
			for _, side := range []string{"-wal", "-shm"} {
				if _, err := os.Stat(path + side); err == nil {
					t.Errorf("Open left %s beside a foreign file", side)
				}
			}
		})
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t, cfg)
	p := savePatient(t, db, "Newer", "N-1")
	db.Close()
	r := rawDB(t, cfg.Path)
	if _, err := r.Exec(fmt.Sprintf("PRAGMA user_version = %d", localdb.SchemaVersion+1)); err != nil {
		t.Fatal(err)
	}
	r.Close()
	before := fileSum(t, cfg.Path)
	_, err := localdb.Open(ctx, cfg)
	var se *localdb.SchemaError
	if !errors.As(err, &se) || se.Found != localdb.SchemaVersion+1 || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open(newer schema) = %v", err)
	}
	if !bytes.Equal(before, fileSum(t, cfg.Path)) {
		t.Error("refused database was modified")
	}
	// Put it back: nothing was lost.
	r = rawDB(t, cfg.Path)
	if _, err := r.Exec(fmt.Sprintf("PRAGMA user_version = %d", localdb.SchemaVersion)); err != nil {
		t.Fatal(err)
	}
	r.Close()
	db = openDB(t, cfg)
	if _, err := db.GetPatient(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
}

func TestTruncatedAndCorruptFiles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(path string) error
	}{
		{"truncated", func(path string) error {
			fi, err := os.Stat(path)
			if err != nil {
				return err
			}
			return os.Truncate(path, fi.Size()/2)
		}},
		{"overwritten-pages", func(path string) error {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			fi, _ := f.Stat()
			junk := bytes.Repeat([]byte{0xA5}, int(fi.Size()/2))
			_, err = f.WriteAt(junk, fi.Size()/4)
			return err
		}},
		{"header-zeroed", func(path string) error {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt(make([]byte, 100), 0)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			db := openDB(t, cfg)
			for i := 0; i < 200; i++ {
				savePatient(t, db, "Damage", fmt.Sprintf("D-%d", i))
			}
			db.Close()
			if err := tc.damage(cfg.Path); err != nil {
				t.Fatal(err)
			}
			before := fileSum(t, cfg.Path)
			db, err := localdb.Open(ctx, cfg)
			if err == nil {
				// Damage past the pages Open reads shows in Check.
				rep, cerr := db.Check(ctx, 0)
				db.Close()
				if cerr == nil && rep.OK() {
					t.Fatalf("damaged database opened and passed Check")
				}
				if cerr != nil {
					err = cerr
				} else {
					t.Logf("Check reports: integrity=%q sealed failures=%d", rep.Integrity, len(rep.SealedFailed))
					return
				}
			}
			if !errors.Is(err, localdb.ErrCorrupt) && !errors.Is(err, localdb.ErrNotExamlane) {
				t.Fatalf("damaged database: %v, want ErrCorrupt or ErrNotExamlane", err)
			}
			t.Logf("message: %v", err)
			if !bytes.Equal(before, fileSum(t, cfg.Path)) {
				t.Error("the damaged file was modified by the failed open (evidence lost)")
			}
		})
	}
}

func TestTamperedRowFailsClosed(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t, cfg)
	a := savePatient(t, db, "Tamper", "T-1")
	b := savePatient(t, db, "Victim", "T-2")
	db.Close()

	r := rawDB(t, cfg.Path)
	// 1. Flip one byte of a's sealed document.
	if _, err := r.Exec(`UPDATE patients SET sealed = CAST(substr(sealed, 1, 30) || x'00' || substr(sealed, 32) AS BLOB) WHERE id = ?`, string(a.ID)); err != nil {
		t.Fatal(err)
	}
	// 2. Copy a valid sealed value from b's row into another row (c).
	var sb []byte
	if err := r.QueryRow(`SELECT sealed FROM patients WHERE id = ?`, string(b.ID)).Scan(&sb); err != nil {
		t.Fatal(err)
	}
	r.Close()
	db = openDB(t, cfg)
	c := savePatient(t, db, "Other", "T-3")
	db.Close()
	r = rawDB(t, cfg.Path)
	if _, err := r.Exec(`UPDATE patients SET sealed = ?, version = (SELECT version FROM patients WHERE id = ?) WHERE id = ?`, sb, string(b.ID), string(c.ID)); err != nil {
		t.Fatal(err)
	}
	r.Close()

	db = openDB(t, cfg)
	for _, id := range []lane.PatientID{a.ID, c.ID} {
		got, err := db.GetPatient(ctx, id)
		if !errors.Is(err, lane.ErrUnauthenticated) {
			t.Fatalf("GetPatient(tampered %s) = %+v, %v; want ErrUnauthenticated", id, got, err)
		}
		if got.MRN != "" || got.Name.Family != "" {
			t.Errorf("tampered read returned data: %+v", got)
		}
		if strings.Contains(err.Error(), "Victim") || strings.Contains(err.Error(), "T-2") {
			t.Errorf("error leaks patient data: %v", err)
		}
	}
	if _, err := db.GetPatient(ctx, b.ID); err != nil {
		t.Errorf("untouched row: %v", err)
	}
	rep, err := db.Check(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || len(rep.SealedFailed) < 2 {
		t.Errorf("Check did not report the tampered rows: %+v", rep)
	}
}

// TestSealedValueFromAnotherPracticeFails copies a row between two
// databases whose keys are the same (a restored copy) but whose tenants
// differ... and between two independent databases.
func TestSealedValueFromAnotherDatabaseFails(t *testing.T) {
	cfgA, cfgB := testConfig(t), testConfig(t)
	cfgB.Tenant = "practice-other"
	a, b := openDB(t, cfgA), openDB(t, cfgB)
	pa := savePatient(t, a, "Across", "X-1")
	pb := savePatient(t, b, "Across", "X-2")
	a.Close()
	b.Close()
	var sealed []byte
	ra := rawDB(t, cfgA.Path)
	if err := ra.QueryRow(`SELECT sealed FROM patients WHERE id = ?`, string(pa.ID)).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	rb := rawDB(t, cfgB.Path)
	if _, err := rb.Exec(`UPDATE patients SET sealed = ? WHERE id = ?`, sealed, string(pb.ID)); err != nil {
		t.Fatal(err)
	}
	rb.Close()
	b = openDB(t, cfgB)
	if _, err := b.GetPatient(ctx, pb.ID); !errors.Is(err, lane.ErrUnauthenticated) {
		t.Fatalf("value from another practice's database opened: %v", err)
	}
}

func TestDiskFullKeepsCommittedData(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t, cfg)
	var acked []lane.Patient
	for i := 0; i < 20; i++ {
		acked = append(acked, savePatient(t, db, "Full", fmt.Sprintf("F-%d", i)))
	}
	var pages int
	r := rawDB(t, cfg.Path)
	if err := r.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if err := db.SetMaxPageCount(ctx, pages+2); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		var p lane.Patient
		p, err = db.SavePatient(ctx, tech, fullPatient(i))
		if err == nil {
			acked = append(acked, p)
		}
	}
	if !errors.Is(err, localdb.ErrDiskFull) || !errors.Is(err, lane.ErrUnavailable) {
		t.Fatalf("write on a full database: %v, want ErrDiskFull", err)
	}
	t.Logf("message: %v", err)
	if err := db.SetMaxPageCount(ctx, 1<<30); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SavePatient(ctx, tech, fullPatient(5000)); err != nil {
		t.Fatalf("after space was freed: %v", err)
	}
	db.Close()
	checkAcked(t, cfg, acked)
}

func fullPatient(i int) lane.Patient {
	p := lane.Patient{MRN: fmt.Sprintf("FULL-%d", i), Name: lane.Name{Family: "Full", Given: []string{"Disk"}},
		BirthDate: lane.Date{Year: 1970, Month: 1, Day: 1}, Note: strings.Repeat("n", 3000)}
	return p
}

// checkAcked reopens the database and checks every acknowledged patient,
// the integrity check and the audit chain.
func checkAcked(t *testing.T, cfg localdb.Config, acked []lane.Patient) {
	t.Helper()
	db := openDB(t, cfg)
	defer db.Close()
	for _, p := range acked {
		got, err := db.GetPatient(ctx, p.ID)
		if err != nil || got.Version < p.Version {
			t.Fatalf("acknowledged patient %s lost: %+v %v", p.ID, got, err)
		}
	}
	rep, err := db.Check(ctx, 50)
	if err != nil || !rep.OK() {
		t.Fatalf("check after fault: %+v %v", rep, err)
	}
}

// TestDiskFullOnRealFilesystem fills a small tmpfs (needs root and mount;
// skipped otherwise).
func TestDiskFullOnRealFilesystem(t *testing.T) {
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	cfg := testConfig(t)
	cfg.Path = filepath.Join(dir, localdb.FileName)
	db := openDB(t, cfg)
	var acked []lane.Patient
	var err error
	for i := 0; i < 5000 && err == nil; i++ {
		var p lane.Patient
		p, err = db.SavePatient(ctx, tech, fullPatient(i))
		if err == nil {
			acked = append(acked, p)
		}
	}
	if !errors.Is(err, localdb.ErrDiskFull) {
		t.Fatalf("filling a 2 MiB tmpfs: %v, want ErrDiskFull", err)
	}
	t.Logf("%d patients fitted; message: %v", len(acked), err)
	db.Close()
	if out, err := exec.Command("mount", "-o", "remount,size=16m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	checkAcked(t, cfg, acked)
}

func TestReadOnlyDirectory(t *testing.T) {
	cfg := testConfig(t)
	dir := filepath.Dir(cfg.Path)
	db := openDB(t, cfg)
	p := savePatient(t, db, "Readonly", "RO-1")
	db.Close()
	if os.Geteuid() == 0 {
		// root ignores permissions: make the directory a read-only mount.
		if out, err := exec.Command("mount", "--bind", dir, dir).CombinedOutput(); err != nil {
			t.Skipf("cannot bind-mount here (%v: %s)", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
		if out, err := exec.Command("mount", "-o", "remount,bind,ro", dir).CombinedOutput(); err != nil {
			t.Skipf("cannot remount read-only (%v: %s)", err, out)
		}
	} else {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	}
	_, err := localdb.Open(ctx, cfg)
	if err == nil || !errors.Is(err, lane.ErrUnavailable) {
		t.Fatalf("Open in a read-only directory: %v, want an error wrapping ErrUnavailable", err)
	}
	t.Logf("message: %v", err)
	if os.Geteuid() == 0 {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Fatalf("umount: %v %s", err, out)
		}
	} else {
		_ = os.Chmod(dir, 0o700)
	}
	checkAcked(t, cfg, []lane.Patient{p})
}
