package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// This file is how the lane notices that someone is using it, so that it
// locks only after a real idle period.
//
// Fyne 2.7 has no window-wide activity hook: a key goes to the focused
// widget, or to the canvas's handlers only when nothing has focus, and a
// pointer event goes to the deepest object under the pointer that takes
// it. So activity is gathered from four places:
//
//   - the canvas's OnTypedKey, OnTypedRune and (desktop) OnKeyDown
//     handlers, for keys typed while nothing has focus;
//   - the canvas shortcuts (Ctrl+L, Ctrl+1...), each of which reports;
//   - entry, the text entry every screen uses, which reports its keys and
//     passes the lane's shortcuts on (a focused widget.Entry swallows
//     them);
//   - activityLayer, a transparent widget at the root of the window that
//     sees pointer movement and taps wherever no deeper widget takes them,
//     and a MouseOut whenever the pointer enters one. Buttons report their
//     taps through Desktop.button.

// keyHooks is what an entry reports to.
type keyHooks interface {
	// touch records activity.
	touch()
	// shortcut runs the lane's handler for s and reports whether there is
	// one.
	shortcut(s fyne.Shortcut) bool
}

// activityLayer wraps the window content and reports pointer activity
// that reaches it.
type activityLayer struct {
	widget.BaseWidget
	content    fyne.CanvasObject
	onActivity func()
}

var (
	_ desktop.Hoverable      = (*activityLayer)(nil)
	_ fyne.Tappable          = (*activityLayer)(nil)
	_ fyne.SecondaryTappable = (*activityLayer)(nil)
	_ fyne.Shortcutable      = (*entry)(nil)
	_ fyne.Focusable         = (*entry)(nil)
)

// newActivityLayer returns content wrapped in a layer that calls
// onActivity on pointer movement and taps.
func newActivityLayer(content fyne.CanvasObject, onActivity func()) *activityLayer {
	a := &activityLayer{content: content, onActivity: onActivity}
	a.ExtendBaseWidget(a)
	return a
}

// CreateRenderer shows the wrapped content.
func (a *activityLayer) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(a.content)
}

// MouseIn reports activity.
func (a *activityLayer) MouseIn(*desktop.MouseEvent) { a.onActivity() }

// MouseMoved reports activity.
func (a *activityLayer) MouseMoved(*desktop.MouseEvent) { a.onActivity() }

// MouseOut reports activity: the pointer moved onto a widget.
func (a *activityLayer) MouseOut() { a.onActivity() }

// Tapped reports activity.
func (a *activityLayer) Tapped(*fyne.PointEvent) { a.onActivity() }

// TappedSecondary reports activity.
func (a *activityLayer) TappedSecondary(*fyne.PointEvent) { a.onActivity() }

// entry is the text entry of every screen: a widget.Entry that reports
// typing as activity and lets the lane's shortcuts through while it has
// focus.
type entry struct {
	widget.Entry
	keys keyHooks
}

// newEntry returns a one-line entry reporting to keys.
func newEntry(keys keyHooks, placeholder string) *entry {
	e := &entry{keys: keys}
	e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip)
	e.PlaceHolder = placeholder
	e.ExtendBaseWidget(e)
	return e
}

// newMultiLineEntry returns a multi-line, word-wrapping entry.
func newMultiLineEntry(keys keyHooks, placeholder string) *entry {
	e := &entry{keys: keys}
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	e.PlaceHolder = placeholder
	e.ExtendBaseWidget(e)
	return e
}

// TypedRune records activity and types the rune.
func (e *entry) TypedRune(r rune) {
	e.keys.touch()
	e.Entry.TypedRune(r)
}

// TypedKey records activity and handles the key.
func (e *entry) TypedKey(k *fyne.KeyEvent) {
	e.keys.touch()
	e.Entry.TypedKey(k)
}

// TypedShortcut runs the lane's shortcut when it has one, else the
// entry's own (copy, paste, select all...).
func (e *entry) TypedShortcut(s fyne.Shortcut) {
	e.keys.touch()
	if e.keys.shortcut(s) {
		return
	}
	e.Entry.TypedShortcut(s)
}
