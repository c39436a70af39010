package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/assets"
	"github.com/examlane/examlane/cmd/examlane/internal/wire"
	"github.com/examlane/examlane/cmd/internal/laneconfig"
	"github.com/examlane/examlane/cmd/internal/logging"
	"github.com/examlane/examlane/cmd/internal/update"
	"github.com/examlane/examlane/devices"
	"github.com/examlane/examlane/devices/codec/nidekrt"
	"github.com/examlane/examlane/devices/imaging"
	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/devices/transport"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/syncclient"
	"github.com/examlane/examlane/ui"
)

// laneParts is everything behind the window: the running lane, what the
// desktop needs besides the window, and how to close the store once every
// component stopped. Real mode (buildLane) and demo mode (buildDemo) make
// one.
type laneParts struct {
	lane *wire.Lane
	// ui is the desktop's configuration without App and Window.
	ui ui.Config
	// banner, when set, is shown above every screen, the lock screen
	// included (demo mode's "DEMO — synthetic data").
	banner string
	// close releases what the parts hold (the store, the demo server),
	// after lane.Run returned.
	close func() error
	log   *slog.Logger
}

// fatalScreen is an error that the app shows full-screen instead of
// exiting: the lane cannot open its data, and staff must see why.
type fatalScreen struct {
	title string
	err   error
}

func (f *fatalScreen) Error() string { return f.title + ": " + f.err.Error() }
func (f *fatalScreen) Unwrap() error { return f.err }

// runWindow opens the window over the parts build returns and runs the
// lane beside it until the window closes or ctx ends; it then stops every
// component, waits for them and closes the parts. It must be called on
// the main goroutine. A build error that is a *fatalScreen is shown in the
// window; others are returned before any window opens.
func runWindow(ctx context.Context, build func(ctx context.Context) (*laneParts, error)) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	parts, err := build(runCtx)
	var fatal *fatalScreen
	if err != nil && !errors.As(err, &fatal) {
		return err
	}

	a := app.NewWithID(appID)
	a.SetIcon(assets.Icon)
	a.Settings().SetTheme(ui.NewTheme(theme.VariantDark))
	w := a.NewWindow("Examlane")
	w.Resize(fyne.NewSize(1280, 800))
	w.SetMaster()

	// An interrupt or termination signal closes the app like the window's
	// close button does. Quit runs at most once and never after the
	// window's loop ended (GLFW is gone then): a second request, or one
	// arriving while the lane shuts down, is ignored.
	var quitOnce sync.Once
	quit := func() { quitOnce.Do(func() { fyne.Do(a.Quit) }) }
	stopped := make(chan struct{})
	var stopOnce sync.Once
	loopEnded := func() {
		quitOnce.Do(func() {})
		stopOnce.Do(func() { close(stopped) })
	}
	defer loopEnded()
	go func() {
		select {
		case <-ctx.Done():
			quit()
		case <-stopped:
		}
	}()

	if fatal != nil {
		w.SetContent(messageScreen(fatal.title, fatal.err.Error()))
		w.ShowAndRun()
		return nil
	}

	cfg := parts.ui
	cfg.App = a
	cfg.Window = w
	if parts.banner != "" {
		cfg.Window = &bannerWindow{Window: w, banner: parts.banner}
	}
	d := ui.NewDesktop(cfg)
	parts.lane.Extra = append(parts.lane.Extra, d.Run)

	var wg sync.WaitGroup
	var runErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		runErr = parts.lane.Run(runCtx)
		if runCtx.Err() != nil && errors.Is(runErr, context.Canceled) {
			runErr = nil // stopped because the window closed
		}
		if runErr != nil && runCtx.Err() == nil {
			// the lane failed on its own: close the window
			parts.log.Error("lane stopped", logging.Err(runErr))
			quit()
		}
	}()
	if parts.log != nil {
		parts.log.Info("window open", "startup_ms", time.Since(processStart).Milliseconds())
	}
	a.Lifecycle().SetOnStarted(signalReady)
	w.ShowAndRun()
	loopEnded()
	cancel()
	wg.Wait()
	return errors.Join(runErr, parts.close())
}

