package usb

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/lane"
)

// fakeBus is the test double behind the libusb seam (gousb's fakelibusb
// idea): a list of devices the test plugs and unplugs.
type fakeBus struct {
	mu     sync.Mutex
	devs   []Device
	err    error
	closed bool
}

func (f *fakeBus) devices() ([]Device, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Device(nil), f.devs...), f.err
}
func (f *fakeBus) close() error { f.closed = true; return nil }
func (f *fakeBus) set(d ...Device) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.devs = d
}

type fakePorts struct {
	mu    sync.Mutex
	ports []Port
}

func (f *fakePorts) list() ([]Port, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Port(nil), f.ports...), nil
}
func (f *fakePorts) set(p ...Port) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ports = p
}

var (
	ftdi    = profile.USBID{VID: 0x0403, PID: 0x6001}
	cp210x  = profile.USBID{VID: 0x10c4, PID: 0xea60}
	webcam  = profile.USBID{VID: 0x046d, PID: 0x0825}
	lmCable = Device{ID: ftdi, Bus: 1, Address: 4, Manufacturer: "FTDI", Product: "FT232R USB UART", Serial: "A10K3ZQ"}
	arCable = Device{ID: ftdi, Bus: 1, Address: 5, Serial: "B77"}
	cpCable = Device{ID: cp210x, Bus: 2, Address: 2}
	camera  = Device{ID: webcam, Bus: 2, Address: 3, Product: "Webcam"}
)

func TestScanMatchesBridgesToPorts(t *testing.T) {
	fb := &fakeBus{devs: []Device{lmCable, arCable, cpCable, camera}}
	fp := &fakePorts{ports: []Port{
		{Path: "/dev/ttyUSB1", USB: true, ID: ftdi, Serial: "B77"},
		{Path: "/dev/ttyUSB0", USB: true, ID: ftdi, Serial: "A10K3ZQ"},
		{Path: "/dev/ttyUSB2", USB: true, ID: cp210x},
		{Path: "/dev/ttyS0"},
	}}
	s := newScanner(fb, nil, fp.list, nil)
	snap, err := s.Scan()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A10K3ZQ": "/dev/ttyUSB0", "B77": "/dev/ttyUSB1"}
	for _, d := range snap.Devices {
		switch d.ID {
		case ftdi:
			if d.Port != want[d.Serial] || d.Bridge == nil || d.Bridge.Vendor != "FTDI" {
				t.Errorf("FTDI %s → %q bridge %v", d.Serial, d.Port, d.Bridge)
			}
		case cp210x:
			if d.Port != "/dev/ttyUSB2" || d.Bridge == nil || !strings.Contains(d.Name(), "Silicon Labs") {
				t.Errorf("CP210x → %q (%s)", d.Port, d.Name())
			}
		case webcam:
			if d.Port != "" || d.Bridge != nil || d.Name() != "Webcam" {
				t.Errorf("webcam → %q bridge %v", d.Port, d.Bridge)
			}
		}
	}
	if snap.USBNote != "" || len(snap.Ports) != 4 || snap.Ports[0].Path != "/dev/ttyS0" {
		t.Errorf("note %q ports %v", snap.USBNote, snap.Ports)
	}
}

