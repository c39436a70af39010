package localdb_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/localdb/seal"
)

// TestOnlineBackupAndRestore backs up while another goroutine keeps
// writing, restores into an empty directory, and opens the copy with the
// same keychain: every record acknowledged before the backup started is
// there, the outbox too, and the copy passes Check.
func TestOnlineBackupAndRestore(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t, cfg)
	var before []lane.Patient
	for i := 0; i < 50; i++ {
		before = append(before, savePatient(t, db, "Backup", fmt.Sprintf("BK-%d", i)))
	}
	pending, _ := db.PendingChanges(ctx, 0)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // the lane keeps working during the backup
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := db.SavePatient(ctx, tech, lanetest.SyntheticPatient("During", fmt.Sprintf("DU-%d", i))); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	dst := filepath.Join(t.TempDir(), "backups", "lane.db")
	err := db.Backup(ctx, tech, dst)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, tech, dst); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("backup over an existing file: %v", err)
	}

	// Restore refuses a data directory that holds a database.
	if err := localdb.Restore(ctx, dst, filepath.Dir(cfg.Path)); !errors.Is(err, lane.ErrInvalid) {
		t.Fatalf("restore over a live database: %v", err)
	}
	restoreDir := t.TempDir()
	if err := localdb.Restore(ctx, dst, restoreDir); err != nil {
		t.Fatal(err)
	}
	rc := cfg
	rc.Path = filepath.Join(restoreDir, localdb.FileName)
	r := openDB(t, rc)
	for _, p := range before {
		if _, err := r.GetPatient(ctx, p.ID); err != nil {
			t.Fatalf("restored copy lacks %s: %v", p.ID, err)
		}
	}
	got, _ := r.PendingChanges(ctx, 0)
	if len(got) < len(pending) {
		t.Errorf("restored outbox has %d entries, had %d before the backup", len(got), len(pending))
	}
	rep, err := r.Check(ctx, 0)
	if err != nil || !rep.OK() {
		t.Fatalf("restored copy check: %+v %v", rep, err)
	}
}

func TestRestoreRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "x.txt")
	_ = os.WriteFile(text, []byte("not a database"), 0o600)
	if err := localdb.Restore(ctx, text, t.TempDir()); !errors.Is(err, localdb.ErrNotExamlane) {
		t.Errorf("restore of a text file: %v", err)
	}
	if err := localdb.Restore(ctx, filepath.Join(dir, "missing.db"), t.TempDir()); err == nil {
		t.Error("restore of a missing file succeeded")
	}
}

// TestBackupOpensWithRecoveryKeyElsewhere: a backup taken to another
// computer (no keychain entry) opens after Recover with the practice
// recovery key.
func TestBackupOpensWithRecoveryKeyElsewhere(t *testing.T) {
	rec, _ := seal.GenerateRecoveryKey()
	cfg := testConfig(t)
	cfg.Keychain, cfg.RecoveryKey = &memSecrets{}, rec.PublicKey()
	db := openDB(t, cfg)
	p := savePatient(t, db, "Elsewhere", "EL-1")
	dst := filepath.Join(t.TempDir(), "b.db")
	if err := db.Backup(ctx, tech, dst); err != nil {
		t.Fatal(err)
	}
	newDir := t.TempDir()
	if err := localdb.Restore(ctx, dst, newDir); err != nil {
		t.Fatal(err)
	}
	other := localdb.Config{Path: filepath.Join(newDir, localdb.FileName), Keychain: &memSecrets{}, Clock: cfg.Clock}
	if _, err := localdb.Open(ctx, other); !errors.Is(err, localdb.ErrKeyMissing) {
		t.Fatalf("open on the other computer before recovery: %v", err)
	}
	if _, err := localdb.Recover(ctx, other, rec); err != nil {
		t.Fatal(err)
	}
	o := openDB(t, other)
	if got, err := o.GetPatient(ctx, p.ID); err != nil || got.MRN != "EL-1" {
		t.Fatalf("after recovery elsewhere: %+v %v", got, err)
	}
}

func TestBackupSchedulerKeepsLastN(t *testing.T) {
	db := newDB(t)
	savePatient(t, db, "Sched", "S-1")
	clock := lanetest.NewManualClock(lanetest.T0)
	dir := t.TempDir()
	s := &localdb.BackupScheduler{DB: db, Dir: dir, Every: time.Hour, Keep: 3, Clock: clock}
	var names []string
	for i := 0; i < 5; i++ {
		n, err := s.BackupNow(ctx)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
		clock.Advance(time.Hour)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "examlane-*.db"))
	if len(left) != 3 || left[0] != names[2] || left[2] != names[4] {
		t.Fatalf("kept %v, want the newest 3 of %v", left, names)
	}
	// Run stops with its context.
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- (&localdb.BackupScheduler{DB: db, Dir: t.TempDir(), Every: time.Hour, Keep: 1}).Run(rctx)
	}()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("scheduler did not stop")
	}
}