// processStart is when the process started, for the startup time logged.
var processStart = time.Now()

// messageScreen is a full-window notice for a lane that cannot start.
func messageScreen(title, text string) fyne.CanvasObject {
	t := canvas.NewText(title, theme.Color(theme.ColorNameError))
	t.TextSize = 24
	t.TextStyle.Bold = true
	body := widget.NewLabel(text)
	body.Wrapping = fyne.TextWrapWord
	help := widget.NewLabel("Close this window, fix the problem and start Examlane again. " +
		"'examlane db --help' lists the recovery commands.")
	help.Wrapping = fyne.TextWrapWord
	return container.NewPadded(container.NewVBox(t, body, help))
}

// bannerWindow puts a banner above whatever the desktop shows, the lock
// screen included, and marks the title.
type bannerWindow struct {
	fyne.Window
	banner string
}

// SetContent shows c under the banner.
func (b *bannerWindow) SetContent(c fyne.CanvasObject) {
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameWarning))
	t := canvas.NewText(b.banner, theme.Color(theme.ColorNameBackground))
	t.TextStyle.Bold = true
	t.Alignment = fyne.TextAlignCenter
	bar := container.NewStack(bg, container.NewPadded(t))
	b.Window.SetContent(container.NewBorder(bar, nil, nil, nil, c))
}

// SetTitle marks the title with the banner.
func (b *bannerWindow) SetTitle(s string) { b.Window.SetTitle(s + " — " + b.banner) }

