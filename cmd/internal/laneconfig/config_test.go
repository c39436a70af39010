package laneconfig_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/cmd/internal/laneconfig"
	"github.com/examlane/examlane/devices/transport"
	"github.com/examlane/examlane/lane"
)

// parse parses src as the file /lane/lane.toml.
func parse(src string) (*laneconfig.Config, error) {
	cfg, _, err := laneconfig.Parse("lane.toml", []byte(src), laneconfig.ParseOptions{Dir: "/lane", Home: "/home/tech"})
	return cfg, err
}

// problems returns the problem lines of err, or fails.
func problems(t *testing.T, err error) []string {
	t.Helper()
	var ce *laneconfig.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v (%T), want *laneconfig.Error", err, err)
	}
	if !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("error does not wrap lane.ErrInvalid")
	}
	var out []string
	for _, p := range ce.Problems {
		out = append(out, p.String())
	}
	return out
}

func TestDuration(t *testing.T) {
	good := []struct {
		in   string
		want time.Duration
		str  string
	}{
		{"5m", 5 * time.Minute, "5m"},
		{"90s", 90 * time.Second, "1m30s"},
		{"12h", 12 * time.Hour, "12h"},
		{"1h30m", 90 * time.Minute, "1h30m"},
		{"7d", 7 * 24 * time.Hour, "7d"},
		{"1d12h", 36 * time.Hour, "36h"},
		{"0s", 0, "0s"},
		{"0", 0, "0s"},
		{"500ms", 500 * time.Millisecond, "500ms"},
		{"2d0h30m", 48*time.Hour + 30*time.Minute, "48h30m"},
		{"2d", 48 * time.Hour, "2d"},
		{"1d", 24 * time.Hour, "24h"},
		{"24h", 24 * time.Hour, "24h"},
	}
	for _, tt := range good {
		d, err := laneconfig.ParseDuration(tt.in)
		if err != nil || d.Std() != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v, want %v", tt.in, d.Std(), err, tt.want)
			continue
		}
		if d.String() != tt.str {
			t.Errorf("ParseDuration(%q).String() = %q, want %q", tt.in, d.String(), tt.str)
		}
		back, err := laneconfig.ParseDuration(d.String())
		if err != nil || back != d {
			t.Errorf("round trip of %q: %v, %v", tt.in, back, err)
		}
	}
	for _, in := range []string{"", "5", "-5m", "+5m", "d", "7 days", "5q", "1.5d", "d5h", "-1d", "99999999d", "7d-1h", "1d1d"} {
		if d, err := laneconfig.ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, d)
		}
	}
}

