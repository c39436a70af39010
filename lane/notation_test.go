package lane_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/examlane/examlane/lane"
)

func withAdd(r lane.Refraction, add float64) lane.Refraction {
	r.Add = lane.MustDiopters(add)
	return r
}

func withPrism(r lane.Refraction, p lane.Prism) lane.Refraction {
	r.Prism = p
	return r
}

func TestParseRx(t *testing.T) {
	bi05 := lane.Prism{H: 500, HBase: lane.BaseIn}
	tests := []struct {
		in   string
		want lane.Refraction
		fmt  string // FormatRx of the result
	}{
		{"-2.25 -0.75 x 180", rx(-2.25, -0.75, 180), "-2.25 -0.75 x 180"},
		{"-2.25 -0.75 x180", rx(-2.25, -0.75, 180), "-2.25 -0.75 x 180"},
		{"-2.25/-0.75x180", rx(-2.25, -0.75, 180), "-2.25 -0.75 x 180"},
		{"-2.25 / -0.75 X 180", rx(-2.25, -0.75, 180), "-2.25 -0.75 x 180"},
		{"-2.25-0.75x180", rx(-2.25, -0.75, 180), "-2.25 -0.75 x 180"},
		{"−2.25 −0.75 × 180", rx(-2.25, -0.75, 180), "-2.25 -0.75 x 180"},
		{"-2.25 -0.75 x 0", rx(-2.25, -0.75, 180), "-2.25 -0.75 x 180"},
		{"-2.25 -0.75 x 005", rx(-2.25, -0.75, 5), "-2.25 -0.75 x 005"},
		{"pl -1.00 x 90", rx(0, -1, 90), "pl -1.00 x 090"},
		{"PL -1.00 x 90", rx(0, -1, 90), "pl -1.00 x 090"},
		{"plano", rx(0, 0, 0), "pl"},
		{"Plano", rx(0, 0, 0), "pl"},
		{"0.00", rx(0, 0, 0), "pl"},
		{"+1.50 DS", rx(1.5, 0, 0), "+1.50 DS"},
		{"+1.50 sph", rx(1.5, 0, 0), "+1.50 DS"},
		{"+1.50", rx(1.5, 0, 0), "+1.50 DS"},
		{"1.50", rx(1.5, 0, 0), "+1.50 DS"},
		{".5", rx(0.5, 0, 0), "+0.50 DS"},
		{"-2.", rx(-2, 0, 0), "-2.00 DS"},
		{"+1.50DS", rx(1.5, 0, 0), "+1.50 DS"},
		{"-0.125 -0.01 x 93", rx(-0.125, -0.01, 93), "-0.125 -0.01 x 093"},
		{"+1.00 +0.50 x 90", rx(1, 0.5, 90), "+1.00 +0.50 x 090"}, // plus cylinder kept
		{"-2.00 -0.00 x 180", rx(-2, 0, 0), "-2.00 DS"},           // zero cylinder
		{"-2.00 0 x 180", rx(-2, 0, 0), "-2.00 DS"},
		{"+1.00 add +2.00", withAdd(rx(1, 0, 0), 2), "+1.00 DS add +2.00"},
		{"+1.00 ADD 2.00", withAdd(rx(1, 0, 0), 2), "+1.00 DS add +2.00"},
		{"+1.00 Add +4.75", withAdd(rx(1, 0, 0), 4.75), "+1.00 DS add +4.75"},
		{"+1.00 add +5.00", withAdd(rx(1, 0, 0), 5), "+1.00 DS add +5.00"},
		{"pl add +0.00", rx(0, 0, 0), "pl"},
		{"-2.25 -0.75 x 180 add +2.00 0.5 BI", withPrism(withAdd(rx(-2.25, -0.75, 180), 2), bi05), "-2.25 -0.75 x 180 add +2.00 0.50Δ BI"},
		{"-2.25 -0.75 x 180 0.5 BI add +2.00", withPrism(withAdd(rx(-2.25, -0.75, 180), 2), bi05), "-2.25 -0.75 x 180 add +2.00 0.50Δ BI"},
		{"pl 2Δ BI", withPrism(rx(0, 0, 0), lane.Prism{H: 2000, HBase: lane.BaseIn}), "pl 2.00Δ BI"},
		{"pl 2∆BI", withPrism(rx(0, 0, 0), lane.Prism{H: 2000, HBase: lane.BaseIn}), "pl 2.00Δ BI"},
		{"pl 2^ BI", withPrism(rx(0, 0, 0), lane.Prism{H: 2000, HBase: lane.BaseIn}), "pl 2.00Δ BI"},
		{"pl 2 pd BI", withPrism(rx(0, 0, 0), lane.Prism{H: 2000, HBase: lane.BaseIn}), "pl 2.00Δ BI"},
		{"pl 2 BU", withPrism(rx(0, 0, 0), lane.Prism{V: 2000, VBase: lane.BaseUp}), "pl 2.00Δ BU"},
		{"-1.00 DS 1.5 BO 1 BD", withPrism(rx(-1, 0, 0), lane.Prism{H: 1500, HBase: lane.BaseOut, V: 1000, VBase: lane.BaseDown}), "-1.00 DS 1.50Δ BO 1.00Δ BD"},
		{"-1.00 1 bd 1.5 bo", withPrism(rx(-1, 0, 0), lane.Prism{H: 1500, HBase: lane.BaseOut, V: 1000, VBase: lane.BaseDown}), "-1.00 DS 1.50Δ BO 1.00Δ BD"},
		{"-1.00 0.125 BI", withPrism(rx(-1, 0, 0), lane.Prism{H: 125, HBase: lane.BaseIn}), "-1.00 DS 0.125Δ BI"},
		{"-1.00 0 BI", rx(-1, 0, 0), "-1.00 DS"},
		{"+30.00", rx(30, 0, 0), "+30.00 DS"},
		{"-30 -15 x 1", rx(-30, -15, 1), "-30.00 -15.00 x 001"},
		{"  -1.00\t-0.50 x 10  ", rx(-1, -0.5, 10), "-1.00 -0.50 x 010"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := lane.ParseRx(tt.in)
			if err != nil {
				t.Fatalf("ParseRx(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseRx(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if f := lane.FormatRx(got); f != tt.fmt {
				t.Errorf("FormatRx = %q, want %q", f, tt.fmt)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("parsed value invalid: %v", err)
			}
		})
	}
}