// buildLane assembles the lane from its configuration: logging, the
// store (created at first start), the service, the instruments, the sync
// client when enrolled and the backups.
func buildLane(ctx context.Context, e *env) (parts *laneParts, err error) {
	res, err := laneconfig.Load(laneconfig.Options{File: e.Config, DataDir: e.DataDir})
	if err != nil {
		return nil, err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(e.Stderr, "examlane: configuration: %s\n", w)
	}
	cfg := res.Config
	logDir := cfg.Log.Dir
	if logDir == "" {
		logDir = res.Paths.LogDir
	}
	level, _ := logging.ParseLevel(cfg.Log.Level)
	var console *os.File
	if logging.IsTerminal(os.Stderr) {
		console = os.Stderr
	}
	lopts := logging.Options{Dir: logDir, Level: level, MaxSize: int64(cfg.Log.MaxSizeMiB) << 20, MaxFiles: cfg.Log.MaxFiles}
	if console != nil {
		lopts.Console = console
	}
	logger, err := logging.New(lopts)
	if err != nil {
		return nil, fmt.Errorf("log: %w", err)
	}
	log := logger.Logger
	for _, w := range res.Warnings {
		log.Warn("configuration", "warning", w)
	}
	var closers []func() error
	closeAll := func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		return errors.Join(append(errs, logger.Close())...)
	}
	defer func() {
		if err != nil {
			_ = closeAll()
		}
	}()

	dataDir := cfg.Data.Dir
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, &fatalScreen{"The lane's data folder cannot be created", err}
	}
	dcfg := localdb.Config{Path: filepath.Join(dataDir, localdb.FileName), Keychain: dbKeychain(),
		PassphraseFallback: cfg.Data.KeyMode == laneconfig.KeyModePassphraseFallback}
	if pass, ok := localdb.TestPassphraseFromEnv(); ok {
		dcfg.TestPassphrase = true
		dcfg.Passphrase = func() ([]byte, error) { return pass, nil }
	} else {
		dcfg.Passphrase = func() ([]byte, error) { return terminalPassphrase(e) }
	}
	db, err := localdb.Open(ctx, dcfg)
	if err != nil {
		log.Error("database not opened", logging.Err(err))
		return nil, &fatalScreen{"Patient data cannot be opened on this lane", err}
	}
	closers = append(closers, db.Close)
	log.Info("database open", "key_source", db.KeySource().Describe())
	// Unwrapping the data key with the passphrase (Argon2id, 64 MiB) left
	// that much garbage; give it back now rather than idle with it.
	debug.FreeOSMemory()

	en, enErr := loadEnrollment(dataDir)
	if errors.Is(enErr, errNotEnrolled) && cfg.Server.URL != "" && cfg.Server.EnrolmentCode != "" {
		name := cfg.Lane.Name
		ectx, cancel := context.WithTimeout(ctx, 30*time.Second)
		en, enErr = syncclient.Enroll(ectx, cfg.Server.URL, cfg.Server.EnrolmentCode, name)
		cancel()
		if enErr == nil {
			enErr = saveEnrollment(dataDir, en)
		}
		if enErr != nil {
			log.Warn("enrolment with the configured code failed", logging.Err(enErr))
		}
	}
	host, _ := os.Hostname()
	scfg := lane.Config{Store: db, Lane: cfg.Lane.Name, Location: cfg.Lane.Location, Device: host}
	enrolment := "not enrolled (run 'examlane enroll')"
	if enErr == nil {
		scfg.Location, scfg.Device = en.Location, en.LaneID
		if scfg.Lane == "" {
			scfg.Lane = en.LaneName
		}
		enrolment = fmt.Sprintf("enrolled as %s with %s until %s", en.LaneName, en.ServerURL, en.CertExpires.Format("2006-01-02"))
	} else if !errors.Is(enErr, errNotEnrolled) {
		log.Warn("enrolment unreadable; the lane works alone", logging.Err(enErr))
	}
	svc := lane.NewService(scfg)
	wl := &wire.Lane{Service: svc, OnLock: db.DropCaches, Logf: logging.Logf(log, "wire")}

	var list []wire.Instrument
	var hubIns []devices.Instrument
	for _, in := range cfg.Instruments {
		p, err := res.Profiles.Lookup(in.Profile)
		if err != nil {
			log.Warn("instrument skipped", "instrument", in.Name, logging.Err(err))
			continue
		}
		p = in.Apply(p)
		hubIns = append(hubIns, devices.Instrument{Name: in.Name, Profile: p})
		list = append(list, wire.Instrument{Name: in.Name, Profile: p, Port: p.Port, Folder: p.Folder})
	}
	if len(hubIns) > 0 {
		hub, err := devices.New(devices.Config{Instruments: hubIns, Logf: logging.Logf(log, "devices")})
		if err != nil {
			return nil, &fatalScreen{"The instruments in the lane configuration are not usable", err}
		}
		wl.Hub = hub
		_ = hub
	}
	var instruments ui.Instruments
	if len(list) > 0 {
		instruments = wire.NewInstruments(list, wl.Hub.States, sendRxOnce)
	}
	if len(cfg.Cameras) > 0 {
		// Camera pictures go to the open chart's visit, or wait to be
		// assigned; the cameras count as instruments in the status bar.
		cams, err := wire.NewCameras(wire.CamerasConfig{Service: svc, Cameras: wire.ConfigCameras(cfg.Cameras),
			StateDir: dataDir, Logf: logging.Logf(log, "camera")})
		if err != nil {
			return nil, &fatalScreen{"The cameras in the lane configuration are not usable", err}
		}
		wl.Extra = append(wl.Extra, cams.Run)
		instruments = wire.WithCameras(instruments, cams)
	}

	var syncView ui.SyncView
	var updates *update.Checker
	tokens := &userTokens{}
	if enErr == nil {
		sc, err := en.Config()
		if err == nil {
			sc.Store, sc.Clock, sc.Logf = db, lane.SystemClock{}, logging.Logf(log, "sync")
			sc.Tokens = tokens.Token
			var c *syncclient.Client
			if c, err = syncclient.New(sc); err == nil {
				wl.Sync = c
				syncView = &wire.SyncView{Client: c, Store: db, Service: svc, Lane: scfg.Lane, Device: scfg.Device}
			}
		}
		if err != nil {
			log.Warn("sync client not started", logging.Err(err))
		}
		updates = startUpdateChecker(wl, en, cfg.Updates, log)
	}
	if cfg.Backup.Enabled {
		dir := cfg.Backup.Dir
		if dir == "" {
			dir = filepath.Join(dataDir, "backups")
		}
		if err := os.MkdirAll(dir, 0o700); err == nil {
			wl.Backups = &localdb.BackupScheduler{DB: db, Dir: dir, Every: time.Duration(cfg.Backup.Every), Keep: cfg.Backup.Keep}
		} else {
			log.Warn("backups off: folder not usable", logging.Err(err))
		}
	}
	file := e.Config
	if file == "" {
		file = res.Paths.ConfigFile
	}
	settings := wire.NewSettings(cfg, res.Profiles, file)
	settings.Enrolment = enrolment

	uic := ui.Config{
		Service: svc, Sync: syncView, Instruments: instruments, Settings: settings,
		LockTimeout: time.Duration(cfg.Session.LockTimeout), Version: versionString() + " (" + commit + ")",
		Logf: logging.Logf(log, "ui"), ImageDecoder: imaging.New(imaging.Config{}).Image,
	}
	if enErr == nil {
		uic.Practice = en.TenantName
	}
	if updates != nil {
		uic.Updates = updateNotice(updates, time.Now)
	}
	var enrolled *syncclient.Enrollment
	if enErr == nil {
		enrolled = &en
	}
	auth, err := newAuthenticator(db, enrolled, cfg.Session, scfg.Lane, lane.SystemClock{}, logging.Logf(log, "signin"))
	if err != nil {
		return nil, &fatalScreen{"Sign-in is not available on this lane", err}
	}
	uic.Auth = auth
	tokens.auth.Store(auth)
	return &laneParts{lane: wl, ui: uic, close: closeAll, log: log}, nil
}

