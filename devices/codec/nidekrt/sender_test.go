package nidekrt

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
)

var now0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func kinds(steps []Step) []StepKind {
	var out []StepKind
	for _, s := range steps {
		out = append(out, s.Kind)
	}
	return out
}

func eqKinds(a []StepKind, b ...StepKind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var frame = []byte("\x01DRM\x02OR-01.25-00.50090\x17\x04")

func TestSenderDirect(t *testing.T) {
	s := NewSender(SenderConfig{Mode: ModeDirect}, frame)
	steps := s.Start(now0)
	if !eqKinds(kinds(steps), StepAssertDTR, StepWrite, StepDone) || !bytes.Equal(steps[1].Data, frame) {
		t.Fatalf("direct steps %v", steps)
	}
	if done, err := s.Result(); !done || err != nil {
		t.Errorf("Result = %v %v", done, err)
	}
	if s.Start(now0) != nil || s.Tick(now0.Add(time.Hour)) != nil || s.Receive(SDFrame, now0) != nil {
		t.Error("a finished sender asked for more steps")
	}
}

func TestSenderHandshakeGetsSD(t *testing.T) {
	s := NewSender(SenderConfig{Mode: ModeHandshake, SDTimeout: 2 * time.Second}, frame)
	steps := s.Start(now0)
	if !eqKinds(kinds(steps), StepAssertDTR, StepWrite, StepWaitSD) {
		t.Fatalf("steps %v", kinds(steps))
	}
	if !bytes.Equal(steps[1].Data, []byte{0x01, 0x43, 0x20, 0x20, 0x20, 0x02, 0x52, 0x53, 0x17, 0x04}) {
		t.Errorf("RS frame = % X", steps[1].Data)
	}
	if !steps[2].Until.Equal(now0.Add(2 * time.Second)) {
		t.Errorf("wait until %v", steps[2].Until)
	}
	if got := s.Tick(now0.Add(time.Second)); got != nil {
		t.Errorf("early tick gave %v", kinds(got))
	}
	// Noise and an unrelated frame first, then SD split over two reads
	// with parity bits set.
	if got := s.Receive([]byte("\x00\x01NIDEK RT-5100\r\x02@RT\r\x04\r"), now0.Add(time.Second)); got != nil {
		t.Errorf("unrelated frame gave %v", kinds(got))
	}
	sd := []byte{0x81, 'C' | 0x80, 'R', 'L' | 0x80, 0x82, 'S' | 0x80, 'D', 0x17, 0x84}
	if got := s.Receive(sd[:4], now0.Add(1500*time.Millisecond)); got != nil {
		t.Errorf("half SD gave %v", kinds(got))
	}
	got := s.Receive(sd[4:], now0.Add(1600*time.Millisecond))
	if !eqKinds(kinds(got), StepWrite, StepDone) || !bytes.Equal(got[0].Data, frame) {
		t.Fatalf("after SD: %v", got)
	}
}

func TestSenderHandshakeTimesOut(t *testing.T) {
	s := NewSender(SenderConfig{Mode: ModeHandshake}, frame)
	s.Start(now0)
	got := s.Tick(now0.Add(3 * time.Second))
	if !eqKinds(kinds(got), StepFailed) || !errors.Is(got[0].Err, ErrNoSD) || !errors.Is(got[0].Err, lane.ErrUnavailable) {
		t.Fatalf("timeout: %v", got)
	}
	if done, err := s.Result(); !done || !errors.Is(err, ErrNoSD) {
		t.Errorf("Result = %v %v", done, err)
	}
	if s.Receive(SDFrame, now0.Add(4*time.Second)) != nil {
		t.Error("late SD restarted a failed send")
	}
}

func TestSenderRSThenSend(t *testing.T) {
	// Without SD: the frame goes after the pause.
	s := NewSender(SenderConfig{Mode: ModeRSThenSend, Pause: 300 * time.Millisecond}, frame)
	if k := kinds(s.Start(now0)); !eqKinds(k, StepAssertDTR, StepWrite, StepWaitSD) {
		t.Fatalf("steps %v", k)
	}
	if s.Tick(now0.Add(299*time.Millisecond)) != nil {
		t.Error("sent before the pause")
	}
	got := s.Tick(now0.Add(300 * time.Millisecond))
	if !eqKinds(kinds(got), StepWrite, StepDone) || !bytes.Equal(got[0].Data, frame) {
		t.Fatalf("after pause: %v", got)
	}
	// With an early SD: the frame goes at once.
	s = NewSender(SenderConfig{Mode: ModeRSThenSend}, frame)
	s.Start(now0)
	if got := s.Receive(SDFrame, now0.Add(10*time.Millisecond)); !eqKinds(kinds(got), StepWrite, StepDone) {
		t.Fatalf("early SD: %v", kinds(got))
	}
}

func TestSenderUnknownMode(t *testing.T) {
	got := NewSender(SenderConfig{Mode: Mode(9)}, frame).Start(now0)
	if k := kinds(got); !eqKinds(k, StepAssertDTR, StepFailed) || !errors.Is(got[1].Err, lane.ErrInvalid) {
		t.Fatalf("unknown mode: %v", got)
	}
}