func TestParseRxPlusCylinderConvention(t *testing.T) {
	r, err := lane.ParseRx("-3.00 +0.75 x 90")
	if err != nil {
		t.Fatal(err)
	}
	if r.CylinderConvention() != lane.PlusCylinder {
		t.Fatalf("convention = %s, want +", r.CylinderConvention())
	}
	if got := lane.FormatRx(r.ToMinusCylinder()); got != "-2.25 -0.75 x 180" {
		t.Errorf("ToMinusCylinder = %q", got)
	}
}

func TestParseRxErrors(t *testing.T) {
	tests := []struct {
		in    string
		token string
		pos   int
		msg   string
		rng   bool // wraps ErrRange too
	}{
		{"", "", 1, "empty prescription", false},
		{"   ", "", 4, "empty prescription", false},
		{"-2.25 -0.75", "-0.75", 7, "cylinder without axis", false},
		{"-2.25 -0.75 180", "-0.75", 7, "cylinder without axis", false},
		{"-2.25 x 180", "x", 7, "axis without cylinder", false},
		{"-2.25 DS x 180", "x", 10, "axis without cylinder", false},
		{"-2.25 -0.75 x", "", 14, "expected a number for the axis", false},
		{"-2.25 -0.75 x 181", "181", 15, "axis outside 0..180", true},
		{"-2.25 -0.75 x -5", "-5", 15, "whole degrees", false},
		{"-2.25 -0.75 x 90.5", "90.5", 15, "whole degrees", false},
		{"-2.25 -0.75 x 180 x 90", "x", 19, "second axis", false},
		{"-2.25 0.75 x 180", "0.75", 7, "explicit sign", false},
		{"-30.25", "-30.25", 1, "sphere outside", true},
		{"+31", "+31", 1, "sphere outside", true},
		{"-2.00 -15.25 x 90", "-15.25", 7, "cylinder outside", true},
		{"-2.00 add +5.25", "+5.25", 11, "add outside", true},
		{"-2.00 add -1.00", "-1.00", 11, "add outside", true},
		{"-2.00 add", "", 10, "expected a number for the add", false},
		{"-2.00 add +1 add +1", "add", 14, "second add", false},
		{"-2.00 30.5 BI", "30.5", 7, "prism outside", true},
		{"-2.00 -1 BI", "-1", 7, "cannot be negative", true},
		{"-2.00 1 BI 2 BO", "BO", 14, "second horizontal", false},
		{"-2.00 1 BU 2 BD", "BD", 14, "second vertical", false},
		{"-2.00 2Δ", "", 9, "expected a prism base", false},
		{"-2.00 2Δ BX", "BX", 10, "expected a prism base", false},
		{"-2.00 foo", "foo", 7, "unknown token", false},
		{"-2.00 -0.50 x 90 1", "1", 18, "unexpected number", false},
		{"-2.00 DS -0.50 x 90", "-0.50", 10, "cylinder after DS", false},
		{"-2.00 DS / -0.50 x 90", "/", 10, "after DS", false},
		{"-2.00 / BI", "BI", 9, "expected a cylinder after /", false},
		{"-2.00 add +1 -0.50 x 90", "-0.50", 14, "cylinder must follow the sphere", false},
		{"x 180", "x", 1, "expected a sphere", false},
		{"add +2.00", "add", 1, "expected a sphere", false},
		{"0.5 BI", "0.5", 1, "expected a sphere", false},
		{"-2.2.5", "-2.2.5", 1, "malformed number", false},
		{"-2.2501", "-2.2501", 1, "three decimals", false},
		{"-12345", "-12345", 1, "too large", false},
		{"+", "+", 1, "not a number", false},
		{"-2.00 @ 90", "@", 7, "unexpected character", false},
		{"−2.00 é", "é", 7, "unexpected character", false},
		{"-2.00 \xff", "\uFFFD", 7, "unexpected character", false},
		{"R: -2.00", ":", 2, "ParsePair", false},
		{"-2.00; -1.00", ";", 6, "ParsePair", false},
		{"-2.00 <", "<", 7, "unknown token", false},
		{strings.Repeat("-1 ", 100), "…", 257, "longer than", false},
		{"a" + strings.Repeat("é", 200), "…", 129, "longer than", false}, // byte 256 is inside a rune
		{"-2.00 1.2.3 BI", "1.2.3", 7, "prism: malformed number", false},
		{"-2.00 -1.2.3 x 90", "-1.2.3", 7, "cylinder: malformed number", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := lane.ParseRx(tt.in)
			var ne *lane.NotationError
			if !errors.As(err, &ne) {
				t.Fatalf("ParseRx(%q) err = %v, want *NotationError", tt.in, err)
			}
			if !errors.Is(err, lane.ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			if errors.Is(err, lane.ErrRange) != tt.rng {
				t.Errorf("errors.Is(ErrRange) = %v, want %v", !tt.rng, tt.rng)
			}
			if ne.Token != tt.token || ne.Pos != tt.pos || !strings.Contains(ne.Msg, tt.msg) {
				t.Errorf("ParseRx(%q) = token %q pos %d msg %q; want token %q pos %d msg containing %q",
					tt.in, ne.Token, ne.Pos, ne.Msg, tt.token, tt.pos, tt.msg)
			}
			if tt.token != "" && !strings.Contains(err.Error(), tt.token) {
				t.Errorf("message %q does not name the token %q", err, tt.token)
			}
		})
	}
}

