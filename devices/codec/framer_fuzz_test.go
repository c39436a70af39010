package codec

import (
	"bytes"
	"testing"
	"time"
)

// FuzzFramer checks that any byte stream, fed whole or in pieces of any
// size, yields the same frames, that frames respect the spec and that
// memory stays bounded.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("\x01NIDEK RT-5100\r\x02@RT\r\x02FR- 1.50- 0.75180\r\x04\r"), uint8(1), false)
	f.Add([]byte("noise\x01DLM\x02IDNIDEK/LM-1000P\x17\r\x04\x31\x36C1\r\x01B\x04"), uint8(3), true)
	f.Add([]byte("\x01\x01\x01\x04\x04\x04"), uint8(2), true)
	f.Add([]byte("\x81A\x84\x01\x04ZZ"), uint8(5), false)
	f.Fuzz(func(t *testing.T, data []byte, step uint8, mask bool) {
		spec := FrameSpec{
			Start: []byte{0x01}, End: []byte{0x04},
			Trailer: 4, TrailerChars: "0123456789ABCDEF",
			MaxSize: 96, Mask7: mask,
		}
		whole := mustFramer(t, spec)
		a := append(whole.Write(data, t0), whole.Flush()...)

		pieces := mustFramer(t, spec)
		n := int(step%16) + 1
		var b []Frame
		for rest := data; len(rest) > 0; {
			k := min(n, len(rest))
			b = append(b, pieces.Write(rest[:k], t0)...)
			if pieces.Pending() > spec.MaxSize+spec.Trailer {
				t.Fatalf("framer holds %d bytes, cap %d", pieces.Pending(), spec.MaxSize)
			}
			rest = rest[k:]
		}
		b = append(b, pieces.Flush()...)

		if len(a) != len(b) {
			t.Fatalf("whole gave %d frames, pieces of %d gave %d", len(a), n, len(b))
		}
		for i := range a {
			if !bytes.Equal(a[i].Data, b[i].Data) || (a[i].Err == nil) != (b[i].Err == nil) {
				t.Fatalf("frame %d differs: %q/%v vs %q/%v", i, a[i].Data, a[i].Err, b[i].Data, b[i].Err)
			}
			fr := a[i]
			if len(fr.Data) > spec.MaxSize+spec.Trailer {
				t.Fatalf("frame %d has %d bytes", i, len(fr.Data))
			}
			if len(fr.Data) == 0 || fr.Data[0] != 0x01 {
				t.Fatalf("frame %d does not begin with the start byte: %q", i, fr.Data)
			}
			if fr.Err == nil {
				j := bytes.LastIndexByte(fr.Data, 0x04)
				if j < 1 || len(fr.Data)-j-1 > spec.Trailer {
					t.Fatalf("complete frame %d lacks an end byte or has a long trailer: %q", i, fr.Data)
				}
			}
		}
		// A stalled frame is reported exactly once by Expire.
		late := mustFramer(t, FrameSpec{Start: []byte{0x01}, End: []byte{0x04}, MaxSize: 96, InterByte: time.Second})
		late.Write(data, t0)
		pending := late.Pending()
		exp := late.Expire(t0.Add(2 * time.Second))
		if (pending > 0) != (len(exp) == 1) || len(late.Expire(t0.Add(3*time.Second))) != 0 {
			t.Fatalf("expire: pending %d, got %d frames", pending, len(exp))
		}
	})
}
