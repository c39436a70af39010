package ui_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui"
	"github.com/examlane/examlane/ui/uitest"
)

func TestWorklistMarkup(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Technician)
	f.golden("worklist/today.xml")
}

func TestWorklistFilterAndSearch(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Technician)
	all := []string{"Ada Testperson", "Ben Sample", "Cleo Example", "Dan Placeholder"}
	if got := ui.WorklistShown(f.d); !slices.Equal(got, all) {
		t.Fatalf("worklist = %q, want %q", got, all)
	}
	tests := []struct {
		filter, search string
		want           []string
	}{
		{"Ready for doctor", "", []string{"Ben Sample"}},
		{"Dispensing", "", []string{"Cleo Example"}},
		{"Done", "", nil},
		{"All statuses", "cleo", []string{"Cleo Example"}},
		{"All statuses", "demo-1004", []string{"Dan Placeholder"}},
		{"All statuses", "SAMPLE ben", []string{"Ben Sample"}},
		{"All statuses", "e", []string{"Ada Testperson", "Ben Sample", "Cleo Example", "Dan Placeholder"}},
		{"Arrived", "ben", nil},
	}
	for _, tt := range tests {
		ui.WorklistFilter(f.d).SetSelected(tt.filter)
		ui.WorklistSearch(f.d).SetText(tt.search)
		if got := ui.WorklistShown(f.d); !slices.Equal(got, tt.want) {
			t.Errorf("filter %q, search %q: %q, want %q", tt.filter, tt.search, got, tt.want)
		}
	}
}

// TestOpenChartFromWorklist covers the one-action opening: Enter in the
// search box, Enter on a selected row, a double-click.
func TestOpenChartFromWorklist(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Technician)

	ui.WorklistSearch(f.d).SetText("ben")
	ui.WorklistSearch(f.d).TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if got := ui.ChartPatient(f.d); got != f.p.Ben.ID {
		t.Fatalf("Enter in the search box opened %q, want Ben", got)
	}
	if got := f.d.Shell().Current(); got != ui.ScreenPretest {
		t.Errorf("a technician lands on %q, want the pretest screen", got)
	}

	f.shortcut(fyne.Key1)
	ui.WorklistSearch(f.d).SetText("")
	f.w.Canvas().Unfocus()
	f.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyDown}) // selects the first row
	f.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyDown})
	f.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if got := ui.ChartPatient(f.d); got != f.p.Ben.ID {
		t.Errorf("Down, Down, Enter opened %q, want the second row (Ben)", got)
	}

	f.shortcut(fyne.Key1)
	row := ui.WorklistRow(f.d, 2)
	if row == nil {
		t.Fatal("no row 2 rendered")
	}
	test.DoubleTap(row)
	if got := ui.ChartPatient(f.d); got != f.p.Cleo.ID {
		t.Errorf("double-click on row 2 opened %q, want Cleo", got)
	}
	var views int
	for _, e := range f.audit(uitest.Technician.ID) {
		if e.Action == lane.AuditView && e.Outcome == lane.OutcomeSuccess && e.PatientID != "" {
			views++
		}
	}
	if views != 3 {
		t.Errorf("%d chart views audited, want 3", views)
	}
}

func TestBreakGlass(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Optometrist)
	ui.WorklistSearch(f.d).SetText("Offschedule")
	if got := ui.WorklistShown(f.d); len(got) != 0 {
		t.Fatalf("the worklist shows %q for a patient not booked today", got)
	}
	f.tap("Search all patients…")
	f.tap("Eve Offschedule · MRN DEMO-1005 · born 1975-09-09")
	if ui.ChartPatient(f.d) != "" {
		t.Fatal("the chart opened without break-glass")
	}
	if !strings.Contains(f.markup(), "Emergency access (break-glass)") {
		t.Fatal("no break-glass dialog")
	}
	reason := reasonEntry(f)
	reason.SetText("urgent")
	f.tap("Open chart")
	if ui.ChartPatient(f.d) != "" || !strings.Contains(f.markup(), "at least 10 characters") {
		t.Fatal("a short reason was accepted")
	}
	reason.SetText("Patient phoned: sudden loss of vision, needs last results")
	f.tap("Open chart")
	if got := ui.ChartPatient(f.d); got != f.p.Eve.ID {
		t.Fatalf("after break-glass the open chart is %q", got)
	}
	var bg bool
	for _, e := range f.audit(uitest.Optometrist.ID) {
		bg = bg || e.Action == lane.AuditBreakGlass && e.PatientID == f.p.Eve.ID && strings.HasPrefix(e.Reason, "Patient phoned")
	}
	if !bg {
		t.Error("no break-glass audit event with the reason")
	}
}

// reasonEntry returns the break-glass dialog's reason entry: the
// multi-line entry in the dialog.
func reasonEntry(f *fixture) interface{ SetText(string) } {
	f.t.Helper()
	type multiLine interface {
		fyne.Widget
		SetText(string)
		SetMinRowsVisible(int)
	}
	for _, o := range f.w.Canvas().Overlays().List() {
		for _, x := range visibleObjects(o) {
			if e, ok := x.(multiLine); ok {
				return e
			}
		}
	}
	f.t.Fatal("no reason entry in the dialog")
	return nil
}

// TestWorklistAdminSeesNoNames checks that a role without demographics sees
// the schedule without names.
func TestWorklistAdminSeesNoNames(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Admin)
	if got := ui.WorklistShown(f.d); len(got) != 4 || got[0] != "" {
		t.Errorf("the admin's worklist shows %q, want 4 rows without names", got)
	}
	if m := f.markup(); strings.Contains(m, "Testperson") || !strings.Contains(m, "Patient details not available") {
		t.Error("the admin's worklist shows names")
	}
	_, _ = f.p.Service.WorklistItems(context.Background())
}
