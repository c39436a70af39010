package localdb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
	"github.com/examlane/examlane/localdb"
)

// fillChart writes one patient with a bit of everything.
func fillChart(t testing.TB, db *localdb.DB, family, mrn string) (lane.Patient, lane.Image, []byte) {
	t.Helper()
	p := savePatient(t, db, family, mrn)
	e, err := db.SaveEncounter(ctx, tech, lane.Encounter{PatientID: p.ID, Start: lanetest.T0, Assessment: "note " + mrn})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveMeasurement(ctx, tech, lane.Measurement{PatientID: p.ID, EncounterID: e.ID, Kind: lane.KindIOP, IOP: &lane.IOP{Pressure: 160}}); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte(mrn), 500)
	img, err := db.SaveImage(ctx, tech, lane.Image{PatientID: p.ID, EncounterID: e.ID, Kind: lane.ImageColor, MediaType: "image/jpeg"}, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SaveCapture(ctx, tech, lane.Capture{ID: lane.CaptureID("cap-" + mrn), PatientID: p.ID, Raw: []byte("raw " + mrn)}); err != nil {
		t.Fatal(err)
	}
	return p, img, data
}

func TestRotateKeyResumesAfterInterruption(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t, cfg)
	type rec struct {
		p    lane.Patient
		img  lane.Image
		data []byte
	}
	var recs []rec
	for i := 0; i < 150; i++ {
		p, img, data := fillChart(t, db, fmt.Sprintf("Rot%03d", i), fmt.Sprintf("ROT-%d", i))
		recs = append(recs, rec{p, img, data})
	}
	if _, err := db.SaveUser(ctx, tech, localdb.User{ID: "u-1", Login: "ada", Verifier: []byte("v"), TOTPSecret: []byte("s")}); err != nil {
		t.Fatal(err)
	}
	// Interrupt after two batches (as a crash would).
	cctx, cancel := context.WithCancel(ctx)
	batches := 0
	err := db.RotateKey(cctx, tech, func(p localdb.RotationProgress) {
		if batches++; batches == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted rotation: %v", err)
	}
	db.Close()

	db = openDB(t, cfg)
	if pending, _ := db.RotationPending(ctx); !pending {
		t.Fatal("rotation not recorded as pending after interruption")
	}
	// Lookups work while rows are under two keys.
	if got, err := db.FindPatients(ctx, lane.PatientQuery{MRN: "ROT-149"}); err != nil || len(got) != 1 {
		t.Fatalf("MRN lookup mid-rotation: %d %v", len(got), err)
	}
	var last localdb.RotationProgress
	if err := db.RotateKey(ctx, tech, func(p localdb.RotationProgress) { last = p }); err != nil {
		t.Fatal(err)
	}
	if !last.Resumed || !last.Completed || last.ToKey != 2 || last.Done != last.Total {
		t.Fatalf("resumed rotation progress = %+v", last)
	}
	st, _ := db.Stats(ctx)
	if st.CurrentKey != 2 || st.RotationActive {
		t.Fatalf("after rotation stats = %+v", st)
	}
	rep, err := db.Check(ctx, 0)
	if err != nil || !rep.OK() {
		t.Fatalf("check after rotation: %+v %v", rep, err)
	}
	db.Close()
	// Every row is under key 2 (audit details excepted: append-only).
	r := rawDB(t, cfg.Path)
	for _, tbl := range []string{"patients", "encounters", "measurements", "images", "image_chunks", "captures", "users", "outbox", "lane_identity"} {
		var n int
		if err := r.QueryRow(`SELECT count(*) FROM ` + tbl + ` WHERE key_id != 2`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d rows not under the new key (%v)", tbl, n, err)
		}
	}
	r.Close()
	db = openDB(t, cfg)
	for _, rc := range recs[:5] {
		if got, err := db.FindPatients(ctx, lane.PatientQuery{Family: rc.p.Name.Family, BirthDate: rc.p.BirthDate}); err != nil || len(got) != 1 {
			t.Fatalf("family+dob after rotation: %v %v", got, err)
		}
		if d, err := db.ImageData(ctx, rc.img.ID); err != nil || !bytes.Equal(d, rc.data) {
			t.Fatalf("image after rotation: %v", err)
		}
	}
	if u, err := db.UserByLogin(ctx, "ADA"); err != nil || string(u.TOTPSecret) != "s" {
		t.Fatalf("user after rotation: %+v %v", u, err)
	}
	evs, _ := db.ListAudit(ctx, lane.AuditFilter{User: tech.User})
	var rot int
	for _, e := range evs {
		if e.Action == lane.AuditKeyRotation {
			rot++
		}
	}
	if rot != 2 {
		t.Errorf("key rotation audit events = %d, want start and completion", rot)
	}
}
