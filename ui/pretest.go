package ui

import (
	"fmt"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/lane"
)

// instrumentsWidth is the width of the pretest screen's instruments panel.
const instrumentsWidth = 330

// pretestScreen is the technician's screen. On the left, the lane's
// instruments with their live state (and a Measure button for those the
// lane can trigger, as in demo mode) and the captures that arrived with no
// chart open. On the right, the visit's readings as they arrive, each with
// its source and time, flagged when it differs markedly from the last visit
// (see lastVisitFlags), with Accept (A), Re-take and Other chart actions;
// and a form to type a reading by hand, checked with the lane's notation
// parsers.
type pretestScreen struct {
	d       *Desktop
	content fyne.CanvasObject
	chart   *openChart

	instBox    *fyne.Container
	unassigned *fyne.Container
	captures   []lane.Capture

	readings *fyne.Container
	noChart  *widget.Label
	visit    *widget.Button
	groups   []readingGroup // on display, in display order

	kind     *widget.Select
	eye      *widget.RadioGroup
	value    *entry
	example  *widget.Label
	entryErr *widget.Label
	add      *widget.Button
}

var (
	_ Lockable  = (*pretestScreen)(nil)
	_ chartView = (*pretestScreen)(nil)
)

// eyeChoices are the eye radio's options.
var eyeChoices = []string{"R", "L", "Both"}

func newPretestScreen(d *Desktop) *pretestScreen {
	s := &pretestScreen{d: d}
	s.instBox = container.NewVBox()
	s.unassigned = container.NewVBox()
	left := container.NewVBox(
		heading("Instruments"), s.instBox,
		widget.NewSeparator(),
		heading("Unassigned readings"),
		note("Readings that arrived with no chart open, or while the lane was locked."),
		s.unassigned,
	)
	width := spacer(instrumentsWidth, 0)

	s.readings = container.NewVBox()
	s.noChart = widget.NewLabel("Open a chart from the worklist (Ctrl+1) to see and record its readings.")
	s.noChart.Wrapping = fyne.TextWrapWord
	s.visit = d.button("", theme.NavigateNextIcon(), s.advanceVisit)
	s.visit.Hide()

	labels := make([]string, len(manualKinds))
	for i, k := range manualKinds {
		labels[i] = k.label
	}
	s.example = hint("")
	s.kind = widget.NewSelect(labels, func(string) {
		d.touch()
		if i := s.kind.SelectedIndex(); i >= 0 {
			s.example.SetText(manualKinds[i].example)
			s.value.SetPlaceHolder(manualKinds[i].example)
		}
	})
	s.eye = widget.NewRadioGroup(eyeChoices, func(string) { d.touch() })
	s.eye.Horizontal = true
	s.eye.Required = true
	s.eye.SetSelected("R")
	s.value = newEntry(d, "")
	s.value.TextStyle = fyne.TextStyle{Monospace: true, Bold: true}
	s.value.OnSubmitted = func(string) { s.addManual() }
	s.kind.SetSelectedIndex(int(manualAutorefraction))
	s.entryErr = widget.NewLabel("")
	s.entryErr.Importance = widget.DangerImportance
	s.entryErr.Truncation = fyne.TextTruncateEllipsis
	s.entryErr.Hide()
	s.add = d.button("Add reading", theme.ContentAddIcon(), s.addManual)
	form := container.NewVBox(
		heading("Type a reading"),
		container.NewBorder(nil, nil, nil, s.eye, s.kind),
		container.NewBorder(nil, nil, nil, s.add, s.value),
		s.example, s.entryErr,
	)

	right := container.NewBorder(
		container.NewBorder(nil, nil, heading("Readings for this visit"), s.visit),
		container.NewVBox(widget.NewSeparator(), form),
		nil, nil,
		container.NewVScroll(container.NewVBox(s.noChart, s.readings)),
	)
	s.content = container.NewBorder(nil, nil,
		container.NewHBox(container.NewStack(width, container.NewVScroll(left)), widget.NewSeparator()),
		nil, right)
	s.refreshInstruments()
	s.chartOpened(nil)
	return s
}

// view returns the screen's content for the shell.
func (s *pretestScreen) view() fyne.CanvasObject { return s.content }

