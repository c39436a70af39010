package lane_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/examlane/examlane/lane"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/ (see
// testdata/README.md); go test runs them as ordinary tests.

// checkNotationError asserts the shape every parser error must have.
func checkNotationError(t *testing.T, in string, err error) {
	t.Helper()
	var ne *lane.NotationError
	if !errors.As(err, &ne) {
		t.Fatalf("%q: error %v (%T) is not a *NotationError", in, err, err)
	}
	if !errors.Is(err, lane.ErrInvalid) {
		t.Fatalf("%q: error %v does not wrap ErrInvalid", in, err)
	}
	if ne.Pos < 1 || ne.Pos > utf8.RuneCountInString(in)+1 {
		t.Fatalf("%q: position %d outside the input", in, ne.Pos)
	}
	if ne.Token != "" && ne.Token != "…" && ne.Token != string(utf8.RuneError) && !strings.Contains(in, ne.Token) {
		t.Fatalf("%q: token %q is not in the input", in, ne.Token)
	}
	if ne.Msg == "" {
		t.Fatalf("%q: empty message", in)
	}
}

func FuzzParseRx(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		r, err := lane.ParseRx(s)
		if err != nil {
			checkNotationError(t, s, err)
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseRx(%q) = %+v, invalid: %v", s, r, err)
		}
		text := lane.FormatRx(r)
		r2, err := lane.ParseRx(text)
		if err != nil {
			t.Fatalf("FormatRx(ParseRx(%q)) = %q does not parse: %v", s, text, err)
		}
		if r2 != r {
			t.Fatalf("round trip %q → %q: %+v != %+v", s, text, r2, r)
		}
		if back := r.Transpose().Transpose(); back != r {
			t.Fatalf("double transpose of %q = %+v", text, back)
		}
		m := r.ToMinusCylinder()
		if m.Cylinder > 0 || m.SphericalEquivalent() != r.SphericalEquivalent() {
			t.Fatalf("ToMinusCylinder(%q) = %+v", text, m)
		}
		if _, err := lane.ParseRx(lane.FormatRx(m)); err != nil && !errors.Is(err, lane.ErrRange) {
			// Transposing may push the sphere past ±30 D; anything else is a bug.
			t.Fatalf("minus-cylinder form of %q does not parse: %v", text, err)
		}
	})
}

func FuzzParsePair(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		p, err := lane.ParsePair(s)
		if err != nil {
			checkNotationError(t, s, err)
			return
		}
		text := p.String()
		p2, err := lane.ParsePair(text)
		if err != nil {
			t.Fatalf("ParsePair(%q).String() = %q does not parse: %v", s, text, err)
		}
		if p2 != p {
			t.Fatalf("round trip %q → %q: %+v != %+v", s, text, p2, p)
		}
		if p2.String() != text {
			t.Fatalf("String not stable: %q → %q", text, p2.String())
		}
		// Verifying a pair against itself passes for every lens type that
		// the pair can be ordered as.
		for _, lens := range []lane.LensType{lane.LensSingleVision, lane.LensMultifocal, lane.LensProgressive} {
			v, err := lane.VerifySpectacles(lens, p, p.ToPlusCylinder())
			if err != nil {
				if lens != lane.LensSingleVision && errors.Is(err, lane.ErrInvalid) {
					continue // no add ordered, or transposition beyond ±30 D
				}
				if errors.Is(err, lane.ErrInvalid) && strings.Contains(err.Error(), "sphere") {
					continue
				}
				t.Fatalf("VerifySpectacles(%s, %q): %v", lens, text, err)
			}
			if !v.Pass {
				t.Fatalf("%q does not verify against itself as %s: %+v", text, lens, v.Failed())
			}
		}
	})
}

func FuzzParseVA(f *testing.F) {
	notations := []lane.VANotation{lane.VASnellenFeet, lane.VASnellenMetric, lane.VADecimal, lane.VALogMAR}
	f.Fuzz(func(t *testing.T, s string, bare uint8) {
		n := notations[int(bare)%len(notations)]
		v, err := lane.ParseVA(s, n)
		if err != nil {
			checkNotationError(t, s, err)
			return
		}
		again, err := lane.ParseVA(v.Text, n)
		if err != nil || again != v {
			t.Fatalf("ParseVA(%q) Text %q re-parses to %+v, %v; want %+v", s, v.Text, again, err, v)
		}
		for _, out := range notations {
			text := lane.FormatVA(v, out)
			w, err := lane.ParseVA(text, out)
			if err != nil {
				t.Fatalf("FormatVA(ParseVA(%q), %s) = %q does not parse: %v", s, out, text, err)
			}
			if w.Pinhole != v.Pinhole || w.LowVision != v.LowVision {
				t.Fatalf("%q → %q lost pinhole or low-vision mark", s, text)
			}
			if again := lane.FormatVA(w, out); again != text {
				t.Fatalf("FormatVA not a fixed point in %s: %q → %q", out, text, again)
			}
		}
	})
}
