package ui

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
)

// Config configures a Desktop. App, Window, Service and Auth are required;
// the other ports may be nil when the lane has no such thing (no sync, no
// instruments, settings kept elsewhere).
type Config struct {
	App     fyne.App
	Window  fyne.Window
	Service *lane.Service
	Auth    Authenticator
	// Sync is the sync client's view; nil when the lane does not sync.
	Sync SyncView
	// Instruments is the device hub; nil when no instrument is configured.
	Instruments Instruments
	// Settings loads and saves the lane settings; nil hides the editor.
	Settings Settings
	// ImageDecoder decodes stored images for the Images tab and the
	// retinal viewer (cmd wires devices/imaging's); nil decodes JPEG and
	// PNG only.
	ImageDecoder retina.Decoder
	// Clock drives the idle lock and every time shown; the system clock
	// when nil.
	Clock lane.Clock
	// TimeZone is the practice's zone for the times shown (time.Local when
	// nil).
	TimeZone *time.Location
	// LockTimeout is the idle time before the lane locks
	// (DefaultLockTimeout when zero).
	LockTimeout time.Duration
	// Practice is the practice's name, printed on prescriptions.
	Practice string
	// Version is shown by the About dialog.
	Version string
	// Updates, when set, returns a line about software updates (the
	// running version's age, a newer release offered, the last check's
	// failure), shown to administrators on the settings screen; it must
	// not block (it reads a status kept in memory).
	Updates func() string
	// Logf receives diagnostics (never patient data); nil discards them.
	Logf func(format string, args ...any)
}

// DefaultLockTimeout is how long the lane may sit idle before it locks,
// the security design's default (configurable from 2 to 15 minutes).
const DefaultLockTimeout = 5 * time.Minute

const (
	// lockWarning is how long before the idle lock a notice warns.
	lockWarning = 30 * time.Second
	// noticeFor is how long a transient notice stays in the status bar.
	noticeFor = 8 * time.Second
	// appTitle and lockedTitle are the window titles. Neither ever carries
	// patient data.
	appTitle    = "Examlane"
	lockedTitle = "Examlane — locked"
)

// Screen ids the Desktop adds to the standard ones.
const (
	// ScreenSync is the sync conflicts screen.
	ScreenSync = "sync"
)

// Desktop is the lane app's main window: the shell with every screen, the
// chart header, the status bar, the lock screen with the idle lock, the
// keyboard shortcuts and the bridge that brings lane events in.
//
// Its methods, like the Shell's, must be called on the Fyne goroutine
// (from a Fyne callback or inside fyne.Do), except Run. Screens load data
// on background goroutines and apply it with fyne.Do; results that arrive
// after the lane locked are dropped.
type Desktop struct {
	cfg   Config
	svc   *lane.Service
	win   fyne.Window
	clock lane.Clock
	tz    *time.Location
	shell *Shell
	root  *activityLayer

	ctx    context.Context
	cancel context.CancelFunc
	bridge *Bridge
	wg     sync.WaitGroup // background loads in flight
	inline bool           // run loads on the calling goroutine (tests)

	lockView  *lockScreen
	header    *chartHeader
	worklist  *worklistScreen
	pretest   *pretestScreen
	exam      *examScreen
	glasses   *glassesScreen
	settings  *settingsScreen
	syncView  *conflictScreen
	lockables []Lockable

	shortcuts map[string]func()

	// Lock state. locked is true from the start until someone signs in.
	locked       bool
	lockGen      int // incremented at every lock; loads started before are dropped
	lockChain    chan struct{}
	session      lane.Session
	lastActivity time.Time
	lockTimeout  time.Duration
	warned       bool

	noticeUntil time.Time
	instruments map[string]lane.InstrumentState // latest state by profile, from events

	chart *openChart // nil when no chart is open
}