func TestNoUSBBusIsNotedOnce(t *testing.T) {
	fp := &fakePorts{ports: []Port{{Path: "/dev/ttyS0"}}}
	var logs []string
	s := newScanner(nil, errors.New("libusb could not start (no usbfs)"), fp.list, func(f string, a ...any) {
		logs = append(logs, f)
	})
	for range 3 {
		snap, err := s.Scan()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(snap.USBNote, "no usbfs") || !strings.Contains(snap.USBNote, "serial ports and file drops still work") || len(snap.Ports) != 1 {
			t.Errorf("snapshot %+v", snap)
		}
	}
	if len(logs) != 1 {
		t.Errorf("logged %d times, want once", len(logs))
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

func TestBusListErrorBecomesNote(t *testing.T) {
	fb := &fakeBus{err: errors.New("LIBUSB_ERROR_ACCESS")}
	s := newScanner(fb, nil, (&fakePorts{}).list, nil)
	snap, _ := s.Scan()
	if !strings.Contains(snap.USBNote, "LIBUSB_ERROR_ACCESS") {
		t.Errorf("note %q", snap.USBNote)
	}
	s.Close()
	if !fb.closed {
		t.Error("bus not closed")
	}
}

func TestFindPort(t *testing.T) {
	fp := &fakePorts{ports: []Port{
		{Path: "/dev/ttyUSB1", USB: true, ID: ftdi, Serial: "B77"},
		{Path: "/dev/ttyUSB0", USB: true, ID: ftdi, Serial: "A10K3ZQ"},
	}}
	s := newScanner(nil, errNoCgo, fp.list, nil)
	tests := []struct {
		ids    []profile.USBID
		serial string
		want   string
	}{
		{[]profile.USBID{ftdi}, "", "/dev/ttyUSB0"},
		{[]profile.USBID{cp210x, ftdi}, "B77", "/dev/ttyUSB1"},
		{[]profile.USBID{ftdi}, "NOPE", ""},
		{[]profile.USBID{cp210x}, "", ""},
	}
	for _, tt := range tests {
		got, err := s.FindPort(tt.ids, tt.serial)
		if got != tt.want {
			t.Errorf("FindPort(%v, %q) = %q, %v; want %q", tt.ids, tt.serial, got, err, tt.want)
		}
		if tt.want == "" && (!errors.Is(err, ErrNotPlugged) || !errors.Is(err, lane.ErrUnavailable)) {
			t.Errorf("FindPort(%v, %q) error %v, want ErrNotPlugged", tt.ids, tt.serial, err)
		}
	}
}

func TestWatchReportsPlugAndUnplug(t *testing.T) {
	fb := &fakeBus{devs: []Device{camera}}
	fp := &fakePorts{}
	s := newScanner(fb, nil, fp.list, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	changes := make(chan Change, 10)
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, 5*time.Millisecond, func(c Change) { changes <- c }) }()

	next := func() Change {
		t.Helper()
		select {
		case c := <-changes:
			return c
		case <-ctx.Done():
			t.Fatal("no change reported")
		}
		return Change{}
	}
	if c := next(); len(c.Added) != 1 || c.Added[0].ID != webcam {
		t.Fatalf("first scan: %+v", c)
	}
	// Plug the lensmeter cable: the device and its port appear.
	fp.set(Port{Path: "/dev/ttyUSB0", USB: true, ID: ftdi, Serial: "A10K3ZQ"})
	fb.set(camera, lmCable)
	c := next()
	if len(c.Added) == 0 { // device and port may land in two scans
		c = next()
	}
	added := c.Added
	if len(added) != 1 || added[0].ID != ftdi {
		t.Fatalf("plug: %+v", c)
	}
	// Unplug it.
	fb.set(camera)
	fp.set()
	c = next()
	if len(c.Removed) == 0 {
		c = next()
	}
	if len(c.Removed) != 1 || c.Removed[0].Serial != "A10K3ZQ" {
		t.Fatalf("unplug: %+v", c)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch = %v", err)
	}
}

func TestLookupBridge(t *testing.T) {
	for _, id := range []string{"0403:6001", "0403:6010", "0403:6014", "0403:6015", "067b:2303", "10c4:ea60", "1a86:7523", "1a86:55d4"} {
		u, _ := profile.ParseUSBID(id)
		if _, ok := LookupBridge(u); !ok {
			t.Errorf("bridge %s missing", id)
		}
	}
	if _, ok := LookupBridge(webcam); ok {
		t.Error("webcam is not a bridge")
	}
}

// TestRealScanner runs the real libusb and port enumeration. It cannot
// assume hardware; it checks that Scan never fails just because USB is
// unavailable.
func TestRealScanner(t *testing.T) {
	s := NewScanner(t.Logf)
	defer s.Close()
	snap, err := s.Scan()
	if err != nil {
		t.Logf("Scan: %v (no serial ports listable here)", err)
	}
	t.Logf("real scan: %d USB devices, %d ports, note %q", len(snap.Devices), len(snap.Ports), snap.USBNote)
}
