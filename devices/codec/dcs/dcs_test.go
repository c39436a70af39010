package dcs

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/examlane/examlane/devices/codec/codectest"
	"github.com/examlane/examlane/lane"
)

func TestCRC16XMODEM(t *testing.T) {
	// The CRC-16/XMODEM check value.
	if got := CRC16([]byte("123456789")); got != 0x31C3 {
		t.Errorf("CRC16(123456789) = %04X, want 31C3", got)
	}
	if got := CRC16(nil); got != 0 {
		t.Errorf("CRC16(nil) = %04X", got)
	}
}

func TestEncodeParseRoundTrip(t *testing.T) {
	recs := []Record{{"REQ", "INI"}, {"DEV", "LMS"}, {"VEN", "BRI"}}
	for _, pad := range []bool{false, true} {
		b, err := EncodeMessage(recs, pad)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseMessage(b)
		if err != nil || !m.HasCRC || len(m.Records) != 3 || m.Records[2] != (Record{"VEN", "BRI"}) {
			t.Errorf("round trip: %+v %v", m, err)
		}
	}
	// Find a message whose CRC has fewer than five digits: pad5 zero-pads it.
	for i := 0; ; i++ {
		recs := []Record{{"A", strings.Repeat("x", i)}}
		plain, _ := EncodeMessage(recs, false)
		if !bytes.Contains(plain, []byte("CRC=")) || len(plain)-bytes.Index(plain, []byte("CRC="))-4-3 >= 5 {
			continue
		}
		padded, _ := EncodeMessage(recs, true)
		if !bytes.Contains(padded, []byte("CRC=0")) || len(padded) != len(plain)+5-(len(plain)-bytes.Index(plain, []byte("CRC="))-4-3) {
			t.Errorf("pad5: %q vs %q", padded, plain)
		}
		if _, err := ParseMessage(padded); err != nil {
			t.Errorf("padded CRC rejected: %v", err)
		}
		break
	}
	if _, err := EncodeMessage([]Record{{"BAD=", "x"}}, false); err == nil {
		t.Error("a label with '=' encoded")
	}
	if _, err := EncodeMessage([]Record{{"A", "x\r\ny"}}, false); err == nil {
		t.Error("a value with a line break encoded")
	}
}

func TestParseRejects(t *testing.T) {
	good, _ := EncodeMessage([]Record{{"SPH", "-1.00;-1.00"}}, false)
	bad := bytes.Replace(good, []byte("SPH=-1.00"), []byte("SPH=-1.25"), 1)
	for name, in := range map[string][]byte{
		"crc mismatch": bad,
		"no FS":        []byte("SPH=1;1\r\n\x1d"),
		"no GS":        []byte("\x1cSPH=1;1\r\n"),
		"bad record":   []byte("\x1cjust text\r\n\x1d"),
		"empty":        []byte("\x1c\x1d"),
		"garbage crc":  []byte("\x1cA=1\r\n\x1eCRC=xyz\r\n\x1d"),
		"not crc":      []byte("\x1cA=1\r\n\x1eFOO=1\r\n\x1d"),
		"second FS":    []byte("\x1cA=1\x1cB=2\x1d"),
		"long label":   []byte("\x1cABCDEFGHIJKLM=1\r\n\x1d"),
	} {
		if _, err := ParseMessage(in); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestDecodeLensmeter(t *testing.T) {
	b, _ := EncodeMessage([]Record{{"REQ", "LMS"}, {"VEN", "SYN"}, {"MODEL", "LM-X"}, {"SN", "42"},
		{"SPH", "-1.25;+0.50"}, {"CYL", "-0.75;-0.25"}, {"AX", "120;5"}, {"ADD", "2.00;2.00"},
		{"PRVM", "1.50;2.00"}, {"PRVA", "270;180"}}, false)
	c, err := Codec{}.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if c.Instrument != (lane.InstrumentRef{Vendor: "SYN", Model: "LM-X", Serial: "42"}) {
		t.Errorf("instrument %+v", c.Instrument)
	}
	if len(c.Readings) != 2 || len(c.Warnings) != 0 {
		t.Fatalf("readings %+v warnings %q", c.Readings, c.Warnings)
	}
	r, l := c.Readings[0].Refraction, c.Readings[1].Refraction
	if r.Sphere != -1250 || r.Cylinder != -750 || r.Axis != 120 || r.Add != 2000 || r.Prism != (lane.Prism{V: 1500, VBase: lane.BaseDown}) {
		t.Errorf("R = %+v", *r)
	}
	// 2Δ at 180° for the left eye points to the patient's right: nasal, base in.
	if l.Sphere != 500 || l.Cylinder != -250 || l.Axis != 5 || l.Prism != (lane.Prism{H: 2000, HBase: lane.BaseIn}) {
		t.Errorf("L = %+v", *l)
	}
}

func TestDecodeSessionOnly(t *testing.T) {
	b, _ := EncodeMessage([]Record{{"REQ", "INI"}, {"DEV", "LMS"}}, true)
	c, err := Codec{}.Decode(b)
	if err != nil || len(c.Readings) != 0 || !strings.Contains(strings.Join(c.Warnings, ""), "REQ=INI") {
		t.Errorf("session message: %+v %v", c, err)
	}
}

func TestGoldenTranscripts(t *testing.T) {
	codectest.Golden(t, Codec{}, ".bin")
}

func TestSniff(t *testing.T) {
	codectest.Sniff(t, Codec{},
		[]string{"\x06\x1cREQ=INI\r\n", "\x1c\r\nSPH=1;1"},
		[]string{"\x01NIDEK\r\x02@RT", "\x1c no label", "<?xml?>", "\x1c=1"})
}

func BenchmarkFrameAndDecode4KiB(b *testing.B) {
	recs := []Record{{"REQ", "LMS"}, {"VEN", "SYN"}, {"SPH", "-1.25;+0.50"}, {"CYL", "-0.75;-0.25"}, {"AX", "120;5"}}
	for i := 0; len(recs) < 4096/14; i++ {
		recs = append(recs, Record{"_X" + string(rune('A'+i%26)), "123;456"})
	}
	msg, _ := EncodeMessage(recs, false)
	codectest.BenchDecode(b, Codec{}, msg)
}
