package ui_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui"
	"github.com/examlane/examlane/ui/uitest"
)

// TestTechnicianVisit is the technician's path through a visit: open the
// chart from the worklist, start the pretest, see an incoming
// autorefraction in place (flagged against the last visit), accept it
// with A, type an IOP, and send the patient to the doctor.
func TestTechnicianVisit(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(uitest.Technician)
	test.DoubleTap(ui.WorklistRow(f.d, 0))
	if got := ui.ChartPatient(f.d); got != f.p.Ada.ID {
		t.Fatalf("double-click on the first row opened %q, want Ada", got)
	}
	f.tap("Start pretest")

	c := f.ingest(uitest.Autorefraction(uitest.Rx(t, "-3.25 -0.50 x 180"), uitest.Rx(t, "-1.75 -0.50 x 170")))
	if c.PatientID != f.p.Ada.ID {
		t.Fatalf("the capture went to %q, want the open chart", c.PatientID)
	}
	want := []string{
		"Autorefraction · R: -3.25 -0.50 x 180 (pending)",
		"Autorefraction · L: -1.75 -0.50 x 170 (pending)",
	}
	if got := ui.PretestReadings(f.d); !slices.Equal(got, want) {
		t.Fatalf("readings = %q, want %q", got, want)
	}
	flags := ui.PretestFlags(f.d)
	if len(flags[0]) != 1 || !strings.HasPrefix(flags[0][0], "SE -1.25 D since 2025-11-20") || len(flags[1]) != 0 {
		t.Errorf("flags = %q, want SE -1.25 D on the right eye only", flags)
	}
	notice := f.d.Shell().Notice()
	if !strings.HasPrefix(notice, "Autorefraction received from Simulated AR-1 at 10:00") {
		t.Errorf("notice = %q", notice)
	}
	noPatientData(t, notice, f.p.Ada)
	f.golden("pretest/incoming.xml")

	f.w.Canvas().Unfocus()
	test.TypeOnCanvas(f.w.Canvas(), "a")
	test.TypeOnCanvas(f.w.Canvas(), "A")
	want = []string{
		"Autorefraction · R: -3.25 -0.50 x 180 (accepted)",
		"Autorefraction · L: -1.75 -0.50 x 170 (accepted)",
	}
	if got := ui.PretestReadings(f.d); !slices.Equal(got, want) {
		t.Errorf("after A, A: %q, want %q", got, want)
	}
	ms, _ := f.p.Store.ListMeasurements(ctx, lane.MeasurementFilter{PatientID: f.p.Ada.ID, EncounterID: f.p.Visit[f.p.Ada.ID].ID})
	for _, m := range ms {
		if m.Pending || m.RecordedBy != uitest.Technician.ID {
			t.Errorf("stored reading %s %v: pending %v, recorded by %q", m.Source, m.Eye, m.Pending, m.RecordedBy)
		}
	}

	if msg := ui.PretestManual(f.d, ui.ManualIOP, "R", "abc"); !strings.Contains(msg, "type a number of mmHg") {
		t.Errorf("IOP abc: %q", msg)
	}
	if msg := ui.PretestManual(f.d, ui.ManualIOP, "Both", "17"); msg != "Choose R or L for this reading." {
		t.Errorf("IOP for both eyes: %q", msg)
	}
	if msg := ui.PretestManual(f.d, ui.ManualIOP, "R", "23"); msg != "" {
		t.Fatalf("IOP 23: %q", msg)
	}
	if got := ui.PretestReadings(f.d); !slices.Contains(got, "IOP · R: 23 mmHg (accepted)") {
		t.Errorf("after typing an IOP: %q", got)
	}
	if flags := ui.PretestFlags(f.d); !slices.ContainsFunc(flags, func(fs []string) bool {
		return len(fs) == 1 && strings.HasPrefix(fs[0], "IOP +8 mmHg since 2025-11-20")
	}) {
		t.Errorf("no IOP flag: %q", flags)
	}

	f.tap("Ready for doctor")
	appts, _ := f.p.Store.ListAppointments(ctx, lane.AppointmentFilter{PatientID: f.p.Ada.ID})
	if appts[0].Status != lane.ApptReadyForDoctor {
		t.Errorf("appointment status %s, want ready-for-doctor", appts[0].Status)
	}
}

