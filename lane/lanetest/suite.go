package lanetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
)

// FullStore is a store that also serves the sync client.
type FullStore interface {
	lane.Store
	lane.SyncStore
}

// Actors used by the suites.
var (
	Tech = lane.Actor{User: "u-tech", Roles: []lane.Role{lane.RoleTechnician}, Lane: "lane-1", Device: "dev-1"}
	OD   = lane.Actor{User: "u-od", Roles: []lane.Role{lane.RoleOptometrist}, Lane: "lane-1", Device: "dev-1"}
)

// T0 is the time the suites' records are made at.
var T0 = time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)

// SyntheticPatient returns a synthetic patient (no real person) with the
// given family name and MRN.
func SyntheticPatient(family, mrn string) lane.Patient {
	return lane.Patient{MRN: mrn, Name: lane.Name{Family: family, Given: []string{"Testa"}}, BirthDate: lane.Date{Year: 1980, Month: 5, Day: 17},
		Sex: lane.SexFemale, Phone: "+1 555 0100", Email: "testa@example.invalid", Address: lane.Address{Lines: []string{"1 Example Way"}, City: "Testville"}}
}

func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("%s:\n got  %s\n want %s", what, g, w)
	}
}

func mustErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// RunStoreSuite checks that stores made by newStore behave as lane.Store
// promises. Each subtest gets a fresh store.
func RunStoreSuite(t *testing.T, newStore func(t *testing.T) lane.Store) {
	ctx := context.Background()
	t.Run("PatientVersions", func(t *testing.T) {
		s := newStore(t)
		p := must[lane.Patient](t, "create")(s.SavePatient(ctx, Tech, SyntheticPatient("Quill", "M-1")))
		if p.ID == "" || p.Version != 1 {
			t.Fatalf("created patient id=%q version=%d, want an id and version 1", p.ID, p.Version)
		}
		got := must[lane.Patient](t, "get")(s.GetPatient(ctx, p.ID))
		sameJSON(t, "GetPatient", got, p)

		p.Phone = "+1 555 0199"
		p2 := must[lane.Patient](t, "update")(s.SavePatient(ctx, Tech, p))
		if p2.Version != 2 {
			t.Errorf("updated version = %d, want 2", p2.Version)
		}
		_, err := s.SavePatient(ctx, Tech, p) // stale version 1
		mustErr(t, "stale save", err, lane.ErrConflict)
		stale := p
		stale.Version = 0
		_, err = s.SavePatient(ctx, Tech, stale)
		mustErr(t, "create over existing", err, lane.ErrConflict)
		got = must[lane.Patient](t, "get after conflict")(s.GetPatient(ctx, p.ID))
		sameJSON(t, "patient after refused saves", got, p2)

		_, err = s.GetPatient(ctx, "no-such-patient")
		mustErr(t, "get unknown", err, lane.ErrNotFound)
		ghost := SyntheticPatient("Ghost", "M-0")
		ghost.ID, ghost.Version = "no-such-patient", 3
		_, err = s.SavePatient(ctx, Tech, ghost)
		mustErr(t, "update unknown", err, lane.ErrNotFound)
		bad := SyntheticPatient("", "M-2")
		_, err = s.SavePatient(ctx, Tech, bad)
		mustErr(t, "no family name", err, lane.ErrInvalid)
		_, err = s.SavePatient(ctx, lane.Actor{}, SyntheticPatient("Nobody", "M-3"))
		mustErr(t, "no actor", err, lane.ErrInvalid)
	})

	t.Run("FindPatients", func(t *testing.T) {
		s := newStore(t)
		a := SyntheticPatient("Zephyr", "MRN-0042")
		a.Name.Given = []string{"Ada", "Mae"}
		b := SyntheticPatient("zephyr", "MRN-0043")
		b.Name.Given = []string{"Bo"}
		b.BirthDate = lane.Date{Year: 1990, Month: 1, Day: 2}
		c := SyntheticPatient("Abbot", "MRN-0044")
		a = must[lane.Patient](t, "save a")(s.SavePatient(ctx, Tech, a))
		b = must[lane.Patient](t, "save b")(s.SavePatient(ctx, Tech, b))
		c = must[lane.Patient](t, "save c")(s.SavePatient(ctx, Tech, c))
		ids := func(ps []lane.Patient) string {
			var out []string
			for _, p := range ps {
				out = append(out, string(p.ID))
			}
			return fmt.Sprint(out)
		}
		for _, tt := range []struct {
			name string
			q    lane.PatientQuery
			want []lane.Patient
		}{
			{"mrn folded", lane.PatientQuery{MRN: "  mrn-0042 "}, []lane.Patient{a}},
			{"mrn unknown", lane.PatientQuery{MRN: "MRN-9"}, nil},
			{"family+dob", lane.PatientQuery{Family: "ZEPHYR", BirthDate: b.BirthDate}, []lane.Patient{b}},
			{"name words any order", lane.PatientQuery{NameContains: "mae ZEPH"}, []lane.Patient{a}},
			{"name part", lane.PatientQuery{NameContains: "zeph"}, []lane.Patient{a, b}},
			{"limit", lane.PatientQuery{NameContains: "e", Limit: 2}, []lane.Patient{c, a}},
			{"all sorted", lane.PatientQuery{}, []lane.Patient{c, a, b}},
		} {
			got, err := s.FindPatients(ctx, tt.q)
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			if ids(got) != ids(tt.want) {
				t.Errorf("%s: got %s, want %s", tt.name, ids(got), ids(tt.want))
			}
		}
		// An edited name is found under the new name only.
		a.Name.Family = "Quasar"
		must[lane.Patient](t, "rename")(s.SavePatient(ctx, Tech, a))
		if got, _ := s.FindPatients(ctx, lane.PatientQuery{NameContains: "zephyr"}); ids(got) != ids([]lane.Patient{b}) {
			t.Errorf("after rename, zephyr finds %s", ids(got))
		}
		if got, _ := s.FindPatients(ctx, lane.PatientQuery{NameContains: "quasar"}); len(got) != 1 {
			t.Errorf("after rename, quasar finds %d", len(got))
		}
		_, err := s.FindPatients(ctx, lane.PatientQuery{Family: "Zephyr"})
		mustErr(t, "family without birth date", err, lane.ErrInvalid)
	})

	t.Run("Appointments", func(t *testing.T) {
		s := newStore(t)
		p := must[lane.Patient](t, "patient")(s.SavePatient(ctx, Tech, SyntheticPatient("Ames", "A-1")))
		mk := func(h int, loc string) lane.Appointment {
			a := lane.Appointment{PatientID: p.ID, Start: T0.Add(time.Duration(h) * time.Hour), End: T0.Add(time.Duration(h)*time.Hour + 30*time.Minute),
				Location: loc, Reason: "Routine eye exam", Status: lane.ApptBooked}
			return must[lane.Appointment](t, "save appt")(s.SaveAppointment(ctx, Tech, a))
		}
		a3, a1, a2 := mk(3, "north"), mk(1, "north"), mk(2, "south")
		got := must[[]lane.Appointment](t, "list")(s.ListAppointments(ctx, lane.AppointmentFilter{From: T0, To: T0.Add(24 * time.Hour)}))
		sameJSON(t, "all appointments by start", got, []lane.Appointment{a1, a2, a3})
		got = must[[]lane.Appointment](t, "list north")(s.ListAppointments(ctx, lane.AppointmentFilter{From: T0, To: T0.Add(24 * time.Hour), Location: "north"}))
		sameJSON(t, "north", got, []lane.Appointment{a1, a3})
		// [From, To) overlap: an appointment ending exactly at From is out.
		got = must[[]lane.Appointment](t, "overlap")(s.ListAppointments(ctx, lane.AppointmentFilter{From: a1.End, To: a2.Start.Add(time.Minute)}))
		sameJSON(t, "overlap", got, []lane.Appointment{a2})
		_, err := s.SaveAppointment(ctx, Tech, lane.Appointment{PatientID: "no-such", Start: T0, End: T0.Add(time.Hour)})
		mustErr(t, "appointment of unknown patient", err, lane.ErrNotFound)
	})

	t.Run("SignedEncounterImmutable", func(t *testing.T) {
		s := newStore(t)
		p := must[lane.Patient](t, "patient")(s.SavePatient(ctx, Tech, SyntheticPatient("Bell", "B-1")))
		e := must[lane.Encounter](t, "create")(s.SaveEncounter(ctx, OD, lane.Encounter{PatientID: p.ID, Status: lane.EncExam, Start: T0,
			Assessment: "stable", Clinician: OD.User}))
		e.SignedBy, e.SignedAt = OD.User, T0.Add(time.Hour)
		e = must[lane.Encounter](t, "sign")(s.SaveEncounter(ctx, OD, e))
		edited := e
		edited.Assessment = "changed after signing"
		_, err := s.SaveEncounter(ctx, OD, edited)
		mustErr(t, "edit signed", err, lane.ErrImmutable)
		got := must[lane.Encounter](t, "get")(s.GetEncounter(ctx, e.ID))
		sameJSON(t, "signed encounter unchanged", got, e)
		e.Status = lane.EncDone
		e.Addenda = append(e.Addenda, lane.Addendum{Author: OD.User, At: T0.Add(2 * time.Hour), Text: "addendum"})
		e = must[lane.Encounter](t, "addendum")(s.SaveEncounter(ctx, OD, e))
		if e.Version != 3 || len(e.Addenda) != 1 {
			t.Errorf("after addendum version=%d addenda=%d", e.Version, len(e.Addenda))
		}
		e.Addenda = nil
		_, err = s.SaveEncounter(ctx, OD, e)
		mustErr(t, "remove addendum", err, lane.ErrImmutable)
		_, err = s.GetEncounter(ctx, "no-such")
		mustErr(t, "get unknown", err, lane.ErrNotFound)
		evs := must[[]lane.AuditEvent](t, "audit")(s.ListAudit(ctx, lane.AuditFilter{PatientID: p.ID}))
		signs := 0
		for _, ev := range evs {
			if ev.Action == lane.AuditSign {
				signs++
			}
		}
		if signs != 1 {
			t.Errorf("sign audit events = %d, want 1", signs)
		}
	})

	t.Run("MeasurementsAndTombstones", func(t *testing.T) {
		s := newStore(t)
		p := must[lane.Patient](t, "patient")(s.SavePatient(ctx, Tech, SyntheticPatient("Cole", "C-1")))
		mk := func(min int, k lane.Kind) lane.Measurement {
			m := lane.Measurement{PatientID: p.ID, EncounterID: "enc-1", Kind: k, Eye: lane.EyeRight, Source: lane.SourceAutorefraction,
				ReceivedAt: T0.Add(time.Duration(min) * time.Minute)}
			switch k {
			case lane.KindIOP:
				m.IOP = &lane.IOP{Pressure: 155, Method: lane.IOPNonContact}
			default:
				m.Refraction = &lane.Refraction{Sphere: -1250, Cylinder: -500, Axis: 90}
			}
			return must[lane.Measurement](t, "save")(s.SaveMeasurement(ctx, Tech, m))
		}
		m2, m1, m3 := mk(2, lane.KindRefraction), mk(1, lane.KindIOP), mk(3, lane.KindRefraction)
		all := must[[]lane.Measurement](t, "list")(s.ListMeasurements(ctx, lane.MeasurementFilter{PatientID: p.ID}))
		sameJSON(t, "measurements by time", all, []lane.Measurement{m1, m2, m3})
		iop := must[[]lane.Measurement](t, "list iop")(s.ListMeasurements(ctx, lane.MeasurementFilter{PatientID: p.ID, Kind: lane.KindIOP}))
		sameJSON(t, "iop only", iop, []lane.Measurement{m1})

		err := s.DeleteMeasurement(ctx, Tech, m2.ID, m2.Version)
		mustErr(t, "delete without reason", err, lane.ErrInvalid)
		why := Tech
		why.Reason = "entered on the wrong eye"
		err = s.DeleteMeasurement(ctx, why, m2.ID, m2.Version+1)
		mustErr(t, "delete stale version", err, lane.ErrConflict)
		if err := s.DeleteMeasurement(ctx, why, m2.ID, m2.Version); err != nil {
			t.Fatalf("delete: %v", err)
		}
		err = s.DeleteMeasurement(ctx, why, m2.ID, m2.Version+1)
		mustErr(t, "delete twice", err, lane.ErrNotFound)
		all = must[[]lane.Measurement](t, "list after delete")(s.ListMeasurements(ctx, lane.MeasurementFilter{PatientID: p.ID}))
		sameJSON(t, "after delete", all, []lane.Measurement{m1, m3})
		_, err = s.SaveMeasurement(ctx, Tech, m2)
		mustErr(t, "save over tombstone", err, lane.ErrNotFound)
		_, err = s.SaveMeasurement(ctx, Tech, lane.Measurement{PatientID: "no-such", Kind: lane.KindIOP, IOP: &lane.IOP{Pressure: 100}})
		mustErr(t, "measurement of unknown patient", err, lane.ErrNotFound)
		var del *lane.AuditEvent
		for _, ev := range must[[]lane.AuditEvent](t, "audit")(s.ListAudit(ctx, lane.AuditFilter{PatientID: p.ID})) {
			if ev.Action == lane.AuditDelete {
				ev := ev
				del = &ev
			}
		}
		if del == nil || del.Reason != why.Reason || del.User != why.User {
			t.Errorf("delete audit event = %+v, want one with the reason and user", del)
		}
	})

	t.Run("CapturesImagesChart", func(t *testing.T) {
		s := newStore(t)
		p := must[lane.Patient](t, "patient")(s.SavePatient(ctx, Tech, SyntheticPatient("Dunn", "D-1")))
		raw := []byte("\x02DRM  -1.25 -0.50 090\x03")
		c := lane.Capture{ID: "cap-1", Format: "test", ReceivedAt: T0, Raw: raw}
		if err := s.SaveCapture(ctx, Tech, c); err != nil {
			t.Fatal(err)
		}
		got := must[lane.Capture](t, "get capture")(s.GetCapture(ctx, "cap-1"))
		if !bytes.Equal(got.Raw, raw) {
			t.Errorf("capture raw = %q", got.Raw)
		}
		un := must[[]lane.Capture](t, "unassigned")(s.ListCaptures(ctx, lane.CaptureFilter{Unassigned: true}))
		if len(un) != 1 || un[0].Raw != nil {
			t.Errorf("unassigned captures = %+v, want one without Raw", un)
		}
		c.PatientID = p.ID
		if err := s.SaveCapture(ctx, Tech, c); err != nil {
			t.Fatalf("assign capture: %v", err)
		}
		if un, _ := s.ListCaptures(ctx, lane.CaptureFilter{Unassigned: true}); len(un) != 0 {
			t.Errorf("assigned capture still unassigned")
		}
		if mine, _ := s.ListCaptures(ctx, lane.CaptureFilter{PatientID: p.ID}); len(mine) != 1 {
			t.Errorf("patient captures = %d", len(mine))
		}
		c.Raw, c.SHA256 = []byte("other bytes"), [32]byte{}
		mustErr(t, "change raw bytes", s.SaveCapture(ctx, Tech, c), lane.ErrConflict)
		_, err := s.GetCapture(ctx, "no-such")
		mustErr(t, "get unknown capture", err, lane.ErrNotFound)

		data := bytes.Repeat([]byte{0xff, 0xd8, 0x42}, 1000)
		img := must[lane.Image](t, "image")(s.SaveImage(ctx, Tech, lane.Image{PatientID: p.ID, Eye: lane.EyeLeft, Kind: lane.ImageColor,
			CapturedAt: T0, MediaType: "image/jpeg"}, data))
		if img.Size != int64(len(data)) || img.SHA256 == ([32]byte{}) {
			t.Errorf("image size/hash not set: %d", img.Size)
		}
		if d := must[[]byte](t, "image data")(s.ImageData(ctx, img.ID)); !bytes.Equal(d, data) {
			t.Error("image data differs")
		}
		_, err = s.ImageData(ctx, "no-such")
		mustErr(t, "unknown image data", err, lane.ErrNotFound)
		an := must[lane.Annotation](t, "annotation")(s.SaveAnnotation(ctx, OD, lane.Annotation{ImageID: img.ID, Kind: lane.AnnotCircle,
			Points: []lane.Point{{X: 1, Y: 2}}, Author: OD.User, At: T0}))
		sameJSON(t, "annotations", must[[]lane.Annotation](t, "list annotations")(s.ListAnnotations(ctx, img.ID)), []lane.Annotation{an})

		e1 := must[lane.Encounter](t, "enc1")(s.SaveEncounter(ctx, OD, lane.Encounter{PatientID: p.ID, Start: T0.AddDate(-1, 0, 0)}))
		e2 := must[lane.Encounter](t, "enc2")(s.SaveEncounter(ctx, OD, lane.Encounter{PatientID: p.ID, Start: T0}))
		rx := must[lane.SpectacleRx](t, "rx")(s.SaveSpectacleRx(ctx, OD, lane.SpectacleRx{PatientID: p.ID, EncounterID: e2.ID,
			Right: lane.Refraction{Sphere: -1000}, Left: lane.Refraction{Sphere: -750}, Issued: lane.DateOf(T0)}))
		ch := must[lane.Chart](t, "chart")(s.Chart(ctx, p.ID))
		sameJSON(t, "chart patient", ch.Patient, p)
		sameJSON(t, "chart encounters newest first", ch.Encounters, []lane.Encounter{e2, e1})
		sameJSON(t, "chart rx", ch.Prescriptions, []lane.SpectacleRx{rx})
		sameJSON(t, "chart images", ch.Images, []lane.Image{img})
		_, err = s.Chart(ctx, "no-such")
		mustErr(t, "chart of unknown", err, lane.ErrNotFound)
	})

	t.Run("ContactLensRx", func(t *testing.T) {
		s := newStore(t)
		p := must[lane.Patient](t, "patient")(s.SavePatient(ctx, Tech, SyntheticPatient("Lenz", "L-1")))
		e := must[lane.Encounter](t, "encounter")(s.SaveEncounter(ctx, OD, lane.Encounter{PatientID: p.ID, Start: T0}))
		rx := lane.ContactLensRx{PatientID: p.ID, EncounterID: e.ID, Issued: lane.DateOf(T0), Prescriber: OD.User,
			Right: lane.ContactLens{Brand: "Example Daily", BaseCurve: 860, Diameter: 1420, Power: lane.Refraction{Sphere: -2500}},
			Left:  lane.ContactLens{Brand: "Example Toric", BaseCurve: 870, Diameter: 1450, Power: lane.Refraction{Sphere: -2000, Cylinder: -750, Axis: 10}}}
		cl := must[lane.ContactLensRx](t, "create")(s.SaveContactLensRx(ctx, OD, rx))
		if cl.ID == "" || cl.Version != 1 {
			t.Fatalf("created contact lens rx id=%q version=%d, want an id and version 1", cl.ID, cl.Version)
		}
		cl.Left.Power.Sphere = -1750
		cl2 := must[lane.ContactLensRx](t, "update")(s.SaveContactLensRx(ctx, OD, cl))
		if cl2.Version != 2 || cl2.Left.Power.Sphere != -1750 {
			t.Errorf("updated rx version=%d left sphere=%d, want 2 and -1750", cl2.Version, cl2.Left.Power.Sphere)
		}
		_, err := s.SaveContactLensRx(ctx, OD, cl) // stale version 1
		mustErr(t, "stale save", err, lane.ErrConflict)
		orphan := rx
		orphan.PatientID = ""
		_, err = s.SaveContactLensRx(ctx, OD, orphan)
		mustErr(t, "no patient", err, lane.ErrInvalid)
		_, err = s.SaveContactLensRx(ctx, lane.Actor{}, rx)
		mustErr(t, "no actor", err, lane.ErrInvalid)

		ch := must[lane.Chart](t, "chart")(s.Chart(ctx, p.ID))
		sameJSON(t, "chart contact lenses", ch.ContactLenses, []lane.ContactLensRx{cl2})
		if len(ch.Prescriptions) != 0 {
			t.Errorf("chart spectacle prescriptions = %+v, want none (a contact lens rx is not one)", ch.Prescriptions)
		}
		creates := 0
		for _, ev := range must[[]lane.AuditEvent](t, "audit")(s.ListAudit(ctx, lane.AuditFilter{PatientID: p.ID, User: OD.User})) {
			if ev.Action == lane.AuditCreate || ev.Action == lane.AuditUpdate {
				creates++
			}
		}
		if creates != 3 { // encounter, rx, rx update
			t.Errorf("create/update audit events by the optometrist = %d, want 3", creates)
		}
	})

	t.Run("Audit", func(t *testing.T) {
		s := newStore(t)
		p := must[lane.Patient](t, "patient")(s.SavePatient(ctx, Tech, SyntheticPatient("Eads", "E-1")))
		for i := 0; i < 3; i++ {
			if err := s.Audit(ctx, lane.AuditEvent{User: OD.User, Action: lane.AuditView, PatientID: p.ID, Entity: "Patient/" + string(p.ID),
				Detail: fmt.Sprintf("view %d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		mustErr(t, "audit without user", s.Audit(ctx, lane.AuditEvent{Action: lane.AuditView}), lane.ErrInvalid)
		all := must[[]lane.AuditEvent](t, "list")(s.ListAudit(ctx, lane.AuditFilter{PatientID: p.ID}))
		if len(all) != 4 || all[0].Action != lane.AuditCreate || all[0].User != Tech.User {
			t.Fatalf("audit of patient = %+v, want create then 3 views", all)
		}
		for i := 1; i < len(all); i++ {
			if all[i].Seq <= all[i-1].Seq || all[i].ID == "" || all[i].At.IsZero() {
				t.Errorf("event %d: seq/id/at not filled in order: %+v", i, all[i])
			}
		}
		last := must[[]lane.AuditEvent](t, "limit")(s.ListAudit(ctx, lane.AuditFilter{PatientID: p.ID, Limit: 2}))
		if len(last) != 2 || last[0].Detail != "view 1" || last[1].Detail != "view 2" {
			t.Errorf("limit 2 = %+v, want the two most recent, oldest first", last)
		}
		byUser := must[[]lane.AuditEvent](t, "by user")(s.ListAudit(ctx, lane.AuditFilter{User: OD.User}))
		if len(byUser) != 3 {
			t.Errorf("events by %s = %d, want 3", OD.User, len(byUser))
		}
	})
}

// RunSyncStoreSuite checks the sync-facing contract of stores made by
// newStore: outbox order and contents, delivery marking, server refs, the
// ApplyRemote conflict rule, watermarks and conflict parking.
func RunSyncStoreSuite(t *testing.T, newStore func(t *testing.T) FullStore) {
	ctx := context.Background()
	records := func(t *testing.T, s FullStore, entity string) []lane.OutboxEntry {
		t.Helper()
		var out []lane.OutboxEntry
		for _, e := range must[[]lane.OutboxEntry](t, "pending")(s.PendingChanges(ctx, 0)) {
			if e.Entity == entity {
				out = append(out, e)
			}
		}
		return out
	}

	t.Run("OutboxOrderAndPush", func(t *testing.T) {
		s := newStore(t)
		p := must[lane.Patient](t, "create")(s.SavePatient(ctx, Tech, SyntheticPatient("Fay", "F-1")))
		p.Note = "edited"
		p = must[lane.Patient](t, "update")(s.SavePatient(ctx, Tech, p))
		all := must[[]lane.OutboxEntry](t, "pending")(s.PendingChanges(ctx, 0))
		for i := 1; i < len(all); i++ {
			if all[i].Seq <= all[i-1].Seq {
				t.Fatalf("outbox not in Seq order: %d then %d", all[i-1].Seq, all[i].Seq)
			}
		}
		if got := must[[]lane.OutboxEntry](t, "limit")(s.PendingChanges(ctx, 1)); len(got) != 1 || got[0].Seq != all[0].Seq {
			t.Errorf("PendingChanges(1) = %+v", got)
		}
		pe := records(t, s, lane.EntityPatient)
		if len(pe) != 2 || pe[0].Op != lane.OpCreate || pe[1].Op != lane.OpUpdate || pe[0].LocalVersion != 1 || pe[1].LocalVersion != 2 {
			t.Fatalf("patient outbox = %+v, want create v1 then update v2", pe)
		}
		if pe[0].IdempotencyKey == "" || pe[0].IdempotencyKey == pe[1].IdempotencyKey || pe[0].ID != string(p.ID) || pe[0].Actor.User != Tech.User {
			t.Errorf("outbox entries lack distinct idempotency keys, id or actor: %+v", pe)
		}
		if len(records(t, s, lane.EntityAudit)) < 2 {
			t.Errorf("audit events are not queued for the server")
		}
		rec := must[any](t, "record")(s.Record(ctx, lane.EntityPatient, string(p.ID)))
		sameJSON(t, "Record", rec, p)
		_, err := s.Record(ctx, lane.EntityPatient, "no-such")
		mustErr(t, "record unknown", err, lane.ErrNotFound)

		if err := s.MarkAttempt(ctx, pe[0].Seq, "server unreachable"); err != nil {
			t.Fatal(err)
		}
		if again := records(t, s, lane.EntityPatient); again[0].Attempts != 1 || again[0].LastError != "server unreachable" {
			t.Errorf("after MarkAttempt: %+v", again[0])
		}
		if err := s.MarkPushed(ctx, pe[0].Seq, "srv-77", "1"); err != nil {
			t.Fatal(err)
		}
		mustErr(t, "push twice", s.MarkPushed(ctx, pe[0].Seq, "srv-77", "1"), lane.ErrNotFound)
		mustErr(t, "attempt unknown", s.MarkAttempt(ctx, 1<<40, "x"), lane.ErrNotFound)
		sid, sv := must2(t, "server ref")(s.ServerRef(ctx, lane.EntityPatient, string(p.ID)))
		if sid != "srv-77" || sv != "1" {
			t.Errorf("ServerRef = %q %q", sid, sv)
		}
		if lid := must[string](t, "local id")(s.LocalID(ctx, lane.EntityPatient, "srv-77")); lid != string(p.ID) {
			t.Errorf("LocalID = %q", lid)
		}
		_, err = s.LocalID(ctx, lane.EntityPatient, "srv-unknown")
		mustErr(t, "LocalID unknown", err, lane.ErrNotFound)
		if sid, sv, _ := s.ServerRef(ctx, lane.EntityPatient, "no-such"); sid != "" || sv != "" {
			t.Errorf("ServerRef of unknown = %q %q", sid, sv)
		}
		// A change after the push is based on the server's version.
		p.Phone = "+1 555 0111"
		must[lane.Patient](t, "update after push")(s.SavePatient(ctx, Tech, p))
		pe = records(t, s, lane.EntityPatient)
		if len(pe) != 2 || pe[1].BaseVersion != "1" {
			t.Errorf("update after push = %+v, want base version 1", pe)
		}

		// A delete is queued with its op and Record returns the tombstone.
		m := must[lane.Measurement](t, "measurement")(s.SaveMeasurement(ctx, Tech, lane.Measurement{PatientID: p.ID, Kind: lane.KindIOP, IOP: &lane.IOP{Pressure: 150}}))
		why := Tech
		why.Reason = "duplicate"
		if err := s.DeleteMeasurement(ctx, why, m.ID, m.Version); err != nil {
			t.Fatal(err)
		}
		me := records(t, s, lane.EntityMeasurement)
		if len(me) != 2 || me[1].Op != lane.OpDelete || me[1].LocalVersion != 2 {
			t.Errorf("measurement outbox = %+v, want create then delete v2", me)
		}
		tomb := must[any](t, "tombstone")(s.Record(ctx, lane.EntityMeasurement, string(m.ID)))
		if tm, ok := tomb.(lane.Measurement); !ok || !tm.Deleted || tm.Version != 2 || tm.IOP == nil {
			t.Errorf("Record of deleted measurement = %+v, want a tombstone with the prior content", tomb)
		}
	})

	t.Run("ApplyRemote", func(t *testing.T) {
		s := newStore(t)
		remote := SyntheticPatient("Gale", "G-1")
		remote.ID = "srv-p1"
		if err := s.ApplyRemote(ctx, remote, "srv-p1", "5"); err != nil {
			t.Fatal(err)
		}
		if got := records(t, s, lane.EntityPatient); len(got) != 0 {
			t.Errorf("ApplyRemote queued %d outbox entries", len(got))
		}
		p := must[lane.Patient](t, "get")(s.GetPatient(ctx, "srv-p1"))
		if p.MRN != "G-1" || p.Version != 1 {
			t.Errorf("applied patient = %+v", p)
		}
		if sid, sv, _ := s.ServerRef(ctx, lane.EntityPatient, "srv-p1"); sid != "srv-p1" || sv != "5" {
			t.Errorf("ServerRef after ApplyRemote = %q %q", sid, sv)
		}
		if lid, _ := s.LocalID(ctx, lane.EntityPatient, "srv-p1"); lid != "srv-p1" {
			t.Errorf("LocalID after ApplyRemote = %q", lid)
		}
		remote.Note = "server edit"
		if err := s.ApplyRemote(ctx, remote, "srv-p1", "6"); err != nil {
			t.Fatalf("second apply: %v", err)
		}
		// A local edit is pending: the next remote change must not land.
		p = must[lane.Patient](t, "get")(s.GetPatient(ctx, "srv-p1"))
		p.Phone = "+1 555 0123"
		p = must[lane.Patient](t, "local edit")(s.SavePatient(ctx, Tech, p))
		remote.Note = "another server edit"
		mustErr(t, "apply over local change", s.ApplyRemote(ctx, remote, "srv-p1", "7"), lane.ErrConflict)
		mustErr(t, "delete over local change", s.ApplyRemoteDelete(ctx, lane.EntityPatient, "srv-p1", "7"), lane.ErrConflict)
		sameJSON(t, "local work kept", must[lane.Patient](t, "get")(s.GetPatient(ctx, "srv-p1")), p)
		if _, sv, _ := s.ServerRef(ctx, lane.EntityPatient, "srv-p1"); sv != "6" {
			t.Errorf("server version after refused apply = %q, want 6", sv)
		}
		// A child of an unknown patient is refused.
		err := s.ApplyRemote(ctx, lane.Encounter{ID: "srv-e9", PatientID: "srv-unknown", Start: T0}, "srv-e9", "1")
		mustErr(t, "child of unknown patient", err, lane.ErrNotFound)
		// Remote delete of a record without local changes.
		enc := lane.Encounter{ID: "srv-e1", PatientID: "srv-p1", Start: T0}
		if err := s.ApplyRemote(ctx, enc, "srv-e1", "1"); err != nil {
			t.Fatal(err)
		}
		if err := s.ApplyRemoteDelete(ctx, lane.EntityEncounter, "srv-e1", "2"); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetEncounter(ctx, "srv-e1")
		mustErr(t, "get remotely deleted", err, lane.ErrNotFound)
		if r, _ := s.Record(ctx, lane.EntityEncounter, "srv-e1"); r == nil || !r.(lane.Encounter).Deleted {
			t.Errorf("Record after remote delete = %+v", r)
		}
		if err := s.ApplyRemoteDelete(ctx, lane.EntityEncounter, "srv-never-seen", "3"); err != nil {
			t.Errorf("remote delete of unknown record: %v", err)
		}
	})

	t.Run("Watermarks", func(t *testing.T) {
		s := newStore(t)
		if w := must[string](t, "empty")(s.Watermark(ctx, "Patient")); w != "" {
			t.Errorf("unset watermark = %q", w)
		}
		for _, v := range []string{"2025-03-04T09:00:00Z", "2025-03-04T10:00:00Z"} {
			if err := s.SetWatermark(ctx, "Patient", v); err != nil {
				t.Fatal(err)
			}
			if w := must[string](t, "get")(s.Watermark(ctx, "Patient")); w != v {
				t.Errorf("watermark = %q, want %q", w, v)
			}
		}
	})

	t.Run("ConflictParking", func(t *testing.T) {
		s := newStore(t)
		p := SyntheticPatient("Hale", "H-1")
		p.ID = "srv-h"
		if err := s.ApplyRemote(ctx, p, "srv-h", "3"); err != nil {
			t.Fatal(err)
		}
		p = must[lane.Patient](t, "get")(s.GetPatient(ctx, "srv-h"))
		p.Note = "mine"
		mine := must[lane.Patient](t, "local edit")(s.SavePatient(ctx, Tech, p))
		other := must[lane.Patient](t, "other")(s.SavePatient(ctx, Tech, SyntheticPatient("Ives", "I-1")))
		theirs := mine
		theirs.Note = "theirs"
		mj, _ := json.Marshal(mine)
		tj, _ := json.Marshal(theirs)
		if err := s.AddConflict(ctx, lane.Conflict{Entity: lane.EntityPatient, EntityID: "srv-h", PatientID: "srv-h", Mine: mj, Theirs: tj, TheirsVersion: "4"}); err != nil {
			t.Fatal(err)
		}
		pe := records(t, s, lane.EntityPatient)
		if len(pe) != 1 || pe[0].ID != string(other.ID) {
			t.Fatalf("pending after conflict = %+v, want only the other patient's entry (conflicted one parked)", pe)
		}
		cs := must[[]lane.Conflict](t, "conflicts")(s.Conflicts(ctx, false))
		if len(cs) != 1 || cs[0].ID == "" || string(cs[0].Mine) != string(mj) || string(cs[0].Theirs) != string(tj) || cs[0].TheirsVersion != "4" {
			t.Fatalf("conflicts = %+v", cs)
		}
		mustErr(t, "resolve unknown", s.ResolveConflict(ctx, "no-such", lane.ResolveKeepMine, OD, mine), lane.ErrNotFound)
		mustErr(t, "resolve bad how", s.ResolveConflict(ctx, cs[0].ID, "coin-toss", OD, mine), lane.ErrInvalid)
		if err := s.ResolveConflict(ctx, cs[0].ID, lane.ResolveKeepMine, OD, mine); err != nil {
			t.Fatal(err)
		}
		pe = records(t, s, lane.EntityPatient)
		if len(pe) != 2 || pe[1].ID != "srv-h" || pe[1].BaseVersion != "4" || pe[1].Op != lane.OpUpdate {
			t.Errorf("after keep-mine pending = %+v, want a re-queued update on version 4", pe)
		}
		if open := must[[]lane.Conflict](t, "open")(s.Conflicts(ctx, false)); len(open) != 0 {
			t.Errorf("open conflicts after resolve = %d", len(open))
		}
		done := must[[]lane.Conflict](t, "all")(s.Conflicts(ctx, true))
		if len(done) != 1 || done[0].Resolution != lane.ResolveKeepMine || done[0].ResolvedBy != OD.User || done[0].Resolved.IsZero() {
			t.Errorf("resolved conflict = %+v", done)
		}
		mustErr(t, "resolve twice", s.ResolveConflict(ctx, cs[0].ID, lane.ResolveKeepMine, OD, mine), lane.ErrConflict)

		// take-theirs applies the server's record without an outbox entry.
		cur := must[lane.Patient](t, "get")(s.GetPatient(ctx, "srv-h"))
		cur.Note = "mine again"
		must[lane.Patient](t, "edit")(s.SavePatient(ctx, Tech, cur))
		if err := s.AddConflict(ctx, lane.Conflict{Entity: lane.EntityPatient, EntityID: "srv-h", PatientID: "srv-h", TheirsVersion: "9"}); err != nil {
			t.Fatal(err)
		}
		cs = must[[]lane.Conflict](t, "conflicts")(s.Conflicts(ctx, false))
		if err := s.ResolveConflict(ctx, cs[0].ID, lane.ResolveTakeTheirs, OD, theirs); err != nil {
			t.Fatal(err)
		}
		for _, e := range records(t, s, lane.EntityPatient) {
			if e.ID == "srv-h" {
				t.Errorf("take-theirs left an outbox entry: %+v", e)
			}
		}
		if got := must[lane.Patient](t, "get")(s.GetPatient(ctx, "srv-h")); got.Note != "theirs" {
			t.Errorf("after take-theirs note = %q", got.Note)
		}
		if _, sv, _ := s.ServerRef(ctx, lane.EntityPatient, "srv-h"); sv != "9" {
			t.Errorf("server version after take-theirs = %q", sv)
		}
	})
}

func must2(t *testing.T, what string) func(string, string, error) (string, string) {
	return func(a, b string, err error) (string, string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return a, b
	}
}
