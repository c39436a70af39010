package profile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/devices/transport"
	"github.com/examlane/examlane/lane"
)

func TestBuiltinsValid(t *testing.T) {
	s := profile.Builtin()
	all := s.All()
	if len(all) < 20 {
		t.Fatalf("Builtin has %d profiles, want the models of the device notes", len(all))
	}
	for _, p := range all {
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
		if p.Note == "" {
			t.Errorf("%s: no note saying what is verified", p.Name)
		}
		if len(p.Measures) == 0 {
			t.Errorf("%s: measures nothing", p.Name)
		}
		if p.Source != "built-in" {
			t.Errorf("%s: source %q", p.Name, p.Source)
		}
	}
}

func TestLookup(t *testing.T) {
	s := profile.Builtin()
	tests := []struct {
		in, want string
	}{
		{"nidek-rt5100", "nidek-rt5100"},
		{"NIDEK RT-5100", "nidek-rt5100"},
		{"RT-5100", "nidek-rt5100"},
		{"rt3100", "nidek-rt3100"},
		{"marco-rt2100", "nidek-rt2100"},
		{"ARK-510A", "nidek-ark510a"}, // the serial profile wins the bare model
		{"nidek-ark510a-xml", "nidek-ark510a-xml"},
		{"TOPCON KR-800S", "topcon-kr800"},
		{"oculus-nt530p", "nidek-nt530p"},
		{"dcs-lensmeter", "generic-dcs-lensmeter"},
	}
	for _, tt := range tests {
		p, err := s.Lookup(tt.in)
		if err != nil || p.Name != tt.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", tt.in, p.Name, err, tt.want)
		}
	}
	_, err := s.Lookup("rt9999")
	if !errors.Is(err, lane.ErrNotFound) {
		t.Errorf("Lookup(rt9999) error = %v, want ErrNotFound", err)
	}
	_, err = s.Lookup("kr")
	if err == nil || !strings.Contains(err.Error(), "did you mean") || !strings.Contains(err.Error(), "topcon-kr800") {
		t.Errorf("Lookup(kr) error = %v, want suggestions", err)
	}
}

