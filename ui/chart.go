package ui

import (
	"errors"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/lane"
)

// openChart is the chart on screen: what OpenChart returned, kept up to
// date with the lane's events and the screens' own saves, and today's
// encounter and appointment in it. Only the Fyne goroutine touches it.
type openChart struct {
	c    lane.Chart
	enc  *lane.Encounter   // the visit's open (or today's) encounter; nil when none
	appt *lane.Appointment // today's appointment; nil when none
}

// chartView is a screen that shows the open chart.
type chartView interface {
	// chartOpened shows a newly opened chart, or none when o is nil.
	chartOpened(o *openChart)
	// chartChanged shows changes to the open chart (a reading arrived, a
	// record was saved) without discarding what the person is typing.
	chartChanged()
}

// patientID returns the chart's patient.
func (o *openChart) patientID() lane.PatientID { return o.c.Patient.ID }

// encounterID returns the open encounter's id, "" when none.
func (o *openChart) encounterID() lane.EncounterID {
	if o.enc == nil {
		return ""
	}
	return o.enc.ID
}

// upsert puts a saved measurement into the chart, replacing the one with
// its id, or takes it out when it was removed.
func (o *openChart) upsert(m lane.Measurement) {
	i := slices.IndexFunc(o.c.Measurements, func(x lane.Measurement) bool { return x.ID == m.ID })
	switch {
	case m.Deleted && i >= 0:
		o.c.Measurements = slices.Delete(o.c.Measurements, i, i+1)
	case m.Deleted:
	case i >= 0:
		o.c.Measurements[i] = m
	default:
		o.c.Measurements = append(o.c.Measurements, m)
	}
}

// setEncounter replaces the encounter with e's id.
func (o *openChart) setEncounter(e lane.Encounter) {
	for i := range o.c.Encounters {
		if o.c.Encounters[i].ID == e.ID {
			o.c.Encounters[i] = e
		}
	}
	if o.enc != nil && o.enc.ID == e.ID {
		*o.enc = e
	}
}

// followVisit makes e, the encounter the lane now files this visit's
// readings in, the chart's open encounter, adding it when new (starting
// the pretest opens one).
func (o *openChart) followVisit(e lane.Encounter) {
	if e.PatientID != o.patientID() {
		return
	}
	i := slices.IndexFunc(o.c.Encounters, func(x lane.Encounter) bool { return x.ID == e.ID })
	if i >= 0 {
		o.c.Encounters[i] = e
	} else {
		o.c.Encounters = append(o.c.Encounters, e)
	}
	o.enc = &e
}

// setRx puts a saved prescription into the chart.
func (o *openChart) setRx(rx lane.SpectacleRx) {
	i := slices.IndexFunc(o.c.Prescriptions, func(x lane.SpectacleRx) bool { return x.ID == rx.ID })
	if i >= 0 {
		o.c.Prescriptions[i] = rx
	} else {
		o.c.Prescriptions = append([]lane.SpectacleRx{rx}, o.c.Prescriptions...)
	}
}

// visitMeasurements returns the open encounter's measurements that keep,
// oldest first; with no encounter, the measurements recorded without one.
func (o *openChart) visitMeasurements(keep func(lane.Measurement) bool) []lane.Measurement {
	var out []lane.Measurement
	for _, m := range o.c.Measurements {
		if m.EncounterID == o.encounterID() && (keep == nil || keep(m)) {
			out = append(out, m)
		}
	}
	return out
}

// OpenChart opens patient id's chart through the service (which audits the
// access) and shows it on the screen that suits the user's role. A chart
// outside today's schedule asks for a break-glass reason first.
func (d *Desktop) OpenChart(id lane.PatientID) {
	if d.locked {
		return
	}
	d.async(func() func() {
		c, err := d.svc.OpenChart(d.ctx, id)
		_, enc := d.svc.Active()
		return func() {
			switch {
			case errors.Is(err, lane.ErrBreakGlassRequired):
				d.askBreakGlass(id)
			case err != nil:
				d.showError(err)
			default:
				d.setChart(c, enc)
			}
		}
	})
}