func TestNotationErrorMessage(t *testing.T) {
	_, err := lane.ParseRx("-2.25 -0.75 x 181")
	if got := err.Error(); got != `rx notation: "181" at column 15: axis outside 0..180` {
		t.Errorf("Error() = %q", got)
	}
	_, err = lane.ParseRx("-2.25 -0.75 x")
	if got := err.Error(); got != "rx notation: at end of input (column 14): expected a number for the axis" {
		t.Errorf("Error() = %q", got)
	}
}

func TestParsePair(t *testing.T) {
	right, left := rx(-2, -0.5, 180), rx(-1.75, 0, 0)
	tests := []string{
		"R: -2.00 -0.50 x 180; L: -1.75 DS",
		"L: -1.75 DS; R: -2.00 -0.50 x 180",
		"OD: -2.00 -0.50 x 180; OS: -1.75",
		"od -2.00 -0.50 x 180 os -1.75",
		"R -2.00/-0.50x180\nL -1.75 sph",
		"right: -2.00 -0.50 x 180;left: -1.75;",
		";;R:-2.00 -0.50 x 180;;L:-1.75",
	}
	for _, in := range tests {
		got, err := lane.ParsePair(in)
		if err != nil {
			t.Errorf("ParsePair(%q): %v", in, err)
			continue
		}
		if got.Right != right || got.Left != left {
			t.Errorf("ParsePair(%q) = %+v", in, got)
		}
		if s := got.String(); s != "R: -2.00 -0.50 x 180; L: -1.75 DS" {
			t.Errorf("String = %q", s)
		}
	}
	p, err := lane.ParsePair("R: -3.00 +0.75 x 90 add 2 1 BU; L: pl +1.00 x 180 add 2 1 BD")
	if err != nil {
		t.Fatal(err)
	}
	if p.Right.CylinderConvention() != lane.PlusCylinder {
		t.Error("plus cylinder not kept")
	}
	if got := p.ToMinusCylinder().String(); got != "R: -2.25 -0.75 x 180 add +2.00 1.00Δ BU; L: +1.00 -1.00 x 090 add +2.00 1.00Δ BD" {
		t.Errorf("ToMinusCylinder = %q", got)
	}
	if got := p.ToMinusCylinder().ToPlusCylinder(); got != p {
		t.Errorf("ToPlusCylinder round trip = %+v", got)
	}
}

