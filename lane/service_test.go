package lane_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// fixture is a lane with one patient booked today, one not booked, and an
// open encounter for the booked patient.
type fixture struct {
	svc    *lane.Service
	store  *lanetest.Store
	clock  *lanetest.ManualClock
	booked lane.PatientID
	other  lane.PatientID
	enc    lane.Encounter
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := lanetest.NewManualClock(t0)
	st := lanetest.NewStore(clock)
	sys := lane.Actor{User: "setup", Roles: []lane.Role{lane.RoleAdmin}, Lane: "lane-1"}
	mk := func(id, family string) lane.PatientID {
		p, err := st.SavePatient(ctx, sys, lane.Patient{ID: lane.PatientID(id), MRN: "DEMO-" + id,
			Name: lane.Name{Family: family, Given: []string{"Test"}}, BirthDate: lane.Date{Year: 1970, Month: 1, Day: 2}})
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	f := &fixture{store: st, clock: clock, booked: mk("p1", "Synthetic"), other: mk("p2", "Elsewhere")}
	if _, err := st.SaveAppointment(ctx, sys, lane.Appointment{ID: "a1", PatientID: f.booked,
		Start: t0.Add(time.Hour), End: t0.Add(90 * time.Minute), Location: "loc-1", Status: lane.ApptArrived}); err != nil {
		t.Fatal(err)
	}
	enc, err := st.SaveEncounter(ctx, sys, lane.Encounter{ID: "e1", PatientID: f.booked, AppointmentID: "a1",
		Status: lane.EncPretest, Start: t0, Location: "loc-1"})
	if err != nil {
		t.Fatal(err)
	}
	f.enc = enc
	f.svc = lane.NewService(lane.Config{Store: st, Clock: clock, Lane: "lane-1", Location: "loc-1", Device: "dev-1", TimeZone: time.UTC})
	return f
}

func (f *fixture) signIn(t *testing.T, user string, roles ...lane.Role) {
	t.Helper()
	if err := f.svc.Begin(context.Background(), lane.Session{User: lane.UserID(user), Roles: roles, Started: f.clock.Now(), Expires: f.clock.Now().Add(12 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

func autorefraction(p lane.PatientID, e lane.EncounterID) lane.Measurement {
	return lane.Measurement{PatientID: p, EncounterID: e, Kind: lane.KindRefraction, Eye: lane.EyeRight,
		Source: lane.SourceAutorefraction, Refraction: &lane.Refraction{Sphere: -1250, Cylinder: -500, Axis: 90}}
}

// TestServicePermissionsEveryRoleEveryAction runs every action of the
// service layer for every role and checks allow or deny against the role
// matrix: enforcement lives here, not only in hidden buttons.
func TestServicePermissionsEveryRoleEveryAction(t *testing.T) {
	type action struct {
		name string
		perm lane.Permission
		run  func(f *fixture) error
	}
	ctx := context.Background()
	actions := []action{
		{"worklist", lane.PermViewSchedule, func(f *fixture) error { _, err := f.svc.Worklist(ctx); return err }},
		{"open chart", lane.PermViewDemographics, func(f *fixture) error { _, err := f.svc.OpenChart(ctx, f.booked); return err }},
		{"capture pretest", lane.PermCapture, func(f *fixture) error {
			_, err := f.svc.RecordMeasurement(ctx, autorefraction(f.booked, f.enc.ID))
			return err
		}},
		{"edit subjective", lane.PermEditExam, func(f *fixture) error {
			m := autorefraction(f.booked, f.enc.ID)
			m.Source = lane.SourceSubjective
			_, err := f.svc.RecordMeasurement(ctx, m)
			return err
		}},
		{"edit final rx", lane.PermEditFinalRx, func(f *fixture) error {
			_, err := f.svc.SaveSpectacleRx(ctx, lane.SpectacleRx{PatientID: f.booked, EncounterID: f.enc.ID, Lens: lane.LensSingleVision})
			return err
		}},
		{"sign rx", lane.PermSignRx, func(f *fixture) error {
			_, err := f.svc.SignRx(ctx, lane.SpectacleRx{PatientID: f.booked, EncounterID: f.enc.ID, Lens: lane.LensSingleVision})
			return err
		}},
		{"sign exam", lane.PermSignExam, func(f *fixture) error { _, err := f.svc.SignExam(ctx, f.enc.ID); return err }},
		{"addendum", lane.PermAddendum, func(f *fixture) error { _, err := f.svc.AddAddendum(ctx, f.enc.ID, "note"); return err }},
		{"export", lane.PermExport, func(f *fixture) error { return f.svc.RecordExport(ctx, f.booked, "rx-pdf") }},
		{"settings", lane.PermChangeSettings, func(f *fixture) error { return f.svc.RecordSettingsChange(ctx, "lock timeout") }},
		{"break-glass", lane.PermBreakGlass, func(f *fixture) error {
			return f.svc.BreakGlass(ctx, f.other, "patient phoned about an urgent result")
		}},
		{"unassigned captures", lane.PermCapture, func(f *fixture) error { _, err := f.svc.UnassignedCaptures(ctx); return err }},
	}
	for _, role := range lane.Roles {
		for _, a := range actions {
			t.Run(string(role)+"/"+a.name, func(t *testing.T) {
				f := newFixture(t)
				f.signIn(t, "u-"+string(role), role)
				err := a.run(f)
				want := lane.Allowed([]lane.Role{role}, a.perm)
				if want && err != nil {
					t.Fatalf("%s as %s: %v, want allowed", a.name, role, err)
				}
				if !want && !errors.Is(err, lane.ErrForbidden) {
					t.Fatalf("%s as %s: %v, want ErrForbidden", a.name, role, err)
				}
				if !want {
					evs, _ := f.store.ListAudit(ctx, lane.AuditFilter{User: lane.UserID("u-" + string(role))})
					denied := 0
					for _, e := range evs {
						if e.Outcome == lane.OutcomeDenied {
							denied++
						}
					}
					if denied != 1 {
						t.Fatalf("%d denied audit events, want 1", denied)
					}
				}
			})
		}
	}
}

func TestServiceLockedRefusesEverything(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.OpenChart(ctx, f.booked); !errors.Is(err, lane.ErrLocked) {
		t.Fatalf("OpenChart signed out: %v", err)
	}
	f.signIn(t, "tech", lane.RoleTechnician)
	if err := f.svc.Lock(ctx, "idle"); err != nil {
		t.Fatal(err)
	}
	if !f.svc.Locked() {
		t.Fatal("not locked")
	}
	if _, err := f.svc.RecordMeasurement(ctx, autorefraction(f.booked, f.enc.ID)); !errors.Is(err, lane.ErrLocked) {
		t.Fatalf("RecordMeasurement while locked: %v", err)
	}
	if err := f.svc.Unlock(ctx, "someone-else"); !errors.Is(err, lane.ErrForbidden) {
		t.Fatalf("Unlock by another user: %v", err)
	}
	if err := f.svc.Unlock(ctx, "tech"); err != nil {
		t.Fatal(err)
	}
	// Past the shift the session cannot be resumed.
	f.svc.Lock(ctx, "idle")
	f.clock.Advance(13 * time.Hour)
	if err := f.svc.Unlock(ctx, "tech"); !errors.Is(err, lane.ErrLocked) {
		t.Fatalf("Unlock after shift: %v", err)
	}
}

func TestServiceScopeAndBreakGlass(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.signIn(t, "tech", lane.RoleTechnician)
	if _, err := f.svc.OpenChart(ctx, f.other); !errors.Is(err, lane.ErrBreakGlassRequired) || !errors.Is(err, lane.ErrForbidden) {
		t.Fatalf("OpenChart out of scope: %v", err)
	}
	if err := f.svc.BreakGlass(ctx, f.other, "short"); !errors.Is(err, lane.ErrInvalid) {
		t.Fatalf("BreakGlass with a short reason: %v", err)
	}
	reason := "patient phoned about an urgent result"
	if err := f.svc.BreakGlass(ctx, f.other, reason); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.OpenChart(ctx, f.other); err != nil {
		t.Fatalf("OpenChart after break-glass: %v", err)
	}
	f.clock.Advance(31 * time.Minute)
	if _, err := f.svc.OpenChart(ctx, f.other); !errors.Is(err, lane.ErrBreakGlassRequired) {
		t.Fatalf("OpenChart after break-glass expired: %v", err)
	}
	evs, err := f.store.ListAudit(ctx, lane.AuditFilter{PatientID: f.other})
	if err != nil {
		t.Fatal(err)
	}
	var bg, views, denied int
	for _, e := range evs {
		switch {
		case e.Action == lane.AuditBreakGlass:
			bg++
			if e.Reason != reason || e.User != "tech" || e.Lane != "lane-1" {
				t.Errorf("break-glass event %+v", e)
			}
		case e.Action == lane.AuditView && e.Outcome == lane.OutcomeSuccess:
			views++
		case e.Action == lane.AuditView && e.Outcome == lane.OutcomeDenied:
			denied++
		}
	}
	if bg != 1 || views != 1 || denied != 2 {
		t.Fatalf("audit: %d break-glass, %d views, %d denied; want 1, 1, 2", bg, views, denied)
	}
}

func TestServiceCaptureQueuedWhileLockedAndUnassigned(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	capture := lane.Capture{Format: "nidek-rt", Raw: []byte("\x01raw\x04"), Instrument: lane.InstrumentRef{Vendor: "NIDEK", Model: "RT-5100", Profile: "rt"},
		Readings: []lane.Measurement{autorefraction("", "")}}

	// No one signed in, no chart open: kept, unassigned.
	c, err := f.svc.IngestCapture(ctx, capture)
	if err != nil {
		t.Fatal(err)
	}
	if c.PatientID != "" {
		t.Fatalf("capture bound to %q with no chart open", c.PatientID)
	}
	// The technician opens the chart, the lane locks, a reading arrives: it
	// goes to that chart, pending review.
	f.signIn(t, "tech", lane.RoleTechnician)
	if _, err := f.svc.OpenChart(ctx, f.booked); err != nil {
		t.Fatal(err)
	}
	f.svc.Lock(ctx, "idle")
	sub := f.svc.Subscribe(4)
	defer sub.Close()
	c2, err := f.svc.IngestCapture(ctx, capture)
	if err != nil {
		t.Fatal(err)
	}
	if c2.PatientID != f.booked || c2.EncounterID != f.enc.ID {
		t.Fatalf("capture bound to %q/%q, want %q/%q", c2.PatientID, c2.EncounterID, f.booked, f.enc.ID)
	}
	if ev, ok := (<-sub.C).(lane.CaptureArrived); !ok || ev.Capture.ID != c2.ID {
		t.Fatalf("event %#v", ev)
	}
	f.svc.Unlock(ctx, "tech")
	ms, err := f.store.ListMeasurements(ctx, lane.MeasurementFilter{PatientID: f.booked})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || !ms[0].Pending || ms[0].CaptureID != c2.ID || ms[0].Instrument.Model != "RT-5100" {
		t.Fatalf("measurements %+v", ms)
	}
	// Accepting clears the pending flag.
	acc, err := f.svc.AcceptReading(ctx, ms[0])
	if err != nil || acc.Pending {
		t.Fatalf("AcceptReading = %+v, %v", acc, err)
	}
	// The unassigned capture is listed and can be assigned.
	un, err := f.svc.UnassignedCaptures(ctx)
	if err != nil || len(un) != 1 || un[0].ID != c.ID {
		t.Fatalf("UnassignedCaptures = %+v, %v", un, err)
	}
	if _, err := f.svc.AssignCapture(ctx, c.ID, f.booked, f.enc.ID); err != nil {
		t.Fatal(err)
	}
	if un, _ := f.svc.UnassignedCaptures(ctx); len(un) != 0 {
		t.Fatalf("still unassigned: %+v", un)
	}
}

func TestServiceSignedExamTakesNoNewReadings(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.signIn(t, "dr", lane.RoleOptometrist)
	if _, err := f.svc.OpenChart(ctx, f.booked); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SignExam(ctx, f.enc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SignExam(ctx, f.enc.ID); !errors.Is(err, lane.ErrImmutable) {
		t.Fatalf("second sign: %v", err)
	}
	if _, err := f.svc.RecordMeasurement(ctx, autorefraction(f.booked, f.enc.ID)); !errors.Is(err, lane.ErrImmutable) {
		t.Fatalf("measurement on signed exam: %v", err)
	}
	e, _ := f.store.GetEncounter(ctx, f.enc.ID)
	e.Assessment = "rewritten"
	if _, err := f.svc.SaveEncounter(ctx, e); !errors.Is(err, lane.ErrImmutable) {
		t.Fatalf("edit of signed exam: %v", err)
	}
	if _, err := f.svc.AddAddendum(ctx, f.enc.ID, "IOP re-checked: 16 mmHg"); err != nil {
		t.Fatal(err)
	}
	// A reading arriving for the signed exam waits to be assigned.
	c, err := f.svc.IngestCapture(ctx, lane.Capture{Format: "x", Readings: []lane.Measurement{autorefraction("", "")}})
	if err != nil || c.PatientID != "" {
		t.Fatalf("capture on signed exam bound to %q, %v", c.PatientID, err)
	}
}

func TestServiceAnotherUserSeesNothingOfThePrevious(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.signIn(t, "tech", lane.RoleTechnician)
	if _, err := f.svc.OpenChart(ctx, f.booked); err != nil {
		t.Fatal(err)
	}
	f.svc.Lock(ctx, "manual")
	f.signIn(t, "dr", lane.RoleOptometrist)
	if p, e := f.svc.Active(); p != "" || e != "" {
		t.Fatalf("new user inherits the open chart %q/%q", p, e)
	}
	if s, _ := f.svc.Current(); s.User != "dr" || f.svc.Locked() {
		t.Fatalf("session %+v locked=%v", s, f.svc.Locked())
	}
}

func TestFilterChartByRole(t *testing.T) {
	c := lane.Chart{
		Patient:       lane.Patient{ID: "p", Name: lane.Name{Family: "F"}, Phone: "555", Note: "n"},
		Encounters:    []lane.Encounter{{ID: "e", Assessment: "a"}},
		Prescriptions: []lane.SpectacleRx{{ID: "rx"}},
		Images:        []lane.Image{{ID: "i"}},
		Measurements: []lane.Measurement{{ID: "lm", Kind: lane.KindLensometry}, {ID: "iop", Kind: lane.KindIOP},
			{ID: "pd", Kind: lane.KindPD}},
	}
	opt := lane.FilterChart([]lane.Role{lane.RoleOptician}, c)
	if len(opt.Encounters) != 0 || len(opt.Images) != 0 || len(opt.Prescriptions) != 1 || len(opt.Measurements) != 2 {
		t.Fatalf("optician sees %+v", opt)
	}
	fd := lane.FilterChart([]lane.Role{lane.RoleFrontDesk}, c)
	if len(fd.Measurements) != 0 || len(fd.Prescriptions) != 0 || fd.Patient.Phone != "555" {
		t.Fatalf("front desk sees %+v", fd)
	}
	dr := lane.FilterChart([]lane.Role{lane.RoleOptometrist}, c)
	if len(dr.Measurements) != 3 || len(dr.Images) != 1 {
		t.Fatalf("optometrist sees %+v", dr)
	}
}

func TestServiceImages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.signIn(t, "tech", lane.RoleTechnician)
	data := []byte("synthetic jpeg bytes")
	img, err := f.svc.AttachImage(ctx, lane.Image{PatientID: f.booked, EncounterID: f.enc.ID, Eye: lane.EyeRight, Kind: lane.ImageColor, MediaType: "image/jpeg"}, data)
	if err != nil {
		t.Fatal(err)
	}
	if img.Size != int64(len(data)) || img.SHA256 == ([32]byte{}) {
		t.Fatalf("image not hashed: %+v", img)
	}
	got, err := f.svc.ImageData(ctx, img)
	if err != nil || string(got) != string(data) {
		t.Fatalf("ImageData = %q, %v", got, err)
	}
	// Technicians capture images but do not annotate them.
	an := lane.Annotation{ImageID: img.ID, Kind: lane.AnnotCircle, Points: []lane.Point{{X: 10, Y: 10}, {X: 20, Y: 10}}}
	if _, err := f.svc.SaveAnnotation(ctx, img, an); !errors.Is(err, lane.ErrForbidden) {
		t.Fatalf("technician annotation: %v", err)
	}
	f.signIn(t, "dr", lane.RoleOptometrist)
	saved, err := f.svc.SaveAnnotation(ctx, img, an)
	if err != nil || saved.Author != "dr" {
		t.Fatalf("SaveAnnotation = %+v, %v", saved, err)
	}
	list, err := f.svc.Annotations(ctx, img)
	if err != nil || len(list) != 1 {
		t.Fatalf("Annotations = %+v, %v", list, err)
	}
	// An optician sees no images.
	f.signIn(t, "opt", lane.RoleOptician)
	if _, err := f.svc.ImageData(ctx, img); !errors.Is(err, lane.ErrForbidden) {
		t.Fatalf("optician ImageData: %v", err)
	}
}

// TestAdvanceVisitOpensTheVisitEncounter: when the patient enters pretest,
// the visit gets its encounter (readings are filed on it); entering the exam
// moves the same encounter on rather than opening a second one.
func TestAdvanceVisitOpensTheVisitEncounter(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sys := lane.Actor{User: "setup", Roles: []lane.Role{lane.RoleAdmin}}
	appt, err := f.store.SaveAppointment(ctx, sys, lane.Appointment{ID: "a2", PatientID: f.other,
		Start: t0.Add(2 * time.Hour), End: t0.Add(150 * time.Minute), Location: "loc-1", Status: lane.ApptArrived, Provider: "dr"})
	if err != nil {
		t.Fatal(err)
	}
	f.signIn(t, "tech", lane.RoleTechnician)
	if _, err := f.svc.OpenChart(ctx, f.other); err != nil {
		t.Fatal(err)
	}
	if _, enc := f.svc.Active(); enc != "" {
		t.Fatalf("an encounter is active before the visit started: %q", enc)
	}
	appt, err = f.svc.AdvanceVisit(ctx, appt, lane.ApptPretest)
	if err != nil {
		t.Fatal(err)
	}
	_, encID := f.svc.Active()
	enc, err := f.store.GetEncounter(ctx, encID)
	if err != nil {
		t.Fatalf("no visit encounter after pretest started: %v", err)
	}
	if enc.AppointmentID != appt.ID || enc.Status != lane.EncPretest || enc.PatientID != f.other || enc.Clinician != "dr" {
		t.Fatalf("visit encounter %+v", enc)
	}
	// A reading now lands on the visit.
	c, err := f.svc.IngestCapture(ctx, lane.Capture{Format: "x", Readings: []lane.Measurement{autorefraction("", "")}})
	if err != nil || c.EncounterID != encID {
		t.Fatalf("capture bound to encounter %q, want %q (%v)", c.EncounterID, encID, err)
	}
	appt, err = f.svc.AdvanceVisit(ctx, appt, lane.ApptReadyForDoctor)
	if err != nil {
		t.Fatal(err)
	}
	f.signIn(t, "dr", lane.RoleOptometrist)
	if _, err := f.svc.OpenChart(ctx, f.other); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AdvanceVisit(ctx, appt, lane.ApptExam); err != nil {
		t.Fatal(err)
	}
	chart, err := f.store.Chart(ctx, f.other)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range chart.Encounters {
		if e.AppointmentID == appt.ID {
			n++
			if e.ID != encID || e.Status != lane.EncExam {
				t.Errorf("visit encounter after exam started: %+v", e)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d encounters for the visit, want 1", n)
	}
	if _, active := f.svc.Active(); active != encID {
		t.Fatalf("active encounter %q, want %q", active, encID)
	}
}