// refreshInstruments redraws the instruments panel.
func (s *pretestScreen) refreshInstruments() {
	s.instBox.RemoveAll()
	infos := s.d.instrumentInfos()
	if len(infos) == 0 {
		s.instBox.Add(note("No instruments are configured on this lane. An administrator adds them in Settings."))
		return
	}
	for _, in := range infos {
		s.instBox.Add(s.instrumentRow(in))
	}
}

// instrumentRow shows one instrument: its state in words with an icon (the
// color is never the only signal) and a Measure button when the lane can
// trigger it.
func (s *pretestScreen) instrumentRow(in InstrumentInfo) fyne.CanvasObject {
	icon, text, imp := instrumentState(in.InstrumentState)
	name := widget.NewLabelWithStyle(orDash(in.Name), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	name.Truncation = fyne.TextTruncateEllipsis
	state := widget.NewLabel(text)
	state.Importance = imp
	state.Wrapping = fyne.TextWrapWord
	var right fyne.CanvasObject
	if in.CanMeasure {
		profile := in.Profile
		b := s.d.button("Measure", theme.MediaPlayIcon(), func() { s.measure(profile) })
		if in.State == "disconnected" || in.State == "error" {
			b.Disable()
		}
		right = container.NewCenter(b)
	}
	return container.NewBorder(nil, nil, widget.NewIcon(icon), right, container.NewVBox(name, state))
}

// instrumentState describes an instrument's state with an icon, words and
// an importance for the text's color.
func instrumentState(st lane.InstrumentState) (fyne.Resource, string, widget.Importance) {
	switch st.State {
	case "connected":
		return theme.ConfirmIcon(), "Connected", widget.SuccessImportance
	case "receiving":
		return theme.DownloadIcon(), "Receiving…", widget.SuccessImportance
	case "error":
		msg := "Error"
		if st.LastError != "" {
			msg += ": " + st.LastError
		}
		return theme.ErrorIcon(), msg, widget.DangerImportance
	}
	return theme.CancelIcon(), "Disconnected", widget.LowImportance
}

// measure asks an instrument to take a measurement; the reading arrives
// as a capture.
func (s *pretestScreen) measure(profile string) {
	if s.d.cfg.Instruments == nil {
		return
	}
	s.d.async(func() func() {
		err := s.d.cfg.Instruments.Measure(s.d.ctx, profile)
		return func() { s.d.showError(err) }
	})
}

// chartOpened shows the readings of a newly opened chart, or none.
func (s *pretestScreen) chartOpened(o *openChart) {
	s.chart = o
	s.value.SetText("")
	s.setEntryError("")
	if o == nil {
		s.noChart.Show()
		s.readings.RemoveAll()
		s.groups = nil
		s.visit.Hide()
		s.add.Disable()
		s.refreshUnassigned()
		return
	}
	s.noChart.Hide()
	s.add.Enable()
	s.chartChanged()
	s.refreshUnassigned()
}

// chartChanged redraws the visit's readings.
func (s *pretestScreen) chartChanged() {
	if s.chart == nil {
		return
	}
	s.refreshVisitButton()
	s.groups = groupReadings(s.chart.visitMeasurements(func(m lane.Measurement) bool {
		switch m.Source {
		case lane.SourceSubjective, lane.SourceFinal, lane.SourceTrialFrame, lane.SourceCycloplegic:
			return false // the optometrist's, on the exam screen
		}
		return true
	}))
	s.readings.RemoveAll()
	if len(s.groups) == 0 {
		s.readings.Add(note("No readings yet. They appear here as the instruments send them."))
	}
	for _, g := range s.groups {
		s.readings.Add(s.readingRow(g))
	}
}

// readingGroup is what one reading row shows: a reading and the individual
// readings of the same capture, kind, eye and source that it stands for.
type readingGroup struct {
	shown lane.Measurement
	all   []lane.Measurement
}

// pending reports whether the group waits for review.
func (g readingGroup) pending() bool {
	for _, m := range g.all {
		if m.Pending {
			return true
		}
	}
	return false
}

// groupReadings groups readings by capture, kind, eye and source, shows
// each group's representative reading (else its newest), and orders the
// groups: those waiting for review first, oldest first, then the accepted
// ones, newest first.
func groupReadings(ms []lane.Measurement) []readingGroup {
	index := map[string]int{}
	var groups []readingGroup
	for _, m := range ms {
		key := string(m.ID)
		if m.CaptureID != "" {
			key = fmt.Sprintf("%s|%s|%d|%s", m.CaptureID, m.Kind, m.Eye, m.Source)
		}
		i, ok := index[key]
		if !ok {
			index[key] = len(groups)
			groups = append(groups, readingGroup{shown: m, all: []lane.Measurement{m}})
			continue
		}
		g := &groups[i]
		g.all = append(g.all, m)
		if m.Representative && !g.shown.Representative || m.Representative == g.shown.Representative && m.ReceivedAt.After(g.shown.ReceivedAt) {
			g.shown = m
		}
	}
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if a.pending() != b.pending() {
			return a.pending()
		}
		if a.pending() {
			return a.shown.ReceivedAt.Before(b.shown.ReceivedAt)
		}
		return a.shown.ReceivedAt.After(b.shown.ReceivedAt)
	})
	return groups
}

