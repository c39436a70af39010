package filedrop_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/examlane/examlane/devices/filedrop"
)

// clock is a manual clock for the stability wait.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type recorder struct {
	mu    sync.Mutex
	files []filedrop.File
	fail  func(filedrop.File) error
}

func (r *recorder) handle(_ context.Context, f filedrop.File) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files = append(r.files, f)
	if r.fail != nil {
		return r.fail(f)
	}
	return nil
}

func (r *recorder) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.files) }

// newWatcher watches dir, keeping handled files in the archive so that
// tests can see where each went (TestHandledFilesDeleted covers the
// default).
func newWatcher(t *testing.T, dir string, r *recorder, c *clock, pattern string) *filedrop.Watcher {
	t.Helper()
	w, err := filedrop.New(filedrop.Config{Dir: dir, Pattern: pattern, Stable: 2 * time.Second, Handle: r.handle, Now: c.Now, KeepHandled: true})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func scan(t *testing.T, w *filedrop.Watcher) filedrop.Result {
	t.Helper()
	res, err := w.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func write(t *testing.T, path, s string, flag int) {
	t.Helper()
	f, err := os.OpenFile(path, flag|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

const xml1 = `<?xml version="1.0"?><Ophthalmology><Common><ModelName>KR-1</ModelName></Common></Ophthalmology>`

func TestPartialWriteWaitsUntilStable(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	r := &recorder{}
	w := newWatcher(t, dir, r, c, "*.xml")
	name := filepath.Join(dir, "M-Serial0001_TOPCON_KR-1.xml")

	write(t, name, xml1[:40], os.O_TRUNC)
	if res := scan(t, w); res.Waiting != 1 || r.count() != 0 {
		t.Fatalf("first sight: %+v, handled %d", res, r.count())
	}
	c.Add(1500 * time.Millisecond)
	write(t, name, xml1[40:70], os.O_APPEND) // the copy goes on
	scan(t, w)
	c.Add(1500 * time.Millisecond) // 3 s since the first byte, 1.5 s since the last
	if res := scan(t, w); res.Waiting != 1 || r.count() != 0 {
		t.Fatalf("changed 1.5 s ago: %+v, handled %d", res, r.count())
	}
	write(t, name, xml1[70:], os.O_APPEND)
	scan(t, w)
	c.Add(2 * time.Second)
	if res := scan(t, w); res.Handled != 1 {
		t.Fatalf("stable for 2 s: %+v", res)
	}
	if r.count() != 1 || string(r.files[0].Data) != xml1 {
		t.Fatalf("handled %d files, data %q", r.count(), r.files[0].Data)
	}
	if _, err := os.Stat(filepath.Join(dir, "processed", filepath.Base(name))); err != nil {
		t.Errorf("not archived: %v", err)
	}
	if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file left in the drop folder: %v", err)
	}
}

func TestDuplicatesNeverHandledTwice(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	r := &recorder{}
	w := newWatcher(t, dir, r, c, "")
	for i, name := range []string{"a.xml", "b.xml"} { // same content, two names
		write(t, filepath.Join(dir, name), xml1, os.O_TRUNC)
		scan(t, w)
		c.Add(3 * time.Second)
		res := scan(t, w)
		if i == 1 && res.Duplicates != 1 {
			t.Errorf("second copy: %+v, want a duplicate", res)
		}
	}
	// A new watcher (a restart) remembers through the state file.
	write(t, filepath.Join(dir, "a.xml"), xml1, os.O_TRUNC)
	w2 := newWatcher(t, dir, r, c, "")
	scan(t, w2)
	c.Add(3 * time.Second)
	if res := scan(t, w2); res.Duplicates != 1 {
		t.Errorf("after restart: %+v, want a duplicate", res)
	}
	if r.count() != 1 {
		t.Errorf("handled %d times, want 1", r.count())
	}
	archived, _ := os.ReadDir(filepath.Join(dir, "processed"))
	if len(archived) != 3 {
		t.Errorf("archive holds %d files, want 3 (a.xml, b.xml, a.1.xml)", len(archived))
	}
	if _, err := os.Stat(filepath.Join(dir, "processed", "a.1.xml")); err != nil {
		t.Errorf("name clash not resolved: %v", err)
	}
	state, _ := os.ReadFile(filepath.Join(dir, ".examlane", "seen"))
	if strings.Contains(string(state), "a.xml") || len(strings.Fields(string(state))) != 2 {
		t.Errorf("seen file = %q, want one hash line and no names", state)
	}
}

func TestFailedFileGoesToErrorFolderWithReason(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	r := &recorder{fail: func(filedrop.File) error { return errors.New("joia: no <Ophthalmology> root") }}
	w := newWatcher(t, dir, r, c, "*.xml")
	write(t, filepath.Join(dir, "bad.xml"), "<html/>", os.O_TRUNC)
	scan(t, w)
	c.Add(2 * time.Second)
	if res := scan(t, w); res.Failed != 1 {
		t.Fatalf("%+v, want 1 failed", res)
	}
	reason, err := os.ReadFile(filepath.Join(dir, "failed", "bad.xml.error.txt"))
	if err != nil || !strings.Contains(string(reason), "no <Ophthalmology> root") {
		t.Errorf("error note = %q, %v", reason, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "failed", "bad.xml")); err != nil {
		t.Errorf("failed file not moved: %v", err)
	}
	// A failed file is not remembered: a corrected export with the same
	// name is handled.
	r.fail = nil
	write(t, filepath.Join(dir, "bad.xml"), xml1, os.O_TRUNC)
	scan(t, w)
	c.Add(2 * time.Second)
	if res := scan(t, w); res.Handled != 1 {
		t.Errorf("corrected file: %+v", res)
	}
}

func TestIgnoresTempHiddenAndOtherFiles(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	r := &recorder{}
	w := newWatcher(t, dir, r, c, "*.xml")
	for _, n := range []string{".hidden.xml", "~lock.xml", "copying.xml.part", "x.tmp", "image.jpg"} {
		write(t, filepath.Join(dir, n), "x", os.O_TRUNC)
	}
	os.Mkdir(filepath.Join(dir, "sub.xml"), 0o700)
	write(t, filepath.Join(dir, "UPPER.XML"), xml1, os.O_TRUNC)
	scan(t, w)
	c.Add(2 * time.Second)
	if res := scan(t, w); res.Handled != 1 || r.count() != 1 || r.files[0].Name != "UPPER.XML" {
		t.Errorf("%+v handled %v", res, r.files)
	}
}

func TestMaxSize(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	r := &recorder{}
	w, err := filedrop.New(filedrop.Config{Dir: dir, MaxSize: 10, Stable: time.Second, Handle: r.handle, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "big.xml"), xml1, os.O_TRUNC)
	scan(t, w)
	c.Add(time.Second)
	if res := scan(t, w); res.Failed != 1 || r.count() != 0 {
		t.Errorf("%+v", res)
	}
}

func TestMissingFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "share")
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	r := &recorder{}
	w := newWatcher(t, dir, r, c, "")
	if _, err := w.Scan(context.Background()); !errors.Is(err, filedrop.ErrNoFolder) {
		t.Fatalf("Scan = %v, want ErrNoFolder", err)
	}
	os.Mkdir(dir, 0o700)
	write(t, filepath.Join(dir, "a.xml"), xml1, os.O_TRUNC)
	scan(t, w)
	c.Add(2 * time.Second)
	if res := scan(t, w); res.Handled != 1 {
		t.Errorf("%+v", res)
	}
}

func TestRunRealClock(t *testing.T) {
	dir := t.TempDir()
	r := &recorder{}
	w, err := filedrop.New(filedrop.Config{Dir: dir, Stable: 30 * time.Millisecond, Poll: 10 * time.Millisecond, Handle: r.handle})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, nil) }()
	write(t, filepath.Join(dir, "a.xml"), xml1, os.O_TRUNC)
	deadline := time.Now().Add(5 * time.Second)
	for r.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if r.count() != 1 {
		t.Errorf("handled %d", r.count())
	}
}

