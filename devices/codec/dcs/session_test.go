package dcs

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
)

var t0 = time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)

func acts(a []Action) string {
	var s []byte
	for _, x := range a {
		switch {
		case x.Kind == ActWrite && bytes.Equal(x.Data, []byte{ACK}):
			s = append(s, "ACK "...)
		case x.Kind == ActWrite && bytes.Equal(x.Data, []byte{NAK}):
			s = append(s, "NAK "...)
		case x.Kind == ActWrite:
			m, _ := ParseMessage(x.Data)
			v, _ := m.Get("ANS")
			s = append(s, ("send:" + v + " ")...)
		case x.Kind == ActDeliver:
			v, _ := x.Msg.Get("REQ")
			s = append(s, ("deliver:" + v + " ")...)
		case x.Kind == ActFailed:
			s = append(s, "failed "...)
		}
	}
	return string(bytes.TrimSpace(s))
}

func TestSessionIniHandshake(t *testing.T) {
	s := NewSession(SessionConfig{Device: "HST", Vendor: "EXL", Model: "Examlane", InitRecords: []Record{{"INFO", "lensmeter"}}})
	ini, _ := EncodeMessage([]Record{{"REQ", "INI"}, {"DEV", "LMS"}}, false)
	// Delivered in three pieces.
	var got []Action
	got = append(got, s.Feed(ini[:5], t0)...)
	got = append(got, s.Feed(ini[5:9], t0)...)
	got = append(got, s.Feed(ini[9:], t0)...)
	if a := acts(got); a != "ACK deliver:INI send:INI" {
		t.Fatalf("actions %q", a)
	}
	ans, _ := ParseMessage(got[2].Data)
	for _, want := range []Record{{"ANS", "INI"}, {"STATUS", "0"}, {"DEV", "HST"}, {"VEN", "EXL"}, {"MODEL", "Examlane"}, {"INFO", "lensmeter"}} {
		if v, _ := ans.Get(want.Label); v != want.Value {
			t.Errorf("ANS=INI %s = %q, want %q", want.Label, v, want.Value)
		}
	}
	if s.Idle() {
		t.Error("idle while ANS=INI awaits its ACK")
	}
	if a := acts(s.Feed([]byte{ACK}, t0.Add(time.Second))); a != "" || !s.Idle() {
		t.Errorf("after ACK: %q idle %v", a, s.Idle())
	}
}

func TestSessionNakAndResend(t *testing.T) {
	s := NewSession(SessionConfig{MaxSends: 3, AckTimeout: time.Second})
	first, err := s.Send([]Record{{"ANS", "LMS"}, {"STATUS", "0"}}, t0)
	if err != nil || acts(first) != "send:LMS" {
		t.Fatalf("send: %q %v", acts(first), err)
	}
	// A second message waits for the first.
	if a, _ := s.Send([]Record{{"ANS", "TWO"}}, t0); len(a) != 0 {
		t.Fatalf("second message sent early: %q", acts(a))
	}
	if a := acts(s.Feed([]byte{NAK}, t0)); a != "send:LMS" {
		t.Fatalf("after NAK: %q", a)
	}
	if a := acts(s.Tick(t0.Add(500 * time.Millisecond))); a != "" {
		t.Fatalf("early tick: %q", a)
	}
	// No answer: third and last send, then failure and the next message.
	if a := acts(s.Tick(t0.Add(time.Second))); a != "send:LMS" {
		t.Fatalf("after timeout: %q", a)
	}
	got := s.Tick(t0.Add(2 * time.Second))
	if a := acts(got); a != "failed send:TWO" || !errors.Is(got[0].Err, ErrNotAcknowledged) || !errors.Is(got[0].Err, lane.ErrUnavailable) {
		t.Fatalf("give up: %q %v", a, got[0].Err)
	}
	if a := acts(s.Feed([]byte{ACK}, t0.Add(2*time.Second))); a != "" || !s.Idle() {
		t.Fatalf("after final ACK: %q", a)
	}
	if a := acts(s.Feed([]byte{ACK, NAK}, t0)); a != "" {
		t.Errorf("stray ACK/NAK produced %q", a)
	}
}

func TestSessionRejectsAndDeduplicates(t *testing.T) {
	s := NewSession(SessionConfig{})
	good, _ := EncodeMessage([]Record{{"REQ", "LMS"}, {"SPH", "-1.00;-1.00"}}, false)
	bad := bytes.Replace(good, []byte("-1.00;"), []byte("-1.50;"), 1)
	if a := acts(s.Feed(bad, t0)); a != "NAK" {
		t.Fatalf("corrupted message: %q", a)
	}
	if a := acts(s.Feed(good, t0)); a != "ACK deliver:LMS" {
		t.Fatalf("resent message: %q", a)
	}
	// Our ACK got lost; the device sends it again: ACK, no second delivery.
	if a := acts(s.Feed(good, t0)); a != "ACK" {
		t.Fatalf("duplicate: %q", a)
	}
	// A message that stops half way is NAKed when it stalls.
	s.Feed(good[:10], t0)
	if a := acts(s.Tick(t0.Add(10 * time.Second))); a != "NAK" {
		t.Fatalf("stalled message: %q", a)
	}
}
