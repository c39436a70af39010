package dcs

import (
	"testing"
	"time"

	"github.com/examlane/examlane/devices/codec/codectest"
)

// FuzzDecode feeds arbitrary bytes to the framer and decoder, and to a
// Session: no panic, no hang, accepted captures keep the codec contract,
// and the session answers every complete message with exactly one ACK or
// NAK. Seeds: testdata/fuzz/FuzzDecode and below.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("\x1cREQ=INI\r\nDEV=LMS\r\nVEN=BRI\r\n\x1eCRC=12870\r\n\x1d"))
	f.Add([]byte("\x06\x1cSPH=-1.25;+0.50\r\nCYL=-0.75;-0.25\r\nAX=120;5\r\nPRVM=1.5;2\r\nPRVA=270;45\r\n\x1d\x15"))
	f.Fuzz(func(t *testing.T, data []byte) {
		codectest.CheckDecode(t, Codec{}, data)
		s := NewSession(SessionConfig{Device: "H", Vendor: "V", Model: "M"})
		now := time.Unix(0, 0)
		var acts []Action
		for i := 0; i < len(data); i += 7 {
			acts = append(acts, s.Feed(data[i:min(i+7, len(data))], now)...)
			now = now.Add(100 * time.Millisecond)
		}
		acts = append(acts, s.Tick(now.Add(time.Minute))...)
		delivered := 0
		for _, a := range acts {
			if a.Kind == ActDeliver {
				delivered++
				if c, err := (Codec{}).Decode(a.Raw); err == nil {
					codectest.CheckCapture(t, c)
				} else {
					t.Fatalf("delivered message does not decode: %v", err)
				}
			}
		}
		if delivered > len(data)/3+1 {
			t.Fatalf("%d deliveries from %d bytes", delivered, len(data))
		}
	})
}
