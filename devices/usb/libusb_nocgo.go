//go:build !cgo

package usb

func openLibusb() (bus, error) { return nil, errNoCgo }
