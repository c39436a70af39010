package main

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSupportBundle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a practice server and opens a database")
	}
	l := newDoctorLane(t)
	doctorHook = func(d *doctor) {
		d.diskFree = func(string) (uint64, uint64, error) { return 50 << 30, 100 << 30, nil }
		d.timeout = 5 * time.Second
	}
	defer func() { doctorHook = nil }()
	logDir := l.logDir
	os.MkdirAll(logDir, 0o700)
	os.WriteFile(filepath.Join(logDir, "examlane.log"), []byte(`{"level":"INFO","msg":"window open"}`+"\n"), 0o600)

	out := filepath.Join(t.TempDir(), "bundle.zip")
	r := invoke("--config", l.config, "support-bundle", out)
	if r.code != 0 {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	got := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		got[f.Name] = string(b)
	}
	for name, want := range map[string]string{
		"versions.txt":      "examlane ",
		"config.toml":       "secrets redacted",
		"doctor.txt":        "10 checks: 0 failed",
		"instruments.txt":   "Autorefractor",
		"enrolment.txt":     l.enrolled.LaneID,
		"logs/examlane.log": "window open",
	} {
		if !strings.Contains(got[name], want) {
			t.Errorf("%s: want %q in:\n%s", name, want, got[name])
		}
	}
	for name, body := range got {
		for _, secret := range []string{"PRIVATE KEY", "Synthetic", "DEMO-DR-1", "1970-01-02"} {
			if strings.Contains(body, secret) {
				t.Errorf("%s carries %q", name, secret)
			}
		}
	}
	// The bundle never overwrites a file.
	if r := invoke("--config", l.config, "support-bundle", out); r.code != 1 {
		t.Fatalf("over an existing file: exit %d", r.code)
	}
	if r := invoke("support-bundle"); r.code != 2 {
		t.Fatalf("without FILE: exit %d", r.code)
	}
}
