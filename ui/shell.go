package ui

import (
	"fmt"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
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
	// Conflicts is the number of sync conflicts waiting for a person; when
	// positive the status bar shows a button that calls the function set
	// with SetOnConflicts.
	Conflicts int
	// Busy shows a progress bar at Progress (0 to 1), for example while
	// the lane pre-fetches today's charts.
	Busy     bool
	Progress float64
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

	nav         *widget.List
	title       *widget.Label
	header      *fyne.Container // the chart header slot above the title
	body        *fyne.Container
	navTools    *fyne.Container // buttons at the foot of the navigation
	syncLabel   *widget.Label
	instLabel   *widget.Label
	noticeLabel *widget.Label
	conflicts   *widget.Button
	progress    *widget.ProgressBar
	progressBox *fyne.Container
	onConflicts func()
	onShow      func(id string)
	status      Status
	version     string
	content     fyne.CanvasObject
	showsAbout  bool // an About dialog is open
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
			hint := widget.NewLabel("Ctrl+9")
			hint.Importance = widget.LowImportance
			return container.NewBorder(nil, nil, widget.NewIcon(theme.ListIcon()), hint, widget.NewLabel("Screen title"))
		},
		s.updateNavItem,
	)
	s.nav.OnSelected = func(id widget.ListItemID) { s.display(id) }

	s.title = widget.NewLabel("")
	s.title.SizeName = theme.SizeNameHeadingText
	s.title.TextStyle = fyne.TextStyle{Bold: true}
	s.body = container.NewStack()
	s.header = container.NewVBox()
	s.navTools = container.NewVBox()

	s.syncLabel = widget.NewLabel("")
	s.instLabel = widget.NewLabel("")
	s.noticeLabel = widget.NewLabel("")
	s.noticeLabel.TextStyle = fyne.TextStyle{Bold: true}
	s.noticeLabel.Alignment = fyne.TextAlignCenter
	s.noticeLabel.Truncation = fyne.TextTruncateEllipsis
	s.noticeLabel.Hide()
	s.conflicts = widget.NewButtonWithIcon("", theme.WarningIcon(), func() {
		if s.onConflicts != nil {
			s.onConflicts()
		}
	})
	s.conflicts.Importance = widget.WarningImportance
	s.conflicts.Hide()
	s.progress = widget.NewProgressBar()
	s.progress.Hide()
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
		container.NewVBox(widget.NewSeparator(), s.navTools, about),
		nil, nil,
		container.NewStack(width, s.nav),
	)

	main := container.NewBorder(
		container.NewVBox(s.header, container.NewPadded(s.title), widget.NewSeparator()),
		nil, nil, nil,
		container.NewPadded(s.body),
	)

	s.progressBox = container.NewGridWrap(fyne.NewSize(160, s.progress.MinSize().Height), s.progress)
	s.progressBox.Hide()
	// The notice takes the room between the sync and instrument states and
	// is cut rather than widening the window.
	statusBar := container.NewVBox(
		widget.NewSeparator(),
		container.NewBorder(nil, nil,
			container.NewHBox(widget.NewIcon(theme.ViewRefreshIcon()), s.syncLabel, s.progressBox, s.conflicts),
			container.NewHBox(widget.NewIcon(theme.ComputerIcon()), s.instLabel),
			s.noticeLabel,
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

// SetStatus replaces what the status bar shows. An empty text shows a
// dash.
func (s *Shell) SetStatus(st Status) {
	s.status = st
	s.syncLabel.SetText(orDash(st.Sync))
	s.instLabel.SetText(orDash(st.Instruments))
	if st.Conflicts > 0 {
		s.conflicts.SetText(plural(st.Conflicts, "conflict", "conflicts") + " waiting")
		s.conflicts.Show()
	} else {
		s.conflicts.Hide()
	}
	if s.progressBox == nil {
		return // called by NewShell before the layout exists
	}
	if st.Busy {
		s.progress.SetValue(max(0, min(1, st.Progress)))
		s.progressBox.Show()
	} else {
		s.progressBox.Hide()
	}
}

// SetOnShow sets a function called with a screen's id each time the screen
// is put on display.
func (s *Shell) SetOnShow(f func(id string)) { s.onShow = f }

// SetOnConflicts sets what the status bar's conflicts button does.
func (s *Shell) SetOnConflicts(f func()) { s.onConflicts = f }

// Notify shows a short notice in the middle of the status bar, such as
// "Autorefraction received". It must never carry patient data: the status
// bar stays visible to anyone passing by. An empty text hides the notice.
func (s *Shell) Notify(text string) {
	s.noticeLabel.SetText(text)
	if text == "" {
		s.noticeLabel.Hide()
	} else {
		s.noticeLabel.Show()
	}
}

// Notice returns the notice on display, "" when none.
func (s *Shell) Notice() string {
	if !s.noticeLabel.Visible() {
		return ""
	}
	return s.noticeLabel.Text
}

// SetHeader puts obj above the screen title on every screen, or removes
// the header when obj is nil.
func (s *Shell) SetHeader(obj fyne.CanvasObject) {
	if obj == nil {
		s.header.Objects = nil
	} else {
		s.header.Objects = []fyne.CanvasObject{obj}
	}
	s.header.Refresh()
}

// AddNavButton adds a button at the foot of the navigation, above About.
func (s *Shell) AddNavButton(b *widget.Button) {
	b.Alignment = widget.ButtonAlignLeading
	s.navTools.Add(b)
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
	if s.onShow != nil {
		s.onShow(sc.id)
	}
}

// updateNavItem fills navigation row i.
func (s *Shell) updateNavItem(i widget.ListItemID, o fyne.CanvasObject) {
	if i < 0 || i >= len(s.screens) {
		return
	}
	sc := s.screens[i]
	row := o.(*fyne.Container)
	row.Objects[0].(*widget.Label).SetText(sc.title)
	row.Objects[1].(*widget.Icon).SetResource(sc.icon)
	hint := ""
	if i < 9 {
		hint = fmt.Sprintf("Ctrl+%d", i+1)
	}
	row.Objects[2].(*widget.Label).SetText(hint)
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

// plural returns "1 conflict" or "3 conflicts".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
