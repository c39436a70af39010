package devices_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/examlane/examlane/devices"
	"github.com/examlane/examlane/devices/codec"
	_ "github.com/examlane/examlane/devices/codec/all"
	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/devices/simulator"
	"github.com/examlane/examlane/devices/transport"
	"github.com/examlane/examlane/devices/usb"
	"github.com/examlane/examlane/lane"
)

// testCodec is a tiny dialect for hub tests: STX "S=<sphere>" ETX, one
// refraction per frame. "PANIC" makes Decode panic (a codec bug), anything
// else unparseable is an error.
type testCodec struct{}

func (testCodec) Name() string        { return "tst" }
func (testCodec) Sniff(b []byte) bool { return strings.Contains(string(b), "S=") }
func (testCodec) Framing() *codec.FrameSpec {
	return &codec.FrameSpec{Start: []byte{0x02}, End: []byte{0x03}, MaxSize: 256, InterByte: 150 * time.Millisecond}
}
func (testCodec) Decode(b []byte) (lane.Capture, error) {
	s := strings.Trim(string(b), "\x02\x03")
	if s == "PANIC" {
		panic("test codec bug")
	}
	v, ok := strings.CutPrefix(s, "S=")
	if !ok {
		return lane.Capture{}, codec.Invalidf("tst", "no S= field")
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return lane.Capture{}, codec.Invalidf("tst", "sphere %q", v)
	}
	d, err := lane.NewDiopters(f)
	if err != nil {
		return lane.Capture{}, codec.Invalidf("tst", "sphere: %v", err)
	}
	return lane.Capture{Format: "tst", Instrument: lane.InstrumentRef{Vendor: "Test", Model: "T-1"},
		Readings: []lane.Measurement{{Kind: lane.KindRefraction, Eye: lane.EyeRight, Source: lane.SourceAutorefraction,
			Refraction: &lane.Refraction{Sphere: d}}}}, nil
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var testNow = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func testProfile() profile.Profile {
	return profile.Profile{Name: "bench-tst", Vendor: "Test", Model: "T-1", Transport: profile.TransportSerial,
		Link: transport.MustParseLink("9600 8N1"), DTR: true, Dialect: "nidek-dblock", Measures: []lane.Kind{lane.KindRefraction}}
}

// rig is a hub running one instrument on a pty.
type rig struct {
	t      *testing.T
	pty    *simulator.PTY
	link   string
	hub    *devices.Hub
	events <-chan devices.Event
}

// testLookup resolves every dialect to testCodec.
func testLookup(string) (codec.Codec, error) { return testCodec{}, nil }

// runHub builds a hub from cfg, subscribes to it and runs it until the test
// ends or stop is called. stop (idempotent) cancels Run and waits for it to
// return, so the events channel then drains and closes; the subscription is
// cancelled after that, when the test ends.
func runHub(tb testing.TB, cfg devices.Config) (h *devices.Hub, events <-chan devices.Event, stop func()) {
	tb.Helper()
	h, err := devices.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	events, unsub := h.Subscribe()
	tb.Cleanup(unsub)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				tb.Error("hub did not stop")
			}
		})
	}
	tb.Cleanup(stop)
	return h, events, stop
}

func newRig(t *testing.T, p profile.Profile, mutate ...func(*devices.Config)) *rig {
	t.Helper()
	link := filepath.Join(t.TempDir(), "ttyLANE")
	pt, err := simulator.OpenPTY(link)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	cfg := devices.Config{
		Instruments: []devices.Instrument{{Profile: p, Port: link}},
		Clock:       fixedClock{testNow},
		Codec:       testLookup,
		BackoffMin:  10 * time.Millisecond,
		BackoffMax:  50 * time.Millisecond,
		Logf:        t.Logf,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	r := &rig{t: t, pty: pt, link: link}
	t.Cleanup(func() { r.pty.Close() }) // after the hub stops: the test may replug
	r.hub, r.events, _ = runHub(t, cfg)
	r.waitState(devices.StateConnected)
	return r
}

// next returns the next event that is not a state change, failing after 5 s.
func (r *rig) next() devices.Event {
	r.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e, ok := <-r.events:
			if !ok {
				r.t.Fatal("event channel closed")
			}
			if e.Kind != devices.EventState {
				return e
			}
		case <-timeout:
			r.t.Fatalf("no event within 5 s; state %+v", r.hub.States())
		}
	}
}

