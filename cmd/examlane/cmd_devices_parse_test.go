package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// parseLines runs `devices parse` and decodes its JSON lines.
func parseLines(t *testing.T, stdin string, args ...string) (code int, reports []map[string]any, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	e := &env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut}
	code = dispatch(t.Context(), e, append([]string{"devices", "parse"}, args...))
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stdout line is not JSON: %v\n%s", err, line)
		}
		reports = append(reports, m)
	}
	return code, reports, errOut.String()
}

// fixtures returns the real device captures folder, skipping when absent.
func fixtures(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "fixtures", "devices")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real device fixtures not available (%s absent)", dir)
	}
	return dir
}

func readings(r map[string]any) []map[string]any {
	var out []map[string]any
	for _, x := range r["readings"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

func TestDevicesParseRealFixtures(t *testing.T) {
	dir := fixtures(t)
	tests := []struct {
		file, format string
		captures     int
		check        func(t *testing.T, rs []map[string]any)
	}{
		{"nidek_rt5100_rt-to-pc-stream-2016-08.bin", "nidek-rt", 2, func(t *testing.T, rs []map[string]any) {
			// The first print's final Rx: R -12.00 -1.75 x050 add +5.50.
			for _, r := range readings(rs[0]) {
				if r["source"] == "final" && r["kind"] == "refraction" && r["eye"] == "R" && r["distance"] == nil {
					if r["sphere"] != -12.0 || r["cylinder"] != -1.75 || r["axis"] != 50.0 || r["add"] != 5.5 || r["cylinder_mode"] != "-" {
						t.Errorf("final R = %v", r)
					}
					return
				}
			}
			t.Error("no final R refraction")
		}},
		{"nidek_rt3100_final-rx-capture-1.hex", "nidek-rt", 1, func(t *testing.T, rs []map[string]any) {
			if rs[0]["device_time"] != "2002-06-16T00:00:00"+localOffset(2002, 6, 16) || rs[0]["model"] != "RT-3100" {
				t.Errorf("report %v", rs[0])
			}
		}},
		{"nidek_lm1000p_lm-progressive-rl-manual-example.hex", "nidek-dblock", 1, func(t *testing.T, rs []map[string]any) {
			r := readings(rs[0])[0]
			if r["kind"] != "lensometry" || r["sphere"] != -1.25 || r["prism_h"] != 2.5 || r["prism_h_base"] != "in" || r["prism_v_base"] != "down" {
				t.Errorf("LM R = %v", r)
			}
		}},
		{"topcon_kr800s_ref-km-sbj-joia-sjis-2013.xml", "joia", 1, nil},
		{"topcon_trk2p_ref-km-tm-joia-2013.xml", "joia", 1, nil},
		{"topcon_ct800a_tm-joia-1.xml", "joia", 1, nil},
		{"topcon_cl300_lm-joia-1.xml", "joia", 1, nil},
		{"nidek_lm7_lm-lan.xml", "nidek-xml", 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			code, rs, stderr := parseLines(t, "", path)
			if code != 0 || stderr != "" || len(rs) != tc.captures {
				t.Fatalf("exit %d, %d reports, stderr %q", code, len(rs), stderr)
			}
			for _, r := range rs {
				if r["format"] != tc.format || r["file"] != path || len(readings(r)) == 0 {
					t.Errorf("report %v", r)
				}
			}
			if tc.check != nil {
				tc.check(t, rs)
			}
		})
	}
}

// localOffset is the RFC 3339 zone suffix of a local date (device clocks
// are read as local wall time).
func localOffset(y, m, d int) string {
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.Local).Format("Z07:00")
}

func TestDevicesParseSyntheticAndErrors(t *testing.T) {
	rt := filepath.Join("..", "..", "devices", "codec", "nidekrt", "testdata", "rt3100-two-frames-noise-truncated.bin")
	dcs := filepath.Join("..", "..", "devices", "codec", "dcs", "testdata", "lensmeter-session.bin")
	junk := filepath.Join(t.TempDir(), "junk.txt")
	os.WriteFile(junk, []byte("this is not instrument output\n"), 0o644)
	missing := filepath.Join(t.TempDir(), "absent.bin")

	code, rs, stderr := parseLines(t, "", rt, junk, missing, dcs)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	// rt: 2 good frames + 1 unfinished; dcs: 3 good + a bad CRC + 1 unfinished.
	if len(rs) != 5 {
		t.Errorf("%d reports, want 5", len(rs))
	}
	for _, want := range []string{
		rt + ": frame 3: frame never finished",
		junk + ": format not recognised",
		missing + ": no such file or directory",
		dcs + ": frame 3: dcs: CRC mismatch",
		dcs + ": frame 5: frame never finished",
		"4 of 4 inputs had errors",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestDevicesParseFormatsAndStdin(t *testing.T) {
	hexRT := "01 4E 49 44 45 4B 20 52 54 2D 33 31 30 30 0D 02 40 52 54 0D 02 46 52 2D 20 31 2E 35 30 2D 20 30 2E 37 35 31 38 30 0D 04 0D\n"
	code, rs, stderr := parseLines(t, hexRT, "-")
	if code != 0 || len(rs) != 1 || rs[0]["format"] != "nidek-rt" || rs[0]["file"] != "-" {
		t.Fatalf("stdin hex: exit %d %v %q", code, rs, stderr)
	}
	if r := readings(rs[0])[0]; r["sphere"] != -1.5 || r["axis"] != 180.0 {
		t.Errorf("reading %v", r)
	}
	// Forcing the wrong dialect fails cleanly.
	code, rs, stderr = parseLines(t, hexRT, "--format", "joia", "-")
	if code != 1 || len(rs) != 0 || !strings.Contains(stderr, "-: joia:") {
		t.Errorf("wrong format: exit %d %v %q", code, rs, stderr)
	}
	if code, _, stderr := parseLines(t, "", "--format", "vca", "x"); code != 2 || !strings.Contains(stderr, "unknown --format") {
		t.Errorf("bad --format: exit %d %q", code, stderr)
	}
	if code, _, stderr := parseLines(t, ""); code != 2 || !strings.Contains(stderr, "FILE") {
		t.Errorf("no file: exit %d %q", code, stderr)
	}
}
