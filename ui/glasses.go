package ui

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/rxpdf"
)

// checkColumns are the verification table's column widths: eye,
// parameter, ordered, measured, difference, tolerance, result.
var checkColumns = []float32{56, 130, 96, 96, 96, 110, 0}

// glassesScreen is the optician's screen: the ordered Rx beside the
// lensmeter reading of the finished glasses (filled live from an incoming
// lensometry capture, or typed), the lens type, and the ANSI Z80.1 verdict
// per eye and parameter with the tolerance and the rule that applied. The
// verdict is written in words and symbols (✓ PASS, ✗ FAIL), never by color
// alone. From here the optician records the dispensing and prints or
// exports the Rx as a PDF (audited before the file is written).
type glassesScreen struct {
	d       *Desktop
	content fyne.CanvasObject
	chart   *openChart

	noChart *widget.Label
	body    *fyne.Container

	rxSelect *widget.Select
	rxs      []lane.SpectacleRx // signed prescriptions offered, newest first
	ordered  [2]*widget.Label
	lens     *widget.Select
	measured [2]*entry
	live     *widget.Label
	useLast  *widget.Button
	verify   *widget.Button
	errLabel *widget.Label

	verdict  *widget.Label
	checks   *fyne.Container
	result   *lane.Verification
	resultRx lane.SpectacleRx

	dispense *widget.Button
	export   *widget.Button
}

var (
	_ Lockable  = (*glassesScreen)(nil)
	_ chartView = (*glassesScreen)(nil)
)

func newGlassesScreen(d *Desktop) *glassesScreen {
	s := &glassesScreen{d: d}
	s.rxSelect = widget.NewSelect(nil, func(string) { d.touch(); s.onRxChosen() })
	s.rxSelect.PlaceHolder = "Choose the prescription the glasses were made to"
	s.lens = widget.NewSelect(lensChoices, func(string) { d.touch(); s.clearResult() })
	for i := range 2 {
		s.ordered[i] = valueLabel("–")
		e := newEntry(d, "Lensmeter reading, e.g. -2.25 -0.75 x 180")
		e.TextStyle = fyne.TextStyle{Monospace: true, Bold: true}
		e.OnChanged = func(string) { s.clearResult() }
		e.OnSubmitted = func(string) { s.runVerify() }
		s.measured[i] = e
	}
	s.live = widget.NewLabel("")
	s.live.Importance = widget.LowImportance
	s.live.Wrapping = fyne.TextWrapWord
	s.useLast = d.button("Use latest lensmeter reading", theme.DownloadIcon(), s.useLatest)
	s.verify = d.button("Verify (Enter)", theme.ConfirmIcon(), s.runVerify)
	s.verify.Importance = widget.HighImportance
	s.errLabel = widget.NewLabel("")
	s.errLabel.Importance = widget.DangerImportance
	s.errLabel.Wrapping = fyne.TextWrapWord
	s.errLabel.Hide()

	s.verdict = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.verdict.SizeName = theme.SizeNameHeadingText
	s.verdict.Wrapping = fyne.TextWrapWord
	s.checks = container.NewVBox()
	s.dispense = d.button("Record dispensing", theme.ConfirmIcon(), s.askDispense)
	s.export = d.button("Print / export Rx as PDF…", theme.DocumentPrintIcon(), s.askExport)

	equal := &equalColumns{fixed: []int{0}, widths: []float32{150}}
	compare := container.NewVBox(
		container.New(equal, columnTitle(""), columnTitle("Right eye"), columnTitle("Left eye")),
		widget.NewSeparator(),
		container.New(equal, rowTitle("Ordered"), s.ordered[0], s.ordered[1]),
		container.New(equal, rowTitle("Lensmeter"), s.measured[0], s.measured[1]),
	)
	s.body = container.NewVBox(
		heading("Ordered prescription"),
		container.NewBorder(nil, nil, nil, container.NewHBox(widget.NewLabel("Lens"), s.lens), s.rxSelect),
		compare,
		container.NewBorder(nil, nil, nil, container.NewHBox(s.useLast, s.verify), s.live),
		s.errLabel,
		widget.NewSeparator(),
		s.verdict,
		container.NewHBox(s.dispense, s.export),
		s.checks,
	)
	s.noChart = widget.NewLabel("Open a chart from the worklist (Ctrl+1) to check finished glasses against its prescription.")
	s.noChart.Wrapping = fyne.TextWrapWord
	s.content = container.NewVScroll(container.NewVBox(s.noChart, s.body))
	s.chartOpened(nil)
	return s
}

