package localdb_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
	"github.com/examlane/examlane/localdb"
)

// marker returns a random upper-case marker string unlikely to occur by
// chance in any file.
func marker(field string) string {
	b := make([]byte, 14)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = 'A' + b[i]%26
	}
	return "PHI" + strings.ToUpper(field) + string(b)
}

func utf16Bytes(s string, bigEndian bool) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

// TestPHIAtRest imports synthetic patients with a unique marker in every
// sealed field, then scans every byte of the database, its WAL and SHM
// files and a backup for each marker, in UTF-8, UTF-16LE and UTF-16BE. Any
// hit means patient data reached the disk unsealed.
func TestPHIAtRest(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t, cfg)
	markers := map[string]string{} // field#n → marker
	m := func(field string) string {
		v := marker(field)
		markers[field+"#"+v[len(v)-4:]] = v
		markers[field] = v // the latest, for lookups below
		return v
	}
	for i := 0; i < 3; i++ {
		p := lane.Patient{
			MRN:       m("mrn"),
			Name:      lane.Name{Family: m("family"), Given: []string{m("given")}, Prefix: m("prefix")},
			BirthDate: lane.Date{Year: 1913, Month: 7, Day: 29},
			Sex:       lane.SexOther,
			Phone:     m("phone"), Email: m("email") + "@example.invalid",
			Address: lane.Address{Lines: []string{m("addrline")}, City: m("city"), State: m("state"), PostalCode: m("postcode"), Country: m("country")},
			Alerts:  []string{m("alert")}, Note: m("patientnote"),
		}
		p, err := db.SavePatient(ctx, tech, p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SaveAppointment(ctx, tech, lane.Appointment{PatientID: p.ID, Start: lanetest.T0, End: lanetest.T0.Add(3600e9),
			Reason: m("apptreason"), Location: "site-1"}); err != nil {
			t.Fatal(err)
		}
		enc, err := db.SaveEncounter(ctx, lanetest.OD, lane.Encounter{PatientID: p.ID, Start: lanetest.T0, ChiefComplaint: m("complaint"),
			History: m("history"), Assessment: m("assessment"), Plan: m("plan"),
			Addenda: []lane.Addendum{{Author: "u-od", Text: m("addendum")}}})
		if err != nil {
			t.Fatal(err)
		}
		raw := []byte("\x02" + m("rawcapture") + "\x03")
		if err := db.SaveCapture(ctx, tech, lane.Capture{ID: lane.CaptureID(lane.NewID()), PatientID: p.ID, Raw: raw,
			Warnings: []string{m("capturewarning")}}); err != nil {
			t.Fatal(err)
		}
		meas, err := db.SaveMeasurement(ctx, tech, lane.Measurement{PatientID: p.ID, EncounterID: enc.ID, Kind: lane.KindVA,
			Method: m("method"), Note: m("measnote"), Message: m("message"), Confidence: m("confidence"),
			VA: &lane.VisualAcuity{Decimal: 0.8, Text: m("vatext")}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SaveMeasurement(ctx, tech, lane.Measurement{PatientID: p.ID, EncounterID: enc.ID, Kind: lane.KindRefraction,
			Refraction: &lane.Refraction{Sphere: -1250, Cylinder: -750, Axis: 173}}); err != nil {
			t.Fatal(err)
		}
		why := tech
		why.Reason = m("deletereason")
		if err := db.DeleteMeasurement(ctx, why, meas.ID, meas.Version); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SaveSpectacleRx(ctx, lanetest.OD, lane.SpectacleRx{PatientID: p.ID, Right: lane.Refraction{Sphere: -2000},
			Note: m("rxnote")}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SaveContactLensRx(ctx, lanetest.OD, lane.ContactLensRx{PatientID: p.ID, Right: lane.ContactLens{Brand: m("clbrand")},
			Note: m("clnote")}); err != nil {
			t.Fatal(err)
		}
		data := bytes.Repeat([]byte(m("imagebytes")), 3000) // > 1 chunk with the big ones
		img, err := db.SaveImage(ctx, tech, lane.Image{PatientID: p.ID, Kind: lane.ImageColor, MediaType: "image/jpeg",
			Instrument: lane.InstrumentRef{Serial: m("serial")}}, data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SaveAnnotation(ctx, lanetest.OD, lane.Annotation{ImageID: img.ID, Kind: lane.AnnotText, Text: m("annotation")}); err != nil {
			t.Fatal(err)
		}
		if err := db.Audit(ctx, lane.AuditEvent{User: "u-od", Action: lane.AuditExport, PatientID: p.ID, Reason: m("auditreason"),
			Detail: m("auditdetail")}); err != nil {
			t.Fatal(err)
		}
		mine, _ := json.Marshal(map[string]string{"note": m("conflictmine")})
		theirs, _ := json.Marshal(map[string]string{"note": m("conflicttheirs")})
		if err := db.AddConflict(ctx, lane.Conflict{Entity: lane.EntityPatient, EntityID: string(p.ID), PatientID: p.ID, Mine: mine, Theirs: theirs}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.SaveUser(ctx, tech, localdb.User{ID: "u-9", Login: m("login"), DisplayName: m("displayname"),
		Verifier: []byte(m("verifier")), TOTPSecret: []byte(m("totp"))}); err != nil {
		t.Fatal(err)
	}
	pend, _ := db.PendingChanges(ctx, 1)
	if err := db.MarkAttempt(ctx, pend[0].Seq, "server said: "+m("servererror")); err != nil {
		t.Fatal(err)
	}
	// Exercise the in-memory name index too (it must not spill to disk).
	if _, err := db.FindPatients(ctx, lane.PatientQuery{NameContains: markers["family"]}); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := db.Backup(ctx, tech, backup); err != nil {
		t.Fatal(err)
	}
	// Scan while the database is open (WAL and SHM present), then after
	// close.
	files := []string{cfg.Path, cfg.Path + "-wal", cfg.Path + "-shm", backup}
	scan := func(stage string) {
		scanned := 0
		for _, f := range files {
			b, err := os.ReadFile(f)
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			scanned += len(b)
			for field, mk := range markers {
				for enc, needle := range map[string][]byte{"utf-8": []byte(mk), "utf-16le": utf16Bytes(mk, false), "utf-16be": utf16Bytes(mk, true)} {
					if bytes.Contains(b, needle) {
						t.Errorf("%s: %s marker found in %s as %s", stage, field, filepath.Base(f), enc)
					}
				}
			}
			if bytes.Contains(b, []byte("1913-07-29")) || bytes.Contains(b, []byte(`"Year":1913`)) {
				t.Errorf("%s: birth date found in %s", stage, filepath.Base(f))
			}
		}
		t.Logf("%s: scanned %d bytes in %d files for %d markers × 3 encodings: no hit", stage, scanned, len(files), len(markers))
	}
	if _, err := os.Stat(cfg.Path + "-wal"); err != nil {
		t.Fatalf("no WAL file while open: %v", err)
	}
	scan("open")
	db.Close()
	scan("closed")

	// The test can fail: the same scan finds the markers in an unsealed
	// benchmark database.
	plain := localdb.Config{Path: filepath.Join(t.TempDir(), localdb.FileName), UnsafeNoSeal: true}
	pdb := openDB(t, plain)
	p := lanetest.SyntheticPatient(markers["family"], "x")
	if _, err := pdb.SavePatient(ctx, tech, p); err != nil {
		t.Fatal(err)
	}
	pdb.Close()
	b, _ := os.ReadFile(plain.Path)
	if !bytes.Contains(b, []byte(markers["family"])) {
		t.Fatal("scanner control: marker not found in an unsealed database")
	}
}
