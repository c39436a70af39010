package laneconfig

import (
	"errors"
	"os"
	"path"
	"runtime"
	"strings"
)

// Env is what the default paths depend on: the operating system, its
// environment variables and the user's home directory. The zero Env is the
// running process's; tests inject their own.
type Env struct {
	// GOOS is the operating system (runtime.GOOS when empty).
	GOOS string
	// Getenv reads an environment variable (os.Getenv when nil).
	Getenv func(string) string
	// Home is the user's home directory. Empty: $HOME (%USERPROFILE% on
	// Windows), or os.UserHomeDir for the real environment.
	Home string
}

func (e Env) goos() string {
	if e.GOOS == "" {
		return runtime.GOOS
	}
	return e.GOOS
}

func (e Env) getenv() func(string) string {
	if e.Getenv == nil {
		return os.Getenv
	}
	return e.Getenv
}

// home returns the user's home directory, or "" when unknown.
func (e Env) home() string {
	if e.Home != "" {
		return e.Home
	}
	var h string
	if e.goos() == "windows" {
		h = e.getenv()("USERPROFILE")
	} else {
		h = e.getenv()("HOME")
	}
	if h == "" && e.Getenv == nil {
		h, _ = os.UserHomeDir()
	}
	return h
}

// Paths are the per-OS default locations of a lane's files.
type Paths struct {
	// ConfigFile is the lane configuration file.
	ConfigFile string
	// DataDir is the data directory (database, enrolment, backups).
	DataDir string
	// LogDir is where the rotated JSON log is written.
	LogDir string
}

// DefaultPaths returns the default locations for env:
//
//	Linux and other Unix systems (XDG base directories; relative values are
//	ignored, as the specification says):
//	  config  $XDG_CONFIG_HOME/examlane/lane.toml   (~/.config/examlane/lane.toml)
//	  data    $XDG_DATA_HOME/examlane               (~/.local/share/examlane)
//	  logs    $XDG_STATE_HOME/examlane/logs         (~/.local/state/examlane/logs)
//	Windows:
//	  config  %ProgramData%\Examlane\lane.toml      (machine-wide, written by an administrator)
//	  data    %LOCALAPPDATA%\Examlane
//	  logs    %LOCALAPPDATA%\Examlane\logs
//	macOS:
//	  config  ~/Library/Application Support/Examlane/lane.toml
//	  data    ~/Library/Application Support/Examlane
//	  logs    ~/Library/Logs/Examlane
//
// It fails only when a needed home directory or variable is missing.
func DefaultPaths(env Env) (Paths, error) {
	goos := env.goos()
	getenv := env.getenv()
	home := env.home()
	errNoHome := errors.New("laneconfig: no home directory: set HOME or pass --config and --data-dir")

	switch goos {
	case "windows":
		abs := func(v string) string {
			if isWindowsAbs(v) {
				return v
			}
			return ""
		}
		programData := abs(getenv("ProgramData"))
		if programData == "" {
			programData = `C:\ProgramData`
		}
		local := abs(getenv("LOCALAPPDATA"))
		if local == "" {
			if home == "" {
				return Paths{}, errors.New(`laneconfig: neither %LOCALAPPDATA% nor %USERPROFILE% is set: pass --config and --data-dir`)
			}
			local = winJoin(home, "AppData", "Local")
		}
		data := winJoin(local, "Examlane")
		return Paths{
			ConfigFile: winJoin(programData, "Examlane", FileName),
			DataDir:    data,
			LogDir:     winJoin(data, "logs"),
		}, nil
	case "darwin", "ios":
		if home == "" {
			return Paths{}, errNoHome
		}
		support := path.Join(home, "Library", "Application Support", "Examlane")
		return Paths{
			ConfigFile: path.Join(support, FileName),
			DataDir:    support,
			LogDir:     path.Join(home, "Library", "Logs", "Examlane"),
		}, nil
	}
	xdg := func(name, fallback string) (string, error) {
		if v := getenv(name); path.IsAbs(v) {
			return v, nil
		}
		if home == "" {
			return "", errNoHome
		}
		return path.Join(home, fallback), nil
	}
	cfg, err := xdg("XDG_CONFIG_HOME", ".config")
	if err != nil {
		return Paths{}, err
	}
	data, err := xdg("XDG_DATA_HOME", ".local/share")
	if err != nil {
		return Paths{}, err
	}
	state, err := xdg("XDG_STATE_HOME", ".local/state")
	if err != nil {
		return Paths{}, err
	}
	return Paths{
		ConfigFile: path.Join(cfg, "examlane", FileName),
		DataDir:    path.Join(data, "examlane"),
		LogDir:     path.Join(state, "examlane", "logs"),
	}, nil
}

// isWindowsAbs reports whether p is an absolute Windows path: a drive
// letter followed by a separator, or a UNC path.
func isWindowsAbs(p string) bool {
	if strings.HasPrefix(p, `\\`) {
		return true
	}
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
		(('a' <= p[0] && p[0] <= 'z') || ('A' <= p[0] && p[0] <= 'Z'))
}

// winJoin joins Windows path elements with backslashes whatever OS runs
// the code (so that the Windows defaults can be tested anywhere).
func winJoin(elem ...string) string {
	var parts []string
	for i, e := range elem {
		if i > 0 {
			e = strings.TrimLeft(e, `\/`)
		}
		if i < len(elem)-1 {
			e = strings.TrimRight(e, `\/`)
		}
		if e != "" {
			parts = append(parts, e)
		}
	}
	return strings.Join(parts, `\`)
}