// view returns the screen's content for the shell.
func (s *glassesScreen) view() fyne.CanvasObject { return s.content }

// chartOpened offers the chart's signed prescriptions, or clears the
// screen.
func (s *glassesScreen) chartOpened(o *openChart) {
	s.chart = o
	for i := range 2 {
		s.measured[i].SetText("")
	}
	s.live.SetText("Waiting for a lensmeter reading, or type it.")
	s.setError("")
	s.clearResult()
	if o == nil {
		s.rxs = nil
		s.rxSelect.Options = nil
		s.rxSelect.ClearSelected()
		s.noChart.Show()
		s.body.Hide()
		for i := range 2 {
			s.ordered[i].SetText("–")
		}
		return
	}
	s.noChart.Hide()
	s.body.Show()
	s.refreshRxs()
	if len(s.rxs) > 0 {
		s.rxSelect.SetSelectedIndex(0)
	}
}

// chartChanged offers a newly signed prescription.
func (s *glassesScreen) chartChanged() {
	if s.chart == nil {
		return
	}
	before := len(s.rxs)
	s.refreshRxs()
	if before == 0 && len(s.rxs) > 0 {
		s.rxSelect.SetSelectedIndex(0)
	}
}

// refreshRxs lists the chart's signed prescriptions, newest first.
func (s *glassesScreen) refreshRxs() {
	chosen := s.rxSelect.SelectedIndex()
	var chosenID lane.PrescriptionID
	if chosen >= 0 && chosen < len(s.rxs) {
		chosenID = s.rxs[chosen].ID
	}
	s.rxs = nil
	var opts []string
	for _, rx := range s.chart.c.Prescriptions {
		if !rx.Signed() || rx.Deleted {
			continue
		}
		s.rxs = append(s.rxs, rx)
		opts = append(opts, fmt.Sprintf("Signed %s · %s · R %s · L %s", orDash(rx.Issued.String()), lensName(rx.Lens),
			lane.FormatRx(rx.Right), lane.FormatRx(rx.Left)))
	}
	s.rxSelect.Options = opts
	s.rxSelect.Refresh()
	if len(s.rxs) == 0 {
		s.rxSelect.PlaceHolder = "No signed prescription in this chart"
		s.rxSelect.ClearSelected()
	}
	for i, rx := range s.rxs {
		if rx.ID == chosenID {
			s.rxSelect.SetSelectedIndex(i)
		}
	}
}

// lensName names a lens type.
func lensName(t lane.LensType) string {
	for i, x := range lensTypes {
		if x == t {
			return lensChoices[i]
		}
	}
	return lensChoices[0]
}

// current returns the chosen prescription.
func (s *glassesScreen) current() (lane.SpectacleRx, bool) {
	i := s.rxSelect.SelectedIndex()
	if i < 0 || i >= len(s.rxs) {
		return lane.SpectacleRx{}, false
	}
	return s.rxs[i], true
}

// onRxChosen shows the chosen prescription and its lens type.
func (s *glassesScreen) onRxChosen() {
	rx, ok := s.current()
	if !ok {
		return
	}
	s.ordered[0].SetText(lane.FormatRx(rx.Right))
	s.ordered[1].SetText(lane.FormatRx(rx.Left))
	for i, t := range lensTypes {
		if t == rx.Lens {
			s.lens.SetSelectedIndex(i)
		}
	}
	if s.lens.SelectedIndex() < 0 {
		s.lens.SetSelectedIndex(0)
	}
	s.clearResult()
}

// lensometry returns the lensometry readings of a capture or chart by eye,
// preferring representative ones.
func lensometry(ms []lane.Measurement) map[lane.Eye]lane.Measurement {
	out := map[lane.Eye]lane.Measurement{}
	for _, m := range ms {
		if m.Source != lane.SourceLensometry || m.Refraction == nil || m.Deleted {
			continue
		}
		prev, ok := out[m.Eye]
		if !ok || m.Representative && !prev.Representative || m.Representative == prev.Representative && !m.ReceivedAt.Before(prev.ReceivedAt) {
			out[m.Eye] = m
		}
	}
	return out
}

