package lane_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
)

// desk is a lane with two patients booked today and one who is not, for
// the tests of the worklist, visit, dispensing and reassignment actions.
type desk struct {
	svc   *lane.Service
	store *lanetest.Store
	clock *lanetest.ManualClock
	appt  lane.Appointment // first patient's appointment (arrived)
	enc   lane.Encounter   // first patient's open encounter
	enc2  lane.Encounter   // second patient's open encounter
}

func newDesk(t *testing.T) *desk {
	t.Helper()
	ctx := context.Background()
	clock := lanetest.NewManualClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	st := lanetest.NewStore(clock)
	sys := lane.Actor{User: "setup", Roles: []lane.Role{lane.RoleAdmin}, Lane: "lane-1"}
	d := &desk{store: st, clock: clock}
	for i, p := range []lane.Patient{
		{ID: "p1", MRN: "DEMO-0001", Name: lane.Name{Family: "Testperson", Given: []string{"Ada"}}, BirthDate: lane.Date{Year: 1980, Month: 5, Day: 1}, Sex: lane.SexFemale, Phone: "555-0100"},
		{ID: "p2", MRN: "DEMO-0002", Name: lane.Name{Family: "Sample", Given: []string{"Ben"}}, BirthDate: lane.Date{Year: 1990, Month: 1, Day: 2}},
		{ID: "p3", MRN: "DEMO-0003", Name: lane.Name{Family: "Notbooked", Given: []string{"Cy"}}, BirthDate: lane.Date{Year: 1975, Month: 3, Day: 4}},
	} {
		if _, err := st.SavePatient(ctx, sys, p); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			continue
		}
		start := clock.Now().Add(time.Duration(i+1) * time.Hour)
		a, err := st.SaveAppointment(ctx, sys, lane.Appointment{ID: lane.AppointmentID("a" + string(p.ID)), PatientID: p.ID,
			Start: start, End: start.Add(30 * time.Minute), Location: "loc-1", Status: lane.ApptArrived})
		if err != nil {
			t.Fatal(err)
		}
		e, err := st.SaveEncounter(ctx, sys, lane.Encounter{ID: lane.EncounterID("e" + string(p.ID)), PatientID: p.ID,
			AppointmentID: a.ID, Status: lane.EncPretest, Start: start, Location: "loc-1"})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			d.appt, d.enc = a, e
		} else {
			d.enc2 = e
		}
	}
	d.svc = lane.NewService(lane.Config{Store: st, Clock: clock, Lane: "lane-1", Location: "loc-1", TimeZone: time.UTC})
	return d
}

func (d *desk) as(t *testing.T, roles ...lane.Role) {
	t.Helper()
	if err := d.svc.Begin(context.Background(), lane.Session{User: "u-" + lane.UserID(roles[0]), Roles: roles,
		Started: d.clock.Now(), Expires: d.clock.Now().Add(12 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

func TestWorklistItems(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t)
	d.as(t, lane.RoleTechnician)
	items, err := d.svc.WorklistItems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 {
		t.Fatalf("WorklistItems() = %d items, want 2", len(items))
	}
	p := items[0].Patient
	if p.Name.Family != "Testperson" || p.MRN != "DEMO-0001" || p.BirthDate.Year != 1980 || p.Sex != lane.SexFemale {
		t.Errorf("first item's patient = %+v, want the booked patient's identifying details", p)
	}
	if p.Phone != "" {
		t.Errorf("worklist patient carries the phone number %q; want identifying details only", p.Phone)
	}

	// An administrator sees the schedule but not the names.
	d.as(t, lane.RoleAdmin)
	items, err = d.svc.WorklistItems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := items[0].Patient; got.Name.Family != "" || got.ID != "p1" {
		t.Errorf("admin's worklist patient = %+v, want only the id", got)
	}
}

func TestFindPatients(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t)
	d.as(t, lane.RoleOptometrist)
	tests := []struct {
		text string
		want []lane.PatientID
	}{
		{"DEMO-0003", []lane.PatientID{"p3"}},
		{"notbooked", []lane.PatientID{"p3"}},
		{"ben sample", []lane.PatientID{"p2"}},
		{"nobody", nil},
	}
	for _, tt := range tests {
		got, err := d.svc.FindPatients(ctx, tt.text, 0)
		if err != nil {
			t.Fatalf("FindPatients(%q): %v", tt.text, err)
		}
		var ids []lane.PatientID
		for _, p := range got {
			ids = append(ids, p.ID)
		}
		if strings.Join(idStrings(ids), ",") != strings.Join(idStrings(tt.want), ",") {
			t.Errorf("FindPatients(%q) = %v, want %v", tt.text, ids, tt.want)
		}
	}
	if _, err := d.svc.FindPatients(ctx, "x", 0); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("FindPatients(one letter) = %v, want ErrInvalid", err)
	}
	audit, _ := d.store.ListAudit(ctx, lane.AuditFilter{User: "u-optometrist"})
	var searches int
	for _, e := range audit {
		if e.Action == lane.AuditView && strings.HasPrefix(e.Detail, "patient search") {
			searches++
			if strings.Contains(strings.ToLower(e.Detail), "notbooked") {
				t.Errorf("audit detail %q holds the query text", e.Detail)
			}
		}
	}
	if searches != 4 {
		t.Errorf("%d patient searches audited, want 4", searches)
	}

	d.as(t, lane.RoleAdmin)
	if _, err := d.svc.FindPatients(ctx, "sample", 0); !errors.Is(err, lane.ErrForbidden) {
		t.Errorf("FindPatients as admin = %v, want ErrForbidden", err)
	}
}

func idStrings(ids []lane.PatientID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

func TestAdvanceVisit(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t)
	d.as(t, lane.RoleTechnician)
	a, err := d.svc.AdvanceVisit(ctx, d.appt, lane.ApptPretest)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != lane.ApptPretest || a.With != "u-technician" || a.Lane != "lane-1" {
		t.Errorf("after pretest: status %s, with %q, lane %q; want pretest with the technician on lane-1", a.Status, a.With, a.Lane)
	}
	if _, err := d.svc.AdvanceVisit(ctx, d.appt, lane.ApptReadyForDoctor); !errors.Is(err, lane.ErrConflict) {
		t.Errorf("advance a stale appointment = %v, want ErrConflict", err)
	}
	if _, err := d.svc.AdvanceVisit(ctx, a, lane.ApptArrived); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("move back to arrived = %v, want ErrInvalid", err)
	}
	if _, err := d.svc.AdvanceVisit(ctx, a, lane.ApptExam); !errors.Is(err, lane.ErrForbidden) {
		t.Errorf("technician takes the patient into the exam = %v, want ErrForbidden", err)
	}
	a, err = d.svc.AdvanceVisit(ctx, a, lane.ApptReadyForDoctor)
	if err != nil {
		t.Fatal(err)
	}
	if a.With != "" {
		t.Errorf("ready for doctor: with %q, want nobody", a.With)
	}
	d.as(t, lane.RoleOptometrist)
	if a, err = d.svc.AdvanceVisit(ctx, a, lane.ApptExam); err != nil || a.With != "u-optometrist" {
		t.Errorf("optometrist starts the exam: %+v, %v", a, err)
	}
}

