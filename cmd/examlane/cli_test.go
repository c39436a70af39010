package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// result is what one invocation of run produced.
type result struct {
	code           int
	stdout, stderr string
	desktop        *env // the env the desktop app was opened with, or nil
}

// invoke runs the command line args as main would, with the desktop app
// replaced by a stub that records that it was opened.
func invoke(args ...string) result {
	var out, errOut bytes.Buffer
	e := &env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}
	var r result
	r.code = run(context.Background(), e, args, func(_ context.Context, e *env) error {
		r.desktop = e
		return nil
	})
	r.stdout, r.stderr = out.String(), errOut.String()
	return r
}

// withCommands replaces the command registry with cs until the test ends.
func withCommands(t *testing.T, cs ...*command) {
	t.Helper()
	saved := commands
	commands = map[string]*command{}
	t.Cleanup(func() { commands = saved })
	for _, c := range cs {
		register(c)
	}
}

// fixtureCommands is a small command tree: a group "rx" with two leaves and
// a top-level leaf "ping".
func fixtureCommands() []*command {
	return []*command{
		{
			Path: "rx verify", Summary: "check a prescription file", Usage: "[--json] FILE",
			Help:  "Verify reads FILE and reports problems.",
			Flags: func(fs *flag.FlagSet) { fs.Bool("json", false, "print the report as JSON") },
			Run: func(_ context.Context, e *env, fs *flag.FlagSet, args []string) error {
				if len(args) != 1 {
					return usagef("want exactly one FILE, got %d", len(args))
				}
				fmt.Fprintf(e.Stdout, "verified %s json=%v data-dir=%s\n", args[0], fs.Lookup("json").Value, e.DataDir)
				return nil
			},
		},
		{
			Path: "rx show", Summary: "print a prescription",
			Run: func(context.Context, *env, *flag.FlagSet, []string) error { return nil },
		},
		{
			Path: "ping", Summary: "fail on request",
			Run: func(_ context.Context, _ *env, _ *flag.FlagSet, args []string) error {
				if len(args) > 0 && args[0] == "fail" {
					return errors.New("ping failed")
				}
				return nil
			},
		},
	}
}

// groups returns every command path prefix that has children, including
// the root "".
func groups() []string {
	seen := map[string]bool{"": true}
	for p := range commands {
		w := strings.Fields(p)
		for n := 1; n < len(w); n++ {
			seen[strings.Join(w[:n], " ")] = true
		}
	}
	out := make([]string, 0, len(seen))
	for g := range seen {
		out = append(out, g)
	}
	slices.Sort(out)
	return out
}

// oneLine reports whether s is exactly one non-empty line.
func oneLine(s string) bool {
	return strings.HasSuffix(s, "\n") && strings.Count(s, "\n") == 1 && len(s) > 1
}

// checkHelpEverywhere asks for help on every registered command and group.
func checkHelpEverywhere(t *testing.T) {
	t.Helper()
	for path := range commands {
		for _, flag := range []string{"--help", "-h"} {
			args := append(strings.Fields(path), flag)
			r := invoke(args...)
			if r.code != 0 || r.stderr != "" {
				t.Errorf("examlane %s: exit %d, stderr %q; want 0 and nothing", strings.Join(args, " "), r.code, r.stderr)
			}
			if want := "Usage: examlane " + path; !strings.HasPrefix(r.stdout, want) {
				t.Errorf("examlane %s: stdout %q, want it to start with %q", strings.Join(args, " "), r.stdout, want)
			}
		}
	}
	for _, g := range groups() {
		args := append(strings.Fields(g), "--help")
		r := invoke(args...)
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "Commands:") {
			t.Errorf("examlane %s: exit %d, stdout %q, stderr %q; want 0 and a command list", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
}

func TestHelpOnEveryRegisteredCommand(t *testing.T) {
	checkHelpEverywhere(t) // the commands compiled into examlane
}

func TestHelpOnFixtureCommands(t *testing.T) {
	withCommands(t, fixtureCommands()...)
	checkHelpEverywhere(t)

	r := invoke("rx", "verify", "--help")
	for _, want := range []string{"Usage: examlane rx verify [--json] FILE", "check a prescription file", "Verify reads FILE", "-json"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("rx verify --help: stdout %q lacks %q", r.stdout, want)
		}
	}
	if r := invoke("rx", "show", "--help"); !strings.HasPrefix(r.stdout, "Usage: examlane rx show\n") {
		t.Errorf("rx show --help: stdout %q, want a usage line without trailing space", r.stdout)
	}
}

func TestRootHelp(t *testing.T) {
	withCommands(t, fixtureCommands()...)
	for _, args := range [][]string{{"--help"}, {"-h"}, {"-help"}, {"help"}} {
		r := invoke(args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("examlane %s: exit %d, stderr %q; want 0 and nothing", args[0], r.code, r.stderr)
		}
		for _, want := range []string{"Usage: examlane", "--data-dir DIR", "--config FILE", "--version", "ping", "rx"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("examlane %s: stdout lacks %q:\n%s", args[0], want, r.stdout)
			}
		}
	}
}

