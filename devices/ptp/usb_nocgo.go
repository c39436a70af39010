//go:build !cgo

package ptp

import (
	"fmt"

	"github.com/examlane/examlane/lane"
)

// USBDevice identifies a camera on the bus by its vendor and product id
// (and serial number, when several are connected).
type USBDevice struct {
	VID, PID uint16
	Serial   string
}

// ListUSBCameras needs libusb, which a build without cgo lacks.
func ListUSBCameras() ([]USBDevice, error) {
	return nil, fmt.Errorf("ptp: this build has no libusb (built without cgo): %w", lane.ErrUnavailable)
}

// OpenUSB needs libusb, which a build without cgo lacks.
func OpenUSB(USBDevice) (Transport, error) {
	return nil, fmt.Errorf("ptp: this build has no libusb (built without cgo): %w", lane.ErrUnavailable)
}
