package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/examlane/examlane/cmd/examlane/internal/signin"
	"github.com/examlane/examlane/cmd/examlane/internal/wire"
	"github.com/examlane/examlane/cmd/internal/laneconfig"
	"github.com/examlane/examlane/cmd/internal/logging"
	"github.com/examlane/examlane/cmd/internal/update"
	"github.com/examlane/examlane/cmd/practiced/server"
	"github.com/examlane/examlane/devices"
	"github.com/examlane/examlane/devices/imaging"
	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/devices/simulator"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/auth"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/localdb/seal"
	"github.com/examlane/examlane/syncclient"
	"github.com/examlane/examlane/ui"
)

// Demo mode runs the whole lane on one computer with synthetic data only:
// a practice server (practiced) seeded with a demo practice and served on
// 127.0.0.1 with mutual TLS, the lane enrolled against it, simulated
// instruments on ptys and in a drop folder, and demo staff accounts. Its
// directory is made at the first run and reused afterwards:
//
//	DEMO/practiced/          the practice server's data directory
//	DEMO/lane/               the lane's data directory (store, enrolment)
//	DEMO/dev/                stable names of the simulators' ptys
//	DEMO/drops/tonometer/    the simulated tonometer's export folder
//	DEMO/logs/               the diagnostic log
//	DEMO/demo-accounts.json  the demo accounts, passwords and TOTP secrets (0600)
//
// The lane's store is sealed with a fixed demo passphrase in the store's
// explicit test-passphrase mode: nothing in it is real.

const (
	demoTenant     = "demo"
	demoLocation   = "Main Street Eye Care"
	demoLaneName   = "Lane 1"
	demoReadyName  = ".ready"
	demoBanner     = "DEMO — synthetic data"
	demoPassphrase = "examlane demo: synthetic data only"
)

// demoKDF keeps the demo store's passphrase key quick to derive: the data
// is synthetic and the passphrase is public.
var demoKDF = seal.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

func init() {
	register(&command{
		Path:    "demo",
		Summary: "open the app in demo mode: synthetic practice, local server, simulated instruments",
		Usage:   "[--reset]",
		Help: `Runs the lane against a practice server started inside the app on
127.0.0.1, with a seeded synthetic practice, simulated instruments (an
autorefractor, a tonometer, a lensmeter and a phoropter) and demo staff
accounts. Everything lives in $XDG_DATA_HOME/examlane-demo (default
~/.local/share/examlane-demo), made at the first run and reused later;
--reset wipes it first. Prints the demo accounts; 'examlane demo totp LOGIN'
prints an account's current sign-in code.`,
		Flags: func(fs *flag.FlagSet) {
			fs.Bool("reset", false, "wipe the demo directory and start afresh")
		},
		Run: runDemo,
	})
	register(&command{
		Path:    "demo totp",
		Summary: "print the current sign-in code of a demo account",
		Usage:   "LOGIN",
		Help:    "Only for the synthetic accounts of demo mode (read from the demo directory).",
		Run:     runDemoTOTP,
	})
}

// demoDir returns $XDG_DATA_HOME/examlane-demo or
// ~/.local/share/examlane-demo.
func demoDir() (string, error) {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "examlane-demo"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("demo: no home directory: %w", err)
	}
	return filepath.Join(home, ".local", "share", "examlane-demo"), nil
}

func runDemo(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) != 0 {
		return usagef("takes no arguments")
	}
	dir, err := demoDir()
	if err != nil {
		return err
	}
	reset := fs.Lookup("reset").Value.String() == "true"
	return runWindow(ctx, func(ctx context.Context) (*laneParts, error) {
		b, err := startDemo(ctx, demoOptions{Dir: dir, Reset: reset, Out: e.Stdout, Console: e.Stderr})
		if err != nil {
			return nil, err
		}
		printDemoAccounts(e.Stdout, b)
		return b.parts(), nil
	})
}

func runDemoTOTP(_ context.Context, e *env, _ *flag.FlagSet, args []string) error {
	if len(args) != 1 {
		return usagef("want one LOGIN")
	}
	dir, err := demoDir()
	if err != nil {
		return err
	}
	accts, err := readDemoAccounts(filepath.Join(dir, demoAccountsName))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no demo accounts in %s: run 'examlane demo' first", dir)
	}
	if err != nil {
		return err
	}
	a, ok := accts.find(args[0])
	if !ok {
		return usagef("no demo account %q (see %s)", args[0], filepath.Join(dir, demoAccountsName))
	}
	secret, err := auth.DecodeSecret(a.TOTPSecret)
	if err != nil {
		return err
	}
	code, err := auth.DefaultTOTP().Code(secret, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(e.Stdout, code)
	return nil
}

