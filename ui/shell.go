package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/assets"
)

// IDs of the standard screens, in navigation order. NewShell adds each with
// a placeholder that says what the screen will show; the package that
// implements a screen replaces it by calling Shell.AddScreen with the same ID.
const (
	ScreenWorklist     = "worklist"
	ScreenPretest      = "pretest"
	ScreenExam         = "exam"
	ScreenGlassesCheck = "glasses-check"
	ScreenSettings     = "settings"
)

// navWidth is the minimum width of the navigation column.
const navWidth = 220

// Status is what the status bar at the bottom of the window shows.
type Status struct {
	// Sync describes the link to the practice server, for example
	// "Not connected to a practice server" or "Up to date".
	Sync string
	// Instruments describes the measuring instruments attached to the lane,
	// for example "No instruments connected".
	Instruments string
}

// Shell is the main window's layout: a navigation list of screens on the
// left, the selected screen in the middle under its title, and a status bar
// at the bottom.
//
// A Shell is not safe for concurrent use. Call its methods on the Fyne
// goroutine: from a Fyne callback, or from another goroutine inside
// fyne.Do (see the package documentation).
type Shell struct {
	app fyne.App
	win fyne.Window

	screens []*screen
	current int // index into screens of the screen on display, or -1

	nav        *widget.List
	title      *widget.Label
	body       *fyne.Container
	syncLabel  *widget.Label
	instLabel  *widget.Label
	status     Status
	version    string
	content    fyne.CanvasObject
	showsAbout bool // an About dialog is open
}

// screen is one entry of the navigation.
type screen struct {
	id, title string
	icon      fyne.Resource
	view      func() fyne.CanvasObject
	obj       fyne.CanvasObject // built by view on first display; nil until then
}

// NewShell builds the main layout for window w of app, with the standard
// screens (Worklist, Pretest, Exam, Glasses check, Settings) as placeholders
// and the Worklist on display. Put it in the window with
// w.SetContent(s.Content()).
func NewShell(app fyne.App, w fyne.Window) *Shell {
	s := &Shell{app: app, win: w, current: -1, version: "dev"}

	s.nav = widget.NewList(
		func() int { return len(s.screens) },
		func() fyne.CanvasObject {
			return container.NewHBox(widget.NewIcon(theme.ListIcon()), widget.NewLabel("Screen title"))
		},
		s.updateNavItem,
	)
	s.nav.OnSelected = func(id widget.ListItemID) { s.display(id) }

	s.title = widget.NewLabel("")
	s.title.SizeName = theme.SizeNameHeadingText
	s.title.TextStyle = fyne.TextStyle{Bold: true}
	s.body = container.NewStack()

	s.syncLabel = widget.NewLabel("")
	s.instLabel = widget.NewLabel("")
	s.SetStatus(Status{
		Sync:        "Not connected to a practice server",
		Instruments: "No instruments connected",
	})

	for _, d := range standardScreens() {
		s.AddScreen(d.id, d.title, d.icon, placeholder(d.icon, d.what))
	}
	s.content = s.layout()
	s.Show(ScreenWorklist)
	return s
}

