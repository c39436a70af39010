package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/xwidget"
)

// examColumns are the refraction grid's column widths: row name, right
// eye, left eye (these two stretch equally), action.
var examColumns = []float32{130, 0, 0, 160}

// trendsWidth is the width of the exam screen's column of trend plots.
const trendsWidth = 250

// lensChoices are the lens types offered for the final Rx, in the order of
// lensTypes.
var (
	lensChoices = []string{"Single vision", "Multifocal", "Progressive"}
	lensTypes   = []lane.LensType{lane.LensSingleVision, lane.LensMultifocal, lane.LensProgressive}
)

// expiryChoices are the validity periods offered for the final Rx, in
// months.
var (
	expiryChoices = []string{"1 year", "2 years"}
	expiryMonths  = []int{12, 24}
)

// examScreen is the optometrist's screen: a refraction grid per eye with
// the habitual glasses (lensometry), the autorefraction, the subjective
// refraction and acuity, and the final Rx, with copy-forward buttons
// (autorefraction → subjective → final); the assessment and plan; trends
// of IOP, spherical equivalent and acuity over visits; signing the exam
// and the Rx; addenda after signing; and sending the final Rx to a
// phoropter that takes one. A second tab shows the visit's images with
// the retinal viewer (imaging.go).
type examScreen struct {
	d       *Desktop
	content fyne.CanvasObject
	chart   *openChart

	noChart *widget.Label
	body    *fyne.Container

	habitual [2]*widget.Label
	auto     [2]*widget.Label
	subj     [2]*entry
	subjVA   [2]*entry
	final    [2]*entry
	pd       *entry
	lens     *widget.Select
	expiry   *widget.Select
	rxState  *widget.Label
	gridErr  *widget.Label

	saveSubj *widget.Button
	saveRx   *widget.Button
	signRx   *widget.Button
	sendRx   *widget.Button
	copyAuto *widget.Button
	copyHab  *widget.Button
	copySubj *widget.Button

	assessment *entry
	plan       *entry
	saveNotes  *widget.Button
	signExam   *widget.Button
	visit      *widget.Button
	signedNote *widget.Label
	addenda    *fyne.Container
	addendum   *entry
	addAdd     *widget.Button

	iop, se, va *xwidget.Trend

	// tabs holds the refraction and notes (body) and the Images tab.
	tabs      *container.AppTabs
	imagesTab *container.TabItem
	images    *imagesPanel
}

var (
	_ Lockable  = (*examScreen)(nil)
	_ chartView = (*examScreen)(nil)
)