func TestPretestRetake(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Technician)
	f.open(f.p.Ada)
	f.ingest(uitest.Autorefraction(uitest.Rx(t, "-2.00 -0.50 x 180"), uitest.Rx(t, "-1.75 -0.25 x 170")))
	if flags := ui.PretestFlags(f.d); len(flags[0])+len(flags[1]) != 0 {
		t.Errorf("readings like last year's are flagged: %q", flags)
	}
	f.button("Re-take…")
	test.Tap(f.button("Re-take…"))
	var reason *widget.SelectEntry
	for _, o := range f.w.Canvas().Overlays().List() {
		for _, x := range visibleObjects(o) {
			if s, ok := x.(*widget.SelectEntry); ok {
				reason = s
			}
		}
	}
	if reason == nil {
		t.Fatal("no reason field in the re-take dialog")
	}
	reason.SetText("Re-take: poor fixation or blink")
	f.tap("Remove")
	if got := ui.PretestReadings(f.d); len(got) != 1 || !strings.Contains(got[0], "· L:") {
		t.Errorf("after re-take: %q, want only the left eye", got)
	}
	var found bool
	for _, ts := range f.p.Store.Tombstones() {
		found = found || ts.Reason == "Re-take: poor fixation or blink"
	}
	if !found {
		t.Error("no removal with the reason")
	}
}

func TestUnassignedCaptureAndMeasure(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Technician)
	f.shortcut("2")
	f.tap("Measure")
	if got := f.p.Instruments.Measured(); !slices.Equal(got, []string{uitest.ProfileAR}) {
		t.Errorf("measured %q, want the autorefractor", got)
	}
	c := f.ingest(uitest.Autorefraction(uitest.Rx(t, "-1.00 DS"), uitest.Rx(t, "-1.25 DS")))
	if c.PatientID != "" {
		t.Fatalf("with no chart open the capture went to %q", c.PatientID)
	}
	if !strings.Contains(f.markup(), "Autorefraction R: -1.00 DS") {
		t.Error("the unassigned capture is not listed")
	}
	if b := f.button("Assign to this chart"); !b.Disabled() {
		t.Error("Assign is enabled with no chart open")
	}
	f.open(f.p.Dan)
	f.tap("Assign to this chart")
	want := []string{"Autorefraction · R: -1.00 DS (pending)", "Autorefraction · L: -1.25 DS (pending)"}
	if got := ui.PretestReadings(f.d); !slices.Equal(got, want) {
		t.Errorf("after assigning: %q, want %q", got, want)
	}
	if strings.Contains(f.markup(), "Assign to this chart") {
		t.Error("the capture is still listed as unassigned")
	}
}

func TestPretestOtherChart(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(uitest.Technician)
	f.open(f.p.Ada)
	c := f.ingest(uitest.Autorefraction(uitest.Rx(t, "-1.00 DS"), uitest.Rx(t, "-1.25 DS")))
	f.tap("Other chart…")
	var who *widget.Select
	for _, o := range f.w.Canvas().Overlays().List() {
		for _, x := range visibleObjects(o) {
			if s, ok := x.(*widget.Select); ok {
				who = s
			}
		}
	}
	if who == nil {
		t.Fatal("no patient choice in the dialog")
	}
	who.SetSelectedIndex(slices.IndexFunc(who.Options, func(s string) bool { return strings.Contains(s, "Dan Placeholder") }))
	f.tap("Move")
	if got := ui.PretestReadings(f.d); len(got) != 0 {
		t.Errorf("Ada's chart still shows %q", got)
	}
	moved, _ := f.p.Store.GetCapture(ctx, c.ID)
	if moved.PatientID != f.p.Dan.ID || moved.EncounterID != f.p.Visit[f.p.Dan.ID].ID {
		t.Errorf("capture now bound to %q/%q, want Dan's visit", moved.PatientID, moved.EncounterID)
	}
}

// TestStartPretestOpensTheVisit: for a patient booked without a visit
// encounter, Start pretest opens one, and the screen files what is typed
// next in it (the lane and the chart on screen agree on the visit).
func TestStartPretestOpensTheVisit(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	fay := f.bookWithoutVisit()
	f.signIn(uitest.Technician)
	f.open(fay)
	f.tap("Start pretest")
	_, enc := f.p.Service.Active()
	if enc == "" {
		t.Fatal("Start pretest opened no encounter")
	}
	if msg := ui.PretestManual(f.d, ui.ManualIOP, "R", "17"); msg != "" {
		t.Fatalf("IOP 17: %q", msg)
	}
	ms, err := f.p.Store.ListMeasurements(ctx, lane.MeasurementFilter{PatientID: fay.ID})
	if err != nil || len(ms) != 1 {
		t.Fatalf("readings of the new visit: %v, %v", ms, err)
	}
	if ms[0].EncounterID != enc {
		t.Errorf("the typed IOP went to encounter %q, want the visit's %q", ms[0].EncounterID, enc)
	}
}