// NewDesktop builds the main window's content for cfg.Window and puts the
// lock screen in it: nobody is signed in yet. It subscribes to the
// service's events at once; call Run to start delivering them.
func NewDesktop(cfg Config) *Desktop {
	if cfg.Clock == nil {
		cfg.Clock = lane.SystemClock{}
	}
	if cfg.TimeZone == nil {
		cfg.TimeZone = time.Local
	}
	if cfg.LockTimeout <= 0 {
		cfg.LockTimeout = DefaultLockTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Desktop{
		cfg: cfg, svc: cfg.Service, win: cfg.Window, clock: cfg.Clock, tz: cfg.TimeZone,
		ctx: ctx, cancel: cancel,
		shortcuts:   map[string]func(){},
		locked:      true,
		lockTimeout: cfg.LockTimeout,
		instruments: map[string]lane.InstrumentState{},
	}
	d.bridge = NewBridge(cfg.Service, d.HandleEvent)

	d.shell = NewShell(cfg.App, cfg.Window)
	if cfg.Version != "" {
		d.shell.SetVersion(cfg.Version)
	}
	d.shell.SetOnConflicts(func() { d.touch(); d.shell.Show(ScreenSync) })

	d.lockView = newLockScreen(d)
	d.header = newChartHeader(d)
	d.worklist = newWorklistScreen(d)
	d.pretest = newPretestScreen(d)
	d.exam = newExamScreen(d)
	d.glasses = newGlassesScreen(d)
	d.settings = newSettingsScreen(d)
	d.syncView = newConflictScreen(d)
	d.lockables = []Lockable{d.header, d.worklist, d.pretest, d.exam, d.glasses, d.settings, d.syncView}

	icons := map[string]fyne.Resource{}
	for _, s := range standardScreens() {
		icons[s.id] = s.icon
	}
	d.shell.AddScreen(ScreenWorklist, "Worklist", icons[ScreenWorklist], d.worklist.view)
	d.shell.AddScreen(ScreenPretest, "Pretest", icons[ScreenPretest], d.pretest.view)
	d.shell.AddScreen(ScreenExam, "Exam", icons[ScreenExam], d.exam.view)
	d.shell.AddScreen(ScreenGlassesCheck, "Glasses check", icons[ScreenGlassesCheck], d.glasses.view)
	d.shell.AddScreen(ScreenSettings, "Settings", icons[ScreenSettings], d.settings.view)
	d.shell.AddScreen(ScreenSync, "Sync", theme.ViewRefreshIcon(), d.syncView.view)

	d.shell.AddNavButton(d.button("Lock (Ctrl+L)", theme.LoginIcon(), func() { d.Lock("manual") }))
	d.shell.AddNavButton(d.button("Set PIN…", theme.AccountIcon(), d.lockView.showSetPIN))
	d.shell.AddNavButton(d.button("End shift", theme.LogoutIcon(), d.EndShift))

	d.shell.SetOnShow(d.onShow)
	d.root = newActivityLayer(d.shell.Content(), d.touch)
	d.installKeys()
	d.refreshStatus()

	d.lockView.showSignIn()
	d.win.SetContent(d.lockView.content)
	d.win.SetTitle(lockedTitle)
	d.lockView.focus()
	return d
}

// Shell returns the desktop's shell.
func (d *Desktop) Shell() *Shell { return d.shell }

// Run delivers lane events to the screens and drives the idle lock and
// transient notices with a one-second tick, until ctx ends. It then stops
// the background loads, waits for them and returns ctx.Err(). Call it once,
// on its own goroutine (cmd starts it with the other services).
func (d *Desktop) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- d.bridge.Run(ctx) }()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			d.cancel()
			<-errc
			d.wg.Wait()
			return ctx.Err()
		case <-t.C:
			fyne.Do(d.Tick)
		}
	}
}

// Tick checks the idle lock and expires transient notices. Run calls it
// every second; tests call it after moving their clock.
func (d *Desktop) Tick() {
	now := d.clock.Now()
	if !d.locked {
		idle := now.Sub(d.lastActivity)
		switch {
		case idle >= d.lockTimeout:
			d.Lock("idle")
		case idle >= d.lockTimeout-lockWarning:
			left := (d.lockTimeout - idle).Round(time.Second)
			d.shell.Notify(fmt.Sprintf("Locking in %d s: move the mouse or press a key to stay signed in", int(left.Seconds())))
			d.warned = true
			d.noticeUntil = time.Time{}
		}
	}
	if !d.noticeUntil.IsZero() && !now.Before(d.noticeUntil) {
		d.shell.Notify("")
		d.noticeUntil = time.Time{}
	}
	d.refreshSync()
}

