package ui_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui"
	"github.com/examlane/examlane/ui/uitest"
)

func TestStartsLockedWithSignIn(t *testing.T) {
	f := newFixture(t)
	if !f.d.Locked() {
		t.Fatal("a new desktop is not locked")
	}
	if got := f.w.Title(); got != "Examlane — locked" {
		t.Errorf("title = %q, want %q", got, "Examlane — locked")
	}
	if mode, _ := ui.LockState(f.d); mode != "sign-in" {
		t.Errorf("lock screen mode = %q, want sign-in", mode)
	}
	f.golden("lock/sign-in.xml")
}

func TestSignInErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, user, password, code string
		want                       string
	}{
		{"no user", "", uitest.Password, uitest.Code, "Type your user name."},
		{"no password", "tina", "", uitest.Code, "Type your password."},
		{"no code", "tina", uitest.Password, "", "Type the 6-digit code from your authenticator app."},
		{"wrong password", "tina", "wrong", uitest.Code, "Not accepted. Check the user name, password and code, and try again."},
		{"wrong code", "tina", uitest.Password, "000000", "Not accepted. Check the user name, password and code, and try again."},
		{"unknown user", "nobody", uitest.Password, uitest.Code, "Not accepted. Check the user name, password and code, and try again."},
	}
	for _, tt := range tests {
		ui.FillSignIn(f.d, tt.user, tt.password, tt.code)
		if !f.d.Locked() {
			t.Fatalf("%s: signed in", tt.name)
		}
		if _, msg := ui.LockState(f.d); msg != tt.want {
			t.Errorf("%s: message %q, want %q", tt.name, msg, tt.want)
		}
	}
	f.p.Auth.Fail("tina", lane.ErrUnavailable)
	ui.FillSignIn(f.d, "tina", uitest.Password, uitest.Code)
	if _, msg := ui.LockState(f.d); !strings.HasPrefix(msg, "Not reachable right now") {
		t.Errorf("unreachable verifier: message %q", msg)
	}
	f.p.Auth.Fail("tina", nil)
	f.signIn(uitest.Technician)
	if got := f.w.Title(); got != "Examlane" {
		t.Errorf("title after sign-in = %q", got)
	}
	if got := ui.WorklistShown(f.d); len(got) != 4 {
		t.Errorf("worklist after sign-in shows %q, want 4 patients", got)
	}
}

// TestIdleLockHidesPatientData is the lock test: after the idle timeout on
// the injected clock, nothing of any patient is left in the window.
func TestIdleLockHidesPatientData(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Technician)
	f.open(f.p.Ada)
	f.ingest(uitest.Autorefraction(uitest.Rx(t, "-3.25 -0.50 x 180"), uitest.Rx(t, "-1.75 -0.50 x 170")))
	if !strings.Contains(f.markup(), "Testperson") {
		t.Fatal("the open chart's name is not on screen before the lock")
	}

	f.p.Clock.Advance(ui.DefaultLockTimeout - 20*time.Second)
	f.d.Tick()
	if f.d.Locked() {
		t.Fatal("locked before the timeout")
	}
	if got := f.d.Shell().Notice(); !strings.HasPrefix(got, "Locking in 20 s") {
		t.Errorf("notice before the lock = %q, want a warning", got)
	}
	f.p.Clock.Advance(20 * time.Second)
	f.d.Tick()
	if !f.d.Locked() {
		t.Fatal("not locked after the idle timeout")
	}
	if got := f.w.Title(); got != "Examlane — locked" {
		t.Errorf("title = %q", got)
	}
	markup := f.markup()
	noPatientData(t, markup, f.p.Ada, f.p.Ben, f.p.Cleo, f.p.Dan, f.p.Eve)
	for _, s := range []string{"-3.25", "Autorefraction", "Alerts"} {
		if strings.Contains(markup, s) {
			t.Errorf("the locked window shows %q", s)
		}
	}
	if !f.p.Service.Locked() {
		t.Error("the service is not locked")
	}
	if _, enc := f.p.Service.Active(); enc != "" || ui.ChartPatient(f.d) != "" {
		t.Error("the chart is still open after the lock")
	}
	var idle bool
	for _, e := range f.audit(uitest.Technician.ID) {
		idle = idle || e.Action == lane.AuditLock && e.Detail == "idle"
	}
	if !idle {
		t.Error("no idle lock in the audit trail")
	}
	f.golden("lock/locked.xml")
}

// TestActivityDefersLock checks each source of activity: pointer movement,
// keys typed with nothing focused, typing in an entry, shortcuts.
func TestActivityDefersLock(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Technician)
	step := ui.DefaultLockTimeout - time.Minute
	acts := map[string]func(){
		"pointer over an empty area": func() { test.MoveMouse(f.w.Canvas(), fyne.NewPos(700, 500)) },
		"pointer onto a button": func() {
			test.MoveMouse(f.w.Canvas(), fyne.NewPos(700, 520))
			test.MoveMouse(f.w.Canvas(), fyne.NewPos(60, 30))
		},
		"key with nothing focused": func() { f.w.Canvas().Unfocus(); test.TypeOnCanvas(f.w.Canvas(), "x") },
		"typing in the search box": func() { test.Type(ui.WorklistSearchBox(f.d), "a") },
		"shortcut":                 func() { f.shortcut(fyne.Key1) },
	}
	for _, name := range []string{"pointer over an empty area", "pointer onto a button", "key with nothing focused", "typing in the search box", "shortcut"} {
		f.p.Clock.Advance(step)
		acts[name]()
		f.p.Clock.Advance(step)
		f.d.Tick()
		if f.d.Locked() {
			t.Fatalf("%s did not count as activity: the lane locked", name)
		}
	}
	f.p.Clock.Advance(ui.DefaultLockTimeout)
	f.d.Tick()
	if !f.d.Locked() {
		t.Error("no lock after a full idle period")
	}
}

