package transport_test

import (
	"errors"
	"testing"

	"github.com/examlane/examlane/devices/transport"
	"github.com/examlane/examlane/lane"
)

func TestParseLink(t *testing.T) {
	tests := []struct {
		in   string
		want transport.Link
		str  string
	}{
		{"2400 7E2", transport.Link{Baud: 2400, DataBits: 7, Parity: transport.ParityEven, StopBits: 2}, "2400 7E2"},
		{"9600 8o1", transport.Link{Baud: 9600, DataBits: 8, Parity: transport.ParityOdd, StopBits: 1}, "9600 8O1"},
		{"9600,8,N,1", transport.Link{Baud: 9600, DataBits: 8, Parity: transport.ParityNone, StopBits: 1}, "9600 8N1"},
		{"  9600/8N2 ", transport.Link{Baud: 9600, DataBits: 8, Parity: transport.ParityNone, StopBits: 2}, "9600 8N2"},
		{"4800 8N1.5", transport.Link{Baud: 4800, DataBits: 8, Parity: transport.ParityNone, StopBits: transport.StopBits1Dot5}, "4800 8N1.5"},
	}
	for _, tt := range tests {
		got, err := transport.ParseLink(tt.in)
		if err != nil {
			t.Errorf("ParseLink(%q) error %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseLink(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if got.String() != tt.str {
			t.Errorf("ParseLink(%q).String() = %q, want %q", tt.in, got.String(), tt.str)
		}
	}
}

func TestParseLinkErrors(t *testing.T) {
	for _, in := range []string{"", "2400", "fast 8N1", "2400 9N1", "2400 8X1", "2400 8N3", "10 8N1", "2400 8N"} {
		_, err := transport.ParseLink(in)
		if !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("ParseLink(%q) error = %v, want ErrInvalid", in, err)
		}
	}
}

func TestLinkText(t *testing.T) {
	var l transport.Link
	if err := l.UnmarshalText([]byte("2400 7E2")); err != nil {
		t.Fatal(err)
	}
	b, _ := l.MarshalText()
	if string(b) != "2400 7E2" || !transport.Mask7For(l) {
		t.Errorf("round trip = %q mask7=%v", b, transport.Mask7For(l))
	}
	if err := l.UnmarshalText([]byte("2400")); err == nil {
		t.Error("UnmarshalText(2400) succeeded")
	}
}