func TestDefaultPaths(t *testing.T) {
	env := func(goos, home string, vars map[string]string) laneconfig.Env {
		return laneconfig.Env{GOOS: goos, Home: home, Getenv: func(k string) string { return vars[k] }}
	}
	tests := []struct {
		name string
		env  laneconfig.Env
		want laneconfig.Paths
	}{
		{"linux defaults", env("linux", "/home/tech", nil), laneconfig.Paths{
			ConfigFile: "/home/tech/.config/examlane/lane.toml",
			DataDir:    "/home/tech/.local/share/examlane",
			LogDir:     "/home/tech/.local/state/examlane/logs",
		}},
		{"linux XDG", env("linux", "/home/tech", map[string]string{
			"XDG_CONFIG_HOME": "/etc/xdg-tech", "XDG_DATA_HOME": "/srv/data", "XDG_STATE_HOME": "/var/state",
		}), laneconfig.Paths{
			ConfigFile: "/etc/xdg-tech/examlane/lane.toml",
			DataDir:    "/srv/data/examlane",
			LogDir:     "/var/state/examlane/logs",
		}},
		{"linux relative XDG ignored", env("linux", "", map[string]string{
			"HOME": "/home/op", "XDG_CONFIG_HOME": "rel/config", "XDG_DATA_HOME": "./data",
		}), laneconfig.Paths{
			ConfigFile: "/home/op/.config/examlane/lane.toml",
			DataDir:    "/home/op/.local/share/examlane",
			LogDir:     "/home/op/.local/state/examlane/logs",
		}},
		{"freebsd like linux", env("freebsd", "/usr/home/tech", nil), laneconfig.Paths{
			ConfigFile: "/usr/home/tech/.config/examlane/lane.toml",
			DataDir:    "/usr/home/tech/.local/share/examlane",
			LogDir:     "/usr/home/tech/.local/state/examlane/logs",
		}},
		{"windows", env("windows", "", map[string]string{
			"ProgramData": `D:\ProgramData`, "LOCALAPPDATA": `C:\Users\tech\AppData\Local\`, "USERPROFILE": `C:\Users\tech`,
		}), laneconfig.Paths{
			ConfigFile: `D:\ProgramData\Examlane\lane.toml`,
			DataDir:    `C:\Users\tech\AppData\Local\Examlane`,
			LogDir:     `C:\Users\tech\AppData\Local\Examlane\logs`,
		}},
		{"windows fallbacks", env("windows", "", map[string]string{"USERPROFILE": `C:\Users\tech`, "ProgramData": "relative"}), laneconfig.Paths{
			ConfigFile: `C:\ProgramData\Examlane\lane.toml`,
			DataDir:    `C:\Users\tech\AppData\Local\Examlane`,
			LogDir:     `C:\Users\tech\AppData\Local\Examlane\logs`,
		}},
		{"windows UNC", env("windows", "", map[string]string{"LOCALAPPDATA": `\\fs\profiles\tech`}), laneconfig.Paths{
			ConfigFile: `C:\ProgramData\Examlane\lane.toml`,
			DataDir:    `\\fs\profiles\tech\Examlane`,
			LogDir:     `\\fs\profiles\tech\Examlane\logs`,
		}},
		{"macOS", env("darwin", "/Users/tech", nil), laneconfig.Paths{
			ConfigFile: "/Users/tech/Library/Application Support/Examlane/lane.toml",
			DataDir:    "/Users/tech/Library/Application Support/Examlane",
			LogDir:     "/Users/tech/Library/Logs/Examlane",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := laneconfig.DefaultPaths(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("DefaultPaths =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		if p, err := laneconfig.DefaultPaths(env(goos, "", nil)); err == nil {
			t.Errorf("%s without home or variables: DefaultPaths = %+v, want an error", goos, p)
		}
	}
}

func TestParseDefaultsForMissingKeys(t *testing.T) {
	cfg, err := parse("[session]\nlock_timeout = \"10m\"\n")
	if err != nil {
		t.Fatal(err)
	}
	want := laneconfig.Defaults()
	want.Session.LockTimeout = laneconfig.Duration(10 * time.Minute)
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Parse = %+v\nwant %+v", cfg, want)
	}
	empty, err := parse("")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(empty, laneconfig.Defaults()) {
		t.Errorf("empty file = %+v, want the defaults", empty)
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"syntax", "[lane]\nname = \"x\nlocation = 1\n", []string{
			`lane.toml:2: key "lane.name": strings cannot contain newlines`,
		}},
		{"unclosed table", "[lane\n", []string{
			`lane.toml:2: expected '.' or ']' to end table name, but got '\n' instead`,
		}},
		{"duplicate key", "[session]\nlock_timeout = \"5m\"\nlock_timeout = \"6m\"\n", []string{
			`lane.toml:3: Key 'session.lock_timeout' has already been defined.`,
		}},
		{"unknown keys", "[lane]\nname = \"A\"\nnmae = \"B\"\n[sesion]\nx = 1\n[[instruments]]\nname = \"C\"\n", []string{
			`lane.toml:3: key "lane.nmae": unknown key (did you mean "name"?)`,
			`lane.toml:4: key "sesion": unknown key (did you mean "session"?)`,
			`lane.toml:6: key "instruments": unknown key (did you mean "instrument"?)`,
		}},
		{"unknown key in second instrument", "[[instrument]]\nname = \"A\"\nprofile = \"nidek-rt5100\"\nport = \"/dev/ttyS0\"\n\n[[instrument]]\nname = \"B\"\nprofile = \"topcon-kr800\"\nfolder = \"/x\"\nspeed = 9600\n", []string{
			`lane.toml:10: key "instrument.speed": unknown key`,
		}},
		{"types", "[lane]\nname = 3\ndemo = \"yes\"\n[backup]\nkeep = \"seven\"\nenabled = 1\n[session]\nlock_timeout = 300\n", []string{
			`lane.toml:2: key "lane.name": want a string, got a whole number`,
			`lane.toml:3: key "lane.demo": want true or false, got a string`,
			`lane.toml:5: key "backup.keep": want a whole number, got a string`,
			`lane.toml:6: key "backup.enabled": want true or false, got a whole number`,
			`lane.toml:8: key "session.lock_timeout": want a duration such as "5m", "12h" or "7d", got a whole number`,
		}},
		{"byte order mark and CRLF (Notepad)", "\uFEFF[backup]\r\nkeep = 0\r\n\r\n[log]\r\nlevel = \"loud\"\r\n", []string{
			`lane.toml:2: key "backup.keep": 0 is too small (at least 1)`,
			`lane.toml:5: key "log.level": "loud" is not one of debug, info, warn, error`,
		}},
		{"table as value", "lane = 3\ninstrument = \"x\"\n", []string{
			`lane.toml:1: key "lane": want a table, got a whole number`,
			`lane.toml:2: key "instrument": want an array of tables, got a string`,
		}},
		{"bad text values", "[session]\nshift_length = \"12 hours\"\n[[instrument]]\nname = \"A\"\nprofile = \"nidek-rt5100\"\nport = \"COM1\"\nlink = \"9600 9N1\"\n", []string{
			`lane.toml:2: key "session.shift_length": "12 hours" is not a duration: want e.g. "90s", "5m", "12h" or "7d"`,
			`lane.toml:7: key "instrument.link": link "9600 9N1": data bits "9": want 5..8`,
		}},
		{"ranges and enums", "[session]\nlock_timeout = \"1m\"\nshift_length = \"13h\"\noffline_sign_in = \"31d\"\n[data]\nkey_mode = \"passphrase\"\nretention = \"12h\"\n[backup]\nkeep = 0\nevery = \"5m\"\n[log]\nlevel = \"verbose\"\nmax_files = 101\n", []string{
			`lane.toml:2: key "session.lock_timeout": 1m is too short (at least 2m)`,
			`lane.toml:3: key "session.shift_length": 13h is too long (at most 12h)`,
			`lane.toml:4: key "session.offline_sign_in": 31d is too long (at most 30d)`,
			`lane.toml:6: key "data.key_mode": "passphrase" is not one of keychain, passphrase-fallback`,
			`lane.toml:7: key "data.retention": 12h is too short (at least 1d)`,
			`lane.toml:9: key "backup.keep": 0 is too small (at least 1)`,
			`lane.toml:10: key "backup.every": 5m is too short (at least 15m)`,
			`lane.toml:12: key "log.level": "verbose" is not one of debug, info, warn, error`,
			`lane.toml:13: key "log.max_files": 101 is too large (at most 100)`,
		}},
		{"strings", "[lane]\nname = \"Lane\\u00071\"\nlocation = \"" + strings.Repeat("x", 65) + "\"\n", []string{
			`lane.toml:2: key "lane.name": contains a control character`,
			`lane.toml:3: key "lane.location": longer than 64 characters`,
		}},
		{"instrument rules", `
[[instrument]]
profile = "nidek-rt5100"

[[instrument]]
name = "Phoropter"
profile = "nidek-rt5100"
folder = "exports"

[[instrument]]
name = "phoropter"
profile = "nidek-rt51"
port = "/dev/ttyS1"

[[instrument]]
name = "Tonometer"
profile = "topcon-ct800a"
port = "/dev/ttyS1"
dtr = false
link = "9600 8N1"

[[instrument]]
name = "Lensmeter"
profile = "generic-dcs-lensmeter"
port = "/dev/ttyS2"
usb_serial = "A1"

[[camera]]
name = "Fundus"
folder = "/srv/fundus"
pattern = "[*.dcm"

[[camera]]
name = "Slit lamp"
folder = "/srv/fundus"
`, []string{
			`lane.toml:2: key "instrument.name": missing`,
			`lane.toml:2: key "instrument.port": missing: profile "nidek-rt5100" is a serial instrument; give its port, e.g. "/dev/ttyS0" or "COM3"`,
			`lane.toml:5: key "instrument.port": missing: profile "nidek-rt5100" is a serial instrument; give its port, e.g. "/dev/ttyS0" or "COM3"`,
			`lane.toml:8: key "instrument.folder": only for file instruments: profile "nidek-rt5100" is connected by serial`,
			`lane.toml:11: key "instrument.name": "phoropter" names another instrument or camera too`,
			`lane.toml:12: key "instrument.profile": profile "nidek-rt51": not found (did you mean nidek-rt5100, nidek-rt5100-type2?)`,
			`lane.toml:15: key "instrument.folder": missing: profile "topcon-ct800a" reads the files an instrument exports; give the folder`,
			`lane.toml:18: key "instrument.port": "/dev/ttyS1" is the port of another instrument too`,
			`lane.toml:18: key "instrument.port": only for serial instruments: profile "topcon-ct800a" reads files from a folder`,
			`lane.toml:19: key "instrument.dtr": only for serial instruments: profile "topcon-ct800a" reads files from a folder`,
			`lane.toml:20: key "instrument.link": only for serial instruments: profile "topcon-ct800a" reads files from a folder`,
			`lane.toml:26: key "instrument.usb_serial": only for usb-serial instruments: profile "generic-dcs-lensmeter" is plain serial`,
			`lane.toml:31: key "camera.pattern": "[*.dcm" is not a valid glob`,
			`lane.toml:35: key "camera.folder": "/srv/fundus" is watched for another instrument or camera too`,
		}},
		{"server", "[server]\nurl = \"http://user:hunter2@10.0.0.5:8443\"\nenrolment_code = \"SECRET-CODE-WITH-BAD-CHARS!\"\n", []string{
			`lane.toml:2: key "server.url": must not contain a user name or password: the lane authenticates with its enrolment certificate`,
			`lane.toml:3: key "server.enrolment_code": not an enrolment code: want 16 letters and digits, XXXX-XXXX-XXXX-XXXX`,
		}},
		{"server http", "[server]\nurl = \"http://10.0.0.5:8443\"\n", []string{
			`lane.toml:2: key "server.url": plain http is allowed for loopback addresses only (127.0.0.1, ::1, localhost): use https`,
		}},
		{"server path and port", "[server]\nurl = \"https://pms.example:99999/fhir/R4\"\n", []string{
			`lane.toml:2: key "server.url": want only the scheme, host and port: the API paths come from enrolment`,
		}},
		{"server scheme", "[server]\nurl = \"ftp://pms\"\n", []string{
			`lane.toml:2: key "server.url": want an https:// URL, e.g. "https://10.0.0.5:8443"`,
		}},
		{"code without server", "[server]\nenrolment_code = \"abcd-efgh-jkmn-pqrs\"\n", []string{
			`lane.toml:2: key "server.enrolment_code": set, but server.url is empty: enrolment needs the server`,
		}},
		{"demo against a practice server", "[lane]\ndemo = true\n[server]\nurl = \"https://10.0.0.5\"\n", []string{
			`lane.toml:4: key "server.url": demo mode sends synthetic patients to a local reference server only: use a loopback address (127.0.0.1, ::1, localhost) or leave url empty`,
		}},
		{"home unknown", "[data]\ndir = \"~/lane\"\n", nil}, // fine: Home is set by parse
		{"dotted keys and inline tables", "session.lock_timeout = \"20m\"\ninstrument = [\n  { name = \"A\", profile = \"topcon-kr800\", folder = \"/a\" },\n  { name = \"B\", profile = \"topcon-kr800\", port = \"COM1\", folder = \"/b\" },\n]\n", []string{
			`lane.toml:1: key "session.lock_timeout": 20m is too long (at most 15m)`,
			`lane.toml:4: key "instrument.port": only for serial instruments: profile "topcon-kr800" reads files from a folder`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(tt.src)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Parse succeeded, want problems")
			}
			got := problems(t, err)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, g := range got {
				for _, secret := range []string{"hunter2", "SECRET", "abcd"} {
					if strings.Contains(g, secret) {
						t.Errorf("problem %q repeats a secret", g)
					}
				}
			}
		})
	}
}

