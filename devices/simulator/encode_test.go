package simulator_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/devices/codec"
	_ "github.com/examlane/examlane/devices/codec/nidekd"
	_ "github.com/examlane/examlane/devices/codec/nidekrt"
	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/devices/simulator"
	"github.com/examlane/examlane/lane"
)

func rx(s, c float64, ax int) *lane.Refraction {
	a := lane.Axis(0)
	if c != 0 {
		a = lane.Axis(ax)
	}
	return &lane.Refraction{Sphere: lane.MustDiopters(s), Cylinder: lane.MustDiopters(c), Axis: a}
}

func decode(t *testing.T, dialect string, frame []byte) lane.Capture {
	t.Helper()
	c, err := codec.Lookup(dialect)
	if err != nil {
		t.Skipf("codec %s not available yet: %v", dialect, err)
	}
	res := codec.DecodeInput(c, frame)
	if len(res) != 1 || res[0].Err != nil {
		t.Fatalf("decode %q: %+v", frame, res)
	}
	return res[0].Capture
}

// find returns the refraction of the reading with kind, source and eye.
func find(t *testing.T, c lane.Capture, k lane.Kind, src lane.Source, eye lane.Eye) *lane.Refraction {
	t.Helper()
	for _, m := range c.Readings {
		if m.Kind == k && m.Source == src && m.Eye == eye && m.Refraction != nil && !codec.HasMethod(m, codec.MethodNear) {
			return m.Refraction
		}
	}
	t.Fatalf("no %s/%s/%s reading in %+v", k, src, eye, c.Readings)
	return nil
}

func sameRx(t *testing.T, what string, got, want *lane.Refraction) {
	t.Helper()
	if got.Sphere != want.Sphere || got.Cylinder != want.Cylinder || got.Axis != want.Axis || got.Add != want.Add || got.Prism != want.Prism {
		t.Errorf("%s = %+v, want %+v", what, *got, *want)
	}
}

func TestEncodeRTRoundTrip(t *testing.T) {
	fr := rx(-12, -1.75, 50)
	fr.Add = lane.MustDiopters(2.5)
	p := simulator.RTPrint{
		Model:       "RT-5100",
		Date:        time.Date(2016, 8, 2, 0, 0, 0, 0, time.Local),
		Lensmeter:   simulator.Eyes[lane.Refraction]{R: rx(0, 0, 0), L: rx(1.25, -0.5, 180)},
		Objective:   simulator.Eyes[lane.Refraction]{R: rx(-2.75, -1.75, 105), L: rx(-1.25, -1.5, 140)},
		ObjectivePD: 6400,
		Subjective:  simulator.Eyes[lane.Refraction]{R: rx(-6.75, -1.75, 50), L: rx(-5.25, -1.5, 140)},
		Final:       simulator.Eyes[lane.Refraction]{R: fr, L: rx(-10.5, -1.5, 140)},
	}
	frame := simulator.EncodeRT(p)
	for _, want := range []string{"\x01NIDEK RT-5100 ID             DA2016/ 8/ 2\r", "\x02FR-12.00- 1.75 50\r", "\x02 R  0.00  0.00  0\r", "\x02AR+ 2.50\r", "\x02PD64.0        \r", "\x04\r"} {
		if !bytes.Contains(frame, []byte(want)) {
			t.Errorf("frame lacks %q:\n%q", want, frame)
		}
	}
	c := decode(t, "nidek-rt", frame)
	if len(c.Warnings) > 0 {
		t.Errorf("warnings %q", c.Warnings)
	}
	sameRx(t, "final R", find(t, c, lane.KindRefraction, lane.SourceFinal, lane.EyeRight), fr)
	sameRx(t, "subjective L", find(t, c, lane.KindRefraction, lane.SourceSubjective, lane.EyeLeft), p.Subjective.L)
	sameRx(t, "objective R", find(t, c, lane.KindRefraction, lane.SourceAutorefraction, lane.EyeRight), p.Objective.R)
	sameRx(t, "lensmeter L", find(t, c, lane.KindLensometry, lane.SourceLensometry, lane.EyeLeft), p.Lensmeter.L)
	if c.Instrument.Model != "RT-5100" || c.DeviceTime.Year() != 2016 {
		t.Errorf("instrument %+v time %v", c.Instrument, c.DeviceTime)
	}
}

