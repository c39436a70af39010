package ui_test

import (
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/ui"
)

// newShell returns a shell shown in a test window of the given size.
func newShell(t *testing.T, size fyne.Size) (*ui.Shell, fyne.Window) {
	t.Helper()
	a := test.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	s := ui.NewShell(a, w)
	w.SetContent(s.Content())
	w.Resize(size)
	return s, w
}

// labels returns the text of every label laid out in w.
func labels(w fyne.Window) []string {
	var out []string
	for _, o := range test.LaidOutObjects(w.Content()) {
		if l, ok := o.(*widget.Label); ok && l.Visible() {
			out = append(out, l.Text)
		}
	}
	return out
}

func TestShellStandardScreens(t *testing.T) {
	s, w := newShell(t, fyne.NewSize(1000, 640))
	want := []string{ui.ScreenWorklist, ui.ScreenPretest, ui.ScreenExam, ui.ScreenGlassesCheck, ui.ScreenSettings}
	if got := s.Screens(); !slices.Equal(got, want) {
		t.Errorf("Screens() = %q, want %q", got, want)
	}
	if got := s.Current(); got != ui.ScreenWorklist {
		t.Errorf("Current() = %q, want %q", got, ui.ScreenWorklist)
	}
	// Each placeholder says what will appear there.
	for _, id := range want {
		if !s.Show(id) {
			t.Fatalf("Show(%q) = false", id)
		}
		text := strings.Join(labels(w), "\n")
		if !strings.Contains(text, "will") || !strings.Contains(text, "not available in this version") {
			t.Errorf("screen %q shows %q; want what will appear there and that it is not available yet", id, text)
		}
	}
}

func TestShellAddScreen(t *testing.T) {
	s, w := newShell(t, fyne.NewSize(1000, 640))

	built := 0
	s.AddScreen(ui.ScreenExam, "Exam", theme.DocumentCreateIcon(), func() fyne.CanvasObject {
		built++
		return widget.NewLabel("exam view")
	})
	if got, want := len(s.Screens()), 5; got != want {
		t.Fatalf("after replacing the exam screen, %d screens, want %d", got, want)
	}
	if built != 0 {
		t.Errorf("view built %d times before the screen was shown, want 0", built)
	}
	s.Show(ui.ScreenExam)
	s.Show(ui.ScreenWorklist)
	s.Show(ui.ScreenExam)
	if built != 1 {
		t.Errorf("view built %d times after two visits, want 1", built)
	}
	if got := labels(w); !slices.Contains(got, "exam view") || !slices.Contains(got, "Exam") {
		t.Errorf("labels = %q, want the title and the exam view", got)
	}

	s.AddScreen("reports", "Reports", nil, func() fyne.CanvasObject { return widget.NewLabel("reports view") })
	if got, want := s.Screens()[5], "reports"; got != want {
		t.Errorf("new screen at the end is %q, want %q", got, want)
	}

	// Replacing the screen on display shows the new view at once.
	s.AddScreen(ui.ScreenExam, "Exam", nil, func() fyne.CanvasObject { return widget.NewLabel("exam view 2") })
	if got := labels(w); !slices.Contains(got, "exam view 2") {
		t.Errorf("labels = %q, want the replaced exam view", got)
	}
}

func TestShellShowUnknown(t *testing.T) {
	s, _ := newShell(t, fyne.NewSize(1000, 640))
	if s.Show("no-such-screen") {
		t.Error(`Show("no-such-screen") = true, want false`)
	}
	if got := s.Current(); got != ui.ScreenWorklist {
		t.Errorf("Current() = %q, want %q", got, ui.ScreenWorklist)
	}
}

func TestShellStatus(t *testing.T) {
	s, w := newShell(t, fyne.NewSize(1000, 640))
	st := ui.Status{Sync: "Up to date", Instruments: "Autorefractor connected"}
	s.SetStatus(st)
	if got := s.Status(); got != st {
		t.Errorf("Status() = %+v, want %+v", got, st)
	}
	got := labels(w)
	for _, want := range []string{st.Sync, st.Instruments} {
		if !slices.Contains(got, want) {
			t.Errorf("labels = %q, want %q in the status bar", got, want)
		}
	}
	s.SetStatus(ui.Status{})
	if got := labels(w); !slices.Contains(got, "–") {
		t.Errorf("labels = %q, want a dash for empty status text", got)
	}
}

func TestShellAbout(t *testing.T) {
	s, w := newShell(t, fyne.NewSize(1000, 640))
	s.SetVersion("1.2.3+4 (abc1234)")
	s.ShowAbout()
	s.ShowAbout() // a second call does not open a second dialog
	overlays := w.Canvas().Overlays().List()
	if len(overlays) != 1 {
		t.Fatalf("%d overlays after ShowAbout, want 1", len(overlays))
	}
	var text []string
	for _, o := range test.LaidOutObjects(overlays[0]) {
		if l, ok := o.(*widget.Label); ok {
			text = append(text, l.Text)
		}
	}
	if !slices.Contains(text, "Version 1.2.3+4 (abc1234)") {
		t.Errorf("About dialog shows %q, want the version", text)
	}
}

func TestShellMarkup(t *testing.T) {
	_, w := newShell(t, fyne.NewSize(1000, 640))
	test.AssertRendersToMarkup(t, "shell/worklist.xml", w.Canvas())
}
