// Command examlane is the Examlane exam-lane application.
//
// With no command it opens the desktop app. With a command it runs that
// command and exits; `examlane --help` lists them. Global flags come before
// the command:
//
//	examlane [--data-dir DIR] [--config FILE] [<command> [flags] [args]]
//	examlane --version
//
// Exit status: 0 on success, 1 on failure, 2 on bad usage (an unknown
// command or flag, a missing argument), with a one-line message on standard
// error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

// appID is the application's unique ID, as in FyneApp.toml. Fyne keys the
// app's preferences and storage by it.
const appID = "com.examlane.lane"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, stdEnv(), os.Args[1:], openDesktop)
	stop()
	os.Exit(code)
}

// run parses the global flags in args and then either opens the desktop app
// with desktop (no command given) or runs the command. It returns the exit
// status.
func run(ctx context.Context, e *env, args []string, desktop func(context.Context, *env) error) int {
	fs := flag.NewFlagSet("examlane", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.StringVar(&e.DataDir, "data-dir", "", "keep the lane's data in `DIR` (default: the per-user data directory)")
	fs.StringVar(&e.Config, "config", "", "read the lane configuration from `FILE` (default: the one in the data directory)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(e.Stdout, fs)
			return 0
		}
		fmt.Fprintf(e.Stderr, "examlane: %v (see 'examlane --help')\n", err)
		return 2
	}
	if *showVersion {
		fmt.Fprintln(e.Stdout, versionLine())
		return 0
	}
	for _, p := range []*string{&e.DataDir, &e.Config} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			fmt.Fprintf(e.Stderr, "examlane: %v\n", err)
			return 1
		}
		*p = abs
	}

	rest := fs.Args()
	switch {
	case len(rest) == 0:
		if err := desktop(ctx, e); err != nil {
			fmt.Fprintf(e.Stderr, "examlane: %v\n", err)
			return 1
		}
		return 0
	case len(rest) == 1 && rest[0] == "help":
		printUsage(e.Stdout, fs)
		return 0
	}
	return dispatch(ctx, e, rest)
}

// printUsage prints the top-level help: synopsis, global flags and commands.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, `Usage: examlane [global flags] [<command> [flags] [args]]

Examlane is the exam-lane application for optometry practices.
With no command it opens the desktop app.

Global flags:
`)
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  %s\n      %s\n", strings.TrimSpace("--"+f.Name+" "+name), usage)
	})
	fmt.Fprintf(w, "  --help\n      print this help and exit\n\n")
	printCommandList(w, "")
	fmt.Fprintf(w, "\nRun 'examlane <command> --help' for details.\n")
}

// openDesktop runs the desktop app until its window is closed or ctx ends.
// It must be called on the main goroutine.
func openDesktop(ctx context.Context, e *env) error {
	return runWindow(ctx, func(ctx context.Context) (*laneParts, error) { return buildLane(ctx, e) })
}
