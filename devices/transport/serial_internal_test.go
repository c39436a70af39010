package transport

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial"
)

// fakePort is a serial.Port with modem lines, which ptys lack.
type fakePort struct {
	mu       sync.Mutex
	dtr, rts bool
	dsr, cts bool
	mode     *serial.Mode
	closed   bool
}

func (f *fakePort) SetMode(m *serial.Mode) error       { f.mode = m; return nil }
func (f *fakePort) Read(p []byte) (int, error)         { return 0, nil }
func (f *fakePort) Write(p []byte) (int, error)        { return len(p), nil }
func (f *fakePort) Drain() error                       { return nil }
func (f *fakePort) ResetInputBuffer() error            { return nil }
func (f *fakePort) ResetOutputBuffer() error           { return nil }
func (f *fakePort) Break(time.Duration) error          { return nil }
func (f *fakePort) SetReadTimeout(time.Duration) error { return nil }
func (f *fakePort) Close() error                       { f.closed = true; return nil }
func (f *fakePort) SetDTR(on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dtr = on
	return nil
}
func (f *fakePort) SetRTS(on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rts = on
	return nil
}
func (f *fakePort) GetModemStatusBits() (*serial.ModemStatusBits, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &serial.ModemStatusBits{DSR: f.dsr, CTS: f.cts}, nil
}
func (f *fakePort) raise() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dsr, f.cts = true, true
}

func withFakePort(t *testing.T, f *fakePort) {
	t.Helper()
	old := serialOpen
	serialOpen = func(_ string, m *serial.Mode) (serial.Port, error) { f.mode = m; return f, nil }
	t.Cleanup(func() { serialOpen = old })
}

func TestOpenSerialSettings(t *testing.T) {
	f := &fakePort{}
	withFakePort(t, f)
	s, err := OpenSerial(context.Background(), "fake", SerialConfig{Link: MustParseLink("2400 7E2"), DTR: true})
	if err != nil {
		t.Fatal(err)
	}
	want := serial.Mode{BaudRate: 2400, DataBits: 7, Parity: serial.EvenParity, StopBits: serial.TwoStopBits}
	if *f.mode != want {
		t.Errorf("mode = %+v, want %+v", *f.mode, want)
	}
	if !f.dtr || f.rts {
		t.Errorf("DTR=%v RTS=%v, want DTR on, RTS off", f.dtr, f.rts)
	}
	if n, err := s.Read(make([]byte, 4)); n != 0 || !errors.Is(err, ErrReadTimeout) {
		t.Errorf("Read = %d, %v; want timeout", n, err)
	}
}

func TestOpenSerialWaitsForDSR(t *testing.T) {
	f := &fakePort{}
	withFakePort(t, f)
	go func() {
		time.Sleep(30 * time.Millisecond)
		f.raise()
	}()
	if _, err := OpenSerial(context.Background(), "fake", SerialConfig{WaitDSR: true, WaitCTS: true, WaitTimeout: 5 * time.Second}); err != nil {
		t.Fatalf("OpenSerial with DSR raised later: %v", err)
	}
}

func TestOpenSerialDSRTimeout(t *testing.T) {
	f := &fakePort{}
	withFakePort(t, f)
	_, err := OpenSerial(context.Background(), "fake", SerialConfig{WaitDSR: true, WaitTimeout: 30 * time.Millisecond})
	if !errors.Is(err, ErrSignalTimeout) {
		t.Fatalf("OpenSerial = %v, want ErrSignalTimeout", err)
	}
	if !f.closed {
		t.Error("port left open after a failed wait")
	}
}