func (r *rig) waitState(state string) lane.InstrumentState {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if s := r.hub.States()[0]; s.State == state {
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.t.Fatalf("state never became %q: %+v", state, r.hub.States())
	return lane.InstrumentState{}
}

func (r *rig) send(parts ...string) {
	r.t.Helper()
	for i, p := range parts {
		if i > 0 {
			time.Sleep(5 * time.Millisecond)
		}
		if _, err := r.pty.Master.Write([]byte(p)); err != nil {
			r.t.Fatal(err)
		}
	}
}

func sphere(t *testing.T, e devices.Event) lane.Diopters {
	t.Helper()
	if e.Kind != devices.EventCapture {
		t.Fatalf("event %v (%s), want a capture", e.Kind, e.Reason)
	}
	if len(e.Capture.Readings) != 1 || e.Capture.Readings[0].Refraction == nil {
		t.Fatalf("readings %+v", e.Capture.Readings)
	}
	return e.Capture.Readings[0].Refraction.Sphere
}

func TestHubCapture(t *testing.T) {
	r := newRig(t, testProfile())
	r.send("\x02S=-1.25\x03\r\n")
	e := r.next()
	if got := sphere(t, e); got != lane.MustDiopters(-1.25) {
		t.Errorf("sphere %v", got)
	}
	c := e.Capture
	if string(c.Raw) != "\x02S=-1.25\x03" || c.SHA256 == [32]byte{} || c.ID == "" {
		t.Errorf("raw %q sha %x id %q", c.Raw, c.SHA256, c.ID)
	}
	if !c.ReceivedAt.Equal(testNow) || !c.Readings[0].ReceivedAt.Equal(testNow) {
		t.Errorf("ReceivedAt %v, want the injected clock", c.ReceivedAt)
	}
	if c.Instrument.Profile != "bench-tst" || c.Readings[0].Instrument.Profile != "bench-tst" || c.Instrument.Model != "T-1" {
		t.Errorf("instrument %+v", c.Instrument)
	}
	if s := r.hub.States()[0]; !s.LastReading.Equal(testNow) || s.State != devices.StateConnected || s.Port != r.link {
		t.Errorf("state %+v", s)
	}
}

func TestHubSplitNoiseAndSeveralFrames(t *testing.T) {
	r := newRig(t, testProfile())
	r.send("zz\x00", "\x02S=+0", ".75\x03\x02S=", "+2.00\x03\r")
	if got := sphere(t, r.next()); got != lane.MustDiopters(0.75) {
		t.Errorf("first %v", got)
	}
	if got := sphere(t, r.next()); got != lane.MustDiopters(2) {
		t.Errorf("second %v", got)
	}
}

func TestHubRejectsBadFramesAndRecovers(t *testing.T) {
	tests := []struct {
		name, send, reason string
	}{
		{"decode error", "\x02S=abc\x03", "sphere"},
		{"out of range", "\x02S=+99\x03", "out of range"},
		{"codec panic", "\x02PANIC\x03", "decoder failed"},
		{"stalled frame", "\x02S=+1.", "stopped mid-frame"},
		{"new frame before end", "\x02S=+1.\x02S=+1.00\x03", "new frame started"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, testProfile())
			r.send(tt.send)
			e := r.next()
			if e.Kind != devices.EventRejected || !strings.Contains(e.Reason, tt.reason) {
				t.Fatalf("event %v %q, want rejected with %q", e.Kind, e.Reason, tt.reason)
			}
			if len(e.Raw) == 0 || e.State.State != devices.StateError || e.State.LastError != e.Reason {
				t.Errorf("raw %q state %+v", e.Raw, e.State)
			}
			if tt.name == "new frame before end" {
				if got := sphere(t, r.next()); got != lane.Diopter {
					t.Errorf("frame after the broken one = %v", got)
				}
			} else {
				r.send("\x02S=+1.00\x03")
				if got := sphere(t, r.next()); got != lane.Diopter {
					t.Errorf("recovery frame = %v", got)
				}
			}
			if s := r.hub.States()[0]; s.State != devices.StateConnected {
				t.Errorf("after a good frame: %+v", s)
			}
		})
	}
}