func TestParsePairErrors(t *testing.T) {
	tests := []struct {
		in, token string
		pos       int
		msg       string
	}{
		{"", "", 1, "missing right eye"},
		{"R: -1.00", "", 9, "missing left eye"},
		{"L: -1.00", "", 9, "missing right eye"},
		{"-1.00; -2.00", "-1.00", 1, "expected an eye"},
		{"R: -1.00; R: -2.00", "R", 11, "eye given twice"},
		{"R: ; L: -1.00", ";", 4, "empty prescription"},
		{"R: -1.00 L:", "", 12, "empty prescription"},
		{"R: -1.00 -0.50; L: -1.00", "-0.50", 10, "cylinder without axis"},
		{"R: -1.00; L: -1.00 x 90", "x", 20, "axis without cylinder"},
		{"R: -1.00 : -2; L: pl", ":", 10, "unexpected colon"},
		{"OU: -1.00", "OU", 1, "expected an eye"},
		{"R: -1.00; L: -1.00 #", "#", 20, "unexpected character"},
	}
	for _, tt := range tests {
		_, err := lane.ParsePair(tt.in)
		var ne *lane.NotationError
		if !errors.As(err, &ne) || !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("ParsePair(%q) err = %v, want *NotationError wrapping ErrInvalid", tt.in, err)
			continue
		}
		if ne.Token != tt.token || ne.Pos != tt.pos || !strings.Contains(ne.Msg, tt.msg) {
			t.Errorf("ParsePair(%q) = token %q pos %d msg %q; want %q %d %q", tt.in, ne.Token, ne.Pos, ne.Msg, tt.token, tt.pos, tt.msg)
		}
	}
}