func newExamScreen(d *Desktop) *examScreen {
	s := &examScreen{d: d}
	rxEntry := func(ph string) *entry {
		e := newEntry(d, ph)
		e.TextStyle = fyne.TextStyle{Monospace: true, Bold: true}
		return e
	}
	for i := range 2 {
		s.habitual[i] = valueLabel("–")
		s.auto[i] = valueLabel("–")
		s.subj[i] = rxEntry("e.g. -2.25 -0.75 x 180")
		s.subjVA[i] = rxEntry("e.g. 6/6 or 20/20")
		s.final[i] = rxEntry("-2.25 -0.75 x 180 add +2.00")
	}
	s.copyHab = d.button("→ Subjective", theme.ContentCopyIcon(), func() { s.copyForward(s.habitualReadings()) })
	s.copyAuto = d.button("→ Subjective", theme.ContentCopyIcon(), func() { s.copyForward(s.autoReadings()) })
	s.copySubj = d.button("→ Final", theme.ContentCopyIcon(), s.copyToFinal)
	s.pd = rxEntry("e.g. 63.5")
	s.lens = widget.NewSelect(lensChoices, func(string) { d.touch() })
	s.lens.SetSelectedIndex(0)
	s.expiry = widget.NewSelect(expiryChoices, func(string) { d.touch() })
	s.expiry.SetSelectedIndex(1)
	s.rxState = widget.NewLabel("")
	s.rxState.Wrapping = fyne.TextWrapWord
	s.gridErr = widget.NewLabel("")
	s.gridErr.Importance = widget.DangerImportance
	s.gridErr.Wrapping = fyne.TextWrapWord
	s.gridErr.Hide()

	s.saveSubj = d.button("Save", theme.DocumentSaveIcon(), s.saveSubjective)
	s.saveRx = d.button("Save draft Rx", theme.DocumentSaveIcon(), func() { s.saveFinal(false) })
	s.signRx = d.button("Sign Rx", theme.ConfirmIcon(), func() { s.saveFinal(true) })
	s.signRx.Importance = widget.HighImportance
	s.sendRx = d.button("Send final Rx to phoropter", theme.MailSendIcon(), s.sendToPhoropter)
	s.sendRx.Hide()

	equal := &equalColumns{fixed: []int{0, 3}, widths: examColumns}
	grid := container.NewVBox(
		container.New(equal, columnTitle(""), columnTitle("Right eye"), columnTitle("Left eye"), columnTitle("")),
		widget.NewSeparator(),
		container.New(equal, rowTitle("Habitual glasses"), s.habitual[0], s.habitual[1], s.copyHab),
		container.New(equal, rowTitle("Autorefraction"), s.auto[0], s.auto[1], s.copyAuto),
		container.New(equal, rowTitle("Subjective"), s.subj[0], s.subj[1], s.copySubj),
		container.New(equal, rowTitle("VA, corrected"), s.subjVA[0], s.subjVA[1], s.saveSubj),
		container.New(equal, rowTitle("Final Rx"), s.final[0], s.final[1], spacer(0, 0)),
	)
	rxOptions := container.NewHBox(
		widget.NewLabel("PD (mm)"), container.NewGridWrap(fyne.NewSize(120, s.pd.MinSize().Height), s.pd),
		widget.NewLabel("Lens"), s.lens,
		widget.NewLabel("Valid for"), s.expiry,
	)
	rxButtons := container.NewHBox(s.saveRx, s.signRx, s.sendRx)

	s.assessment = newMultiLineEntry(d, "Assessment")
	s.assessment.SetMinRowsVisible(3)
	s.plan = newMultiLineEntry(d, "Plan")
	s.plan.SetMinRowsVisible(3)
	s.saveNotes = d.button("Save notes", theme.DocumentSaveIcon(), s.saveEncounterNotes)
	s.signExam = d.button("Sign exam…", theme.ConfirmIcon(), s.askSignExam)
	s.signExam.Importance = widget.HighImportance
	s.visit = d.button("", theme.NavigateNextIcon(), s.advanceVisit)
	s.visit.Hide()
	s.signedNote = widget.NewLabel("")
	s.signedNote.Importance = widget.SuccessImportance
	s.signedNote.TextStyle = fyne.TextStyle{Bold: true}
	s.signedNote.Wrapping = fyne.TextWrapWord
	s.signedNote.Hide()
	s.addenda = container.NewVBox()
	s.addendum = newMultiLineEntry(d, "Addendum: a correction or a later finding")
	s.addendum.SetMinRowsVisible(2)
	s.addAdd = d.button("Add addendum", theme.ContentAddIcon(), s.addAddendum)

	s.iop = xwidget.NewTrend("IOP", "mmHg", 0, 6)
	s.se = xwidget.NewTrend("Spherical equivalent", "D", 2, 1)
	s.va = xwidget.NewTrend("VA", "logMAR; lower is better", 1, 0.3)

	notes := container.NewVBox(
		heading("Assessment and plan"),
		container.NewGridWithColumns(2, s.assessment, s.plan),
		container.NewHBox(s.saveNotes, s.signExam, s.visit),
		s.signedNote, s.addenda,
		container.NewBorder(nil, nil, nil, s.addAdd, s.addendum),
	)
	trends := container.NewVBox(heading("Trends over visits"), s.iop, s.se, s.va)
	main := container.NewVBox(
		heading("Refraction"), grid, rxOptions, s.rxState, rxButtons, s.gridErr,
		widget.NewSeparator(),
		notes,
	)
	s.noChart = widget.NewLabel("Open a chart from the worklist (Ctrl+1) to record the exam.")
	s.noChart.Wrapping = fyne.TextWrapWord
	s.body = container.NewBorder(nil, nil, nil,
		container.NewHBox(widget.NewSeparator(), container.NewStack(spacer(trendsWidth, 0), container.NewVScroll(trends))),
		container.NewVScroll(main))
	s.images = newImagesPanel(d)
	s.imagesTab = container.NewTabItemWithIcon("Images", theme.MediaPhotoIcon(), s.images.content)
	s.tabs = container.NewAppTabs(container.NewTabItemWithIcon("Refraction and notes", theme.DocumentIcon(), s.body), s.imagesTab)
	s.tabs.OnSelected = func(*container.TabItem) { d.touch() }
	s.content = container.NewStack(container.NewVBox(s.noChart), s.tabs)
	s.chartOpened(nil)
	return s
}