// printDemoAccounts tells the person at the demo how to sign in.
func printDemoAccounts(w io.Writer, b *demoBackend) {
	fmt.Fprintf(w, "Examlane demo (synthetic data only) in %s\n", b.dir)
	fmt.Fprintf(w, "practice server: %s\n", b.url)
	fmt.Fprintln(w, "demo accounts (password, then the code from 'examlane demo totp LOGIN'):")
	for _, a := range b.accounts.Accounts {
		roles := make([]string, len(a.Roles))
		for i, r := range a.Roles {
			roles[i] = string(r)
		}
		fmt.Fprintf(w, "  %-24s %-28s %-22s password %s\n", a.Login, a.Display, strings.Join(roles, ","), a.Password)
	}
}

// demoOptions configures startDemo.
type demoOptions struct {
	Dir   string
	Reset bool
	// Seed sizes the synthetic practice at the first run (the server's
	// defaults when zero).
	Seed server.SeedOptions
	// Out receives progress lines at the first run; Console, when it is
	// a terminal, the log.
	Out, Console io.Writer
	// SyncInterval is the time between sync cycles (the client's default
	// when zero).
	SyncInterval time.Duration
	// LogLevel is the log's lowest level (info when nil).
	LogLevel slog.Leveler
}

// demoBackend is demo mode without the window: the practice server, the
// lane's store, service and sync client, the simulators and the hub.
type demoBackend struct {
	updates  *update.Checker // the demo's release checker
	dir      string
	url      string
	srv      *server.Server
	db       *localdb.DB
	svc      *lane.Service
	lane     *wire.Lane
	sync     *syncclient.Client
	ins      *wire.Instruments
	cams     *wire.Cameras
	sims     map[string]*simulator.Simulator // by profile name
	auth     *signin.Authenticator
	accounts demoAccounts
	enrolled syncclient.Enrollment
	log      *logging.Logger

	// The embedded server's serving state, guarded by srvMu: stopServer
	// ends the current ServeTLS, whose result arrives on serverDone; both
	// are nil while the server is stopped (a simulated outage).
	srvMu      sync.Mutex
	addr       string // the loopback address the server listens on
	stopServer context.CancelFunc
	serverDone chan error
	ptys       []*simulator.PTY
	closeOnce  sync.Once
}

