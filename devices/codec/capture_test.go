package codec

import (
	"errors"
	"strings"
	"testing"

	"github.com/examlane/examlane/lane"
)

// fakeCodec decodes frames "<X>" into one PD reading, for DecodeInput.
type fakeCodec struct{ framed bool }

func (fakeCodec) Name() string        { return "fake" }
func (fakeCodec) Sniff(b []byte) bool { return strings.HasPrefix(string(b), "<") }
func (f fakeCodec) Framing() *FrameSpec {
	if !f.framed {
		return nil
	}
	return &FrameSpec{Start: []byte("<"), End: []byte(">"), MaxSize: 16}
}
func (fakeCodec) Decode(b []byte) (lane.Capture, error) {
	if strings.Contains(string(b), "bad") {
		return lane.Capture{}, Invalidf("fake", "bad frame")
	}
	c := lane.Capture{Format: "fake", Instrument: lane.InstrumentRef{Vendor: "V"},
		Readings: []lane.Measurement{{Kind: lane.KindPD, Eye: lane.EyeBoth, Source: lane.SourceManual, PD: &lane.PD{Value: 6000}}},
		Warnings: []string{"w", "w", "x"}}
	Finish(&c)
	return c, nil
}

func TestDecodeInput(t *testing.T) {
	res := DecodeInput(fakeCodec{framed: true}, []byte("noise<a>junk<bad><b><unfinished"))
	if len(res) != 4 {
		t.Fatalf("%d results", len(res))
	}
	if res[0].Err != nil || string(res[0].Capture.Raw) != "<a>" || res[0].Capture.SHA256 == [32]byte{} {
		t.Errorf("frame 1: %+v", res[0])
	}
	if !errors.Is(res[1].Err, lane.ErrInvalid) || !strings.Contains(res[1].Err.Error(), "frame 2") {
		t.Errorf("frame 2: %v", res[1].Err)
	}
	if res[2].Err != nil || res[2].Index != 3 {
		t.Errorf("frame 3: %+v", res[2])
	}
	if !errors.Is(res[3].Err, ErrIncomplete) {
		t.Errorf("frame 4: %v", res[3].Err)
	}
	c := res[0].Capture
	if c.Readings[0].Instrument.Vendor != "V" || strings.Join(c.Warnings, ",") != "w,x" {
		t.Errorf("Finish: instrument %+v warnings %q", c.Readings[0].Instrument, c.Warnings)
	}
	if res := DecodeInput(fakeCodec{framed: true}, []byte("no frames at all")); len(res) != 1 || !errors.Is(res[0].Err, lane.ErrInvalid) {
		t.Errorf("no frame: %+v", res)
	}
	if res := DecodeInput(fakeCodec{}, []byte("<whole file>")); len(res) != 1 || res[0].Err != nil || string(res[0].Capture.Raw) != "<whole file>" {
		t.Errorf("file dialect: %+v", res)
	}
}

func TestHexText(t *testing.T) {
	b, ok := HexText([]byte("01 4E 49 44\n45 4b 0d\r\n"))
	if !ok || string(b) != "\x01NIDEK\r" {
		t.Errorf("HexText = %q %v", b, ok)
	}
	for _, in := range []string{"01 02 03", "01 02 03 4", "01 02 03 0G", "<?xml version", "\x01NIDEK RT", "0102 0304 0506 0708"} {
		if _, ok := HexText([]byte(in)); ok {
			t.Errorf("HexText(%q) accepted", in)
		}
	}
}

func TestMethodsAndMedian(t *testing.T) {
	var m lane.Measurement
	AddMethod(&m, MethodNear)
	AddMethod(&m, MethodNight)
	AddMethod(&m, MethodNear)
	if m.Method != "near; night" || !HasMethod(m, MethodNight) || HasMethod(m, "nigh") {
		t.Errorf("Method = %q", m.Method)
	}
	for _, tc := range []struct {
		in   []int
		want int
	}{{nil, 0}, {[]int{3}, 3}, {[]int{5, 1, 3}, 3}, {[]int{1, 2}, 2}, {[]int{-3, -4}, -3}, {[]int{4, 1, 3, 2}, 3}} {
		if got := MedianInt(tc.in); got != tc.want {
			t.Errorf("MedianInt(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
