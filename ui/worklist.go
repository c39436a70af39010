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
)

// worklistColumns are the widths of the worklist's columns: time, patient
// (stretches), age, status, who is with the patient, reason.
var worklistColumns = []float32{64, 0, 64, 150, 120, 190}

// worklistFilters are the status filter's choices, in visit order.
var worklistFilters = []struct {
	label  string
	status lane.AppointmentStatus // "" for all
}{
	{"All statuses", ""},
	{"Arrived", lane.ApptArrived},
	{"In pretest", lane.ApptPretest},
	{"Ready for doctor", lane.ApptReadyForDoctor},
	{"In exam", lane.ApptExam},
	{"Dispensing", lane.ApptDispensing},
	{"Done", lane.ApptDone},
}

// worklistScreen lists today's appointments at the lane's location: time,
// patient, age, where they are in the visit and who is with them. Typing
// in the search box (Ctrl+F) narrows it by name or MRN; the status filter
// narrows it by status. Opening a chart is one action: Enter on the
// selected row or in the search box, or a double-click. A patient who is
// not on the worklist is found with "Search all patients", and opening
// their chart asks for a break-glass reason.
type worklistScreen struct {
	d       *Desktop
	content fyne.CanvasObject

	search    *entry
	filter    *widget.Select
	list      *widget.List
	message   *widget.Label
	searchAll *widget.Button
	count     *widget.Label

	items    []lane.WorklistItem // today's appointments as loaded
	shown    []lane.WorklistItem // those the search and filter keep
	selected int                 // index into shown; -1 for none
}

var _ Lockable = (*worklistScreen)(nil)

func newWorklistScreen(d *Desktop) *worklistScreen {
	s := &worklistScreen{d: d, selected: -1}
	s.search = newEntry(d, "Search name or MRN (Ctrl+F)")
	s.search.OnChanged = func(string) { s.applyFilter() }
	s.search.OnSubmitted = func(string) {
		if s.selected < 0 && len(s.shown) > 0 {
			s.list.Select(0)
		}
		s.openSelected()
	}
	labels := make([]string, len(worklistFilters))
	for i, f := range worklistFilters {
		labels[i] = f.label
	}
	s.filter = widget.NewSelect(labels, func(string) { d.touch(); s.applyFilter() })

	s.list = widget.NewList(
		func() int { return len(s.shown) },
		func() fyne.CanvasObject { return newWorklistRow(s) },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*worklistRow).set(i, s.shown[i]) },
	)
	s.list.OnSelected = func(i widget.ListItemID) { s.selected = i }
	s.list.OnUnselected = func(widget.ListItemID) { s.selected = -1 }

	s.message = widget.NewLabel("") // one line: a wrapping label in a Center layout would stretch the window
	s.message.Alignment = fyne.TextAlignCenter
	s.message.Hide()
	s.searchAll = d.button("Search all patients…", theme.SearchIcon(), s.showPatientSearch)
	s.searchAll.Hide()
	s.count = widget.NewLabel("")
	s.count.Importance = widget.LowImportance

	open := d.button("Open chart (Enter)", theme.FolderOpenIcon(), s.openSelected)
	open.Importance = widget.HighImportance
	refresh := d.button("Refresh (Ctrl+R)", theme.ViewRefreshIcon(), s.load)

	header := newColumns(worklistColumns, 1,
		columnTitle("Time"), columnTitle("Patient"), columnTitle("Age"),
		columnTitle("Status"), columnTitle("With"), columnTitle("Reason"))
	toolbar := container.NewBorder(nil, nil, nil,
		container.NewHBox(s.filter, refresh),
		s.search)
	footer := container.NewBorder(nil, nil, s.count, container.NewHBox(s.searchAll, open),
		hint("Double-click or Enter opens the selected chart."))
	s.content = container.NewBorder(
		container.NewVBox(toolbar, container.NewPadded(header), widget.NewSeparator()),
		footer, nil, nil,
		container.NewStack(s.list, container.NewCenter(s.message)),
	)
	s.filter.SetSelectedIndex(0)
	return s
}

