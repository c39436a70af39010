package laneconfig_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/examlane/examlane/cmd/internal/laneconfig"
	"github.com/examlane/examlane/lane"
)

// testEnv is a Linux environment rooted in a temporary home directory.
type testEnv struct {
	home  string
	env   laneconfig.Env
	paths laneconfig.Paths
}

func newTestEnv(t *testing.T) testEnv {
	t.Helper()
	home := t.TempDir()
	env := laneconfig.Env{GOOS: "linux", Home: home, Getenv: func(string) string { return "" }}
	paths, err := laneconfig.DefaultPaths(env)
	if err != nil {
		t.Fatal(err)
	}
	return testEnv{home: home, env: env, paths: paths}
}

func (e testEnv) opts() laneconfig.Options {
	return laneconfig.Options{Env: e.env, Hostname: func() (string, error) { return "lane-pc-7", nil }}
}

func (e testEnv) writeConfig(t *testing.T, src string) {
	t.Helper()
	writeFile(t, e.paths.ConfigFile, src)
}

func writeFile(t *testing.T, name, src string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}

const goodConfig = `
[lane]
location = "Main Street"
[server]
url = "https://10.0.0.5:8443"
enrolment_code = "ABCD-EFGH-JKMN-PQRS"
[session]
lock_timeout = "3m"
[[instrument]]
name = "Autorefractor"
profile = "topcon-kr800"
folder = "drops"
`

func TestLoadGoodFileSavesLastGood(t *testing.T) {
	e := newTestEnv(t)
	e.writeConfig(t, goodConfig)
	res, err := laneconfig.Load(e.opts())
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != laneconfig.SourceFile || res.File != e.paths.ConfigFile || len(res.Warnings) != 0 {
		t.Fatalf("Load = %+v", res)
	}
	c := res.Config
	cfgDir := filepath.Dir(e.paths.ConfigFile)
	if c.Lane.Name != "lane-pc-7" || c.Data.Dir != e.paths.DataDir || c.Log.Dir != e.paths.LogDir ||
		c.Backup.Dir != filepath.Join(e.paths.DataDir, "backups") || c.Instruments[0].Folder != filepath.Join(cfgDir, "drops") {
		t.Errorf("effective configuration = %+v", c)
	}
	if c.Server.EnrolmentCode != "ABCD-EFGH-JKMN-PQRS" {
		t.Errorf("the loaded configuration lost its enrolment code")
	}
	if res.Profiles == nil {
		t.Error("no profiles")
	}

	lg := filepath.Join(e.paths.DataDir, laneconfig.LastGoodName)
	data, err := os.ReadFile(lg)
	if err != nil {
		t.Fatalf("no last good copy: %v", err)
	}
	if strings.Contains(string(data), "ABCD") {
		t.Errorf("the last good copy keeps the enrolment code:\n%s", data)
	}
	if strings.Contains(string(data), "lane-pc-7") {
		t.Errorf("the last good copy has the host name baked in:\n%s", data)
	}
	if fi, err := os.Stat(lg); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("last good copy mode = %v, %v; want 0600", fi.Mode(), err)
	}
	// The copy reads back to the same configuration (secrets aside).
	back, _, err := laneconfig.Parse(lg, data, laneconfig.ParseOptions{Dir: "/elsewhere"})
	if err != nil {
		t.Fatalf("the last good copy does not parse: %v\n%s", err, data)
	}
	want, _, err := laneconfig.Parse("x", []byte(goodConfig), laneconfig.ParseOptions{Dir: cfgDir})
	if err != nil {
		t.Fatal(err)
	}
	want.Server.EnrolmentCode = ""
	if !reflect.DeepEqual(back, want) {
		t.Errorf("last good copy reads back as\n%+v\nwant\n%+v", back, want)
	}
}

func TestLoadBadFileFallsBackToLastGood(t *testing.T) {
	e := newTestEnv(t)
	e.writeConfig(t, goodConfig)
	if _, err := laneconfig.Load(e.opts()); err != nil {
		t.Fatal(err)
	}
	// A bad edit: the lane starts with the last good configuration.
	e.writeConfig(t, strings.Replace(goodConfig, `lock_timeout = "3m"`, `lock_timeout = "3 minutes"`, 1))
	res, err := laneconfig.Load(e.opts())
	if err != nil {
		t.Fatalf("Load with a bad file: %v", err)
	}
	if res.Source != laneconfig.SourceLastGood || res.File != filepath.Join(e.paths.DataDir, laneconfig.LastGoodName) {
		t.Fatalf("Source, File = %v, %v", res.Source, res.File)
	}
	if res.Config.Session.LockTimeout.String() != "3m" || res.Config.Instruments[0].Name != "Autorefractor" {
		t.Errorf("fallback configuration = %+v", res.Config)
	}
	wantProblem := e.paths.ConfigFile + `:8: key "session.lock_timeout": "3 minutes" is not a duration: want e.g. "90s", "5m", "12h" or "7d"`
	if len(res.Problems) != 1 || res.Problems[0].String() != wantProblem {
		t.Errorf("Problems = %v\nwant %s", res.Problems, wantProblem)
	}
	if len(res.Warnings) != 2 || res.Warnings[0] != wantProblem || !strings.Contains(res.Warnings[1], "using the last good configuration") {
		t.Errorf("Warnings = %q", res.Warnings)
	}
	if res.Config.Lane.Name != "lane-pc-7" || res.Config.Data.Dir != e.paths.DataDir {
		t.Errorf("fallback not finished: %+v", res.Config.Lane)
	}
	// The copy is not overwritten by a bad file.
	data, _ := os.ReadFile(res.File)
	if !strings.Contains(string(data), `lock_timeout = "3m"`) {
		t.Errorf("last good copy changed:\n%s", data)
	}
}