// askBreakGlass asks for the reason to open a chart outside the user's
// normal scope, then opens it.
func (d *Desktop) askBreakGlass(id lane.PatientID) {
	reason := newMultiLineEntry(d, "e.g. Patient phoned with sudden vision loss; previous results needed")
	reason.SetMinRowsVisible(3)
	msg := widget.NewLabel("This chart is not on today's schedule for this location. " +
		"Opening it is recorded with your reason and reviewed by the practice.")
	msg.Wrapping = fyne.TextWrapWord
	errLabel := widget.NewLabel("")
	errLabel.Importance = widget.DangerImportance
	errLabel.Wrapping = fyne.TextWrapWord
	content := container.NewVBox(msg, widget.NewLabel("Reason (at least 10 characters)"), reason, errLabel)
	var dlg *dialog.CustomDialog
	open := widget.NewButton("Open chart", nil)
	open.Importance = widget.DangerImportance
	open.OnTapped = func() {
		d.touch()
		text := strings.TrimSpace(reason.Text)
		if len([]rune(text)) < 10 {
			errLabel.SetText("Give a reason of at least 10 characters.")
			return
		}
		dlg.Hide()
		d.async(func() func() {
			err := d.svc.BreakGlass(d.ctx, id, text)
			var c lane.Chart
			var enc lane.EncounterID
			if err == nil {
				c, err = d.svc.OpenChart(d.ctx, id)
				_, enc = d.svc.Active()
			}
			return func() {
				if err != nil {
					d.showError(err)
					return
				}
				d.setChart(c, enc)
			}
		})
	}
	cancel := widget.NewButton("Cancel", func() { dlg.Hide() })
	dlg = dialog.NewCustomWithoutButtons("Emergency access (break-glass)", content, d.win)
	dlg.SetButtons([]fyne.CanvasObject{cancel, open})
	dlg.Resize(fyne.NewSize(520, 0))
	dlg.Show()
	d.win.Canvas().Focus(reason)
}

// setChart shows a chart that the service opened; enc is the encounter the
// service made active.
func (d *Desktop) setChart(c lane.Chart, enc lane.EncounterID) {
	o := &openChart{c: c}
	for i := range c.Encounters {
		if c.Encounters[i].ID == enc {
			e := c.Encounters[i]
			o.enc = &e
		}
	}
	today := d.today()
	for i := range c.Appointments {
		a := c.Appointments[i]
		if lane.DateOf(a.Start.In(d.tz)) == today && a.Status != lane.ApptCancelled && a.Status != lane.ApptNoShow {
			o.appt = &a
			if o.enc == nil {
				for j := range c.Encounters {
					if c.Encounters[j].AppointmentID == a.ID {
						e := c.Encounters[j]
						o.enc = &e
					}
				}
			}
			break
		}
	}
	d.chart = o
	d.shell.SetHeader(d.header.content)
	for _, v := range d.chartViews() {
		v.chartOpened(o)
	}
	switch {
	case d.hasRole(lane.RoleOptometrist):
		d.shell.Show(ScreenExam)
	case d.hasRole(lane.RoleTechnician):
		d.shell.Show(ScreenPretest)
	case d.hasRole(lane.RoleOptician):
		d.shell.Show(ScreenGlassesCheck)
	}
}

// closeChart forgets the open chart; readings that arrive now wait
// unassigned.
func (d *Desktop) closeChart() {
	d.chart = nil
	d.svc.CloseChart()
	d.shell.SetHeader(nil)
	for _, v := range d.chartViews() {
		v.chartOpened(nil)
	}
}

// chartChanged tells the screens that the open chart changed.
func (d *Desktop) chartChanged() {
	for _, v := range d.chartViews() {
		v.chartChanged()
	}
}

// chartViews lists the screens that show the open chart.
func (d *Desktop) chartViews() []chartView {
	return []chartView{d.header, d.pretest, d.exam, d.glasses}
}

// applyMeasurements puts measurements a screen saved or removed into the
// open chart at once; the lane's event for each arrives later and changes
// nothing more.
func (d *Desktop) applyMeasurements(ms []lane.Measurement) {
	if d.chart == nil || len(ms) == 0 {
		return
	}
	for _, m := range ms {
		if m.PatientID == d.chart.patientID() {
			d.chart.upsert(m)
		}
	}
	d.chartChanged()
}

// advanceVisit moves the open chart's appointment to status to, then
// refreshes the worklist.
func (d *Desktop) advanceVisit(a lane.Appointment, to lane.AppointmentStatus) {
	d.async(func() func() {
		out, err := d.svc.AdvanceVisit(d.ctx, a, to)
		var enc lane.Encounter
		var hasEnc bool
		if err == nil {
			// AdvanceVisit opens or moves the visit's encounter
			enc, hasEnc, err = d.svc.ActiveEncounter(d.ctx)
		}
		return func() {
			if err != nil {
				d.showError(err)
				return
			}
			if d.chart != nil && d.chart.appt != nil && d.chart.appt.ID == out.ID {
				*d.chart.appt = out
				if hasEnc {
					d.chart.followVisit(enc)
				}
				d.chartChanged()
			}
			d.notify("Visit: " + statusText(out.Status))
			d.worklist.load()
		}
	})
}

// applyEncounter puts a saved encounter into the open chart.
func (d *Desktop) applyEncounter(e lane.Encounter) {
	if d.chart == nil || e.PatientID != d.chart.patientID() {
		return
	}
	d.chart.setEncounter(e)
	d.chartChanged()
}