// touch records user activity: the idle lock restarts from now.
func (d *Desktop) touch() {
	d.lastActivity = d.clock.Now()
	if d.warned {
		d.warned = false
		d.shell.Notify("")
	}
}

// notify shows a transient notice in the status bar. It must not carry
// patient data.
func (d *Desktop) notify(text string) {
	d.shell.Notify(text)
	d.noticeUntil = d.clock.Now().Add(noticeFor)
}

// SetLockTimeout changes the idle time before the lane locks.
func (d *Desktop) SetLockTimeout(t time.Duration) {
	if t > 0 {
		d.lockTimeout = t
	}
}

// LockTimeout returns the idle time before the lane locks.
func (d *Desktop) LockTimeout() time.Duration { return d.lockTimeout }

// Locked reports whether the lock screen is up (also before anyone signed
// in).
func (d *Desktop) Locked() bool { return d.locked }

// Lock locks the lane at once: every screen drops its patient data, the
// chart closes, dialogs close, and the lock screen takes the whole window.
// The service is locked (and the lock audited) in the background. reason
// is "idle", "manual" or "session"; it carries no patient data.
func (d *Desktop) Lock(reason string) {
	if d.locked {
		return
	}
	d.saveWindowSize()
	d.applyLock()
	d.serial(func() error { return d.svc.Lock(d.ctx, reason) }, func(err error) {
		if err != nil {
			d.logf("lock: %v", err)
		}
	})
}

// EndShift signs the user out: the lane locks and the next person signs
// in with password and code.
func (d *Desktop) EndShift() {
	if !d.locked {
		d.saveWindowSize()
		d.applyLock()
	}
	d.session = lane.Session{}
	d.lockView.showSignIn()
	d.serial(func() error { return d.svc.End(d.ctx) }, func(err error) {
		if err != nil {
			d.logf("end shift: %v", err)
		}
	})
}

// applyLock hides everything and shows the lock screen.
func (d *Desktop) applyLock() {
	d.locked = true
	d.lockGen++
	d.warned = false
	c := d.win.Canvas()
	for _, o := range c.Overlays().List() {
		c.Overlays().Remove(o)
	}
	d.closeChart()
	for _, l := range d.lockables {
		l.Lock()
	}
	d.shell.Notify("")
	d.noticeUntil = time.Time{}
	d.shell.Show(ScreenWorklist)
	if s, ok := d.svc.Current(); ok {
		d.session = s
		d.lockView.showResume(s)
	} else {
		d.lockView.showSignIn()
	}
	d.win.SetContent(d.lockView.content)
	d.win.SetTitle(lockedTitle)
	d.lockView.focus()
}

// unlocked shows the lane to the user of sess, who just signed in or
// resumed.
func (d *Desktop) unlocked(sess lane.Session) {
	d.locked = false
	d.session = sess
	d.touch()
	d.restoreWindowSize(sess.User)
	d.win.SetContent(d.root)
	d.win.SetTitle(appTitle)
	d.shell.Show(ScreenWorklist)
	d.worklist.load()
	d.pretest.loadUnassigned()
	d.settings.load()
	d.syncView.load()
	d.refreshStatus()
}

// serial runs op in the background after every earlier serial op has
// finished, then done on the Fyne goroutine. Lock, unlock, sign-in and
// sign-out go through it so that the service sees them in the order the
// person did them.
func (d *Desktop) serial(op func() error, done func(error)) {
	prev := d.lockChain
	next := make(chan struct{})
	d.lockChain = next
	d.run(false, func() func() {
		if prev != nil {
			<-prev
		}
		defer close(next)
		err := op()
		return func() { done(err) }
	})
}

// async runs work in the background and applies the function it returns
// on the Fyne goroutine, unless the lane locked in the meantime: work that
// reads patient data must not put it on screen after a lock.
func (d *Desktop) async(work func() func()) { d.run(true, work) }

