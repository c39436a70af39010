// Package ptptest is a scripted PTP camera for tests: a ptp.Transport that
// speaks the container protocol byte for byte, as a USB still-image device
// would, with images on one store and captures announced by ObjectAdded
// events. Import it only from _test.go files.
package ptptest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"sync"

	"github.com/examlane/examlane/devices/ptp"
)

// Packet is the camera's bulk packet size (USB 2.0 high speed).
const Packet = 512

// Storage is the id of the camera's one store.
const Storage = 0x00010001

// Camera is a fake USB camera. It decodes every command written to its
// bulk-out endpoint, checks the session and transaction ids, and queues
// the data and response containers as USB transfers of whole packets (a
// short or zero-length packet ends a transfer, as on a real bus). Events
// go out on its interrupt endpoint. It is safe for concurrent use.
type Camera struct {
	mu       sync.Mutex
	info     ptp.DeviceInfo
	objects  map[uint32]object // guarded by mu
	order    []uint32          // guarded by mu
	session  uint32            // guarded by mu
	lastTID  uint32            // guarded by mu
	commands [][]byte          // guarded by mu
	pending  [][]byte          // guarded by mu
	faults   []string          // guarded by mu
	fail     map[uint16]uint16 // guarded by mu
	tamper   func(op uint16, transfers [][]byte) [][]byte
	closed   bool // guarded by mu
	// NoEvents makes the camera have no interrupt endpoint (set before
	// use).
	NoEvents bool

	events chan []byte
}

type object struct {
	info ptp.ObjectInfo
	data []byte
}

// New returns a camera with no objects.
func New() *Camera {
	return &Camera{
		info: ptp.DeviceInfo{StandardVersion: 100, Manufacturer: "Synthetic Optics", Model: "FC-1 Fundus", SerialNumber: "SN0001",
			Operations: []uint16{ptp.OpGetDeviceInfo, ptp.OpOpenSession, ptp.OpCloseSession, ptp.OpGetStorageIDs,
				ptp.OpGetObjectHandles, ptp.OpGetObjectInfo, ptp.OpGetObject},
			Events: []uint16{ptp.EventObjectAdded}, ImageFormats: []uint16{ptp.FormatEXIFJPEG}},
		objects: map[uint32]object{},
		fail:    map[uint16]uint16{},
		events:  make(chan []byte, 16),
	}
}

// JPEG returns a small synthetic JPEG (a bright disc on a reddish field),
// different for each seed.
func JPEG(w, h, seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			dx, dy := x-w*2/3, y-h/2
			c := color.RGBA{uint8(150 + seed*13), uint8(50 + (x*y+seed)%40), 20, 255}
			if dx*dx+dy*dy < (h/8)*(h/8) {
				c = color.RGBA{250, 220, 170, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		panic(err) // cannot fail on an in-memory RGBA
	}
	return b.Bytes()
}

// Add puts an object on the camera without an event and returns its
// handle. captureDate is a PTP date-time string ("" for none).
func (c *Camera) Add(name string, format uint16, data []byte, captureDate string) uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := uint32(0x1000 + len(c.order) + 1)
	c.objects[h] = object{info: ptp.ObjectInfo{StorageID: Storage, Format: format, CompressedSize: uint32(len(data)),
		ImageWidth: 64, ImageHeight: 48, Filename: name, CaptureDate: captureDate}, data: data}
	c.order = append(c.order, h)
	return h
}

// Capture adds a JPEG and announces it with an ObjectAdded event (unless
// NoEvents).
func (c *Camera) Capture(name string, data []byte) uint32 {
	h := c.Add(name, ptp.FormatEXIFJPEG, data, "20240305T101500")
	if !c.NoEvents {
		c.events <- ptp.Container{Type: ptp.TypeEvent, Code: ptp.EventObjectAdded, TransactionID: 0xFFFFFFFF, Params: []uint32{h}}.Encode()
	}
	return h
}

// FailNext makes the next command with operation op answer code.
func (c *Camera) FailNext(op, code uint16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail[op] = code
}

// Tamper installs f to rewrite the transfers answering each command (to
// simulate broken devices).
func (c *Camera) Tamper(f func(op uint16, transfers [][]byte) [][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tamper = f
}

// Commands returns every command container received, as bytes.
func (c *Camera) Commands() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.commands...)
}

// Faults returns the protocol errors the camera saw from the host (bad
// containers, wrong transaction ids); a correct host leaves it empty.
func (c *Camera) Faults() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.faults...)
}

