package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "Usage: devsim --profile NAME"},
		{nil, 2, "--profile is required"},
		{[]string{"--profile", "nope"}, 1, "not found"},
		{[]string{"--profile", "nidek-rt5100", "--bad-checksum"}, 1, "carry no checksum"},
		{[]string{"--profile", "topcon-kr1"}, 1, "give --folder"},
		{[]string{"--profile", "nidek-lm7", "--folder", "x"}, 1, "replay a capture instead"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		code := run(ctx, tt.args, strings.NewReader(""), &out, &errOut, nil)
		cancel()
		if code != tt.code || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%v: code %d stderr %q; want %d and %q", tt.args, code, errOut.String(), tt.code, tt.want)
		}
	}
}

// TestRunFileDrop writes three JOIA files on an interval and exits.
func TestRunFileDrop(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code := run(ctx, []string{"--profile", "topcon-cl300", "--folder", dir, "--count", "3", "--interval", "20ms", "--linger", "10ms", "--json", "--seed", "4"},
		strings.NewReader(""), &out, &errOut, nil)
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut.String())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*TOPCON_CL-300*.xml"))
	if len(files) != 3 {
		t.Fatalf("%d files: %s", len(files), out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[0] != "folder: "+dir || len(lines) != 4 {
		t.Fatalf("stdout %q", out.String())
	}
	var s sentLine
	if err := json.Unmarshal([]byte(lines[1]), &s); err != nil || s.Expect != "intact" || s.File == "" {
		t.Fatalf("line %q: %v", lines[1], err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, s.File))
	if !bytes.Contains(data, []byte("<nsLM:Sphere")) {
		t.Errorf("file %s is not a lensmeter export", s.File)
	}
}

// TestRunStdinMeasure sends a measurement per stdin line on a pty and
// quits on "q".
func TestRunStdinMeasure(t *testing.T) {
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code := run(ctx, []string{"--profile", "nidek-lm1000", "--seed", "2"}, &slowReader{lines: []string{"m\n", "measure\n", "\n", "q\n"}}, &out, &errOut, nil)
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut.String())
	}
	if n := strings.Count(out.String(), "the lane should accept it"); n != 3 {
		t.Errorf("%d measurements sent:\n%s", n, out.String())
	}
}

// slowReader hands out one line per read with a pause, like a person.
type slowReader struct{ lines []string }

func (r *slowReader) Read(p []byte) (int, error) {
	time.Sleep(150 * time.Millisecond) // time for the previous line's frame to go out
	if len(r.lines) == 0 {
		time.Sleep(time.Hour)
	}
	n := copy(p, r.lines[0])
	r.lines = r.lines[1:]
	return n, nil
}
