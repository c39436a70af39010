package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/cmd/internal/update"
)

// publishTestRelease signs a synthetic release for this system with key
// and publishes it on the lane's practice server.
func publishTestRelease(t *testing.T, l *doctorLane, key ed25519.PrivateKey, version string) []byte {
	t.Helper()
	payload := []byte("synthetic installer " + version)
	sum := sha256.Sum256(payload)
	name := "examlane-" + version + ".bin"
	path := filepath.Join(t.TempDir(), name)
	os.WriteFile(path, payload, 0o644)
	m := update.Manifest{Product: update.Product, Version: version, Build: "1", Published: time.Now().UTC().Truncate(time.Second), Notes: "synthetic",
		Files: []update.File{{OS: runtime.GOOS, Arch: runtime.GOARCH, Name: name, Size: int64(len(payload)), SHA256: hex.EncodeToString(sum[:])}}}
	mb, _ := json.Marshal(m)
	env, err := update.Sign(key, mb)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.srv.PublishRelease(context.Background(), env.Marshal(), map[string]string{name: path}, nil, 0); err != nil {
		t.Fatal(err)
	}
	return payload
}

func TestUpdateCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a practice server")
	}
	l := newDoctorLane(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	setKeys := func(k ed25519.PrivateKey) {
		b, _ := os.ReadFile(l.config)
		s := strings.Split(string(b), "[updates]")[0]
		s += "[updates]\nrelease_keys = \"" + update.EncodePublicKey(k.Public().(ed25519.PublicKey)) + "\"\n"
		os.WriteFile(l.config, []byte(s), 0o600)
	}

	setKeys(key)
	r := invoke("--config", l.config, "update", "check")
	if r.code != 0 || !strings.Contains(r.stdout, "available: none") {
		t.Fatalf("no release: %d %s %s", r.code, r.stdout, r.stderr)
	}
	payload := publishTestRelease(t, l, key, "3.0.0")
	r = invoke("--config", l.config, "update", "check")
	if r.code != 0 || !strings.Contains(r.stdout, "available: 3.0.0+1") || !strings.Contains(r.stdout, "running:") {
		t.Fatalf("release published: %d %s %s", r.code, r.stdout, r.stderr)
	}
	dir := t.TempDir()
	r = invoke("--config", l.config, "update", "download", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "verified examlane 3.0.0+1") {
		t.Fatalf("download: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "examlane-3.0.0.bin")); err != nil || string(got) != string(payload) {
		t.Fatalf("staged file: %q %v", got, err)
	}

	// A lane that trusts another key refuses the release.
	setKeys(other)
	r = invoke("--config", l.config, "update", "check")
	if r.code != 1 || !strings.Contains(r.stdout, "signature does not verify") {
		t.Fatalf("untrusted signer: %d %s %s", r.code, r.stdout, r.stderr)
	}
	empty := t.TempDir()
	if r = invoke("--config", l.config, "update", "download", empty); r.code != 1 {
		t.Fatalf("download of an untrusted release: exit %d", r.code)
	}
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Fatalf("refused download left %d entries", len(ents))
	}
	if r = invoke("update", "download"); r.code != 2 {
		t.Fatalf("download without DIR: exit %d", r.code)
	}
}

func TestRunningRelease(t *testing.T) {
	v, built, from := runningRelease()
	if !v.Dev {
		t.Errorf("unstamped test binary: version %v, want dev", v)
	}
	if built.IsZero() || from == "" {
		t.Errorf("no build time (%v, %q)", built, from)
	}
	saved := buildDate
	buildDate = "2025-02-03T04:05:06Z"
	defer func() { buildDate = saved }()
	if _, built, from := runningRelease(); from != "build date" || built.Year() != 2025 {
		t.Errorf("stamped build date: %v %q", built, from)
	}
}

// TestUpdateNotice: what the administrator reads on the settings screen.
func TestUpdateNotice(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	built := now.Add(-40 * 24 * time.Hour)
	for _, tc := range []struct {
		name string
		st   update.Status
		want []string
	}{
		{"available", update.Status{Running: "0.1.0+1", RunningBuilt: built, BuiltFrom: "commit date", Available: "0.2.0+1",
			Published: now.Add(-72 * time.Hour), LastCheck: now},
			[]string{"Examlane 0.1.0+1, built 40 days ago (commit date)", "Version 0.2.0+1 is available (published 2026-11-20)", "examlane update download"}},
		{"failed", update.Status{Running: "0.1.0+1", LastCheck: now, LastError: "the practice server did not answer"},
			[]string{"Examlane 0.1.0+1.", "The last check for updates failed: the practice server did not answer"}},
		{"never checked", update.Status{Running: "0.1.0+1"}, []string{"Not yet checked for updates."}},
		{"up to date", update.Status{Running: "0.1.0+1", RunningBuilt: now.Add(-5 * time.Hour), BuiltFrom: "build date", LastCheck: now},
			[]string{"built 5 hours ago (build date)", "Up to date (checked "}},
	} {
		got := noticeOf(tc.st, now)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.name, got, w)
			}
		}
	}
}
