package lane_test

import (
	"errors"
	"math"
	"testing"

	"github.com/examlane/examlane/lane"
)

func TestDioptersExact(t *testing.T) {
	tests := []struct {
		in   float64
		want lane.Diopters
		str  string
	}{
		{-2.25, -2250, "-2.25"},
		{0.125, 125, "+0.125"},
		{0, 0, "0.00"},
		{6.5, 6500, "+6.50"},
		{-0.01, -10, "-0.01"},
		{3.375, 3375, "+3.375"},
	}
	for _, tt := range tests {
		got, err := lane.NewDiopters(tt.in)
		if err != nil || got != tt.want || got.String() != tt.str {
			t.Errorf("NewDiopters(%v) = %d %q, %v; want %d %q", tt.in, got, got.String(), err, tt.want, tt.str)
		}
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), 40.001, -41} {
		if _, err := lane.NewDiopters(bad); !errors.Is(err, lane.ErrRange) {
			t.Errorf("NewDiopters(%v) err = %v, want ErrRange", bad, err)
		}
	}
	// -2.38 - -2.25 is exactly -0.13: fixed point keeps tolerance boundaries exact.
	if d := lane.MustDiopters(-2.38) - lane.MustDiopters(-2.25); d != -130 {
		t.Errorf("difference = %d, want -130", d)
	}
}

func TestDioptersScale(t *testing.T) {
	tests := []struct {
		d        lane.Diopters
		num, den int64
		want     lane.Diopters
	}{
		{6750, 2, 100, 135}, // 2 % of 6.75
		{-7000, 2, 100, -140},
		{4750, 4, 100, 190},
		{3625, 5, 100, 181}, // 181.25 rounds to 181
		{1, 1, 2, 1},        // half rounds away from zero
		{-1, 1, 2, -1},
	}
	for _, tt := range tests {
		if got := tt.d.Scale(tt.num, tt.den); got != tt.want {
			t.Errorf("%d.Scale(%d,%d) = %d, want %d", tt.d, tt.num, tt.den, got, tt.want)
		}
	}
}

func TestAxis(t *testing.T) {
	tests := []struct {
		in      int
		want    lane.Axis
		wantErr bool
	}{
		{0, 180, false}, {180, 180, false}, {1, 1, false}, {90, 90, false},
		{-1, 0, true}, {181, 0, true},
	}
	for _, tt := range tests {
		got, err := lane.NewAxis(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("NewAxis(%d) = %d, %v", tt.in, got, err)
		}
	}
	norm := map[int]lane.Axis{0: 180, 180: 180, 181: 1, 270: 90, -90: 90, 360: 180, 95: 95}
	for in, want := range norm {
		if got := lane.NormalizeAxis(in); got != want {
			t.Errorf("NormalizeAxis(%d) = %d, want %d", in, got, want)
		}
	}
	diff := []struct {
		a, b lane.Axis
		want int
	}{{179, 2, 3}, {2, 179, 3}, {180, 1, 1}, {90, 180, 90}, {45, 135, 90}, {10, 100, 90}, {170, 10, 20}}
	for _, tt := range diff {
		if got := lane.AxisDifference(tt.a, tt.b); got != tt.want {
			t.Errorf("AxisDifference(%d,%d) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if s := lane.Axis(5).String(); s != "005" {
		t.Errorf("Axis(5).String() = %q", s)
	}
}

func TestOtherUnits(t *testing.T) {
	if m, err := lane.NewMillimeters(63.5); err != nil || m != 6350 || m.String() != "63.5" {
		t.Errorf("NewMillimeters(63.5) = %d %q %v", m, m, err)
	}
	if m, _ := lane.NewMillimeters(7.85); m.String() != "7.85" {
		t.Errorf("7.85 mm formats as %q", m)
	}
	if _, err := lane.NewMillimeters(-1); err == nil {
		t.Error("negative length accepted")
	}
	if p, err := lane.NewPrismDiopters(0.5); err != nil || p.String() != "0.50" {
		t.Errorf("prism 0.5 = %q, %v", p, err)
	}
	if _, err := lane.NewPrismDiopters(-1); err == nil {
		t.Error("negative prism accepted")
	}
	if p, err := lane.NewMmHg(14.5); err != nil || p.String() != "14.5" {
		t.Errorf("IOP 14.5 = %q, %v", p, err)
	}
	if p, _ := lane.NewMmHg(15); p.String() != "15" {
		t.Errorf("IOP 15 = %q", p)
	}
	if _, err := lane.NewMmHg(120); err == nil {
		t.Error("IOP 120 accepted")
	}
	if _, err := lane.NewMicrometers(50); err == nil {
		t.Error("CCT 50 µm accepted")
	}
}

func TestParseEye(t *testing.T) {
	for in, want := range map[string]lane.Eye{"R": lane.EyeRight, "OD": lane.EyeRight, "left": lane.EyeLeft, "OU": lane.EyeBoth} {
		if got, err := lane.ParseEye(in); err != nil || got != want {
			t.Errorf("ParseEye(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := lane.ParseEye("X"); err == nil {
		t.Error("ParseEye(X) succeeded")
	}
}

func TestNewIDUnique(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := lane.NewID()
		if len(id) != 36 || id[14] != '4' || seen[id] {
			t.Fatalf("bad or duplicate id %q", id)
		}
		seen[id] = true
	}
}
