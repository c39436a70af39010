package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReleaseCommands walks the release manager's path: key pair, manifest,
// signature, publication with a hold, the list and a change of the hold.
func TestReleaseCommands(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	if code, _, errs := practiced(t, "init", "--data", data, "--tenant", "alpha", "--name", "Alpha Eye Care"); code != 0 {
		t.Fatalf("init: %s", errs)
	}
	key := filepath.Join(tmp, "release-key")
	code, out, errs := practiced(t, "release", "keygen", "--out", key)
	if code != 0 || !strings.Contains(out, "release_keys = ") {
		t.Fatalf("keygen: %d %s %s", code, out, errs)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v %v", fi, err)
	}
	if code, _, _ := practiced(t, "release", "keygen", "--out", key); code != 1 {
		t.Fatalf("keygen over an existing key: exit %d, want 1", code)
	}
	file := filepath.Join(tmp, "examlane-1.2.0.tar.xz")
	os.WriteFile(file, []byte("synthetic installer"), 0o644)
	manifest, envelope := filepath.Join(tmp, "manifest.json"), filepath.Join(tmp, "release.json")
	if code, out, errs := practiced(t, "release", "manifest", "--version", "1.2.0", "--build", "7", "--os", "linux", "--arch", "amd64",
		"--file", file, "--out", manifest); code != 0 {
		t.Fatalf("manifest: %s %s", out, errs)
	}
	if code, out, errs := practiced(t, "release", "sign", "--key", key, "--manifest", manifest, "--out", envelope); code != 0 {
		t.Fatalf("sign: %s %s", out, errs)
	}
	// A file that differs from the manifest is refused.
	other := filepath.Join(tmp, "other", "examlane-1.2.0.tar.xz")
	os.MkdirAll(filepath.Dir(other), 0o700)
	os.WriteFile(other, []byte("something else"), 0o644)
	if code, _, errs := practiced(t, "release", "publish", "--data", data, "--envelope", envelope, "--file", other); code != 1 {
		t.Fatalf("publish with a wrong file: exit %d (%s)", code, errs)
	}
	if code, out, errs := practiced(t, "release", "publish", "--data", data, "--envelope", envelope, "--file", file, "--hold-lane", "lane-9"); code != 0 || !strings.Contains(out, "published 1.2.0+7") {
		t.Fatalf("publish: %d %s %s", code, out, errs)
	}
	if code, out, _ := practiced(t, "release", "list", "--data", data); code != 0 || !strings.Contains(out, "1.2.0+7") || !strings.Contains(out, "lane-9") {
		t.Fatalf("list: %s", out)
	}
	if code, out, _ := practiced(t, "release", "hold", "--data", data, "--release", "1.2.0+7", "--hold-percent", "50"); code != 0 || !strings.Contains(out, "50%") {
		t.Fatalf("hold: %s", out)
	}
	if code, _, _ := practiced(t, "release", "hold", "--data", data); code != 2 {
		t.Fatalf("hold without --release: exit %d, want 2", code)
	}
}