// onCapture fills the lensmeter fields from an incoming lensometry capture
// and verifies when both eyes came.
func (s *glassesScreen) onCapture(c lane.Capture) {
	if s.chart == nil {
		return
	}
	got := lensometry(c.Readings)
	if len(got) == 0 {
		return
	}
	s.fill(got, fmt.Sprintf("Lensmeter reading received at %s from %s.", clockText(c.ReceivedAt, s.d.tz), instrumentText(c.Instrument)))
}

// useLatest fills the lensmeter fields with the chart's newest lensometry
// of today.
func (s *glassesScreen) useLatest() {
	if s.chart == nil {
		return
	}
	today := s.d.today()
	var ms []lane.Measurement
	for _, m := range s.chart.c.Measurements {
		if lane.DateOf(m.ReceivedAt.In(s.d.tz)) == today {
			ms = append(ms, m)
		}
	}
	got := lensometry(ms)
	if len(got) == 0 {
		s.setError("No lensmeter reading today in this chart. Measure the glasses, or type the reading.")
		return
	}
	last := got[lane.EyeRight]
	if l, ok := got[lane.EyeLeft]; ok && l.ReceivedAt.After(last.ReceivedAt) {
		last = l
	}
	s.fill(got, fmt.Sprintf("Lensmeter reading of %s from %s.", clockText(last.ReceivedAt, s.d.tz), instrumentText(last.Instrument)))
}

// fill puts readings into the lensmeter fields.
func (s *glassesScreen) fill(got map[lane.Eye]lane.Measurement, live string) {
	s.setError("")
	for i, eye := range []lane.Eye{lane.EyeRight, lane.EyeLeft} {
		if m, ok := got[eye]; ok {
			s.measured[i].SetText(lane.FormatRx(*m.Refraction))
		}
	}
	s.live.SetText(live)
	if _, ok := got[lane.EyeRight]; ok {
		if _, ok := got[lane.EyeLeft]; ok {
			s.runVerify()
		}
	}
}

// setError shows a problem; "" hides it.
func (s *glassesScreen) setError(msg string) {
	s.errLabel.SetText(msg)
	if msg == "" {
		s.errLabel.Hide()
	} else {
		s.errLabel.Show()
	}
}

// clearResult removes a verdict that no longer matches the fields.
func (s *glassesScreen) clearResult() {
	s.result = nil
	s.verdict.SetText("")
	s.verdict.Hide()
	s.checks.RemoveAll()
	s.dispense.Disable()
	if _, ok := s.current(); ok && s.d.can(lane.PermExport) {
		s.export.Enable()
	} else {
		s.export.Disable()
	}
}

// runVerify compares the lensmeter reading with the order.
func (s *glassesScreen) runVerify() {
	if s.chart == nil {
		return
	}
	rx, ok := s.current()
	if !ok {
		s.setError("Choose the prescription the glasses were made to.")
		return
	}
	if !s.d.can(lane.PermVerifyGlasses) {
		s.setError(errorText(lane.ErrForbidden))
		return
	}
	var measured lane.RxPair
	for i, dst := range []*lane.Refraction{&measured.Right, &measured.Left} {
		t := strings.TrimSpace(s.measured[i].Text)
		if t == "" {
			s.setError("Type or measure the lensmeter reading of both lenses.")
			return
		}
		r, err := lane.ParseRx(t)
		if err != nil {
			s.setError(eyeName([]lane.Eye{lane.EyeRight, lane.EyeLeft}[i]) + ": " + errorText(err))
			return
		}
		*dst = r
	}
	lens := lensTypes[max(s.lens.SelectedIndex(), 0)]
	v, err := lane.VerifySpectacles(lens, lane.RxPair{Right: rx.Right, Left: rx.Left}, measured)
	if err != nil {
		s.setError(errorText(err))
		return
	}
	s.setError("")
	s.showResult(rx, v)
}

// showResult shows a verification: the verdict and one row per check.
func (s *glassesScreen) showResult(rx lane.SpectacleRx, v lane.Verification) {
	s.result, s.resultRx = &v, rx
	if v.Pass {
		s.verdict.SetText("✓ PASS: every parameter is within the ANSI Z80.1-2015 tolerance")
		s.verdict.Importance = widget.SuccessImportance
	} else {
		s.verdict.SetText(fmt.Sprintf("✗ FAIL: %s out of tolerance", plural(len(v.Failed()), "parameter", "parameters")))
		s.verdict.Importance = widget.DangerImportance
	}
	s.verdict.Show()
	s.verdict.Refresh()
	s.checks.RemoveAll()
	s.checks.Add(newColumns(checkColumns, 6,
		columnTitle("Eye"), columnTitle("Parameter"), columnTitle("Ordered"), columnTitle("Measured"),
		columnTitle("Difference"), columnTitle("Tolerance"), columnTitle("Result")))
	s.checks.Add(widget.NewSeparator())
	for _, c := range v.Checks {
		s.checks.Add(s.checkRow(c))
	}
	if s.d.can(lane.PermRecordDispensing) {
		s.dispense.Enable()
	}
}