func TestEncodeDBlockRoundTrip(t *testing.T) {
	r := rx(-1.25, -0.75, 120)
	r.Add = lane.MustDiopters(2)
	r.Prism = lane.Prism{H: 2500, HBase: lane.BaseIn, V: 2000, VBase: lane.BaseDown}
	l := rx(-2, -0.5, 180)
	l.Add = lane.MustDiopters(2.25)
	for _, crCode := range []bool{false, true} {
		frame := simulator.EncodeDBlockLM(simulator.LMReading{Model: "LM-1000P", R: r, L: l}, simulator.DBlockOptions{CRCode: crCode})
		if !bytes.HasPrefix(frame, []byte("\x01DLM\x02IDNIDEK/LM-1000P\x17")) || !bytes.Contains(frame, []byte(" R-01.25-00.75120\x17")) {
			t.Errorf("frame %q", frame)
		}
		c := decode(t, "nidek-dblock", frame)
		if len(c.Warnings) > 0 {
			t.Errorf("warnings %q", c.Warnings)
		}
		sameRx(t, "LM R", find(t, c, lane.KindLensometry, lane.SourceLensometry, lane.EyeRight), r)
		sameRx(t, "LM L", find(t, c, lane.KindLensometry, lane.SourceLensometry, lane.EyeLeft), l)
	}
	bad := simulator.EncodeDBlockLM(simulator.LMReading{R: r}, simulator.DBlockOptions{BadChecksum: true})
	if c, err := codec.Lookup("nidek-dblock"); err == nil {
		if _, err := c.Decode(bad); err == nil {
			t.Error("a wrong checksum decoded")
		}
	}
	ar := simulator.EncodeDBlockAR(simulator.ARReading{Model: "ARK-1", R: rx(-2.75, -1.75, 105), L: rx(0.5, 0, 0), PD: 6350}, simulator.DBlockOptions{CRCode: true})
	c := decode(t, "nidek-dblock", ar)
	sameRx(t, "AR R", find(t, c, lane.KindRefraction, lane.SourceAutorefraction, lane.EyeRight), rx(-2.75, -1.75, 105))
	sameRx(t, "AR L", find(t, c, lane.KindRefraction, lane.SourceAutorefraction, lane.EyeLeft), rx(0.5, 0, 0))
}

// TestChecksumOnManualExample checks the checksum against the NIDEK manual's
// published example, read from the shared fixtures (not in the repo).
func TestChecksumOnManualExample(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "..", "shared", "fixtures", "devices", "nidek_lm1000p_lm-progressive-rl-manual-example.bin"))
	if err != nil {
		t.Skipf("shared fixtures not available: %v", err)
	}
	i := bytes.IndexByte(data, 0x04)
	if got := simulator.DBlockChecksum(data[:i+1]); got != 0x16C1 || string(data[i+1:i+5]) != "16C1" {
		t.Errorf("checksum %04X, manual says %s", got, data[i+1:i+5])
	}
}

func repoRoot(t *testing.T) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repo root not found")
		}
		dir = parent
	}
}

func TestCRC16XMODEM(t *testing.T) {
	if got := simulator.CRC16XMODEM([]byte("123456789")); got != 0x31C3 {
		t.Errorf("CRC16XMODEM(123456789) = %04X, want 31C3", got)
	}
	msg := simulator.EncodeDCSLensmeter(simulator.LMReading{R: rx(-1.25, -0.5, 90), L: rx(-1, 0, 0)}, simulator.DCSOptions{})
	for _, want := range []string{"\x1cDEV=LMT\r\n", "SPH=-1.25;-1.00\r\n", "CYL=-0.50;0.00\r\n", "AX=90;0\r\n", "\x1eCRC=", "\r\n\x1d"} {
		if !bytes.Contains(msg, []byte(want)) {
			t.Errorf("DCS message lacks %q: %q", want, msg)
		}
	}
}