func TestParsePrism(t *testing.T) {
	tests := []struct {
		in   string
		want lane.Prism
		fmt  string
	}{
		{"2Δ BI", lane.Prism{H: 2000, HBase: lane.BaseIn}, "2.00Δ BI"},
		{"0.5 BI", lane.Prism{H: 500, HBase: lane.BaseIn}, "0.50Δ BI"},
		{"2 BU", lane.Prism{V: 2000, VBase: lane.BaseUp}, "2.00Δ BU"},
		{"1.5 BO 1 BD", lane.Prism{H: 1500, HBase: lane.BaseOut, V: 1000, VBase: lane.BaseDown}, "1.50Δ BO 1.00Δ BD"},
		{"2^ BI", lane.Prism{H: 2000, HBase: lane.BaseIn}, "2.00Δ BI"},
		{"2 pd BI", lane.Prism{H: 2000, HBase: lane.BaseIn}, "2.00Δ BI"},
		{"0 BU", lane.Prism{}, ""},
	}
	for _, tt := range tests {
		got, err := lane.ParsePrism(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParsePrism(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if f := lane.FormatPrism(got); f != tt.fmt {
			t.Errorf("FormatPrism = %q, want %q", f, tt.fmt)
		}
	}
	for _, bad := range []string{"", "BI", "2", "2 BI 3 BO", "-2.00 2 BI", "2 BI x"} {
		if _, err := lane.ParsePrism(bad); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("ParsePrism(%q) err = %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := lane.ParsePrism("2 # BI"); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("lex error not reported: %v", err)
	}
}

func TestValidate(t *testing.T) {
	bad := []lane.Refraction{
		{Sphere: 30001},
		{Cylinder: -15001, Axis: 90},
		{Cylinder: -1000},
		{Cylinder: -1000, Axis: 181},
		{Axis: 90},
		{Add: -1},
		{Add: 5001},
		{Vertex: -1},
		{Prism: lane.Prism{H: 1000}},
		{Prism: lane.Prism{HBase: lane.BaseIn}},
		{Prism: lane.Prism{V: 1000}},
		{Prism: lane.Prism{VBase: lane.BaseDown}},
		{Prism: lane.Prism{H: 30001, HBase: lane.BaseIn}},
	}
	for _, r := range bad {
		if err := r.Validate(); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalid", r, err)
		}
	}
	good := []lane.Refraction{{}, rx(-2, -1, 180), {Sphere: -30000, Cylinder: 15000, Axis: 1, Add: 5000, Vertex: 1200,
		Prism: lane.Prism{H: 30000, HBase: lane.BaseOut, V: 1, VBase: lane.BaseUp}}}
	for _, r := range good {
		if err := r.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", r, err)
		}
	}
}

func TestFormatRxOddValues(t *testing.T) {
	// A prism amount without a base is invalid and is not printed.
	r := lane.Refraction{Sphere: -1000, Prism: lane.Prism{H: 1000, V: 500, VBase: lane.BaseUp}}
	if got := lane.FormatRx(r); got != "-1.00 DS 0.50Δ BU" {
		t.Errorf("FormatRx = %q", got)
	}
}

func BenchmarkParseRx(b *testing.B) {
	for b.Loop() {
		_, _ = lane.ParseRx("-2.25 -0.75 x 180 add +2.00 0.5 BI 1 BU")
	}
}

func BenchmarkParsePair(b *testing.B) {
	for b.Loop() {
		_, _ = lane.ParsePair("R: -2.25 -0.75 x 180 add +2.00; L: -2.00 -0.50 x 170 add +2.00")
	}
}

func BenchmarkFormatRx(b *testing.B) {
	r := lane.Refraction{Sphere: -2250, Cylinder: -750, Axis: 180, Add: 2000, Prism: lane.Prism{H: 500, HBase: lane.BaseIn}}
	for b.Loop() {
		_ = lane.FormatRx(r)
	}
}

// TestParseRxNamesTheBadToken: the message names the token the clinician
// mistyped, not a neighbour (regression: "y" in place of "x" and an unknown
// prism base were blamed on the number before them).
func TestParseRxNamesTheBadToken(t *testing.T) {
	tests := []struct{ in, bad string }{
		{"-2.25 -0.75 y 180", `"y"`},
		{"-2.25 -0.75 x 180 add +2.00 0.5 BX", `"BX"`},
		{"-2.25 -0.75", `"-0.75"`},
		{"-2.25 abc", `"abc"`},
		{"-2.25 -0.75 x 190", `"190"`},
	}
	for _, tt := range tests {
		_, err := lane.ParseRx(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.bad) {
			t.Errorf("ParseRx(%q) error = %v, want it to name %s", tt.in, err, tt.bad)
		}
	}
}
