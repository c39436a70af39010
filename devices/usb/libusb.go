//go:build cgo

package usb

import (
	"fmt"
	"sync"

	"github.com/google/gousb"

	"github.com/examlane/examlane/devices/profile"
)

// libusbBus is the gousb implementation of bus. It opens each device once
// (when first seen) to read its strings, then remembers them.
type libusbBus struct {
	ctx *gousb.Context

	mu      sync.Mutex
	strings map[string][3]string // guarded by mu: key → manufacturer, product, serial
}

// openLibusb starts libusb. gousb panics when libusb_init fails; that is
// turned into an error here.
func openLibusb() (b bus, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("libusb could not start (%v)", r)
		}
	}()
	return &libusbBus{ctx: gousb.NewContext(), strings: map[string][3]string{}}, nil
}

func (b *libusbBus) devices() ([]Device, error) {
	var descs []*gousb.DeviceDesc
	b.mu.Lock()
	defer b.mu.Unlock()
	opened, err := b.ctx.OpenDevices(func(d *gousb.DeviceDesc) bool {
		descs = append(descs, d)
		_, known := b.strings[descKey(d)]
		return !known
	})
	for _, d := range opened {
		var s [3]string
		s[0], _ = d.Manufacturer()
		s[1], _ = d.Product()
		s[2], _ = d.SerialNumber()
		b.strings[descKey(d.Desc)] = s
		d.Close()
	}
	for _, d := range descs {
		if _, ok := b.strings[descKey(d)]; !ok {
			b.strings[descKey(d)] = [3]string{} // could not open: ids only, do not retry
		}
	}
	out := make([]Device, 0, len(descs))
	live := map[string]bool{}
	for _, d := range descs {
		k := descKey(d)
		live[k] = true
		s := b.strings[k]
		out = append(out, Device{
			ID:  profile.USBID{VID: uint16(d.Vendor), PID: uint16(d.Product)},
			Bus: d.Bus, Address: d.Address,
			Manufacturer: s[0], Product: s[1], Serial: s[2],
		})
	}
	for k := range b.strings {
		if !live[k] {
			delete(b.strings, k)
		}
	}
	if err != nil && len(descs) == 0 {
		return nil, fmt.Errorf("libusb: %w", err)
	}
	return out, nil // a device we may not open still shows with its ids
}

func (b *libusbBus) close() error { return b.ctx.Close() }

func descKey(d *gousb.DeviceDesc) string {
	return fmt.Sprintf("%d/%d/%s:%s", d.Bus, d.Address, d.Vendor, d.Product)
}