func TestHubGarbageSaysCheckBaud(t *testing.T) {
	r := newRig(t, testProfile())
	r.send(strings.Repeat("\xfe\x7f\x11garbage", 10))
	e := r.next()
	if e.Kind != devices.EventRejected || !strings.Contains(e.Reason, "check the baud rate and parity (profile: 9600 8N1)") {
		t.Fatalf("event %v %q", e.Kind, e.Reason)
	}
	if e.State.State != devices.StateError {
		t.Errorf("state %+v", e.State)
	}
}

func TestHubUnplugAndReplug(t *testing.T) {
	r := newRig(t, testProfile())
	r.send("\x02S=+1.00\x03")
	sphere(t, r.next())
	r.pty.Close() // unplug
	s := r.waitState(devices.StateDisconnected)
	if !strings.Contains(s.LastError, "disconnected") && !strings.Contains(s.LastError, "not present") {
		t.Errorf("LastError %q", s.LastError)
	}
	pt, err := simulator.OpenPTY(r.link) // plug back in, same name
	if err != nil {
		t.Fatal(err)
	}
	r.pty = pt
	r.hub.Rescan()
	r.waitState(devices.StateConnected)
	r.send("\x02S=-3.00\x03")
	if got := sphere(t, r.next()); got != lane.MustDiopters(-3) {
		t.Errorf("after replug %v", got)
	}
}

func TestHubMissingPortRetries(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyLATER")
	h, _, _ := runHub(t, devices.Config{
		Instruments: []devices.Instrument{{Profile: testProfile(), Port: link}},
		Codec:       testLookup,
		BackoffMin:  time.Hour, BackoffMax: time.Hour, // only Rescan can wake it
	})
	waitFor(t, func() bool { return strings.Contains(h.States()[0].LastError, "not present") })
	if h.States()[0].State != devices.StateDisconnected {
		t.Errorf("state %+v", h.States()[0])
	}
	pt, err := simulator.OpenPTY(link)
	if err != nil {
		t.Skip(err)
	}
	defer pt.Close()
	h.Rescan()
	waitFor(t, func() bool { return h.States()[0].State == devices.StateConnected })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readByte(t *testing.T, f *os.File) byte {
	t.Helper()
	f.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 1)
	if _, err := f.Read(b); err != nil {
		t.Fatal(err)
	}
	return b[0]
}

func TestHubACKNAK(t *testing.T) {
	p := testProfile()
	p.Handshake = profile.HandshakeACKNAK
	r := newRig(t, p)
	r.send("\x02S=zz\x03")
	if e := r.next(); e.Kind != devices.EventRejected {
		t.Fatalf("bad frame: %v", e.Kind)
	}
	if b := readByte(t, r.pty.Master); b != 0x15 {
		t.Errorf("after a bad frame the hub sent %#x, want NAK", b)
	}
	r.send("\x02S=+1.00\x03")
	sphere(t, r.next())
	if b := readByte(t, r.pty.Master); b != 0x06 {
		t.Errorf("after a good frame the hub sent %#x, want ACK", b)
	}
}