// layout assembles the window content from the shell's widgets.
func (s *Shell) layout() fyne.CanvasObject {
	icon := canvas.NewImageFromResource(assets.Icon)
	icon.FillMode = canvas.ImageFillContain
	icon.SetMinSize(fyne.NewSquareSize(32))
	name := widget.NewLabelWithStyle("Examlane", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	name.SizeName = theme.SizeNameSubHeadingText
	brand := container.NewHBox(icon, name)

	about := widget.NewButtonWithIcon("About Examlane", theme.InfoIcon(), s.ShowAbout)
	about.Importance = widget.LowImportance
	about.Alignment = widget.ButtonAlignLeading

	width := canvas.NewRectangle(color.Transparent)
	width.SetMinSize(fyne.NewSize(navWidth, 0))
	navColumn := container.NewBorder(
		container.NewVBox(container.NewPadded(brand), widget.NewSeparator()),
		container.NewVBox(widget.NewSeparator(), about),
		nil, nil,
		container.NewStack(width, s.nav),
	)

	main := container.NewBorder(
		container.NewVBox(container.NewPadded(s.title), widget.NewSeparator()),
		nil, nil, nil,
		container.NewPadded(s.body),
	)

	statusBar := container.NewVBox(
		widget.NewSeparator(),
		container.NewHBox(
			widget.NewIcon(theme.ViewRefreshIcon()), s.syncLabel,
			layout.NewSpacer(),
			widget.NewIcon(theme.ComputerIcon()), s.instLabel,
		),
	)

	return container.NewBorder(nil, statusBar,
		container.NewHBox(navColumn, widget.NewSeparator()), nil,
		main)
}

// Content returns the shell's canvas object, to be set as the window's
// content.
func (s *Shell) Content() fyne.CanvasObject { return s.content }

// AddScreen adds a screen to the navigation, or replaces the screen that has
// the same id, keeping its place. title labels it in the navigation and above
// its content; icon may be nil for no icon. view builds the screen's content;
// it is called on the Fyne goroutine the first time the screen is shown, and
// its result is kept for later visits. view must not block: start slow loads
// in a goroutine and apply their result with fyne.Do.
func (s *Shell) AddScreen(id, title string, icon fyne.Resource, view func() fyne.CanvasObject) {
	sc := &screen{id: id, title: title, icon: icon, view: view}
	if i := s.index(id); i >= 0 {
		s.screens[i] = sc
		if i == s.current {
			s.current = -1
			s.display(i)
		}
	} else {
		s.screens = append(s.screens, sc)
	}
	s.nav.Refresh()
}

// Show displays the screen with the given id and selects it in the
// navigation. It reports whether such a screen exists.
func (s *Shell) Show(id string) bool {
	i := s.index(id)
	if i < 0 {
		return false
	}
	s.nav.Select(i) // calls display through OnSelected unless already selected
	s.display(i)
	return true
}

// Current returns the id of the screen on display, or "" if there is none.
func (s *Shell) Current() string {
	if s.current < 0 {
		return ""
	}
	return s.screens[s.current].id
}

// Screens returns the ids of the screens in navigation order.
func (s *Shell) Screens() []string {
	ids := make([]string, len(s.screens))
	for i, sc := range s.screens {
		ids[i] = sc.id
	}
	return ids
}

// SetStatus replaces the text of the status bar. An empty field shows a dash.
func (s *Shell) SetStatus(st Status) {
	s.status = st
	s.syncLabel.SetText(orDash(st.Sync))
	s.instLabel.SetText(orDash(st.Instruments))
}

// Status returns what the status bar shows.
func (s *Shell) Status() Status { return s.status }

// SetVersion sets the version text shown by the About dialog, for example
// "0.1.0+1 (3f2a1bc)". It is "dev" until set.
func (s *Shell) SetVersion(v string) { s.version = v }

// ShowAbout opens the About dialog over the window.
func (s *Shell) ShowAbout() {
	if s.showsAbout {
		return
	}
	icon := canvas.NewImageFromResource(assets.Icon)
	icon.FillMode = canvas.ImageFillContain
	icon.SetMinSize(fyne.NewSquareSize(96))
	name := widget.NewLabelWithStyle("Examlane", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	name.SizeName = theme.SizeNameHeadingText
	content := container.NewVBox(
		container.NewCenter(icon),
		name,
		widget.NewLabelWithStyle("Version "+s.version, fyne.TextAlignCenter, fyne.TextStyle{}),
		widget.NewLabelWithStyle("Exam-lane software for optometry practices.", fyne.TextAlignCenter, fyne.TextStyle{}),
		widget.NewLabelWithStyle("Licensed under the Apache License, Version 2.0.", fyne.TextAlignCenter, fyne.TextStyle{}),
	)
	d := dialog.NewCustom("About Examlane", "Close", content, s.win)
	d.SetOnClosed(func() { s.showsAbout = false })
	s.showsAbout = true
	d.Show()
}

// display puts screen i in the content area, building it on first use.
func (s *Shell) display(i int) {
	if i < 0 || i >= len(s.screens) || i == s.current {
		return
	}
	sc := s.screens[i]
	if sc.obj == nil {
		if sc.view != nil {
			sc.obj = sc.view()
		}
		if sc.obj == nil {
			sc.obj = widget.NewLabel("")
		}
	}
	s.current = i
	s.title.SetText(sc.title)
	s.body.Objects = []fyne.CanvasObject{sc.obj}
	s.body.Refresh()
}

// updateNavItem fills navigation row i.
func (s *Shell) updateNavItem(i widget.ListItemID, o fyne.CanvasObject) {
	if i < 0 || i >= len(s.screens) {
		return
	}
	sc := s.screens[i]
	row := o.(*fyne.Container)
	icon := row.Objects[0].(*widget.Icon)
	icon.SetResource(sc.icon)
	row.Objects[1].(*widget.Label).SetText(sc.title)
}

// index returns the position of the screen with the given id, or -1.
func (s *Shell) index(id string) int {
	for i, sc := range s.screens {
		if sc.id == id {
			return i
		}
	}
	return -1
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
