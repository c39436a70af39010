package main

// Acceptance test of the instrument path: the devsim binary simulates an
// instrument on a real pty, `examlane devices listen` (dispatched in
// process) reads it, and every transmission devsim reports must come out as
// the JSON line `devices parse` would print for the clean frame, or be
// refused with a message on standard error. Real ptys, real bytes.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/examlane/examlane/devices/codec"
)

var (
	devsimOnce sync.Once
	devsimPath string
	devsimErr  error
)

// devsimBinary builds cmd/devsim once per test run.
func devsimBinary(t *testing.T) string {
	t.Helper()
	devsimOnce.Do(func() {
		// One fixed place, rebuilt (cheaply, from the build cache) by every
		// run, so that runs do not leave binaries behind.
		dir := filepath.Join(os.TempDir(), "examlane-test-devsim")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			devsimErr = err
			return
		}
		devsimPath = filepath.Join(dir, "devsim")
		tmp := fmt.Sprintf("%s.%d", devsimPath, os.Getpid())
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		out, err := exec.Command(goTool, "build", "-o", tmp, "../devsim").CombinedOutput()
		if err != nil {
			devsimErr = fmt.Errorf("go build devsim: %v\n%s", err, out)
			return
		}
		devsimErr = os.Rename(tmp, devsimPath) // atomic: concurrent test runs never see half a binary
	})
	if devsimErr != nil {
		t.Fatal(devsimErr)
	}
	return devsimPath
}

// syncBuffer is a goroutine-safe output buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sim is a running devsim process.
type sim struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // stdout lines after the "device:" line
	path  string
	errs  *syncBuffer
	done  chan error
}

func startDevsim(t *testing.T, args ...string) *sim {
	t.Helper()
	cmd := exec.Command(devsimBinary(t), args...)
	s := &sim{cmd: cmd, lines: make(chan string, 100), errs: &syncBuffer{}, done: make(chan error, 1)}
	var err error
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = s.errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "device: ") {
		cmd.Process.Kill()
		t.Fatalf("devsim did not print its device: %q; stderr %s", sc.Text(), s.errs.String())
	}
	s.path = strings.TrimPrefix(sc.Text(), "device: ")
	go func() {
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		s.stdin.Close()
		cmd.Process.Kill()
		<-s.done
	})
	return s
}

// listener is `examlane devices listen` running in process.
type listener struct {
	out, errs *syncBuffer
	cancel    context.CancelFunc
	code      chan int
}

func startListen(t *testing.T, args ...string) *listener {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	l := &listener{out: &syncBuffer{}, errs: &syncBuffer{}, cancel: cancel, code: make(chan int, 1)}
	e := &env{Stdin: strings.NewReader(""), Stdout: l.out, Stderr: l.errs}
	go func() { l.code <- dispatch(ctx, e, append([]string{"devices", "listen"}, args...)) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-l.code:
		case <-time.After(10 * time.Second):
			t.Error("devices listen did not stop")
		}
	})
	return l
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sentRecord is one devsim --json line about a transmission.
type sentRecord struct {
	Seq      int      `json:"seq"`
	Attempt  int      `json:"attempt"`
	Faults   []string `json:"faults"`
	Expect   string   `json:"expect"`
	Note     string   `json:"note"`
	FrameHex string   `json:"frame_hex"`
}

// comparable drops the fields of a report that depend on where it was read.
func comparableReport(t *testing.T, line []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("not a JSON line: %v: %s", err, line)
	}
	delete(m, "file")
	return m
}

// expectedReport is what `devices parse` prints for a clean frame.
func expectedReport(t *testing.T, dialect, frameHex string) map[string]any {
	t.Helper()
	frame, err := hex.DecodeString(frameHex)
	if err != nil {
		t.Fatal(err)
	}
	c, err := codec.Lookup(dialect)
	if err != nil {
		t.Fatal(err)
	}
	res := codec.DecodeInput(c, frame)
	if len(res) != 1 || res[0].Err != nil {
		t.Fatalf("devsim's clean frame does not decode: %+v", res)
	}
	var b bytes.Buffer
	codec.WriteReport(&b, codec.NewReport("x", res[0].Capture))
	return comparableReport(t, b.Bytes())
}

