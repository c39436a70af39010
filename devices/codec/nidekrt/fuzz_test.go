package nidekrt

import (
	"testing"

	"github.com/examlane/examlane/devices/codec/codectest"
)

// FuzzDecode feeds arbitrary bytes through the framer and the decoder: no
// panic, no hang, and whatever is accepted keeps the codec contract. Seeds:
// testdata/fuzz/FuzzDecode (the synthetic transcripts) and the items below.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("\x01NIDEK RT-5100 ID             DA2016/ 8/ 2\r\x02@RT\r\x02FR-12.00- 1.75 50\r\x02AR+ 5.50\r\x02VB<0.04\r\x02PD64.0        \r\x04\r"))
	f.Add([]byte("\x01NIDEK RT-3100\r\x02ID12\r\x02DA2002/06/16 3\r\x02@KM\r\x02CR 7.70 7.65180\r\x02DR43.7544.00\r\x02@NT\r\x02TR15.0\r\x02tL2.00\r\x04"))
	f.Add([]byte("\x01\x02@LM\r\x02PRI 2.00D 0.50\r\x02 R+ 1.25- 0.50 90\r\x02UR 0.8 -2\r\x04"))
	f.Fuzz(func(t *testing.T, data []byte) { codectest.CheckDecode(t, Codec{}, data) })
}