// checkRow shows one check and, under it, the rule that applied.
func (s *glassesScreen) checkRow(c lane.VerifyCheck) fyne.CanvasObject {
	mono := func(t string) *widget.Label {
		return widget.NewLabelWithStyle(t, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	}
	result := widget.NewLabelWithStyle("✓ PASS", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	result.Importance = widget.SuccessImportance
	if !c.Pass {
		result.SetText("✗ FAIL")
		result.Importance = widget.DangerImportance
	}
	row := newColumns(checkColumns, 6,
		widget.NewLabelWithStyle(checkEye(c.Eye), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		widget.NewLabel(checkParameter(c.Parameter)),
		mono(checkValue(c.Parameter, c.Ordered, false)),
		mono(checkValue(c.Parameter, c.Measured, false)),
		mono(checkValue(c.Parameter, c.Difference, true)),
		mono(checkTolerance(c)),
		result,
	)
	rule := note(c.Rule)
	return container.NewVBox(row, container.NewPadded(rule))
}

// checkEye names the eye of a check.
func checkEye(e lane.Eye) string {
	if e == lane.EyeBoth {
		return "Pair"
	}
	return eyeText(e)
}

// checkParameter names a verified parameter.
func checkParameter(p lane.CheckParameter) string {
	switch p {
	case lane.CheckSphere:
		return "Sphere"
	case lane.CheckCylinder:
		return "Cylinder"
	case lane.CheckAxis:
		return "Axis"
	case lane.CheckAdd:
		return "Add"
	case lane.CheckPrismH:
		return "Prism, horiz."
	case lane.CheckPrismV:
		return "Prism, vert."
	}
	return string(p)
}

// checkValue formats a check's value in its unit: dioptres with two
// decimals (three when needed) and always a sign, degrees, prism dioptres;
// signed adds a plus sign to positive axis and prism values (differences).
func checkValue(p lane.CheckParameter, v lane.Millionths, signed bool) string {
	switch p {
	case lane.CheckAxis:
		s := v.String() + "°"
		if signed && v > 0 {
			s = "+" + s
		}
		return s
	case lane.CheckPrismH, lane.CheckPrismV:
		return decimals(v, signed) + " Δ"
	}
	return decimals(v, true) + " D" // powers are written with their sign
}

// decimals formats millionths with at least two decimals.
func decimals(v lane.Millionths, signed bool) string {
	s := v.Abs().String()
	if i := strings.IndexByte(s, '.'); i < 0 {
		s += ".00"
	} else if len(s)-i-1 < 2 {
		s += strings.Repeat("0", 2-(len(s)-i-1))
	}
	switch {
	case v < 0:
		return "-" + s
	case signed && v > 0:
		return "+" + s
	}
	return s
}

// checkTolerance formats a check's tolerance.
func checkTolerance(c lane.VerifyCheck) string {
	if c.Tolerance == 0 && c.Parameter == lane.CheckAxis {
		return "none"
	}
	switch c.Parameter {
	case lane.CheckAxis:
		return "±" + c.Tolerance.String() + "°"
	case lane.CheckPrismH, lane.CheckPrismV:
		return "≤" + decimals(c.Tolerance, false) + " Δ"
	}
	return "±" + decimals(c.Tolerance, false) + " D"
}

// askDispense records the dispensing, after confirming when the glasses
// failed.
func (s *glassesScreen) askDispense() {
	if s.result == nil || s.chart == nil {
		return
	}
	if s.result.Pass {
		s.recordDispensing("")
		return
	}
	var failed []string
	for _, c := range s.result.Failed() {
		failed = append(failed, checkEye(c.Eye)+" "+strings.ToLower(checkParameter(c.Parameter)))
	}
	note := "out of tolerance: " + strings.Join(failed, ", ")
	dialog.ShowConfirm("Glasses failed verification",
		"The glasses are out of tolerance ("+strings.Join(failed, ", ")+"). Record them as returned to the lab?",
		func(ok bool) {
			if ok {
				s.recordDispensing(note)
			}
		}, s.d.win)
}

// recordDispensing records the verified dispensing.
func (s *glassesScreen) recordDispensing(note string) {
	d := lane.Dispensing{PatientID: s.chart.patientID(), PrescriptionID: s.resultRx.ID, Pass: s.result.Pass, Note: note}
	s.d.async(func() func() {
		out, err := s.d.svc.RecordDispensing(s.d.ctx, d)
		return func() {
			if err != nil {
				s.d.showError(err)
				return
			}
			if out.Pass {
				s.d.notify("Dispensing recorded: glasses handed over")
				if s.chart != nil && s.chart.appt != nil && s.chart.appt.Status != lane.ApptDone {
					s.d.advanceVisit(*s.chart.appt, lane.ApptDone)
				}
			} else {
				s.d.notify("Recorded: glasses returned to the lab")
			}
			s.dispense.Disable()
		}
	})
}

// askExport asks where to save the PDF of the chosen prescription.
func (s *glassesScreen) askExport() {
	rx, ok := s.current()
	if !ok || s.chart == nil {
		return
	}
	dlg := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			s.d.showError(err)
			return
		}
		if w == nil {
			return // cancelled
		}
		s.exportTo(rx, w, func() { _ = storage.Delete(w.URI()) })
	}, s.d.win)
	dlg.SetFileName("prescription-" + orDash(rx.Issued.String()) + ".pdf")
	dlg.Resize(fyne.NewSize(800, 560))
	dlg.Show()
}

