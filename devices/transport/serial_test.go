package transport_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/devices/simulator"
	"github.com/examlane/examlane/devices/transport"
	"github.com/examlane/examlane/lane"
)

// openPair opens a pty and the lane's end of it with cfg. Ptys ignore
// baud rate, parity and stop bits; these tests check what a pty can show:
// the bytes, the 7-bit mask, timeouts, hang-ups and missing modem lines.
func openPair(t *testing.T, cfg transport.SerialConfig) (*simulator.PTY, *transport.SerialPort) {
	t.Helper()
	p, err := simulator.OpenPTY("")
	if err != nil {
		t.Skipf("no pty available: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	c, err := transport.OpenSerial(t.Context(), p.Path, cfg)
	if err != nil {
		t.Fatalf("OpenSerial(%s) error %v", p.Path, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetReadTimeout(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	return p, c
}

func readN(t *testing.T, c transport.Conn, n int) []byte {
	t.Helper()
	var got []byte
	buf := make([]byte, 64)
	for len(got) < n {
		k, err := c.Read(buf)
		if err != nil {
			t.Fatalf("Read after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:k]...)
	}
	return got
}

func TestSerialMask7(t *testing.T) {
	tests := []struct {
		name string
		link string
		want string
	}{
		{"7E2 masks the parity bit", "2400 7E2", "\x01A\r\x7f"},
		{"8N1 passes bytes through", "9600 8N1", "\x81A\r\xff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := transport.MustParseLink(tt.link)
			p, c := openPair(t, transport.SerialConfig{Link: l, Mask7: transport.Mask7For(l)})
			if _, err := p.Master.Write([]byte{0x81, 'A', '\r', 0xff}); err != nil {
				t.Fatal(err)
			}
			if got := string(readN(t, c, 4)); got != tt.want {
				t.Errorf("read %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSerialWrite(t *testing.T) {
	p, c := openPair(t, transport.SerialConfig{Link: transport.MustParseLink("9600 8N1")})
	msg := []byte("\x01C   \x02RS\x17\x04")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	p.Master.SetReadDeadline(time.Now().Add(2 * time.Second))
	n := 0
	for n < len(got) {
		k, err := p.Master.Read(got[n:])
		if err != nil {
			t.Fatal(err)
		}
		n += k
	}
	if string(got) != string(msg) {
		t.Errorf("master read %q, want %q", got, msg)
	}
}

func TestSerialReadTimeout(t *testing.T) {
	_, c := openPair(t, transport.SerialConfig{})
	c.SetReadTimeout(20 * time.Millisecond)
	n, err := c.Read(make([]byte, 8))
	if n != 0 || !errors.Is(err, transport.ErrReadTimeout) {
		t.Errorf("Read = %d, %v; want 0, ErrReadTimeout", n, err)
	}
}

func TestSerialStaleInputFlushed(t *testing.T) {
	for _, keep := range []bool{false, true} {
		p, err := simulator.OpenPTY("")
		if err != nil {
			t.Skipf("no pty: %v", err)
		}
		p.Master.Write([]byte("stale"))
		time.Sleep(20 * time.Millisecond) // let the line discipline take it
		c, err := transport.OpenSerial(t.Context(), p.Path, transport.SerialConfig{KeepInput: keep})
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadTimeout(50 * time.Millisecond)
		buf := make([]byte, 16)
		n, err := c.Read(buf)
		if keep && string(buf[:n]) != "stale" {
			t.Errorf("KeepInput: read %q, %v; want stale", buf[:n], err)
		}
		if !keep && !errors.Is(err, transport.ErrReadTimeout) {
			t.Errorf("flush: read %q, %v; want timeout", buf[:n], err)
		}
		c.Close()
		p.Close()
	}
}

func TestSerialHangupIsDisconnected(t *testing.T) {
	p, c := openPair(t, transport.SerialConfig{})
	p.Close()
	_, err := c.Read(make([]byte, 8))
	if !errors.Is(err, transport.ErrDisconnected) || !errors.Is(err, lane.ErrUnavailable) {
		t.Errorf("Read after hang-up = %v, want ErrDisconnected (lane.ErrUnavailable)", err)
	}
}

func TestSerialCloseUnblocksRead(t *testing.T) {
	_, c := openPair(t, transport.SerialConfig{})
	c.SetReadTimeout(0)
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, transport.ErrDisconnected) {
			t.Errorf("Read after Close = %v, want ErrDisconnected", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked after Close")
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestSerialPTYHasNoModemLines(t *testing.T) {
	_, c := openPair(t, transport.SerialConfig{DTR: true, RTS: true, WaitDSR: true, WaitCTS: true, WaitTimeout: 50 * time.Millisecond})
	if err := c.SetDTR(true); !errors.Is(err, transport.ErrModemUnsupported) {
		t.Errorf("SetDTR on a pty = %v, want ErrModemUnsupported", err)
	}
	if _, err := c.ModemStatus(); !errors.Is(err, transport.ErrModemUnsupported) {
		t.Errorf("ModemStatus on a pty = %v, want ErrModemUnsupported", err)
	}
	notes := c.Notes()
	if len(notes) != 1 || !strings.Contains(notes[0], "modem lines not available") {
		t.Errorf("Notes = %q, want one note about missing modem lines", notes)
	}
}

func TestOpenSerialErrors(t *testing.T) {
	ctx := context.Background()
	_, err := transport.OpenSerial(ctx, filepath.Join(t.TempDir(), "ttyUSB9"), transport.SerialConfig{})
	if !errors.Is(err, transport.ErrNoPort) || !errors.Is(err, lane.ErrUnavailable) {
		t.Errorf("missing port: %v, want ErrNoPort", err)
	}
	if _, err := os.Stat("/dev/null"); err == nil {
		_, err = transport.OpenSerial(ctx, "/dev/null", transport.SerialConfig{})
		if err == nil || !strings.Contains(err.Error(), "not a serial port") {
			t.Errorf("/dev/null: %v, want 'not a serial port'", err)
		}
	}
}