func TestParseResolvesPaths(t *testing.T) {
	src := `
[data]
dir = "~/lane-data"
[backup]
dir = "../backups"
[log]
dir = "/var/log/examlane"
[devices]
profiles = "profiles.toml"
[[instrument]]
name = "A"
profile = "topcon-kr800"
folder = "drops/kr800"
[[camera]]
name = "C"
folder = "~"
`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "profiles.toml"), []byte("[[profile]]\nname = \"topcon-kr800\"\npattern = \"*.XML\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, set, err := laneconfig.Parse("lane.toml", []byte(src), laneconfig.ParseOptions{Dir: dir, Home: "/home/tech"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"data.dir":          "/home/tech/lane-data",
		"backup.dir":        filepath.Join(filepath.Dir(dir), "backups"),
		"log.dir":           "/var/log/examlane",
		"devices.profiles":  filepath.Join(dir, "profiles.toml"),
		"instrument.folder": filepath.Join(dir, "drops", "kr800"),
		"camera.folder":     "/home/tech",
	}
	got := map[string]string{
		"data.dir": cfg.Data.Dir, "backup.dir": cfg.Backup.Dir, "log.dir": cfg.Log.Dir,
		"devices.profiles": cfg.Devices.Profiles, "instrument.folder": cfg.Instruments[0].Folder, "camera.folder": cfg.Cameras[0].Folder,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths = %v\nwant %v", got, want)
	}
	p, err := set.Lookup("topcon-kr800")
	if err != nil || p.Pattern != "*.XML" {
		t.Errorf("devices.profiles not applied: %+v, %v", p, err)
	}

	_, _, err = laneconfig.Parse("lane.toml", []byte("[data]\ndir = \"~/x\"\n"), laneconfig.ParseOptions{Dir: dir})
	if got := problems(t, err); len(got) != 1 || got[0] != `lane.toml:2: key "data.dir": cannot expand "~": no home directory known` {
		t.Errorf("~ without home: %q", got)
	}
}

