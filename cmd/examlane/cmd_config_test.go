package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/examlane/examlane/cmd/internal/laneconfig"
)

// configHome points the per-OS defaults into a fresh temporary home
// directory and returns the default paths there.
func configHome(t *testing.T) laneconfig.Paths {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, v := range []string{"XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"} {
		t.Setenv(v, "")
	}
	p, err := laneconfig.DefaultPaths(laneconfig.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.ConfigFile, home) {
		t.Skipf("default paths are not under $HOME on this OS: %+v", p)
	}
	return p
}

func writeConfigFile(t *testing.T, name, src string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

const cliGoodConfig = `[lane]
name = "Lane 2"
[server]
url = "https://127.0.0.1:8443"
enrolment_code = "ABCD-EFGH-JKMN-PQRS"
[data]
key_mode = "passphrase-fallback"
[[instrument]]
name = "Autorefractor"
profile = "topcon-kr800"
folder = "drops"
`

func TestConfigCheck(t *testing.T) {
	configHome(t)
	dir := t.TempDir()
	good := writeConfigFile(t, filepath.Join(dir, "good.toml"), cliGoodConfig)
	bad := writeConfigFile(t, filepath.Join(dir, "bad.toml"), "[session]\nlock_timeout = \"1h\"\n\n[[instrument]]\nname = \"A\"\nprofile = \"nidek-rt5100\"\nspeed = 1\n")

	r := invoke("config", "check", good)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("check good: code %d, stderr %q", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, good+": ok\n") || !strings.Contains(r.stdout, "note: data.key_mode = \"passphrase-fallback\"") {
		t.Errorf("check good: stdout %q", r.stdout)
	}

	r = invoke("config", "check", bad)
	want := bad + ":7: key \"instrument.speed\": unknown key\n"
	if r.code != 1 || r.stdout != want {
		t.Errorf("check bad: code %d, stdout %q, want %q", r.code, r.stdout, want)
	}
	if r.stderr != "examlane config check: "+bad+": 1 problem\n" {
		t.Errorf("check bad: stderr %q", r.stderr)
	}
	// With the unknown key gone, the semantic problems show, all of them.
	writeConfigFile(t, bad, "[session]\nlock_timeout = \"1h\"\n\n[[instrument]]\nname = \"A\"\nprofile = \"nidek-rt5100\"\n")
	r = invoke("--config", bad, "config", "check")
	want = bad + ":2: key \"session.lock_timeout\": 1h is too long (at most 15m)\n" +
		bad + ":4: key \"instrument.port\": missing: profile \"nidek-rt5100\" is a serial instrument; give its port, e.g. \"/dev/ttyS0\" or \"COM3\"\n"
	if r.code != 1 || r.stdout != want || !strings.HasSuffix(r.stderr, ": 2 problems\n") {
		t.Errorf("check via --config: code %d\nstdout %q\nwant   %q\nstderr %q", r.code, r.stdout, want, r.stderr)
	}

	r = invoke("config", "check", filepath.Join(dir, "missing.toml"))
	if r.code != 1 || !strings.Contains(r.stdout, "missing.toml: no such file or directory") {
		t.Errorf("check missing: %+v", r)
	}
	r = invoke("config", "check", good, bad)
	if r.code != 2 || !strings.Contains(r.stderr, "want at most one FILE") {
		t.Errorf("check two files: %+v", r)
	}
}

func TestConfigCheckDefaultPath(t *testing.T) {
	p := configHome(t)
	r := invoke("config", "check")
	if r.code != 1 || !strings.HasPrefix(r.stdout, p.ConfigFile+": ") {
		t.Errorf("check with no file at the default path: %+v", r)
	}
	writeConfigFile(t, p.ConfigFile, "")
	if r := invoke("config", "check"); r.code != 0 || r.stdout != p.ConfigFile+": ok\nnote: server.url is empty: the lane does not sync\n" {
		t.Errorf("check default path: %+v", r)
	}
}

func TestConfigShow(t *testing.T) {
	p := configHome(t)
	writeConfigFile(t, p.ConfigFile, cliGoodConfig)
	r := invoke("config", "show")
	if r.code != 0 {
		t.Fatalf("show: %+v", r)
	}
	for _, want := range []string{
		"# Source: " + p.ConfigFile + "\n",
		"# note: data.key_mode = \"passphrase-fallback\"",
		`name = "Lane 2"`,
		`enrolment_code = "<redacted>"`,
		`lock_timeout = "5m"`,
		`shift_length = "12h"`,
		`offline_sign_in = "7d"`,
		`retention = "30d"`,
		`dir = "` + p.DataDir + `"`,
		`dir = "` + filepath.Join(p.DataDir, "backups") + `"`,
		`dir = "` + p.LogDir + `"`,
		`folder = "` + filepath.Join(filepath.Dir(p.ConfigFile), "drops") + `"`,
		"[[instrument]]",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "ABCD") {
		t.Errorf("show prints the enrolment code:\n%s", r.stdout)
	}
	// The output is itself a valid configuration (the redacted code aside).
	shown := strings.Replace(r.stdout, `enrolment_code = "<redacted>"`, "", 1)
	if _, _, err := laneconfig.Parse("shown", []byte(shown), laneconfig.ParseOptions{Dir: "/"}); err != nil {
		t.Errorf("show output does not parse: %v", err)
	}
	// Show only looks: no last good copy is written.
	if _, err := os.Stat(filepath.Join(p.DataDir, laneconfig.LastGoodName)); !os.IsNotExist(err) {
		t.Errorf("show wrote the last good copy (%v)", err)
	}

	// --data-dir wins.
	dd := t.TempDir()
	if r := invoke("--data-dir", dd, "config", "show"); r.code != 0 || !strings.Contains(r.stdout, `dir = "`+dd+`"`) {
		t.Errorf("show --data-dir: %+v", r)
	}
}

func TestConfigShowFallsBack(t *testing.T) {
	p := configHome(t)
	writeConfigFile(t, p.ConfigFile, cliGoodConfig)
	if _, err := laneconfig.Load(laneconfig.Options{}); err != nil { // as the app would at start
		t.Fatal(err)
	}
	writeConfigFile(t, p.ConfigFile, "[lane\n")
	r := invoke("config", "show")
	if r.code != 0 {
		t.Fatalf("show with a bad file: %+v", r)
	}
	lg := filepath.Join(p.DataDir, laneconfig.LastGoodName)
	for _, want := range []string{
		"# Source: the last good copy " + lg + "\n",
		"# warning: " + p.ConfigFile + ":2: expected '.' or ']' to end table name, but got '\\n' instead\n",
		`name = "Lane 2"`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, r.stdout)
		}
	}

	os.Remove(lg)
	r = invoke("config", "show")
	if r.code != 1 || !strings.Contains(r.stderr, p.ConfigFile+":2: expected") || !strings.Contains(r.stderr, "no last good copy") {
		t.Errorf("show with a bad file and no copy: %+v", r)
	}
}