// run is async, with dropping of results across a lock optional.
func (d *Desktop) run(dropOnLock bool, work func() func()) {
	gen := d.lockGen
	apply := func(f func()) {
		if f == nil || (dropOnLock && d.lockGen != gen) {
			return
		}
		f()
	}
	if d.inline {
		apply(work())
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		f := work()
		fyne.Do(func() { apply(f) })
	}()
}

// showError tells the person what went wrong. An error saying the lane is
// locked or the session ended locks the screen.
func (d *Desktop) showError(err error) {
	if err == nil {
		return
	}
	if errors.Is(err, lane.ErrLocked) {
		d.Lock("session")
		return
	}
	dialog.ShowError(plainError(errorText(err)), d.win)
}

// logf writes a diagnostic line.
func (d *Desktop) logf(format string, args ...any) {
	if d.cfg.Logf != nil {
		d.cfg.Logf("ui: "+format, args...)
	}
}

// button returns a button whose taps count as activity.
func (d *Desktop) button(label string, icon fyne.Resource, tapped func()) *widget.Button {
	return widget.NewButtonWithIcon(label, icon, func() {
		d.touch()
		tapped()
	})
}

// can reports whether the signed-in user holds p.
func (d *Desktop) can(p lane.Permission) bool { return !d.locked && d.svc.Can(p) }

// hasRole reports whether the signed-in user holds role r.
func (d *Desktop) hasRole(r lane.Role) bool {
	for _, x := range d.session.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// today returns the practice's current date.
func (d *Desktop) today() lane.Date { return lane.DateOf(d.clock.Now().In(d.tz)) }

// installKeys sets the canvas's key handlers and the lane's shortcuts.
func (d *Desktop) installKeys() {
	c := d.win.Canvas()
	c.SetOnTypedKey(d.onTypedKey)
	c.SetOnTypedRune(d.onTypedRune)
	if dc, ok := c.(desktop.Canvas); ok {
		dc.SetOnKeyDown(func(*fyne.KeyEvent) { d.touch() })
	}
	add := func(key fyne.KeyName, mod fyne.KeyModifier, f func()) {
		sc := &desktop.CustomShortcut{KeyName: key, Modifier: mod}
		d.shortcuts[sc.ShortcutName()] = f
		c.AddShortcut(sc, func(fyne.Shortcut) { d.touch(); f() })
	}
	ctrl := fyne.KeyModifierShortcutDefault
	add(fyne.KeyL, ctrl, func() { d.Lock("manual") })
	add(fyne.KeyF, ctrl, func() {
		if !d.locked {
			d.shell.Show(ScreenWorklist)
			d.win.Canvas().Focus(d.worklist.search)
		}
	})
	add(fyne.KeyR, ctrl, func() {
		if !d.locked {
			d.worklist.load()
		}
	})
	// Ctrl+E puts the cursor in the final Rx (right eye) of the open
	// chart's exam: type it, Tab to the left eye, PD, lens, validity and
	// the Save/Sign buttons, all from the keyboard.
	add(fyne.KeyE, ctrl, func() {
		if !d.locked && d.chart != nil {
			d.shell.Show(ScreenExam)
			d.win.Canvas().Focus(d.exam.final[0])
		}
	})
	for i, id := range []string{ScreenWorklist, ScreenPretest, ScreenExam, ScreenGlassesCheck, ScreenSettings, ScreenSync} {
		key := fyne.KeyName(fmt.Sprint(i + 1))
		add(key, ctrl, func() {
			if !d.locked {
				d.shell.Show(id)
			}
		})
	}
}

// onShow refreshes a screen that shows state kept outside the lane when it
// comes on display.
func (d *Desktop) onShow(id string) {
	if d.locked {
		return
	}
	switch id {
	case ScreenSync:
		d.syncView.load()
	case ScreenPretest:
		d.pretest.loadUnassigned()
	}
}

// shortcut runs the lane's handler for s; it implements keyHooks.
func (d *Desktop) shortcut(s fyne.Shortcut) bool {
	f, ok := d.shortcuts[s.ShortcutName()]
	if ok {
		f()
	}
	return ok
}

// onTypedKey handles keys typed while no widget has focus.
func (d *Desktop) onTypedKey(k *fyne.KeyEvent) {
	d.touch()
	if d.locked {
		return
	}
	switch k.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		if d.shell.Current() == ScreenWorklist {
			d.worklist.openSelected()
		}
	case fyne.KeyUp, fyne.KeyDown:
		if d.shell.Current() == ScreenWorklist {
			d.worklist.moveSelection(k.Name == fyne.KeyDown)
		}
	}
}

