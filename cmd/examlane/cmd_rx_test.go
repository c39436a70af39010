package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var updateRx = flag.Bool("update-rx", false, "rewrite the golden files in testdata/rx")

// dispatchRx runs args through dispatch with captured streams.
func dispatchRx(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	e := &env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}
	code = dispatch(context.Background(), e, args)
	return code, out.String(), errOut.String()
}

func TestRxVerifyGolden(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
		pass   bool
	}{
		{"sv-pass", []string{"--lens", "sv",
			"--ordered", "R: -2.25 -0.75 x 180; L: -2.00 -0.50 x 170",
			"--measured", "R: -2.25 -0.75 x 180; L: -2.00 -0.50 x 170"}, true},
		// Measured in plus cylinder, at the tolerance edges: R cylinder off
		// by exactly 0.13 D (passes), L axis 3° off a -1.00 cylinder (passes).
		{"sv-plus-cyl-edges", []string{"--lens", "sv",
			"--ordered", "R: -4.00 -1.00 x 90; L: +1.25 -1.00 x 179",
			"--measured", "OD: -5.13 +1.13 x 180; OS: +0.25 +1.00 x 92"}, true},
		// High power: 2 % sphere row, 4 % cylinder row, Prentice prism rows.
		{"multifocal-high-power", []string{"--lens", "multifocal",
			"--ordered", "R: -9.00 -5.00 x 180 add +2.50; L: -8.50 -4.75 x 5 add +2.50",
			"--measured", "R: -9.18 -5.21 x 179 add +2.62 0.5 BU; L: -8.50 -4.75 x 5 add +2.50"}, false},
		{"pal-fail", []string{"--lens", "pal",
			"--ordered", "R: -2.25 -0.75 x 180 add +2.00; L: -2.00 -0.50 x 170 add +2.00",
			"--measured", "R: -3.00 +0.75 x 90 add +2.25 1 BU; L: -2.17 -0.50 x 178 add +2.00 1 BD"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			code, stdout, stderr := dispatchRx(append([]string{"rx", "verify"}, tt.args...)...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
			}
			if got["pass"] != tt.pass {
				t.Errorf("pass = %v, want %v", got["pass"], tt.pass)
			}
			path := filepath.Join("testdata", "rx", tt.golden+".json")
			if *updateRx {
				if err := os.WriteFile(path, []byte(stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update-rx to create it)", err)
			}
			if stdout != string(want) {
				t.Errorf("output differs from %s:\n%s", path, stdout)
			}
		})
	}
}