// acceptanceProfiles shortens the frame timeouts so that the stalled-frame
// cases run quickly; everything else is the built-in profile.
const acceptanceProfiles = `
[[profile]]
name = "acc-rt5100"
base = "nidek-rt5100"
inter_byte = "400ms"

[[profile]]
name = "acc-rt3100"
base = "nidek-rt3100"
inter_byte = "400ms"

[[profile]]
name = "acc-lm1000"
base = "nidek-lm1000"
inter_byte = "400ms"

[[profile]]
name = "acc-ark1"
base = "nidek-ark1"
inter_byte = "400ms"

# DCS keeps the standard's 5 s frame timeout (the DCS session does not
# take overrides), so its long pause is longer.
[[profile]]
name = "acc-dcs"
base = "generic-dcs-lensmeter"
`

func TestDevicesListenAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds devsim and runs instruments on ptys")
	}
	devsimBinary(t)
	profiles := filepath.Join(t.TempDir(), "instruments.toml")
	if err := os.WriteFile(profiles, []byte(acceptanceProfiles), 0o600); err != nil {
		t.Fatal(err)
	}
	type dialectCase struct {
		profile, dialect string
		checksum         bool
		longPause        string // longer than the frame timeout
	}
	dialects := []dialectCase{
		{"acc-rt5100", "nidek-rt", false, "700ms"},    // 2400 7E2, DTR/DSR
		{"acc-rt3100", "nidek-rt", false, "700ms"},    // 9600 8O1, no handshake
		{"acc-lm1000", "nidek-dblock", true, "700ms"}, // lensmeter D-block with checksum
		{"acc-ark1", "nidek-dblock", true, "700ms"},   // autorefractor D-block
		{"acc-dcs", "dcs", true, "5300ms"},            // DCS with ACK/NAK
	}
	faults := []struct {
		name  string
		flags []string
		needs func(dialectCase) bool
	}{
		{"clean", nil, nil},
		{"noise", []string{"--noise", "40"}, nil},
		{"split", []string{"--split", "5"}, nil},
		{"short-pause", []string{"--delay-mid-frame", "150ms"}, nil},
		{"long-pause", []string{"--delay-mid-frame", "LONG"}, nil},
		{"drop", []string{"--drop"}, nil},
		{"bad-checksum", []string{"--bad-checksum"}, func(d dialectCase) bool { return d.checksum }},
		{"garble", []string{"--garble"}, nil},
		{"all-benign", []string{"--noise", "25", "--split", "9", "--delay-mid-frame", "100ms"}, nil},
	}
	sem := make(chan struct{}, 3) // ptys and processes, not CPU, bound this
	for _, d := range dialects {
		for _, f := range faults {
			if f.needs != nil && !f.needs(d) {
				continue
			}
			t.Run(d.profile+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				sem <- struct{}{}
				defer func() { <-sem }()
				flags := append([]string(nil), f.flags...)
				for i := range flags {
					if flags[i] == "LONG" {
						flags[i] = d.longPause
					}
				}
				runAcceptanceCase(t, profiles, d.profile, d.dialect, flags)
			})
		}
	}
}