func TestParseBadProfilesFile(t *testing.T) {
	dir := t.TempDir()
	pf := filepath.Join(dir, "profiles.toml")
	if err := os.WriteFile(pf, []byte("[[profile]]\nname = \"x\"\nbaud = 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := "[devices]\nprofiles = \"profiles.toml\"\n[[instrument]]\nname = \"A\"\nprofile = \"topcon-kr800\"\nfolder = \"/a\"\n"
	_, _, err := laneconfig.Parse("lane.toml", []byte(src), laneconfig.ParseOptions{Dir: dir})
	want := `lane.toml:2: key "devices.profiles": profiles ` + pf + `:3: unknown key "baud"`
	if got := problems(t, err); len(got) != 1 || got[0] != want {
		t.Errorf("problems = %q\nwant %q", got, want)
	}
	_, _, err = laneconfig.Parse("lane.toml", []byte("[devices]\nprofiles = \"missing.toml\"\n"), laneconfig.ParseOptions{Dir: dir})
	if got := problems(t, err); len(got) != 1 || !strings.HasPrefix(got[0], `lane.toml:2: key "devices.profiles": profiles `) {
		t.Errorf("missing profiles file: %q", got)
	}
}

func TestApply(t *testing.T) {
	cfg, set, err := laneconfig.Parse("lane.toml", []byte(`
[[instrument]]
name = "Lensmeter"
profile = "nidek-lm1800"
port = "/dev/ttyUSB3"
link = "9600 8N1"
dtr = false
wait_dsr = true
usb_serial = "A10K3ZQ"
`), laneconfig.ParseOptions{Dir: "/"})
	if err != nil {
		t.Fatal(err)
	}
	in := cfg.Instruments[0]
	base, err := set.Lookup(in.Profile)
	if err != nil {
		t.Fatal(err)
	}
	got := in.Apply(base)
	want := base
	want.Port, want.Link, want.DTR, want.WaitDSR, want.USBSerial = "/dev/ttyUSB3", transport.MustParseLink("9600 8N1"), false, true, "A10K3ZQ"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Apply =\n%+v\nwant\n%+v", got, want)
	}
	if base.DTR != true || base.Port != "" {
		t.Errorf("Apply changed the profile set's copy: %+v", base)
	}
	// No overrides: the profile unchanged.
	if got := (laneconfig.Instrument{Name: "x", Profile: base.Name}).Apply(base); !reflect.DeepEqual(got, base) {
		t.Errorf("Apply without overrides changed the profile")
	}
}

func TestRedacted(t *testing.T) {
	cfg := laneconfig.Defaults()
	cfg.Server.URL = "https://pms:8443"
	cfg.Server.EnrolmentCode = "ABCD-EFGH-JKMN-PQRS"
	cfg.Instruments = []laneconfig.Instrument{{Name: "A", Profile: "topcon-kr800", Folder: "/a"}}
	r := cfg.Redacted()
	if r.Server.EnrolmentCode != laneconfig.Redacted || r.Server.URL != cfg.Server.URL {
		t.Errorf("Redacted server = %+v", r.Server)
	}
	if cfg.Server.EnrolmentCode != "ABCD-EFGH-JKMN-PQRS" {
		t.Errorf("Redacted changed the original")
	}
	r.Instruments[0].Name = "changed"
	if cfg.Instruments[0].Name != "A" {
		t.Errorf("Redacted shares the instrument slice")
	}
	if got := laneconfig.Defaults().Redacted().Server.EnrolmentCode; got != "" {
		t.Errorf("an unset secret reads %q, want empty", got)
	}
}

func TestNotes(t *testing.T) {
	cfg := laneconfig.Defaults()
	cfg.Server.URL = "https://pms"
	if n := cfg.Notes(); len(n) != 0 {
		t.Errorf("Notes for the defaults with a server = %q", n)
	}
	cfg.Data.KeyMode = laneconfig.KeyModePassphraseFallback
	cfg.Backup.Enabled = false
	if n := cfg.Notes(); len(n) != 2 || !strings.Contains(n[0], "passphrase") || !strings.Contains(n[1], "backup") {
		t.Errorf("Notes = %q", n)
	}
}

func TestValidate(t *testing.T) {
	cfg := laneconfig.Defaults()
	if err := cfg.Validate(nil); err != nil {
		t.Errorf("Validate(defaults) = %v", err)
	}
	cfg.Session.LockTimeout = laneconfig.Duration(time.Hour)
	cfg.Instruments = []laneconfig.Instrument{{Profile: "nidek-rt5100"}}
	err := cfg.Validate(nil)
	got := problems(t, err)
	want := []string{`: key "session.lock_timeout": 1h is too long (at most 15m)`, `: key "instrument.name": missing`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Validate problems = %q, want %q", got, want)
	}
}