// TestRxVerifyContract checks the JSON shape exactly: field names, types
// and allowed values.
func TestRxVerifyContract(t *testing.T) {
	code, stdout, _ := dispatchRx("rx", "verify", "--lens", "pal",
		"--ordered", "R: -2.25 -0.75 x 180 add +2.00; L: -2.00 -0.50 x 170 add +2.00",
		"--measured", "R: -2.25 -0.75 x 180 add +2.00 0.5 BI; L: -2.00 -0.50 x 170 add +2.00 0.5 BI")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	var report map[string]json.RawMessage
	if err := dec.Decode(&report); err != nil {
		t.Fatal(err)
	}
	if dec.More() {
		t.Fatal("more than one JSON value on stdout")
	}
	if keys := sortedKeys(report); !reflect.DeepEqual(keys, []string{"checks", "pass"}) {
		t.Fatalf("top-level keys = %v", keys)
	}
	var checks []map[string]any
	if err := json.Unmarshal(report["checks"], &checks); err != nil {
		t.Fatal(err)
	}
	want := []string{"R sphere", "R cylinder", "R axis", "R add", "L sphere", "L cylinder", "L axis", "L add", "pair prism_h", "pair prism_v"}
	if len(checks) != len(want) {
		t.Fatalf("%d checks, want %d", len(checks), len(want))
	}
	for i, c := range checks {
		if keys := sortedKeys(c); !reflect.DeepEqual(keys, []string{"difference", "eye", "measured", "ordered", "parameter", "pass", "rule", "tolerance"}) {
			t.Fatalf("check keys = %v", keys)
		}
		if got := c["eye"].(string) + " " + c["parameter"].(string); got != want[i] {
			t.Errorf("check %d = %s, want %s", i, got, want[i])
		}
		for _, k := range []string{"ordered", "measured", "difference", "tolerance"} {
			if _, ok := c[k].(float64); !ok {
				t.Errorf("%s %s is %T, want a number", want[i], k, c[k])
			}
		}
		if _, ok := c["pass"].(bool); !ok {
			t.Errorf("pass is %T", c["pass"])
		}
	}
	// Values are decimal units, not fixed-point integers.
	if checks[0]["ordered"] != -3.0 || checks[1]["ordered"] != -0.75 || checks[2]["ordered"] != 180.0 || checks[3]["tolerance"] != 0.12 {
		t.Errorf("values: %v %v %v %v", checks[0]["ordered"], checks[1]["ordered"], checks[2]["ordered"], checks[3]["tolerance"])
	}
	if checks[8]["measured"] != 1.0 || checks[8]["pass"] != false || checks[8]["tolerance"] != 0.67 {
		t.Errorf("prism_h = %v", checks[8])
	}
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func TestRxVerifyUsageErrors(t *testing.T) {
	good := "R: -1.00; L: -1.00"
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"missing lens", []string{"--ordered", good, "--measured", good}, "--lens is required"},
		{"bad lens", []string{"--lens", "bifocal", "--ordered", good, "--measured", good}, `--lens "bifocal"`},
		{"missing ordered", []string{"--lens", "sv", "--measured", good}, "--ordered is required"},
		{"missing measured", []string{"--lens", "sv", "--ordered", good}, "--measured is required"},
		{"bad ordered token", []string{"--lens", "sv", "--ordered", "R: -1.00 -0.50 x 181; L: -1.00", "--measured", good}, `--ordered: rx notation: "181" at column 18: axis outside 0..180`},
		{"bad measured token", []string{"--lens", "sv", "--ordered", good, "--measured", "R: -1.00 zz; L: -1.00"}, `"zz" at column 10: unknown token`},
		{"cylinder without axis", []string{"--lens", "sv", "--ordered", "R: -1.00 -0.50; L: pl", "--measured", good}, `"-0.50" at column 10: cylinder without axis`},
		{"missing eye", []string{"--lens", "sv", "--ordered", "R: -1.00", "--measured", good}, "missing left eye"},
		{"pal without add", []string{"--lens", "pal", "--ordered", good, "--measured", good}, "needs an add"},
		{"extra argument", []string{"--lens", "sv", "--ordered", good, "--measured", good, "extra"}, `unexpected argument "extra"`},
		{"unknown flag", []string{"--lens", "sv", "--bogus"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := dispatchRx(append([]string{"rx", "verify"}, tt.args...)...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if !strings.Contains(stderr, tt.want) || !strings.HasPrefix(stderr, "examlane rx verify: ") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line containing %q", stderr, tt.want)
			}
		})
	}
}

func TestRxConvert(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string // stdout, or a stderr substring when code != 0
	}{
		{[]string{"--to", "plus", "--", "-2.25 -0.75 x 180"}, 0, "-3.00 +0.75 x 090\n"},
		{[]string{"--to", "plus", "--", "-2.25", "-0.75", "x", "180"}, 0, "-3.00 +0.75 x 090\n"},
		{[]string{"--to", "minus", "+1.00 +0.50 x 90"}, 0, "+1.50 -0.50 x 180\n"},
		{[]string{"--to", "minus", "--", "-2.00 -0.50 x 10"}, 0, "-2.00 -0.50 x 010\n"},
		{[]string{"--to", "minus", "R: -3.00 +0.75 x 90 add +2.00; L: pl +1.00 x 180"}, 0, "R: -2.25 -0.75 x 180 add +2.00; L: +1.00 -1.00 x 090\n"},
		{[]string{"--to", "plus", "plano"}, 0, "pl\n"},
		{[]string{"--to", "sideways", "pl"}, 2, `--to "sideways"`},
		{[]string{"pl"}, 2, "--to is required"},
		{[]string{"--to", "plus"}, 2, "a prescription is required"},
		{[]string{"--to", "plus", "--", "-2.25 -0.75"}, 2, `"-0.75" at column 7: cylinder without axis`},
		{[]string{"--to", "plus", "R: -1.00"}, 2, "missing left eye"},
	}
	for _, tt := range tests {
		code, stdout, stderr := dispatchRx(append([]string{"rx", "convert"}, tt.args...)...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tt.args, code, tt.code, stderr)
			continue
		}
		if tt.code == 0 && stdout != tt.out {
			t.Errorf("%v: stdout %q, want %q", tt.args, stdout, tt.out)
		}
		if tt.code != 0 && !strings.Contains(stderr, tt.out) {
			t.Errorf("%v: stderr %q, want %q", tt.args, stderr, tt.out)
		}
	}
}

