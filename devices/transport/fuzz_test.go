package transport_test

import (
	"testing"

	"github.com/examlane/examlane/devices/transport"
)

// FuzzParseLink checks that every accepted link string formats to a string
// that parses to the same setting.
func FuzzParseLink(f *testing.F) {
	for _, s := range []string{"2400 7E2", "9600,8,N,1", "9600/8O1", "4800 8N1.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := transport.ParseLink(s)
		if err != nil {
			return
		}
		again, err := transport.ParseLink(l.String())
		if err != nil || again != l {
			t.Fatalf("%q → %v → %v, %v", s, l, again, err)
		}
	})
}
