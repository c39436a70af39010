// Package logging sets up the lane's diagnostic log: log/slog records as
// JSON lines in a file rotated by size (examlane.log, then examlane.log.1
// up to .4: 10 MiB × 5 files by default), plus the same records as text on
// standard error when it is a terminal. The level comes from the lane
// configuration (log.level).
//
// The log directory is per OS (laneconfig.DefaultPaths, overridden by
// log.dir):
//
//	Linux    $XDG_STATE_HOME/examlane/logs   (~/.local/state/examlane/logs)
//	Windows  %LOCALAPPDATA%\Examlane\logs
//	macOS    ~/Library/Logs/Examlane
//
// Every record goes through a PHI guard (Guard): attributes whose keys are
// not on an allow-list of keys known to carry no patient data (ids, counts,
// durations, instrument names, error kinds) are logged as "<redacted>",
// and messages and error strings are scrubbed of anything that looks like
// a name, a date, a record number or a file path (Scrub). Code should log
// constant messages and opaque ids; the guard is the second line of
// defence, not a licence.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Defaults of Options.
const (
	// FileName is the current log file's name in the log directory.
	FileName = "examlane.log"
	// DefaultMaxSize is the size at which the log file is rotated.
	DefaultMaxSize = 10 << 20
	// DefaultMaxFiles is how many log files are kept, the current one
	// included.
	DefaultMaxFiles = 5
)

// Options configures New.
type Options struct {
	// Dir is the log directory (created 0700); empty: no log file.
	Dir string
	// Level is the lowest level logged (slog.LevelInfo when nil); pass a
	// *slog.LevelVar to change it while running.
	Level slog.Leveler
	// MaxSize is the rotation size in bytes (DefaultMaxSize when 0);
	// MaxFiles the number of files kept (DefaultMaxFiles when 0).
	MaxSize  int64
	MaxFiles int
	// Console receives the records as text too; pass os.Stderr when it is
	// a terminal (IsTerminal), nil otherwise.
	Console io.Writer
	// Allow adds attribute keys to the guard's allow-list.
	Allow []string
}

// Logger is the lane's logger. Close it at exit to close the file.
type Logger struct {
	*slog.Logger
	file *RotatingFile
}

// New returns a logger writing JSON to Dir/examlane.log (rotated) and text
// to Console, both behind the PHI guard.
func New(opts Options) (*Logger, error) {
	if opts.Level == nil {
		opts.Level = slog.LevelInfo
	}
	if opts.MaxSize == 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if opts.MaxFiles == 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	hopts := &slog.HandlerOptions{Level: opts.Level}
	var handlers []slog.Handler
	l := &Logger{}
	if opts.Dir != "" {
		f, err := OpenRotating(filepath.Join(opts.Dir, FileName), opts.MaxSize, opts.MaxFiles)
		if err != nil {
			return nil, err
		}
		l.file = f
		handlers = append(handlers, slog.NewJSONHandler(f, hopts))
	}
	if opts.Console != nil {
		handlers = append(handlers, slog.NewTextHandler(opts.Console, hopts))
	}
	var h slog.Handler = slog.DiscardHandler
	switch len(handlers) {
	case 1:
		h = handlers[0]
	case 2:
		h = slog.NewMultiHandler(handlers...)
	}
	l.Logger = slog.New(NewGuard(h, NewAllowList(opts.Allow...)))
	return l, nil
}

// Close closes the log file (a no-op without one).
func (l *Logger) Close() error {
	if l.file == nil {
		return nil
	}
	return l.file.Close()
}

// ParseLevel reads a log.level value: debug, info, warn or error (any
// case).
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("logging: level %q: want debug, info, warn or error", s)
}

// Logf adapts l to the func(format, args...) loggers of devices and
// syncclient: each call logs one info record with the formatted line as
// its message (scrubbed by the guard) and the component attribute.
func Logf(l *slog.Logger, component string) func(format string, args ...any) {
	return func(format string, args ...any) {
		l.Info(fmt.Sprintf(format, args...), "component", component)
	}
}

// Err returns the attributes to log an error with: its scrubbed message
// under "error" and its kind under "error_kind".
func Err(err error) slog.Attr {
	return slog.Group("", slog.String("error", SafeError(err)), slog.String("error_kind", ErrorKind(err)))
}

// IsTerminal reports whether f is a character device (a terminal), the
// test for writing console logs to standard error.
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
