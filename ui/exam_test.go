package ui_test

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui"
	"github.com/examlane/examlane/ui/uitest"
	"github.com/examlane/examlane/ui/xwidget"
)

// TestOptometristVisit is the optometrist's path: open the chart, start
// the exam, copy the autorefraction into the subjective, refine it, save
// it with the corrected acuity, copy it to the final Rx, sign the Rx, sign
// the exam, add an addendum, send the Rx to the phoropter and the patient
// to dispensing.
func TestOptometristVisit(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(uitest.Optometrist)
	f.open(f.p.Ben)
	if got := f.d.Shell().Current(); got != ui.ScreenExam {
		t.Fatalf("an optometrist lands on %q, want the exam", got)
	}
	f.tap("Start exam")
	subj, va, final, pd := ui.ExamFields(f.d)

	copies := f.buttons("→ Subjective") // habitual glasses, then autorefraction
	if len(copies) != 2 {
		t.Fatalf("%d copy-to-subjective buttons, want 2", len(copies))
	}
	test.Tap(copies[1])
	if got := subj[0].Text; got != "-3.00 -0.75 x 175" {
		t.Errorf("autorefraction -3.12 -0.87 x 175 copied as %q, want -3.00 -0.75 x 175 (rounded to 0.25 D)", got)
	}
	f.golden("exam/ben.xml")

	subj[0].SetText("-3.00 -0.75 x 175")
	va[0].SetText("6/6")
	va[1].SetText("6/6-1")
	f.tap("Save")
	ms, _ := f.p.Store.ListMeasurements(ctx, lane.MeasurementFilter{PatientID: f.p.Ben.ID})
	var subjCount, vaCount int
	for _, m := range ms {
		switch {
		case m.Source == lane.SourceSubjective && m.Kind == lane.KindRefraction:
			subjCount++
		case m.Source == lane.SourceSubjective && m.Kind == lane.KindVA:
			vaCount++
		}
	}
	if subjCount != 2 || vaCount != 2 {
		t.Errorf("saved %d subjective refractions and %d acuities, want 2 and 2", subjCount, vaCount)
	}
	subj[1].SetText("-2.75 -0.50 x 005")
	f.tap("Save") // saving again updates, it does not add
	ms, _ = f.p.Store.ListMeasurements(ctx, lane.MeasurementFilter{PatientID: f.p.Ben.ID})
	subjCount = 0
	for _, m := range ms {
		if m.Source == lane.SourceSubjective && m.Kind == lane.KindRefraction {
			subjCount++
			if m.Eye == lane.EyeLeft && lane.FormatRx(*m.Refraction) != "-2.75 -0.50 x 005" {
				t.Errorf("left subjective = %s", lane.FormatRx(*m.Refraction))
			}
		}
	}
	if subjCount != 2 {
		t.Errorf("%d subjective refractions after a second save, want 2", subjCount)
	}

	f.tap("→ Final")
	if final[0].Text != "-3.00 -0.75 x 175" || final[1].Text != "-2.75 -0.50 x 005" {
		t.Errorf("final Rx fields %q, %q", final[0].Text, final[1].Text)
	}
	pd.SetText("64")
	f.tap("Sign Rx")
	chart, _ := f.p.Store.Chart(ctx, f.p.Ben.ID)
	if len(chart.Prescriptions) != 1 || !chart.Prescriptions[0].Signed() || chart.Prescriptions[0].Prescriber != uitest.Optometrist.ID ||
		chart.Prescriptions[0].PD != 6400 || chart.Prescriptions[0].Expires != (lane.Date{Year: 2028, Month: 11, Day: 23}) {
		t.Fatalf("prescriptions after Sign Rx: %+v", chart.Prescriptions)
	}
	if !strings.Contains(f.markup(), "Final Rx signed by you on 2026-11-23; valid until 2028-11-23.") {
		t.Error("the screen does not say the Rx is signed")
	}
	if b := f.button("Sign Rx"); !b.Disabled() {
		t.Error("Sign Rx is still enabled after signing")
	}

	f.p.Instruments.SetState(uitest.ProfilePH, "connected")
	f.d.HandleEvent(lane.InstrumentChanged{State: lane.InstrumentState{Profile: uitest.ProfilePH, Name: "Phoropter", State: "connected"}})
	f.tap("Send final Rx to phoropter")
	if sent := f.p.Instruments.Sent(); len(sent) != 1 || lane.FormatRx(sent[0].Rx.Right) != "-3.00 -0.75 x 175" {
		t.Errorf("sent to the phoropter: %+v", sent)
	}

	ui.ExamSignNow(f.d)
	enc, _ := f.p.Store.GetEncounter(ctx, f.p.Visit[f.p.Ben.ID].ID)
	if !enc.Signed() || enc.SignedBy != uitest.Optometrist.ID {
		t.Fatalf("encounter after signing: signed by %q", enc.SignedBy)
	}
	if !subj[0].Disabled() {
		t.Error("the subjective is still editable after signing")
	}
	ui.ExamAddendum(f.d).SetText("Patient reports glare at night; review in 3 months.")
	f.tap("Add addendum")
	enc, _ = f.p.Store.GetEncounter(ctx, enc.ID)
	if len(enc.Addenda) != 1 || enc.Addenda[0].Author != uitest.Optometrist.ID {
		t.Errorf("addenda = %+v", enc.Addenda)
	}
	if !strings.Contains(f.markup(), "review in 3 months") {
		t.Error("the addendum is not shown")
	}
	f.tap("Send to dispensing")
	appts, _ := f.p.Store.ListAppointments(ctx, lane.AppointmentFilter{PatientID: f.p.Ben.ID})
	if appts[0].Status != lane.ApptDispensing {
		t.Errorf("appointment %s, want dispensing", appts[0].Status)
	}
}

