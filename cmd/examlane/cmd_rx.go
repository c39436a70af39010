package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/examlane/examlane/lane"
)

// The rx commands work on prescription notation: verify finished
// spectacles against the order, transpose the cylinder, move an Rx to
// another vertex distance. They need no data directory.

func init() {
	register(&command{
		Path:    "rx verify",
		Summary: "verify finished spectacles against the order (ANSI Z80.1-2015)",
		Usage:   "--lens sv|multifocal|pal --ordered 'R: <rx>; L: <rx>' --measured 'R: <rx>; L: <rx>'",
		Help: `Compares the lensmeter readings of finished spectacles (--measured) with the
ordered prescription (--ordered) using the ANSI Z80.1-2015 tolerances for the
lens type, and prints one JSON object:

  {"pass": bool, "checks": [{"eye": "R"|"L"|"pair", "parameter": "sphere"|
   "cylinder"|"axis"|"add"|"prism_h"|"prism_v", "ordered": n, "measured": n,
   "difference": n, "tolerance": n, "pass": bool, "rule": "..."}]}

Numbers are dioptres, degrees or prism dioptres. Either cylinder convention
is accepted; values are reported in minus cylinder. The sphere row compares
the meridian of highest absolute power. prism_h is the pair's total base-in
prism (base-out negative); prism_v is right base-up minus left base-up.
The exit status is 0 whenever the report was printed, whether or not the
spectacles pass; bad notation or flags exit 2.

Example:
  examlane rx verify --lens pal \
    --ordered  'R: -2.25 -0.75 x 180 add +2.00; L: -2.00 -0.50 x 170 add +2.00' \
    --measured 'R: -3.00 +0.75 x 90 add +2.00; L: -2.12 -0.50 x 172 add +2.00'`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("lens", "", "lens type: `sv`, multifocal or pal")
			fs.String("ordered", "", "the ordered prescription, `'R: <rx>; L: <rx>'`")
			fs.String("measured", "", "the lensmeter readings, `'R: <rx>; L: <rx>'`")
		},
		Run: runRxVerify,
	})
	register(&command{
		Path:    "rx convert",
		Summary: "write a prescription in minus or plus cylinder",
		Usage:   "--to minus|plus [--] '<rx>' | 'R: <rx>; L: <rx>'",
		Help: `Transposes the cylinder (S' = S + C, C' = -C, axis ± 90) and prints the
prescription in the chosen convention. A prescription that starts with a
minus sign must follow "--" so that it is not read as a flag:

  examlane rx convert --to plus -- '-2.25 -0.75 x 180'`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("to", "", "target convention: `minus` or plus")
		},
		Run: runRxConvert,
	})
	register(&command{
		Path:    "rx vertex",
		Summary: "move a prescription to another vertex distance",
		Usage:   "--from MM --to MM [--round STEP] [--] '<rx>' | 'R: <rx>; L: <rx>'",
		Help: `Converts both principal meridians with F' = F / (1 - d·F), d = from - to in
metres, and prints the result exactly (0.001 D), or rounded to --round
dioptres (e.g. 0.25). --to 0 gives the power at the cornea (contact lens):

  examlane rx vertex --from 12 --to 0 -- '-10.00 DS'     # -8.929 DS`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("from", "", "vertex distance the powers hold at, in `MM`")
			fs.String("to", "", "vertex distance to convert to, in `MM` (0 = cornea)")
			fs.String("round", "", "round sphere, cylinder and add to this `STEP` in dioptres (e.g. 0.25)")
		},
		Run: runRxVertex,
	})
}

func flagValue(fs *flag.FlagSet, name string) string { return fs.Lookup(name).Value.String() }

// verifyReport is the JSON contract of rx verify.
type verifyReport struct {
	Pass   bool          `json:"pass"`
	Checks []verifyCheck `json:"checks"`
}

type verifyCheck struct {
	Eye        string  `json:"eye"`
	Parameter  string  `json:"parameter"`
	Ordered    float64 `json:"ordered"`
	Measured   float64 `json:"measured"`
	Difference float64 `json:"difference"`
	Tolerance  float64 `json:"tolerance"`
	Pass       bool    `json:"pass"`
	Rule       string  `json:"rule"`
}

func eyeName(e lane.Eye) string {
	switch e {
	case lane.EyeRight:
		return "R"
	case lane.EyeLeft:
		return "L"
	}
	return "pair"
}

