package simulator_test

import (
	"testing"

	"github.com/examlane/examlane/devices/codec"
	_ "github.com/examlane/examlane/devices/codec/all"
	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/devices/simulator"
	"github.com/examlane/examlane/lane"
)

// testBaseline is a synthetic patient's last visit: a plus-cylinder right
// eye (the synthesiser must work in minus cylinder), an axis near the
// 180/1 wrap, an add.
func testBaseline() simulator.Baseline {
	right := lane.Refraction{Sphere: lane.MustDiopters(-2.75), Cylinder: lane.MustDiopters(0.75), Axis: 85, Add: lane.MustDiopters(1.5)}
	left := lane.Refraction{Sphere: lane.MustDiopters(-3.25), Cylinder: lane.MustDiopters(-0.5), Axis: 178, Add: lane.MustDiopters(1.5)}
	kr := lane.Keratometry{K1: lane.KMeridian{Radius: 781, Axis: 2}, K2: lane.KMeridian{Radius: 770, Axis: 92}}
	kl := lane.Keratometry{K1: lane.KMeridian{Radius: 790, Axis: 178}, K2: lane.KMeridian{Radius: 776, Axis: 88}}
	return simulator.Baseline{Right: &right, Left: &left, KRight: &kr, KLeft: &kl, IOPRight: 160, IOPLeft: 180, PD: 6350}
}

func absD(d lane.Diopters) lane.Diopters { return max(d, -d) }

// axisDiff is the angle between two axes, 0..90.
func axisDiff(a, b lane.Axis) int {
	d := int(a) - int(b)
	d = max(d, -d) % 180
	return min(d, 180-d)
}

