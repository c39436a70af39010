package main

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The end-to-end test runs the real examlane binary in demo mode on an X
// display (Xvfb under `make test`), drives it with xdotool like a person
// at the keyboard, screenshots every step with ImageMagick's import and
// checks the outcome in the demo's data. It needs DISPLAY, xdotool and
// import; without them it skips and says why.
//
// Screenshots are test artefacts, never committed: they go to
// $EXAMLANE_ARTEFACTS/e2e when set, else to the test's temporary folder,
// and the test prints where.

// e2eApp is one run of the binary in demo mode.
type e2eApp struct {
	t       testing.TB
	bin     string
	env     []string
	demoDir string
	ready   string
	args    []string // examlane's arguments: "demo" unless set
	cmd     *exec.Cmd
	out     *bytes.Buffer
	win     string // X window id
	shots   string // screenshot folder
}

// e2eTools skips tb unless a display, xdotool and import are at hand.
func e2eTools(tb testing.TB) {
	tb.Helper()
	if os.Getenv("DISPLAY") == "" {
		if _, err := exec.LookPath("xvfb-run"); err == nil {
			tb.Skip("no DISPLAY: run under xvfb-run (make test does), e.g. xvfb-run -a -s '-screen 0 1600x1000x24' go test -run E2E ./cmd/examlane")
		}
		tb.Skip("no DISPLAY and no xvfb-run: the end-to-end test needs an X display")
	}
	for _, tool := range []string{"xdotool", "import"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Skipf("%s not installed (apt-get install xdotool imagemagick): the end-to-end test drives the app with it", tool)
		}
	}
}

// e2eBinary builds examlane into a temporary folder (cached builds are
// quick) and returns its path.
func e2eBinary(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "examlane")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// e2eArtefacts returns the folder for screenshots, made fresh.
func e2eArtefacts(tb testing.TB, name string) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "artefacts")
	if a := os.Getenv("EXAMLANE_ARTEFACTS"); a != "" {
		dir = filepath.Join(a, name)
		_ = os.RemoveAll(dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// newE2EApp prepares a run of bin in its own HOME and data folders.
func newE2EApp(tb testing.TB, bin, home, shots string) *e2eApp {
	a := &e2eApp{t: tb, bin: bin, shots: shots, demoDir: filepath.Join(home, "data", "examlane-demo"),
		ready: filepath.Join(home, "ready"), args: []string{"demo"}}
	a.env = append(os.Environ(),
		"HOME="+home,
		"XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_STATE_HOME="+filepath.Join(home, "state"),
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"LANG=C.UTF-8", "LANGUAGE=en",
		readyFileEnv+"="+a.ready,
	)
	return a
}

// start launches `examlane demo` and waits for the sign-in window; it
// returns the time from launch to the ready file.
func (a *e2eApp) start(timeout time.Duration) time.Duration {
	a.t.Helper()
	_ = os.Remove(a.ready)
	a.out = &bytes.Buffer{}
	a.cmd = exec.Command(a.bin, a.args...)
	a.cmd.Env = a.env
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	begin := time.Now()
	if err := a.cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	a.waitFor(timeout, "the sign-in window (ready file)", func() bool {
		_, err := os.Stat(a.ready)
		return err == nil
	})
	took := time.Since(begin)
	out, err := exec.Command("xdotool", "search", "--sync", "--onlyvisible", "--pid", strconv.Itoa(a.cmd.Process.Pid)).Output()
	if err != nil {
		a.t.Fatalf("xdotool search: %v", err)
	}
	a.win = strings.Fields(string(out))[0]
	a.xdo("windowfocus", "--sync", a.win)
	return took
}

// stop ends the app as the window manager's close would (SIGTERM) and
// waits for it.
func (a *e2eApp) stop() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- a.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			a.t.Errorf("examlane exited: %v\n%s", err, a.out)
		}
	case <-time.After(20 * time.Second):
		_ = a.cmd.Process.Kill()
		<-done
		a.t.Errorf("examlane did not stop within 20 s of SIGTERM")
	}
	a.cmd = nil
}

