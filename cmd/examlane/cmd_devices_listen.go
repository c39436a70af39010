package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/examlane/examlane/devices"
	"github.com/examlane/examlane/devices/codec"
	_ "github.com/examlane/examlane/devices/codec/all" // every instrument dialect
	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/devices/usb"
)

func init() {
	register(&command{
		Path:    "devices listen",
		Summary: "open an instrument and print each capture as a JSON line",
		Usage:   "--profile NAME [--port PATH | --folder DIR] [--once] [--timeout D] [--profiles FILE]",
		Help: `Opens the instrument described by the profile (its serial port, the USB-serial
bridge its profile names, or its drop folder) and prints every transmission it
decodes as one JSON line, the same object 'examlane devices parse' prints
(with "file" set to the port or folder).

Everything else goes to standard error, one line each: the connection state
("connected", "disconnected: <why>"), and every frame that was refused and why
(bad checksum, frame cut short, garbage from a wrong baud rate). A refused
frame never produces a JSON line. Unplugging the instrument does not end the
command: it reconnects when the port comes back.

--once exits after the first capture. --timeout gives up (exit 1) when no
capture arrived in time. Ctrl-C ends it (exit 0).

Examples:
  examlane devices listen --profile nidek-rt5100 --port /dev/ttyUSB0
  examlane devices listen --profile topcon-kr1 --folder /srv/exports/kr1 --once`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("profile", "", "instrument profile `NAME` (see 'examlane devices profiles')")
			fs.String("port", "", "serial port `PATH` (overrides the profile's)")
			fs.String("folder", "", "drop folder `DIR` for file-drop profiles (overrides the profile's)")
			fs.Bool("once", false, "exit after the first capture")
			fs.Duration("timeout", 0, "give up after this long without a capture (0: never)")
			fs.String("profiles", "", "practice profile `FILE` (default: instruments.toml in the data directory)")
		},
		Run: runDevicesListen,
	})
}

func runDevicesListen(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) > 0 {
		return usagef("takes no arguments")
	}
	name := fs.Lookup("profile").Value.String()
	if name == "" {
		return usagef("--profile is required")
	}
	set, err := loadProfiles(e, fs.Lookup("profiles").Value.String())
	if err != nil {
		return err
	}
	p, err := set.Lookup(name)
	if err != nil {
		return usagef("%v", err)
	}
	in := devices.Instrument{Profile: p, Port: fs.Lookup("port").Value.String(), Folder: fs.Lookup("folder").Value.String()}
	cfg := devices.Config{
		Instruments: []devices.Instrument{in},
		Logf: func(format string, args ...any) {
			fmt.Fprintf(e.Stderr, "examlane devices listen: "+format+"\n", args...)
		},
	}
	switch {
	case p.Transport == profile.TransportFile:
		if in.Folder == "" && p.Folder == "" {
			return usagef("profile %s reads a drop folder: give --folder", p.Name)
		}
	case in.Port == "" && p.Port == "":
		if len(p.USB) == 0 {
			return usagef("profile %s names no port and no USB ids: give --port", p.Name)
		}
		sc := usb.NewScanner(cfg.Logf)
		defer sc.Close()
		cfg.Ports = sc
	}
	h, err := devices.New(cfg)
	if err != nil {
		return err
	}
	once := fs.Lookup("once").Value.String() == "true"
	timeout := fs.Lookup("timeout").Value.(flag.Getter).Get().(time.Duration)

	events, unsubscribe := h.Subscribe()
	defer unsubscribe()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	defer func() { cancel(); <-done }()

	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	for {
		select {
		case <-expired:
			return fmt.Errorf("no capture within %v", timeout)
		case ev, ok := <-events:
			if !ok {
				return nil // the hub stopped: Ctrl-C
			}
			switch ev.Kind {
			case devices.EventCapture:
				file := ev.State.Port
				if err := codec.WriteReport(e.Stdout, codec.NewReport(file, ev.Capture)); err != nil {
					return err
				}
				if once {
					return nil
				}
			case devices.EventRejected:
				what := "rejected"
				if len(ev.Raw) > 0 {
					what = fmt.Sprintf("rejected %d bytes", len(ev.Raw))
				}
				fmt.Fprintf(e.Stderr, "examlane devices listen: %s: %s: %s\n", ev.Instrument, what, ev.Reason)
			case devices.EventState:
				s := ev.State
				line := s.State
				switch {
				case s.State == devices.StateConnected || s.State == devices.StateReceiving:
					line += " on " + s.Port
				case s.LastError != "":
					line += ": " + s.LastError
				}
				fmt.Fprintf(e.Stderr, "examlane devices listen: %s: %s\n", ev.Instrument, line)
			}
		case <-ctx.Done():
			return nil // Ctrl-C
		}
	}
}
