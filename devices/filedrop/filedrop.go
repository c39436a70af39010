// Package filedrop watches folders that instruments (or their vendor
// software) write export files into: one JOIA or NIDEK XML file per
// measurement. It polls rather than relying on change notifications, acts on
// a file only when its size and modification time have stayed the same for
// a configurable moment (so a file still being copied is never read half
// written), never handles the same content twice (a SHA-256 of every
// handled file is remembered), and moves each file out of the way when done:
// a handled file is deleted (the handler has kept its bytes, sealed, so no
// plain copy of patient data stays on disk) or, when configured, moved into
// the archive folder; a failed file goes into the error folder with a
// "<name>.error.txt" beside it saying why, for a person to look at.
package filedrop

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// File is one stable export file handed to the handler.
type File struct {
	Name    string // base name in the drop folder
	Path    string // full path while it is handled
	Data    []byte
	SHA256  [32]byte
	ModTime time.Time
}

// Seen remembers which file contents were handled. Implementations must be
// safe for concurrent use.
type Seen interface {
	// Seen reports whether sum was handled before.
	Seen(sum [32]byte) (bool, error)
	// Mark records sum as handled.
	Mark(sum [32]byte) error
}

// Config configures a Watcher.
type Config struct {
	// Dir is the folder to watch. Only regular files directly inside it
	// are considered; names starting with "." or "~", or ending in .tmp,
	// .part or .partial are ignored.
	Dir string
	// Pattern is a glob the file name must match (e.g. "*.xml"); empty
	// matches every file. Matching ignores case.
	Pattern string
	// Stable is how long size and modification time must stay unchanged
	// before a file is read (default 2 s; negative: read on first sight).
	Stable time.Duration
	// Poll is how often Run scans the folder (default 500 ms).
	Poll time.Duration
	// KeepHandled moves handled files into ArchiveDir (default
	// Dir/processed) instead of deleting them. Export files hold patient
	// data in the clear: keep them only where the folder is protected.
	KeepHandled bool
	// ArchiveDir receives handled files when KeepHandled; ErrorDir
	// receives failed ones with a .error.txt (default Dir/failed).
	ArchiveDir string
	ErrorDir   string
	// Seen remembers handled contents. The default is a file "seen" in
	// StateDir (default Dir/.examlane).
	Seen     Seen
	StateDir string
	// MaxSize refuses larger files (default 32 MiB).
	MaxSize int64
	// Handle is called for each stable, new file, from the goroutine that
	// runs Run or Scan. A nil error moves the file to the archive; an error
	// moves it to the error folder with the error's text as the reason.
	Handle func(ctx context.Context, f File) error
	// Now is the clock used for stability (default time.Now).
	Now func() time.Time
	// Logf receives one line per notable event (optional).
	Logf func(format string, args ...any)
}

// Result counts what one Scan did.
type Result struct {
	Handled, Failed, Duplicates, Waiting int
}

// Watcher polls one folder. It is not safe for concurrent use: one
// goroutine calls Run (or Scan).
type Watcher struct {
	cfg  Config
	obs  map[string]observation
	logf func(string, ...any)
}

type observation struct {
	size  int64
	mtime time.Time
	since time.Time
}

