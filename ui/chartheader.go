package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/lane"
)

// demoPrefix starts the MRN of every synthetic demo patient.
const demoPrefix = "DEMO-"

// chartHeader is the band above every screen while a chart is open: who
// the patient is (name, age, sex, MRN), their alerts, their last visit,
// and a badge when the data is synthetic. The shell shows it only while a
// chart is open; the lock takes it away with the chart.
type chartHeader struct {
	d       *Desktop
	content fyne.CanvasObject

	name    *widget.Label
	details *widget.Label
	alerts  *widget.Label
	last    *widget.Label
	demo    *fyne.Container
}

var _ Lockable = (*chartHeader)(nil)

func newChartHeader(d *Desktop) *chartHeader {
	h := &chartHeader{d: d}
	h.name = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	h.name.SizeName = theme.SizeNameSubHeadingText
	h.details = widget.NewLabel("")
	h.last = widget.NewLabel("")
	h.last.Importance = widget.LowImportance
	h.alerts = widget.NewLabel("")
	h.alerts.Importance = widget.DangerImportance
	h.alerts.Wrapping = fyne.TextWrapWord
	h.alerts.TextStyle = fyne.TextStyle{Bold: true}

	badgeText := canvas.NewText("DEMO — synthetic data", theme.Color(theme.ColorNameForegroundOnWarning))
	badgeText.TextStyle = fyne.TextStyle{Bold: true}
	badgeBG := canvas.NewRectangle(theme.Color(theme.ColorNameWarning))
	badgeBG.CornerRadius = theme.InputRadiusSize()
	h.demo = container.NewStack(badgeBG, container.NewPadded(badgeText))
	h.demo.Hide()

	closeChart := d.button("Close chart", theme.CancelIcon(), d.closeChart)
	closeChart.Importance = widget.LowImportance

	top := container.NewBorder(nil, nil, nil,
		container.NewHBox(container.NewCenter(h.demo), h.last, closeChart),
		container.NewHBox(h.name, h.details))
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameHeaderBackground))
	h.content = container.NewVBox(
		container.NewStack(bg, container.NewPadded(container.NewVBox(top, h.alerts))),
	)
	return h
}

// chartOpened shows the patient of o, or clears the header.
func (h *chartHeader) chartOpened(o *openChart) {
	if o == nil {
		h.Lock()
		return
	}
	p := o.c.Patient
	h.name.SetText(orDash(p.Name.String()))
	var parts []string
	if a := ageText(p.BirthDate, h.d.today()); a != "" {
		parts = append(parts, a)
	}
	parts = append(parts, sexText(p.Sex), "MRN "+orDash(p.MRN))
	h.details.SetText(strings.Join(parts, " · "))
	if len(p.Alerts) > 0 {
		h.alerts.SetText("⚠ Alerts: " + strings.Join(p.Alerts, "; "))
		h.alerts.Show()
	} else {
		h.alerts.SetText("")
		h.alerts.Hide()
	}
	h.last.SetText("Last visit: " + h.lastVisit(o))
	if strings.HasPrefix(strings.ToUpper(p.MRN), demoPrefix) {
		h.demo.Show()
	} else {
		h.demo.Hide()
	}
}

// lastVisit returns the date of the newest encounter before today, "none"
// when there is none.
func (h *chartHeader) lastVisit(o *openChart) string {
	today := h.d.today()
	for _, e := range o.c.Encounters { // newest first
		if e.ID == o.encounterID() || e.Start.IsZero() {
			continue
		}
		if day := lane.DateOf(e.Start.In(h.d.tz)); day.Before(today) {
			return day.String()
		}
	}
	return "none"
}

// chartChanged does nothing: the header shows what does not change during
// a visit.
func (h *chartHeader) chartChanged() {}

// Lock clears the header.
func (h *chartHeader) Lock() {
	h.name.SetText("")
	h.details.SetText("")
	h.alerts.SetText("")
	h.alerts.Hide()
	h.last.SetText("")
	h.demo.Hide()
}
