package logging_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/examlane/examlane/cmd/internal/logging"
)

// readLines returns the lines of name, or nil when it does not exist.
func readLines(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func TestRotatingFileRotatesBySize(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "x.log")
	r, err := logging.OpenRotating(name, 100, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		rec := fmt.Sprintf("record %02d %s\n", i, strings.Repeat("x", 19)) // 30 bytes
		if n, err := r.Write([]byte(rec)); err != nil || n != len(rec) {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// 3 records (90 bytes) fit in a file; 10 records: 09 | 06-08 | 03-05,
	// and 00-02 went with the oldest file.
	want := map[string][]string{
		name:        {"record 09"},
		name + ".1": {"record 06", "record 07", "record 08"},
		name + ".2": {"record 03", "record 04", "record 05"},
	}
	for file, recs := range want {
		lines := readLines(t, file)
		if len(lines) != len(recs) {
			t.Errorf("%s has %d lines, want %d: %q", filepath.Base(file), len(lines), len(recs), lines)
			continue
		}
		for i, l := range lines {
			if !strings.HasPrefix(l, recs[i]) {
				t.Errorf("%s line %d = %q, want %s", filepath.Base(file), i, l, recs[i])
			}
		}
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 100 {
			t.Errorf("%s is %d bytes, over the 100 limit", filepath.Base(file), fi.Size())
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", filepath.Base(file), fi.Mode())
		}
	}
	if _, err := os.Stat(name + ".3"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a fourth file exists (%v)", err)
	}
	if _, err := r.Write([]byte("late\n")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close = %v, want os.ErrClosed", err)
	}
}

func TestRotatingFileAppendsAndOversize(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "logs", "x.log") // the directory is created
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(strings.Repeat("o", 60)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := logging.OpenRotating(name, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// 61 existing bytes + 50 > 100: the existing content is rotated away.
	if _, err := r.Write([]byte(strings.Repeat("a", 49) + "\n")); err != nil {
		t.Fatal(err)
	}
	if l := readLines(t, name+".1"); len(l) != 1 || !strings.HasPrefix(l[0], "ooo") {
		t.Errorf(".1 = %q, want the earlier content", l)
	}
	// A record larger than the limit gets a file of its own, whole.
	big := strings.Repeat("b", 250) + "\n"
	if _, err := r.Write([]byte(big)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Write([]byte("c\n")); err != nil {
		t.Fatal(err)
	}
	if l := readLines(t, name+".1"); len(l) != 1 || l[0]+"\n" != big {
		t.Errorf(".1 should hold the big record alone, has %d lines", len(l))
	}
	if l := readLines(t, name); len(l) != 1 || l[0] != "c" {
		t.Errorf("current = %q", l)
	}
}

func TestRotatingFileSingleFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "x.log")
	r, err := logging.OpenRotating(name, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, s := range []string{"first\n", "second\n", "third\n"} {
		if _, err := r.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if l := readLines(t, name); len(l) != 1 || l[0] != "third" {
		t.Errorf("single file = %q, want only the last record", l)
	}
	if _, err := os.Stat(name + ".1"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf(".1 exists with max one file (%v)", err)
	}
}

func TestOpenRotatingBadOptions(t *testing.T) {
	for _, o := range []struct {
		size  int64
		files int
	}{{0, 5}, {-1, 5}, {10, 0}} {
		if r, err := logging.OpenRotating(filepath.Join(t.TempDir(), "x.log"), o.size, o.files); err == nil {
			r.Close()
			t.Errorf("OpenRotating(size %d, files %d) succeeded", o.size, o.files)
		}
	}
}

// TestRotatingFileConcurrent logs from many goroutines through slog's JSON
// handler while the file rotates: every record arrives exactly once, whole,
// and no file exceeds the limit. Run with -race.
func TestRotatingFileConcurrent(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "x.log")
	const maxSize, writers, each = 4096, 8, 300
	r, err := logging.OpenRotating(name, maxSize, 1000) // enough files to keep all
	if err != nil {
		t.Fatal(err)
	}
	// Two handlers on one file, as when several loggers share it.
	h1 := slog.NewJSONHandler(r, nil)
	h2 := slog.NewJSONHandler(r, nil)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := slog.New(h1)
			if w%2 == 1 {
				l = slog.New(h2)
			}
			for i := range each {
				l.Info("tick", "writer", w, "i", i)
			}
		}()
	}
	wg.Wait()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(name + "*")
	if len(files) < 2 {
		t.Fatalf("only %d files: no rotation happened", len(files))
	}
	seen := map[string]bool{}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > maxSize {
			t.Errorf("%s is %d bytes", filepath.Base(f), fi.Size())
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			var rec struct {
				Msg    string `json:"msg"`
				Writer int    `json:"writer"`
				I      int    `json:"i"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Msg != "tick" {
				t.Fatalf("%s: torn record %q: %v", filepath.Base(f), sc.Text(), err)
			}
			k := fmt.Sprintf("%d/%d", rec.Writer, rec.I)
			if seen[k] {
				t.Errorf("record %s twice", k)
			}
			seen[k] = true
		}
		fh.Close()
	}
	if len(seen) != writers*each {
		var missing []string
		for w := range writers {
			for i := range each {
				if k := fmt.Sprintf("%d/%d", w, i); !seen[k] {
					missing = append(missing, k)
				}
			}
		}
		sort.Strings(missing)
		t.Errorf("%d records, want %d; missing e.g. %v", len(seen), writers*each, missing[:min(5, len(missing))])
	}
}

func BenchmarkRotatingFileWrite(b *testing.B) {
	r, err := logging.OpenRotating(filepath.Join(b.TempDir(), "x.log"), 1<<20, 3)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	rec := []byte(`{"time":"2026-01-01T00:00:00Z","level":"INFO","msg":"capture decoded","instrument":"Phoropter","bytes":412}` + "\n")
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if _, err := r.Write(rec); err != nil {
			b.Fatal(err)
		}
	}
}
