// Package ptp talks to cameras over USB with the Picture Transfer Protocol
// (PTP, ISO 15740, as carried by the USB Still Image Capture Device class;
// MTP devices speak the same container protocol): it opens a session,
// lists the objects on the camera's stores, fetches new images and notices
// new captures from ObjectAdded events or, when a camera sends none, by
// polling the object list.
//
// # Wire format
//
// Every exchange is made of containers, little-endian:
//
//	length u32 (whole container, header included) | type u16 | code u16 |
//	transaction id u32 | payload
//
// Type 1 is a command (payload: up to five u32 parameters) sent on the
// bulk-out endpoint; type 2 a data phase (payload: a data set or an
// object's bytes) in either direction; type 3 the response (a response
// code and up to five u32 parameters) on bulk-in; type 4 an event (an
// event code and up to three parameters) on the interrupt endpoint. A data
// container longer than one USB transfer continues in further bulk-in
// transfers until its length is reached.
//
// The USB side is behind the Transport interface: the gousb implementation
// (OpenUSB, cgo builds) claims the still-image interface (class 6) and its
// bulk-in, bulk-out and interrupt endpoints; tests use a scripted camera
// that speaks the protocol byte for byte. Nothing a camera sends can
// allocate more than the configured object size limit or crash the
// decoder: container and data-set decoding are fuzzed.
package ptp

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/examlane/examlane/lane"
)

// ContainerType is the kind of a PTP container.
type ContainerType uint16

// Container types.
const (
	TypeCommand  ContainerType = 1
	TypeData     ContainerType = 2
	TypeResponse ContainerType = 3
	TypeEvent    ContainerType = 4
)

// String names the container type.
func (t ContainerType) String() string {
	switch t {
	case TypeCommand:
		return "command"
	case TypeData:
		return "data"
	case TypeResponse:
		return "response"
	case TypeEvent:
		return "event"
	}
	return fmt.Sprintf("type 0x%04x", uint16(t))
}

// HeaderSize is the size of a container header.
const HeaderSize = 12

// MaxParams is the largest number of parameters in a command, response or
// event container.
const MaxParams = 5

// Operation codes used by the lane.
const (
	OpGetDeviceInfo    uint16 = 0x1001
	OpOpenSession      uint16 = 0x1002
	OpCloseSession     uint16 = 0x1003
	OpGetStorageIDs    uint16 = 0x1004
	OpGetObjectHandles uint16 = 0x1007
	OpGetObjectInfo    uint16 = 0x1008
	OpGetObject        uint16 = 0x1009
)

// Response codes.
const (
	RespOK                    uint16 = 0x2001
	RespGeneralError          uint16 = 0x2002
	RespSessionNotOpen        uint16 = 0x2003
	RespInvalidTransactionID  uint16 = 0x2004
	RespOperationNotSupported uint16 = 0x2005
	RespParameterNotSupported uint16 = 0x2006
	RespIncompleteTransfer    uint16 = 0x2007
	RespInvalidStorageID      uint16 = 0x2008
	RespInvalidObjectHandle   uint16 = 0x2009
	RespStoreNotAvailable     uint16 = 0x2013
	RespDeviceBusy            uint16 = 0x2019
	RespSessionAlreadyOpen    uint16 = 0x201E
)

// Event codes.
const (
	EventCancelTransaction uint16 = 0x4001
	EventObjectAdded       uint16 = 0x4002
	EventObjectRemoved     uint16 = 0x4003
	EventStoreAdded        uint16 = 0x4004
	EventStoreRemoved      uint16 = 0x4005
	EventDeviceReset       uint16 = 0x400B
	EventCaptureComplete   uint16 = 0x400D
)

// Object format codes of the images the lane fetches, and of folders.
const (
	FormatUndefined   uint16 = 0x3000
	FormatAssociation uint16 = 0x3001 // a folder
	FormatEXIFJPEG    uint16 = 0x3801
	FormatBMP         uint16 = 0x3804
	FormatJFIF        uint16 = 0x3808
	FormatPNG         uint16 = 0x380B
	FormatTIFF        uint16 = 0x380D
)

// Container is one decoded PTP container.
type Container struct {
	Type ContainerType
	// Code is the operation, response or event code (for a data
	// container, the operation it belongs to).
	Code          uint16
	TransactionID uint32
	// Params are the parameters of a command, response or event.
	Params []uint32
	// Payload is a data container's payload.
	Payload []byte
}

// Encode returns c's bytes. Params are written for command, response and
// event containers (at most MaxParams), the payload for data containers.
func (c Container) Encode() []byte {
	n := HeaderSize
	if c.Type == TypeData {
		n += len(c.Payload)
	} else {
		n += 4 * min(len(c.Params), MaxParams)
	}
	b := make([]byte, HeaderSize, n)
	binary.LittleEndian.PutUint32(b[0:], uint32(n))
	binary.LittleEndian.PutUint16(b[4:], uint16(c.Type))
	binary.LittleEndian.PutUint16(b[6:], c.Code)
	binary.LittleEndian.PutUint32(b[8:], c.TransactionID)
	if c.Type == TypeData {
		return append(b, c.Payload...)
	}
	for _, p := range c.Params[:min(len(c.Params), MaxParams)] {
		b = binary.LittleEndian.AppendUint32(b, p)
	}
	return b
}