// columnTitle returns a bold column heading.
func columnTitle(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.Truncation = fyne.TextTruncateEllipsis
	return l
}

// view returns the screen's content for the shell.
func (s *worklistScreen) view() fyne.CanvasObject { return s.content }

// load fetches today's worklist in the background.
func (s *worklistScreen) load() {
	if s.d.locked {
		return
	}
	if len(s.items) == 0 {
		s.showMessage("Loading today's worklist…")
	}
	s.d.async(func() func() {
		items, err := s.d.svc.WorklistItems(s.d.ctx)
		return func() { s.apply(items, err) }
	})
}

// apply shows a loaded worklist, or why it could not load.
func (s *worklistScreen) apply(items []lane.WorklistItem, err error) {
	if err != nil {
		s.items = nil
		s.applyFilter()
		s.showMessage("The worklist could not be loaded. " + errorText(err))
		return
	}
	s.items = items
	s.applyFilter()
}

// applyFilter recomputes the rows on display from the search text and the
// status filter.
func (s *worklistScreen) applyFilter() {
	var status lane.AppointmentStatus
	if i := s.filter.SelectedIndex(); i > 0 {
		status = worklistFilters[i].status
	}
	words := strings.Fields(strings.ToLower(s.search.Text))
	s.shown = s.shown[:0]
	for _, it := range s.items {
		if status != "" && it.Appointment.Status != status {
			continue
		}
		if len(words) > 0 && !matchesPatient(it.Patient, words) {
			continue
		}
		s.shown = append(s.shown, it)
	}
	s.list.UnselectAll()
	s.selected = -1
	s.list.Refresh()
	if len(s.shown) > 0 && len(words) > 0 {
		s.list.Select(0)
	}
	s.count.SetText(fmt.Sprintf("%d of %d appointments", len(s.shown), len(s.items)))
	switch {
	case len(s.items) == 0 && len(words) == 0:
		s.showMessage("No appointments today at this location.")
	case len(s.shown) == 0 && len(words) > 0:
		s.showMessage("Nobody on today's worklist matches. Search all patients to open another chart.")
	case len(s.shown) == 0:
		s.showMessage("Nobody on today's worklist has this status.")
	default:
		s.showMessage("")
	}
	if len(words) > 0 && s.d.can(lane.PermViewDemographics) {
		s.searchAll.Show()
	} else {
		s.searchAll.Hide()
	}
}