// runAcceptanceCase sends four measurements, the faults on the 2nd and
// 4th, and checks what listen printed against what devsim sent.
func runAcceptanceCase(t *testing.T, profiles, prof, dialect string, faultFlags []string) {
	link := filepath.Join(t.TempDir(), "tty")
	args := append([]string{"--profile", prof, "--profiles", profiles, "--json", "--seed", "42", "--link", link, "--every", "2"}, faultFlags...)
	s := startDevsim(t, args...)
	l := startListen(t, "--profile", prof, "--profiles", profiles, "--port", s.path)
	waitFor(t, "listen to connect", 10*time.Second, func() bool { return strings.Contains(l.errs.String(), ": connected on ") })

	const measurements = 4
	var sent []sentRecord
	for i := 1; i <= measurements; i++ {
		fmt.Fprintln(s.stdin, "m")
		// Read devsim's lines until this measurement is finished (an
		// ACK/NAK instrument may send it more than once).
		for done := false; !done; {
			select {
			case line, ok := <-s.lines:
				if !ok {
					t.Fatalf("devsim exited: %s", s.errs.String())
				}
				var r sentRecord
				if err := json.Unmarshal([]byte(line), &r); err != nil || r.Seq == 0 {
					continue // a "received" line
				}
				sent = append(sent, r)
				done = r.Seq == i && r.Note != "nak"
			case <-time.After(15 * time.Second):
				t.Fatalf("devsim sent nothing for measurement %d; stderr %s", i, s.errs.String())
			}
		}
	}
	// One measurement gives one capture at most, however often an ACK/NAK
	// instrument sent it: the first attempt expected intact is the one the
	// lane must show (a resend of the same bytes is recognised as such).
	var wantCaptures []map[string]any
	rejected := 0
	captured := map[int]bool{}
	for _, r := range sent {
		switch {
		case r.Expect == "intact" && !captured[r.Seq]:
			captured[r.Seq] = true
			wantCaptures = append(wantCaptures, expectedReport(t, dialect, r.FrameHex))
		case r.Expect == "rejected":
			rejected++
		}
	}
	// Wait until every expected capture is out and every refusal reported
	// (a stalled last frame needs its inter-byte limit to pass).
	captures := func() []string {
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(l.out.String()), "\n") {
			if line != "" {
				out = append(out, line)
			}
		}
		return out
	}
	rejections := func() int { return strings.Count(l.errs.String(), ": rejected") }
	waitFor(t, fmt.Sprintf("%d captures and %d rejections (sent %+v)", len(wantCaptures), rejected, sent), 15*time.Second, func() bool {
		return len(captures()) >= len(wantCaptures) && rejections() >= rejected
	})
	time.Sleep(600 * time.Millisecond) // anything late (a wrongly accepted frame) shows up now
	got := captures()
	if len(got) != len(wantCaptures) {
		t.Fatalf("listen printed %d captures, devsim sent %d intact measurements\nstdout:\n%s\nstderr:\n%s", len(got), len(wantCaptures), l.out.String(), l.errs.String())
	}
	for i, line := range got {
		if g := comparableReport(t, []byte(line)); !reflect.DeepEqual(g, wantCaptures[i]) {
			t.Errorf("capture %d differs from the frame devsim sent:\n got %v\nwant %v", i+1, g, wantCaptures[i])
		}
	}
	for _, r := range sent {
		if r.Expect == "rejected" && len(r.Faults) == 0 {
			t.Errorf("devsim expected a clean frame to be rejected: %+v", r)
		}
	}
	if rejected == 0 && rejections() > 0 {
		t.Errorf("clean transmissions were refused:\n%s", l.errs.String())
	}
	if strings.Contains(l.errs.String(), "panic") {
		t.Errorf("stderr mentions a panic:\n%s", l.errs.String())
	}
}

// TestDevicesListenReconnects unplugs the simulated instrument and plugs a
// new one in under the same name; listen reports it and goes on.
func TestDevicesListenReconnects(t *testing.T) {
	if testing.Short() {
		t.Skip("builds devsim")
	}
	link := filepath.Join(t.TempDir(), "tty")
	s1 := startDevsim(t, "--profile", "nidek-lm1000", "--json", "--seed", "1", "--link", link)
	l := startListen(t, "--profile", "nidek-lm1000", "--port", link)
	waitFor(t, "connect", 10*time.Second, func() bool { return strings.Contains(l.errs.String(), ": connected on ") })
	fmt.Fprintln(s1.stdin, "m")
	waitFor(t, "first capture", 10*time.Second, func() bool { return strings.Count(l.out.String(), "\n") == 1 })
	s1.stdin.Close()
	s1.cmd.Process.Kill() // unplug
	waitFor(t, "disconnect", 10*time.Second, func() bool { return strings.Contains(l.errs.String(), "disconnected") })
	s2 := startDevsim(t, "--profile", "nidek-lm1000", "--json", "--seed", "2", "--link", link)
	waitFor(t, "reconnect", 15*time.Second, func() bool { return strings.Count(l.errs.String(), ": connected on ") >= 2 })
	// Press PRINT until the reading comes through: right after the replug
	// the lane may still be opening the port, and bytes sent before it
	// opened are dropped, as on a real cable.
	waitFor(t, "second capture", 15*time.Second, func() bool {
		fmt.Fprintln(s2.stdin, "m")
		time.Sleep(300 * time.Millisecond)
		return strings.Count(l.out.String(), "\n") >= 2
	})
}

