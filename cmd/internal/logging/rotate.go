package logging

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// RotatingFile is an io.Writer that appends to a file and rotates it by
// size: when a write would take the file past MaxSize, the file becomes
// NAME.1, NAME.1 becomes NAME.2 and so on, the oldest beyond MaxFiles is
// deleted, and a new NAME is started. Each Write lands whole in one file
// (slog handlers write one record per call), so a record is never split;
// a single write larger than MaxSize gets a file of its own. Files are
// created with mode 0600. RotatingFile is safe for concurrent use.
type RotatingFile struct {
	path     string
	maxSize  int64
	maxFiles int

	mu   sync.Mutex
	f    *os.File // guarded by mu; nil after a failed rotation or Close
	size int64    // guarded by mu
	done bool     // guarded by mu: closed
}

// OpenRotating opens (creating when needed) the log file path, keeping at
// most maxFiles files (the current one included) of about maxSize bytes
// each. The directory is created with mode 0700.
func OpenRotating(path string, maxSize int64, maxFiles int) (*RotatingFile, error) {
	if maxSize <= 0 || maxFiles < 1 {
		return nil, fmt.Errorf("logging: rotate %s: want a positive size and at least one file", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("logging: %w", err)
	}
	r := &RotatingFile{path: path, maxSize: maxSize, maxFiles: maxFiles}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// open opens the current file for appending. Called with mu held (or
// before r is shared).
func (r *RotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("logging: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("logging: %w", err)
	}
	r.f, r.size = f, fi.Size()
	return nil
}

// Write appends p, rotating first when p would not fit.
func (r *RotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return 0, os.ErrClosed
	}
	if r.f != nil && r.size > 0 && r.size+int64(len(p)) > r.maxSize {
		if err := r.rotate(); err != nil {
			// Keep logging into whatever is open rather than lose the
			// record; the next write tries again.
			if r.f == nil {
				return 0, err
			}
		}
	}
	if r.f == nil {
		if err := r.open(); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

// rotate shifts the files along and opens a new current file. Called with
// mu held.
func (r *RotatingFile) rotate() error {
	if err := r.f.Close(); err != nil {
		r.f = nil
		return fmt.Errorf("logging: rotate: %w", err)
	}
	r.f = nil
	var errs []error
	if r.maxFiles == 1 {
		if err := os.Remove(r.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	} else {
		oldest := r.name(r.maxFiles - 1)
		if err := os.Remove(oldest); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		for i := r.maxFiles - 2; i >= 0; i-- {
			if err := os.Rename(r.name(i), r.name(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if err := r.open(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("logging: rotate: %w", errors.Join(errs...))
	}
	return nil
}

// name returns the path of the i-th file: NAME for 0, NAME.i after.
func (r *RotatingFile) name(i int) string {
	if i == 0 {
		return r.path
	}
	return r.path + "." + strconv.Itoa(i)
}

// Sync flushes the current file to disk.
func (r *RotatingFile) Sync() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	return r.f.Sync()
}

// Close closes the current file; later writes fail with os.ErrClosed.
func (r *RotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = true
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
