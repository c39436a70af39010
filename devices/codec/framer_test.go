package codec

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// nidekSpec frames like the NIDEK D-block dialect: SOH … EOT + optional 4
// hex checksum digits.
var nidekSpec = FrameSpec{
	Start: []byte{0x01}, End: []byte{0x04},
	Trailer: 4, TrailerChars: "0123456789ABCDEFabcdef",
	MaxSize: 64, InterByte: time.Second, Whole: 10 * time.Second,
}

// rtSpec frames like the RT dialect: SOH … EOT, nothing after.
var rtSpec = FrameSpec{Start: []byte{0x01}, End: []byte{0x04}, MaxSize: 64}

func mustFramer(t testing.TB, s FrameSpec) *Framer {
	t.Helper()
	f, err := NewFramer(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// got renders frames compactly for comparison: data, or data!reason.
func render(frames []Frame) []string {
	var out []string
	for _, fr := range frames {
		s := strings.NewReplacer("\x01", "<SOH>", "\x04", "<EOT>", "\r", "<CR>", "\n", "<LF>", "\x1c", "<FS>", "\x1d", "<GS>").Replace(string(fr.Data))
		switch {
		case fr.Err == nil:
		case errors.Is(fr.Err, ErrOverflow):
			s += "!overflow"
		case errors.Is(fr.Err, ErrTimeout):
			s += "!timeout"
		case errors.Is(fr.Err, ErrIncomplete):
			s += "!incomplete"
		default:
			s += "!other:" + fr.Err.Error()
		}
		out = append(out, s)
	}
	return out
}

func TestFramerTable(t *testing.T) {
	type write struct {
		p  string
		at time.Duration // offset from t0
	}
	tests := []struct {
		name   string
		spec   FrameSpec
		writes []write
		expire time.Duration // if > 0, call Expire at t0+expire after the writes
		flush  bool
		want   []string
	}{
		{
			name:   "noise before start",
			spec:   rtSpec,
			writes: []write{{p: "garbage\r\n\x00\xff\x01A\x04\r"}},
			want:   []string{"<SOH>A<EOT>"},
		},
		{
			name:   "two frames one read",
			spec:   rtSpec,
			writes: []write{{p: "\x01A\x04\r\x01B\x04\r"}},
			want:   []string{"<SOH>A<EOT>", "<SOH>B<EOT>"},
		},
		{
			name:   "split across reads",
			spec:   rtSpec,
			writes: []write{{p: "\x01AB"}, {p: "C"}, {p: "\x04"}},
			want:   []string{"<SOH>ABC<EOT>"},
		},
		{
			name:   "checksum trailer then CR",
			spec:   nidekSpec,
			writes: []write{{p: "\x01A\x04"}, {p: "16C1\r"}},
			want:   []string{"<SOH>A<EOT>16C1"},
		},
		{
			name:   "checksum trailer no CR then next frame",
			spec:   nidekSpec,
			writes: []write{{p: "\x01A\x0416C1\x01B\x04ABCD"}},
			want:   []string{"<SOH>A<EOT>16C1", "<SOH>B<EOT>ABCD"},
		},
		{
			name:   "missing checksum, CR ends the frame",
			spec:   nidekSpec,
			writes: []write{{p: "\x01A\x04\r\n\x01B\x04\r"}},
			want:   []string{"<SOH>A<EOT>", "<SOH>B<EOT>"},
		},
		{
			name:   "missing checksum, next SOH ends the frame",
			spec:   nidekSpec,
			writes: []write{{p: "\x01A\x04\x01B\x04\n"}},
			want:   []string{"<SOH>A<EOT>", "<SOH>B<EOT>"},
		},
		{
			name:   "non-hex byte ends the trailer and is noise",
			spec:   nidekSpec,
			writes: []write{{p: "\x01A\x04Zjunk\x01B\x04"}},
			flush:  true,
			want:   []string{"<SOH>A<EOT>", "<SOH>B<EOT>"},
		},
		{
			name:   "missing checksum completes on inter-byte timeout",
			spec:   nidekSpec,
			writes: []write{{p: "\x01A\x04"}},
			expire: 2 * time.Second,
			want:   []string{"<SOH>A<EOT>"},
		},
		{
			name:   "stalled body abandoned on inter-byte timeout",
			spec:   nidekSpec,
			writes: []write{{p: "xx\x01AB"}},
			expire: 2 * time.Second,
			want:   []string{"<SOH>AB!timeout"},
		},
		{
			name:   "no expiry before the gap",
			spec:   nidekSpec,
			writes: []write{{p: "\x01AB"}},
			expire: 500 * time.Millisecond,
		},
		{
			name: "gap detected by the next write",
			spec: nidekSpec,
			writes: []write{
				{p: "\x01AB", at: 0},
				{p: "C\x04\r", at: 3 * time.Second},
			},
			want: []string{"<SOH>AB!timeout"},
		},
		{
			name: "whole-frame limit",
			spec: nidekSpec,
			writes: []write{
				{p: "\x01A", at: 0}, {p: "B", at: 900 * time.Millisecond}, {p: "C", at: 1800 * time.Millisecond},
				{p: "D", at: 2700 * time.Millisecond}, {p: "E", at: 3600 * time.Millisecond}, {p: "F", at: 4500 * time.Millisecond},
				{p: "G", at: 5400 * time.Millisecond}, {p: "H", at: 6300 * time.Millisecond}, {p: "I", at: 7200 * time.Millisecond},
				{p: "J", at: 8100 * time.Millisecond}, {p: "K", at: 9000 * time.Millisecond}, {p: "L", at: 9900 * time.Millisecond},
			},
			expire: 10 * time.Second,
			want:   []string{"<SOH>ABCDEFGHIJKL!timeout"},
		},
		{
			name:   "new start abandons the unfinished frame",
			spec:   rtSpec,
			writes: []write{{p: "\x01AB\x01CD\x04"}},
			want:   []string{"<SOH>AB!incomplete", "<SOH>CD<EOT>"},
		},
		{
			name:   "flush mid-frame",
			spec:   rtSpec,
			writes: []write{{p: "\x01AB"}},
			flush:  true,
			want:   []string{"<SOH>AB!incomplete"},
		},
		{
			name:   "endless frame overflows then resynchronises",
			spec:   FrameSpec{Start: []byte{0x01}, End: []byte{0x04}, MaxSize: 8},
			writes: []write{{p: "\x01" + strings.Repeat("x", 20) + "\x04\x01ok\x04"}},
			want:   []string{"<SOH>xxxxxxx!overflow", "<SOH>ok<EOT>"},
		},
		{
			name:   "7-bit masking strips parity",
			spec:   FrameSpec{Start: []byte{0x01}, End: []byte{0x04}, Mask7: true},
			writes: []write{{p: "\x81" + string([]byte{'A' | 0x80, 'B'}) + "\x84"}},
			want:   []string{"<SOH>AB<EOT>"},
		},
		{
			name:   "without masking a parity-marked SOH is noise",
			spec:   rtSpec,
			writes: []write{{p: "\x81AB\x84\x01C\x04"}},
			want:   []string{"<SOH>C<EOT>"},
		},
		{
			name:   "DCS framing",
			spec:   FrameSpec{Start: []byte{0x1c}, End: []byte{0x1d}},
			writes: []write{{p: "\x06\x1cREQ=INI\r\n\x1eCRC=123\r\n\x1d\x15"}},
			want:   []string{"<FS>REQ=INI<CR><LF>\x1eCRC=123<CR><LF><GS>"},
		},
		{
			name:   "multi-byte start split across reads",
			spec:   FrameSpec{Start: []byte("<<<"), End: []byte(">>")},
			writes: []write{{p: "<<x<<"}, {p: "<a>b"}, {p: ">>"}},
			want:   []string{"<<<a>b>>"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := mustFramer(t, tc.spec)
			var frames []Frame
			for _, w := range tc.writes {
				frames = append(frames, f.Write([]byte(w.p), t0.Add(w.at))...)
			}
			if tc.expire > 0 {
				frames = append(frames, f.Expire(t0.Add(tc.expire))...)
			}
			if tc.flush {
				frames = append(frames, f.Flush()...)
			}
			got := render(frames)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("frames:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestFramerGarbageFloodStaysBounded(t *testing.T) {
	f := mustFramer(t, FrameSpec{Start: []byte{0x01}, End: []byte{0x04}, MaxSize: 128})
	noise := bytes.Repeat([]byte("no start byte here "), 10000)
	if got := f.Write(noise, t0); len(got) != 0 {
		t.Fatalf("noise produced frames: %v", render(got))
	}
	if f.Pending() != 0 {
		t.Fatalf("noise is buffered: %d bytes", f.Pending())
	}
	endless := append([]byte{0x01}, bytes.Repeat([]byte{'x'}, 100000)...)
	frames := f.Write(endless, t0)
	if len(frames) != 1 || !errors.Is(frames[0].Err, ErrOverflow) || len(frames[0].Data) != 128 {
		t.Fatalf("endless frame: got %d frames %v", len(frames), render(frames))
	}
	if f.Pending() != 0 || cap(f.buf) > 256 {
		t.Fatalf("after overflow the framer holds %d bytes (cap %d)", f.Pending(), cap(f.buf))
	}
}

func TestNewFramerRejectsBadSpecs(t *testing.T) {
	for _, s := range []FrameSpec{
		{End: []byte{4}},
		{Start: []byte{1}},
		{Start: []byte{1}, End: []byte{4}, Trailer: -1},
		{Start: []byte{1}, End: []byte{4}, MaxSize: 1},
	} {
		if _, err := NewFramer(s); err == nil {
			t.Errorf("NewFramer(%+v) accepted a bad spec", s)
		}
	}
}

// stream builds n random frames with noise between them, returning the
// stream and the frames a framer must cut from it.
func randomStream(r *rand.Rand, n int, withTrailer bool) ([]byte, []string) {
	var stream []byte
	var want []string
	for i := 0; i < n; i++ {
		for j := r.IntN(5); j > 0; j-- {
			stream = append(stream, "\r\n ~#"[r.IntN(5)])
		}
		frame := []byte{0x01}
		for j := r.IntN(40); j > 0; j-- {
			frame = append(frame, byte(0x20+r.IntN(0x5f)))
			if r.IntN(8) == 0 {
				ctl := []byte{0x02, 0x17, '\r'}
				frame = append(frame, ctl[:1+r.IntN(3)]...)
			}
		}
		frame = append(frame, 0x04)
		if withTrailer {
			frame = append(frame, []byte("0A1F")[:r.IntN(5)]...)
		}
		stream = append(stream, frame...)
		if r.IntN(2) == 0 {
			stream = append(stream, '\r')
		}
		want = append(want, string(frame))
	}
	return stream, want
}

func TestFramerRandomSplitsGiveIdenticalFrames(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 300; round++ {
		trailer := round%2 == 0
		spec := rtSpec
		spec.MaxSize = 4096
		if trailer {
			spec = nidekSpec
			spec.MaxSize = 4096
		}
		stream, want := randomStream(r, 1+r.IntN(6), trailer)
		f := mustFramer(t, spec)
		var got []Frame
		for rest := stream; len(rest) > 0; {
			k := 1 + r.IntN(len(rest))
			if r.IntN(3) == 0 {
				k = 1
			}
			got = append(got, f.Write(rest[:k], t0)...)
			rest = rest[k:]
		}
		got = append(got, f.Flush()...)
		var gotS []string
		for _, fr := range got {
			if fr.Err != nil {
				t.Fatalf("round %d: unexpected abandoned frame %q: %v", round, fr.Data, fr.Err)
			}
			gotS = append(gotS, string(fr.Data))
		}
		if strings.Join(gotS, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("round %d: split stream gave\n %q\nwant\n %q", round, gotS, want)
		}
	}
}

func BenchmarkFramer4KiB(b *testing.B) {
	frame := append([]byte{0x01}, bytes.Repeat([]byte("\x02FR- 1.50- 0.75180\r"), 4096/19)...)
	frame = append(frame, 0x04, '\r')
	f := mustFramer(b, FrameSpec{Start: []byte{0x01}, End: []byte{0x04}, MaxSize: 8192, Mask7: true})
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if fr := f.Write(frame, t0); len(fr) != 1 {
			b.Fatal("no frame")
		}
	}
}