func TestHubRequest(t *testing.T) {
	p := testProfile()
	p.Request = "sd"
	r := newRig(t, p)
	if err := r.hub.Request("nope"); !errors.Is(err, lane.ErrNotFound) {
		t.Errorf("Request(nope) = %v", err)
	}
	if err := r.hub.Request("bench-tst"); err != nil {
		t.Fatal(err)
	}
	want := "\x01C   \x02SD\x17\x04"
	got := make([]byte, 0, len(want))
	for len(got) < len(want) {
		got = append(got, readByte(t, r.pty.Master))
	}
	if string(got) != want {
		t.Errorf("request bytes %q, want %q", got, want)
	}
	p2 := testProfile()
	r2 := newRig(t, p2)
	if err := r2.hub.Request("bench-tst"); !errors.Is(err, devices.ErrNoRequest) {
		t.Errorf("Request without a request command = %v", err)
	}
}

func TestHubFileDrop(t *testing.T) {
	dir := t.TempDir()
	p := profile.Profile{Name: "drop-tst", Vendor: "Test", Model: "F-1", Transport: profile.TransportFile,
		Dialect: "joia", Measures: []lane.Kind{lane.KindRefraction}, Pattern: "*.txt", Stable: 20 * time.Millisecond}
	_, ev, stop := runHub(t, devices.Config{
		Instruments: []devices.Instrument{{Profile: p, Folder: dir}},
		Clock:       fixedClock{testNow},
		Codec:       testLookup,
		Poll:        10 * time.Millisecond,
	})
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("S=+2.50"), 0o600)
	os.WriteFile(filepath.Join(dir, "b.txt"), []byte("nonsense"), 0o600)
	var got []devices.Event
	timeout := time.After(5 * time.Second)
	for len(got) < 2 {
		select {
		case e := <-ev:
			if e.Kind != devices.EventState {
				got = append(got, e)
			}
		case <-timeout:
			t.Fatalf("events so far %+v", got)
		}
	}
	if got[0].Kind != devices.EventCapture || got[0].Capture.Readings[0].Refraction.Sphere != lane.MustDiopters(2.5) ||
		string(got[0].Capture.Raw) != "S=+2.50" || got[0].Capture.Instrument.Profile != "drop-tst" {
		t.Errorf("capture %+v", got[0])
	}
	if got[1].Kind != devices.EventRejected || !strings.Contains(got[1].Reason, "no S= field") {
		t.Errorf("rejection %+v", got[1])
	}
	waitFor(t, func() bool { // moved after the handler returns
		_, err := os.Stat(filepath.Join(dir, "failed", "b.txt.error.txt"))
		return err == nil
	})
	stop()
	// Run returned: the channel drains and closes.
	for range ev {
	}
}

func TestHubFileDropMissingFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "share")
	p := profile.Profile{Name: "drop-tst", Transport: profile.TransportFile, Dialect: "joia", Measures: []lane.Kind{lane.KindIOP}}
	h, _, _ := runHub(t, devices.Config{
		Instruments: []devices.Instrument{{Profile: p, Folder: dir}},
		Codec:       testLookup,
		Poll:        10 * time.Millisecond,
	})
	waitFor(t, func() bool { return strings.Contains(h.States()[0].LastError, "not found") })
	os.Mkdir(dir, 0o700)
	waitFor(t, func() bool { return h.States()[0].State == devices.StateConnected })
}

