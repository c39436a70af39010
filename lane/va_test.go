package lane_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/examlane/examlane/lane"
)

func TestParseVA(t *testing.T) {
	tests := []struct {
		in   string
		bare lane.VANotation
		want lane.VisualAcuity
	}{
		{"20/20", lane.VADecimal, lane.VisualAcuity{Decimal: 1, Text: "20/20"}},
		{"20/25-2", lane.VADecimal, lane.VisualAcuity{Decimal: 0.8, Letters: -2, Text: "20/25-2"}},
		{"20/40 +1", lane.VADecimal, lane.VisualAcuity{Decimal: 0.5, Letters: 1, Text: "20/40+1"}},
		{"6/9+1", lane.VADecimal, lane.VisualAcuity{Decimal: 6.0 / 9, Letters: 1, Text: "6/9+1"}},
		{"6/7.5", lane.VADecimal, lane.VisualAcuity{Decimal: 0.8, Text: "6/7.5"}},
		{"06/060", lane.VADecimal, lane.VisualAcuity{Decimal: 0.1, Text: "6/60"}},
		{"3/60", lane.VADecimal, lane.VisualAcuity{Decimal: 0.05, Text: "3/60"}},
		{"20/2000", lane.VADecimal, lane.VisualAcuity{Decimal: 0.01, Text: "20/2000"}},
		{"20/5", lane.VADecimal, lane.VisualAcuity{Decimal: 4, Text: "20/5"}},
		{"0.8", lane.VADecimal, lane.VisualAcuity{Decimal: 0.8, Text: "0.8"}},
		{"1.0", lane.VADecimal, lane.VisualAcuity{Decimal: 1, Text: "1.0"}},
		{"1", lane.VASnellenFeet, lane.VisualAcuity{Decimal: 1, Text: "1.0"}},
		{"0.125", lane.VADecimal, lane.VisualAcuity{Decimal: 0.125, Text: "0.125"}},
		{"0.80-1", lane.VADecimal, lane.VisualAcuity{Decimal: 0.8, Letters: -1, Text: "0.8-1"}},
		{"0.1", lane.VALogMAR, lane.VisualAcuity{Decimal: math.Pow(10, -0.1), Text: "0.10 logMAR"}},
		{"-0.1", lane.VALogMAR, lane.VisualAcuity{Decimal: math.Pow(10, 0.1), Text: "-0.10 logMAR"}},
		{"0", lane.VALogMAR, lane.VisualAcuity{Decimal: 1, Text: "0.00 logMAR"}},
		{"-0.00", lane.VALogMAR, lane.VisualAcuity{Decimal: 1, Text: "0.00 logMAR"}},
		{"logMAR 0.3", lane.VADecimal, lane.VisualAcuity{Decimal: math.Pow(10, -0.3), Text: "0.30 logMAR"}},
		{"0.3 LOGMAR", lane.VADecimal, lane.VisualAcuity{Decimal: math.Pow(10, -0.3), Text: "0.30 logMAR"}},
		{"20/20", lane.VALogMAR, lane.VisualAcuity{Decimal: 1, Text: "20/20"}},
		{"<0.1", lane.VADecimal, lane.VisualAcuity{Decimal: 0.1, Qualifier: lane.VALessThan, Text: "<0.1"}},
		{">1.5", lane.VADecimal, lane.VisualAcuity{Decimal: 1.5, Qualifier: lane.VAMoreThan, Text: ">1.5"}},
		{"< 20/400", lane.VADecimal, lane.VisualAcuity{Decimal: 0.05, Qualifier: lane.VALessThan, Text: "<20/400"}},
		{">1.0", lane.VALogMAR, lane.VisualAcuity{Decimal: 0.1, Qualifier: lane.VALessThan, Text: ">1.00 logMAR"}},
		{"<-0.2", lane.VALogMAR, lane.VisualAcuity{Decimal: math.Pow(10, 0.2), Qualifier: lane.VAMoreThan, Text: "<-0.20 logMAR"}},
		{"20/30 PH", lane.VADecimal, lane.VisualAcuity{Decimal: 20.0 / 30, Pinhole: true, Text: "20/30 PH"}},
		{"ph 6/9", lane.VADecimal, lane.VisualAcuity{Decimal: 6.0 / 9, Pinhole: true, Text: "6/9 PH"}},
		{"0.5 pinhole", lane.VADecimal, lane.VisualAcuity{Decimal: 0.5, Pinhole: true, Text: "0.5 PH"}},
		{"CF", lane.VADecimal, lane.VisualAcuity{LowVision: "CF", Text: "CF"}},
		{"hm", lane.VADecimal, lane.VisualAcuity{LowVision: "HM", Text: "HM"}},
		{"LP", lane.VALogMAR, lane.VisualAcuity{LowVision: "LP", Text: "LP"}},
		{"NLP", lane.VADecimal, lane.VisualAcuity{LowVision: "NLP", Text: "NLP"}},
		{"NPL", lane.VADecimal, lane.VisualAcuity{LowVision: "NLP", Text: "NLP"}},
		{"CF PH", lane.VADecimal, lane.VisualAcuity{LowVision: "CF", Pinhole: true, Text: "CF PH"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := lane.ParseVA(tt.in, tt.bare)
			if err != nil {
				t.Fatalf("ParseVA(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseVA(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			again, err := lane.ParseVA(got.Text, tt.bare)
			if err != nil || again != got {
				t.Errorf("Text %q re-parses to %+v, %v", got.Text, again, err)
			}
		})
	}
}

func TestParseVAErrors(t *testing.T) {
	tests := []struct {
		in    string
		bare  lane.VANotation
		token string
		msg   string
	}{
		{"", lane.VADecimal, "", "empty acuity"},
		{"PH", lane.VADecimal, "", "empty acuity"},
		{"20/", lane.VADecimal, "", "expected a number for the Snellen denominator"},
		{"20/0", lane.VADecimal, "20", "two positive numbers"},
		{"-20/20", lane.VADecimal, "-20", "two positive numbers"},
		{"20/2001", lane.VADecimal, "20", "acuity outside"},
		{"20/4", lane.VADecimal, "20", "acuity outside"},
		{"0.009", lane.VADecimal, "0.009", "acuity outside"},
		{"4.1", lane.VADecimal, "4.1", "acuity outside"},
		{"2.1", lane.VALogMAR, "2.1", "acuity outside"},
		{"-0.7", lane.VALogMAR, "-0.7", "acuity outside"},
		{"-0.8", lane.VADecimal, "-0.8", "positive number without a sign"},
		{"0", lane.VADecimal, "0", "positive number"},
		{"20/25-", lane.VADecimal, "-", "signed whole number"},
		{"20/25 2", lane.VADecimal, "2", "signed whole number"},
		{"20/25-1.5", lane.VADecimal, "-1.5", "signed whole number"},
		{"20/25-10", lane.VADecimal, "-10", "letters outside"},
		{"<20/25-1", lane.VADecimal, "-1", "cannot follow"},
		{"0.1-1", lane.VALogMAR, "-1", "unknown token"},
		{"logMAR 0.1 logMAR", lane.VADecimal, "logMAR", "twice"},
		{"logMAR 20/20", lane.VADecimal, "20", "acuity outside"}, // logMAR 20, not a fraction
		{"PH 0.5 PH", lane.VADecimal, "PH", "pinhole written twice"},
		{"CF 1m", lane.VADecimal, "1", "unknown token"},
		{"20/20 OD", lane.VADecimal, "OD", "unknown token"},
		{"good", lane.VADecimal, "good", "expected a number"},
		{"20/20 @", lane.VADecimal, "@", "unexpected character"},
	}
	for _, tt := range tests {
		_, err := lane.ParseVA(tt.in, tt.bare)
		var ne *lane.NotationError
		if !errors.As(err, &ne) || !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("ParseVA(%q) err = %v, want *NotationError wrapping ErrInvalid", tt.in, err)
			continue
		}
		if ne.Notation != "va" || ne.Token != tt.token || !strings.Contains(ne.Msg, tt.msg) {
			t.Errorf("ParseVA(%q) = %s token %q msg %q; want token %q msg containing %q", tt.in, ne.Notation, ne.Token, ne.Msg, tt.token, tt.msg)
		}
	}
}

func TestFormatVA(t *testing.T) {
	tests := []struct {
		in                            string
		bare                          lane.VANotation
		feet, metric, decimal, logMAR string
	}{
		// Standard equivalence tables (e.g. the ICO 1984 visual acuity
		// measurement standard, Holladay 1997 "Proper method for calculating
		// average visual acuity"): 20/20 = 6/6 = 1.0 = 0.00; 20/40 = 6/12 =
		// 0.5 = 0.30; 20/200 = 6/60 = 0.1 = 1.00.
		{"20/20", lane.VADecimal, "20/20", "6/6", "1.0", "0.00"},
		{"20/25", lane.VADecimal, "20/25", "6/7.5", "0.8", "0.10"},
		{"20/30", lane.VADecimal, "20/30", "6/9", "0.67", "0.18"},
		{"20/40", lane.VADecimal, "20/40", "6/12", "0.5", "0.30"},
		{"20/200", lane.VADecimal, "20/200", "6/60", "0.1", "1.00"},
		{"6/18", lane.VADecimal, "20/60", "6/18", "0.33", "0.48"},
		{"20/15", lane.VADecimal, "20/15", "6/4.5", "1.33", "-0.12"},
		{"20/800", lane.VADecimal, "20/800", "6/240", "0.025", "1.60"},
		{"20/25-2", lane.VADecimal, "20/25-2", "6/7.5-2", "0.8-2", "0.14"},
		{"6/9+1", lane.VADecimal, "20/30+1", "6/9+1", "0.67+1", "0.16"},
		{"0.3", lane.VALogMAR, "20/39.9", "6/12", "0.5", "0.30"},
		{"<0.05", lane.VADecimal, "<20/400", "<6/120", "<0.05", ">1.30"},
		{">1.5", lane.VADecimal, ">20/13.3", ">6/4", ">1.5", "<-0.18"},
		{"20/30 PH", lane.VADecimal, "20/30 PH", "6/9 PH", "0.67 PH", "0.18 PH"},
		{"HM", lane.VADecimal, "HM", "HM", "HM", "HM"},
		{"20/2000-4", lane.VADecimal, "20/2000-4", "6/600-4", "0.01-4", "2.00"}, // clamped
		{"20/5+4", lane.VADecimal, "20/5+4", "6/1.5+4", "4.0+4", "-0.60"},       // clamped
	}
	for _, tt := range tests {
		v, err := lane.ParseVA(tt.in, tt.bare)
		if err != nil {
			t.Fatalf("ParseVA(%q): %v", tt.in, err)
		}
		for _, f := range []struct {
			n    lane.VANotation
			want string
		}{{lane.VASnellenFeet, tt.feet}, {lane.VASnellenMetric, tt.metric}, {lane.VADecimal, tt.decimal}, {lane.VALogMAR, tt.logMAR}} {
			got := lane.FormatVA(v, f.n)
			if got != f.want {
				t.Errorf("FormatVA(%q, %s) = %q, want %q", tt.in, f.n, got, f.want)
			}
			// Every formatted value parses back in its notation and formats
			// to the same text.
			w, err := lane.ParseVA(got, f.n)
			if err != nil {
				t.Errorf("ParseVA(%q, %s): %v", got, f.n, err)
			} else if again := lane.FormatVA(w, f.n); again != got {
				t.Errorf("FormatVA not a fixed point: %q → %q", got, again)
			}
		}
	}
	if got := lane.FormatVA(lane.VisualAcuity{}, lane.VADecimal); got != "" {
		t.Errorf("zero value formats as %q", got)
	}
}

func TestVAConversions(t *testing.T) {
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if !near(lane.SnellenToDecimal(20, 25), 0.8) || !near(lane.SnellenToDecimal(6, 9), 2.0/3) {
		t.Error("SnellenToDecimal")
	}
	if math.Abs(lane.DecimalToLogMAR(0.5)-0.30103) > 1e-5 {
		t.Error("DecimalToLogMAR(0.5)")
	}
	if !near(lane.DecimalToLogMAR(1), 0) || !near(lane.LogMARToDecimal(1), 0.1) || !near(lane.LogMARToDecimal(-0.3), math.Pow(10, 0.3)) {
		t.Error("logMAR conversions")
	}
	if !near(lane.ConvertSnellen(9, 6, 20), 30) || !near(lane.ConvertSnellen(40, 20, 6), 12) {
		t.Error("ConvertSnellen")
	}
	v, _ := lane.ParseVA("20/25-2", lane.VADecimal)
	if l, ok := v.LogMAR(); !ok || math.Abs(l-(-math.Log10(0.8)+0.04)) > 1e-12 {
		t.Errorf("LogMAR(20/25-2) = %v, %v", l, ok)
	}
	if _, ok := (lane.VisualAcuity{LowVision: "CF"}).LogMAR(); ok {
		t.Error("LogMAR of CF reported ok")
	}
	for n, want := range map[lane.VANotation]string{lane.VASnellenFeet: "snellen-20", lane.VASnellenMetric: "snellen-6", lane.VADecimal: "decimal", lane.VALogMAR: "logmar", 0: "unknown"} {
		if n.String() != want {
			t.Errorf("%d.String() = %q", n, n.String())
		}
	}
}

func BenchmarkParseVA(b *testing.B) {
	for b.Loop() {
		_, _ = lane.ParseVA("20/25-2 PH", lane.VADecimal)
	}
}