// terminalPassphrase asks for the practice passphrase on standard input
// when it is a terminal; a desktop start without one cannot ask.
func terminalPassphrase(e *env) ([]byte, error) {
	f, ok := e.Stdin.(*os.File)
	if !ok || !logging.IsTerminal(f) {
		return nil, fmt.Errorf("start examlane from a terminal to type it: %w", localdb.ErrPassphraseNeeded)
	}
	fmt.Fprint(e.Stderr, "Practice passphrase: ")
	line, err := bufio.NewReader(f).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return nil, fmt.Errorf("no passphrase typed (%v): %w", err, localdb.ErrPassphraseNeeded)
	}
	return []byte(line), nil
}

// sendRxOnce loads rx into a NIDEK RT phoropter as its AR values, with a
// one-shot direct send on its port (the hub keeps reading the port; direct
// mode needs no answer from the phoropter).
func sendRxOnce(ctx context.Context, p profile.Profile, port string, rx lane.RxPair) error {
	frame, err := nidekrt.Encode(nidekrt.Load{ARRight: &rx.Right, ARLeft: &rx.Left})
	if err != nil {
		return fmt.Errorf("%v: %w", err, lane.ErrInvalid)
	}
	cfg := p.SerialConfig()
	cfg.WaitDSR, cfg.WaitCTS = false, false
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := transport.OpenSerial(ctx, port, cfg)
	if err != nil {
		return fmt.Errorf("open %s: %v: %w", port, err, lane.ErrUnavailable)
	}
	defer conn.Close()
	_, err = deliver(ctx, conn, nidekrt.NewSender(nidekrt.SenderConfig{Mode: nidekrt.ModeDirect}, frame))
	return err
}
