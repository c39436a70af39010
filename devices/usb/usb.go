// Package usb finds instruments on USB. Most "USB" instruments are a
// USB-serial bridge (FTDI, Prolific, Silicon Labs, WCH) in the cable or the
// instrument, so the package lists USB devices with their VID:PID and
// strings (through libusb via github.com/google/gousb), recognises the
// bridges instruments ship with, maps each bridge to the serial port the
// operating system made for it (go.bug.st/serial/enumerator, which on Linux
// reads sysfs), and notices plugging and unplugging by polling.
//
// gousb v1.1.3 has no hotplug API, hence the polling. Where libusb cannot
// open the bus (no permission, no libusb, no USB in a container, a build
// without cgo) the Scanner says so once and keeps listing serial ports, so
// the lane goes on working with serial and file-drop instruments.
package usb

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.bug.st/serial/enumerator"

	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/lane"
)

// Bridge is a USB-serial bridge chip.
type Bridge struct {
	ID     profile.USBID
	Vendor string
	Chip   string
}

// Bridges lists the USB-serial bridges instrument cables and instruments
// commonly carry. A profile's usb list may name others.
var Bridges = []Bridge{
	{profile.USBID{VID: 0x0403, PID: 0x6001}, "FTDI", "FT232R/FT232BM"},
	{profile.USBID{VID: 0x0403, PID: 0x6010}, "FTDI", "FT2232 (dual)"},
	{profile.USBID{VID: 0x0403, PID: 0x6011}, "FTDI", "FT4232 (quad)"},
	{profile.USBID{VID: 0x0403, PID: 0x6014}, "FTDI", "FT232H"},
	{profile.USBID{VID: 0x0403, PID: 0x6015}, "FTDI", "FT231X/FT230X"},
	{profile.USBID{VID: 0x067b, PID: 0x2303}, "Prolific", "PL2303"},
	{profile.USBID{VID: 0x067b, PID: 0x23a3}, "Prolific", "PL2303GC"},
	{profile.USBID{VID: 0x10c4, PID: 0xea60}, "Silicon Labs", "CP210x"},
	{profile.USBID{VID: 0x10c4, PID: 0xea70}, "Silicon Labs", "CP2105 (dual)"},
	{profile.USBID{VID: 0x1a86, PID: 0x7523}, "WCH", "CH340"},
	{profile.USBID{VID: 0x1a86, PID: 0x5523}, "WCH", "CH341"},
	{profile.USBID{VID: 0x1a86, PID: 0x55d4}, "WCH", "CH9102"},
	{profile.USBID{VID: 0x1a86, PID: 0x55d3}, "WCH", "CH343"},
	{profile.USBID{VID: 0x0557, PID: 0x2008}, "ATEN", "UC-232A"},
	{profile.USBID{VID: 0x2341, PID: 0x0043}, "Arduino", "Uno (ATmega16U2)"},
}

// LookupBridge returns the bridge with the given id.
func LookupBridge(id profile.USBID) (Bridge, bool) {
	for _, b := range Bridges {
		if b.ID == id {
			return b, true
		}
	}
	return Bridge{}, false
}

// Device is one USB device.
type Device struct {
	ID           profile.USBID
	Bus, Address int
	Manufacturer string
	Product      string
	Serial       string
	// Bridge is set when the device is a known USB-serial bridge.
	Bridge *Bridge
	// Port is the serial port the OS made for the device, when found.
	Port string
}

// key identifies a device while it stays plugged in.
func (d Device) key() string { return fmt.Sprintf("%d/%d/%s", d.Bus, d.Address, d.ID) }

// Name describes the device for people: strings when known, else the
// bridge, else the id.
func (d Device) Name() string {
	parts := []string{}
	if d.Manufacturer != "" {
		parts = append(parts, d.Manufacturer)
	}
	if d.Product != "" {
		parts = append(parts, d.Product)
	}
	if len(parts) == 0 && d.Bridge != nil {
		parts = append(parts, d.Bridge.Vendor, d.Bridge.Chip)
	}
	if len(parts) == 0 {
		return "USB device " + d.ID.String()
	}
	return strings.Join(parts, " ")
}