func TestEncodeJOIA(t *testing.T) {
	k := lane.Keratometry{K1: lane.KMeridian{Radius: 785, Power: 43000, Axis: 10}, K2: lane.KMeridian{Radius: 770, Power: 43750, Axis: 100}}
	iop := lane.MmHg(155)
	j := simulator.JOIAExport{Model: "TRK-2P", Serial: "01", Time: time.Date(2026, 3, 2, 9, 5, 7, 0, time.UTC), Sequence: 7,
		REF: simulator.Eyes[lane.Refraction]{R: rx(-6.5, -0.5, 115)}, PD: 6300,
		KM: simulator.Eyes[lane.Keratometry]{L: &k}, TM: simulator.Eyes[lane.MmHg]{R: &iop}}
	if j.FileName() != "M-Serial0007_20260302_090507_TOPCON_TRK-2P_01.xml" {
		t.Errorf("file name %q", j.FileName())
	}
	x := string(simulator.EncodeJOIA(j))
	for _, want := range []string{`xmlns:nsREF="http://www.joia.or.jp/standardized/namespaces/REF"`, `<nsREF:Sphere unit="D"> -6.50</nsREF:Sphere>`,
		`<nsKM:Radius unit="mm">7.85</nsKM:Radius>`, `<nsTM:IOP_mmHg unit="mmHg">15.5</nsTM:IOP_mmHg>`, `<nsCommon:LastName></nsCommon:LastName>`} {
		if !strings.Contains(x, want) {
			t.Errorf("JOIA lacks %q", want)
		}
	}
	if strings.Contains(x, "nsLM") {
		t.Error("LM class written without LM data")
	}
	if c, err := codec.Lookup("joia"); err == nil {
		capt, err := c.Decode([]byte(x))
		if err != nil {
			t.Fatalf("joia decode: %v", err)
		}
		if len(capt.Readings) < 3 {
			t.Errorf("joia readings %+v", capt.Readings)
		}
	}
}

// TestSynthesizeDecodes checks that every synthesised measurement of every
// serial built-in decodes without error or warning.
func TestSynthesizeDecodes(t *testing.T) {
	for _, p := range profile.Builtin().All() {
		if _, err := codec.Lookup(p.Dialect); err != nil {
			continue // that codec is not linked into this test
		}
		src, err := simulator.Synthesize(p, simulator.SynthConfig{Seed: 7})
		if err != nil {
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			for range 40 {
				m, err := src.Next()
				if err != nil {
					t.Fatal(err)
				}
				c := decode(t, p.Dialect, m.Frame)
				if len(c.Warnings) > 0 || len(c.Readings) == 0 {
					t.Fatalf("%q: warnings %q, %d readings", m.Frame, c.Warnings, len(c.Readings))
				}
				for _, r := range c.Readings {
					if rf := r.Refraction; rf != nil && (rf.Sphere < -12000 || rf.Sphere > 10000 || rf.Cylinder > 0 || rf.Cylinder < -3000) {
						t.Errorf("implausible %+v", *rf)
					}
				}
				if m.BadChecksum != nil {
					cd, _ := codec.Lookup(p.Dialect)
					if _, err := cd.Decode(m.BadChecksum); err == nil {
						t.Errorf("bad-checksum variant decoded")
					}
				}
			}
		})
	}
}

func TestReplay(t *testing.T) {
	a := simulator.EncodeRT(simulator.RTPrint{Date: time.Now(), Final: simulator.Eyes[lane.Refraction]{R: rx(1, 0, 0)}})
	b := simulator.EncodeRT(simulator.RTPrint{Date: time.Now(), Final: simulator.Eyes[lane.Refraction]{L: rx(2, 0, 0)}})
	src, err := simulator.Replay("nidek-rt", append(append([]byte("noise"), a...), b...), "")
	if err != nil {
		t.Skip(err)
	}
	for i, want := range [][]byte{a, b, a} {
		m, _ := src.Next()
		if !bytes.Equal(m.Frame, want) {
			t.Errorf("frame %d = %q, want %q", i, m.Frame, want)
		}
	}
	if _, err := simulator.Replay("nidek-rt", []byte("nothing here"), ""); err == nil {
		t.Error("replay of no frames succeeded")
	}
}
