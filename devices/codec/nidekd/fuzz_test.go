package nidekd

import (
	"testing"

	"github.com/examlane/examlane/devices/codec/codectest"
)

// FuzzDecode feeds arbitrary bytes through the framer and the decoder: no
// panic, no hang, and whatever is accepted keeps the codec contract. Seeds:
// testdata/fuzz/FuzzDecode (the synthetic transcripts) and the frames below.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("\x01DLM\x02IDNIDEK/LM-1000P\x17\r R-01.25-00.75120\x17\rAR02.00\x17\rPR02.50I\x17\rPR02.00D\x17\r\x04" + "16C1\r"))
	f.Add([]byte("\x01DNT\x02R03 18.0 19.0 19.0 AV18.7/2.5\x17L03 16.0 APL 17.0\x17\x04\r"))
	f.Add([]byte("\x01DLM\x02 R+03.00-00.50090\x17PR01.50\x17BR045\x17  -01.00+00.00000\x17A 01.00\x1702.00\x17\x04"))
	f.Fuzz(func(t *testing.T, data []byte) { codectest.CheckDecode(t, Codec{}, data) })
}