// TestHubFileDropConnectedWhenWatched: a drop folder has no link, so an
// existing, readable folder with nothing in it yet is connected (demo mode
// showed its tonometer "disconnected" until the first file came); an
// unreadable one is not.
func TestHubFileDropConnectedWhenWatched(t *testing.T) {
	dir := t.TempDir()
	locked := filepath.Join(t.TempDir(), "locked")
	if err := os.Mkdir(locked, 0o000); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(locked, 0o700) })
	p := profile.Profile{Name: "drop-tst", Transport: profile.TransportFile, Dialect: "joia", Measures: []lane.Kind{lane.KindIOP}}
	p2 := p
	p2.Name = "drop-locked"
	h, _, _ := runHub(t, devices.Config{
		Instruments: []devices.Instrument{{Profile: p, Folder: dir}, {Profile: p2, Folder: locked}},
		Codec:       testLookup,
		Poll:        10 * time.Millisecond,
	})
	waitFor(t, func() bool { return h.States()[0].State == devices.StateConnected })
	if st := h.States()[0]; st.LastError != "" || st.Port != dir {
		t.Errorf("watched empty folder: %+v", st)
	}
	if _, err := os.ReadDir(locked); err == nil {
		t.Log("running as a user who reads any folder (root): the unreadable case is not checked")
		return
	}
	waitFor(t, func() bool { return h.States()[1].LastError != "" })
	if st := h.States()[1]; st.State != devices.StateDisconnected {
		t.Errorf("unreadable folder: %+v, want disconnected", st)
	}
}

