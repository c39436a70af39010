package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// standardScreen describes one of the screens every lane has, and what its
// placeholder says until the screen is implemented.
type standardScreen struct {
	id, title string
	icon      fyne.Resource
	what      string // what the screen will show
}

// standardScreens lists the lane's screens in navigation order. It is a
// function, not a variable, because theme icons may only be looked up once
// the app exists.
func standardScreens() []standardScreen {
	return []standardScreen{
		{
			id: ScreenWorklist, title: "Worklist", icon: theme.ListIcon(),
			what: "The patients booked for this lane will be listed here, with the state of each exam.",
		},
		{
			id: ScreenPretest, title: "Pretest", icon: theme.VisibilityIcon(),
			what: "Readings taken by the technician will appear here as the instruments send them: " +
				"autorefraction, keratometry and the lensometer reading of the current glasses.",
		},
		{
			id: ScreenExam, title: "Exam", icon: theme.DocumentCreateIcon(),
			what: "The optometrist's exam will be recorded here: subjective refraction, " +
				"the final prescription and its signature.",
		},
		{
			id: ScreenGlassesCheck, title: "Glasses check", icon: theme.ConfirmIcon(),
			what: "Finished glasses will be checked here: the lensometer reading is compared " +
				"with the prescription against ANSI Z80.1 tolerances.",
		},
		{
			id: ScreenSettings, title: "Settings", icon: theme.SettingsIcon(),
			what: "Lane settings will be here: the connection to the practice server, " +
				"the instruments attached to this lane and the appearance.",
		},
	}
}

// placeholderWidth is the widest a placeholder's text runs, for readability.
const placeholderWidth = 560

// placeholder returns the view of a screen that is not implemented yet: its
// icon, what it will show and a note that this version does not have it.
func placeholder(icon fyne.Resource, what string) func() fyne.CanvasObject {
	return func() fyne.CanvasObject {
		img := widget.NewIcon(theme.NewDisabledResource(icon))
		big := container.NewGridWrap(fyne.NewSquareSize(72), img)

		text := widget.NewLabel(what)
		text.Wrapping = fyne.TextWrapWord
		text.Alignment = fyne.TextAlignCenter

		note := widget.NewLabel("This screen is not available in this version yet.")
		note.Wrapping = fyne.TextWrapWord
		note.Alignment = fyne.TextAlignCenter
		note.Importance = widget.LowImportance

		col := container.NewVBox(container.NewCenter(big), text, note)
		return container.New(&readableColumn{maxWidth: placeholderWidth}, col)
	}
}

// readableColumn is a layout that centres its objects in a column at most
// maxWidth wide, stacked on each other and centred vertically at their
// natural height. It suits wrapped text, whose height depends on its width.
type readableColumn struct {
	maxWidth float32
}

// Layout places objects in the centred column.
func (l *readableColumn) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	w := min(size.Width, l.maxWidth)
	for _, o := range objects {
		o.Resize(fyne.NewSize(w, size.Height)) // let wrapped text reflow at w
		h := min(o.MinSize().Height, size.Height)
		o.Resize(fyne.NewSize(w, h))
		o.Move(fyne.NewPos((size.Width-w)/2, (size.Height-h)/2))
	}
}

// MinSize is the largest minimum size of the objects, capped at maxWidth.
func (l *readableColumn) MinSize(objects []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objects {
		s = s.Max(o.MinSize())
	}
	s.Width = min(s.Width, l.maxWidth)
	return s
}