// Header is a container's header.
type Header struct {
	Length        uint32
	Type          ContainerType
	Code          uint16
	TransactionID uint32
}

// ParseHeader reads a container header from the first HeaderSize bytes of
// b. It returns an error wrapping lane.ErrInvalid if b is short, the length
// is smaller than a header, or the type is unknown.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, lane.Invalidf("ptp: container of %d bytes is shorter than its %d-byte header", len(b), HeaderSize)
	}
	h := Header{
		Length:        binary.LittleEndian.Uint32(b[0:]),
		Type:          ContainerType(binary.LittleEndian.Uint16(b[4:])),
		Code:          binary.LittleEndian.Uint16(b[6:]),
		TransactionID: binary.LittleEndian.Uint32(b[8:]),
	}
	if h.Length < HeaderSize {
		return Header{}, lane.Invalidf("ptp: container length %d is shorter than its header", h.Length)
	}
	if h.Type < TypeCommand || h.Type > TypeEvent {
		return Header{}, lane.Invalidf("ptp: unknown container type 0x%04x", uint16(h.Type))
	}
	return h, nil
}

// DecodeContainer decodes one whole container. b must hold exactly the
// container's length (a transfer may carry no more than one container).
// Parameters of command, response and event containers must be whole u32s,
// at most MaxParams. Errors wrap lane.ErrInvalid.
func DecodeContainer(b []byte) (Container, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return Container{}, err
	}
	if int64(h.Length) != int64(len(b)) {
		return Container{}, lane.Invalidf("ptp: %s container says %d bytes but %d arrived", h.Type, h.Length, len(b))
	}
	c := Container{Type: h.Type, Code: h.Code, TransactionID: h.TransactionID}
	body := b[HeaderSize:]
	if h.Type == TypeData {
		c.Payload = body
		return c, nil
	}
	if len(body)%4 != 0 || len(body)/4 > MaxParams {
		return Container{}, lane.Invalidf("ptp: %s container has %d parameter bytes (want up to %d whole u32s)", h.Type, len(body), MaxParams)
	}
	for i := 0; i < len(body); i += 4 {
		c.Params = append(c.Params, binary.LittleEndian.Uint32(body[i:]))
	}
	return c, nil
}

// ResponseError is a response other than OK.
type ResponseError struct {
	Op, Code uint16
}

// Error names the operation and the response.
func (e *ResponseError) Error() string {
	return fmt.Sprintf("ptp: %s answered %s", OpName(e.Op), RespName(e.Code))
}

// Is makes errors.Is(err, lane.ErrUnavailable) true for a busy camera or a
// store that is not available, and lane.ErrNotFound for an object handle
// that no longer exists.
func (e *ResponseError) Is(target error) bool {
	switch target {
	case lane.ErrUnavailable:
		return e.Code == RespDeviceBusy || e.Code == RespStoreNotAvailable
	case lane.ErrNotFound:
		return e.Code == RespInvalidObjectHandle
	}
	return false
}

// OpName names an operation code.
func OpName(op uint16) string {
	switch op {
	case OpGetDeviceInfo:
		return "GetDeviceInfo"
	case OpOpenSession:
		return "OpenSession"
	case OpCloseSession:
		return "CloseSession"
	case OpGetStorageIDs:
		return "GetStorageIDs"
	case OpGetObjectHandles:
		return "GetObjectHandles"
	case OpGetObjectInfo:
		return "GetObjectInfo"
	case OpGetObject:
		return "GetObject"
	}
	return fmt.Sprintf("operation 0x%04x", op)
}

// RespName names a response code.
func RespName(code uint16) string {
	switch code {
	case RespOK:
		return "OK"
	case RespGeneralError:
		return "GeneralError"
	case RespSessionNotOpen:
		return "SessionNotOpen"
	case RespInvalidTransactionID:
		return "InvalidTransactionID"
	case RespOperationNotSupported:
		return "OperationNotSupported"
	case RespParameterNotSupported:
		return "ParameterNotSupported"
	case RespIncompleteTransfer:
		return "IncompleteTransfer"
	case RespInvalidStorageID:
		return "InvalidStorageID"
	case RespInvalidObjectHandle:
		return "InvalidObjectHandle"
	case RespStoreNotAvailable:
		return "StoreNotAvailable"
	case RespDeviceBusy:
		return "DeviceBusy"
	case RespSessionAlreadyOpen:
		return "SessionAlreadyOpen"
	}
	return fmt.Sprintf("response 0x%04x", code)
}

// ErrNotCamera means a USB device has no PTP (still-image) interface.
var ErrNotCamera = errors.New("not a PTP camera")
