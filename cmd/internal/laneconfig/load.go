package laneconfig

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/examlane/examlane/cmd/internal/atomicfile"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/BurntSushi/toml"

	"github.com/examlane/examlane/devices/profile"
)

// Source says where a loaded configuration came from.
type Source string

// Sources.
const (
	// SourceFile: the configuration file, which is fine.
	SourceFile Source = "file"
	// SourceLastGood: the configuration file is missing or has problems,
	// so the copy of the last good one was used.
	SourceLastGood Source = "last-good"
	// SourceDefaults: there is no configuration file (nor a last good
	// copy), so the defaults were used.
	SourceDefaults Source = "defaults"
)

// Options says what Load reads.
type Options struct {
	// File is the configuration file (--config); empty: the per-OS
	// default (DefaultPaths).
	File string
	// DataDir overrides data.dir (--data-dir).
	DataDir string
	// Env is the environment the default paths come from (the real one
	// when zero).
	Env Env
	// LoadProfiles loads the instrument profiles (profile.Load when nil).
	LoadProfiles func(path string) (*profile.Set, error)
	// Hostname names the lane when lane.name is empty (os.Hostname when
	// nil).
	Hostname func() (string, error)
	// NoSave leaves the last good copy alone: for commands that only look.
	NoSave bool
}

// Result is a loaded configuration and how it was obtained.
type Result struct {
	// Config is the effective configuration: defaults filled in, paths
	// absolute, data.dir, backup.dir and log.dir set, lane.name set.
	Config *Config
	// Profiles are the instrument profiles the instruments were checked
	// against (built-in plus devices.profiles).
	Profiles *profile.Set
	// Source says where Config came from; File is that file (the last
	// good copy when Source is SourceLastGood, empty for the defaults).
	Source Source
	File   string
	// Paths are the per-OS defaults that were used.
	Paths Paths
	// Problems are what is wrong with the configuration file when Source
	// is not SourceFile.
	Problems []Problem
	// Warnings are the sentences to show the administrator: the problems
	// and what was done about them, and a last good copy that could not be
	// saved.
	Warnings []string
}

// Load reads the lane configuration the way the app starts: the file
// (opts.File or the per-OS default), validated. When it is good, a copy is
// saved as DATA-DIR/config.last-good.toml (secrets left out). When it is
// missing or has problems, Load falls back to that copy, reporting the
// problems in Result.Warnings, so that one bad edit does not stop the
// lane. With no file at the default path and no copy, the defaults are
// used. Load fails (with an *Error) only when the file is bad and there is
// no good copy to fall back to, or when no default path can be worked out.
//
// The copy is looked for in the --data-dir directory when one is given,
// else in the data.dir the bad file names (when it still reads that far),
// else in the default data directory.
func Load(opts Options) (*Result, error) {
	paths, err := DefaultPaths(opts.Env)
	if err != nil && (opts.File == "" || opts.DataDir == "") {
		return nil, err
	}
	res := &Result{Paths: paths}
	file := opts.File
	if file == "" {
		file = paths.ConfigFile
	}
	popts := ParseOptions{Dir: filepath.Dir(file), Home: opts.Env.home(), LoadProfiles: opts.LoadProfiles}

	data, err := os.ReadFile(file)
	var problems []Problem
	switch {
	case err == nil:
		cfg, set, perr := Parse(file, data, popts)
		if perr == nil {
			// The copy keeps what the file says, not what finish derives
			// from this run's flags and host.
			saved := *cfg
			res.Config, res.Profiles, res.Source, res.File = cfg, set, SourceFile, file
			res.finish(opts)
			if !opts.NoSave {
				if err := saveLastGood(&saved, file, res.Config.Data.Dir); err != nil {
					res.Warnings = append(res.Warnings, fmt.Sprintf("could not save the last good copy of the configuration: %v", err))
				}
			}
			return res, nil
		}
		var ce *Error
		if !errors.As(perr, &ce) {
			return nil, perr
		}
		problems = ce.Problems
	case errors.Is(err, fs.ErrNotExist) && opts.File == "":
		// Never configured, or the file was removed: a last good copy
		// still knows the instruments; otherwise the defaults.
		if lg := loadLastGood(opts, paths, nil, popts); lg != nil {
			*res = *lg
			res.Warnings = append([]string{fmt.Sprintf("no configuration file at %s: using the last good configuration saved at %s", file, lg.File)}, res.Warnings...)
			res.finish(opts)
			return res, nil
		}
		res.Config, res.Source = Defaults(), SourceDefaults
		res.Warnings = append(res.Warnings, fmt.Sprintf("no configuration file at %s: using the defaults (write one with 'examlane config init')", file))
		set, issues := res.Config.validate(opts.LoadProfiles)
		if len(issues) > 0 {
			return nil, &Error{Problems: place(file, keyIndex{}, issues)}
		}
		res.Profiles = set
		res.finish(opts)
		return res, nil
	default:
		problems = []Problem{{File: file, Msg: pathErrorMessage(err)}}
	}

	lg := loadLastGood(opts, paths, data, popts)
	if lg == nil {
		return nil, &Error{Problems: problems}
	}
	*res = *lg
	res.Problems = problems
	var w []string
	for _, p := range problems {
		w = append(w, p.String())
	}
	w = append(w, fmt.Sprintf("the configuration file %s has problems: using the last good configuration saved at %s until they are fixed (check with 'examlane config check')", file, lg.File))
	res.Warnings = append(w, res.Warnings...)
	res.finish(opts)
	return res, nil
}

