package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDevicesList runs the real enumeration: it cannot assume hardware, so
// it checks the output's shape (every line a port, a USB device or a note).
func TestDevicesList(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		args := []string{"devices", "list"}
		if asJSON {
			args = append(args, "--json")
		}
		var o, e syncBuffer
		if code := dispatch(t.Context(), &env{Stdout: &o, Stderr: &e}, args); code != 0 {
			t.Fatalf("%v: code %d stderr %s", args, code, e.String())
		}
		lines := strings.Split(strings.TrimSpace(o.String()), "\n")
		if len(lines) == 0 || lines[0] == "" {
			t.Fatalf("%v printed nothing", args)
		}
		for _, l := range lines {
			if asJSON {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil || (m["type"] != "port" && m["type"] != "usb" && m["type"] != "note") {
					t.Errorf("line %q: %v", l, err)
				}
			} else if !strings.HasPrefix(l, "port ") && !strings.HasPrefix(l, "usb ") && !strings.HasPrefix(l, "note ") {
				t.Errorf("line %q", l)
			}
		}
		t.Logf("%s", o.String())
	}
}

func TestDevicesListText(t *testing.T) {
	tests := []struct {
		l    listLine
		want string
	}{
		{listLine{Type: "port", Path: "/dev/ttyUSB0", USB: "0403:6001", Serial: "A1", Manufacturer: "FTDI", Product: "FT232R USB UART", Profiles: []string{"front-lm"}},
			`port /dev/ttyUSB0 usb 0403:6001 serial A1 "FTDI FT232R USB UART" profile front-lm`},
		{listLine{Type: "usb", Bus: 1, Address: 4, USB: "067b:2303", Bridge: "Prolific PL2303", Port: "/dev/ttyUSB1"},
			`usb 1/4 067b:2303 bridge "Prolific PL2303" port /dev/ttyUSB1`},
		{listLine{Type: "port", Path: "/dev/ttyS0"}, "port /dev/ttyS0"},
		{listLine{Type: "note", Note: "USB devices not listed: x"}, "note USB devices not listed: x"},
	}
	for _, tt := range tests {
		if got := tt.l.text(); got != tt.want {
			t.Errorf("text() = %q, want %q", got, tt.want)
		}
	}
}

func TestDevicesProfiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "instruments.toml"), []byte("[[profile]]\nname = \"front-lm\"\nbase = \"nidek-lm1800\"\nusb = [\"0403:6001\"]\n"), 0o600)
	var o, e syncBuffer
	if code := dispatch(t.Context(), &env{Stdout: &o, Stderr: &e, DataDir: dir}, []string{"devices", "profiles", "--json"}); code != 0 {
		t.Fatalf("code %d: %s", code, e.String())
	}
	found := false
	for _, l := range strings.Split(strings.TrimSpace(o.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if m["name"] == "front-lm" {
			found = m["dialect"] == "nidek-dblock" && strings.HasSuffix(m["source"].(string), "instruments.toml")
		}
	}
	if !found {
		t.Errorf("practice profile missing or wrong:\n%s", o.String())
	}
	os.WriteFile(filepath.Join(dir, "instruments.toml"), []byte("[[profile]]\nname = \"x\"\nlinkk = \"9600 8N1\"\n"), 0o600)
	var o2, e2 syncBuffer
	if code := dispatch(t.Context(), &env{Stdout: &o2, Stderr: &e2, DataDir: dir}, []string{"devices", "profiles"}); code != 1 ||
		!strings.Contains(e2.String(), "instruments.toml:3") || !strings.Contains(e2.String(), "linkk") {
		t.Errorf("bad file: code %d stderr %q", code, e2.String())
	}
}
