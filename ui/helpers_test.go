package ui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui"
	"github.com/examlane/examlane/ui/uitest"
)

// windowSize is the size of every test window: a common lane monitor's
// usable area, fixed so that goldens are stable.
var windowSize = fyne.NewSize(1280, 800)

// fixture is a Desktop on a seeded practice in a test window.
type fixture struct {
	t   *testing.T
	p   *uitest.Practice
	d   *ui.Desktop
	w   fyne.Window
	app fyne.App
}

// newFixture builds the desktop with its loads run inline. Nobody is
// signed in.
func newFixture(t *testing.T, opts ...func(*ui.Config)) *fixture {
	t.Helper()
	a := test.NewTempApp(t)
	// The lane's own theme: Fyne's test theme has no bold monospace face,
	// which the readings use.
	a.Settings().SetTheme(ui.NewTheme(theme.VariantDark))
	w := test.NewTempWindow(t, nil)
	p := uitest.NewPractice(t)
	cfg := ui.Config{
		App: a, Window: w, Service: p.Service, Auth: p.Auth, Sync: p.Sync, Instruments: p.Instruments,
		Settings: p.Settings, Clock: p.Clock, TimeZone: time.UTC, Practice: "Examlane Demo Practice", Version: "test",
	}
	for _, o := range opts {
		o(&cfg)
	}
	d := ui.NewDesktop(cfg)
	ui.Inline(d)
	w.Resize(windowSize)
	return &fixture{t: t, p: p, d: d, w: w, app: a}
}

// signIn signs u in through the lock screen and checks it worked.
func (f *fixture) signIn(u uitest.User) {
	f.t.Helper()
	ui.FillSignIn(f.d, u.Login, uitest.Password, uitest.Code)
	if f.d.Locked() {
		_, msg := ui.LockState(f.d)
		f.t.Fatalf("sign in as %s failed: %s", u.Login, msg)
	}
}

// open opens a patient's chart from the worklist: search, then Enter.
func (f *fixture) open(p lane.Patient) {
	f.t.Helper()
	f.d.Shell().Show(ui.ScreenWorklist)
	s := ui.WorklistSearch(f.d)
	s.SetText(p.MRN)
	s.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if got := ui.ChartPatient(f.d); got != p.ID {
		f.t.Fatalf("after opening %s, the open chart is %q", p.ID, got)
	}
}

// ingest makes an instrument send a capture and delivers its event, as the
// bridge would.
func (f *fixture) ingest(c lane.Capture) lane.Capture {
	f.t.Helper()
	out, err := f.p.Service.IngestCapture(context.Background(), c)
	if err != nil {
		f.t.Fatal(err)
	}
	f.d.HandleEvent(lane.CaptureArrived{Capture: out})
	return out
}

// button returns the visible button labelled text in the window or its
// overlays, failing the test when there is none.
func (f *fixture) button(text string) *widget.Button {
	f.t.Helper()
	if b := findButton(f.w, text); b != nil {
		return b
	}
	f.t.Fatalf("no visible button %q", text)
	return nil
}

// buttons returns every visible button labelled text in the window, in
// layout order.
func (f *fixture) buttons(text string) []*widget.Button {
	var out []*widget.Button
	for _, o := range visibleObjects(f.w.Content()) {
		if b, ok := o.(*widget.Button); ok && b.Text == text {
			out = append(out, b)
		}
	}
	return out
}

// findButton returns the visible button labelled text, or nil.
func findButton(w fyne.Window, text string) *widget.Button {
	roots := []fyne.CanvasObject{w.Content()}
	roots = append(roots, w.Canvas().Overlays().List()...)
	for i := len(roots) - 1; i >= 0; i-- {
		for _, o := range visibleObjects(roots[i]) {
			if b, ok := o.(*widget.Button); ok && b.Text == text {
				return b
			}
		}
	}
	return nil
}

// visibleObjects returns the objects under o that are visible, with every
// ancestor visible too.
func visibleObjects(o fyne.CanvasObject) []fyne.CanvasObject {
	var out []fyne.CanvasObject
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		out = append(out, o)
		switch x := o.(type) {
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(x).Objects() {
				walk(c)
			}
		}
	}
	walk(o)
	return out
}

// tap taps the visible button labelled text.
func (f *fixture) tap(text string) {
	f.t.Helper()
	b := f.button(text)
	if b.Disabled() {
		f.t.Fatalf("button %q is disabled", text)
	}
	test.Tap(b)
}

// golden lays the window out afresh (as the desktop driver does when
// minimum sizes change) and compares it with a markup golden.
func (f *fixture) golden(name string) {
	f.t.Helper()
	f.w.Resize(windowSize.AddWidthHeight(1, 1))
	f.w.Resize(windowSize)
	test.AssertRendersToMarkup(f.t, name, f.w.Canvas())
}

// markup returns the window's markup, overlays included.
func (f *fixture) markup() string { return test.RenderToMarkup(f.w.Canvas()) }

// shortcut types Ctrl+key (Cmd+key on macOS) on the canvas, as the
// desktop driver reports it.
func (f *fixture) shortcut(key fyne.KeyName) {
	f.w.Canvas().(fyne.Shortcutable).TypedShortcut(&desktop.CustomShortcut{KeyName: key, Modifier: fyne.KeyModifierShortcutDefault})
}

// audit returns the audit events of a user.
func (f *fixture) audit(u lane.UserID) []lane.AuditEvent {
	f.t.Helper()
	ev, err := f.p.Store.ListAudit(context.Background(), lane.AuditFilter{User: u})
	if err != nil {
		f.t.Fatal(err)
	}
	return ev
}

// noPatientData fails the test if markup holds any patient's name, MRN or
// id.
func noPatientData(t *testing.T, markup string, patients ...lane.Patient) {
	t.Helper()
	for _, p := range patients {
		for _, s := range []string{p.Name.Family, p.Name.Given[0], p.MRN, string(p.ID)} {
			if strings.Contains(markup, s) {
				t.Errorf("the window shows %q (patient %s) while locked", s, p.ID)
			}
		}
	}
}

// bookWithoutVisit adds a synthetic patient who arrived for an appointment
// today and has no visit encounter yet (unlike the practice's seeded
// visits), and returns her.
func (f *fixture) bookWithoutVisit() lane.Patient {
	f.t.Helper()
	ctx := context.Background()
	by := lane.Actor{User: "seed", Roles: []lane.Role{lane.RoleAdmin}, Lane: "Lane 2"}
	fay, err := f.p.Store.SavePatient(ctx, by, lane.Patient{ID: "pat-fay", MRN: "DEMO-1006",
		Name: lane.Name{Given: []string{"Fay"}, Family: "Newvisit"}, BirthDate: lane.Date{Year: 1985, Month: 4, Day: 4}, Sex: lane.SexFemale})
	if err != nil {
		f.t.Fatal(err)
	}
	start := uitest.Now.Add(15 * time.Minute)
	if _, err := f.p.Store.SaveAppointment(ctx, by, lane.Appointment{ID: "appt-fay", PatientID: fay.ID, Start: start,
		End: start.Add(30 * time.Minute), Location: "loc-1", Lane: "Lane 2", Provider: uitest.Optometrist.ID,
		Reason: "Routine eye exam", Status: lane.ApptArrived}); err != nil {
		f.t.Fatal(err)
	}
	return fay
}