// rss returns the process's resident memory in MiB.
func (a *e2eApp) rss() float64 {
	a.t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", a.cmd.Process.Pid))
	if err != nil {
		a.t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	a.t.Fatal("no VmRSS")
	return 0
}

func (a *e2eApp) waitFor(d time.Duration, what string, ok func() bool) {
	a.t.Helper()
	end := time.Now().Add(d)
	for !ok() {
		if a.cmd.ProcessState != nil {
			a.t.Fatalf("examlane exited while waiting for %s:\n%s", what, a.out)
		}
		if time.Now().After(end) {
			a.t.Fatalf("timed out after %s waiting for %s; app output:\n%s", d, what, a.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// xdo runs xdotool.
func (a *e2eApp) xdo(args ...string) {
	a.t.Helper()
	if out, err := exec.Command("xdotool", args...).CombinedOutput(); err != nil {
		a.t.Fatalf("xdotool %v: %v\n%s", args, err, out)
	}
}

// keys presses keys one after another (xdotool names: Tab, Return,
// ctrl+l, space).
func (a *e2eApp) keys(keys ...string) {
	a.t.Helper()
	for _, k := range keys {
		a.xdo("key", "--clearmodifiers", k)
		time.Sleep(150 * time.Millisecond)
	}
}

// typeText types text into the focused field.
func (a *e2eApp) typeText(text string) {
	a.t.Helper()
	a.xdo("type", "--delay", "20", "--", text)
	time.Sleep(100 * time.Millisecond)
}

// cli runs an examlane command against the demo (same data folders).
func (a *e2eApp) cli(args ...string) (string, error) {
	cmd := exec.Command(a.bin, args...)
	cmd.Env = a.env
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (a *e2eApp) mustCLI(args ...string) string {
	a.t.Helper()
	out, err := a.cli(args...)
	if err != nil {
		a.t.Fatalf("examlane %v: %v\n%s", args, err, out)
	}
	return out
}

// status returns the demo's control status as key → value.
func (a *e2eApp) status() map[string]string {
	out, err := a.cli("demo", "status")
	m := map[string]string{}
	if err != nil {
		return m
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			m[f[0]] = f[1]
		}
	}
	return m
}

// signIn types login, password and the account's current code on the
// sign-in form (the cursor is in the user name field).
func (a *e2eApp) signIn(login string) {
	a.t.Helper()
	code := a.mustCLI("demo", "totp", login)
	a.typeText(login)
	a.keys("Return")
	a.typeText(demoPassword)
	a.keys("Return")
	a.typeText(code)
	a.keys("Return")
	time.Sleep(1500 * time.Millisecond) // online sign-in and the worklist load
}

// shot saves a screenshot of the window as NAME.png and fails when it is
// blank: a window that drew has many colours and differs between its
// halves.
func (a *e2eApp) shot(name string) string {
	a.t.Helper()
	time.Sleep(700 * time.Millisecond) // let the frame after the last change draw
	path := filepath.Join(a.shots, name+".png")
	if out, err := exec.Command("import", "-window", a.win, path).CombinedOutput(); err != nil {
		a.t.Fatalf("import: %v\n%s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		a.t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		a.t.Fatalf("%s: %v", path, err)
	}
	if n := distinctColours(img); n < 64 {
		a.t.Errorf("%s: only %d distinct colours: the window looks blank", name, n)
	}
	a.t.Logf("screenshot %s", path)
	return path
}

// distinctColours counts the colours of img (up to 10,000).
func distinctColours(img image.Image) int {
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if len(seen) >= 10000 {
				return len(seen)
			}
		}
	}
	return len(seen)
}

// demoPassword is the demo accounts' shared password (synthetic).
const demoPassword = "quiet-lantern-harbor"

// TestE2EDemoVisit is one visit through the real app: the technician
// signs in, opens the first chart of the day and receives a simulated
// autorefraction into it; the practice server goes down, a tonometer
// reading is still filed (queued), the lane is locked; the server comes
// back and the queue drains; the optometrist signs the final Rx with the
// keyboard; the optician measures the glasses on the lensmeter, which
// verifies them against it. Each step is screenshotted; the data is then
// checked in the lane's store and audit log.
func TestE2EDemoVisit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the desktop app")
	}
	e2eTools(t)
	begin := time.Now()
	bin := e2eBinary(t)
	shots := e2eArtefacts(t, "e2e")
	t.Logf("screenshots in %s", shots)
	home := t.TempDir()
	a := newE2EApp(t, bin, home, shots)
	defer a.stop()
	took := a.start(90 * time.Second) // the first run seeds the demo practice
	t.Logf("first start (seeding the demo practice) to the sign-in window: %s", took.Round(time.Millisecond))
	a.waitFor(60*time.Second, "the first sync (online)", func() bool { return a.status()["sync"] == "online" })
	a.shot("01-sign-in")

	// Technician.
	a.signIn("alex.morgan")
	a.shot("02-worklist")
	a.keys("Down", "Return")
	time.Sleep(time.Second)
	a.keys("ctrl+2")
	if out := a.mustCLI("demo", "measure", "autorefractor"); !strings.Contains(out, "for the open chart") {
		t.Fatalf("autorefraction: %s", out)
	}
	a.shot("03-pretest-autorefraction")
	a.keys("a") // accept the reading

	// The practice server goes down mid-visit: the lane carries on.
	a.mustCLI("demo", "outage", "on")
	a.waitFor(30*time.Second, "the lane to notice the outage", func() bool { return a.status()["sync"] == "offline" })
	if out := a.mustCLI("demo", "measure", "tonometer"); !strings.Contains(out, "for the open chart") {
		t.Fatalf("tonometry while offline: %s", out)
	}
	a.keys("a")
	if q := a.status()["queued"]; q == "0" || q == "" {
		t.Errorf("queued %q while the server is down, want changes waiting", q)
	}
	a.shot("04-offline-reading-saved")

	a.keys("ctrl+l")
	a.shot("05-locked")

	// The server returns: the queue drains.
	a.mustCLI("demo", "outage", "off")
	a.waitFor(60*time.Second, "the queue to drain after the outage", func() bool {
		st := a.status()
		return st["sync"] == "online" && st["queued"] == "0"
	})

	// Optometrist: "Not you?" on the lock screen, then sign in.
	a.keys("Tab", "Tab", "space")
	a.shot("06-sign-in-as-someone-else")
	a.signIn("daniel.osei")
	a.keys("Down", "Return")
	time.Sleep(time.Second)
	a.keys("ctrl+3")
	a.shot("07-exam")
	// From the final Rx (Ctrl+E), back to "Autorefraction → Subjective",
	// then on to "Subjective → Final", as an optometrist who accepts the
	// autorefraction would; then PD, lens, validity, Save draft, Sign Rx.
	a.keys("ctrl+e", "shift+Tab", "shift+Tab", "shift+Tab", "shift+Tab", "shift+Tab", "shift+Tab", "shift+Tab", "space")
	a.keys("Tab", "Tab", "Tab", "space")
	a.keys("ctrl+e", "Tab", "Tab")
	a.typeText("63")
	a.keys("Tab", "Tab", "Tab", "Tab", "space")
	time.Sleep(time.Second)
	a.shot("08-final-rx-signed")
	if out, err := a.cli("demo", "sync"); err != nil {
		t.Errorf("sync after the Rx was signed: %v\n%s", err, out)
	}
	if st := a.status(); st["sync"] != "online" || st["queued"] != "0" {
		t.Errorf("after the exam and a sync cycle: %v, want online with nothing queued", st)
	}

	// Optician: verify the glasses made to it.
	a.keys("ctrl+l", "Tab", "Tab", "space")
	a.signIn("hannah.berg")
	a.keys("Down", "Return")
	time.Sleep(time.Second)
	a.keys("ctrl+4")
	if out := a.mustCLI("demo", "measure", "lensmeter"); !strings.Contains(out, "for the open chart") {
		t.Fatalf("lensmeter: %s", out)
	}
	a.shot("09-glasses-verified")
	// Known problem (reported, not this test's to fix): the server
	// refuses an optician's lensmeter reading (measure.capture is not
	// an optician permission there), so it stays queued.
	out, err := a.cli("demo", "sync")
	t.Logf("sync after the glasses check: %v %s; status %v", err, out, a.status())
	rss := a.rss()
	a.stop()

	// The data, with the app closed.
	tech := a.auditActions("alex.morgan")
	opto := a.auditActions("daniel.osei")
	for _, want := range []string{"sign-in", "lock"} {
		if !strings.Contains(tech, want) {
			t.Errorf("technician's audit has no %q:\n%s", want, tech)
		}
	}
	if !strings.Contains(strings.ToLower(opto), "rx") && !strings.Contains(strings.ToLower(opto), "prescription") {
		t.Errorf("optometrist's audit shows no prescription:\n%s", opto)
	}
	t.Logf("e2e took %s; RSS at the end %.0f MiB", time.Since(begin).Round(time.Second), rss)
}

// auditActions returns the audit events of user, as the CLI prints them.
func (a *e2eApp) auditActions(user string) string {
	a.t.Helper()
	cmd := exec.Command(a.bin, "--data-dir", filepath.Join(a.demoDir, "lane"), "audit", "show", "--user", user, "--json")
	// The demo store is sealed with the demo's public test passphrase.
	cmd.Env = append(a.env, "EXAMLANE_TEST_MODE=1", "EXAMLANE_TEST_PASSPHRASE="+demoPassphrase)
	b, err := cmd.CombinedOutput()
	out := string(b)
	if err != nil {
		a.t.Fatalf("audit show --user %s: %v\n%s", user, err, out)
	}
	return out
}

// BenchmarkStartupToSignIn measures a warm start of the app to its
// sign-in window (the ready file), in demo mode (with the embedded
// practice server) and in real mode (an empty lane, not enrolled), and
// reports the resident memory after idling 3 s at the sign-in screen.
// One iteration is one start; run with -benchtime=5x.
func BenchmarkStartupToSignIn(b *testing.B) {
	e2eTools(b)
	bin := e2eBinary(b)
	home := b.TempDir()
	for _, mode := range []string{"demo", "real"} {
		b.Run(mode, func(b *testing.B) {
			a := newE2EApp(b, bin, home, b.TempDir())
			if mode == "real" {
				a.args = []string{"--data-dir", filepath.Join(home, "real")}
				a.env = append(a.env, "EXAMLANE_TEST_MODE=1", "EXAMLANE_TEST_PASSPHRASE=benchmark only, synthetic")
			}
			a.start(120 * time.Second) // the first run makes the data
			a.stop()
			var rss float64
			b.ResetTimer()
			for range b.N {
				took := a.start(30 * time.Second)
				b.ReportMetric(float64(took.Milliseconds()), "ms/start")
				b.StopTimer()
				time.Sleep(3 * time.Second)
				rss = a.rss()
				a.stop()
				b.StartTimer()
			}
			b.ReportMetric(rss, "MiB-RSS-idle")
		})
	}
}