func TestSubscribeLifecycle(t *testing.T) {
	h, err := devices.New(devices.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ch1, cancel1 := h.Subscribe()
	cancel1()
	cancel1() // twice is fine
	if _, ok := <-ch1; ok {
		t.Error("channel open after cancel")
	}
	ch2, cancel2 := h.Subscribe()
	defer cancel2()
	if err := h.Run(context.Background()); err != nil { // no instruments: returns at once
		t.Fatal(err)
	}
	if _, ok := <-ch2; ok {
		t.Error("channel open after Run returned")
	}
	ch3, _ := h.Subscribe()
	if _, ok := <-ch3; ok {
		t.Error("subscribe after Run: channel open")
	}
	if err := h.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
}

func TestNewErrors(t *testing.T) {
	p := testProfile()
	tests := []struct {
		name string
		cfg  devices.Config
	}{
		{"duplicate", devices.Config{Codec: testLookup, Instruments: []devices.Instrument{{Profile: p, Port: "/x"}, {Profile: p, Port: "/y"}}}},
		{"no port", devices.Config{Codec: testLookup, Instruments: []devices.Instrument{{Profile: p}}}},
		{"unknown codec", devices.Config{Codec: func(n string) (codec.Codec, error) { return nil, lane.ErrNotFound }, Instruments: []devices.Instrument{{Profile: p, Port: "/x"}}}},
		{"no folder", devices.Config{Codec: testLookup, Instruments: []devices.Instrument{{Profile: profile.Profile{Name: "f", Transport: profile.TransportFile, Dialect: "joia"}}}}},
		{"invalid profile", devices.Config{Codec: testLookup, Instruments: []devices.Instrument{{Profile: profile.Profile{Name: "f"}}}}},
	}
	for _, tt := range tests {
		if _, err := devices.New(tt.cfg); err == nil {
			t.Errorf("%s: New succeeded", tt.name)
		}
	}
}

// TestSlowSubscriberLosesNothing publishes many captures to a subscriber
// that reads late.
func TestSlowSubscriberLosesNothing(t *testing.T) {
	r := newRig(t, testProfile())
	slow, cancel := r.hub.Subscribe()
	defer cancel()
	const n = 50
	for i := range n {
		r.send("\x02S=+" + strconv.Itoa(i%10) + ".00\x03")
	}
	var mu sync.Mutex
	got := 0
	for got < n {
		select {
		case e := <-slow:
			if e.Kind == devices.EventCapture {
				mu.Lock()
				got++
				mu.Unlock()
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("got %d captures of %d", got, n)
		}
	}
}

// BenchmarkFrameToEvent measures the time from writing a frame's last byte
// to the pty to the capture event reaching a subscriber: the test dialect,
// then the real NIDEK RT, D-block and DCS codecs with synthetic frames.
func BenchmarkFrameToEvent(b *testing.B) {
	b.Run("tst", func(b *testing.B) {
		benchLatency(b, testProfile(), testLookup, func() []byte { return []byte("\x02S=-1.25\x03") })
	})
	for _, name := range []string{"nidek-rt5100", "nidek-lm1000", "generic-dcs-lensmeter"} {
		p, err := profile.Builtin().Lookup(name)
		if err != nil {
			b.Fatal(err)
		}
		src, err := simulator.Synthesize(p, simulator.SynthConfig{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			benchLatency(b, p, nil, func() []byte {
				m, _ := src.Next()
				return m.Frame
			})
		})
	}
}

func benchLatency(b *testing.B, p profile.Profile, lookup func(string) (codec.Codec, error), frame func() []byte) {
	link := filepath.Join(b.TempDir(), "tty")
	pt, err := simulator.OpenPTY(link)
	if err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { pt.Close() }) // after the hub stops
	h, ev, _ := runHub(b, devices.Config{Instruments: []devices.Instrument{{Profile: p, Port: link}}, Codec: lookup})
	go io.Copy(io.Discard, pt.Master) // ACKs from the lane
	for h.States()[0].State != devices.StateConnected {
		time.Sleep(time.Millisecond)
	}
	frames := make([][]byte, 64)
	for i := range frames {
		frames[i] = frame()
	}
	var worst, total time.Duration
	b.ResetTimer()
	for i := range b.N {
		f := frames[i%len(frames)]
		pt.Master.Write(f[:len(f)-1])
		start := time.Now()
		pt.Master.Write(f[len(f)-1:]) // the last byte
		for e := range ev {
			if e.Kind == devices.EventCapture {
				break
			}
			if e.Kind == devices.EventRejected {
				b.Fatalf("rejected: %s", e.Reason)
			}
		}
		d := time.Since(start)
		total += d
		worst = max(worst, d)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs/frame")
	b.ReportMetric(float64(worst.Microseconds()), "worst-µs")
}

// fakePorts plays the USB port finder: the cable is unplugged until plug.
type fakePorts struct {
	mu   sync.Mutex
	path string
	asks int
}

func (f *fakePorts) FindPort(ids []profile.USBID, serial string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asks++
	if f.path == "" || len(ids) != 1 || ids[0] != (profile.USBID{VID: 0x0403, PID: 0x6001}) || serial != "A10K3ZQ" {
		return "", fmt.Errorf("no serial port for USB 0403:6001: %w", usb.ErrNotPlugged)
	}
	return f.path, nil
}

func (f *fakePorts) plug(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.path = path
}

// TestHubUSBSerialWaitsForCable resolves a usb-serial instrument's port
// through the port finder: unplugged it waits with a clear message, plugged
// in (and Rescan called, as the USB watcher does) it connects.
func TestHubUSBSerialWaitsForCable(t *testing.T) {
	p := testProfile()
	p.Transport = profile.TransportUSBSerial
	p.USB = []profile.USBID{{VID: 0x0403, PID: 0x6001}}
	p.USBSerial = "A10K3ZQ"
	ports := &fakePorts{}
	h, ev, _ := runHub(t, devices.Config{
		Instruments: []devices.Instrument{{Profile: p}},
		Codec:       testLookup,
		Ports:       ports,
		BackoffMin:  time.Hour, BackoffMax: time.Hour,
	})
	waitFor(t, func() bool { return strings.Contains(h.States()[0].LastError, "not plugged in") })
	pt, err := simulator.OpenPTY("")
	if err != nil {
		t.Skip(err)
	}
	defer pt.Close()
	ports.plug(pt.Path)
	h.Rescan()
	waitFor(t, func() bool { return h.States()[0].State == devices.StateConnected })
	pt.Master.Write([]byte("\x02S=+0.50\x03"))
	for e := range ev {
		if e.Kind == devices.EventCapture {
			if e.State.Port != pt.Path {
				t.Errorf("port %q", e.State.Port)
			}
			break
		}
	}
}