func TestLoadBadFileWithoutLastGood(t *testing.T) {
	e := newTestEnv(t)
	e.writeConfig(t, "[lane]\nname = 1\n")
	res, err := laneconfig.Load(e.opts())
	if err == nil {
		t.Fatalf("Load = %+v, want an error", res)
	}
	if !errors.Is(err, lane.ErrInvalid) || !strings.Contains(err.Error(), `lane.toml:2: key "lane.name": want a string, got a whole number`) {
		t.Errorf("error = %v", err)
	}
}

func TestLoadSalvagesDataDirFromBadFile(t *testing.T) {
	e := newTestEnv(t)
	custom := filepath.Join(e.home, "lane-data")
	good := "[data]\ndir = \"" + custom + "\"\n[log]\nlevel = \"debug\"\n"
	e.writeConfig(t, good)
	if _, err := laneconfig.Load(e.opts()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(custom, laneconfig.LastGoodName)); err != nil {
		t.Fatalf("last good copy not in data.dir: %v", err)
	}
	// Still valid TOML, but a bad value: the copy is found in data.dir.
	e.writeConfig(t, good+"[backup]\nkeep = 0\n")
	res, err := laneconfig.Load(e.opts())
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != laneconfig.SourceLastGood || res.Config.Log.Level != "debug" || res.Config.Data.Dir != custom {
		t.Errorf("Load = %+v, %+v", res, res.Config)
	}
}

func TestLoadDataDirFlag(t *testing.T) {
	e := newTestEnv(t)
	e.writeConfig(t, goodConfig)
	flagDir := filepath.Join(e.home, "flag-data")
	opts := e.opts()
	opts.DataDir = flagDir
	res, err := laneconfig.Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Config.Data.Dir != flagDir || res.Config.Backup.Dir != filepath.Join(flagDir, "backups") {
		t.Errorf("--data-dir not applied: %+v", res.Config.Data)
	}
	if _, err := os.Stat(filepath.Join(flagDir, laneconfig.LastGoodName)); err != nil {
		t.Errorf("last good copy not in --data-dir: %v", err)
	}
	// With a bad file, the copy is looked for in --data-dir.
	e.writeConfig(t, "garbage = [")
	res, err = laneconfig.Load(opts)
	if err != nil || res.Source != laneconfig.SourceLastGood {
		t.Fatalf("Load = %+v, %v", res, err)
	}
}

func TestLoadNoFile(t *testing.T) {
	e := newTestEnv(t)
	res, err := laneconfig.Load(e.opts())
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != laneconfig.SourceDefaults || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "using the defaults") {
		t.Errorf("Load = %+v", res)
	}
	if res.Config.Session != laneconfig.Defaults().Session || res.Config.Data.Dir != e.paths.DataDir || res.Profiles == nil {
		t.Errorf("defaults = %+v", res.Config)
	}
	if _, err := os.Stat(e.paths.DataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load with the defaults created the data directory (%v)", err)
	}

	// The file removed after a good start: the last good copy keeps the
	// instruments.
	e.writeConfig(t, goodConfig)
	if _, err := laneconfig.Load(e.opts()); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(e.paths.ConfigFile); err != nil {
		t.Fatal(err)
	}
	res, err = laneconfig.Load(e.opts())
	if err != nil || res.Source != laneconfig.SourceLastGood || len(res.Config.Instruments) != 1 {
		t.Fatalf("Load after removing the file = %+v, %v", res, err)
	}
	if !strings.Contains(res.Warnings[0], "no configuration file") {
		t.Errorf("Warnings = %q", res.Warnings)
	}
}

func TestLoadExplicitMissingFile(t *testing.T) {
	e := newTestEnv(t)
	opts := e.opts()
	opts.File = filepath.Join(e.home, "nope.toml")
	_, err := laneconfig.Load(opts)
	want := opts.File + ": no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("Load = %v, want %q", err, want)
	}
}

func TestLoadNoSave(t *testing.T) {
	e := newTestEnv(t)
	e.writeConfig(t, goodConfig)
	opts := e.opts()
	opts.NoSave = true
	if _, err := laneconfig.Load(opts); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(e.paths.DataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("NoSave: data directory exists (%v)", err)
	}
}

func TestLoadCannotSaveIsAWarning(t *testing.T) {
	e := newTestEnv(t)
	e.writeConfig(t, goodConfig)
	// The data "directory" is a file: the copy cannot be written.
	writeFile(t, e.paths.DataDir, "not a directory")
	res, err := laneconfig.Load(e.opts())
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != laneconfig.SourceFile || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "could not save the last good copy") {
		t.Errorf("Load = %+v", res)
	}
}