// matchesPatient reports whether every word is in the patient's name or
// MRN.
func matchesPatient(p lane.Patient, words []string) bool {
	hay := strings.ToLower(p.Name.String() + " " + p.MRN)
	for _, w := range words {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

// showMessage shows text over the list; "" hides it.
func (s *worklistScreen) showMessage(text string) {
	s.message.SetText(text)
	if text == "" {
		s.message.Hide()
	} else {
		s.message.Show()
	}
}

// moveSelection selects the next (or previous) row.
func (s *worklistScreen) moveSelection(down bool) {
	if len(s.shown) == 0 {
		return
	}
	i := s.selected
	switch {
	case i < 0:
		i = 0
	case down && i < len(s.shown)-1:
		i++
	case !down && i > 0:
		i--
	}
	s.list.Select(i)
}

// openSelected opens the chart of the selected row.
func (s *worklistScreen) openSelected() {
	if s.selected < 0 || s.selected >= len(s.shown) {
		return
	}
	s.d.OpenChart(s.shown[s.selected].Patient.ID)
}

// showPatientSearch searches every patient on the lane with the search
// box's text and offers their charts; opening one that is not on today's
// schedule asks for a break-glass reason.
func (s *worklistScreen) showPatientSearch() {
	text := s.search.Text
	s.d.async(func() func() {
		found, err := s.d.svc.FindPatients(s.d.ctx, text, 25)
		return func() {
			if err != nil {
				s.d.showError(err)
				return
			}
			s.showResults(found)
		}
	})
}

// showResults lists patients found by a search in a dialog.
func (s *worklistScreen) showResults(found []lane.Patient) {
	var dlg dialog.Dialog
	rows := container.NewVBox()
	for _, p := range found {
		id := p.ID
		label := p.Name.String() + " · MRN " + orDash(p.MRN)
		if b := p.BirthDate.String(); b != "" {
			label += " · born " + b
		}
		b := s.d.button(label, theme.AccountIcon(), func() {
			dlg.Hide()
			s.d.OpenChart(id)
		})
		b.Alignment = widget.ButtonAlignLeading
		rows.Add(b)
	}
	if len(found) == 0 {
		rows.Add(widget.NewLabel("No patient on this lane matches."))
	}
	content := container.NewBorder(
		note("Charts that are not on today's schedule open only with a reason (break-glass), which is recorded and reviewed."),
		nil, nil, nil, container.NewVScroll(rows))
	dlg = dialog.NewCustom("Search all patients", "Close", content, s.d.win)
	dlg.Resize(fyne.NewSize(560, 420))
	dlg.Show()
}

// Lock forgets the worklist and the search.
func (s *worklistScreen) Lock() {
	s.items, s.shown = nil, nil
	s.search.SetText("")
	s.filter.SetSelectedIndex(0)
	s.list.UnselectAll()
	s.selected = -1
	s.list.Refresh()
	s.count.SetText("")
	s.showMessage("")
	s.searchAll.Hide()
}

// worklistRow is one row of the worklist. A tap selects it and a double
// tap opens the chart.
type worklistRow struct {
	widget.BaseWidget
	s     *worklistScreen
	index int
	cells []*widget.Label
	row   *fyne.Container
}

var (
	_ fyne.Tappable       = (*worklistRow)(nil)
	_ fyne.DoubleTappable = (*worklistRow)(nil)
)

func newWorklistRow(s *worklistScreen) *worklistRow {
	r := &worklistRow{s: s, index: -1}
	objs := make([]fyne.CanvasObject, len(worklistColumns))
	for i := range worklistColumns {
		l := widget.NewLabel("")
		l.Truncation = fyne.TextTruncateEllipsis
		r.cells = append(r.cells, l)
		objs[i] = l
	}
	r.cells[1].TextStyle = fyne.TextStyle{Bold: true}
	r.row = newColumns(worklistColumns, 1, objs...)
	r.ExtendBaseWidget(r)
	return r
}

// CreateRenderer shows the row's cells.
func (r *worklistRow) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(r.row) }

// set fills the row from an item.
func (r *worklistRow) set(i int, it lane.WorklistItem) {
	r.index = i
	a, p := it.Appointment, it.Patient
	name := p.Name.String()
	if name == "" {
		name = "Patient details not available"
	}
	with := "–"
	switch {
	case a.With == "":
	case a.With == r.s.d.session.User:
		with = "You"
	default:
		with = string(a.With)
	}
	texts := []string{
		clockText(a.Start, r.s.d.tz), name, orDash(ageText(p.BirthDate, r.s.d.today())),
		statusText(a.Status), with, orDash(a.Reason),
	}
	for k, t := range texts {
		r.cells[k].SetText(t)
	}
	switch a.Status {
	case lane.ApptReadyForDoctor:
		r.cells[3].Importance = widget.WarningImportance
	case lane.ApptDone, lane.ApptCancelled, lane.ApptNoShow:
		r.cells[3].Importance = widget.LowImportance
	default:
		r.cells[3].Importance = widget.MediumImportance
	}
	r.cells[3].TextStyle = fyne.TextStyle{Bold: a.Status == lane.ApptReadyForDoctor}
	r.cells[3].Refresh()
}

// Tapped selects the row.
func (r *worklistRow) Tapped(*fyne.PointEvent) {
	r.s.d.touch()
	if r.index >= 0 {
		r.s.list.Select(r.index)
	}
}

// DoubleTapped selects the row and opens its chart.
func (r *worklistRow) DoubleTapped(*fyne.PointEvent) {
	r.s.d.touch()
	if r.index >= 0 {
		r.s.list.Select(r.index)
		r.s.openSelected()
	}
}