func TestLockShortcutAndPINResume(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.signIn(uitest.Technician)
	if err := f.p.Auth.SetPIN(ctx, uitest.Technician.ID, "24681357"); err != nil {
		t.Fatal(err)
	}
	f.open(f.p.Ada)
	test.Type(ui.WorklistSearch(f.d), "x") // focus an entry: the shortcut must still lock
	f.w.Canvas().Focus(ui.WorklistSearch(f.d))
	f.shortcut(fyne.KeyL)
	if !f.d.Locked() {
		t.Fatal("Ctrl+L did not lock")
	}
	if mode, _ := ui.LockState(f.d); mode != "resume" {
		t.Fatalf("lock screen mode = %q, want resume", mode)
	}
	if !strings.Contains(f.markup(), "Tina Tech") {
		t.Error("the lock screen does not name the locked session's user")
	}
	ui.FillPIN(f.d, "11112222")
	if _, msg := ui.LockState(f.d); msg != "Not accepted. Check the user name, password and code, and try again." || !f.d.Locked() {
		t.Errorf("wrong PIN: locked %v, message %q", f.d.Locked(), msg)
	}
	ui.FillPIN(f.d, "24681357")
	if f.d.Locked() || f.p.Service.Locked() {
		t.Fatal("the right PIN did not unlock")
	}
	if s, _ := f.p.Service.Current(); s.User != uitest.Technician.ID {
		t.Errorf("after resume the session is %q's", s.User)
	}
	if ui.ChartPatient(f.d) != "" {
		t.Error("the chart reopened by itself after the lock")
	}
}

func TestPINLockout(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Technician)
	_ = f.p.Auth.SetPIN(context.Background(), uitest.Technician.ID, "24681357")
	f.d.Lock("manual")
	var msg string
	for range 5 {
		ui.FillPIN(f.d, "99990000")
		_, msg = ui.LockState(f.d)
	}
	if msg != "Too many wrong PINs. Sign in with your password and code." {
		t.Errorf("after 5 wrong PINs: %q", msg)
	}
	ui.FillPIN(f.d, "24681357")
	if !f.d.Locked() {
		t.Error("the right PIN unlocked after the lockout")
	}
}

func TestSignInAsSomeoneElseEndsLockedSession(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Technician)
	_ = f.p.Auth.SetPIN(context.Background(), uitest.Technician.ID, "24681357")
	f.d.Lock("manual")
	f.signIn(uitest.Optometrist)
	if s, _ := f.p.Service.Current(); s.User != uitest.Optometrist.ID {
		t.Fatalf("session is %q's, want the optometrist's", s.User)
	}
	f.d.Lock("manual")
	if mode, _ := ui.LockState(f.d); mode != "resume" || !strings.Contains(f.markup(), "Dr Omar Optom") {
		t.Error("the lock screen does not offer the optometrist's resume")
	}
	if err := f.p.Service.Unlock(context.Background(), uitest.Technician.ID); !errors.Is(err, lane.ErrForbidden) {
		t.Errorf("the technician's old session can still be unlocked: %v", err)
	}
}

func TestEndShift(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Technician)
	f.tap("End shift")
	if !f.d.Locked() {
		t.Fatal("End shift did not lock")
	}
	if _, ok := f.p.Service.Current(); ok {
		t.Error("a session is still open after End shift")
	}
	if mode, _ := ui.LockState(f.d); mode != "sign-in" {
		t.Errorf("lock screen mode = %q, want sign-in", mode)
	}
}

func TestWindowSizeRememberedPerUser(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Technician)
	_ = f.p.Auth.SetPIN(context.Background(), uitest.Technician.ID, "24681357")
	tech := fyne.NewSize(1100, 700)
	f.w.Resize(tech)
	f.d.Lock("manual")
	f.w.Resize(windowSize)
	ui.FillPIN(f.d, "24681357")
	if got := f.w.Canvas().Size(); got != tech {
		t.Errorf("after resume the window is %v, want the technician's %v", got, tech)
	}
	f.d.Lock("manual")
	f.w.Resize(windowSize)
	f.signIn(uitest.Optometrist)
	if got := f.w.Canvas().Size(); got != windowSize {
		t.Errorf("the optometrist got %v, want the window as it was (%v)", got, windowSize)
	}
	keys := f.app.Preferences().FloatList("window.size." + string(uitest.Technician.ID))
	if !slices.Equal(keys, []float64{1100, 700}) {
		t.Errorf("stored size = %v", keys)
	}
}