func TestRecordDispensing(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t)
	d.as(t, lane.RoleOptician)
	out, err := d.svc.RecordDispensing(ctx, lane.Dispensing{PatientID: "p1", PrescriptionID: "rx-1", Pass: false, Note: "axis off"})
	if err != nil {
		t.Fatal(err)
	}
	if out.ID == "" || out.VerifiedBy != "u-optician" || !out.At.Equal(d.clock.Now()) {
		t.Errorf("RecordDispensing = %+v, want id, verifier and time filled in", out)
	}
	audit, _ := d.store.ListAudit(ctx, lane.AuditFilter{PatientID: "p1"})
	var found bool
	for _, e := range audit {
		if e.Entity == "Dispensing/"+out.ID {
			found = true
			if e.Action != lane.AuditCreate || !strings.Contains(e.Detail, "FAIL") || !strings.Contains(e.Detail, "rx-1") {
				t.Errorf("dispensing audit event = %+v", e)
			}
		}
	}
	if !found {
		t.Error("no audit event for the dispensing")
	}
	if _, err := d.svc.RecordDispensing(ctx, lane.Dispensing{PatientID: "p1"}); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("RecordDispensing without a prescription = %v, want ErrInvalid", err)
	}
	d.as(t, lane.RoleTechnician)
	if _, err := d.svc.RecordDispensing(ctx, lane.Dispensing{PatientID: "p1", PrescriptionID: "rx-1"}); !errors.Is(err, lane.ErrForbidden) {
		t.Errorf("RecordDispensing as technician = %v, want ErrForbidden", err)
	}
}

func TestReassignCapture(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t)
	d.as(t, lane.RoleTechnician)
	if _, err := d.svc.OpenChart(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	c, err := d.svc.IngestCapture(ctx, lane.Capture{Format: "test", Raw: []byte("R -1.00 -0.50 90"),
		Instrument: lane.InstrumentRef{Profile: "sim-ar"},
		Readings: []lane.Measurement{{Kind: lane.KindRefraction, Eye: lane.EyeRight, Source: lane.SourceAutorefraction,
			Refraction: &lane.Refraction{Sphere: -1000, Cylinder: -500, Axis: 90}}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.PatientID != "p1" {
		t.Fatalf("capture bound to %q, want the open chart p1", c.PatientID)
	}
	if _, err := d.svc.ReassignCapture(ctx, c.ID, "p2", d.enc2.ID, ""); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("ReassignCapture without a reason = %v, want ErrInvalid", err)
	}
	out, err := d.svc.ReassignCapture(ctx, c.ID, "p2", "", "wrong patient in the chair")
	if err != nil {
		t.Fatal(err)
	}
	if out.PatientID != "p2" || len(out.Readings) != 1 || !out.Readings[0].Pending || out.Readings[0].EncounterID != d.enc2.ID {
		t.Errorf("reassigned capture = %+v", out)
	}
	left, _ := d.store.ListMeasurements(ctx, lane.MeasurementFilter{PatientID: "p1"})
	if len(left) != 0 {
		t.Errorf("first chart still has %d readings, want 0", len(left))
	}
	moved, _ := d.store.ListMeasurements(ctx, lane.MeasurementFilter{PatientID: "p2"})
	if len(moved) != 1 {
		t.Errorf("second chart has %d readings, want 1", len(moved))
	}
	var reason string
	for _, ts := range d.store.Tombstones() {
		reason = ts.Reason
	}
	if reason != "wrong patient in the chair" {
		t.Errorf("tombstone reason = %q", reason)
	}

	// An accepted reading blocks the move.
	acc, err := d.svc.AcceptReading(ctx, out.Readings[0])
	if err != nil {
		t.Fatal(err)
	}
	_ = acc
	if _, err := d.svc.ReassignCapture(ctx, c.ID, "p1", d.enc.ID, "back again"); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("ReassignCapture with an accepted reading = %v, want ErrInvalid", err)
	}
}