func TestDevicesListenOnceAndUsage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds devsim")
	}
	s := startDevsim(t, "--profile", "generic-dcs-lensmeter", "--json", "--seed", "5", "--interval", "200ms")
	var out, errOut syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := dispatch(ctx, &env{Stdout: &out, Stderr: &errOut}, []string{"devices", "listen", "--profile", "generic-dcs-lensmeter", "--port", s.path, "--once"})
	if code != 0 || strings.Count(out.String(), "\n") != 1 || !strings.Contains(out.String(), `"format":"dcs"`) {
		t.Errorf("--once: code %d\nstdout %s\nstderr %s", code, out.String(), errOut.String())
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"devices", "listen"}, 2, "--profile is required"},
		{[]string{"devices", "listen", "--profile", "nope"}, 2, "not found"},
		{[]string{"devices", "listen", "--profile", "nidek-rt5100"}, 2, "give --port"},
		{[]string{"devices", "listen", "--profile", "topcon-kr1"}, 2, "give --folder"},
		{[]string{"devices", "listen", "--profile", "nidek-lm1000", "--port", filepath.Join(t.TempDir(), "none"), "--timeout", "300ms"}, 1, "no capture within"},
	} {
		var o, e syncBuffer
		if got := dispatch(ctx, &env{Stdout: &o, Stderr: &e}, tt.args); got != tt.code || !strings.Contains(e.String(), tt.want) {
			t.Errorf("%v: code %d, stderr %q; want %d and %q", tt.args, got, e.String(), tt.code, tt.want)
		}
	}
}

// TestDevicesListenFileDrop runs a simulated TOPCON instrument writing into
// a folder.
func TestDevicesListenFileDrop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds devsim")
	}
	dir := t.TempDir()
	cmd := exec.Command(devsimBinary(t), "--profile", "topcon-trk2p", "--folder", dir, "--json", "--seed", "9", "--count", "2", "--interval", "50ms", "--split", "200")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("devsim: %v", err)
	}
	var want []map[string]any
	for _, line := range strings.Split(string(out), "\n") {
		var r sentRecord
		if json.Unmarshal([]byte(line), &r) == nil && r.Seq > 0 {
			want = append(want, expectedReport(t, "joia", r.FrameHex))
		}
	}
	if len(want) != 2 {
		t.Fatalf("devsim output %s", out)
	}
	var o, e syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go dispatch(ctx, &env{Stdout: &o, Stderr: &e}, []string{"devices", "listen", "--profile", "topcon-trk2p", "--folder", dir})
	waitFor(t, "two captures", 15*time.Second, func() bool { return strings.Count(o.String(), "\n") == 2 })
	lines := strings.Split(strings.TrimSpace(o.String()), "\n")
	for i, line := range lines {
		if g := comparableReport(t, []byte(line)); !reflect.DeepEqual(g, want[i]) {
			t.Errorf("file %d:\n got %v\nwant %v", i, g, want[i])
		}
	}
	archived, _ := filepath.Glob(filepath.Join(dir, "processed", "*.xml"))
	if len(archived) != 2 {
		waitFor(t, "archive", 5*time.Second, func() bool {
			archived, _ = filepath.Glob(filepath.Join(dir, "processed", "*.xml"))
			return len(archived) == 2
		})
	}
}