func TestStats(t *testing.T) {
	db := newDB(t)
	fillChart(t, db, "Stats", "ST-1")
	s, err := db.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Tables["patients"] != 1 || s.Tables["images"] != 1 || s.Tables["captures"] != 1 || s.OutboxPending == 0 ||
		s.KeySource != localdb.KeySourceKeychain || s.SchemaVersion != localdb.SchemaVersion || s.AuditEvents == 0 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestPurgeKeepsUnsyncedData(t *testing.T) {
	clock := lanetest.NewManualClock(lanetest.T0)
	cfg := testConfig(t)
	cfg.Clock = clock
	db := openDB(t, cfg)
	old, _, _ := fillChart(t, db, "Old", "OLD-1")         // will be synced
	unsynced, _, _ := fillChart(t, db, "Pending", "PN-1") // never pushed
	remote := lanetest.SyntheticPatient("Remote", "RM-1")
	remote.ID = "srv-rm"
	if err := db.ApplyRemote(ctx, remote, "srv-rm", "1"); err != nil {
		t.Fatal(err)
	}
	// Push everything of "old" (and the audit events).
	pend, _ := db.PendingChanges(ctx, 0)
	for _, e := range pend {
		if rec, err := db.Record(ctx, e.Entity, e.ID); err == nil {
			if pid := patientOf(rec); pid == unsynced.ID {
				continue
			}
		}
		if err := db.MarkPushed(ctx, e.Seq, "srv-"+e.ID, "1"); err != nil {
			t.Fatal(err)
		}
	}
	recent := savePatient(t, db, "Recent", "RC-1")
	clock.Advance(3 * 365 * 24 * time.Hour)
	// A fresh appointment keeps "remote" on the lane.
	appt := lane.Appointment{ID: "srv-a1", PatientID: "srv-rm", Start: clock.Now().Add(24 * time.Hour), End: clock.Now().Add(25 * time.Hour)}
	if err := db.ApplyRemote(ctx, appt, "srv-a1", "1"); err != nil {
		t.Fatal(err)
	}
	admin := lane.Actor{User: "u-admin", Roles: []lane.Role{lane.RoleAdmin}, Reason: "retention policy"}
	dry, err := db.Purge(ctx, admin, localdb.PurgePolicy{Window: 2 * 365 * 24 * time.Hour, DryRun: true})
	if err != nil || dry.Purged != 0 || dry.Candidates != 3 {
		t.Fatalf("dry run = %+v, %v", dry, err)
	}
	rep, err := db.Purge(ctx, admin, localdb.PurgePolicy{Window: 2 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Candidates: old (synced: purged), unsynced (kept), recent (kept:
	// never pushed). remote has an appointment in the window.
	if rep.Purged != 1 || rep.Kept[localdb.KeptUnsynced] != 2 {
		t.Fatalf("purge = %+v", rep)
	}
	if _, err := db.GetPatient(ctx, old.ID); !errors.Is(err, lane.ErrNotFound) {
		t.Errorf("purged patient still there: %v", err)
	}
	for _, id := range []lane.PatientID{unsynced.ID, recent.ID, "srv-rm"} {
		if _, err := db.GetPatient(ctx, id); err != nil {
			t.Errorf("patient %s lost by purge: %v", id, err)
		}
	}
	evs, _ := db.ListAudit(ctx, lane.AuditFilter{PatientID: old.ID})
	if last := evs[len(evs)-1]; last.Action != lane.AuditPurge || last.User != admin.User {
		t.Errorf("purge not audited: %+v", last)
	}
	rc, err := db.Check(ctx, 0)
	if err != nil || !rc.OK() {
		t.Fatalf("check after purge: %+v %v", rc, err)
	}
	if _, err := db.Purge(ctx, admin, localdb.PurgePolicy{}); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("purge without a window: %v", err)
	}
}

func patientOf(rec any) lane.PatientID {
	switch r := rec.(type) {
	case lane.Patient:
		return r.ID
	case lane.Encounter:
		return r.PatientID
	case lane.Measurement:
		return r.PatientID
	case lane.Image:
		return r.PatientID
	case lane.AuditEvent:
		return r.PatientID
	}
	return ""
}

func TestUsers(t *testing.T) {
	db := newDB(t)
	u, err := db.SaveUser(ctx, tech, localdb.User{ID: "u-7", Login: "Grace.Hopper", DisplayName: "G. Hopper",
		Roles: []lane.Role{lane.RoleOptometrist}, Verifier: []byte("$argon2id$v=19$synthetic"), TOTPSecret: []byte("JBSWY3DPEHPK3PXP")})
	if err != nil || u.Version != 1 {
		t.Fatalf("SaveUser = %+v, %v", u, err)
	}
	got, err := db.UserByLogin(ctx, "  grace.hopper ")
	if err != nil || string(got.Verifier) != "$argon2id$v=19$synthetic" || string(got.TOTPSecret) != "JBSWY3DPEHPK3PXP" || got.Roles[0] != lane.RoleOptometrist {
		t.Fatalf("UserByLogin = %+v, %v", got, err)
	}
	got.TOTPLastStep = 12345
	if _, err := db.SaveUser(ctx, tech, got); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveUser(ctx, tech, got); !errors.Is(err, lane.ErrConflict) {
		t.Errorf("stale user save: %v", err)
	}
	if _, err := db.SaveUser(ctx, tech, localdb.User{ID: "u-8", Login: "GRACE.HOPPER"}); !errors.Is(err, lane.ErrConflict) {
		t.Errorf("duplicate login: %v", err)
	}
	if _, err := db.UserByLogin(ctx, "nobody"); !errors.Is(err, lane.ErrNotFound) {
		t.Errorf("unknown login: %v", err)
	}
	all, _ := db.ListUsers(ctx)
	if len(all) != 1 || all[0].TOTPLastStep != 12345 {
		t.Errorf("ListUsers = %+v", all)
	}
}

// TestNameCacheSeesOtherWriters: the decrypted name index follows changes
// made through another handle (another process), including after a purge
// removed the newest change.
func TestNameCacheSeesOtherWriters(t *testing.T) {
	clock := lanetest.NewManualClock(lanetest.T0)
	cfg := testConfig(t)
	cfg.Clock = clock
	a := openDB(t, cfg)
	b := openDB(t, cfg)
	find := func(db *localdb.DB, q string) int {
		got, err := db.FindPatients(ctx, lane.PatientQuery{NameContains: q})
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	keep := savePatient(t, a, "Nimbus", "NC-1")
	if find(a, "nimbus") != 1 {
		t.Fatal("own write not found")
	}
	old := savePatient(t, b, "Cirrus", "NC-2") // the newest change
	if find(a, "cirrus") != 1 {
		t.Fatal("other handle's write not found")
	}
	// Nimbus has an appointment next year, so only Cirrus is purged.
	if _, err := b.SaveAppointment(ctx, tech, lane.Appointment{PatientID: keep.ID, Start: lanetest.T0.Add(500 * 24 * time.Hour),
		End: lanetest.T0.Add(500*24*time.Hour + time.Hour)}); err != nil {
		t.Fatal(err)
	}
	pend, _ := b.PendingChanges(ctx, 0)
	for _, e := range pend {
		_ = b.MarkPushed(ctx, e.Seq, "", "1")
	}
	clock.Advance(400 * 24 * time.Hour)
	rep, err := b.Purge(ctx, tech, localdb.PurgePolicy{Window: 365 * 24 * time.Hour})
	if err != nil || rep.Purged != 1 {
		t.Fatalf("purge = %+v, %v", rep, err)
	}
	savePatient(t, b, "Stratus", "NC-4")
	if find(a, "stratus") != 1 {
		t.Fatal("a write after a purge of the newest change is not seen by the other handle's cache")
	}
	if find(a, "cirrus") != 0 {
		t.Fatalf("purged patient %s still found", old.ID)
	}
}

func TestApplyRemoteImageAndPendingCount(t *testing.T) {
	db := newDB(t)
	p := lanetest.SyntheticPatient("Pulled", "PU-1")
	p.ID = "srv-pu"
	if err := db.ApplyRemote(ctx, p, "srv-pu", "1"); err != nil {
		t.Fatal(err)
	}
	data := []byte("synthetic jpeg bytes")
	img := lane.Image{ID: "srv-img", PatientID: "srv-pu", Kind: lane.ImageColor, MediaType: "image/jpeg"}
	if err := db.ApplyRemoteImage(ctx, img, data, "srv-img", "3"); err != nil {
		t.Fatal(err)
	}
	if got, err := db.ImageData(ctx, "srv-img"); err != nil || string(got) != string(data) {
		t.Fatalf("ImageData = %q, %v", got, err)
	}
	img.SHA256 = [32]byte{1}
	if err := db.ApplyRemoteImage(ctx, img, data, "srv-img", "4"); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("mismatched hash: %v", err)
	}
	n, err := db.PendingCount(ctx)
	pend, _ := db.PendingChanges(ctx, 0)
	if err != nil || n != len(pend) {
		t.Errorf("PendingCount = %d, %v; PendingChanges has %d", n, err, len(pend))
	}
}