func TestConfigInit(t *testing.T) {
	p := configHome(t)
	r := invoke("config", "init")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "wrote "+p.ConfigFile+"\n") {
		t.Fatalf("init: %+v", r)
	}
	data, err := os.ReadFile(p.ConfigFile)
	if err != nil || !bytes.Equal(data, laneconfig.Example()) {
		t.Fatalf("init wrote %d bytes, %v; want the example", len(data), err)
	}
	if fi, _ := os.Stat(p.ConfigFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode())
	}
	if r := invoke("config", "check"); r.code != 0 {
		t.Errorf("check of the init file: %+v", r)
	}

	writeConfigFile(t, p.ConfigFile, "# mine\n")
	r = invoke("config", "init")
	if r.code != 1 || !strings.Contains(r.stderr, "already exists (use --force to replace it)") {
		t.Errorf("init over a file: %+v", r)
	}
	if data, _ := os.ReadFile(p.ConfigFile); string(data) != "# mine\n" {
		t.Error("init replaced an existing file without --force")
	}
	if r := invoke("config", "init", "--force"); r.code != 0 {
		t.Errorf("init --force: %+v", r)
	}
	if data, _ := os.ReadFile(p.ConfigFile); !bytes.Equal(data, laneconfig.Example()) {
		t.Error("init --force did not replace the file")
	}

	other := filepath.Join(t.TempDir(), "sub", "lane.toml")
	if r := invoke("config", "init", other); r.code != 0 {
		t.Errorf("init FILE: %+v", r)
	}
	if _, err := os.Stat(other); err != nil {
		t.Error(err)
	}
	if r := invoke("config", "init", "-"); r.code != 0 || r.stdout != string(laneconfig.Example()) {
		t.Errorf("init -: code %d, %d bytes", r.code, len(r.stdout))
	}
}

func TestConfigSchemaAndPath(t *testing.T) {
	p := configHome(t)
	r := invoke("config", "schema")
	if r.code != 0 || r.stdout != string(laneconfig.Schema()) || !json.Valid([]byte(r.stdout)) {
		t.Errorf("schema: code %d, %d bytes", r.code, len(r.stdout))
	}
	if r := invoke("config", "schema", "x"); r.code != 2 {
		t.Errorf("schema x: %+v", r)
	}

	r = invoke("config", "path")
	want := "config     " + p.ConfigFile + "\n" +
		"data       " + p.DataDir + "\n" +
		"last-good  " + filepath.Join(p.DataDir, laneconfig.LastGoodName) + "\n" +
		"logs       " + p.LogDir + "\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("path = %q, want %q", r.stdout, want)
	}
	dd := t.TempDir()
	writeConfigFile(t, p.ConfigFile, "[log]\ndir = \"/var/log/lane\"\n")
	r = invoke("--data-dir", dd, "config", "path")
	if r.code != 0 || !strings.Contains(r.stdout, "data       "+dd+"\n") || !strings.Contains(r.stdout, "logs       /var/log/lane\n") {
		t.Errorf("path with --data-dir and log.dir: %q", r.stdout)
	}
}

func TestConfigHelp(t *testing.T) {
	r := invoke("config", "--help")
	for _, sub := range []string{"check", "show", "init", "schema", "path"} {
		if !strings.Contains(r.stdout, "  "+sub+" ") {
			t.Errorf("config --help lacks %s:\n%s", sub, r.stdout)
		}
	}
	r = invoke("config", "init", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "-force") {
		t.Errorf("config init --help: %+v", r)
	}
}