// pathErrorMessage returns a file error's message without the operation
// ("open") and path, which the problem shows already.
func pathErrorMessage(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// finish fills in what the effective configuration derives from the
// environment: the data, backup and log directories and the lane name.
func (r *Result) finish(opts Options) {
	c := r.Config
	if opts.DataDir != "" {
		c.Data.Dir = opts.DataDir
	}
	if c.Data.Dir == "" {
		c.Data.Dir = r.Paths.DataDir
	}
	if c.Backup.Dir == "" {
		c.Backup.Dir = filepath.Join(c.Data.Dir, "backups")
	}
	if c.Log.Dir == "" {
		c.Log.Dir = r.Paths.LogDir
	}
	if c.Lane.Name == "" {
		hostname := opts.Hostname
		if hostname == nil {
			hostname = os.Hostname
		}
		if h, err := hostname(); err == nil {
			c.Lane.Name = h
		}
	}
}

// loadLastGood reads the last good copy, looking in the data directories
// described at Load. bad is the bad file's bytes (nil when there is none).
func loadLastGood(opts Options, paths Paths, bad []byte, popts ParseOptions) *Result {
	var dirs []string
	if opts.DataDir != "" {
		dirs = append(dirs, opts.DataDir)
	} else {
		if dir := salvageDataDir(bad, popts); dir != "" {
			dirs = append(dirs, dir)
		}
		if paths.DataDir != "" {
			dirs = append(dirs, paths.DataDir)
		}
	}
	for _, dir := range dirs {
		name := filepath.Join(dir, LastGoodName)
		data, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		lp := popts
		lp.Dir = dir
		cfg, set, err := Parse(name, data, lp)
		if err != nil {
			continue
		}
		if cfg.Data.Dir == "" {
			cfg.Data.Dir = dir
		}
		return &Result{Config: cfg, Profiles: set, Source: SourceLastGood, File: name, Paths: paths}
	}
	return nil
}

// salvageDataDir reads data.dir from a file that fails validation, when
// the file is still valid TOML and data.dir a string.
func salvageDataDir(bad []byte, popts ParseOptions) string {
	if bad == nil {
		return ""
	}
	var f struct {
		Data struct {
			Dir string `toml:"dir"`
		} `toml:"data"`
	}
	if _, err := toml.Decode(string(bad), &f); err != nil || f.Data.Dir == "" {
		return ""
	}
	c := &Config{Data: Data{Dir: f.Data.Dir}}
	var issues []issue
	c.resolvePaths(popts, &issues)
	return c.Data.Dir
}

// lastGoodHeader starts every last good copy.
const lastGoodHeader = "# Examlane: the last lane configuration that loaded without problems.\n" +
	"# Written by examlane; do not edit. The lane falls back to it when the\n" +
	"# configuration file is missing or has problems.\n"

// encodeLastGood returns the last good copy of cfg read from file.
func encodeLastGood(cfg *Config, file string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(lastGoodHeader)
	fmt.Fprintf(&b, "# Source: %s\n\n", strconv.Quote(file)) // quoted: a name cannot end the comment
	if err := encodeTOML(&b, cfg.withoutSecrets()); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return b.Bytes(), nil
}

// saveLastGood writes the copy into dataDir atomically (a temporary file
// renamed over the old copy), creating dataDir when needed, and only when
// it changed.
func saveLastGood(cfg *Config, file, dataDir string) error {
	data, err := encodeLastGood(cfg, file)
	if err != nil {
		return err
	}
	name := filepath.Join(dataDir, LastGoodName)
	if old, err := os.ReadFile(name); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	return atomicfile.ReplaceBytes(name, data, 0o600)
}

// EncodeTOML writes cfg as TOML, tables unindented (the form `config show`
// prints and the last good copy keeps).
func EncodeTOML(w io.Writer, cfg *Config) error { return encodeTOML(w, cfg) }

func encodeTOML(w io.Writer, cfg *Config) error {
	enc := toml.NewEncoder(w)
	enc.Indent = ""
	return enc.Encode(cfg)
}