func TestRxVertex(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--from", "12", "--to", "0", "--", "-10.00"}, 0, "-8.929 DS\n"},
		{[]string{"--from", "12", "--to", "0", "--round", "0.25", "--", "-10.00"}, 0, "-9.00 DS\n"},
		{[]string{"--from", "12", "--to", "0", "+10.00"}, 0, "+11.364 DS\n"},
		{[]string{"--from", "12", "--to", "0", "--round", "0.25", "--", "-6.00 -2.00 x 180"}, 0, "-5.50 -1.75 x 180\n"},
		{[]string{"--from", "12", "--to", "0", "R: -10.00; L: +10.00 add +2.00"}, 0, "R: -8.929 DS; L: +11.364 DS add +2.00\n"},
		{[]string{"--from", "0", "--to", "12", "--round", "0.125", "--", "-8.93"}, 0, "-10.00 DS\n"},
		{[]string{"--to", "0", "pl"}, 2, "--from is required"},
		{[]string{"--from", "12", "pl"}, 2, "--to is required"},
		{[]string{"--from", "twelve", "--to", "0", "pl"}, 2, `--from "twelve"`},
		{[]string{"--from", "-1", "--to", "0", "pl"}, 2, "want 0 to 50 mm"},
		{[]string{"--from", "60", "--to", "0", "pl"}, 2, "want 0 to 50 mm"},
		{[]string{"--from", "12", "--to", "0", "--round", "2", "pl"}, 2, "--round"},
		{[]string{"--from", "12", "--to", "0", "--round", "x", "pl"}, 2, "--round"},
		{[]string{"--from", "12", "--to", "0", "+30.00"}, 2, "value out of range"},
		{[]string{"--from", "50", "--to", "0", "R: pl; L: +25"}, 2, "left eye"},
		{[]string{"--from", "12", "--to", "0", "+1.00 x 90"}, 2, "axis without cylinder"},
	}
	for _, tt := range tests {
		code, stdout, stderr := dispatchRx(append([]string{"rx", "vertex"}, tt.args...)...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tt.args, code, tt.code, stderr)
			continue
		}
		if tt.code == 0 && stdout != tt.out {
			t.Errorf("%v: stdout %q, want %q", tt.args, stdout, tt.out)
		}
		if tt.code != 0 && !strings.Contains(stderr, tt.out) {
			t.Errorf("%v: stderr %q, want %q", tt.args, stderr, tt.out)
		}
	}
}

func TestRxHelp(t *testing.T) {
	code, stdout, _ := dispatchRx("rx", "--help")
	if code != 0 || !strings.Contains(stdout, "verify") || !strings.Contains(stdout, "convert") || !strings.Contains(stdout, "vertex") {
		t.Errorf("rx --help: %d %q", code, stdout)
	}
	code, stdout, _ = dispatchRx("rx", "verify", "--help")
	if code != 0 || !strings.Contains(stdout, "--measured") || !strings.Contains(stdout, "Z80.1-2015") {
		t.Errorf("rx verify --help: %d %q", code, stdout)
	}
}