// Port is one serial port the OS offers.
type Port struct {
	Path string
	// USB is set for ports that belong to a USB device; ID, Serial,
	// Manufacturer and Product then describe it.
	USB          bool
	ID           profile.USBID
	Serial       string
	Manufacturer string
	Product      string
}

// Snapshot is what one Scan found.
type Snapshot struct {
	Devices []Device
	Ports   []Port
	// USBNote says why USB devices could not be listed, empty when they
	// could (serial ports are listed either way).
	USBNote string
}

// bus is the libusb seam: the real one wraps gousb, tests use a fake.
type bus interface {
	// devices lists the devices on the bus; strings may be empty when a
	// device cannot be opened.
	devices() ([]Device, error)
	close() error
}

// Scanner lists USB devices and serial ports. It is safe for concurrent
// use.
type Scanner struct {
	mu      sync.Mutex
	bus     bus    // guarded by mu; nil when unavailable
	busNote string // guarded by mu
	noted   bool   // guarded by mu
	ports   func() ([]Port, error)
	logf    func(string, ...any)
}

// NewScanner opens the USB bus (libusb) if it can. logf (optional)
// receives the one line saying USB is unavailable, if it is.
func NewScanner(logf func(format string, args ...any)) *Scanner {
	b, err := openLibusb()
	return newScanner(b, err, listSerialPorts, logf)
}

func newScanner(b bus, busErr error, ports func() ([]Port, error), logf func(string, ...any)) *Scanner {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	s := &Scanner{bus: b, ports: ports, logf: logf}
	if busErr != nil {
		s.bus = nil
		s.busNote = "USB devices not listed: " + busErr.Error() + "; serial ports and file drops still work"
	}
	return s
}

// Close releases the USB bus.
func (s *Scanner) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bus == nil {
		return nil
	}
	err := s.bus.close()
	s.bus = nil
	return err
}

// Scan lists USB devices and serial ports and matches bridges to ports.
// A failure to list USB devices is not an error: it is reported once in
// the log and on every Snapshot's USBNote. The error is returned only when
// serial ports cannot be listed either.
func (s *Scanner) Scan() (Snapshot, error) {
	var snap Snapshot
	ports, perr := s.ports()
	snap.Ports = ports
	s.mu.Lock()
	if s.bus != nil {
		devs, err := s.bus.devices()
		if err != nil && len(devs) == 0 {
			s.busNote = "USB devices not listed: " + err.Error() + "; serial ports and file drops still work"
		} else {
			snap.Devices = devs
		}
	}
	if s.busNote != "" && !s.noted {
		s.noted = true
		s.logf("usb: %s", s.busNote)
	}
	snap.USBNote = s.busNote
	s.mu.Unlock()
	for i := range snap.Devices {
		d := &snap.Devices[i]
		if b, ok := LookupBridge(d.ID); ok {
			d.Bridge = &b
		}
	}
	matchPorts(snap.Devices, snap.Ports)
	sort.Slice(snap.Devices, func(i, j int) bool { return snap.Devices[i].key() < snap.Devices[j].key() })
	sort.Slice(snap.Ports, func(i, j int) bool { return snap.Ports[i].Path < snap.Ports[j].Path })
	if perr != nil && len(snap.Devices) == 0 {
		return snap, fmt.Errorf("usb: list serial ports: %w", perr)
	}
	return snap, nil
}

// matchPorts sets Device.Port for devices whose VID:PID (and serial, when
// both sides have one) match a USB serial port. A device with several
// ports (dual bridges) gets the first.
func matchPorts(devs []Device, ports []Port) {
	used := map[string]bool{}
	for pass := 0; pass < 2; pass++ { // exact serial matches first
		for i := range devs {
			d := &devs[i]
			if d.Port != "" {
				continue
			}
			for _, p := range ports {
				if !p.USB || used[p.Path] || p.ID != d.ID {
					continue
				}
				exact := p.Serial != "" && p.Serial == d.Serial
				loose := p.Serial == "" || d.Serial == ""
				if (pass == 0 && exact) || (pass == 1 && loose) {
					d.Port = p.Path
					used[p.Path] = true
					break
				}
			}
		}
	}
}

