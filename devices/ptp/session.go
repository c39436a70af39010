package ptp

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/examlane/examlane/lane"
)

// Transport carries PTP containers over USB. The gousb implementation is
// returned by OpenUSB; tests use a scripted camera.
type Transport interface {
	// WriteBulk sends one transfer on the bulk-out endpoint.
	WriteBulk(ctx context.Context, p []byte) error
	// ReadBulk reads one transfer (at most len(p) bytes) from the bulk-in
	// endpoint. A zero-length read is a zero-length packet.
	ReadBulk(ctx context.Context, p []byte) (int, error)
	// ReadInterrupt waits for one transfer from the interrupt endpoint: an
	// event container. It returns an error wrapping ErrNoInterrupt when
	// the device has no interrupt endpoint.
	ReadInterrupt(ctx context.Context, p []byte) (int, error)
	// Close releases the interface and the device.
	Close() error
}

// ErrNoInterrupt means the device has no interrupt endpoint: new objects
// are found by polling.
var ErrNoInterrupt = errors.New("ptp: the device has no interrupt endpoint")

// DefaultMaxObject is the default largest object GetObject accepts: 128
// MiB, several times the largest fundus photograph or DICOM file.
const DefaultMaxObject = 128 << 20

// readChunk is the size of one bulk-in read: large reads let the host
// controller move many packets per transfer.
const readChunk = 256 << 10

// Session is an open PTP session with one device. Its methods run one
// transaction at a time (they are serialised by a mutex) and are safe for
// concurrent use.
type Session struct {
	t Transport
	// MaxObject is the largest data phase accepted, in bytes.
	maxObject int64

	mu   sync.Mutex
	tid  uint32 // guarded by mu: the last transaction id used
	open bool   // guarded by mu
	id   uint32 // session id
}

// NewSession returns a session over t, not yet opened. maxObject limits
// the size of any data phase (0 means DefaultMaxObject).
func NewSession(t Transport, maxObject int64) *Session {
	if maxObject <= 0 {
		maxObject = DefaultMaxObject
	}
	return &Session{t: t, maxObject: maxObject}
}

