package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/examlane/examlane/cmd/internal/logging"
	"github.com/examlane/examlane/devices/simulator"
	"github.com/examlane/examlane/lane"
)

// Demo mode's trainer controls. A running demo listens on a Unix socket in
// its directory (DEMO/control.sock, 0600) for one-line commands, which
// 'examlane demo measure|outage|status' send:
//
//	measure NAME   the simulated instrument NAME (its name or profile)
//	               takes a reading, as pressing its print button does;
//	               the answer comes when the lane filed it
//	outage on|off  stops or restarts the embedded practice server, to show
//	               the lane working offline and catching up afterwards
//	sync           one sync cycle now (the lane's own cycles run every 30 s)
//	status         the server's and the sync client's state, and the
//	               changes queued in the lane's store
//
// Answers are one or more lines; the last starts with "ok" or "error".
// Nothing in them is patient data: instrument names, counts and states.

// demoControlName is the control socket's name in the demo directory.
const demoControlName = "control.sock"

func init() {
	register(&command{
		Path:    "demo measure",
		Summary: "make a simulated instrument of the running demo take a reading",
		Usage:   "NAME",
		Help: `NAME is an instrument of demo mode: autorefractor, tonometer, lensmeter
or phoropter (or its profile name). Waits until the lane filed the reading
(at most 20 s) and says whether it went to the open chart.`,
		Run: func(ctx context.Context, e *env, _ *flag.FlagSet, args []string) error {
			if len(args) != 1 {
				return usagef("want one instrument NAME")
			}
			return demoControl(ctx, e, "measure "+args[0])
		},
	})
	register(&command{
		Path:    "demo outage",
		Summary: "stop (on) or restart (off) the running demo's practice server",
		Usage:   "on|off",
		Help: `Simulates a practice server outage for training: the lane keeps working
offline, queues its changes and sends them once the server is back.`,
		Run: func(ctx context.Context, e *env, _ *flag.FlagSet, args []string) error {
			if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
				return usagef("want on or off")
			}
			return demoControl(ctx, e, "outage "+args[0])
		},
	})
	register(&command{
		Path:    "demo sync",
		Summary: "run one sync cycle of the running demo now",
		Run: func(ctx context.Context, e *env, _ *flag.FlagSet, args []string) error {
			if len(args) != 0 {
				return usagef("takes no arguments")
			}
			return demoControl(ctx, e, "sync")
		},
	})
	register(&command{
		Path:    "demo status",
		Summary: "print the running demo's server and sync state",
		Help:    "Prints server running|stopped, online|offline, queued N (the lane's store), conflicts N.",
		Run: func(ctx context.Context, e *env, _ *flag.FlagSet, args []string) error {
			if len(args) != 0 {
				return usagef("takes no arguments")
			}
			return demoControl(ctx, e, "status")
		},
	})
}

// demoControl sends cmd to the running demo and prints its answer.
func demoControl(ctx context.Context, e *env, cmd string) error {
	dir, err := demoDir()
	if err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", filepath.Join(dir, demoControlName))
	if err != nil {
		return fmt.Errorf("no running demo in %s (start 'examlane demo' first): %w", dir, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintln(conn, cmd); err != nil {
		return fmt.Errorf("demo control: %w", err)
	}
	sc := bufio.NewScanner(conn)
	last := ""
	for sc.Scan() {
		last = sc.Text()
		fmt.Fprintln(e.Stdout, last)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("demo control: %w", err)
	}
	if !strings.HasPrefix(last, "ok") {
		return errors.New("demo control: the demo refused the command")
	}
	return nil
}

// runControl serves the control socket until ctx ends. It is one of the
// lane's components (b.lane.Extra).
func (b *demoBackend) runControl(ctx context.Context) error {
	path := filepath.Join(b.dir, demoControlName)
	_ = os.Remove(path) // left by a demo that was killed
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", path)
	if err != nil {
		b.log.Warn("demo control socket not available", logging.Err(err))
		return nil // the demo works without it
	}
	_ = os.Chmod(path, 0o600)
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer os.Remove(path)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			b.log.Warn("demo control stopped", logging.Err(err))
			return nil
		}
		b.serveControl(ctx, conn) // one at a time: trainers type slowly
	}
}