func TestExamTrends(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Optometrist)
	f.open(f.p.Ada)
	plots := ui.ExamTrends(f.d)
	wantPoints := map[int]int{0: 2, 1: 2, 2: 2} // right and left, one visit each
	for i, p := range plots {
		var n int
		for _, s := range p.(*xwidget.Trend).Series() {
			n += len(s.Points)
		}
		if n != wantPoints[i] {
			t.Errorf("plot %d has %d points, want %d", i, n, wantPoints[i])
		}
	}
	iop := plots[0].(*xwidget.Trend).Series()
	if iop[0].Name != "Right" || iop[0].Points[0].Value != 15 || iop[1].Points[0].Value != 16 {
		t.Errorf("IOP series = %+v", iop)
	}
}

func TestExamReadOnlyForTechnician(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Technician)
	f.open(f.p.Ben)
	f.shortcut("3")
	subj, _, final, _ := ui.ExamFields(f.d)
	if !subj[0].Disabled() || !final[0].Disabled() {
		t.Error("a technician can edit the subjective or the final Rx")
	}
	if b := f.button("Sign exam…"); !b.Disabled() {
		t.Error("a technician can sign the exam")
	}
}

// TestRxSignedWithoutStartingTheExam: an optometrist who writes and signs
// the final Rx without pressing Start exam (the chart has no visit
// encounter) sees it signed, not "No final Rx yet".
func TestRxSignedWithoutStartingTheExam(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	fay := f.bookWithoutVisit()
	f.signIn(uitest.Optometrist)
	f.open(fay)
	_, _, final, _ := ui.ExamFields(f.d)
	final[0].SetText("-1.00 -0.50 x 180")
	final[1].SetText("-1.25 DS")
	f.tap("Sign Rx")
	chart, _ := f.p.Store.Chart(ctx, fay.ID)
	if len(chart.Prescriptions) != 1 || !chart.Prescriptions[0].Signed() {
		t.Fatalf("prescriptions after Sign Rx: %+v", chart.Prescriptions)
	}
	if m := f.markup(); !strings.Contains(m, "Final Rx signed by you") || strings.Contains(m, "No final Rx yet.") {
		t.Error("the screen does not say the Rx is signed")
	}
}
