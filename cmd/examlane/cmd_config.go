package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/examlane/examlane/cmd/internal/laneconfig"
)

// The config commands: check, show, init, schema and path. FILE defaults to
// --config, then to the per-OS path (examlane config path).
func init() {
	register(&command{
		Path:    "config check",
		Summary: "check a lane configuration file",
		Usage:   "[FILE]",
		Help: `Check reads the lane configuration FILE (default: --config, else the
per-OS path) and checks it as the app would: TOML syntax, unknown keys,
types, ranges, the server URL, and every instrument against its profile.
It prints "FILE: ok" and any notes, or one line per problem:

    FILE:LINE: key "x.y": problem

and exits 1. It changes nothing.`,
		Run: runConfigCheck,
	})
	register(&command{
		Path:    "config show",
		Summary: "print the configuration in effect, defaults included",
		Help: `Show loads the configuration the way the app starts (falling back to the
last good copy when the file has problems) and prints it as TOML with every
default filled in and secrets shown as "<redacted>". Comments at the top say
where it came from and what is wrong, if anything.`,
		Run: runConfigShow,
	})
	register(&command{
		Path:    "config init",
		Summary: "write a commented example configuration file",
		Usage:   "[--force] [FILE | -]",
		Help: `Init writes a commented example lane configuration to FILE (default:
--config, else the per-OS path), or to standard output for "-". As
written it sets only the defaults; uncomment and edit what the lane needs,
then run 'examlane config check'. It refuses to replace an existing file
without --force.`,
		Flags: func(fs *flag.FlagSet) { fs.Bool("force", false, "replace an existing file") },
		Run:   runConfigInit,
	})
	register(&command{
		Path:    "config schema",
		Summary: "print the JSON Schema of the configuration file",
		Help: `Schema prints the JSON Schema (draft 2020-12) of lane.toml, for editors
that check TOML files against a schema.`,
		Run: func(_ context.Context, e *env, _ *flag.FlagSet, args []string) error {
			if len(args) > 0 {
				return usagef("want no arguments, got %d", len(args))
			}
			_, err := e.Stdout.Write(laneconfig.Schema())
			return err
		},
	})
	register(&command{
		Path:    "config path",
		Summary: "print where the configuration, data and logs are",
		Help: `Path prints the configuration file, the data directory, the last good
copy of the configuration and the log directory the app uses: --config and
--data-dir when given, else what the configuration says, else the per-OS
defaults.`,
		Run: runConfigPath,
	})
}

// configFile returns the file a config command works on: args[0], else
// --config, else the per-OS default.
func configFile(e *env, args []string) (string, error) {
	switch {
	case len(args) > 1:
		return "", usagef("want at most one FILE, got %d arguments", len(args))
	case len(args) == 1:
		return args[0], nil
	case e.Config != "":
		return e.Config, nil
	}
	p, err := laneconfig.DefaultPaths(laneconfig.Env{})
	if err != nil {
		return "", err
	}
	return p.ConfigFile, nil
}

func runConfigCheck(_ context.Context, e *env, _ *flag.FlagSet, args []string) error {
	file, err := configFile(e, args)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		fmt.Fprintf(e.Stdout, "%s: %v\n", file, err)
		return fmt.Errorf("%s: cannot be read", file)
	}
	home, _ := os.UserHomeDir()
	cfg, _, err := laneconfig.Parse(file, data, laneconfig.ParseOptions{Dir: filepath.Dir(absOr(file)), Home: home})
	if err != nil {
		var ce *laneconfig.Error
		if !errors.As(err, &ce) {
			return err
		}
		for _, p := range ce.Problems {
			fmt.Fprintln(e.Stdout, p)
		}
		if len(ce.Problems) == 1 {
			return fmt.Errorf("%s: 1 problem", file)
		}
		return fmt.Errorf("%s: %d problems", file, len(ce.Problems))
	}
	fmt.Fprintf(e.Stdout, "%s: ok\n", file)
	for _, n := range cfg.Notes() {
		fmt.Fprintf(e.Stdout, "note: %s\n", n)
	}
	return nil
}

// absOr returns the absolute form of p, or p when there is none.
func absOr(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func runConfigShow(_ context.Context, e *env, _ *flag.FlagSet, args []string) error {
	if len(args) > 0 {
		return usagef("want no arguments, got %d (use --config FILE to show another file)", len(args))
	}
	res, err := laneconfig.Load(laneconfig.Options{File: e.Config, DataDir: e.DataDir, NoSave: true})
	if err != nil {
		var ce *laneconfig.Error
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				fmt.Fprintln(e.Stderr, p)
			}
			return errors.New("no usable configuration: the file has problems and there is no last good copy")
		}
		return err
	}
	w := e.Stdout
	fmt.Fprintf(w, "# Effective lane configuration: defaults included, secrets redacted.\n")
	switch res.Source {
	case laneconfig.SourceFile:
		fmt.Fprintf(w, "# Source: %s\n", res.File)
	case laneconfig.SourceLastGood:
		fmt.Fprintf(w, "# Source: the last good copy %s\n", res.File)
	case laneconfig.SourceDefaults:
		fmt.Fprintf(w, "# Source: the defaults (no configuration file)\n")
	}
	for _, warn := range res.Warnings {
		fmt.Fprintf(w, "# warning: %s\n", warn)
	}
	for _, n := range res.Config.Notes() {
		fmt.Fprintf(w, "# note: %s\n", n)
	}
	fmt.Fprintln(w)
	return laneconfig.EncodeTOML(w, res.Config.Redacted())
}

func runConfigInit(_ context.Context, e *env, flags *flag.FlagSet, args []string) error {
	file, err := configFile(e, args)
	if err != nil {
		return err
	}
	if file == "-" {
		_, err := e.Stdout.Write(laneconfig.Example())
		return err
	}
	force := flags.Lookup("force").Value.(flag.Getter).Get().(bool)
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	mode := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		mode = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(file, mode, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists (use --force to replace it)", file)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(laneconfig.Example()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "wrote %s\nedit it, then run 'examlane config check %s'\n", file, file)
	return nil
}

func runConfigPath(_ context.Context, e *env, _ *flag.FlagSet, args []string) error {
	if len(args) > 0 {
		return usagef("want no arguments, got %d", len(args))
	}
	file, err := configFile(e, nil)
	if err != nil {
		return err
	}
	// The data and log directories are those of the configuration in
	// effect; without a usable one, the defaults.
	var data, logs string
	if res, err := laneconfig.Load(laneconfig.Options{File: e.Config, DataDir: e.DataDir, NoSave: true}); err == nil {
		data, logs = res.Config.Data.Dir, res.Config.Log.Dir
	} else {
		p, err := laneconfig.DefaultPaths(laneconfig.Env{})
		if err != nil {
			return err
		}
		data, logs = p.DataDir, p.LogDir
		if e.DataDir != "" {
			data = e.DataDir
		}
	}
	row := func(w io.Writer, k, v string) { fmt.Fprintf(w, "%-10s %s\n", k, v) }
	row(e.Stdout, "config", file)
	row(e.Stdout, "data", data)
	row(e.Stdout, "last-good", filepath.Join(data, laneconfig.LastGoodName))
	row(e.Stdout, "logs", logs)
	return nil
}
