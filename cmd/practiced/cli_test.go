package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// practiced runs one command line.
func practiced(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{nil, 0, "usage: practiced COMMAND"},
		{[]string{"--help"}, 0, "enroll-code"},
		{[]string{"bogus"}, 2, ""},
		{[]string{"init", "--help"}, 0, "--tenant ID"},
		{[]string{"user", "add", "-h"}, 0, "technician, optometrist, optician, front-desk, admin"},
		{[]string{"init"}, 2, ""},
		{[]string{"init", "--nope"}, 2, ""},
		{[]string{"init", "--data", "x", "--tenant", "t", "--name", "n", "extra"}, 2, ""},
		{[]string{"seed", "--data", "x", "--tenant", "t"}, 1, ""}, // opening x fails before the --demo check
		{[]string{"lane", "revoke", "--data", "x"}, 1, ""},
	} {
		code, out, _ := practiced(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.out) {
			t.Errorf("practiced %v: exit %d, want %d; stdout %q", tc.args, code, tc.code, out)
		}
	}
	// Every command answers --help with exit 0.
	for _, c := range commands {
		if code, out, _ := practiced(t, append(strings.Fields(c.path), "--help")...); code != 0 || !strings.Contains(out, "usage: practiced "+c.path) {
			t.Errorf("%s --help: exit %d %q", c.path, code, out)
		}
	}
}

func TestCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	mustRun := func(want int, args ...string) string {
		t.Helper()
		code, out, errs := practiced(t, args...)
		if code != want {
			t.Fatalf("practiced %v: exit %d, want %d\n%s%s", args, code, want, out, errs)
		}
		return out
	}
	mustRun(0, "init", "--data", dir, "--tenant", "demo", "--name", "Demo Eye Care", "--host", "practice.example")
	mustRun(1, "init", "--data", dir, "--tenant", "demo", "--name", "Demo Eye Care") // refuses to clobber
	mustRun(0, "tenant", "add", "--data", dir, "--tenant", "second", "--name", "Second Practice", "--location", "Harbour")
	mustRun(1, "tenant", "add", "--data", dir, "--tenant", "second", "--name", "Again")
	if out := mustRun(0, "tenant", "list", "--data", dir); !strings.Contains(out, "second") || !strings.Contains(out, "Demo Eye Care") {
		t.Errorf("tenant list: %s", out)
	}
	code := strings.TrimSpace(mustRun(0, "enroll-code", "--data", dir, "--tenant", "demo", "--location", "Main", "--lane", "Lane 1"))
	if !regexp.MustCompile(`^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$`).MatchString(code) {
		t.Errorf("enroll-code printed %q", code)
	}
	mustRun(1, "enroll-code", "--data", dir, "--tenant", "demo", "--location", "Harbour", "--lane", "L") // another practice's location
	mustRun(2, "enroll-code", "--data", dir, "--tenant", "demo", "--location", "Main")
	out := mustRun(0, "user", "add", "--data", dir, "--tenant", "demo", "--name", "Sam Synthetic", "--role", "technician", "--role", "optician", "--location", "Main", "--login", "sam")
	id := strings.Fields(out)[2]
	mustRun(2, "user", "add", "--data", dir, "--tenant", "demo", "--name", "No Role")
	mustRun(2, "user", "add", "--data", dir, "--tenant", "demo", "--name", "Bad Role", "--role", "surgeon")
	mustRun(1, "user", "add", "--data", dir, "--tenant", "demo", "--name", "Same Login", "--role", "admin", "--login", "sam")
	mustRun(0, "user", "disable", "--data", dir, "--tenant", "demo", "--id", id)
	mustRun(1, "user", "disable", "--data", dir, "--tenant", "demo", "--id", "nobody")
	if out := mustRun(0, "user", "list", "--data", dir, "--tenant", "demo"); !strings.Contains(out, "technician,optician") || !strings.Contains(out, "disabled") {
		t.Errorf("user list: %s", out)
	}
	if out := mustRun(0, "lane", "list", "--data", dir); !strings.HasPrefix(out, "LANE ID") || strings.Count(out, "\n") != 1 {
		t.Errorf("lane list with no lanes: %q", out)
	}
	mustRun(1, "lane", "revoke", "--data", dir, "--lane", "no-such-lane")
	mustRun(2, "seed", "--data", dir, "--tenant", "demo")
	out = mustRun(0, "seed", "--demo", "--data", dir, "--tenant", "demo", "--patients", "6", "--appointments", "4", "--images", "2")
	for _, want := range []string{"patients 6", "today's appointments 4", "2 DICOM OP instances", "2 JPEG photos", "synthetic"} {
		if !strings.Contains(out, want) {
			t.Errorf("seed output lacks %q:\n%s", want, out)
		}
	}
	mustRun(1, "seed", "--demo", "--data", dir, "--tenant", "demo", "--patients", "1")
}

func TestServe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if code, _, errs := practiced(t, "init", "--data", dir, "--tenant", "demo", "--name", "Demo"); code != 0 {
		t.Fatal(errs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}, io.Discard, &stderr)
	}()
	re := regexp.MustCompile(`serving (https://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("serve did not start: %s", stderr.String())
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}}}
	for path, want := range map[string]int{"/healthz": 200, "/fhir/R4/metadata": 200, "/fhir/R4/Patient": 401} {
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	// TLS 1.2 is refused.
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}}}
	if resp, err := old.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("TLS 1.2 accepted")
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	if strings.Contains(stderr.String(), "?") && strings.Contains(stderr.String(), "identifier=") {
		t.Error("query strings logged")
	}
}