func TestBuiltinLinkSettings(t *testing.T) {
	s := profile.Builtin()
	tests := []struct {
		name, link string
		dtr, dsr   bool
		dialect    string
		handshake  profile.Handshake
	}{
		{"nidek-rt5100", "2400 7E2", true, true, "nidek-rt", profile.HandshakeDTRDSR},
		{"nidek-rt2100", "2400 7E2", true, true, "nidek-rt", profile.HandshakeDTRDSR},
		{"nidek-rt3100", "9600 8O1", true, false, "nidek-rt", profile.HandshakeNone},
		{"nidek-lm1000", "2400 7E2", true, false, "nidek-dblock", profile.HandshakeDTRDSR},
		{"generic-dcs-lensmeter", "9600 8N1", true, false, "dcs", profile.HandshakeACKNAK},
	}
	for _, tt := range tests {
		p, err := s.Lookup(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		if p.Link.String() != tt.link || p.DTR != tt.dtr || p.WaitDSR != tt.dsr || p.Dialect != tt.dialect || p.Handshake != tt.handshake {
			t.Errorf("%s = %s dtr=%v dsr=%v %s %s; want %s dtr=%v dsr=%v %s %s", tt.name,
				p.Link, p.DTR, p.WaitDSR, p.Dialect, p.Handshake, tt.link, tt.dtr, tt.dsr, tt.dialect, tt.handshake)
		}
		cfg := p.SerialConfig()
		if cfg.Mask7 != (p.Link.DataBits == 7) {
			t.Errorf("%s: Mask7 = %v for %s", tt.name, cfg.Mask7, p.Link)
		}
	}
	rt3100, _ := s.Lookup("nidek-rt3100")
	if rt3100.DefaultSend != profile.SendDirect || !rt3100.CanReceive() {
		t.Errorf("rt3100 send = %q (can receive %v), want direct", rt3100.DefaultSend, rt3100.CanReceive())
	}
	ark, _ := s.Lookup("nidek-ark1")
	if ark.Request != "sd" || ark.CanReceive() {
		t.Errorf("ark1 request %q receive %v", ark.Request, ark.CanReceive())
	}
}

const practiceFile = `# Practice overrides
[[profile]]
name = "nidek-rt5100"
port = "/dev/ttyUSB0"
wait_dsr = false          # the adapter does not wire DSR

[[profile]]
name = "front-lensmeter"
base = "nidek-lm1800"
usb = ["0403:6001"]
usb_serial = "A10K3ZQ"
link = "9600 8N1"
inter_byte = "300ms"

[[profile]]
name = "pretest-kr1"
base = "topcon-kr1"
folder = "/srv/exports/kr1"
stable = "3s"

[[profile]]
name = "bench-dcs"
vendor = "Acme"
model = "LM-9"
transport = "serial"
link = "4800 8N1"
dialect = "dcs"
measures = ["lensometry"]
handshake = "ack-nak"
`

func TestParseOverrides(t *testing.T) {
	s, err := profile.Parse("practice.toml", []byte(practiceFile))
	if err != nil {
		t.Fatal(err)
	}
	rt, _ := s.Lookup("RT-5100")
	if rt.Port != "/dev/ttyUSB0" || rt.WaitDSR || !rt.DTR || rt.Link.String() != "2400 7E2" || rt.Source != "practice.toml" {
		t.Errorf("override = port %q wait_dsr %v dtr %v link %s source %q", rt.Port, rt.WaitDSR, rt.DTR, rt.Link, rt.Source)
	}
	lm, err := s.Lookup("front-lensmeter")
	if err != nil {
		t.Fatal(err)
	}
	if lm.Dialect != "nidek-dblock" || lm.Link != transport.MustParseLink("9600 8N1") || lm.InterByte != 300*time.Millisecond || lm.Vendor != "NIDEK" {
		t.Errorf("based profile = %+v", lm)
	}
	if got := s.MatchUSB(profile.USBID{VID: 0x0403, PID: 0x6001}, "A10K3ZQ"); len(got) != 1 || got[0].Name != "front-lensmeter" {
		t.Errorf("MatchUSB = %v", got)
	}
	if got := s.MatchUSB(profile.USBID{VID: 0x0403, PID: 0x6001}, "OTHER"); len(got) != 0 {
		t.Errorf("MatchUSB other serial = %v, want none", got)
	}
	kr, _ := s.Lookup("pretest-kr1")
	if kr.Folder != "/srv/exports/kr1" || kr.Stable != 3*time.Second || kr.Transport != profile.TransportFile {
		t.Errorf("kr = %+v", kr)
	}
	b, err := s.Lookup("bench-dcs")
	if err != nil || b.Handshake != profile.HandshakeACKNAK {
		t.Errorf("bench-dcs = %+v, %v", b, err)
	}
	// The built-in set is not changed by parsing a file.
	if p, _ := profile.Builtin().Lookup("nidek-rt5100"); p.Port != "" {
		t.Error("Parse changed the built-ins")
	}
}

func TestParseErrorsNameLineAndKey(t *testing.T) {
	tests := []struct {
		name, file string
		want       []string
	}{
		{"syntax", "[[profile]]\nname = \"x\"\nlink = 2400 7E2\n", []string{"f.toml:3"}},
		{"bad link", "[[profile]]\nname = \"nidek-rt5100\"\n\nlink = \"2400 9E2\"\n", []string{"f.toml:4", "link", "data bits"}},
		{"unknown key", "[[profile]]\nname = \"nidek-rt5100\"\nbaud = 2400\n", []string{"f.toml:3", `unknown key "baud"`}},
		{"bad dialect", "[[profile]]\nname = \"nidek-rt5100\"\n\ndialect = \"nidek-rs\"\n", []string{"f.toml:4", "dialect", "nidek-rs"}},
		{"bad base", "[[profile]]\nname = \"a\"\nbase = \"nosuch\"\n", []string{"f.toml:3", "base", "nosuch"}},
		{"missing name", "[[profile]]\nport = \"/dev/ttyS0\"\n", []string{"f.toml:1", "name", "missing"}},
		{"incomplete new", "[[profile]]\nname = \"new-one\"\ntransport = \"serial\"\n", []string{"f.toml", "new-one", "dialect"}},
		{"bad duration", "[[profile]]\nname = \"topcon-kr1\"\nstable = \"soon\"\n", []string{"f.toml:3", "stable", "duration"}},
		{"bad send mode", "[[profile]]\nname = \"nidek-rt5100\"\nsend_modes = [\"shout\"]\n", []string{"f.toml:3", "send_modes", "shout"}},
		{"alias collision", "[[profile]]\nname = \"mine\"\nbase = \"nidek-rt5100\"\naliases = [\"marco-rt2100\"]\n", []string{"f.toml:4", "aliases", "nidek-rt2100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := profile.Parse("f.toml", []byte(tt.file))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if !errors.Is(err, lane.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "instruments.toml")
	if err := os.WriteFile(path, []byte(practiceFile), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := profile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup("bench-dcs"); err != nil {
		t.Error(err)
	}
	if _, err := profile.Load(filepath.Join(t.TempDir(), "none.toml")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
	if s, err := profile.Load(""); err != nil || len(s.All()) != len(profile.Builtin().All()) {
		t.Errorf("Load(\"\") = %v", err)
	}
}

func TestUSBID(t *testing.T) {
	id, err := profile.ParseUSBID("0403:6001")
	if err != nil || id != (profile.USBID{VID: 0x0403, PID: 0x6001}) || id.String() != "0403:6001" {
		t.Errorf("ParseUSBID = %v, %v", id, err)
	}
	for _, bad := range []string{"04036001", "xyz:1", "10000:1"} {
		if _, err := profile.ParseUSBID(bad); err == nil {
			t.Errorf("ParseUSBID(%q) succeeded", bad)
		}
	}
}
