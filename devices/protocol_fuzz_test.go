package devices

import (
	"bytes"
	"testing"
	"time"

	"github.com/examlane/examlane/devices/codec"
	_ "github.com/examlane/examlane/devices/codec/all"
	"github.com/examlane/examlane/devices/profile"
)

// FuzzProtocol feeds arbitrary bytes, in arbitrary chunks, to the link
// protocols of every serial dialect, with ticks in between: they must not
// panic, every frame handed on must be a piece of the input, and the
// accounting of noise must never exceed the input.
func FuzzProtocol(f *testing.F) {
	f.Add([]byte("\x01NIDEK RT-5100 ID             DA2016/ 8/ 2\r\x02@RT\r\x02FR-12.00- 1.75 50\r\x04\r"), uint8(7))
	f.Add([]byte("noise\x01DLM\x02IDNIDEK/LM-1000P\x17\r R-01.25-00.75120\x17\r\x04"+"0000\r"), uint8(3))
	f.Add([]byte("\x1cDEV=LMT\r\nSPH=-1.25;-1.00\r\n\x1eCRC=1\r\n\x1d\x06\x15\x1cREQ=INI\r\n\x1e\x1d"), uint8(5))
	f.Add([]byte("\x01\x01\x04\x04\x1c\x1d\x1e"), uint8(1))
	f.Fuzz(fuzzProtocol)
}

func fuzzProtocol(t *testing.T, data []byte, chunk uint8) {
	set := profile.Builtin()
	{
		for _, name := range []string{"nidek-rt5100", "nidek-lm1000", "generic-dcs-lensmeter"} {
			p, _ := set.Lookup(name)
			c, err := codec.Lookup(p.Dialect)
			if err != nil {
				t.Skip(err)
			}
			ins := &instrument{prof: p, codec: c}
			proto, err := newProtocol(ins, *c.Framing())
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			size := int(chunk%16) + 1
			haystack := data
			if c.Framing().Mask7 { // frames come out masked to 7 bits
				haystack = bytes.Clone(data)
				for i := range haystack {
					haystack[i] &= 0x7f
				}
			}
			noise := 0
			check := func(st step) {
				for _, e := range st.events {
					noise += e.noise
					if e.raw != nil && e.err == nil && !bytes.Contains(haystack, e.raw) {
						t.Fatalf("%s: frame %q is not in the input", name, e.raw)
					}
					if e.raw != nil && e.err == nil {
						decode(c, e.raw) // must not panic (decode also recovers)
					}
				}
			}
			for i := 0; i < len(data); i += size {
				check(proto.feed(data[i:min(i+size, len(data))], now))
				now = now.Add(time.Duration(chunk) * 10 * time.Millisecond)
				check(proto.tick(now))
			}
			check(proto.flush())
			if noise > len(data) {
				t.Fatalf("%s: counted %d noise bytes in %d", name, noise, len(data))
			}
		}
	}
}
