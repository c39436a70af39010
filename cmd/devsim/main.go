// Command devsim simulates an exam-lane instrument so the lane can be
// developed, demonstrated and tested without hardware.
//
// For a serial instrument it opens a pseudo-terminal pair and prints the
// device path the lane should open (or drives a real serial port with
// --port); for a file-drop instrument it writes export files into --folder.
// It then sends measurements in the profile's dialect and link settings:
// synthesised plausible readings, or the frames of a saved capture
// (--replay). A measurement goes out for every line typed on standard input
// (an empty line or "m"), for every SIGUSR1, every --interval, and when the
// lane asks (the SD command of a NIDEK ARK). It honours the lane's
// handshakes: it answers RS with SD as an RT phoropter does (unless --no-sd),
// waits for ACK and resends on NAK for ACK/NAK dialects (DCS), and on a real
// port with modem lines holds frames until the lane raises DTR.
//
// Usage:
//
//	devsim --profile NAME [flags]
//
// Faults (--noise, --split, --delay-mid-frame, --drop, --bad-checksum,
// --garble) let the lane's error handling be exercised; each sent line
// (with --json, a JSON object) says what a correct receiver must do with
// the transmission: decode it intact, or reject it.
//
// Ptys ignore baud rate, parity and stop bits and have no modem lines: the
// profile's link settings are honoured by framing only (7-bit dialects may
// carry bit 7 as a parity bit, which the lane must strip).
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/examlane/examlane/devices/codec/all"
	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/devices/simulator"
	"github.com/examlane/examlane/devices/transport"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	usr1 := make(chan os.Signal, 1)
	notifyMeasureSignal(usr1)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, usr1)
	stop()
	os.Exit(code)
}

const usage = `Usage: devsim --profile NAME [flags]

Simulates an instrument. Serial profiles get a pty (its path is printed
first, as "device: PATH"); file-drop profiles write into --folder.
Type Enter (or "m") to send a measurement, "q" to quit; SIGUSR1 also
sends one.

Flags:
`

type options struct {
	profile, profiles, port, link, folder, replay string
	seed                                          uint64
	interval, delay                               time.Duration
	count, noise, split, every                    int
	drop, badChecksum, garble, noSD, jsonOut      bool
	quitAfter                                     time.Duration
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, usr1 <-chan os.Signal) int {
	fs := flag.NewFlagSet("devsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	var o options
	fs.StringVar(&o.profile, "profile", "", "instrument profile to simulate, e.g. nidek-rt5100, nidek-lm1000, generic-dcs-lensmeter, topcon-kr1 (required)")
	fs.StringVar(&o.profiles, "profiles", "", "practice profile file (TOML) to load on top of the built-ins")
	fs.StringVar(&o.port, "port", "", "drive this real serial port instead of a pty (a null-modem cable to the lane)")
	fs.StringVar(&o.link, "link", "", "also make a symlink with this name to the pty, so the lane can use a stable path")
	fs.StringVar(&o.folder, "folder", "", "drop folder for file-drop profiles")
	fs.StringVar(&o.replay, "replay", "", "send the frames of this capture file (raw bytes or hex text) instead of synthetic readings")
	fs.Uint64Var(&o.seed, "seed", 0, "random seed for readings and faults (0: a new one each run)")
	fs.DurationVar(&o.interval, "interval", 0, "send a measurement this often (e.g. 2s); 0: only on demand")
	fs.IntVar(&o.count, "count", 0, "exit after this many measurements (0: run until interrupted)")
	fs.DurationVar(&o.quitAfter, "linger", 500*time.Millisecond, "with --count: keep the link open this long after the last measurement")
	fs.IntVar(&o.noise, "noise", 0, "send this many bytes of line noise before each frame")
	fs.IntVar(&o.split, "split", 0, "write frames in random chunks of 1..N bytes")
	fs.DurationVar(&o.delay, "delay-mid-frame", 0, "pause this long in the middle of each frame (e.g. 500ms, or 5s to exceed the frame timeout)")
	fs.BoolVar(&o.drop, "drop", false, "cut each frame short: its second half is never sent")
	fs.BoolVar(&o.badChecksum, "bad-checksum", false, "send frames with a wrong checksum (D-block, DCS; DCS resends correctly after a NAK)")
	fs.BoolVar(&o.garble, "garble", false, "send random bytes instead of frames, as seen at a wrong baud rate")
	fs.IntVar(&o.every, "every", 1, "apply the faults to every N-th measurement only")
	fs.BoolVar(&o.noSD, "no-sd", false, "as an RT phoropter, never answer the lane's RS request (like RT-3100s in practice)")
	fs.BoolVar(&o.jsonOut, "json", false, "print one JSON object per transmission (with the frame in hex) instead of a sentence")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if o.profile == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "devsim: --profile is required (and takes no arguments); see devsim --help")
		return 2
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	if err := simulate(ctx, o, stdin, stdout, stderr, usr1); err != nil {
		fmt.Fprintf(stderr, "devsim: %v\n", err)
		return 1
	}
	return 0
}