// onTypedRune handles characters typed while no widget has focus: A
// accepts the first reading waiting for review on the pretest screen.
func (d *Desktop) onTypedRune(r rune) {
	d.touch()
	if d.locked {
		return
	}
	if (r == 'a' || r == 'A') && d.shell.Current() == ScreenPretest {
		d.pretest.acceptFirst()
	}
}

// windowSizeKey is the preference holding a user's window size. User ids
// are staff identifiers, not patient data.
func windowSizeKey(u lane.UserID) string { return "window.size." + string(u) }

// saveWindowSize remembers the window size for the signed-in user.
func (d *Desktop) saveWindowSize() {
	if d.session.User == "" || d.cfg.App == nil {
		return
	}
	s := d.win.Canvas().Size()
	if s.Width < 1 || s.Height < 1 {
		return
	}
	d.cfg.App.Preferences().SetFloatList(windowSizeKey(d.session.User), []float64{float64(s.Width), float64(s.Height)})
}

// restoreWindowSize resizes the window to the size u last left it at.
func (d *Desktop) restoreWindowSize(u lane.UserID) {
	if d.cfg.App == nil {
		return
	}
	v := d.cfg.App.Preferences().FloatList(windowSizeKey(u))
	if len(v) == 2 && v[0] >= 640 && v[1] >= 480 {
		d.win.Resize(fyne.NewSize(float32(v[0]), float32(v[1])))
	}
}

// HandleEvent applies a lane event to the screens. The bridge calls it on
// the Fyne goroutine; tests call it directly.
func (d *Desktop) HandleEvent(e lane.Event) {
	switch e := e.(type) {
	case lane.LockChanged:
		if e.Locked && !d.locked {
			d.applyLock()
		}
	case lane.SyncChanged:
		d.applySync(e.Status)
	case lane.InstrumentChanged:
		d.instruments[e.State.Profile] = e.State
		d.refreshInstruments()
	case lane.CaptureArrived:
		d.onCapture(e.Capture)
	case lane.ImageArrived:
		if !d.locked {
			d.notify(fmt.Sprintf("Image received from %s at %s", instrumentText(e.Image.Instrument), clockText(e.Image.CapturedAt, d.tz)))
			d.onImage(e.Image)
		}
	case lane.MeasurementChanged:
		if !d.locked {
			d.onMeasurement(e.Measurement)
		}
	}
}

// onCapture announces a capture without patient data and hands it to the
// screens.
func (d *Desktop) onCapture(c lane.Capture) {
	if d.locked {
		return // the screens hold nothing; readings wait in the chart or unassigned
	}
	what := "Reading"
	if len(c.Readings) > 0 {
		what = kindText(c.Readings[0])
	} else if c.Image != nil {
		what = "Image"
	}
	where := "for the open chart"
	if c.PatientID == "" {
		where = "unassigned"
	}
	d.notify(fmt.Sprintf("%s received from %s at %s (%s)", what, instrumentText(c.Instrument), clockText(c.ReceivedAt, d.tz), where))
	if d.chart != nil && c.PatientID == d.chart.c.Patient.ID {
		for _, m := range c.Readings {
			d.chart.upsert(m)
		}
		d.chartChanged()
		d.glasses.onCapture(c)
	}
	if c.PatientID == "" {
		d.pretest.loadUnassigned()
		d.exam.images.loadQueued()
	}
}

// onMeasurement updates the open chart with a saved or removed measurement.
func (d *Desktop) onMeasurement(m lane.Measurement) {
	if d.chart == nil || m.PatientID != d.chart.c.Patient.ID {
		return
	}
	d.chart.upsert(m)
	d.chartChanged()
}