// rowTitle returns a grid row's bold name.
func rowTitle(text string) *widget.Label {
	return widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

// view returns the screen's content for the shell.
func (s *examScreen) view() fyne.CanvasObject { return s.content }

// refreshInstruments shows the phoropter button when an instrument takes a
// prescription.
func (s *examScreen) refreshInstruments() {
	in, ok := s.phoropter()
	if !ok || s.chart == nil {
		s.sendRx.Hide()
		return
	}
	s.sendRx.Show()
	if in.State == "connected" || in.State == "receiving" {
		s.sendRx.Enable()
	} else {
		s.sendRx.Disable()
	}
}

// phoropter returns the first instrument that takes a prescription.
func (s *examScreen) phoropter() (InstrumentInfo, bool) {
	for _, in := range s.d.instrumentInfos() {
		if in.AcceptsRx {
			return in, true
		}
	}
	return InstrumentInfo{}, false
}

// chartOpened fills the screen from a newly opened chart, or clears it.
func (s *examScreen) chartOpened(o *openChart) {
	s.chart = o
	s.setError("")
	for i := range 2 {
		s.subj[i].SetText("")
		s.subjVA[i].SetText("")
		s.final[i].SetText("")
	}
	s.pd.SetText("")
	s.assessment.SetText("")
	s.plan.SetText("")
	s.addendum.SetText("")
	s.lens.SetSelectedIndex(0)
	s.expiry.SetSelectedIndex(1)
	s.images.chartOpened(o)
	s.tabs.SelectIndex(0)
	if o == nil {
		s.noChart.Show()
		s.tabs.Hide()
		for _, t := range []*xwidget.Trend{s.iop, s.se, s.va} {
			t.SetSeries(nil)
		}
		s.addenda.RemoveAll()
		return
	}
	s.noChart.Hide()
	s.tabs.Show()
	for i, eye := range []lane.Eye{lane.EyeRight, lane.EyeLeft} {
		if m, ok := s.visitLatest(eye, func(m lane.Measurement) bool {
			return m.Kind == lane.KindRefraction && m.Source == lane.SourceSubjective && m.Refraction != nil
		}); ok {
			s.subj[i].SetText(lane.FormatRx(*m.Refraction))
		}
		if m, ok := s.visitLatest(eye, isSubjectiveVA); ok {
			s.subjVA[i].SetText(m.VA.Text)
		}
	}
	if rx, ok := s.visitRx(); ok {
		s.final[0].SetText(lane.FormatRx(rx.Right))
		s.final[1].SetText(lane.FormatRx(rx.Left))
		if rx.PD > 0 {
			s.pd.SetText(rx.PD.String())
		}
		for i, t := range lensTypes {
			if rx.Lens == t {
				s.lens.SetSelectedIndex(i)
			}
		}
	}
	if o.enc != nil {
		s.assessment.SetText(o.enc.Assessment)
		s.plan.SetText(o.enc.Plan)
	}
	s.chartChanged()
}

// chartChanged redraws what follows the chart: the instruments' rows of
// the grid, the signing state and the trends. What the person typed stays.
func (s *examScreen) chartChanged() {
	if s.chart == nil {
		return
	}
	for i, eye := range []lane.Eye{lane.EyeRight, lane.EyeLeft} {
		s.habitual[i].SetText(rxOrDash(s.habitualReadings()[eye]))
		s.auto[i].SetText(rxOrDash(s.autoReadings()[eye]))
	}
	s.refreshSigning()
	s.refreshInstruments()
	c := s.chart.c
	s.iop.SetSeries(iopTrend(c))
	s.se.SetSeries(seTrend(c))
	s.va.SetSeries(vaTrend(c))
	s.images.chartChanged()
	s.refreshImagesTab()
}

// refreshImagesTab shows how many images the visit has on the tab.
func (s *examScreen) refreshImagesTab() {
	text := "Images"
	if n := s.images.count(); n > 0 {
		text = fmt.Sprintf("Images (%d)", n)
	}
	if s.imagesTab.Text != text {
		s.imagesTab.Text = text
		s.tabs.Refresh()
	}
}

// isSubjectiveVA keeps the best-corrected acuity recorded with the
// subjective refraction.
func isSubjectiveVA(m lane.Measurement) bool {
	return m.Kind == lane.KindVA && m.Source == lane.SourceSubjective && m.VA != nil
}

// rxOrDash formats a refraction, or a dash when there is none.
func rxOrDash(r *lane.Refraction) string {
	if r == nil {
		return "–"
	}
	return lane.FormatRx(*r)
}

// visitLatest returns the newest measurement of the visit for eye that
// keep accepts, preferring reviewed and representative values.
func (s *examScreen) visitLatest(eye lane.Eye, keep func(lane.Measurement) bool) (lane.Measurement, bool) {
	var best lane.Measurement
	found := false
	score := func(m lane.Measurement) int {
		v := 0
		if !m.Pending {
			v += 2
		}
		if m.Representative {
			v++
		}
		return v
	}
	for _, m := range s.chart.visitMeasurements(keep) {
		if m.Eye != eye {
			continue
		}
		if !found || score(m) > score(best) || score(m) == score(best) && !m.ReceivedAt.Before(best.ReceivedAt) {
			best, found = m, true
		}
	}
	return best, found
}

// readings returns the visit's refraction per eye of the given kind and
// source.
func (s *examScreen) readings(keep func(lane.Measurement) bool) map[lane.Eye]*lane.Refraction {
	out := map[lane.Eye]*lane.Refraction{}
	for _, eye := range []lane.Eye{lane.EyeRight, lane.EyeLeft} {
		if m, ok := s.visitLatest(eye, keep); ok && m.Refraction != nil {
			r := *m.Refraction
			out[eye] = &r
		}
	}
	return out
}

// habitualReadings returns the visit's lensometry of the habitual glasses.
func (s *examScreen) habitualReadings() map[lane.Eye]*lane.Refraction {
	return s.readings(func(m lane.Measurement) bool {
		return m.Source == lane.SourceLensometry && m.Refraction != nil
	})
}

// autoReadings returns the visit's autorefraction.
func (s *examScreen) autoReadings() map[lane.Eye]*lane.Refraction {
	return s.readings(func(m lane.Measurement) bool {
		return m.Kind == lane.KindRefraction && m.Source == lane.SourceAutorefraction && m.Refraction != nil
	})
}

// copyForward puts readings into the subjective fields as a starting
// point, in minus cylinder and rounded to the 0.25 D steps of a phoropter.
func (s *examScreen) copyForward(rs map[lane.Eye]*lane.Refraction) {
	if s.chart == nil || s.signed() {
		return
	}
	if len(rs) == 0 {
		s.setError("There is nothing to copy yet.")
		return
	}
	s.setError("")
	for i, eye := range []lane.Eye{lane.EyeRight, lane.EyeLeft} {
		if r := rs[eye]; r != nil {
			s.subj[i].SetText(lane.FormatRx(r.ToMinusCylinder().Rounded(lane.QuarterDiopter)))
		}
	}
}

// copyToFinal copies the subjective refraction into the final Rx fields.
func (s *examScreen) copyToFinal() {
	for i := range 2 {
		if t := strings.TrimSpace(s.subj[i].Text); t != "" {
			s.final[i].SetText(t)
		}
	}
}

// setError shows a problem under the grid; "" hides it.
func (s *examScreen) setError(msg string) {
	s.gridErr.SetText(msg)
	if msg == "" {
		s.gridErr.Hide()
	} else {
		s.gridErr.Show()
	}
}

// signed reports whether the visit's exam is signed.
func (s *examScreen) signed() bool {
	return s.chart != nil && s.chart.enc != nil && s.chart.enc.Signed()
}

// visitRx returns the visit's prescription (draft or signed).
func (s *examScreen) visitRx() (lane.SpectacleRx, bool) {
	if s.chart == nil {
		return lane.SpectacleRx{}, false
	}
	enc := s.chart.encounterID()
	today := lane.DateOf(s.d.clock.Now().In(s.d.tz))
	for _, rx := range s.chart.c.Prescriptions {
		// Without a visit encounter (the exam was never started) the
		// visit's Rx is the one written today without one.
		if (enc != "" && rx.EncounterID == enc) || (enc == "" && rx.EncounterID == "" && rx.Issued == today) {
			return rx, true
		}
	}
	return lane.SpectacleRx{}, false
}

// saveSubjective records the subjective refraction and acuity of both
// eyes, replacing what was recorded before in this visit.
func (s *examScreen) saveSubjective() {
	if s.chart == nil {
		return
	}
	var ms []lane.Measurement
	for i, eye := range []lane.Eye{lane.EyeRight, lane.EyeLeft} {
		if t := strings.TrimSpace(s.subj[i].Text); t != "" {
			r, err := lane.ParseRx(t)
			if err == nil {
				err = r.Validate()
			}
			if err != nil {
				s.setError(eyeName(eye) + " subjective: " + errorText(err))
				return
			}
			m := lane.Measurement{Kind: lane.KindRefraction, Source: lane.SourceSubjective, Eye: eye, Representative: true,
				Refraction: &r, CylinderSign: r.CylinderConvention()}
			if prev, ok := s.visitLatest(eye, func(m lane.Measurement) bool {
				return m.Kind == lane.KindRefraction && m.Source == lane.SourceSubjective
			}); ok {
				m.ID, m.Version = prev.ID, prev.Version
			}
			ms = append(ms, m)
		}
		if t := strings.TrimSpace(s.subjVA[i].Text); t != "" {
			va, err := lane.ParseVA(t, lane.VADecimal)
			if err != nil {
				s.setError(eyeName(eye) + " acuity: " + errorText(err))
				return
			}
			va.Aided, va.Distance = true, lane.DistanceFar
			m := lane.Measurement{Kind: lane.KindVA, Source: lane.SourceSubjective, Eye: eye, Representative: true, VA: &va}
			if prev, ok := s.visitLatest(eye, isSubjectiveVA); ok {
				m.ID, m.Version = prev.ID, prev.Version
			}
			ms = append(ms, m)
		}
	}
	if len(ms) == 0 {
		s.setError("Type the subjective refraction first.")
		return
	}
	s.setError("")
	pid, enc := s.chart.patientID(), s.chart.encounterID()
	s.d.async(func() func() {
		var saved []lane.Measurement
		var err error
		for _, m := range ms {
			m.PatientID, m.EncounterID = pid, enc
			var out lane.Measurement
			if out, err = s.d.svc.RecordMeasurement(s.d.ctx, m); err != nil {
				break
			}
			saved = append(saved, out)
		}
		return func() {
			s.d.applyMeasurements(saved)
			if err != nil {
				s.d.showError(err)
				return
			}
			s.d.notify("Subjective refraction saved")
		}
	})
}

// eyeName names an eye in a sentence.
func eyeName(e lane.Eye) string {
	if e == lane.EyeLeft {
		return "Left eye"
	}
	return "Right eye"
}

// finalRx reads the final Rx fields into a prescription for the visit.
func (s *examScreen) finalRx() (lane.SpectacleRx, error) {
	rx, _ := s.visitRx()
	rx.PatientID, rx.EncounterID = s.chart.patientID(), s.chart.encounterID()
	for i, dst := range []*lane.Refraction{&rx.Right, &rx.Left} {
		t := strings.TrimSpace(s.final[i].Text)
		if t == "" {
			return rx, lane.Invalidf("%s: type the final Rx, or copy it from the subjective", strings.ToLower(eyeName([]lane.Eye{lane.EyeRight, lane.EyeLeft}[i])))
		}
		r, err := lane.ParseRx(t)
		if err == nil {
			err = r.Validate()
		}
		if err != nil {
			return rx, fmt.Errorf("%s final Rx: %w", eyeName([]lane.Eye{lane.EyeRight, lane.EyeLeft}[i]), err)
		}
		*dst = r
	}
	rx.PD = 0
	if t := strings.TrimSpace(s.pd.Text); t != "" {
		m, err := parseManual(manualPD, lane.EyeBoth, t)
		if err != nil {
			return rx, err
		}
		rx.PD = m.PD.Value
	}
	rx.Lens = lensTypes[max(s.lens.SelectedIndex(), 0)]
	if rx.Lens != lane.LensSingleVision && (rx.Right.Add == 0 || rx.Left.Add == 0) {
		return rx, lane.Invalidf("a %s lens needs an add in both eyes", strings.ToLower(lensChoices[s.lens.SelectedIndex()]))
	}
	today := s.d.clock.Now().In(s.d.tz)
	months := expiryMonths[max(s.expiry.SelectedIndex(), 0)]
	rx.Issued = lane.DateOf(today)
	rx.Expires = lane.DateOf(today.AddDate(0, months, 0))
	return rx, nil
}

// saveFinal saves the final Rx as a draft, or signs it.
func (s *examScreen) saveFinal(sign bool) {
	if s.chart == nil {
		return
	}
	if rx, ok := s.visitRx(); ok && rx.Signed() {
		s.setError("The final Rx is signed. Write a new prescription at the next visit.")
		return
	}
	rx, err := s.finalRx()
	if err != nil {
		s.setError(errorText(err))
		return
	}
	s.setError("")
	s.d.async(func() func() {
		var out lane.SpectacleRx
		var err error
		if sign {
			out, err = s.d.svc.SignRx(s.d.ctx, rx)
		} else {
			out, err = s.d.svc.SaveSpectacleRx(s.d.ctx, rx)
		}
		return func() {
			if err != nil {
				s.d.showError(err)
				return
			}
			if s.chart != nil && s.chart.patientID() == out.PatientID {
				s.chart.setRx(out)
				s.d.chartChanged()
			}
			if sign {
				s.d.notify("Final Rx signed")
			} else {
				s.d.notify("Draft Rx saved")
			}
		}
	})
}

// sendToPhoropter sends the final Rx (or, before there is one, the
// subjective refraction) to the phoropter.
func (s *examScreen) sendToPhoropter() {
	in, ok := s.phoropter()
	if !ok || s.chart == nil {
		return
	}
	fields := s.final
	if strings.TrimSpace(fields[0].Text) == "" && strings.TrimSpace(fields[1].Text) == "" {
		fields = s.subj
	}
	var pair lane.RxPair
	for i, dst := range []*lane.Refraction{&pair.Right, &pair.Left} {
		r, err := lane.ParseRx(strings.TrimSpace(fields[i].Text))
		if err != nil {
			s.setError(eyeName([]lane.Eye{lane.EyeRight, lane.EyeLeft}[i]) + ": " + errorText(err))
			return
		}
		*dst = r
	}
	s.setError("")
	profile, name := in.Profile, orDash(in.Name)
	s.d.async(func() func() {
		err := s.d.cfg.Instruments.SendRx(s.d.ctx, profile, pair)
		return func() {
			if err != nil {
				s.d.showError(err)
				return
			}
			s.d.notify("Rx sent to " + name)
		}
	})
}

// refreshSigning shows the exam's and the Rx's signing state and enables
// what the user may still do.
func (s *examScreen) refreshSigning() {
	signed := s.signed()
	canEdit := s.d.can(lane.PermEditExam)
	rx, hasRx := s.visitRx()
	rxSigned := hasRx && rx.Signed()
	switch {
	case rxSigned:
		s.rxState.SetText(fmt.Sprintf("Final Rx signed by %s on %s; valid until %s.", s.staffName(rx.Prescriber), dateText(rx.SignedAt, s.d.tz), orDash(rx.Expires.String())))
		s.rxState.Importance = widget.SuccessImportance
	case hasRx:
		s.rxState.SetText("Final Rx saved as a draft: sign it to print it and send it to dispensing.")
		s.rxState.Importance = widget.WarningImportance
	default:
		s.rxState.SetText("No final Rx yet.")
		s.rxState.Importance = widget.LowImportance
	}
	s.rxState.Refresh()
	enable := func(on bool, ws ...fyne.Disableable) {
		for _, w := range ws {
			if on {
				w.Enable()
			} else {
				w.Disable()
			}
		}
	}
	enable(canEdit && !signed, s.subj[0], s.subj[1], s.subjVA[0], s.subjVA[1], s.saveSubj, s.copyAuto, s.copyHab,
		s.assessment, s.plan, s.saveNotes)
	enable(s.d.can(lane.PermEditFinalRx) && !rxSigned, s.final[0], s.final[1], s.pd, s.lens, s.expiry, s.saveRx, s.copySubj)
	enable(s.d.can(lane.PermSignRx) && !rxSigned, s.signRx)
	enable(s.d.can(lane.PermSignExam) && !signed && s.chart.enc != nil, s.signExam)
	enable(s.d.can(lane.PermAddendum) && s.chart.enc != nil, s.addendum, s.addAdd)

	s.addenda.RemoveAll()
	if signed {
		e := s.chart.enc
		s.signedNote.SetText(fmt.Sprintf("Exam signed by %s on %s at %s. It cannot change; add an addendum instead.",
			s.staffName(e.SignedBy), dateText(e.SignedAt, s.d.tz), clockText(e.SignedAt, s.d.tz)))
		s.signedNote.Show()
		for _, a := range e.Addenda {
			l := widget.NewLabel(fmt.Sprintf("Addendum, %s %s, %s: %s", dateText(a.At, s.d.tz), clockText(a.At, s.d.tz), s.staffName(a.Author), a.Text))
			l.Wrapping = fyne.TextWrapWord
			s.addenda.Add(l)
		}
		s.signExam.Hide()
		s.addendum.Show()
		s.addAdd.Show()
	} else {
		s.signedNote.Hide()
		s.signExam.Show()
		s.addendum.Hide()
		s.addAdd.Hide()
	}
	s.refreshVisitButton()
}

// staffName shows a staff member: "you" for the signed-in user.
func (s *examScreen) staffName(u lane.UserID) string {
	if u == s.d.session.User {
		return "you"
	}
	return orDash(string(u))
}

// saveEncounterNotes saves the assessment and plan.
func (s *examScreen) saveEncounterNotes() {
	if s.chart == nil || s.chart.enc == nil {
		s.setError("This chart has no open visit to write notes in.")
		return
	}
	e := *s.chart.enc
	e.Assessment, e.Plan = s.assessment.Text, s.plan.Text
	s.saveEncounter(e, "Notes saved")
}

// saveEncounter saves an encounter and shows the result.
func (s *examScreen) saveEncounter(e lane.Encounter, done string) {
	s.d.async(func() func() {
		out, err := s.d.svc.SaveEncounter(s.d.ctx, e)
		return func() {
			if err != nil {
				s.d.showError(err)
				return
			}
			s.d.applyEncounter(out)
			s.d.notify(done)
		}
	})
}

// askSignExam confirms and signs the exam.
func (s *examScreen) askSignExam() {
	if s.chart == nil || s.chart.enc == nil || s.signed() {
		return
	}
	dialog.ShowConfirm("Sign exam",
		"Signing makes this exam final: it can no longer change, and later corrections are addenda. "+
			"Unsaved notes are saved first. Sign now?",
		func(ok bool) {
			if ok {
				s.signNow()
			}
		}, s.d.win)
}

// signNow saves the notes if they changed, then signs the exam.
func (s *examScreen) signNow() {
	if s.chart == nil || s.chart.enc == nil {
		return
	}
	e := *s.chart.enc
	changed := e.Assessment != s.assessment.Text || e.Plan != s.plan.Text
	e.Assessment, e.Plan = s.assessment.Text, s.plan.Text
	s.d.async(func() func() {
		var err error
		if changed {
			if e, err = s.d.svc.SaveEncounter(s.d.ctx, e); err != nil {
				return func() { s.d.showError(err) }
			}
		}
		out, err := s.d.svc.SignExam(s.d.ctx, e.ID)
		return func() {
			if err != nil {
				s.d.showError(err)
				return
			}
			s.d.applyEncounter(out)
			s.d.notify("Exam signed")
		}
	})
}

// addAddendum appends the typed addendum to the exam.
func (s *examScreen) addAddendum() {
	if s.chart == nil || s.chart.enc == nil {
		return
	}
	text := strings.TrimSpace(s.addendum.Text)
	if text == "" {
		s.setError("Type the addendum first.")
		return
	}
	id := s.chart.enc.ID
	s.d.async(func() func() {
		out, err := s.d.svc.AddAddendum(s.d.ctx, id, text)
		return func() {
			if err != nil {
				s.d.showError(err)
				return
			}
			s.addendum.SetText("")
			s.d.applyEncounter(out)
			s.d.notify("Addendum added")
		}
	})
}

// refreshVisitButton offers the optometrist's next step of the visit.
func (s *examScreen) refreshVisitButton() {
	if s.chart == nil || s.chart.appt == nil {
		s.visit.Hide()
		return
	}
	switch st := s.chart.appt.Status; {
	case (st == lane.ApptReadyForDoctor || st == lane.ApptArrived || st == lane.ApptPretest) && s.d.can(lane.PermEditExam):
		s.visit.SetText("Start exam")
	case st == lane.ApptExam && s.signed() && s.d.can(lane.PermRecordDispensing):
		s.visit.SetText("Send to dispensing")
	default:
		s.visit.Hide()
		return
	}
	s.visit.Show()
}

// advanceVisit takes the appointment to the exam, or on to dispensing.
func (s *examScreen) advanceVisit() {
	if s.chart == nil || s.chart.appt == nil {
		return
	}
	a := *s.chart.appt
	to := lane.ApptExam
	if a.Status == lane.ApptExam {
		to = lane.ApptDispensing
	}
	s.d.advanceVisit(a, to)
}

// Lock forgets the chart and what was typed, and drops the images'
// thumbnails and the viewer's decoded pixels.
func (s *examScreen) Lock() {
	s.chartOpened(nil)
	s.images.Lock()
	s.refreshImagesTab()
}

// equalColumns lays out a grid row: the columns listed in fixed take their
// width from widths; the others share what is left equally.
type equalColumns struct {
	fixed  []int
	widths []float32
}

// isFixed reports whether column i has a fixed width.
func (l *equalColumns) isFixed(i int) bool {
	for _, f := range l.fixed {
		if f == i {
			return true
		}
	}
	return false
}

// Layout places the columns.
func (l *equalColumns) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	pad := theme.Padding()
	fixed, flex := float32(0), 0
	for i := range objects {
		if l.isFixed(i) {
			fixed += l.widths[i]
		} else {
			flex++
		}
	}
	share := float32(0)
	if flex > 0 {
		share = max((size.Width-fixed-pad*float32(len(objects)-1))/float32(flex), 0)
	}
	x := float32(0)
	for i, o := range objects {
		w := share
		if l.isFixed(i) {
			w = l.widths[i]
		}
		h := o.MinSize().Height
		o.Resize(fyne.NewSize(w, h))
		o.Move(fyne.NewPos(x, (size.Height-h)/2))
		x += w + pad
	}
}

// MinSize is the fixed columns, a minimum share for the others, and the
// tallest object.
func (l *equalColumns) MinSize(objects []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for i, o := range objects {
		m := o.MinSize()
		if l.isFixed(i) {
			s.Width += l.widths[i]
		} else {
			s.Width += max(m.Width, 160)
		}
		s.Height = max(s.Height, m.Height)
	}
	s.Width += theme.Padding() * float32(max(len(objects)-1, 0))
	return s
}
