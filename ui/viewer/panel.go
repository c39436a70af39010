package viewer

import (
	"fmt"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
)

// channelNames are the channel choices in panel order.
var channelNames = []string{"Colour", "Red-free", "Red", "Green", "Blue"}

var channels = []retina.Channel{retina.AllChannels, retina.RedFree, retina.RedOnly, retina.GreenOnly, retina.BlueOnly}

// KeyHelp is the one-line summary of the viewer's keys shown under it.
const KeyHelp = "Wheel zoom · drag pan · +/− zoom · 0 fit · A 1:1 · arrows pan · R/⇧R rotate · H/V flip · " +
	"B/C/G brighter/contrast/gamma (⇧ lowers) · F red-free · 1/2/3 channel · E CLAHE · I invert · Esc reset"

// Panel is the side panel of a viewer: image details, annotation tools,
// adjustment sliders, view buttons, measurement readouts and status. It
// follows one viewer at a time (SetViewer), so a compare view needs only
// one.
type Panel struct {
	widget.BaseWidget

	v       *Viewer
	syncing bool // set while the controls are being updated from the viewer

	details    *widget.Label
	tools      []*widget.Button
	label      *widget.Entry
	bright     *widget.Slider
	contrast   *widget.Slider
	gamma      *widget.Slider
	brightVal  *widget.Label
	contrVal   *widget.Label
	gammaVal   *widget.Label
	channel    *widget.Select
	tint       *widget.Check
	clahe      *widget.Check
	invert     *widget.Check
	deleteLast *widget.Button
	retry      *widget.Button
	readout    *widget.Label
	status     *widget.Label
	content    fyne.CanvasObject
}