// exportTo audits the export, then writes the PDF of rx to w and closes
// it. When the audit fails, nothing is written and discard removes the
// empty file the dialog created.
func (s *glassesScreen) exportTo(rx lane.SpectacleRx, w io.WriteCloser, discard func()) {
	if s.chart == nil {
		_ = w.Close()
		return
	}
	doc := s.pdfDoc(rx)
	pid := s.chart.patientID()
	s.d.async(func() func() {
		err := s.d.svc.RecordExport(s.d.ctx, pid, "spectacle Rx PDF "+string(rx.ID))
		if err == nil {
			var buf bytes.Buffer
			if err = rxpdf.Write(&buf, doc); err == nil {
				_, err = w.Write(buf.Bytes())
			}
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		} else {
			_ = w.Close()
			if discard != nil {
				discard()
			}
		}
		return func() {
			if err != nil {
				s.d.showError(err)
				return
			}
			s.d.notify("Prescription PDF saved")
		}
	})
}

// pdfDoc lays a prescription out for rxpdf.
func (s *glassesScreen) pdfDoc(rx lane.SpectacleRx) rxpdf.Doc {
	p := s.chart.c.Patient
	row := func(eye string, r lane.Refraction) rxpdf.Row {
		out := rxpdf.Row{Eye: eye, Sphere: r.Sphere.String()}
		if r.Sphere == 0 {
			out.Sphere = "plano"
		}
		if r.Cylinder != 0 {
			out.Cylinder, out.Axis = r.Cylinder.String(), r.Axis.String()
		} else {
			out.Cylinder = "DS"
		}
		if r.Add != 0 {
			out.Add = r.Add.String()
		}
		out.Prism = strings.ReplaceAll(lane.FormatPrism(r.Prism), "Δ", "")
		return out
	}
	doc := rxpdf.Doc{
		Practice:   orDash(s.d.cfg.Practice),
		Patient:    p.Name.String(),
		BirthDate:  p.BirthDate.String(),
		Issued:     rx.Issued.String(),
		Rows:       []rxpdf.Row{row("R", rx.Right), row("L", rx.Left)},
		Lens:       lensName(rx.Lens),
		Prescriber: string(rx.Prescriber),
		Expires:    rx.Expires.String(),
		Note:       rx.Note,
		Demo:       strings.HasPrefix(strings.ToUpper(p.MRN), demoPrefix),
	}
	if rx.Prescriber == s.d.session.User && s.d.session.Display != "" {
		doc.Prescriber = s.d.session.Display
	}
	switch {
	case rx.MonoPDR > 0 && rx.MonoPDL > 0:
		doc.PD = fmt.Sprintf("R %s mm, L %s mm", rx.MonoPDR, rx.MonoPDL)
	case rx.PD > 0:
		doc.PD = rx.PD.String() + " mm"
	}
	return doc
}

// Lock forgets the chart, the readings and the verdict.
func (s *glassesScreen) Lock() { s.chartOpened(nil) }