// serveControl answers one command on conn and closes it.
func (b *demoBackend) serveControl(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return
	}
	answer := b.control(ctx, strings.Fields(line))
	fmt.Fprint(conn, answer)
}

// control runs one command and returns its answer.
func (b *demoBackend) control(ctx context.Context, f []string) string {
	switch {
	case len(f) == 2 && f[0] == "measure":
		return b.controlMeasure(ctx, f[1])
	case len(f) == 2 && f[0] == "outage" && f[1] == "on":
		if err := b.stopServing(); err != nil {
			return "error: " + err.Error() + "\n"
		}
		// The lane notices at its next attempt; ask for one now so that
		// the status bar shows the outage at once.
		b.sync.Kick()
		return "ok: practice server stopped\n"
	case len(f) == 2 && f[0] == "outage" && f[1] == "off":
		if err := b.serve(); err != nil {
			return "error: " + err.Error() + "\n"
		}
		// A real lane retries after its back-off pause (up to 5 min);
		// the trainer does not want to wait for it.
		b.sync.Kick()
		return "ok: practice server running at " + b.url + "\n"
	case len(f) == 1 && f[0] == "sync":
		if err := b.sync.SyncNow(ctx); err != nil {
			return "error: sync: " + err.Error() + "\n"
		}
		return "ok: synced\n"
	case len(f) == 1 && f[0] == "status":
		st := b.sync.Status()
		queued, err := b.db.PendingCount(ctx)
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
		server, online := "running", "offline"
		if !b.serving() {
			server = "stopped"
		}
		if st.Online {
			online = "online"
		}
		return fmt.Sprintf("server %s\nsync %s\nqueued %d\nconflicts %d\nok\n", server, online, queued, st.Conflicts)
	}
	return "error: unknown command (measure NAME, outage on|off, sync, status)\n"
}

// controlMeasure triggers a simulated reading and waits for the lane to
// file it.
func (b *demoBackend) controlMeasure(ctx context.Context, name string) string {
	var sim *simulator.Simulator
	var prof, display string
	for _, d := range demoInstruments {
		if strings.EqualFold(name, d.name) || name == d.profile {
			sim, prof, display = b.sims[d.profile], d.profile, d.name
		}
	}
	if sim == nil {
		return fmt.Sprintf("error: no instrument %q in the demo (autorefractor, tonometer, lensmeter, phoropter)\n", name)
	}
	events := b.svc.Subscribe(64)
	defer events.Close()
	sim.Measure()
	timeout := time.NewTimer(20 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case e, ok := <-events.C:
			if !ok {
				return "error: the lane stopped\n"
			}
			c, isCapture := e.(lane.CaptureArrived)
			if !isCapture || c.Capture.Instrument.Profile != prof {
				continue
			}
			where := "for the open chart"
			if c.Capture.PatientID == "" {
				where = "unassigned (no chart open)"
			}
			return fmt.Sprintf("ok: %s reading filed %s\n", display, where)
		case <-timeout.C:
			return fmt.Sprintf("error: no reading from the %s within 20 s\n", display)
		case <-ctx.Done():
			return "error: the demo is closing\n"
		}
	}
}

// serve starts serving the practice server on b.addr (a new loopback port
// the first time, the same one after an outage: the lane's URL stays). It
// does nothing when the server is already serving.
func (b *demoBackend) serve() error {
	b.srvMu.Lock()
	defer b.srvMu.Unlock()
	if b.stopServer != nil {
		return nil
	}
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		return err
	}
	b.addr = ln.Addr().String()
	b.url = "https://" + b.addr
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.stopServer, b.serverDone = cancel, done
	go func() { done <- b.srv.ServeTLS(sctx, ln) }() // owned by b: stopServing ends it
	return nil
}

// stopServing stops the practice server (its data stays open) and waits
// for it; it does nothing when the server is not serving.
func (b *demoBackend) stopServing() error {
	b.srvMu.Lock()
	defer b.srvMu.Unlock()
	if b.stopServer == nil {
		return nil
	}
	b.stopServer()
	err := <-b.serverDone
	b.stopServer, b.serverDone = nil, nil
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// serving reports whether the practice server is serving.
func (b *demoBackend) serving() bool {
	b.srvMu.Lock()
	defer b.srvMu.Unlock()
	return b.stopServer != nil
}