// New checks cfg and returns a Watcher. The folder need not exist yet;
// Scan reports it missing until it does.
func New(cfg Config) (*Watcher, error) {
	if cfg.Dir == "" {
		return nil, errors.New("filedrop: no folder configured")
	}
	if cfg.Handle == nil {
		return nil, errors.New("filedrop: no handler")
	}
	if cfg.Pattern != "" {
		if _, err := filepath.Match(cfg.Pattern, "x"); err != nil {
			return nil, fmt.Errorf("filedrop: pattern %q: %w", cfg.Pattern, err)
		}
	}
	switch {
	case cfg.Stable == 0:
		cfg.Stable = 2 * time.Second
	case cfg.Stable < 0:
		cfg.Stable = 0
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.ArchiveDir == "" {
		cfg.ArchiveDir = filepath.Join(cfg.Dir, "processed")
	}
	if cfg.ErrorDir == "" {
		cfg.ErrorDir = filepath.Join(cfg.Dir, "failed")
	}
	if cfg.StateDir == "" {
		cfg.StateDir = filepath.Join(cfg.Dir, ".examlane")
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = 32 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	w := &Watcher{cfg: cfg, obs: map[string]observation{}, logf: cfg.Logf}
	if w.logf == nil {
		w.logf = func(string, ...any) {}
	}
	return w, nil
}

// ErrNoFolder is returned by Scan while the watched folder does not exist
// (a share not mounted, a USB stick not inserted).
var ErrNoFolder = errors.New("drop folder not found")

// Run scans the folder every Poll until ctx ends, then returns nil. Scan
// errors (a missing or unreadable folder) are passed to onErr, which may be
// nil; onErr receives nil after the first successful scan (the folder is
// watched and readable: a drop-folder instrument is connected) and after a
// successful scan following a failed one.
func (w *Watcher) Run(ctx context.Context, onErr func(error)) error {
	t := time.NewTicker(w.cfg.Poll)
	defer t.Stop()
	failing, first := false, true
	for {
		_, err := w.Scan(ctx)
		if onErr != nil && (err != nil || failing || first) {
			onErr(err)
		}
		failing, first = err != nil, false
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Scan looks at the folder once and handles every file that has become
// stable.
func (w *Watcher) Scan(ctx context.Context) (Result, error) {
	var res Result
	entries, err := os.ReadDir(w.cfg.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("%w: %s", ErrNoFolder, w.cfg.Dir)
	}
	if err != nil {
		return res, fmt.Errorf("filedrop: read %s: %w", w.cfg.Dir, err)
	}
	if w.cfg.Seen == nil {
		s, err := OpenSeenFile(filepath.Join(w.cfg.StateDir, "seen"))
		if err != nil {
			return res, err
		}
		w.cfg.Seen = s
	}
	now := w.cfg.Now()
	present := map[string]bool{}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if ctx.Err() != nil {
			return res, nil
		}
		name := e.Name()
		if !e.Type().IsRegular() || ignored(name) || !w.matches(name) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		present[name] = true
		o, ok := w.obs[name]
		if !ok || o.size != info.Size() || !o.mtime.Equal(info.ModTime()) {
			w.obs[name] = observation{size: info.Size(), mtime: info.ModTime(), since: now}
			if w.cfg.Stable > 0 {
				res.Waiting++
				continue
			}
			o = w.obs[name]
		}
		if now.Sub(o.since) < w.cfg.Stable {
			res.Waiting++
			continue
		}
		switch w.process(ctx, name, info) {
		case outcomeHandled:
			res.Handled++
		case outcomeFailed:
			res.Failed++
		case outcomeDuplicate:
			res.Duplicates++
		case outcomeChanged:
			res.Waiting++
		}
	}
	for name := range w.obs {
		if !present[name] {
			delete(w.obs, name)
		}
	}
	return res, nil
}

type outcome int

const (
	outcomeHandled outcome = iota
	outcomeFailed
	outcomeDuplicate
	outcomeChanged
)

func (w *Watcher) process(ctx context.Context, name string, info fs.FileInfo) outcome {
	path := filepath.Join(w.cfg.Dir, name)
	if info.Size() > w.cfg.MaxSize {
		w.fail(name, fmt.Sprintf("file is %d bytes, over the %d byte limit for an instrument export", info.Size(), w.cfg.MaxSize))
		return outcomeFailed
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			delete(w.obs, name)
			return outcomeChanged
		}
		w.fail(name, "cannot read the file: "+err.Error())
		return outcomeFailed
	}
	if int64(len(data)) != info.Size() {
		// Still being written after all: start the stability wait again.
		delete(w.obs, name)
		return outcomeChanged
	}
	sum := sha256.Sum256(data)
	seen, err := w.cfg.Seen.Seen(sum)
	if err != nil {
		w.logf("filedrop: %s: checking seen files: %v", w.cfg.Dir, err)
		return outcomeChanged // try again next scan
	}
	if seen {
		w.logf("filedrop: %s: a file with the same content was imported before; not imported again", w.cfg.Dir)
		w.done(name)
		return outcomeDuplicate
	}
	herr := w.cfg.Handle(ctx, File{Name: name, Path: path, Data: data, SHA256: sum, ModTime: info.ModTime()})
	if herr != nil {
		w.fail(name, herr.Error())
		return outcomeFailed
	}
	if err := w.cfg.Seen.Mark(sum); err != nil {
		w.logf("filedrop: %s: remembering a handled file: %v", w.cfg.Dir, err)
	}
	w.done(name)
	return outcomeHandled
}

// done puts a handled file away: into the archive when KeepHandled, else
// deleted (a file that cannot be deleted is held until it changes).
func (w *Watcher) done(name string) {
	if w.cfg.KeepHandled {
		w.move(name, w.cfg.ArchiveDir)
		return
	}
	delete(w.obs, name)
	if err := os.Remove(filepath.Join(w.cfg.Dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.logf("filedrop: %s: deleting a handled file: %v", w.cfg.Dir, err)
		w.hold(name)
	}
}

// fail moves name to the error folder and writes the reason beside it.
func (w *Watcher) fail(name, reason string) {
	dst := w.move(name, w.cfg.ErrorDir)
	if dst == "" {
		return
	}
	note := fmt.Sprintf("%s\n\nfile: %s\nfailed: %s\n", reason, filepath.Base(dst), w.cfg.Now().UTC().Format(time.RFC3339))
	if err := os.WriteFile(dst+".error.txt", []byte(note), 0o600); err != nil {
		w.logf("filedrop: %s: writing the error note: %v", w.cfg.Dir, err)
	}
}

// move moves name into dir without overwriting, returning the new path (""
// on failure; the file then stays and is retried after it changes).
func (w *Watcher) move(name, dir string) string {
	delete(w.obs, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		w.logf("filedrop: %s: %v", w.cfg.Dir, err)
		return ""
	}
	src := filepath.Join(w.cfg.Dir, name)
	dst := filepath.Join(dir, name)
	ext := filepath.Ext(name)
	for i := 1; exists(dst) || exists(dst+".error.txt"); i++ {
		dst = filepath.Join(dir, fmt.Sprintf("%s.%d%s", strings.TrimSuffix(name, ext), i, ext))
	}
	if err := os.Rename(src, dst); err != nil {
		if !errors.Is(err, syscall.EXDEV) {
			w.logf("filedrop: %s: moving a file: %v", w.cfg.Dir, err)
			w.hold(name)
			return ""
		}
		if err := copyFile(src, dst); err != nil {
			w.logf("filedrop: %s: moving a file: %v", w.cfg.Dir, err)
			w.hold(name)
			return ""
		}
		_ = os.Remove(src)
	}
	return dst
}

// hold keeps a file that could not be moved from being handled again on
// every scan: it is observed as unchanged but with a far-future since, so
// only a change to it (or a restart) brings it back.
func (w *Watcher) hold(name string) {
	info, err := os.Stat(filepath.Join(w.cfg.Dir, name))
	if err != nil {
		return
	}
	w.obs[name] = observation{size: info.Size(), mtime: info.ModTime(), since: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (w *Watcher) matches(name string) bool {
	if w.cfg.Pattern == "" {
		return true
	}
	ok, _ := filepath.Match(strings.ToLower(w.cfg.Pattern), strings.ToLower(name))
	return ok
}

func ignored(name string) bool {
	l := strings.ToLower(name)
	return strings.HasPrefix(l, ".") || strings.HasPrefix(l, "~") ||
		strings.HasSuffix(l, ".tmp") || strings.HasSuffix(l, ".part") || strings.HasSuffix(l, ".partial") ||
		strings.HasSuffix(l, ".error.txt")
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

// SeenFile is a Seen kept in a small text file: one hex SHA-256 per line,
// appended as files are handled. It holds hashes only, never names, so it
// carries no patient data. It is safe for concurrent use.
type SeenFile struct {
	path string
	mu   sync.Mutex
	sums map[[32]byte]bool // guarded by mu
}

var _ Seen = (*SeenFile)(nil)

// OpenSeenFile loads (or starts) the seen file at path, creating its
// folder. Lines that are not hashes are skipped.
func OpenSeenFile(path string) (*SeenFile, error) {
	s := &SeenFile{path: path, sums: map[[32]byte]bool{}}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("filedrop: state folder: %w", err)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("filedrop: seen file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		h, _, _ := strings.Cut(sc.Text(), " ")
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 32 {
			continue
		}
		s.sums[[32]byte(b)] = true
	}
	return s, sc.Err()
}

// Seen reports whether sum was marked.
func (s *SeenFile) Seen(sum [32]byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sums[sum], nil
}

// Mark records sum in memory and appends it to the file.
func (s *SeenFile) Mark(sum [32]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sums[sum] {
		return nil
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("filedrop: seen file: %w", err)
	}
	_, werr := fmt.Fprintf(f, "%x %s\n", sum, time.Now().UTC().Format(time.RFC3339))
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("filedrop: seen file: %w", err)
	}
	s.sums[sum] = true
	return nil
}
