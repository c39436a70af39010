package ptp

import (
	"context"
	"errors"
	"testing"
)

// FuzzDecodeContainer feeds arbitrary bytes to the container decoder and,
// for data containers, to every data-set parser. Nothing may panic, and a
// container that decodes must encode back to the same bytes.
func FuzzDecodeContainer(f *testing.F) {
	f.Add(Container{Type: TypeCommand, Code: OpOpenSession, Params: []uint32{1}}.Encode())
	f.Add(Container{Type: TypeResponse, Code: RespOK, TransactionID: 3}.Encode())
	f.Add(Container{Type: TypeEvent, Code: EventObjectAdded, Params: []uint32{0x1001}}.Encode())
	f.Add(Container{Type: TypeData, Code: OpGetDeviceInfo, Payload: EncodeDeviceInfo(DeviceInfo{Manufacturer: "S", Model: "M", Operations: []uint16{OpGetObject}})}.Encode())
	f.Add(Container{Type: TypeData, Code: OpGetObjectInfo, Payload: EncodeObjectInfo(ObjectInfo{Format: FormatEXIFJPEG, Filename: "IMG_0001.JPG", CaptureDate: "20240305T101500"})}.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeContainer(b)
		if err != nil {
			return
		}
		if got := c.Encode(); string(got) != string(b) {
			t.Fatalf("round trip: %x → %x", b, got)
		}
		if c.Type == TypeData {
			_, _ = ParseDeviceInfo(c.Payload)
			if o, err := ParseObjectInfo(c.Payload); err == nil {
				_, _ = ParseDateTime(o.CaptureDate, nil)
			}
			_, _ = ParseUint32Array(c.Payload)
		}
	})
}

// replayTransport answers every command with the same fuzzed bulk-in
// transfers.
type replayTransport struct {
	transfers [][]byte
	i         int
}

func (r *replayTransport) WriteBulk(context.Context, []byte) error { return nil }
func (r *replayTransport) ReadBulk(_ context.Context, p []byte) (int, error) {
	if r.i >= len(r.transfers) {
		return 0, errors.New("timeout")
	}
	t := r.transfers[r.i]
	r.i++
	if len(t) > len(p) {
		return 0, errors.New("overflow")
	}
	return copy(p, t), nil
}
func (r *replayTransport) ReadInterrupt(_ context.Context, p []byte) (int, error) {
	if r.i >= len(r.transfers) {
		return 0, ErrNoInterrupt
	}
	r.i++
	return copy(p, r.transfers[r.i-1]), nil
}
func (r *replayTransport) Close() error { return nil }

// FuzzSessionRead plays arbitrary bytes back as a camera's bulk-in
// transfers (split at the first byte's value) to a session fetching an
// object's info and then the object, and to the event reader. Nothing may
// panic or allocate past the 1 MiB limit.
func FuzzSessionRead(f *testing.F) {
	resp := Container{Type: TypeResponse, Code: RespOK}.Encode()
	data := Container{Type: TypeData, Code: OpGetObjectInfo, Payload: EncodeObjectInfo(ObjectInfo{Format: FormatEXIFJPEG, Filename: "a.jpg"})}.Encode()
	f.Add(append(append([]byte{byte(len(data))}, data...), resp...))
	f.Add(append([]byte{12}, resp...))
	f.Add([]byte{4, 0xff, 0xff, 0xff, 0x7f, 2, 0, 9, 16, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		cut := int(b[0])
		b = b[1:]
		var trs [][]byte
		for len(b) > 0 {
			n := min(len(b), max(cut, 1))
			trs = append(trs, b[:n])
			b = b[n:]
		}
		s := NewSession(&replayTransport{transfers: trs}, 1<<20)
		s.open = true
		ctx := context.Background()
		_, _ = s.ObjectInfo(ctx, 1)
		_, _ = s.Object(ctx, 1)
		_, _ = ReadEvent(ctx, &replayTransport{transfers: trs})
	})
}