// readingRow shows one reading group with its actions.
func (s *pretestScreen) readingRow(g readingGroup) fyne.CanvasObject {
	m := g.shown
	caption := widget.NewLabelWithStyle(kindText(m)+" · "+eyeText(m.Eye), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	caption.SizeName = theme.SizeNameSubHeadingText
	value := NewReadingText(valueText(m))
	if m.Keratometry != nil || m.Kind == lane.KindError {
		value.TextSize = ReadingCaptionSize() * 1.4
	}

	meta := []string{instrumentText(m.Instrument), clockText(m.ReceivedAt, s.d.tz)}
	if g.pending() {
		meta = append(meta, "waiting for review")
	} else if m.RecordedBy != "" {
		meta = append(meta, "accepted by "+s.staffName(m.RecordedBy))
	}
	if n := len(g.all) - 1; n > 0 {
		meta = append(meta, fmt.Sprintf("stands for %s", plural(n+1, "reading", "readings")))
	}
	if m.Confidence != "" {
		meta = append(meta, "confidence "+m.Confidence)
	}
	info := widget.NewLabel(strings.Join(meta, " · "))
	info.Importance = widget.LowImportance
	info.Wrapping = fyne.TextWrapWord

	col := container.NewVBox(container.NewHBox(caption, container.NewCenter(value)), info)
	for _, f := range lastVisitFlags(m, s.chart.c.Measurements, s.d.tz) {
		l := widget.NewLabel("⚠ " + f + ": check, or re-take")
		l.Importance = widget.WarningImportance
		l.TextStyle = fyne.TextStyle{Bold: true}
		l.Wrapping = fyne.TextWrapWord
		col.Add(l)
	}
	if m.Message != "" && m.Kind != lane.KindError {
		col.Add(note(m.Message))
	}

	var buttons []fyne.CanvasObject
	if g.pending() {
		accept := s.d.button("Accept (A)", theme.ConfirmIcon(), func() { s.accept(g) })
		accept.Importance = widget.HighImportance
		buttons = append(buttons, accept)
	}
	retake := "Re-take…"
	if !g.pending() {
		retake = "Remove…"
	}
	buttons = append(buttons, s.d.button(retake, theme.DeleteIcon(), func() { s.askRemove(g) }))
	if g.pending() && m.CaptureID != "" {
		buttons = append(buttons, s.d.button("Other chart…", theme.MailForwardIcon(), func() { s.askReassign(m.CaptureID) }))
	}
	col.Add(container.NewHBox(buttons...))
	return container.NewVBox(col, widget.NewSeparator())
}

// staffName returns how a staff member is shown: "you" for the signed-in
// user, else the user id.
func (s *pretestScreen) staffName(u lane.UserID) string {
	if u == s.d.session.User {
		return "you"
	}
	return string(u)
}

// acceptFirst accepts the first reading waiting for review (the A key).
func (s *pretestScreen) acceptFirst() {
	for _, g := range s.groups {
		if g.pending() {
			s.accept(g)
			return
		}
	}
}

// accept marks every reading of a group as reviewed and kept.
func (s *pretestScreen) accept(g readingGroup) {
	s.d.async(func() func() {
		var saved []lane.Measurement
		var err error
		for _, m := range g.all {
			if !m.Pending {
				continue
			}
			var out lane.Measurement
			if out, err = s.d.svc.AcceptReading(s.d.ctx, m); err != nil {
				break
			}
			saved = append(saved, out)
		}
		return func() {
			s.d.applyMeasurements(saved)
			s.d.showError(err)
		}
	})
}

// removeReasons are the reasons offered for removing a reading.
var removeReasons = []string{
	"Re-take: poor fixation or blink",
	"Re-take: instrument misaligned",
	"Entered in error",
	"Wrong patient",
}

// askRemove asks why a reading group is removed, then removes it.
func (s *pretestScreen) askRemove(g readingGroup) {
	reason := widget.NewSelectEntry(removeReasons)
	reason.SetPlaceHolder("Reason (required)")
	title := "Re-take reading"
	if !g.pending() {
		title = "Remove reading"
	}
	items := []*widget.FormItem{widget.NewFormItem("Reason", reason)}
	items[0].HintText = "Kept with the record of the removal"
	dlg := dialog.NewForm(title, "Remove", "Cancel", items, func(ok bool) {
		if !ok {
			return
		}
		why := strings.TrimSpace(reason.Text)
		if why == "" {
			s.d.showError(lane.Invalidf("give a reason for removing the reading"))
			return
		}
		s.remove(g, why)
	}, s.d.win)
	dlg.Resize(fyne.NewSize(460, 0))
	dlg.Show()
}

// remove deletes every reading of a group with a reason.
func (s *pretestScreen) remove(g readingGroup, reason string) {
	s.d.async(func() func() {
		var removed []lane.Measurement
		var err error
		for _, m := range g.all {
			if err = s.d.svc.RemoveMeasurement(s.d.ctx, m, reason); err != nil {
				break
			}
			m.Deleted = true
			removed = append(removed, m)
		}
		return func() {
			s.d.applyMeasurements(removed)
			s.d.showError(err)
		}
	})
}

// askReassign offers today's other patients for a capture bound to the
// wrong chart.
func (s *pretestScreen) askReassign(id lane.CaptureID) {
	if s.chart == nil {
		return
	}
	var options []string
	var ids []lane.PatientID
	for _, it := range s.d.worklist.items {
		if it.Patient.ID == s.chart.patientID() || it.Appointment.Status == lane.ApptCancelled {
			continue
		}
		options = append(options, fmt.Sprintf("%s  %s · %s", clockText(it.Appointment.Start, s.d.tz), orDash(it.Patient.Name.String()), orDash(it.Patient.MRN)))
		ids = append(ids, it.Patient.ID)
	}
	if len(options) == 0 {
		s.d.showError(plainError("There is nobody else on today's worklist to move the reading to."))
		return
	}
	who := widget.NewSelect(options, nil)
	reason := widget.NewEntry()
	reason.SetText("Wrong patient in the chair")
	items := []*widget.FormItem{widget.NewFormItem("Patient", who), widget.NewFormItem("Reason", reason)}
	dlg := dialog.NewForm("Move reading to another chart", "Move", "Cancel", items, func(ok bool) {
		i := who.SelectedIndex()
		if !ok || i < 0 {
			return
		}
		pid, why := ids[i], reason.Text
		s.d.async(func() func() {
			_, err := s.d.svc.ReassignCapture(s.d.ctx, id, pid, "", why)
			return func() {
				if err != nil {
					s.d.showError(err)
					return
				}
				s.dropCapture(id)
				s.d.notify("Reading moved to another chart")
			}
		})
	}, s.d.win)
	dlg.Resize(fyne.NewSize(520, 0))
	dlg.Show()
}

// dropCapture takes a capture's readings out of the open chart (they moved
// to another one).
func (s *pretestScreen) dropCapture(id lane.CaptureID) {
	if s.chart == nil {
		return
	}
	var keep []lane.Measurement
	for _, m := range s.chart.c.Measurements {
		if m.CaptureID != id {
			keep = append(keep, m)
		}
	}
	s.chart.c.Measurements = keep
	s.d.chartChanged()
}

// setEntryError shows why a typed reading was refused; "" hides it.
func (s *pretestScreen) setEntryError(msg string) {
	s.entryErr.SetText(msg)
	if msg == "" {
		s.entryErr.Hide()
	} else {
		s.entryErr.Show()
	}
}

// addManual checks and records a typed reading.
func (s *pretestScreen) addManual() {
	if s.chart == nil {
		return
	}
	k := s.kind.SelectedIndex()
	if k < 0 {
		s.setEntryError("Choose what you measured.")
		return
	}
	eye := map[string]lane.Eye{"R": lane.EyeRight, "L": lane.EyeLeft, "Both": lane.EyeBoth}[s.eye.Selected]
	m, err := parseManual(manualKinds[k].kind, eye, s.value.Text)
	if err != nil {
		s.setEntryError(errorText(err))
		return
	}
	s.setEntryError("")
	m.PatientID, m.EncounterID = s.chart.patientID(), s.chart.encounterID()
	s.d.async(func() func() {
		out, err := s.d.svc.RecordMeasurement(s.d.ctx, m)
		return func() {
			if err != nil {
				s.setEntryError(errorText(err))
				return
			}
			s.value.SetText("")
			s.d.applyMeasurements([]lane.Measurement{out})
		}
	})
}

// refreshVisitButton offers the next step of the visit that the
// technician takes: start the pretest, then send the patient to the
// doctor.
func (s *pretestScreen) refreshVisitButton() {
	if s.chart == nil || s.chart.appt == nil || !s.d.can(lane.PermCapture) {
		s.visit.Hide()
		return
	}
	switch s.chart.appt.Status {
	case lane.ApptBooked, lane.ApptArrived:
		s.visit.SetText("Start pretest")
		s.visit.Importance = widget.MediumImportance
	case lane.ApptPretest:
		s.visit.SetText("Ready for doctor")
		s.visit.Importance = widget.HighImportance
	default:
		s.visit.Hide()
		return
	}
	s.visit.Refresh()
	s.visit.Show()
}

// advanceVisit moves the appointment to its next pretest status.
func (s *pretestScreen) advanceVisit() {
	if s.chart == nil || s.chart.appt == nil {
		return
	}
	a := *s.chart.appt
	to := lane.ApptPretest
	if a.Status == lane.ApptPretest {
		to = lane.ApptReadyForDoctor
	}
	s.d.advanceVisit(a, to)
}

// loadUnassigned fetches the captures waiting for a chart.
func (s *pretestScreen) loadUnassigned() {
	if !s.d.can(lane.PermCapture) {
		s.captures = nil
		s.refreshUnassigned()
		return
	}
	s.d.async(func() func() {
		cs, err := s.d.svc.UnassignedCaptures(s.d.ctx)
		return func() {
			if err != nil {
				s.d.logf("unassigned captures: %v", err)
				return
			}
			s.captures = cs
			s.refreshUnassigned()
		}
	})
}

// refreshUnassigned redraws the unassigned captures.
func (s *pretestScreen) refreshUnassigned() {
	s.unassigned.RemoveAll()
	if len(s.captures) == 0 {
		s.unassigned.Add(note("None."))
		return
	}
	for _, c := range s.captures {
		var lines []string
		for _, m := range c.Readings {
			if m.Representative || len(c.Readings) == 1 {
				lines = append(lines, kindText(m)+" "+eyeText(m.Eye)+": "+valueText(m))
			}
		}
		if c.Image != nil {
			lines = append(lines, "Image: "+eyeWords(c.Image.Eye)+", "+strings.ToLower(kindWords(c.Image.Kind)))
		}
		if len(lines) == 0 {
			lines = append(lines, plural(len(c.Readings), "reading", "readings"))
		}
		title := widget.NewLabelWithStyle(instrumentText(c.Instrument)+" · "+clockText(c.ReceivedAt, s.d.tz), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		body := widget.NewLabelWithStyle(strings.Join(lines, "\n"), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		body.Wrapping = fyne.TextWrapWord
		id := c.ID
		assign := s.d.button("Assign to this chart", theme.ContentPasteIcon(), func() { s.assign(id) })
		if s.chart == nil {
			assign.Disable()
		}
		s.unassigned.Add(container.NewVBox(title, body, assign, widget.NewSeparator()))
	}
}

// assign binds an unassigned capture to the open chart.
func (s *pretestScreen) assign(id lane.CaptureID) {
	if s.chart == nil {
		return
	}
	pid, enc := s.chart.patientID(), s.chart.encounterID()
	s.d.async(func() func() {
		c, err := s.d.svc.AssignCapture(s.d.ctx, id, pid, enc)
		return func() {
			if err != nil {
				s.d.showError(err)
				return
			}
			s.d.applyMeasurements(c.Readings)
			s.loadUnassigned()
		}
	})
}

// Lock forgets the chart, the unassigned captures and what was typed.
func (s *pretestScreen) Lock() {
	s.captures = nil
	s.chartOpened(nil)
	s.value.SetText("")
}
