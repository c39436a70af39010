package simulator_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/devices/simulator"
	"github.com/examlane/examlane/devices/transport"
)

// simRig runs a simulator on a pty and opens the lane's end.
type simRig struct {
	t    *testing.T
	lane *transport.SerialPort
	sent chan simulator.Sent
	recv chan string
	sim  *simulator.Simulator
}

func newSimRig(t *testing.T, name string, mutate func(*simulator.Config)) *simRig {
	t.Helper()
	p, err := profile.Builtin().Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := simulator.OpenPTY("")
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	src, err := simulator.Synthesize(p, simulator.SynthConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := &simRig{t: t, sent: make(chan simulator.Sent, 16), recv: make(chan string, 16)}
	cfg := simulator.Config{Profile: p, Source: src, Link: pt.Master, Seed: 1, ACKTimeout: 2 * time.Second,
		OnSent:     func(s simulator.Sent) { r.sent <- s },
		OnReceived: func(_ []byte, what string) { r.recv <- what },
		Logf:       t.Logf,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	r.sim, err = simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.lane, err = transport.OpenSerial(t.Context(), pt.Path, p.SerialConfig())
	if err != nil {
		t.Fatal(err)
	}
	r.lane.SetReadTimeout(20 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.sim.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
		r.lane.Close()
		pt.Close()
	})
	return r
}

// readUntil reads from the lane's end until the data holds end (or 5 s).
func (r *simRig) readUntil(end []byte) []byte {
	r.t.Helper()
	var got []byte
	buf := make([]byte, 512)
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.Contains(got, end) {
		if time.Now().After(deadline) {
			r.t.Fatalf("read %q, never saw %q", got, end)
		}
		n, _ := r.lane.Read(buf)
		got = append(got, buf[:n]...)
	}
	return got
}

func (r *simRig) nextSent() simulator.Sent {
	r.t.Helper()
	select {
	case s := <-r.sent:
		return s
	case <-time.After(5 * time.Second):
		r.t.Fatal("nothing sent")
	}
	return simulator.Sent{}
}

func TestSimulatorMeasure(t *testing.T) {
	r := newSimRig(t, "nidek-lm1000", func(c *simulator.Config) { c.Faults = simulator.Faults{Noise: 20, Split: 7} })
	r.sim.Measure()
	s := r.nextSent()
	got := r.readUntil(s.Frame[len(s.Frame)-6:]) // checksum and CR
	masked := bytes.Clone(s.Wire)                // the lane's 7E2 port strips bit 7
	for i := range masked {
		masked[i] &= 0x7f
	}
	if !bytes.Equal(got, masked) || !bytes.HasSuffix(s.Wire, s.Frame) || len(s.Wire) != len(s.Frame)+20 {
		t.Errorf("lane read %q\nsent %q", got, s.Wire)
	}
	if s.Expect != simulator.ExpectIntact || len(s.Faults) != 2 {
		t.Errorf("sent %+v", s)
	}
	for _, b := range s.Wire[:20] {
		if b&0x7f < 0x20 {
			t.Errorf("noise byte %#x looks like a control character", b)
		}
	}
}

func TestSimulatorRSAnsweredWithSD(t *testing.T) {
	for _, noSD := range []bool{false, true} {
		r := newSimRig(t, "nidek-rt5100", func(c *simulator.Config) { c.NoSD = noSD })
		r.lane.Write([]byte("\x01C   \x02RS\x17\x04"))
		if what := <-r.recv; what != "rs" {
			t.Errorf("simulator saw %q", what)
		}
		buf := make([]byte, 64)
		var got []byte
		deadline := time.Now().Add(300 * time.Millisecond)
		for time.Now().Before(deadline) {
			n, _ := r.lane.Read(buf)
			got = append(got, buf[:n]...)
		}
		want := "\x01CRL\x02SD\x17\x04"
		if noSD {
			want = ""
		}
		if string(got) != want {
			t.Errorf("NoSD=%v: answer %q, want %q", noSD, got, want)
		}
		r.lane.Write([]byte("\x01DRM\x02OR-01.00+00.00000\x17\x04"))
		if what := <-r.recv; what != "data" {
			t.Errorf("simulator saw %q, want the data frame", what)
		}
	}
}

func TestSimulatorSDRequestMeasures(t *testing.T) {
	r := newSimRig(t, "nidek-ark1", nil)
	r.lane.Write([]byte("\x01C   \x02SD\x17\x04"))
	s := r.nextSent()
	if !bytes.HasPrefix(s.Frame, []byte("\x01DRM\x02")) {
		t.Errorf("sent %q", s.Frame)
	}
	r.readUntil([]byte{0x04})
}

func TestSimulatorNAKResend(t *testing.T) {
	r := newSimRig(t, "generic-dcs-lensmeter", func(c *simulator.Config) { c.Faults = simulator.Faults{BadChecksum: true} })
	r.sim.Measure()
	first := r.readUntil([]byte{0x1d})
	r.lane.Write([]byte{0x15}) // NAK
	s1 := r.nextSent()
	second := r.readUntil([]byte{0x1d})
	r.lane.Write([]byte{0x06}) // ACK
	s2 := r.nextSent()
	if s1.Attempt != 1 || s1.Expect != simulator.ExpectRejected || s1.Note != "nak" {
		t.Errorf("first attempt %+v", s1)
	}
	if s2.Attempt != 2 || s2.Expect != simulator.ExpectIntact || s2.Note != "ack" || !bytes.Equal(second, s2.Frame) {
		t.Errorf("second attempt %+v, read %q", s2, second)
	}
	if bytes.Equal(first, second) {
		t.Error("the resend repeated the bad checksum")
	}
}

func TestSimulatorFaultExpectations(t *testing.T) {
	tests := []struct {
		name   string
		f      simulator.Faults
		expect string
	}{
		{"short pause", simulator.Faults{DelayMidFrame: 50 * time.Millisecond}, simulator.ExpectIntact},
		{"garble", simulator.Faults{Garble: true}, simulator.ExpectRejected},
		{"bad checksum", simulator.Faults{BadChecksum: true}, simulator.ExpectRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newSimRig(t, "nidek-lm1000", func(c *simulator.Config) { c.Faults = tt.f })
			r.sim.Measure()
			if s := r.nextSent(); s.Expect != tt.expect {
				t.Errorf("expect %q, want %q", s.Expect, tt.expect)
			}
		})
	}
	p, _ := profile.Builtin().Lookup("nidek-rt5100")
	src, _ := simulator.Synthesize(p, simulator.SynthConfig{})
	if _, err := simulator.New(simulator.Config{Profile: p, Source: src, Link: &bytes.Buffer{}, Faults: simulator.Faults{BadChecksum: true}}); err == nil {
		t.Error("bad checksum accepted for nidek-rt")
	}
}

func TestSimulatorFileDrop(t *testing.T) {
	p, _ := profile.Builtin().Lookup("topcon-kr1")
	dir := t.TempDir()
	src, err := simulator.Synthesize(p, simulator.SynthConfig{Seed: 3, Now: func() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan simulator.Sent, 2)
	sim, err := simulator.New(simulator.Config{Profile: p, Source: src, Folder: dir, Faults: simulator.Faults{Split: 64},
		OnSent: func(s simulator.Sent) { sent <- s }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	sim.Measure()
	s := <-sent
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, s.Name))
	if err != nil || !bytes.Equal(data, s.Frame) || s.Name != "M-Serial0001_20260302_090000_TOPCON_KR-1_SIM01.xml" {
		t.Errorf("file %q: %v (%d bytes)", s.Name, err, len(data))
	}
}
