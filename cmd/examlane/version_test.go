package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// TestStampedBinary builds examlane the way `make build` does, with the
// -ldflags that `make print-ldflags` prints, and checks that --version
// reports the version and build number written in FyneApp.toml and the
// commit the Makefile stamped. Neither side is copied into the test, so the
// Makefile, FyneApp.toml and version.go cannot drift apart unnoticed. It also
// checks the exit status of the real binary on good and bad usage.
func TestStampedBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the examlane binary; skipped with -short")
	}
	makeTool, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make is not installed; run `make setup`")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}

	// The stamping flags, from the Makefile.
	printFlags := exec.Command(makeTool, "-s", "--no-print-directory", "print-ldflags")
	printFlags.Dir = root
	printFlags.Env = withoutMakeVars(os.Environ())
	out, err := printFlags.Output()
	if err != nil {
		t.Fatalf("make print-ldflags: %v\n%s", err, stderrOf(err))
	}
	ldflags := strings.TrimSpace(string(out))
	m := regexp.MustCompile(`-X main\.commit=(\S+)`).FindStringSubmatch(ldflags)
	if m == nil {
		t.Fatalf("make print-ldflags = %q, want a -X main.commit=... flag", ldflags)
	}
	stampedCommit := m[1]

	// The version, from FyneApp.toml.
	var meta struct {
		Details struct {
			Version string
			Build   int
		}
	}
	if _, err := toml.DecodeFile(filepath.Join(root, "FyneApp.toml"), &meta); err != nil {
		t.Fatalf("reading FyneApp.toml: %v", err)
	}
	if meta.Details.Version == "" {
		t.Fatal("FyneApp.toml has no [Details] Version")
	}

	bin := filepath.Join(t.TempDir(), "examlane")
	build := exec.Command(goTool, "build", "-ldflags", ldflags, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -ldflags %q: %v\n%s", ldflags, err, out)
	}

	want := fmt.Sprintf("examlane %s+%d (%s)\n", meta.Details.Version, meta.Details.Build, stampedCommit)
	got, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("examlane --version: %v\n%s", err, stderrOf(err))
	}
	if string(got) != want {
		t.Errorf("examlane --version = %q, want %q", got, want)
	}

	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"--help"}, 0},
		{[]string{"bogus"}, 2},
		{[]string{"--bogus"}, 2},
	} {
		err := exec.Command(bin, tt.args...).Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("examlane %s: %v", strings.Join(tt.args, " "), err)
		}
		if code != tt.code {
			t.Errorf("examlane %s: exit %d, want %d", strings.Join(tt.args, " "), code, tt.code)
		}
	}
}

// withoutMakeVars drops the variables a parent make passes to its children,
// so that running make from a test started by `make test` behaves like
// running it by hand.
func withoutMakeVars(environ []string) []string {
	out := environ[:0:0]
	for _, kv := range environ {
		switch name, _, _ := strings.Cut(kv, "="); name {
		case "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// stderrOf returns the standard error captured in an *exec.ExitError.
func stderrOf(err error) string {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(exit.Stderr)
	}
	return ""
}