// ErrNotPlugged is returned by FindPort when no matching port exists.
var ErrNotPlugged = fmt.Errorf("instrument's USB cable not plugged in: %w", lane.ErrUnavailable)

// FindPort returns the serial port of a USB bridge with one of ids (and
// the given USB serial number, when not empty). It lists ports only, so it
// works where libusb does not.
func (s *Scanner) FindPort(ids []profile.USBID, serial string) (string, error) {
	ports, err := s.ports()
	if err != nil {
		return "", fmt.Errorf("usb: list serial ports: %w", err)
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i].Path < ports[j].Path })
	for _, p := range ports {
		if !p.USB || (serial != "" && p.Serial != serial) {
			continue
		}
		for _, id := range ids {
			if p.ID == id {
				return p.Path, nil
			}
		}
	}
	want := make([]string, len(ids))
	for i, id := range ids {
		want[i] = id.String()
	}
	if serial != "" {
		return "", fmt.Errorf("no serial port for USB %s with serial number %s: %w", strings.Join(want, " or "), serial, ErrNotPlugged)
	}
	return "", fmt.Errorf("no serial port for USB %s: %w", strings.Join(want, " or "), ErrNotPlugged)
}

// Change is what changed between two scans.
type Change struct {
	Added, Removed           []Device
	PortsAdded, PortsRemoved []string
	Snapshot                 Snapshot
}

// Empty reports whether nothing changed.
func (c Change) Empty() bool {
	return len(c.Added)+len(c.Removed)+len(c.PortsAdded)+len(c.PortsRemoved) == 0
}

// Watch scans every interval until ctx ends and calls onChange (from the
// calling goroutine) whenever devices or ports came or went. The first
// scan reports everything present as added. It returns nil when ctx ends.
func (s *Scanner) Watch(ctx context.Context, interval time.Duration, onChange func(Change)) error {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	prevDev := map[string]Device{}
	prevPort := map[string]bool{}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		snap, err := s.Scan()
		if err == nil {
			ch := Change{Snapshot: snap}
			curDev := map[string]Device{}
			for _, d := range snap.Devices {
				curDev[d.key()] = d
				if _, ok := prevDev[d.key()]; !ok {
					ch.Added = append(ch.Added, d)
				}
			}
			for k, d := range prevDev {
				if _, ok := curDev[k]; !ok {
					ch.Removed = append(ch.Removed, d)
				}
			}
			curPort := map[string]bool{}
			for _, p := range snap.Ports {
				curPort[p.Path] = true
				if !prevPort[p.Path] {
					ch.PortsAdded = append(ch.PortsAdded, p.Path)
				}
			}
			for p := range prevPort {
				if !curPort[p] {
					ch.PortsRemoved = append(ch.PortsRemoved, p)
				}
			}
			sort.Strings(ch.PortsRemoved)
			sort.Slice(ch.Removed, func(i, j int) bool { return ch.Removed[i].key() < ch.Removed[j].key() })
			prevDev, prevPort = curDev, curPort
			if !ch.Empty() {
				onChange(ch)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// listSerialPorts lists ports with USB details through go.bug.st.
func listSerialPorts() ([]Port, error) {
	list, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, err
	}
	out := make([]Port, 0, len(list))
	for _, d := range list {
		if d == nil || d.Name == "" {
			continue
		}
		p := Port{Path: d.Name, USB: d.IsUSB, Serial: d.SerialNumber, Manufacturer: d.Manufacturer, Product: d.Product}
		if d.IsUSB {
			if id, err := profile.ParseUSBID(d.VID + ":" + d.PID); err == nil {
				p.ID = id
			}
		}
		out = append(out, p)
	}
	return out, nil
}

var errNoCgo = errors.New("this build has no libusb (built without cgo)")
