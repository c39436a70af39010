//go:build cgo

package ptp

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/google/gousb"

	"github.com/examlane/examlane/lane"
)

// USBDevice identifies a camera on the bus by its vendor and product id
// (and serial number, when several are connected).
type USBDevice struct {
	VID, PID uint16
	Serial   string
}

// interfacesOf converts gousb descriptors into InterfaceInfo.
func interfacesOf(d *gousb.DeviceDesc) []InterfaceInfo {
	var out []InterfaceInfo
	for _, c := range d.Configs {
		for _, i := range c.Interfaces {
			for _, a := range i.AltSettings {
				s := InterfaceInfo{Config: c.Number, Number: a.Number, Alt: a.Alternate,
					Class: uint8(a.Class), SubClass: uint8(a.SubClass), Protocol: uint8(a.Protocol)}
				for _, e := range a.Endpoints {
					s.Endpoints = append(s.Endpoints, EndpointInfo{
						Address:   uint8(e.Address),
						Bulk:      e.TransferType == gousb.TransferTypeBulk,
						Interrupt: e.TransferType == gousb.TransferTypeInterrupt,
						MaxPacket: e.MaxPacketSize,
					})
				}
				out = append(out, s)
			}
		}
	}
	return out
}

// ListUSBCameras lists the connected devices that have a PTP interface.
func ListUSBCameras() (cams []USBDevice, err error) {
	defer func() {
		if r := recover(); r != nil { // gousb panics when libusb cannot start
			cams, err = nil, fmt.Errorf("ptp: libusb could not start (%v): %w", r, lane.ErrUnavailable)
		}
	}()
	ctx := gousb.NewContext()
	defer ctx.Close()
	devs, err := ctx.OpenDevices(func(d *gousb.DeviceDesc) bool {
		_, ferr := FindPTPInterface(interfacesOf(d))
		return ferr == nil
	})
	for _, d := range devs {
		sn, _ := d.SerialNumber()
		cams = append(cams, USBDevice{VID: uint16(d.Desc.Vendor), PID: uint16(d.Desc.Product), Serial: sn})
		d.Close()
	}
	if err != nil && len(cams) == 0 {
		return nil, fmt.Errorf("ptp: list USB devices: %w", err)
	}
	return cams, nil
}

// usbTransport is the gousb Transport.
type usbTransport struct {
	ctx   *gousb.Context
	dev   *gousb.Device
	cfg   *gousb.Config
	intf  *gousb.Interface
	in    *gousb.InEndpoint
	out   *gousb.OutEndpoint
	event *gousb.InEndpoint // nil without an interrupt endpoint
	once  sync.Once
}

// OpenUSB opens the camera want (the first PTP camera when want is zero),
// claims its still-image interface (detaching a kernel driver such as
// gphoto's if one holds it) and returns its transport. A missing camera is
// an error wrapping lane.ErrUnavailable.
func OpenUSB(want USBDevice) (t Transport, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("ptp: libusb could not start (%v): %w", r, lane.ErrUnavailable)
		}
	}()
	ctx := gousb.NewContext()
	var pick PTPInterface
	devs, lerr := ctx.OpenDevices(func(d *gousb.DeviceDesc) bool {
		if want.VID != 0 && (uint16(d.Vendor) != want.VID || uint16(d.Product) != want.PID) {
			return false
		}
		_, ferr := FindPTPInterface(interfacesOf(d))
		return ferr == nil
	})
	var dev *gousb.Device
	for _, d := range devs {
		if dev == nil {
			if sn, _ := d.SerialNumber(); want.Serial == "" || sn == want.Serial {
				dev = d
				continue
			}
		}
		d.Close()
	}
	if dev == nil {
		ctx.Close()
		if lerr != nil {
			return nil, fmt.Errorf("ptp: no camera found (%v): %w", lerr, lane.ErrUnavailable)
		}
		return nil, fmt.Errorf("ptp: no PTP camera connected: %w", lane.ErrUnavailable)
	}
	ut := &usbTransport{ctx: ctx, dev: dev}
	fail := func(what string, err error) (Transport, error) {
		ut.Close()
		return nil, fmt.Errorf("ptp: %s: %w", what, err)
	}
	pick, err = FindPTPInterface(interfacesOf(dev.Desc))
	if err != nil {
		return fail("interface", err)
	}
	_ = dev.SetAutoDetach(true)
	if ut.cfg, err = dev.Config(pick.Config); err != nil {
		return fail("configuration", err)
	}
	if ut.intf, err = ut.cfg.Interface(pick.Number, pick.Alt); err != nil {
		return fail("claim interface", err)
	}
	if ut.in, err = ut.intf.InEndpoint(pick.BulkIn.Number()); err != nil {
		return fail("bulk-in endpoint", err)
	}
	if ut.out, err = ut.intf.OutEndpoint(pick.BulkOut.Number()); err != nil {
		return fail("bulk-out endpoint", err)
	}
	if pick.HasInterrupt {
		if ut.event, err = ut.intf.InEndpoint(pick.Interrupt.Number()); err != nil {
			ut.event = nil // poll instead
		}
	}
	return ut, nil
}

func (u *usbTransport) WriteBulk(ctx context.Context, p []byte) error {
	n, err := u.out.WriteContext(ctx, p)
	if err == nil && n != len(p) {
		err = fmt.Errorf("short write: %d of %d bytes", n, len(p))
	}
	return err
}

func (u *usbTransport) ReadBulk(ctx context.Context, p []byte) (int, error) {
	return u.in.ReadContext(ctx, p)
}

func (u *usbTransport) ReadInterrupt(ctx context.Context, p []byte) (int, error) {
	if u.event == nil {
		return 0, ErrNoInterrupt
	}
	return u.event.ReadContext(ctx, p)
}

func (u *usbTransport) Close() error {
	var err error
	u.once.Do(func() {
		if u.intf != nil {
			u.intf.Close()
		}
		var errs []error
		if u.cfg != nil {
			errs = append(errs, u.cfg.Close())
		}
		if u.dev != nil {
			errs = append(errs, u.dev.Close())
		}
		errs = append(errs, u.ctx.Close())
		err = errors.Join(errs...)
	})
	return err
}