// TestSynthesizeNearBaseline: with a baseline, every synthesised reading
// of every demo instrument family decodes to values near the patient's
// last visit (a lensmeter reads the last prescription exactly), and
// without one the same instruments range over the population.
func TestSynthesizeNearBaseline(t *testing.T) {
	b := testBaseline()
	base := map[lane.Eye]lane.Refraction{lane.EyeRight: b.Right.ToMinusCylinder(), lane.EyeLeft: b.Left.ToMinusCylinder()}
	ks := map[lane.Eye]lane.Keratometry{lane.EyeRight: *b.KRight, lane.EyeLeft: *b.KLeft}
	iops := map[lane.Eye]lane.MmHg{lane.EyeRight: b.IOPRight, lane.EyeLeft: b.IOPLeft}
	tests := []struct {
		profile string
		want    []lane.Kind // kinds that must have been checked
	}{
		{"nidek-ark1", []lane.Kind{lane.KindRefraction, lane.KindPD}},
		{"nidek-lm1000", []lane.Kind{lane.KindLensometry}},
		{"generic-dcs-lensmeter", []lane.Kind{lane.KindLensometry}},
		{"nidek-rt5100", []lane.Kind{lane.KindRefraction, lane.KindLensometry}},
		{"topcon-trk2p", []lane.Kind{lane.KindRefraction, lane.KindKeratometry, lane.KindIOP}},
		{"topcon-ct1p", []lane.Kind{lane.KindIOP}},
		{"topcon-cl300", []lane.Kind{lane.KindLensometry}},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			p, err := profile.Builtin().Lookup(tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			c, err := codec.Lookup(p.Dialect)
			if err != nil {
				t.Fatal(err)
			}
			calls := 0
			src, err := simulator.Synthesize(p, simulator.SynthConfig{Seed: 7, Baseline: func() simulator.Baseline { calls++; return b }})
			if err != nil {
				t.Fatal(err)
			}
			free, err := simulator.Synthesize(p, simulator.SynthConfig{Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			checked := map[lane.Kind]int{}
			outside := 0 // readings of the baseline-free source outside the band
			const n = 60
			for i := range n {
				m, err := src.Next()
				if err != nil {
					t.Fatal(err)
				}
				capt, err := c.Decode(m.Frame)
				if err != nil {
					t.Fatalf("reading %d: decode: %v", i, err)
				}
				for _, r := range capt.Readings {
					if codec.HasMethod(r, codec.MethodNear) {
						continue
					}
					switch {
					case r.Refraction != nil && (r.Kind == lane.KindRefraction || r.Kind == lane.KindLensometry):
						want, ok := base[r.Eye]
						if !ok {
							continue
						}
						got := r.Refraction.ToMinusCylinder()
						if r.Kind == lane.KindLensometry {
							if got.Sphere != want.Sphere || got.Cylinder != want.Cylinder || axisDiff(got.Axis, want.Axis) != 0 {
								t.Errorf("lensometry %s = %+v, want the last Rx %+v", r.Eye, got, want)
							}
						} else if absD(got.Sphere-want.Sphere) > 500 || absD(got.Cylinder-want.Cylinder) > 250 ||
							got.Cylinder != 0 && axisDiff(got.Axis, want.Axis) > 10 {
							t.Errorf("refraction %s (%s) = %+v, not near %+v", r.Eye, r.Source, got, want)
						}
						checked[r.Kind]++
					case r.Keratometry != nil:
						want := ks[r.Eye]
						for j, pair := range [][2]lane.KMeridian{{r.Keratometry.K1, want.K1}, {r.Keratometry.K2, want.K2}} {
							if d := pair[0].Radius - pair[1].Radius; max(d, -d) > 3 {
								t.Errorf("K%d %s radius %v, not near %v", j+1, r.Eye, pair[0].Radius, pair[1].Radius)
							}
						}
						checked[r.Kind]++
					case r.IOP != nil:
						if d := r.IOP.Pressure - iops[r.Eye]; max(d, -d) > 20 {
							t.Errorf("IOP %s = %v, not within 2 mmHg of %v", r.Eye, r.IOP.Pressure, iops[r.Eye])
						}
						checked[r.Kind]++
					case r.PD != nil && r.Eye == lane.EyeBoth:
						if d := r.PD.Value - b.PD; max(d, -d) > 50 {
							t.Errorf("PD %v, not within 0.5 mm of %v", r.PD.Value, b.PD)
						}
						checked[r.Kind]++
					}
				}
				fm, err := free.Next()
				if err != nil {
					t.Fatal(err)
				}
				fc, err := c.Decode(fm.Frame)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range fc.Readings {
					if r.Refraction != nil {
						if want, ok := base[r.Eye]; ok && absD(r.Refraction.ToMinusCylinder().Sphere-want.Sphere) > 500 {
							outside++
						}
					}
					if r.IOP != nil && max(r.IOP.Pressure-iops[r.Eye], iops[r.Eye]-r.IOP.Pressure) > 20 {
						outside++
					}
				}
			}
			if calls != n {
				t.Errorf("baseline asked %d times for %d readings", calls, n)
			}
			for _, k := range tt.want {
				if checked[k] == 0 {
					t.Errorf("no %s reading checked (checked %v)", k, checked)
				}
			}
			if outside == 0 {
				t.Error("without a baseline no reading left the baseline's band: the check proves nothing")
			}
		})
	}
}

// TestSynthNearEdges: the near draws keep minus cylinder, wrap axes into
// 1..180 and stay in instrument ranges.
func TestSynthNearEdges(t *testing.T) {
	y := simulator.NewSynth(3)
	for range 500 {
		r := y.RefractionNear(lane.Refraction{Sphere: lane.MustDiopters(1), Cylinder: lane.MustDiopters(0.25), Axis: 178})
		if r.Cylinder > 0 || r.Cylinder != 0 && (r.Axis < 1 || r.Axis > 180) || r.Cylinder == 0 && r.Axis != 0 {
			t.Fatalf("RefractionNear = %+v", r)
		}
		if r.Sphere%250 != 0 || r.Cylinder%250 != 0 {
			t.Fatalf("RefractionNear off the 0.25 D steps: %+v", r)
		}
		k := y.KeratometryNear(lane.Keratometry{K1: lane.KMeridian{Radius: 780, Axis: 179}, K2: lane.KMeridian{Radius: 770, Axis: 89}})
		if k.K1.Axis < 1 || k.K1.Axis > 180 || axisDiff(k.K1.Axis, k.K2.Axis) != 90 || k.K1.Power == 0 {
			t.Fatalf("KeratometryNear = %+v", k)
		}
		if p := y.IOPNear(123); p < 100 || p > 140 || p%10 != 0 {
			t.Fatalf("IOPNear(12.3) = %v", p)
		}
		if p := y.PDNear(6330); p < 6300 || p > 6400 || p%50 != 0 {
			t.Fatalf("PDNear(63.3) = %v", p)
		}
	}
}
