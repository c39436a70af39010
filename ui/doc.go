// Package ui is Examlane's desktop user interface, built with Fyne.
//
// The shell (NewShell) lays out the main window: navigation on the left, the
// current screen in the middle and a status bar at the bottom. Screens are
// added with Shell.AddScreen; each is a function that builds its content the
// first time it is shown. The look is the Examlane theme (NewTheme): a dim
// palette for darkened exam lanes, with a light variant for bright rooms.
//
// Only ui, assets and cmd import Fyne: the domain (lane) and the adapters
// (devices, localdb, syncclient) know nothing about it.
//
// # Threading
//
// Fyne runs every event handler and callback on one goroutine, and widgets
// may only be touched from it. The rule in this package:
//
//   - Code running in a Fyne callback (a tap, a selection, a timer set up by
//     Fyne) may touch widgets directly, but must not block: no I/O, no waiting
//     on a channel or a lock that a background goroutine holds.
//   - Code running on any other goroutine (a device reading, a sync result, a
//     database query started with go) touches widgets only inside fyne.Do, or
//     fyne.DoAndWait when it needs a value back. Do the work first, then apply
//     the result in one fyne.Do call.
//
// Methods of Shell and of the screens follow the first rule: call them from a
// Fyne callback or inside fyne.Do. Builds without the migrated_fynedo tag
// (go run, go test, make build) keep Fyne's thread checker on; it reports a
// violation as "*** Error in Fyne call thread". Treat such a line as a bug.
package ui