// Reset plugs the camera in again: no session, not closed.
func (c *Camera) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed, c.session, c.pending = false, 0, nil
}

// transfers cuts a container into USB transfers: whole packets up to
// chunk bytes each, the last one short; a container that is an exact
// multiple of the packet size is followed by a zero-length packet.
func transfers(b []byte, chunk int) [][]byte {
	var out [][]byte
	for len(b) > chunk {
		out = append(out, b[:chunk])
		b = b[chunk:]
	}
	out = append(out, b)
	if len(b)%Packet == 0 {
		out = append(out, nil)
	}
	return out
}

// WriteBulk receives a command and queues the answer.
func (c *Camera) WriteBulk(ctx context.Context, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("device closed")
	}
	cmd, err := ptp.DecodeContainer(p)
	if err != nil || cmd.Type != ptp.TypeCommand {
		c.faults = append(c.faults, fmt.Sprintf("bad command %x: %v", p, err))
		return errors.New("stall")
	}
	c.commands = append(c.commands, append([]byte(nil), p...))
	op, tid := cmd.Code, cmd.TransactionID
	var data []byte
	code := ptp.RespOK
	param := func(i int) uint32 {
		if i < len(cmd.Params) {
			return cmd.Params[i]
		}
		return 0
	}
	switch {
	case op == ptp.OpOpenSession:
		if tid != 0 {
			c.faults = append(c.faults, fmt.Sprintf("OpenSession with transaction id %d, want 0", tid))
		}
		if c.session != 0 {
			code = ptp.RespSessionAlreadyOpen
		} else {
			c.session, c.lastTID = param(0), 0
		}
	case op == ptp.OpGetDeviceInfo:
		data = ptp.EncodeDeviceInfo(c.info)
	case c.session == 0:
		code = ptp.RespSessionNotOpen
	case tid != c.lastTID+1:
		c.faults = append(c.faults, fmt.Sprintf("%s with transaction id %d after %d", ptp.OpName(op), tid, c.lastTID))
		code = ptp.RespInvalidTransactionID
	default:
		switch op {
		case ptp.OpCloseSession:
			c.session = 0
		case ptp.OpGetStorageIDs:
			data = ptp.EncodeUint32Array([]uint32{Storage})
		case ptp.OpGetObjectHandles:
			data = ptp.EncodeUint32Array(c.order)
		case ptp.OpGetObjectInfo:
			if o, ok := c.objects[param(0)]; ok {
				data = ptp.EncodeObjectInfo(o.info)
			} else {
				code = ptp.RespInvalidObjectHandle
			}
		case ptp.OpGetObject:
			if o, ok := c.objects[param(0)]; ok {
				data = o.data
				if data == nil {
					data = []byte{}
				}
			} else {
				code = ptp.RespInvalidObjectHandle
			}
		default:
			code = ptp.RespOperationNotSupported
		}
	}
	if c.session != 0 && op != ptp.OpOpenSession && op != ptp.OpGetDeviceInfo {
		c.lastTID = tid
	}
	if f, ok := c.fail[op]; ok {
		delete(c.fail, op)
		code, data = f, nil
	}
	var out [][]byte
	if data != nil && code == ptp.RespOK {
		out = append(out, transfers(ptp.Container{Type: ptp.TypeData, Code: op, TransactionID: tid, Payload: data}.Encode(), 16*Packet)...)
	}
	out = append(out, ptp.Container{Type: ptp.TypeResponse, Code: code, TransactionID: tid}.Encode())
	if c.tamper != nil {
		out = c.tamper(op, out)
	}
	c.pending = append(c.pending, out...)
	return nil
}

// ReadBulk returns the next queued transfer.
func (c *Camera) ReadBulk(ctx context.Context, p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) == 0 {
		return 0, errors.New("timeout: nothing to read on bulk-in")
	}
	tr := c.pending[0]
	if len(tr) > len(p) {
		return 0, fmt.Errorf("overflow: %d-byte transfer into %d bytes", len(tr), len(p))
	}
	c.pending = c.pending[1:]
	return copy(p, tr), nil
}

// ReadInterrupt waits for an event.
func (c *Camera) ReadInterrupt(ctx context.Context, p []byte) (int, error) {
	if c.NoEvents {
		return 0, ptp.ErrNoInterrupt
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case ev := <-c.events:
		return copy(p, ev), nil
	}
}

// Close unplugs the camera.
func (c *Camera) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}
