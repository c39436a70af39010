// Package atomicfile writes files so that a crash or power cut leaves
// either the old file or the new one, never a torn mix: the content goes
// to a temporary file beside the target, is synced to disk, and is then
// renamed (or linked) into place, and the directory is synced.
package atomicfile

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Replace writes what r yields to path with mode perm, replacing any file
// there.
func Replace(path string, r io.Reader, perm os.FileMode) error {
	tmp, err := synced(path, r, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // fails harmlessly after the rename
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(path)
	return nil
}

// ReplaceBytes is Replace for content in memory.
func ReplaceBytes(path string, b []byte, perm os.FileMode) error {
	return Replace(path, bytes.NewReader(b), perm)
}

// Create writes b to path with mode perm only when path does not exist
// yet; otherwise it returns an error wrapping fs.ErrExist. A file that
// appears at path while b is written is not replaced either.
func Create(path string, b []byte, perm os.FileMode) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), fs.ErrExist)
	}
	tmp, err := synced(path, bytes.NewReader(b), perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	syncDir(path)
	return nil
}

// synced writes r to a new temporary file beside path with mode perm,
// synced to disk, and returns its name.
func synced(path string, r io.Reader, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	err = f.Chmod(perm)
	if err == nil {
		_, err = io.Copy(f, r)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// syncDir syncs path's directory, so that the rename itself is durable
// (best effort: not every system can sync a directory).
func syncDir(path string) {
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