// startDemo prepares the demo directory (first run or --reset), starts
// the practice server and builds the lane. Run b.lane.Run to run it and
// b.close afterwards.
func startDemo(ctx context.Context, o demoOptions) (b *demoBackend, err error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Reset {
		if err := os.RemoveAll(o.Dir); err != nil {
			return nil, fmt.Errorf("demo: reset: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(o.Dir, demoReadyName)); err != nil {
		// No demo yet, or one whose first run stopped half-way.
		if err := os.RemoveAll(o.Dir); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		fmt.Fprintf(o.Out, "demo: creating the synthetic practice in %s (first run)...\n", o.Dir)
	}
	for _, d := range []string{"", "practiced", "lane", "dev", "drops/tonometer", "logs"} {
		if err := os.MkdirAll(filepath.Join(o.Dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	lopts := logging.Options{Dir: filepath.Join(o.Dir, "logs"), Level: o.LogLevel}
	if f, ok := o.Console.(*os.File); ok && logging.IsTerminal(f) {
		lopts.Console = f
	}
	logger, err := logging.New(lopts)
	if err != nil {
		return nil, fmt.Errorf("demo: log: %w", err)
	}
	b = &demoBackend{dir: o.Dir, log: logger, sims: map[string]*simulator.Simulator{}}
	defer func() {
		if err != nil {
			_ = b.close()
		}
	}()
	if err := b.startServer(ctx, o); err != nil {
		return nil, err
	}
	if err := b.openLane(ctx, o); err != nil {
		return nil, err
	}
	if err := b.startInstruments(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Dir, demoReadyName), []byte("synthetic demo data\n"), 0o600); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return b, nil
}

// startServer initialises and seeds the practice server at the first run,
// then serves it on a loopback port.
func (b *demoBackend) startServer(ctx context.Context, o demoOptions) error {
	sdir := filepath.Join(b.dir, "practiced")
	fresh := false
	if _, err := os.Stat(filepath.Join(b.dir, demoReadyName)); err != nil {
		fresh = true
		if err := server.Init(ctx, sdir, server.InitOptions{Tenant: demoTenant, Name: "Examlane Demo Practice", LocationName: "Head office"}); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	srv, err := server.Open(sdir, server.WithLogger(b.log.Logger.With("component", "practiced")))
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	b.srv = srv
	if fresh {
		rep, err := srv.Seed(ctx, demoTenant, o.Seed)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		fmt.Fprintf(o.Out, "demo: seeded %d synthetic patients, %d appointments today\n", rep.Patients, rep.Appointments)
		sa, err := srv.SeedDemoAccounts(ctx, demoTenant)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		var out demoAccounts
		out.Note = "synthetic demo accounts of examlane demo mode: never use them for real patients"
		for _, a := range sa.Accounts {
			out.Accounts = append(out.Accounts, demoAccount{UserID: a.UserID, Login: a.Login, Display: a.Name,
				Roles: a.Roles, Password: a.Password, TOTPSecret: a.TOTPSecret})
		}
		sort.SliceStable(out.Accounts, func(i, j int) bool { return rolesRank(out.Accounts[i].Roles) < rolesRank(out.Accounts[j].Roles) })
		doc, _ := json.MarshalIndent(out, "", "  ")
		if err := writeFileAtomic(filepath.Join(b.dir, demoAccountsName), append(doc, '\n')); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	b.accounts, err = readDemoAccounts(filepath.Join(b.dir, demoAccountsName))
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	b.addr = "127.0.0.1:0"
	if err := b.serve(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// rolesRank orders accounts technician, optometrist, optician, front desk,
// admin, as the demo prints them.
func rolesRank(rs []lane.Role) int {
	order := []lane.Role{lane.RoleTechnician, lane.RoleOptometrist, lane.RoleOptician, lane.RoleFrontDesk, lane.RoleAdmin}
	best := len(order)
	for _, r := range rs {
		for i, o := range order {
			if r == o && i < best {
				best = i
			}
		}
	}
	return best
}

// openLane opens (or creates) the lane's store, enrols the lane at the
// first run and builds the service and the sync client.
func (b *demoBackend) openLane(ctx context.Context, o demoOptions) error {
	ldir := filepath.Join(b.dir, "lane")
	kdf := demoKDF
	db, err := localdb.Open(ctx, localdb.Config{
		Path: filepath.Join(ldir, localdb.FileName), TestPassphrase: true, KDF: &kdf,
		Passphrase: func() ([]byte, error) { return []byte(demoPassphrase), nil },
	})
	if err != nil {
		return fmt.Errorf("demo: lane store: %w", err)
	}
	b.db = db
	en, err := loadEnrollment(ldir)
	if errors.Is(err, errNotEnrolled) {
		code, _, cerr := b.srv.EnrollCode(ctx, demoTenant, demoLocation, demoLaneName)
		if cerr != nil {
			return fmt.Errorf("demo: %w", cerr)
		}
		if en, err = syncclient.Enroll(ctx, b.url, code, demoLaneName); err != nil {
			return fmt.Errorf("demo: enrol: %w", err)
		}
		err = saveEnrollment(ldir, en)
	}
	if err != nil {
		return fmt.Errorf("demo: enrolment: %w", err)
	}
	b.enrolled = en
	b.svc = lane.NewService(lane.Config{Store: db, Lane: en.LaneName, Location: en.Location, Device: en.LaneID})
	sc, err := en.Config()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	// The server listens on a new port at every run; the pinned CA and
	// the lane certificate stay the same.
	sc.ServerURL = b.url
	sc.Store, sc.Clock, sc.Logf = db, lane.SystemClock{}, logging.Logf(b.log.Logger, "sync")
	sc.Interval = o.SyncInterval
	tokens := &userTokens{}
	sc.Tokens = tokens.Token
	if b.sync, err = syncclient.New(sc); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	// Demo staff sign in like real staff: online against the embedded
	// practice server (password + TOTP), with the offline fallback.
	en.ServerURL = b.url
	if b.auth, err = newAuthenticator(db, &en, laneconfig.Defaults().Session, en.LaneName, lane.SystemClock{},
		logging.Logf(b.log.Logger, "signin")); err != nil {
		return fmt.Errorf("demo: sign-in: %w", err)
	}
	tokens.auth.Store(b.auth)
	b.lane = &wire.Lane{Service: b.svc, Sync: b.sync, OnLock: db.DropCaches, Logf: logging.Logf(b.log.Logger, "wire")}
	if err := startDemoUpdateChecker(b); err != nil {
		return err
	}
	return nil
}

// demoInstruments are the simulated instruments: name, profile and
// whether they sit on a pty (else in a drop folder).
var demoInstruments = []struct{ name, profile string }{
	{"Autorefractor", "nidek-ark1"},
	{"Tonometer", "topcon-ct1p"},
	{"Lensmeter", "nidek-lm1000"},
	{"Phoropter", "nidek-rt5100"},
}

// startInstruments opens a pty per serial simulator, makes the hub that
// listens on them and adds the simulators to the lane's components.
func (b *demoBackend) startInstruments() error {
	set := profile.Builtin()
	var hubIns []devices.Instrument
	var list []wire.Instrument
	for i, d := range demoInstruments {
		p, err := set.Lookup(d.profile)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		// Readings are drawn near the open chart's earlier values.
		src, err := simulator.Synthesize(p, simulator.SynthConfig{Seed: uint64(time.Now().UnixNano()) + uint64(i), Baseline: b.baseline})
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		scfg := simulator.Config{Profile: p, Source: src, Seed: uint64(i + 1), Logf: logging.Logf(b.log.Logger, "simulator")}
		hi := devices.Instrument{Name: d.name, Profile: p}
		wi := wire.Instrument{Name: d.name, Profile: p}
		if p.Transport == profile.TransportFile {
			folder := filepath.Join(b.dir, "drops", strings.ToLower(d.name))
			if err := os.MkdirAll(folder, 0o700); err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			scfg.Folder, hi.Folder, wi.Folder = folder, folder, folder
		} else {
			link := filepath.Join(b.dir, "dev", p.Name)
			pt, err := simulator.OpenPTY(link)
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			b.ptys = append(b.ptys, pt)
			scfg.Link, hi.Port, wi.Port = pt.Master, link, link
		}
		sim, err := simulator.New(scfg)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		b.sims[p.Name] = sim
		wi.Measure = sim.Measure
		hubIns = append(hubIns, hi)
		list = append(list, wi)
		name := d.name
		b.lane.Extra = append(b.lane.Extra, func(ctx context.Context) error {
			if err := sim.Run(ctx); err != nil {
				// A broken simulator is the demo's problem, not the lane's.
				b.log.Warn("simulator stopped", "instrument", name, logging.Err(err))
			}
			return nil
		})
	}
	hub, err := devices.New(devices.Config{Instruments: hubIns, Logf: logging.Logf(b.log.Logger, "devices"), Poll: 300 * time.Millisecond})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	b.lane.Hub = hub
	b.lane.Extra = append(b.lane.Extra, b.runControl)
	b.ins = wire.NewInstruments(list, hub.States, sendRxOnce)
	return b.startCamera()
}

// parts is what the window runs.
func (b *demoBackend) parts() *laneParts {
	settings := wire.NewSettings(demoConfig(b), profile.Builtin(), filepath.Join(b.dir, "lane", "lane.toml"))
	settings.ReadOnly = true
	settings.Enrolment = fmt.Sprintf("demo: enrolled as %s with the in-app practice server", b.enrolled.LaneName)
	return &laneParts{
		lane:   b.lane,
		banner: demoBanner,
		ui: ui.Config{
			Service: b.svc, Auth: b.auth, Sync: &wire.SyncView{Client: b.sync, Store: b.db, Service: b.svc, Lane: b.enrolled.LaneName, Device: b.enrolled.LaneID},
			Instruments: wire.WithCameras(b.ins, b.cams), Settings: settings, Practice: b.enrolled.TenantName,
			Version: versionString() + " (" + commit + ") demo", Logf: logging.Logf(b.log.Logger, "ui"),
			ImageDecoder: imaging.New(imaging.Config{}).Image, Updates: updateNotice(b.updates, time.Now),
		},
		close: b.close,
		log:   b.log.Logger,
	}
}

// close stops the server and closes the store, the ptys and the log. Call
// it after b.lane.Run returned.
func (b *demoBackend) close() error {
	var errs []error
	b.closeOnce.Do(func() {
		for _, p := range b.ptys {
			errs = append(errs, p.Close())
		}
		if b.db != nil {
			errs = append(errs, b.db.Close())
		}
		errs = append(errs, b.stopServing())
		if b.srv != nil {
			errs = append(errs, b.srv.Close())
		}
		errs = append(errs, b.log.Close())
	})
	return errors.Join(errs...)
}

// demoConfig is demo mode's configuration as the settings screen shows it.
func demoConfig(b *demoBackend) *laneconfig.Config {
	c := laneconfig.Defaults()
	c.Lane.Name, c.Lane.Location, c.Lane.Demo = b.enrolled.LaneName, demoLocation, true
	c.Server.URL = b.url
	c.Data.Dir = filepath.Join(b.dir, "lane")
	for _, x := range b.ins.List() {
		in := laneconfig.Instrument{Name: x.Name, Profile: x.Profile}
		if x.Kind == "tonometer" {
			in.Folder = x.Port
		} else {
			in.Port = x.Port
		}
		c.Instruments = append(c.Instruments, in)
	}
	c.Cameras = demoCameras(b)
	return c
}