func runRxVerify(_ context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q (the prescriptions go in --ordered and --measured)", args[0])
	}
	lens := lane.LensType(flagValue(fs, "lens"))
	switch lens {
	case lane.LensSingleVision, lane.LensMultifocal, lane.LensProgressive:
	case "":
		return usagef("--lens is required: sv, multifocal or pal")
	default:
		return usagef("--lens %q: want sv, multifocal or pal", lens)
	}
	var pairs [2]lane.RxPair
	for i, name := range []string{"ordered", "measured"} {
		s := flagValue(fs, name)
		if strings.TrimSpace(s) == "" {
			return usagef("--%s is required: 'R: <rx>; L: <rx>'", name)
		}
		p, err := lane.ParsePair(s)
		if err != nil {
			return usagef("--%s: %v", name, err)
		}
		pairs[i] = p
	}
	v, err := lane.VerifySpectacles(lens, pairs[0], pairs[1])
	if err != nil {
		if errors.Is(err, lane.ErrInvalid) {
			return usagef("%v", err)
		}
		return err
	}
	out := verifyReport{Pass: v.Pass, Checks: make([]verifyCheck, 0, len(v.Checks))}
	for _, c := range v.Checks {
		out.Checks = append(out.Checks, verifyCheck{
			Eye: eyeName(c.Eye), Parameter: string(c.Parameter),
			Ordered: c.Ordered.Float(), Measured: c.Measured.Float(),
			Difference: c.Difference.Float(), Tolerance: c.Tolerance.Float(),
			Pass: c.Pass, Rule: c.Rule,
		})
	}
	enc := json.NewEncoder(e.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// rxArgs reads the prescription from the positional arguments (joined with
// spaces, so an unquoted Rx after "--" works) and applies f to one eye or
// to both eyes of a pair.
func rxArgs(args []string, f func(lane.Refraction) (lane.Refraction, error)) (string, error) {
	s := strings.Join(args, " ")
	if strings.TrimSpace(s) == "" {
		return "", usagef("a prescription is required, e.g. -- '-2.25 -0.75 x 180'")
	}
	if strings.ContainsAny(s, ":;\n") {
		p, err := lane.ParsePair(s)
		if err != nil {
			return "", usagef("%v", err)
		}
		if p.Right, err = f(p.Right); err != nil {
			return "", fmt.Errorf("right eye: %w", err)
		}
		if p.Left, err = f(p.Left); err != nil {
			return "", fmt.Errorf("left eye: %w", err)
		}
		return p.String(), nil
	}
	r, err := lane.ParseRx(s)
	if err != nil {
		return "", usagef("%v", err)
	}
	if r, err = f(r); err != nil {
		return "", err
	}
	return lane.FormatRx(r), nil
}

func runRxConvert(_ context.Context, e *env, fs *flag.FlagSet, args []string) error {
	var conv func(lane.Refraction) lane.Refraction
	switch to := flagValue(fs, "to"); to {
	case "minus", "-":
		conv = lane.Refraction.ToMinusCylinder
	case "plus", "+":
		conv = lane.Refraction.ToPlusCylinder
	case "":
		return usagef("--to is required: minus or plus")
	default:
		return usagef("--to %q: want minus or plus", to)
	}
	s, err := rxArgs(args, func(r lane.Refraction) (lane.Refraction, error) { return conv(r), nil })
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.Stdout, s)
	return err
}

// millimetresFlag parses a required vertex distance.
func millimetresFlag(fs *flag.FlagSet, name string) (lane.Millimeters, error) {
	s := flagValue(fs, name)
	if s == "" {
		return 0, usagef("--%s is required (vertex distance in mm)", name)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, usagef("--%s %q: not a number of millimetres", name, s)
	}
	mm, err := lane.NewMillimeters(f)
	if err != nil || f > 50 {
		return 0, usagef("--%s %q: want 0 to 50 mm", name, s)
	}
	return mm, nil
}

func runRxVertex(_ context.Context, e *env, fs *flag.FlagSet, args []string) error {
	from, err := millimetresFlag(fs, "from")
	if err != nil {
		return err
	}
	to, err := millimetresFlag(fs, "to")
	if err != nil {
		return err
	}
	var step lane.Diopters
	if s := flagValue(fs, "round"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err == nil {
			step, err = lane.NewDiopters(f)
		}
		if err != nil || step <= 0 || step > lane.Diopter {
			return usagef("--round %q: want a step in dioptres such as 0.25", s)
		}
	}
	s, err := rxArgs(args, func(r lane.Refraction) (lane.Refraction, error) {
		c, err := lane.VertexConvert(r, from, to)
		if err != nil {
			return c, err
		}
		return c.Rounded(step), nil
	})
	if errors.Is(err, lane.ErrRange) {
		return usagef("%v", err)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.Stdout, s)
	return err
}
