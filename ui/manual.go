package ui

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/examlane/examlane/lane"
)

// manualKind is a kind of reading the technician may type on the pretest
// screen.
type manualKind int

// Readings typed by hand, in the order the pretest screen offers them.
const (
	manualVAUnaided manualKind = iota
	manualVAAided
	manualIOP
	manualPD
	manualKeratometry
	manualAutorefraction
	manualLensometry
)

// manualKinds describes each manual kind: its label and an example of what
// to type.
var manualKinds = []struct {
	kind    manualKind
	label   string
	example string
}{
	{manualVAUnaided, "Visual acuity, unaided", "e.g. 6/9, 20/25-2, 0.8, CF"},
	{manualVAAided, "Visual acuity, habitual glasses", "e.g. 6/6, 20/20, 1.0"},
	{manualIOP, "IOP (Goldmann), mmHg", "e.g. 16"},
	{manualPD, "PD, mm (Both: binocular)", "e.g. 63.5"},
	{manualKeratometry, "Keratometry, K1 / K2", "e.g. 43.25 @ 180 / 44.00 @ 90 (D or mm)"},
	{manualAutorefraction, "Autorefraction", "e.g. -2.25 -0.75 x 180"},
	{manualLensometry, "Lensometry, habitual glasses", "e.g. -2.00 -0.50 x 175 add +2.00"},
}

// Plausible ranges of typed values; anything outside is a typing error.
const (
	minPD lane.Millimeters = 20 * lane.Millimeter
	maxPD lane.Millimeters = 90 * lane.Millimeter
)

// parseManual reads a value typed for kind and eye into a measurement
// (without patient, encounter or ids). Errors wrap lane.ErrInvalid with a
// message that says what to type.
func parseManual(kind manualKind, eye lane.Eye, text string) (lane.Measurement, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return lane.Measurement{}, lane.Invalidf("type a value")
	}
	if eye == lane.EyeUnknown {
		return lane.Measurement{}, lane.Invalidf("choose an eye")
	}
	perEye := func() error {
		if eye == lane.EyeBoth {
			return lane.Invalidf("choose R or L for this reading")
		}
		return nil
	}
	m := lane.Measurement{Eye: eye, Source: lane.SourceManual, Representative: true}
	switch kind {
	case manualVAUnaided, manualVAAided:
		va, err := lane.ParseVA(text, lane.VADecimal)
		if err != nil {
			return m, err
		}
		va.Distance = lane.DistanceFar
		va.Aided = kind == manualVAAided
		m.Kind, m.VA = lane.KindVA, &va
		m.Source = lane.SourceUnaided
		if va.Aided {
			m.Source = lane.SourceAided
		}
	case manualIOP:
		if err := perEye(); err != nil {
			return m, err
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return m, lane.Invalidf("IOP %q: type a number of mmHg", text)
		}
		p, err := lane.NewMmHg(f)
		if err != nil || p < 10 {
			return m, lane.Invalidf("IOP %q: expected 1 to 90 mmHg", text)
		}
		m.Kind, m.IOP = lane.KindIOP, &lane.IOP{Pressure: p, Method: lane.IOPGoldmann}
	case manualPD:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return m, lane.Invalidf("PD %q: type a number of millimetres", text)
		}
		v, err := lane.NewMillimeters(f)
		lo, hi := minPD, maxPD
		if eye != lane.EyeBoth {
			lo, hi = lo/2, hi/2
		}
		if err != nil || v < lo || v > hi {
			return m, lane.Invalidf("PD %q: expected %s to %s mm", text, lo, hi)
		}
		m.Kind, m.PD = lane.KindPD, &lane.PD{Value: v, Distance: lane.DistanceFar}
	case manualKeratometry:
		if err := perEye(); err != nil {
			return m, err
		}
		k, err := parseKeratometry(text)
		if err != nil {
			return m, err
		}
		m.Kind, m.Keratometry = lane.KindKeratometry, &k
	case manualAutorefraction, manualLensometry:
		if err := perEye(); err != nil {
			return m, err
		}
		r, err := lane.ParseRx(text)
		if err != nil {
			return m, err
		}
		if err := r.Validate(); err != nil {
			return m, err
		}
		m.Refraction = &r
		m.CylinderSign = r.CylinderConvention()
		if kind == manualAutorefraction {
			m.Kind, m.Source = lane.KindRefraction, lane.SourceAutorefraction
		} else {
			m.Kind, m.Source = lane.KindLensometry, lane.SourceLensometry
		}
	default:
		return m, lane.Invalidf("unknown reading")
	}
	return m, nil
}

// kMeridianRE matches one keratometry meridian: a power in dioptres or a
// radius in millimetres, then "@", "x" or "×" and an axis.
var kMeridianRE = regexp.MustCompile(`^\s*(?:K[12]\s*)?(\d{1,2}(?:\.\d{1,3})?)\s*(?:D|mm)?\s*(?:@|x|×|X)\s*(\d{1,3})\s*°?\s*$`)

// parseKeratometry reads "43.25 @ 180 / 44.00 @ 90" (powers) or
// "7.80 @ 180 / 7.67 @ 90" (radii in mm). K1 is the flatter meridian.
func parseKeratometry(text string) (lane.Keratometry, error) {
	parts := strings.FieldsFunc(text, func(r rune) bool { return r == '/' || r == ',' || r == ';' })
	if len(parts) != 2 {
		return lane.Keratometry{}, lane.Invalidf("keratometry %q: type both meridians, e.g. 43.25 @ 180 / 44.00 @ 90", text)
	}
	var ks [2]lane.KMeridian
	for i, p := range parts {
		sub := kMeridianRE.FindStringSubmatch(p)
		if sub == nil {
			return lane.Keratometry{}, lane.Invalidf("keratometry %q: expected a power or radius, @ and an axis", strings.TrimSpace(p))
		}
		v, _ := strconv.ParseFloat(sub[1], 64)
		deg, _ := strconv.Atoi(sub[2])
		axis, err := lane.NewAxis(deg)
		if err != nil {
			return lane.Keratometry{}, lane.Invalidf("keratometry axis %d: expected 0 to 180", deg)
		}
		var km lane.KMeridian
		km.Axis = axis
		switch {
		case v >= 5 && v <= 12: // a radius in mm
			r, _ := lane.NewMillimeters(v)
			pw, err := lane.CornealPower(r, 0)
			if err != nil {
				return lane.Keratometry{}, lane.Invalidf("keratometry radius %v mm: %v", v, err)
			}
			km.Radius, km.Power = r, pw.Round(10) // to 0.01 D, as keratometers print it
		case v >= 30 && v <= 65: // a power in D
			pw := lane.Diopters(math.Round(v * 1000)) // above lane.MaxPower, which bounds spectacle powers
			r, err := lane.CornealRadius(pw, 0)
			if err != nil {
				return lane.Keratometry{}, lane.Invalidf("keratometry power %v D: %v", v, err)
			}
			km.Radius, km.Power = r, pw
		default:
			return lane.Keratometry{}, lane.Invalidf("keratometry %v: expected a power of 30 to 65 D or a radius of 5 to 12 mm", v)
		}
		ks[i] = km
	}
	if ks[1].Power < ks[0].Power {
		ks[0], ks[1] = ks[1], ks[0]
	}
	return lane.Keratometry{K1: ks[0], K2: ks[1]}, nil
}
