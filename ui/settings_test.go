package ui_test

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui"
	"github.com/examlane/examlane/ui/uitest"
)

func TestSettingsAdmin(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Admin)
	f.shortcut("5")
	f.golden("settings/admin.xml")
	lock := selectShowing(f, "5 minutes")
	lock.SetSelected("10 minutes")
	f.tap("Save settings")
	saved := f.p.Settings.Saved()
	if len(saved) != 1 || saved[0].LockTimeout != 10*time.Minute {
		t.Fatalf("saved %+v", saved)
	}
	if f.d.LockTimeout() != 10*time.Minute {
		t.Errorf("the desktop's lock timeout is %s", f.d.LockTimeout())
	}
	var audited bool
	for _, e := range f.audit(uitest.Admin.ID) {
		audited = audited || e.Action == lane.AuditSettings && e.Detail == "lock timeout 5m0s → 10m0s"
	}
	if !audited {
		t.Error("the change is not audited")
	}
	f.tap("Save settings")
	if !strings.Contains(f.markup(), "Nothing changed.") || len(f.p.Settings.Saved()) != 1 {
		t.Error("saving unchanged settings wrote them again")
	}
}

func TestSettingsNotForClinicians(t *testing.T) {
	f := newFixture(t)
	f.signIn(uitest.Technician)
	f.shortcut("5")
	m := f.markup()
	if !strings.Contains(m, "Only an administrator can change the lane settings.") || strings.Contains(m, "/var/lib/examlane") {
		t.Error("a technician sees the lane settings")
	}
	// Appearance is everyone's.
	var light *widget.RadioGroup
	for _, r := range radioGroups(f) {
		light = r
	}
	light.SetSelected("Light (bright room)")
	th, ok := f.app.Settings().Theme().(*ui.Theme)
	if !ok || th.Variant() != theme.VariantLight {
		t.Error("choosing the light appearance did not switch the theme")
	}
	if got := f.app.Preferences().String("theme." + string(uitest.Technician.ID)); got != "Light (bright room)" {
		t.Errorf("stored appearance %q", got)
	}
}

// radioGroups returns the visible radio groups of the window.
func radioGroups(f *fixture) []*widget.RadioGroup {
	var out []*widget.RadioGroup
	for _, o := range visibleObjects(f.w.Content()) {
		if r, ok := o.(*widget.RadioGroup); ok {
			out = append(out, r)
		}
	}
	return out
}

// selectShowing returns the visible select whose choice is text.
func selectShowing(f *fixture, text string) *widget.Select {
	f.t.Helper()
	for _, o := range visibleObjects(f.w.Content()) {
		if s, ok := o.(*widget.Select); ok && s.Selected == text {
			return s
		}
	}
	f.t.Fatalf("no select showing %q", text)
	return nil
}

// TestSettingsShowUpdatesToAdministrators: the update status is on the
// administrator's settings screen, and nobody else's.
func TestSettingsShowUpdatesToAdministrators(t *testing.T) {
	const line = "Examlane 0.1.0, built 40 days ago. Version 0.2.0 is available."
	for _, tc := range []struct {
		user uitest.User
		want bool
	}{
		{uitest.Admin, true},
		{uitest.Technician, false},
		{uitest.Optometrist, false},
	} {
		f := newFixture(t, func(c *ui.Config) { c.Updates = func() string { return line } })
		f.signIn(tc.user)
		f.shortcut("5")
		if got := strings.Contains(f.markup(), line); got != tc.want {
			t.Errorf("%s sees the update status: %v, want %v", tc.user.Login, got, tc.want)
		}
	}
}
