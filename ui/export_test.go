package ui

import (
	"io"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/lane"
)

// This file gives the external tests (package ui_test) handles on the
// Desktop's unexported parts.

// Inline makes d run its background loads on the calling goroutine, so
// that a test sees their results as soon as the call that started them
// returns.
func Inline(d *Desktop) { d.inline = true }

// Wait waits for the background loads d started (when not inline).
func Wait(d *Desktop) { d.wg.Wait() }

// LockGeneration counts a lock as Lock does for background loads, without
// the rest of locking.
func LockGeneration(d *Desktop) { d.lockGen++ }

// Async runs work through d's background runner.
func Async(d *Desktop, work func() func()) { d.async(work) }

// FillSignIn types into the lock screen's sign-in form and submits it.
func FillSignIn(d *Desktop, user, password, code string) {
	l := d.lockView
	if !l.signInBox.Visible() {
		l.showSignIn()
	}
	l.user.SetText(user)
	l.password.SetText(password)
	l.code.SetText(code)
	test.Tap(findButton(l.signInBox, "Sign in"))
}

// FillPIN types a PIN into the lock screen and submits it with Enter.
func FillPIN(d *Desktop, pin string) {
	d.lockView.pin.SetText(pin)
	d.lockView.pin.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
}

// LockState returns the lock screen's mode ("resume" or "sign-in") and
// its error message.
func LockState(d *Desktop) (mode, message string) {
	mode = "sign-in"
	if d.lockView.resumeBox.Visible() {
		mode = "resume"
	}
	if d.lockView.errLabel.Visible() {
		message = d.lockView.errLabel.Text
	}
	return mode, message
}

// WorklistShown returns the names of the patients the worklist shows, in
// order.
func WorklistShown(d *Desktop) []string {
	var out []string
	for _, it := range d.worklist.shown {
		out = append(out, it.Patient.Name.String())
	}
	return out
}

// WorklistSearch returns the worklist's search entry.
func WorklistSearch(d *Desktop) *widget.Entry { return &d.worklist.search.Entry }

// WorklistSearchBox returns the worklist's search box itself, as the
// canvas focuses it, so that typing goes through the lane's entry.
func WorklistSearchBox(d *Desktop) fyne.Focusable { return d.worklist.search }

// WorklistFilter returns the worklist's status filter.
func WorklistFilter(d *Desktop) *widget.Select { return d.worklist.filter }

// WorklistRow returns the rendered row showing item i.
func WorklistRow(d *Desktop, i int) fyne.DoubleTappable {
	for _, o := range test.LaidOutObjects(d.worklist.list) {
		if r, ok := o.(*worklistRow); ok && r.index == i {
			return r
		}
	}
	return nil
}

// ChartPatient returns the open chart's patient id, "" when none.
func ChartPatient(d *Desktop) lane.PatientID {
	if d.chart == nil {
		return ""
	}
	return d.chart.patientID()
}

// PretestReadings returns the pretest screen's reading rows as
// "Kind · eye: value (pending|accepted)".
func PretestReadings(d *Desktop) []string {
	var out []string
	for _, g := range d.pretest.groups {
		state := "accepted"
		if g.pending() {
			state = "pending"
		}
		out = append(out, kindText(g.shown)+" · "+eyeText(g.shown.Eye)+": "+valueText(g.shown)+" ("+state+")")
	}
	return out
}

// PretestFlags returns the last-visit flags shown for each reading row.
func PretestFlags(d *Desktop) [][]string {
	var out [][]string
	for _, g := range d.pretest.groups {
		out = append(out, lastVisitFlags(g.shown, d.chart.c.Measurements, d.tz))
	}
	return out
}

// PretestManual types a reading by hand: kind is the index in the form's
// list, eye "R", "L" or "Both". It returns the form's error, if any.
func PretestManual(d *Desktop, kind int, eye, value string) string {
	s := d.pretest
	s.kind.SetSelectedIndex(kind)
	s.eye.SetSelected(eye)
	s.value.SetText(value)
	s.addManual()
	if s.entryErr.Visible() {
		return s.entryErr.Text
	}
	return ""
}

// Manual kinds, for PretestManual.
const (
	ManualVA             = int(manualVAUnaided)
	ManualIOP            = int(manualIOP)
	ManualKeratometry    = int(manualKeratometry)
	ManualAutorefraction = int(manualAutorefraction)
)

// ExamFields returns the exam screen's entries: subjective R and L,
// subjective acuity R and L, final R and L, PD.
func ExamFields(d *Desktop) (subj, va, final [2]*widget.Entry, pd *widget.Entry) {
	s := d.exam
	for i := range 2 {
		subj[i], va[i], final[i] = &s.subj[i].Entry, &s.subjVA[i].Entry, &s.final[i].Entry
	}
	return subj, va, final, &s.pd.Entry
}

// ExamAddendum returns the exam's addendum entry.
func ExamAddendum(d *Desktop) *widget.Entry { return &d.exam.addendum.Entry }

// ExamSignNow signs the exam without the confirmation dialog.
func ExamSignNow(d *Desktop) { d.exam.signNow() }

// ExamTrends returns the exam screen's plots: IOP, SE, VA.
func ExamTrends(d *Desktop) []fyne.CanvasObject {
	return []fyne.CanvasObject{d.exam.iop, d.exam.se, d.exam.va}
}

// GlassesMeasured returns the glasses check's lensmeter entries.
func GlassesMeasured(d *Desktop) [2]*widget.Entry {
	return [2]*widget.Entry{&d.glasses.measured[0].Entry, &d.glasses.measured[1].Entry}
}

// GlassesVerdict returns the glasses check's verdict and its checks.
func GlassesVerdict(d *Desktop) (string, *lane.Verification) {
	if !d.glasses.verdict.Visible() {
		return "", d.glasses.result
	}
	return d.glasses.verdict.Text, d.glasses.result
}

// GlassesExport writes the chosen prescription's PDF to w as the file
// dialog's callback does.
func GlassesExport(d *Desktop, w io.WriteCloser) {
	rx, ok := d.glasses.current()
	if !ok {
		return
	}
	d.glasses.exportTo(rx, w, nil)
}

// findButton returns the button labelled text under o.
func findButton(o fyne.CanvasObject, text string) *widget.Button {
	for _, x := range test.LaidOutObjects(o) {
		if b, ok := x.(*widget.Button); ok && b.Text == text {
			return b
		}
	}
	return nil
}