// NewPanel returns a panel following v.
func NewPanel(v *Viewer) *Panel {
	p := &Panel{}
	p.details = widget.NewLabel("")
	p.details.Wrapping = fyne.TextWrapWord
	for _, t := range Tools {
		p.tools = append(p.tools, widget.NewButton(t.String(), func() {
			if p.v != nil {
				p.v.SetTool(t)
				p.sync()
			}
		}))
	}
	p.label = widget.NewEntry()
	p.label.SetPlaceHolder("Label text")
	p.label.OnChanged = func(s string) {
		if p.v != nil {
			p.v.SetLabel(s)
		}
	}
	slider := func(lo, hi, step float64, set func(*retina.Adjust, float64)) *widget.Slider {
		s := widget.NewSlider(lo, hi)
		s.Step = step
		s.OnChanged = func(x float64) {
			if p.syncing || p.v == nil {
				return
			}
			a := p.v.Adjust()
			set(&a, x)
			p.v.SetAdjust(a)
		}
		return s
	}
	p.bright = slider(-1, 1, 0.01, func(a *retina.Adjust, x float64) { a.Brightness = x })
	p.contrast = slider(-0.9, 0.9, 0.01, func(a *retina.Adjust, x float64) { a.Contrast = x })
	p.gamma = slider(-1, 1, 0.01, func(a *retina.Adjust, x float64) {
		// The slider is logarithmic: −1…1 maps to gamma ⅓…3.
		a.Gamma = round2(math.Pow(3, x))
		if a.Gamma == 1 {
			a.Gamma = 0
		}
	})
	p.brightVal, p.contrVal, p.gammaVal = widget.NewLabel(""), widget.NewLabel(""), widget.NewLabel("")
	p.channel = widget.NewSelect(channelNames, func(s string) {
		if p.syncing || p.v == nil {
			return
		}
		a := p.v.Adjust()
		for i, n := range channelNames {
			if n == s {
				a.Channel = channels[i]
			}
		}
		if a.Channel != retina.RedFree {
			a.Tint = false
		}
		p.v.SetAdjust(a)
	})
	check := func(label string, set func(*retina.Adjust, bool)) *widget.Check {
		return widget.NewCheck(label, func(b bool) {
			if p.syncing || p.v == nil {
				return
			}
			a := p.v.Adjust()
			set(&a, b)
			p.v.SetAdjust(a)
		})
	}
	p.tint = check("Green tint", func(a *retina.Adjust, b bool) { a.Tint = b })
	p.clahe = check("CLAHE", func(a *retina.Adjust, b bool) { a.CLAHE = b })
	p.invert = check("Invert", func(a *retina.Adjust, b bool) { a.Invert = b })
	do := func(f func(*Viewer)) func() {
		return func() {
			if p.v != nil {
				f(p.v)
			}
		}
	}
	viewButtons := container.NewGridWithColumns(4,
		widget.NewButton("Fit", do((*Viewer).Fit)),
		widget.NewButton("1:1", do((*Viewer).ActualSize)),
		widget.NewButton("Rotate L", do(func(v *Viewer) { v.Rotate(-90) })),
		widget.NewButton("Rotate R", do(func(v *Viewer) { v.Rotate(90) })),
		widget.NewButton("Flip H", do(func(v *Viewer) { v.Flip(true) })),
		widget.NewButton("Flip V", do(func(v *Viewer) { v.Flip(false) })),
		widget.NewButton("Reset", do((*Viewer).Reset)),
	)
	p.deleteLast = widget.NewButtonWithIcon("Delete last mark", theme.DeleteIcon(), do((*Viewer).DeleteLast))
	p.retry = widget.NewButtonWithIcon("Retry saving", theme.ViewRefreshIcon(), do((*Viewer).RetrySaves))
	p.readout = widget.NewLabel("")
	p.readout.Wrapping = fyne.TextWrapWord
	p.readout.TextStyle = fyne.TextStyle{Monospace: true}
	p.status = widget.NewLabel("")
	p.status.Wrapping = fyne.TextWrapWord
	p.status.Importance = widget.LowImportance

	sliderRow := func(name string, s *widget.Slider, val *widget.Label) fyne.CanvasObject {
		return container.NewBorder(nil, nil, widget.NewLabel(name), val, s)
	}
	p.content = container.NewVScroll(container.NewVBox(
		widget.NewLabelWithStyle("Image", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		p.details,
		widget.NewSeparator(),
		widget.NewLabelWithStyle("Adjust", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		sliderRow("Brightness", p.bright, p.brightVal),
		sliderRow("Contrast", p.contrast, p.contrVal),
		sliderRow("Gamma", p.gamma, p.gammaVal),
		container.NewBorder(nil, nil, widget.NewLabel("Channel"), nil, p.channel),
		container.NewGridWithColumns(3, p.tint, p.clahe, p.invert),
		widget.NewSeparator(),
		widget.NewLabelWithStyle("View", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		viewButtons,
		widget.NewSeparator(),
		widget.NewLabelWithStyle("Marks", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewGridWithColumns(3, toolObjects(p.tools)...),
		p.label,
		container.NewGridWithColumns(2, p.deleteLast, p.retry),
		p.readout,
		p.status,
	))
	p.ExtendBaseWidget(p)
	p.SetViewer(v)
	return p
}

func toolObjects(bs []*widget.Button) []fyne.CanvasObject {
	out := make([]fyne.CanvasObject, len(bs))
	for i, b := range bs {
		out[i] = b
	}
	return out
}

// SetViewer makes the panel follow v (nil: none), taking over v.OnChanged.
func (p *Panel) SetViewer(v *Viewer) {
	if p.v != nil && p.v != v {
		p.v.OnChanged = nil
	}
	p.v = v
	if v != nil {
		v.OnChanged = p.sync
	}
	p.sync()
}

// Viewer returns the viewer the panel follows.
func (p *Panel) Viewer() *Viewer { return p.v }

// CreateRenderer implements fyne.Widget.
func (p *Panel) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(p.content) }

// MinSize keeps the panel wide enough for its sliders.
func (p *Panel) MinSize() fyne.Size {
	return p.BaseWidget.MinSize().Max(fyne.NewSize(300, 0))
}

// sync copies the viewer's state into the controls.
func (p *Panel) sync() {
	p.syncing = true
	defer func() { p.syncing = false }()
	v := p.v
	if v == nil {
		p.details.SetText("No image")
		return
	}
	p.details.SetText(details(v))
	a := v.Adjust()
	p.bright.SetValue(a.Brightness)
	p.contrast.SetValue(a.Contrast)
	g := gammaOf(a)
	p.gamma.SetValue(round2(math.Log(g) / math.Log(3)))
	p.brightVal.SetText(fmt.Sprintf("%+.2f", a.Brightness))
	p.contrVal.SetText(fmt.Sprintf("%+.2f", a.Contrast))
	p.gammaVal.SetText(fmt.Sprintf("%.2f", g))
	for i, c := range channels {
		if c == a.Channel {
			p.channel.SetSelected(channelNames[i])
		}
	}
	p.tint.SetChecked(a.Tint)
	p.clahe.SetChecked(a.CLAHE)
	p.invert.SetChecked(a.Invert)
	if a.Channel == retina.RedFree {
		p.tint.Enable()
	} else {
		p.tint.Disable()
	}
	can := v.CanAnnotate() && v.Pyramid() != nil
	for i, b := range p.tools {
		imp := widget.MediumImportance
		if Tools[i] == v.Tool() {
			imp = widget.HighImportance
		}
		if b.Importance != imp {
			b.Importance = imp
			b.Refresh()
		}
		if can || Tools[i] == ToolPan {
			b.Enable()
		} else {
			b.Disable()
		}
	}
	if can {
		p.deleteLast.Enable()
	} else {
		p.deleteLast.Disable()
	}
	if v.Tool() == ToolText {
		p.label.Show()
	} else {
		p.label.Hide()
	}
	if v.Unsaved() > 0 {
		p.retry.Enable()
	} else {
		p.retry.Disable()
	}
	p.readout.SetText(v.Readout())
	p.status.SetText(v.Status())
}

// details describes the image shown: eye, kind, capture time, size.
func details(v *Viewer) string {
	if loading, _, stage := v.Loading(); loading {
		return stage
	}
	if v.Pyramid() == nil {
		return "No image"
	}
	img := v.Image()
	eye := map[lane.Eye]string{lane.EyeRight: "Right eye (OD)", lane.EyeLeft: "Left eye (OS)", lane.EyeBoth: "Both eyes"}[img.Eye]
	if eye == "" {
		eye = "Eye not recorded"
	}
	kind := map[lane.ImageKind]string{lane.ImageColor: "colour", lane.ImageRedFree: "red-free", lane.ImageFA: "fluorescein angiogram",
		lane.ImageAF: "autofluorescence", lane.ImageOther: "other"}[img.Kind]
	s := eye
	if kind != "" {
		s += ", " + kind
	}
	if !img.CapturedAt.IsZero() {
		s += "\n" + img.CapturedAt.Format("2 Jan 2006 15:04")
	}
	sz := v.Pyramid().Size()
	s += fmt.Sprintf("\n%d × %d px", sz.X, sz.Y)
	if vw := v.View(); vw.Scale > 0 {
		s += fmt.Sprintf(", zoom %.0f%%", vw.Scale*100)
	}
	return s
}

// NewWorkspace lays out a viewer with its panel on the right and the key
// summary underneath: the single-image screen.
func NewWorkspace(v *Viewer) fyne.CanvasObject {
	help := widget.NewLabel(KeyHelp)
	help.Wrapping = fyne.TextWrapWord
	help.Importance = widget.LowImportance
	return container.NewBorder(nil, help, nil, NewPanel(v), v)
}