// sentLine is the --json output for one transmission.
type sentLine struct {
	Seq      int      `json:"seq"`
	Attempt  int      `json:"attempt"`
	Bytes    int      `json:"bytes"`
	Faults   []string `json:"faults"`
	Expect   string   `json:"expect"`
	Note     string   `json:"note,omitempty"`
	File     string   `json:"file,omitempty"`
	FrameHex string   `json:"frame_hex"`
}

// receivedLine is the --json output for a frame the lane sent.
type receivedLine struct {
	Received string `json:"received"` // rs, sd or data
	FrameHex string `json:"frame_hex"`
}

func simulate(ctx context.Context, o options, stdin io.Reader, stdout, stderr io.Writer, usr1 <-chan os.Signal) error {
	set, err := profile.Load(o.profiles)
	if err != nil {
		return err
	}
	p, err := set.Lookup(o.profile)
	if err != nil {
		return err
	}
	var src simulator.Source
	if o.replay != "" {
		data, err := os.ReadFile(o.replay)
		if err != nil {
			return err
		}
		if src, err = simulator.Replay(p.Dialect, data, ""); err != nil {
			return err
		}
	} else if src, err = simulator.Synthesize(p, simulator.SynthConfig{Seed: o.seed}); err != nil {
		return err
	}

	var outMu sync.Mutex
	printf := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(stdout, format, args...)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var sent int
	var lastSeq int
	cfg := simulator.Config{
		Profile: p, Source: src, Seed: o.seed, NoSD: o.noSD, Interval: o.interval, Count: o.count,
		Faults: simulator.Faults{Noise: o.noise, Split: o.split, DelayMidFrame: o.delay, Drop: o.drop,
			BadChecksum: o.badChecksum, Garble: o.garble, Every: o.every},
		Logf: func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) },
		OnReceived: func(frame []byte, what string) {
			if o.jsonOut {
				b, _ := json.Marshal(receivedLine{Received: what, FrameHex: hex.EncodeToString(frame)})
				printf("%s\n", b)
			} else if what == "data" {
				printf("received a prescription from the lane: %q\n", frame)
			}
		},
		OnSent: func(s simulator.Sent) {
			if o.jsonOut {
				b, _ := json.Marshal(sentLine{Seq: s.Seq, Attempt: s.Attempt, Bytes: len(s.Wire), Faults: s.Faults,
					Expect: s.Expect, Note: s.Note, File: s.Name, FrameHex: hex.EncodeToString(s.Frame)})
				printf("%s\n", b)
			} else {
				faults := "none"
				if len(s.Faults) > 0 {
					faults = strings.Join(s.Faults, ", ")
				}
				printf("sent measurement %d (attempt %d, %d bytes, faults: %s): the lane should %s it%s\n",
					s.Seq, s.Attempt, len(s.Wire), faults, map[string]string{simulator.ExpectIntact: "accept", simulator.ExpectRejected: "reject"}[s.Expect],
					map[bool]string{true: " (" + s.Note + ")", false: ""}[s.Note != ""])
			}
			// A measurement is finished when it was not refused (or gave up).
			if s.Note != "nak" || s.Attempt > 3 {
				if s.Seq != lastSeq {
					lastSeq = s.Seq
					sent++
				}
				if o.count > 0 && sent >= o.count {
					go func() {
						time.Sleep(o.quitAfter)
						cancel()
					}()
				}
			}
		},
	}
	switch {
	case p.Transport == profile.TransportFile:
		if o.folder == "" {
			return fmt.Errorf("profile %s drops files: give --folder", p.Name)
		}
		cfg.Folder = o.folder
		printf("folder: %s\n", o.folder)
	case o.port != "":
		c, err := transport.OpenSerial(ctx, o.port, transport.SerialConfig{Link: p.Link, DTR: true, RTS: true})
		if err != nil {
			return err
		}
		defer c.Close()
		cfg.Link = c
		printf("device: %s (%s)\n", o.port, p.Link)
	default:
		pt, err := simulator.OpenPTY(o.link)
		if err != nil {
			return err
		}
		defer pt.Close()
		cfg.Link = pt.Master
		path := pt.Path
		if o.link != "" {
			path = o.link
		}
		printf("device: %s\n", path)
		fmt.Fprintf(stderr, "devsim: %s (%s, %s) on %s; a pty ignores %s and has no modem lines\n", p.Name, p.Dialect, p.Transport, pt.Path, p.Link)
	}
	sim, err := simulator.New(cfg)
	if err != nil {
		return err
	}
	go func() { // ends with the process; reads are not cancellable
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			switch strings.TrimSpace(strings.ToLower(sc.Text())) {
			case "", "m", "measure":
				sim.Measure()
			case "q", "quit", "exit":
				cancel()
				return
			default:
				fmt.Fprintln(stderr, "devsim: Enter or \"m\" sends a measurement, \"q\" quits")
			}
		}
	}()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-usr1:
				sim.Measure()
			}
		}
	}()
	if o.count > 0 && o.interval == 0 && stdin == nil {
		for range o.count {
			sim.Measure()
		}
	}
	return sim.Run(ctx)
}
