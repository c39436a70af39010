// Package ui is Examlane's desktop user interface, built with Fyne.
//
// The shell (NewShell) lays out the main window: navigation on the left, the
// current screen in the middle under the chart header, and a status bar at
// the bottom. Screens are added with Shell.AddScreen; each is a function
// that builds its content the first time it is shown. The look is the
// Examlane theme (NewTheme): a dim palette for darkened exam lanes, with a
// light variant for bright rooms.
//
// Desktop (NewDesktop) is the lane app proper. It puts every screen into a
// shell and owns the lock:
//
//   - Lock screen (lock.go): shown from the start and whenever the lane
//     locks; it shows no patient data, and the window title says
//     "Examlane — locked". A start-of-shift sign-in (user, password, code)
//     or, for the locked session's user, a PIN. Signing in as someone else
//     ends the locked session. The lane locks after an idle time (5 minutes
//     by default, from the injected clock; see activity.go for what counts
//     as activity), on Ctrl+L, and from the Lock button; every screen is a
//     Lockable and drops its data, and the open chart closes.
//   - Worklist (worklist.go): today's appointments, filtered by status and
//     searched by name or MRN (Ctrl+F); Enter or a double-click opens a
//     chart through lane.Service.OpenChart, and a chart off today's schedule
//     asks for a break-glass reason.
//   - Chart header (chartheader.go): the open chart's patient, alerts, last
//     visit and a "DEMO — synthetic data" badge.
//   - Pretest (pretest.go): instruments and their state, readings as they
//     arrive (flagged against the last visit, see lastvisit.go for the
//     thresholds) with Accept (A), Re-take and Other chart, unassigned
//     captures, and readings typed by hand (manual.go).
//   - Exam (exam.go): the refraction grid with copy-forward, trends over
//     visits (xwidget.Trend), signing the exam and the final Rx, addenda, and
//     sending the Rx to a phoropter.
//   - Glasses check (glasses.go): the ANSI Z80.1 verification of finished
//     glasses, the dispensing record, and the Rx as a PDF (package rxpdf),
//     audited before the file is written.
//   - Status bar (status.go) and sync conflicts (conflicts.go), settings
//     (settings.go).
//
// What the screens need beyond lane.Service is declared here as small
// interfaces that cmd implements: Authenticator, SyncView, Instruments and
// Settings (ports.go). ui/uitest has in-memory fakes of them and a seeded
// synthetic practice for tests.
//
// Keyboard: Ctrl+1 to Ctrl+6 show the screens, Ctrl+F searches the
// worklist, Ctrl+R reloads it, Enter opens the selected chart, A accepts
// the first reading waiting for review, Ctrl+L locks. Labels and buttons
// name their shortcuts.
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
// Screens load through the Desktop's background runner: the work runs on
// its own goroutine and its result is applied with fyne.Do, and dropped if
// the lane locked in the meantime. Lane events enter only through Bridge
// (bridge.go), which ranges over a lane.Subscription and applies each event
// with fyne.Do; Desktop.Run starts it.
//
// Methods of Shell, Desktop and the screens follow the first rule: call them
// from a Fyne callback or inside fyne.Do. Builds without the migrated_fynedo
// tag (go run, go test, make build) keep Fyne's thread checker on; it reports
// a violation as "*** Error in Fyne call thread". Treat such a line as a bug.
package ui