func TestGroupHelp(t *testing.T) {
	withCommands(t, fixtureCommands()...)

	r := invoke("rx", "--help")
	if r.code != 0 {
		t.Errorf("rx --help: exit %d, want 0", r.code)
	}
	for _, want := range []string{"Usage: examlane rx <command>", "verify", "check a prescription file", "show", "print a prescription", "Run 'examlane rx <command> --help'"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("rx --help: stdout lacks %q:\n%s", want, r.stdout)
		}
	}

	r = invoke("rx")
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "Usage: examlane rx <command>") {
		t.Errorf("rx: exit %d, stdout %q, stderr %q; want 2 and the group help on stderr", r.code, r.stdout, r.stderr)
	}

	// A group appears in its parent's list with its children.
	if r := invoke("--help"); !strings.Contains(r.stdout, "(show, verify)") {
		t.Errorf("--help: stdout lacks the rx group's children:\n%s", r.stdout)
	}
}

func TestBadUsageExits2WithOneLine(t *testing.T) {
	withCommands(t, fixtureCommands()...)
	tests := []struct {
		name string
		args []string
		want string // in the message
	}{
		{"unknown command", []string{"bogus"}, `examlane: unknown command "bogus" (see 'examlane --help')`},
		{"unknown subcommand", []string{"rx", "bogus"}, `unknown command "rx bogus" (see 'examlane rx --help')`},
		{"path in one argument", []string{"rx verify"}, `unknown command "rx verify"`},
		{"unknown global flag", []string{"--bogus"}, "flag provided but not defined: -bogus"},
		{"global flag without value", []string{"--data-dir"}, "flag needs an argument: -data-dir"},
		{"unknown flag on group", []string{"rx", "--bogus"}, "examlane rx: unknown flag --bogus"},
		{"unknown flag on command", []string{"rx", "verify", "--bogus", "f"}, "examlane rx verify: flag provided but not defined: -bogus"},
		{"missing argument", []string{"rx", "verify"}, "examlane rx verify: want exactly one FILE, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := invoke(tt.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2", r.code)
			}
			if !oneLine(r.stderr) || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q, want one line containing %q", r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
		})
	}
}

func TestCommandRuns(t *testing.T) {
	withCommands(t, fixtureCommands()...)
	dir := t.TempDir()
	t.Chdir(dir)

	r := invoke("--data-dir", "lane-data", "rx", "verify", "--json", "rx.txt")
	want := fmt.Sprintf("verified rx.txt json=true data-dir=%s\n", filepath.Join(dir, "lane-data"))
	if r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0, %q and nothing", r.code, r.stdout, r.stderr, want)
	}

	r = invoke("ping", "fail")
	if r.code != 1 || !oneLine(r.stderr) || !strings.Contains(r.stderr, "examlane ping: ping failed") {
		t.Errorf("ping fail: exit %d, stderr %q; want 1 and one line", r.code, r.stderr)
	}
}

func TestNoCommandOpensDesktop(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	r := invoke("--data-dir", "d", "--config", "lane.toml")
	if r.code != 0 || r.desktop == nil {
		t.Fatalf("exit %d, desktop opened %v; want 0 and opened", r.code, r.desktop != nil)
	}
	if got, want := r.desktop.DataDir, filepath.Join(dir, "d"); got != want {
		t.Errorf("DataDir = %q, want %q", got, want)
	}
	if got, want := r.desktop.Config, filepath.Join(dir, "lane.toml"); got != want {
		t.Errorf("Config = %q, want %q", got, want)
	}

	var errOut bytes.Buffer
	e := &env{Stdout: &bytes.Buffer{}, Stderr: &errOut}
	code := run(context.Background(), e, nil, func(context.Context, *env) error { return errors.New("no display") })
	if code != 1 || errOut.String() != "examlane: no display\n" {
		t.Errorf("failing desktop: exit %d, stderr %q; want 1 and the error", code, errOut.String())
	}
}

func TestVersionFlag(t *testing.T) {
	r := invoke("--version")
	if r.code != 0 || r.stdout != versionLine()+"\n" || r.desktop != nil {
		t.Errorf("--version: exit %d, stdout %q; want 0 and %q", r.code, r.stdout, versionLine()+"\n")
	}
}

func TestVersionLineDefaults(t *testing.T) {
	saved := [3]string{version, build, commit}
	t.Cleanup(func() { version, build, commit = saved[0], saved[1], saved[2] })

	version, build, commit = "dev", "", "unknown"
	if got, want := versionLine(), "examlane dev (unknown)"; got != want {
		t.Errorf("unstamped versionLine() = %q, want %q", got, want)
	}
	version, build, commit = "0.1.0", "7", "3f2a1bc-dirty"
	if got, want := versionLine(), "examlane 0.1.0+7 (3f2a1bc-dirty)"; got != want {
		t.Errorf("stamped versionLine() = %q, want %q", got, want)
	}
}

func TestRegisterRejectsBadCommands(t *testing.T) {
	run := func(context.Context, *env, *flag.FlagSet, []string) error { return nil }
	tests := map[string]*command{
		"empty path":     {Path: "", Run: run},
		"double space":   {Path: "rx  verify", Run: run},
		"leading space":  {Path: " rx", Run: run},
		"flag-like word": {Path: "rx --verify", Run: run},
		"no Run":         {Path: "rx verify"},
		"duplicate":      {Path: "ping", Run: run},
	}
	for name, c := range tests {
		t.Run(name, func(t *testing.T) {
			withCommands(t, &command{Path: "ping", Run: run})
			defer func() {
				if recover() == nil {
					t.Errorf("register(%+v) did not panic", *c)
				}
			}()
			register(c)
		})
	}
}