// TestRunReportsFirstScan: Run tells its caller at once that the folder
// is watched (onErr(nil) after the first good scan), then reports a folder
// that went away and its return, each once per change.
func TestRunReportsFirstScan(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "drop")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	w, err := filedrop.New(filedrop.Config{Dir: dir, Poll: 5 * time.Millisecond, Handle: func(context.Context, filedrop.File) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func(err error) { got <- err }) }()
	next := func() error {
		t.Helper()
		select {
		case err := <-got:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("no report from Run")
			return nil
		}
	}
	if err := next(); err != nil {
		t.Fatalf("first report = %v, want nil (folder watched)", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := next(); !errors.Is(err, filedrop.ErrNoFolder) {
		t.Fatalf("after removal: %v, want ErrNoFolder", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for err := next(); err != nil; err = next() {
		if !errors.Is(err, filedrop.ErrNoFolder) {
			t.Fatalf("while missing: %v", err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	select {
	case err := <-got:
		t.Errorf("report after the folder was back: %v", err)
	default:
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := filedrop.New(filedrop.Config{Handle: func(context.Context, filedrop.File) error { return nil }}); err == nil {
		t.Error("no folder accepted")
	}
	if _, err := filedrop.New(filedrop.Config{Dir: "x"}); err == nil {
		t.Error("no handler accepted")
	}
	if _, err := filedrop.New(filedrop.Config{Dir: "x", Pattern: "[", Handle: func(context.Context, filedrop.File) error { return nil }}); err == nil {
		t.Error("bad pattern accepted")
	}
}

// TestHandledFilesDeleted: by default a handled file (and a duplicate) is
// deleted, leaving no plain copy of patient data on disk; a failed one is
// kept for a person with its reason.
func TestHandledFilesDeleted(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	r := &recorder{fail: func(f filedrop.File) error {
		if f.Name == "bad.xml" {
			return errors.New("not a measurement")
		}
		return nil
	}}
	w, err := filedrop.New(filedrop.Config{Dir: dir, Stable: 2 * time.Second, Handle: r.handle, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "a.xml"), xml1, os.O_TRUNC)
	write(t, filepath.Join(dir, "copy-of-a.xml"), xml1, os.O_TRUNC)
	write(t, filepath.Join(dir, "bad.xml"), "<x/>", os.O_TRUNC)
	scan(t, w)
	c.Add(3 * time.Second)
	if res := scan(t, w); res.Handled != 1 || res.Duplicates != 1 || res.Failed != 1 {
		t.Fatalf("scan: %+v, want one handled, one duplicate, one failed", res)
	}
	for _, name := range []string{"a.xml", "copy-of-a.xml"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left in the drop folder: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "processed")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an archive was made: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "failed", "bad.xml.error.txt")); err != nil {
		t.Errorf("the failed file's reason is missing: %v", err)
	}
}