// Open opens session id (any non-zero number). A device that says a session
// is already open (left over from an earlier run) is taken as open.
func (s *Session) Open(ctx context.Context, id uint32) error {
	if id == 0 {
		id = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tid = 0
	_, _, err := s.transactLocked(ctx, OpOpenSession, []uint32{id}, false)
	var re *ResponseError
	if errors.As(err, &re) && re.Code == RespSessionAlreadyOpen {
		err = nil
	}
	if err != nil {
		return err
	}
	s.open, s.id = true, id
	return nil
}

// Close closes the session (when open) and the transport.
func (s *Session) Close(ctx context.Context) error {
	s.mu.Lock()
	var err error
	if s.open {
		_, _, err = s.transactLocked(ctx, OpCloseSession, nil, false)
		s.open = false
	}
	s.mu.Unlock()
	return errors.Join(err, s.t.Close())
}

// DeviceInfo asks the device what it is and what it supports. It works
// with or without an open session.
func (s *Session) DeviceInfo(ctx context.Context) (DeviceInfo, error) {
	_, data, err := s.transact(ctx, OpGetDeviceInfo, nil, true)
	if err != nil {
		return DeviceInfo{}, err
	}
	return ParseDeviceInfo(data)
}

// StorageIDs lists the device's stores.
func (s *Session) StorageIDs(ctx context.Context) ([]uint32, error) {
	_, data, err := s.transact(ctx, OpGetStorageIDs, nil, true)
	if err != nil {
		return nil, err
	}
	return ParseUint32Array(data)
}

// AllStorages selects every store in ObjectHandles.
const AllStorages = 0xFFFFFFFF

// ObjectHandles lists the objects on storage (AllStorages for every
// store), of any format, in every folder.
func (s *Session) ObjectHandles(ctx context.Context, storage uint32) ([]uint32, error) {
	_, data, err := s.transact(ctx, OpGetObjectHandles, []uint32{storage, 0, 0}, true)
	if err != nil {
		return nil, err
	}
	return ParseUint32Array(data)
}

// ObjectInfo describes object h.
func (s *Session) ObjectInfo(ctx context.Context, h uint32) (ObjectInfo, error) {
	_, data, err := s.transact(ctx, OpGetObjectInfo, []uint32{h}, true)
	if err != nil {
		return ObjectInfo{}, err
	}
	return ParseObjectInfo(data)
}

// Object fetches object h's bytes.
func (s *Session) Object(ctx context.Context, h uint32) ([]byte, error) {
	_, data, err := s.transact(ctx, OpGetObject, []uint32{h}, true)
	return data, err
}

func (s *Session) transact(ctx context.Context, op uint16, params []uint32, dataIn bool) (Container, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transactLocked(ctx, op, params, dataIn)
}

// transactLocked runs one transaction: the command, the data phase from
// the device when dataIn, and the response. It returns the response and
// the data.
func (s *Session) transactLocked(ctx context.Context, op uint16, params []uint32, dataIn bool) (Container, []byte, error) {
	// Outside a session (and for OpenSession itself) the transaction id
	// is 0; inside, ids count up from 1 (ISO 15740 §9.3.1).
	var tid uint32
	if s.open && op != OpOpenSession {
		s.tid++
		if s.tid == 0 || s.tid == 0xFFFFFFFF {
			s.tid = 1
		}
		tid = s.tid
	}
	cmd := Container{Type: TypeCommand, Code: op, TransactionID: tid, Params: params}
	if err := s.t.WriteBulk(ctx, cmd.Encode()); err != nil {
		return Container{}, nil, fmt.Errorf("ptp: %s: send command: %w", OpName(op), err)
	}
	var data []byte
	for {
		h, body, err := s.readContainer(ctx, op)
		if err != nil {
			return Container{}, nil, err
		}
		if h.TransactionID != tid {
			return Container{}, nil, lane.Invalidf("ptp: %s: %s container for transaction %d, expected %d", OpName(op), h.Type, h.TransactionID, tid)
		}
		switch h.Type {
		case TypeData:
			if !dataIn {
				return Container{}, nil, lane.Invalidf("ptp: %s: unexpected data phase", OpName(op))
			}
			data = body
			continue
		case TypeResponse:
			resp, err := DecodeContainer(append(encodeHeader(h), body...))
			if err != nil {
				return Container{}, nil, fmt.Errorf("ptp: %s: %w", OpName(op), err)
			}
			if resp.Code != RespOK {
				return resp, nil, &ResponseError{Op: op, Code: resp.Code}
			}
			return resp, data, nil
		default:
			return Container{}, nil, lane.Invalidf("ptp: %s: unexpected %s container on bulk-in", OpName(op), h.Type)
		}
	}
}

func encodeHeader(h Header) []byte {
	return Container{Type: h.Type, Code: h.Code, TransactionID: h.TransactionID}.Encode()[:HeaderSize]
}

// readContainer reads one container from bulk-in, spanning as many
// transfers as its length needs. The length is checked against the object
// limit before the body is allocated.
func (s *Session) readContainer(ctx context.Context, op uint16) (Header, []byte, error) {
	buf := make([]byte, readChunk)
	var n int
	var err error
	for n == 0 { // skip zero-length packets between containers
		if n, err = s.t.ReadBulk(ctx, buf); err != nil {
			return Header{}, nil, fmt.Errorf("ptp: %s: read: %w", OpName(op), err)
		}
	}
	h, err := ParseHeader(buf[:n])
	if err != nil {
		return Header{}, nil, fmt.Errorf("ptp: %s: %w", OpName(op), err)
	}
	total := int64(h.Length)
	if h.Type != TypeData && total > HeaderSize+4*MaxParams {
		return Header{}, nil, lane.Invalidf("ptp: %s: %s container of %d bytes", OpName(op), h.Type, total)
	}
	if total-HeaderSize > s.maxObject {
		return Header{}, nil, lane.Invalidf("ptp: %s: data phase of %d bytes is over the %d-byte limit", OpName(op), total-HeaderSize, s.maxObject)
	}
	if int64(n) > total {
		return Header{}, nil, lane.Invalidf("ptp: %s: transfer of %d bytes carries more than its %d-byte container", OpName(op), n, total)
	}
	body := make([]byte, total-HeaderSize)
	got := copy(body, buf[HeaderSize:n])
	for int64(got) < int64(len(body)) {
		m, err := s.t.ReadBulk(ctx, body[got:])
		if err != nil {
			return Header{}, nil, fmt.Errorf("ptp: %s: read data (%d of %d bytes): %w", OpName(op), got, len(body), err)
		}
		if m == 0 {
			return Header{}, nil, lane.Invalidf("ptp: %s: data phase ended after %d of %d bytes", OpName(op), got, len(body))
		}
		got += m
	}
	return h, body, nil
}

// ReadEvent waits for one event from the interrupt endpoint. It returns
// an error wrapping ErrNoInterrupt when the device has none.
func ReadEvent(ctx context.Context, t Transport) (Container, error) {
	buf := make([]byte, 64)
	n, err := t.ReadInterrupt(ctx, buf)
	if err != nil {
		return Container{}, err
	}
	c, err := DecodeContainer(buf[:n])
	if err != nil {
		return Container{}, err
	}
	if c.Type != TypeEvent {
		return Container{}, lane.Invalidf("ptp: %s container on the interrupt endpoint", c.Type)
	}
	return c, nil
}
