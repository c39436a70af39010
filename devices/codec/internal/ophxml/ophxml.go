// Package ophxml decodes the "<Ophthalmology>" XML family shared by JOIA
// exports (TOPCON and others, ISO/TS 22218-1 shaped, namespaced) and
// NIDEK's own exports (same shape without namespaces, "Sphare" spelling,
// PrismX/PrismY with base attributes). The caller says which namespace URI
// each data class lives in ("" for none); elements in any other namespace
// (vendor blocks) are ignored.
//
// Every List reading is kept; the representative reading of an eye is the
// device's own Median/Average element when present, otherwise the median
// Examlane computes (per component; axes as meridians), or the sole reading.
package ophxml

import (
	"fmt"
	"strings"
	"time"

	"github.com/examlane/examlane/devices/codec"
	"github.com/examlane/examlane/devices/codec/internal/field"
	"github.com/examlane/examlane/devices/codec/internal/xmltree"
	"github.com/examlane/examlane/lane"
)

// Namespaces maps a data class ("Common", "REF", "KM", "TM", "LM", "SBJ")
// to the namespace URI its elements use, and back.
type Namespaces interface {
	URI(class string) string
	// Class returns the data class of a Measure element, "" if it is not
	// one this format defines.
	Class(measure *xmltree.Node) string
}

// Decoder turns a parsed document into a capture.
type Decoder struct {
	NS     Namespaces
	Format string
}

type state struct {
	c      lane.Capture
	ns     string // namespace of the class being decoded
	model  string
	pdSeen map[string]bool // class|eye|distance|value of PDs already kept
}

func (s *state) warn(format string, args ...any) {
	s.c.Warnings = append(s.c.Warnings, fmt.Sprintf(format, args...))
}

// Decode decodes root (an <Ophthalmology> element).
func (dec Decoder) Decode(root *xmltree.Node) (lane.Capture, error) {
	if root.Local != "Ophthalmology" {
		return lane.Capture{}, codec.Invalidf(dec.Format, "root element is not Ophthalmology")
	}
	s := &state{c: lane.Capture{Format: dec.Format}}
	if common := root.Child(dec.NS.URI("Common"), "Common"); common != nil {
		s.common(common, dec.NS.URI("Common"))
	} else {
		s.warn("no Common block: vendor, model and time unknown")
	}
	seen := map[string]bool{}
	measures := 0
	for _, m := range root.Children {
		if m.Local != "Measure" {
			continue
		}
		class := dec.NS.Class(m)
		if class == "" {
			continue // a vendor's own block
		}
		measures++
		if seen[class] {
			s.warn("%s data class sent twice", class)
		}
		seen[class] = true
		s.ns = m.Space
		switch class {
		case "REF":
			s.ref(m)
		case "KM":
			s.km(m)
		case "TM":
			s.tm(m)
		case "LM":
			s.lm(m)
		case "SBJ":
			s.sbj(m)
		default:
			s.warn("%s data class not imported", class)
		}
	}
	if measures == 0 {
		s.warn("no measurement in the file")
	}
	codec.Finish(&s.c)
	return s.c, nil
}

func (s *state) common(n *xmltree.Node, ns string) {
	s.c.Instrument.Vendor = clean(n.ChildValue(ns, "Company"), 40)
	s.c.Instrument.Model = clean(n.ChildValue(ns, "ModelName"), 40)
	s.model = strings.ToUpper(s.c.Instrument.Model)
	date, tm := n.ChildValue(ns, "Date"), n.ChildValue(ns, "Time")
	if date == "" {
		return
	}
	if t, ok := parseDateTime(date, tm); ok {
		s.c.DeviceTime = t
	} else {
		s.warn("device date unreadable")
	}
}

// parseDateTime reads "2013-12-06" (or 2013/12/06) and "21:31:27" as the
// device's wall clock in the lane's time zone.
func parseDateTime(date, tm string) (time.Time, bool) {
	date = strings.ReplaceAll(strings.TrimSpace(date), "/", "-")
	layout := "2006-01-02"
	v := date
	if tm = strings.TrimSpace(tm); tm != "" {
		if strings.Count(tm, ":") == 1 {
			tm += ":00"
		}
		layout += " 15:04:05"
		v += " " + tm
	}
	t, err := time.ParseInLocation(layout, v, time.Local)
	if err != nil || t.Year() < 1980 || t.Year() > 2200 {
		return time.Time{}, false
	}
	return t, true
}

// clean keeps a device string printable and short.
func clean(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > max {
		s = string(r[:max])
	}
	return s
}

// val returns the first non-empty value among the named children.
func (s *state) val(n *xmltree.Node, names ...string) string {
	for _, name := range names {
		if v := n.ChildValue(s.ns, name); v != "" {
			return v
		}
	}
	return ""
}

func (s *state) child(n *xmltree.Node, names ...string) *xmltree.Node {
	for _, name := range names {
		if c := n.Child(s.ns, name); c != nil {
			return c
		}
	}
	return nil
}

// eyes returns the R and L elements under n. NIDEK's LM-1800P labels them
// I and S (taken as right and left; unverified, hence the warning).
func (s *state) eyes(n *xmltree.Node) []eyeNode {
	var out []eyeNode
	if r := n.Child(s.ns, "R"); r != nil {
		out = append(out, eyeNode{lane.EyeRight, r})
	}
	if l := n.Child(s.ns, "L"); l != nil {
		out = append(out, eyeNode{lane.EyeLeft, l})
	}
	if len(out) == 0 {
		i, sn := n.Child(s.ns, "I"), n.Child(s.ns, "S")
		if i != nil || sn != nil {
			s.warn("eye blocks labelled I/S were read as right/left (unverified labelling)")
		}
		if i != nil {
			out = append(out, eyeNode{lane.EyeRight, i})
		}
		if sn != nil {
			out = append(out, eyeNode{lane.EyeLeft, sn})
		}
	}
	return out
}

type eyeNode struct {
	eye  lane.Eye
	node *xmltree.Node
}

// cylSign decides the convention of one reading: the declared mode when it
// agrees with the value, else the value's own sign.
func (s *state) cylSign(declared string, cyl lane.Diopters) lane.CylinderSign {
	sign, ok := field.CylinderMode(declared)
	actual := field.CylinderSign(cyl)
	if !ok || cyl == 0 {
		if ok {
			return sign
		}
		return actual
	}
	if sign != actual {
		s.warn("a cylinder's sign disagrees with the declared cylinder mode; the value's sign was used")
	}
	return actual
}

func (s *state) errorReading(class string, src lane.Source, eye lane.Eye, msg string) {
	s.c.Readings = append(s.c.Readings, lane.Measurement{
		Kind: lane.KindError, Eye: eye, Source: src,
		Message: class + ": " + clean(msg, 60),
	})
}

// ref decodes the REF (autorefraction) class.
func (s *state) ref(m *xmltree.Node) {
	mode := s.val(m, "CylinderMode")
	var vd lane.Millimeters
	if v := s.val(m, "VD"); v != "" {
		var err error
		if vd, err = field.Millimeters(v, 0, 20); err != nil {
			s.warn("REF: vertex distance unreadable")
		}
	}
	reading := func(eye lane.Eye, rf lane.Refraction) lane.Measurement {
		rf.Vertex = vd
		return lane.Measurement{Kind: lane.KindRefraction, Eye: eye, Source: lane.SourceAutorefraction,
			CylinderSign: s.cylSign(mode, rf.Cylinder), Refraction: &rf}
	}
	s.readSeries(m, series{class: "REF", src: lane.SourceAutorefraction, summary: []string{"Median", "Average"}, summaryWord: "median",
		read: func(n *xmltree.Node, eye lane.Eye, what string) (lane.Measurement, bool) {
			rf, ok := s.refraction(n, what)
			if !ok {
				return lane.Measurement{}, false
			}
			r := reading(eye, rf)
			r.Confidence = clean(s.val(n, "ConfidenceIndex"), 8)
			return r, true
		},
		median: func(eye lane.Eye, ms []lane.Measurement) lane.Measurement { return reading(eye, medianRefraction(ms)) },
	})
	if pd := s.child(m, "PD"); pd != nil {
		s.pd(s.val(pd, "Distance", "FarPD"), lane.EyeBoth, lane.DistanceFar, lane.SourceAutorefraction, "REF")
		s.pd(s.val(pd, "Near", "NearPD"), lane.EyeBoth, lane.DistanceNear, lane.SourceAutorefraction, "REF")
	}
}

// series is how a class (REF, KM, TM) lists one measured value per eye:
// the eye blocks sit under the class's own element (or directly under the
// Measure), each holding List elements and perhaps the device's summary.
type series struct {
	class       string      // the element and the name in warnings and error readings
	src         lane.Source // the source of its error readings
	summary     []string    // the summary element's names, in order of preference
	summaryWord string      // how warnings name the summary
	// read turns a List or summary element into a reading; false when it
	// holds no readable value (read warns).
	read func(n *xmltree.Node, eye lane.Eye, what string) (lane.Measurement, bool)
	// median computes the representative reading when the device gave no
	// summary.
	median func(eye lane.Eye, ms []lane.Measurement) lane.Measurement
}

// readSeries reads sr under m for each eye: a List with an Error becomes an
// error reading, the others readings with their confidence, then addSeries
// picks the representative. It returns, by eye, the index of the
// representative reading of every eye that has one.
func (s *state) readSeries(m *xmltree.Node, sr series) map[lane.Eye]int {
	el := s.child(m, sr.class)
	if el == nil {
		el = m
	}
	reps := map[lane.Eye]int{}
	for _, e := range s.eyes(el) {
		var list []lane.Measurement
		for i, l := range e.node.All(s.ns, "List") {
			if msg := s.val(l, "Error"); msg != "" {
				s.errorReading(sr.class, sr.src, e.eye, msg)
				continue
			}
			r, ok := sr.read(l, e.eye, fmt.Sprintf("%s %s #%d", sr.class, e.eye, i+1))
			if !ok {
				continue
			}
			r.Confidence = clean(s.val(l, "ConfidenceIndex"), 8)
			list = append(list, r)
		}
		var rep *lane.Measurement
		if sum := s.child(e.node, sr.summary...); sum != nil {
			if r, ok := sr.read(sum, e.eye, fmt.Sprintf("%s %s %s", sr.class, e.eye, sr.summaryWord)); ok {
				rep = &r
			}
		}
		s.addSeries(list, rep, func(ms []lane.Measurement) lane.Measurement { return sr.median(e.eye, ms) })
		if len(list) > 0 || rep != nil {
			reps[e.eye] = len(s.c.Readings) - 1
		}
	}
	return reps
}

// addSeries appends the List readings and the representative one: the
// device's, else a computed median, else the sole reading.
func (s *state) addSeries(list []lane.Measurement, rep *lane.Measurement, median func([]lane.Measurement) lane.Measurement) {
	s.c.Readings = append(s.c.Readings, list...)
	switch {
	case rep != nil:
		rep.Representative = true
		s.c.Readings = append(s.c.Readings, *rep)
	case len(list) == 1:
		s.c.Readings[len(s.c.Readings)-1].Representative = true
	case len(list) > 1:
		m := median(list)
		m.Representative = true
		codec.AddMethod(&m, codec.MethodMedian)
		s.c.Readings = append(s.c.Readings, m)
	}
}

// refraction reads Sphere/Cylinder/Axis (NIDEK: Sphare); false when the
// sphere is empty (not measured) or unreadable.
func (s *state) refraction(n *xmltree.Node, what string) (lane.Refraction, bool) {
	var rf lane.Refraction
	sph := s.val(n, "Sphere", "Sphare", "Sph")
	if sph == "" {
		return rf, false
	}
	var err error
	if rf.Sphere, err = field.Diopters(field.StripUnit(sph)); err != nil {
		s.warn("%s: sphere: %v", what, err)
		return rf, false
	}
	if c := s.val(n, "Cylinder", "Cyl"); c != "" {
		if rf.Cylinder, err = field.Diopters(field.StripUnit(c)); err != nil {
			s.warn("%s: cylinder: %v", what, err)
			return rf, false
		}
	}
	if rf.Axis, err = field.AxisFor(field.StripUnit(s.val(n, "Axis")), rf.Cylinder); err != nil {
		s.warn("%s: axis: %v", what, err)
		return rf, false
	}
	return rf, true
}

// medianRefraction takes the median of each component; axes are medians of
// meridians (unwrapped around the first reading's axis).
func medianRefraction(ms []lane.Measurement) lane.Refraction {
	var sph, cyl, ax []int
	ref := 0
	for _, m := range ms {
		sph = append(sph, int(m.Refraction.Sphere))
		cyl = append(cyl, int(m.Refraction.Cylinder))
		if a := int(m.Refraction.Axis); a != 0 {
			if ref == 0 {
				ref = a
			}
			ax = append(ax, unwrap(a, ref))
		}
	}
	rf := lane.Refraction{Sphere: lane.Diopters(codec.MedianInt(sph)), Cylinder: lane.Diopters(codec.MedianInt(cyl))}
	if rf.Cylinder != 0 && len(ax) > 0 {
		rf.Axis = lane.NormalizeAxis(codec.MedianInt(ax))
	}
	return rf
}

// unwrap moves axis a (a meridian) within ±90° of ref.
func unwrap(a, ref int) int {
	for a-ref > 90 {
		a -= 180
	}
	for ref-a > 90 {
		a += 180
	}
	return a
}

func (s *state) pd(v string, eye lane.Eye, dist lane.Distance, src lane.Source, class string) {
	if v == "" {
		return
	}
	mm, err := field.PD(field.StripUnit(v), eye != lane.EyeBoth)
	if err != nil {
		s.warn("%s: PD unreadable", class)
		return
	}
	key := fmt.Sprintf("%s|%v|%v|%d", class, eye, dist, mm)
	if s.pdSeen[key] {
		return // the same PD repeated (SBJ repeats it for every test)
	}
	if s.pdSeen == nil {
		s.pdSeen = map[string]bool{}
	}
	s.pdSeen[key] = true
	s.c.Readings = append(s.c.Readings, lane.Measurement{Kind: lane.KindPD, Eye: eye, Source: src, Representative: true,
		PD: &lane.PD{Value: mm, Distance: dist}})
}

// km decodes the KM (keratometry) class.
func (s *state) km(m *xmltree.Node) {
	var index int32
	if v := s.val(m, "RefractiveIndex"); v != "" {
		if f, err := field.Fixed(v, 4); err == nil && f > 10000 && f < 20000 {
			index = int32(f)
		} else {
			s.warn("KM: refractive index unreadable")
		}
	}
	reading := func(eye lane.Eye, k lane.Keratometry) lane.Measurement {
		k.Index = index
		return lane.Measurement{Kind: lane.KindKeratometry, Eye: eye, Source: lane.SourceObjective, Keratometry: &k}
	}
	s.readSeries(m, series{class: "KM", src: lane.SourceObjective, summary: []string{"Median"}, summaryWord: "median",
		read: func(n *xmltree.Node, eye lane.Eye, what string) (lane.Measurement, bool) {
			k, ok := s.kerato(n, what)
			return reading(eye, k), ok
		},
		median: func(eye lane.Eye, ms []lane.Measurement) lane.Measurement { return reading(eye, medianKerato(ms)) },
	})
}

func (s *state) kerato(n *xmltree.Node, what string) (lane.Keratometry, bool) {
	var k lane.Keratometry
	any := false
	for i, name := range []string{"R1", "R2"} {
		el := s.child(n, name)
		if el == nil {
			continue
		}
		var mer lane.KMeridian
		var err error
		if v := s.val(el, "Radius"); v != "" {
			if mer.Radius, err = field.Radius(field.StripUnit(v)); err != nil {
				s.warn("%s: %s radius: %v", what, name, err)
				return k, false
			}
		}
		if v := s.val(el, "Power"); v != "" {
			if mer.Power, err = field.KPower(field.StripUnit(v)); err != nil {
				s.warn("%s: %s power: %v", what, name, err)
				return k, false
			}
		}
		if v := s.val(el, "Axis"); v != "" {
			if mer.Axis, err = field.Axis(field.StripUnit(v)); err != nil {
				s.warn("%s: %s axis: %v", what, name, err)
				return k, false
			}
		}
		if mer.Radius != 0 || mer.Power != 0 {
			any = true
		}
		if i == 0 {
			k.K1 = mer
		} else {
			k.K2 = mer
		}
	}
	return k, any
}

func medianKerato(ms []lane.Measurement) lane.Keratometry {
	var out lane.Keratometry
	for i := 0; i < 2; i++ {
		var r, p, a []int
		ref := 0
		for _, m := range ms {
			mer := m.Keratometry.K1
			if i == 1 {
				mer = m.Keratometry.K2
			}
			if mer.Radius != 0 {
				r = append(r, int(mer.Radius))
			}
			if mer.Power != 0 {
				p = append(p, int(mer.Power))
			}
			if mer.Axis != 0 {
				if ref == 0 {
					ref = int(mer.Axis)
				}
				a = append(a, unwrap(int(mer.Axis), ref))
			}
		}
		mer := lane.KMeridian{Radius: lane.Millimeters(codec.MedianInt(r)), Power: lane.Diopters(codec.MedianInt(p))}
		if len(a) > 0 {
			mer.Axis = lane.NormalizeAxis(codec.MedianInt(a))
		}
		if i == 0 {
			out.K1 = mer
		} else {
			out.K2 = mer
		}
	}
	return out
}

// tm decodes the TM (tonometry) class; CorrectedIOP adds the corrected
// pressure and the thickness it used to the representative reading.
func (s *state) tm(m *xmltree.Node) {
	method := lane.IOPOther
	if strings.HasPrefix(s.model, "CT-") || strings.HasPrefix(s.model, "TRK-") || strings.HasPrefix(s.model, "NT-") {
		method = lane.IOPNonContact // air-puff tonometers
	}
	reading := func(eye lane.Eye, p lane.MmHg) lane.Measurement {
		return lane.Measurement{Kind: lane.KindIOP, Eye: eye, Source: lane.SourceObjective, IOP: &lane.IOP{Pressure: p, Method: method}}
	}
	reps := s.readSeries(m, series{class: "TM", src: lane.SourceObjective, summary: []string{"Average", "Median"}, summaryWord: "average",
		read: func(n *xmltree.Node, eye lane.Eye, what string) (lane.Measurement, bool) {
			p, ok := s.pressure(n, what)
			return reading(eye, p), ok
		},
		median: func(eye lane.Eye, ms []lane.Measurement) lane.Measurement {
			var v []int
			for _, x := range ms {
				v = append(v, int(x.IOP.Pressure))
			}
			return reading(eye, lane.MmHg(codec.MedianInt(v)))
		},
	})
	corr := s.child(m, "CorrectedIOP")
	if corr == nil {
		return
	}
	var formula *xmltree.Node
	for _, c := range corr.Children {
		if c.Space == s.ns && strings.HasPrefix(c.Local, "Formula") {
			formula = c
			break
		}
	}
	if formula == nil {
		return
	}
	for _, e := range s.eyes(formula) {
		i, ok := reps[e.eye]
		if !ok {
			continue
		}
		iop := s.c.Readings[i].IOP
		if v := s.val(e.node, "CCT"); v != "" {
			if t, err := field.MicrometersFromMM(field.StripUnit(v)); err == nil {
				iop.CCT = t
			} else {
				s.warn("TM %s: corneal thickness unreadable", e.eye)
			}
		}
		if c := s.child(e.node, "Corrected"); c != nil {
			if p, ok := s.pressure(c, fmt.Sprintf("TM %s corrected", e.eye)); ok {
				iop.Corrected = p
			}
		}
	}
}

// pressure reads IOP_mmHg, or converts IOP_Pa (whose unit attribute says
// hPa, kPa or Pa) when only that is given.
func (s *state) pressure(n *xmltree.Node, what string) (lane.MmHg, bool) {
	if v := s.val(n, "IOP_mmHg", "mmHg", "IOP"); v != "" {
		p, err := field.MmHg(field.StripUnit(v))
		if err != nil {
			s.warn("%s: pressure: %v", what, err)
			return 0, false
		}
		return p, true
	}
	el := s.child(n, "IOP_Pa")
	v := el.Value()
	if v == "" {
		return 0, false
	}
	unit, _ := el.Attribute("unit")
	var p lane.MmHg
	var err error
	switch strings.ToLower(unit) {
	case "hpa", "":
		p, err = field.MmHgFromHPa(field.StripUnit(v))
	case "kpa":
		p, err = field.MmHgFromKPa(field.StripUnit(v))
	default:
		err = fmt.Errorf("unit not understood: %w", lane.ErrInvalid)
	}
	if err != nil {
		s.warn("%s: pressure: %v", what, err)
		return 0, false
	}
	if unit == "" {
		unit = "hPa"
	}
	s.warn("%s: pressure sent in %s only; converted to mmHg", what, clean(unit, 8))
	return p, true
}

// lm decodes the LM (lensmeter) class, JOIA or NIDEK spelling.
func (s *state) lm(m *xmltree.Node) {
	mode := s.val(m, "CylinderMode")
	lmEl := s.child(m, "LM")
	if lmEl == nil {
		lmEl = m
	}
	for _, e := range s.eyes(lmEl) {
		n := e.node
		if msg := s.val(n, "Error"); msg != "" {
			s.errorReading("LM", lane.SourceLensometry, e.eye, msg)
			continue
		}
		rf, ok := s.refraction(n, "LM "+e.eye.String())
		if !ok {
			continue
		}
		if v := s.val(n, "Add1", "ADD", "Add"); v != "" {
			add, err := field.Diopters(field.StripUnit(v))
			if err != nil || add < 0 {
				s.warn("LM %s: add unreadable", e.eye)
			} else {
				rf.Add = add
			}
		}
		rf.Prism = s.lmPrism(n, e.eye)
		meas := lane.Measurement{Kind: lane.KindLensometry, Eye: e.eye, Source: lane.SourceLensometry, Representative: true,
			CylinderSign: s.cylSign(mode, rf.Cylinder), Confidence: clean(s.val(n, "ConfidenceIndex"), 8), Refraction: &rf}
		var notes []string
		for _, x := range []struct{ label, v string }{
			{"ADD2", s.val(n, "Add2", "ADD2")},
			{"near sphere", s.val(n, "NearSphere", "NearSphare")},
			{"near sphere 2", s.val(n, "NearSphere2", "NearSphare2")},
		} {
			if x.v == "" {
				continue
			}
			if d, err := field.Diopters(field.StripUnit(x.v)); err == nil {
				notes = append(notes, x.label+" "+d.String())
			}
		}
		meas.Note = strings.Join(notes, "; ")
		s.c.Readings = append(s.c.Readings, meas)
	}
	if pd := s.child(m, "PD"); pd != nil {
		for _, e := range []struct {
			name string
			eye  lane.Eye
		}{{"B", lane.EyeBoth}, {"R", lane.EyeRight}, {"L", lane.EyeLeft}} {
			el := s.child(pd, e.name)
			if el == nil {
				continue
			}
			s.pd(s.val(el, "Distance", "Far"), e.eye, lane.DistanceFar, lane.SourceLensometry, "LM")
			s.pd(s.val(el, "Near"), e.eye, lane.DistanceNear, lane.SourceLensometry, "LM")
		}
		s.pd(s.val(pd, "Distance"), lane.EyeBoth, lane.DistanceFar, lane.SourceLensometry, "LM")
	}
}

// lmPrism reads PrismX/PrismY with base attributes (NIDEK), polar
// Prism/PrismBase (NIDEK), or signed H/V (JOIA, whose sign convention we
// could not verify: the amount is kept, the base left unset, and a warning
// says so).
func (s *state) lmPrism(n *xmltree.Node, eye lane.Eye) lane.Prism {
	var p lane.Prism
	amount := func(el *xmltree.Node) (lane.PrismDiopters, bool, bool) {
		v := el.Value()
		if v == "" {
			return 0, false, false
		}
		a, neg, err := field.Prism(field.StripUnit(v))
		if err != nil {
			s.warn("LM %s: prism unreadable", eye)
			return 0, false, false
		}
		return a, neg, true
	}
	if x := s.child(n, "PrismX"); x != nil {
		if a, neg, ok := amount(x); ok && a != 0 {
			base, _ := x.Attribute("base")
			switch strings.ToLower(base) {
			case "in":
				p.H, p.HBase = a, lane.BaseIn
			case "out":
				p.H, p.HBase = a, lane.BaseOut
			default:
				s.warn("LM %s: horizontal prism base not stated", eye)
				p.H = a
			}
			if neg {
				s.warn("LM %s: negative horizontal prism amount", eye)
			}
		}
	}
	if y := s.child(n, "PrismY"); y != nil {
		if a, neg, ok := amount(y); ok && a != 0 {
			base, _ := y.Attribute("base")
			switch strings.ToLower(base) {
			case "up":
				p.V, p.VBase = a, lane.BaseUp
			case "down":
				p.V, p.VBase = a, lane.BaseDown
			default:
				s.warn("LM %s: vertical prism base not stated", eye)
				p.V = a
			}
			if neg {
				s.warn("LM %s: negative vertical prism amount", eye)
			}
		}
	}
	if !p.IsZero() {
		return p
	}
	if pr := s.child(n, "Prism"); pr != nil {
		if a, _, ok := amount(pr); ok && a != 0 {
			angle, err := field.Int(field.StripUnit(s.val(n, "PrismBase")))
			if err != nil {
				s.warn("LM %s: prism base angle unreadable; prism not imported", eye)
				return p
			}
			pp, err := field.PolarPrism(a, angle, eye)
			if err != nil {
				s.warn("LM %s: %v", eye, err)
				return p
			}
			return pp
		}
	}
	for _, c := range []struct {
		name string
		h    bool
	}{{"H", true}, {"V", false}} {
		el := s.child(n, c.name)
		if el == nil {
			continue
		}
		if a, _, ok := amount(el); ok && a != 0 {
			s.warn("LM %s: signed %s prism without a stated base (sign convention unverified); amount kept, base left unset", eye, c.name)
			if c.h {
				p.H = a
			} else {
				p.V = a
			}
		}
	}
	return p
}

// sbj decodes the SBJ (subjective) class: each RefractionTest/Type is a
// kind of refraction (TypeName) at one or more exam distances.
func (s *state) sbj(m *xmltree.Node) {
	rt := s.child(m, "RefractionTest")
	if rt == nil {
		rt = m
	}
	for _, typ := range rt.All(s.ns, "Type") {
		name := s.val(typ, "TypeName")
		src, kind, method, ok := sbjSource(name)
		if !ok {
			s.warn("SBJ: test type %q not imported", clean(name, 30))
			continue
		}
		for _, ex := range typ.All(s.ns, "ExamDistance") {
			dist := lane.DistanceFar
			if v := s.val(ex, "Distance"); v != "" {
				cm, err := field.Fixed(field.StripUnit(v), 0)
				if err != nil || cm <= 0 {
					s.warn("SBJ: exam distance unreadable")
					continue
				}
				if cm < 100 {
					dist = lane.DistanceNear
				}
			}
			data := s.child(ex, "RefractionData")
			var vd lane.Millimeters
			if data != nil && src != lane.SourceUnaided { // unaided tests carry acuities only
				if v := s.val(data, "VD"); v != "" {
					vd, _ = field.Millimeters(field.StripUnit(v), 0, 20)
				}
				for _, e := range s.eyes(data) {
					rf, ok := s.refraction(e.node, "SBJ "+e.eye.String())
					if !ok {
						continue
					}
					rf.Vertex = vd
					rf.Prism = s.sbjPrism(e.node, e.eye)
					meas := lane.Measurement{Kind: kind, Eye: e.eye, Source: src, Representative: true,
						CylinderSign: field.CylinderSign(rf.Cylinder), Refraction: &rf}
					if method != "" {
						codec.AddMethod(&meas, method)
					}
					if dist == lane.DistanceNear {
						codec.AddMethod(&meas, codec.MethodNear)
					}
					s.c.Readings = append(s.c.Readings, meas)
				}
			}
			if va := s.child(ex, "VA"); va != nil {
				for _, e := range []struct {
					name string
					eye  lane.Eye
				}{{"R", lane.EyeRight}, {"L", lane.EyeLeft}, {"B", lane.EyeBoth}} {
					s.sbjVA(s.child(va, e.name), e.eye, dist, src, src != lane.SourceUnaided)
				}
			}
			if pd := s.child(ex, "PD"); pd != nil {
				s.pd(s.val(pd, "B"), lane.EyeBoth, dist, src, "SBJ")
				s.pd(s.val(pd, "R"), lane.EyeRight, dist, src, "SBJ")
				s.pd(s.val(pd, "L"), lane.EyeLeft, dist, src, "SBJ")
			}
		}
	}
}

// sbjSource maps a TypeName to a source.
func sbjSource(name string) (lane.Source, lane.Kind, string, bool) {
	n := strings.ToLower(strings.Join(strings.Fields(name), " "))
	switch {
	case strings.HasPrefix(n, "prescription"), strings.HasPrefix(n, "final"):
		return lane.SourceFinal, lane.KindRefraction, "", true
	case strings.HasPrefix(n, "full correction"), strings.HasPrefix(n, "subjective"):
		return lane.SourceSubjective, lane.KindRefraction, "", true
	case strings.HasPrefix(n, "unaided"), strings.HasPrefix(n, "naked"):
		return lane.SourceUnaided, lane.KindRefraction, "", true
	case strings.HasPrefix(n, "objective"):
		return lane.SourceObjective, lane.KindRefraction, "", true
	case strings.HasPrefix(n, "current spectacles"), strings.HasPrefix(n, "current glasses"):
		return lane.SourceLensometry, lane.KindLensometry, "", true
	case strings.HasPrefix(n, "last rx"), strings.HasPrefix(n, "last prescription"):
		return lane.SourceManual, lane.KindRefraction, "last Rx", true
	}
	return "", "", "", false
}

func (s *state) sbjPrism(n *xmltree.Node, eye lane.Eye) lane.Prism {
	var p lane.Prism
	if v := s.val(n, "HPri"); v != "" {
		a, neg, err := field.Prism(field.StripUnit(v))
		base := strings.ToUpper(s.val(n, "HBase"))
		switch {
		case err != nil || neg:
			s.warn("SBJ %s: horizontal prism unreadable", eye)
		case a == 0:
		case base == "BI" || base == "IN":
			p.H, p.HBase = a, lane.BaseIn
		case base == "BO" || base == "OUT":
			p.H, p.HBase = a, lane.BaseOut
		default:
			s.warn("SBJ %s: horizontal prism base not understood", eye)
			p.H = a
		}
	}
	if v := s.val(n, "VPri"); v != "" {
		a, neg, err := field.Prism(field.StripUnit(v))
		base := strings.ToUpper(s.val(n, "VBase"))
		switch {
		case err != nil || neg:
			s.warn("SBJ %s: vertical prism unreadable", eye)
		case a == 0:
		case base == "BU" || base == "UP":
			p.V, p.VBase = a, lane.BaseUp
		case base == "BD" || base == "DOWN":
			p.V, p.VBase = a, lane.BaseDown
		default:
			s.warn("SBJ %s: vertical prism base not understood", eye)
			p.V = a
		}
	}
	if p.IsZero() {
		if v := s.val(n, "Prism"); v != "" {
			a, neg, err := field.Prism(field.StripUnit(v))
			angle, err2 := field.Int(field.StripUnit(s.val(n, "Angle")))
			if err != nil || neg || err2 != nil {
				s.warn("SBJ %s: polar prism unreadable", eye)
			} else if a != 0 {
				if pp, err := field.PolarPrism(a, angle, eye); err == nil {
					p = pp
				}
			}
		}
	}
	return p
}

// sbjVA reads one acuity; only the "Decimal" unit gives a decimal value,
// other notations are kept as text.
func (s *state) sbjVA(n *xmltree.Node, eye lane.Eye, dist lane.Distance, src lane.Source, aided bool) {
	v := n.Value()
	if v == "" {
		return
	}
	va := lane.VisualAcuity{Text: clean(v, 16), Distance: dist, Aided: aided}
	t := strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(t, "<"):
		va.Qualifier, t = lane.VALessThan, t[1:]
	case strings.HasPrefix(t, ">"):
		va.Qualifier, t = lane.VAMoreThan, t[1:]
	}
	unit, _ := n.Attribute("unit")
	if strings.EqualFold(unit, "Decimal") || unit == "" {
		f, err := field.Fixed(t, 3)
		if err != nil || f <= 0 || f > 4000 {
			s.warn("SBJ %s: acuity unreadable", eye)
			return
		}
		va.Decimal = float64(f) / 1000
	}
	s.c.Readings = append(s.c.Readings, lane.Measurement{Kind: lane.KindVA, Eye: eye, Source: src, Representative: true, VA: &va})
}

// DecodeData decodes NIDEK's plain "<Data>" exports (ARK-510A/560A,
// AR-360A, NT-530P): Company, ModelName, Date, Time, VD at the top, then per
// eye R|L: AR/ARList@No + ARMedian, KM (KMList + KMMedian, or R1/R2
// directly), NT/NTList@No + NTAverage + CorrectedIOP{Measured, Corrected,
// CCT}, PACHY/PACHYList@No{Thickness} + PACHYAverage; and PD/PDList@No
// {FarPD, NearPD}. Values may carry their unit ("550um", "14mmHg"). Only
// the NT/PACHY paths are confirmed by a real file's field list; the AR and
// PD paths follow third-party notes and KM is a best guess [U].
func (dec Decoder) DecodeData(root *xmltree.Node) (lane.Capture, error) {
	if root.Local != "Data" {
		return lane.Capture{}, codec.Invalidf(dec.Format, "root element is not Data")
	}
	s := &state{c: lane.Capture{Format: dec.Format}, ns: root.Space}
	s.c.Instrument.Vendor = clean(s.val(root, "Company"), 40)
	s.c.Instrument.Model = clean(s.val(root, "ModelName", "Model"), 40)
	if s.c.Instrument.Model == "" {
		// The NT-530P names itself in a comment ("OCULUS NT-530P").
		s.c.Instrument.Model = clean(s.val(root, "Comment"), 40)
	}
	s.model = strings.ToUpper(s.c.Instrument.Model)
	if s.c.Instrument.Vendor == "" {
		s.c.Instrument.Vendor = "NIDEK"
	}
	if d := s.val(root, "Date"); d != "" {
		if t, ok := parseDateTime(d, s.val(root, "Time")); ok {
			s.c.DeviceTime = t
		} else {
			s.warn("device date unreadable")
		}
	}
	var vd lane.Millimeters
	if v := s.val(root, "VD"); v != "" {
		vd, _ = field.Millimeters(field.StripUnit(v), 0, 20)
	}
	before := len(s.c.Readings)
	for _, e := range s.eyes(root) {
		if ar := s.child(e.node, "AR"); ar != nil {
			s.dataAR(ar, e.eye, vd)
		}
		if km := s.child(e.node, "KM"); km != nil {
			s.dataKM(km, e.eye)
		}
		if nt := s.child(e.node, "NT"); nt != nil {
			s.dataNT(nt, e.eye)
		}
		if pa := s.child(e.node, "PACHY"); pa != nil {
			s.dataPachy(pa, e.eye)
		}
	}
	if pd := s.child(root, "PD"); pd != nil {
		lists := pd.All(s.ns, "PDList")
		if len(lists) == 0 {
			lists = []*xmltree.Node{pd}
		}
		for _, l := range lists {
			s.pd(s.val(l, "FarPD", "Distance"), lane.EyeBoth, lane.DistanceFar, lane.SourceAutorefraction, "PD")
			s.pd(s.val(l, "NearPD", "Near"), lane.EyeBoth, lane.DistanceNear, lane.SourceAutorefraction, "PD")
		}
	}
	if len(s.c.Readings) == before && len(s.c.Warnings) == 0 {
		s.warn("no measurement in the file")
	}
	codec.Finish(&s.c)
	return s.c, nil
}

func (s *state) dataAR(ar *xmltree.Node, eye lane.Eye, vd lane.Millimeters) {
	var list []lane.Measurement
	for i, l := range ar.All(s.ns, "ARList") {
		if msg := s.val(l, "Error"); msg != "" {
			s.errorReading("AR", lane.SourceAutorefraction, eye, msg)
			continue
		}
		rf, ok := s.refraction(l, fmt.Sprintf("AR %s #%d", eye, i+1))
		if !ok {
			continue
		}
		rf.Vertex = vd
		list = append(list, lane.Measurement{Kind: lane.KindRefraction, Eye: eye, Source: lane.SourceAutorefraction,
			CylinderSign: field.CylinderSign(rf.Cylinder), Confidence: clean(s.val(l, "ConfidenceIndex"), 8), Refraction: &rf})
	}
	var rep *lane.Measurement
	if med := s.child(ar, "ARMedian", "ARAverage"); med != nil {
		if rf, ok := s.refraction(med, fmt.Sprintf("AR %s median", eye)); ok {
			rf.Vertex = vd
			rep = &lane.Measurement{Kind: lane.KindRefraction, Eye: eye, Source: lane.SourceAutorefraction,
				CylinderSign: field.CylinderSign(rf.Cylinder), Refraction: &rf}
		}
	}
	s.addSeries(list, rep, func(ms []lane.Measurement) lane.Measurement {
		rf := medianRefraction(ms)
		rf.Vertex = vd
		return lane.Measurement{Kind: lane.KindRefraction, Eye: eye, Source: lane.SourceAutorefraction,
			CylinderSign: field.CylinderSign(rf.Cylinder), Refraction: &rf}
	})
}

func (s *state) dataKM(km *xmltree.Node, eye lane.Eye) {
	var list []lane.Measurement
	for i, l := range km.All(s.ns, "KMList") {
		if k, ok := s.kerato(l, fmt.Sprintf("KM %s #%d", eye, i+1)); ok {
			list = append(list, lane.Measurement{Kind: lane.KindKeratometry, Eye: eye, Source: lane.SourceObjective, Keratometry: &k})
		}
	}
	var rep *lane.Measurement
	med := s.child(km, "KMMedian", "KMAverage")
	if med == nil && len(list) == 0 {
		med = km // R1/R2 directly under KM
	}
	if med != nil {
		if k, ok := s.kerato(med, fmt.Sprintf("KM %s", eye)); ok {
			rep = &lane.Measurement{Kind: lane.KindKeratometry, Eye: eye, Source: lane.SourceObjective, Keratometry: &k}
		}
	}
	s.addSeries(list, rep, func(ms []lane.Measurement) lane.Measurement {
		k := medianKerato(ms)
		return lane.Measurement{Kind: lane.KindKeratometry, Eye: eye, Source: lane.SourceObjective, Keratometry: &k}
	})
}

func (s *state) dataNT(nt *xmltree.Node, eye lane.Eye) {
	var list []lane.Measurement
	for i, l := range nt.All(s.ns, "NTList") {
		if msg := s.val(l, "Error"); msg != "" {
			s.errorReading("NT", lane.SourceObjective, eye, msg)
			continue
		}
		if p, ok := s.pressure(l, fmt.Sprintf("NT %s #%d", eye, i+1)); ok {
			list = append(list, lane.Measurement{Kind: lane.KindIOP, Eye: eye, Source: lane.SourceObjective,
				Confidence: clean(s.val(l, "ConfidenceIndex"), 8), IOP: &lane.IOP{Pressure: p, Method: lane.IOPNonContact}})
		}
	}
	var rep *lane.Measurement
	if avg := s.child(nt, "NTAverage", "NTMedian"); avg != nil {
		if p, ok := s.pressure(avg, fmt.Sprintf("NT %s average", eye)); ok {
			rep = &lane.Measurement{Kind: lane.KindIOP, Eye: eye, Source: lane.SourceObjective, IOP: &lane.IOP{Pressure: p, Method: lane.IOPNonContact}}
		}
	}
	n := len(s.c.Readings)
	s.addSeries(list, rep, func(ms []lane.Measurement) lane.Measurement {
		var v []int
		for _, x := range ms {
			v = append(v, int(x.IOP.Pressure))
		}
		return lane.Measurement{Kind: lane.KindIOP, Eye: eye, Source: lane.SourceObjective,
			IOP: &lane.IOP{Pressure: lane.MmHg(codec.MedianInt(v)), Method: lane.IOPNonContact}}
	})
	corr := s.child(nt, "CorrectedIOP")
	if corr == nil || len(s.c.Readings) == n {
		return
	}
	iop := s.c.Readings[len(s.c.Readings)-1].IOP
	if v := s.val(corr, "CCT"); v != "" {
		if t, err := thickness(v); err == nil {
			iop.CCT = t
		} else {
			s.warn("NT %s: corneal thickness unreadable", eye)
		}
	}
	if c := s.child(corr, "Corrected"); c != nil {
		if p, ok := s.pressure(c, fmt.Sprintf("NT %s corrected", eye)); ok {
			iop.Corrected = p
		}
	}
}

func (s *state) dataPachy(pa *xmltree.Node, eye lane.Eye) {
	var list []lane.Measurement
	for _, l := range pa.All(s.ns, "PACHYList") {
		if msg := s.val(l, "Error"); msg != "" {
			s.errorReading("PACHY", lane.SourceObjective, eye, msg)
			continue
		}
		v := s.val(l, "Thickness", "CCT")
		if v == "" {
			continue
		}
		t, err := thickness(v)
		if err != nil {
			s.warn("PACHY %s: thickness unreadable", eye)
			continue
		}
		list = append(list, lane.Measurement{Kind: lane.KindPachymetry, Eye: eye, Source: lane.SourceObjective,
			Pachymetry: &lane.Pachymetry{CCT: t}})
	}
	var rep *lane.Measurement
	if avg := s.child(pa, "PACHYAverage", "PACHYMedian"); avg != nil {
		if v := s.val(avg, "Thickness", "CCT"); v != "" {
			if t, err := thickness(v); err == nil {
				rep = &lane.Measurement{Kind: lane.KindPachymetry, Eye: eye, Source: lane.SourceObjective, Pachymetry: &lane.Pachymetry{CCT: t}}
			} else {
				s.warn("PACHY %s: average thickness unreadable", eye)
			}
		}
	}
	s.addSeries(list, rep, func(ms []lane.Measurement) lane.Measurement {
		var v []int
		for _, x := range ms {
			v = append(v, int(x.Pachymetry.CCT))
		}
		return lane.Measurement{Kind: lane.KindPachymetry, Eye: eye, Source: lane.SourceObjective,
			Pachymetry: &lane.Pachymetry{CCT: lane.Micrometers(codec.MedianInt(v))}}
	})
}

// thickness reads a corneal thickness in µm ("550", "550um", "550µm") or
// mm ("0.550", "0.550mm").
func thickness(v string) (lane.Micrometers, error) {
	t := strings.ToLower(strings.TrimSpace(v))
	switch {
	case strings.HasSuffix(t, "mm"):
		return field.MicrometersFromMM(field.StripUnit(t))
	case strings.HasSuffix(t, "um"), strings.HasSuffix(t, "µm"):
		return field.Micrometers(field.StripUnit(t))
	case strings.ContainsAny(t, ".,"):
		if f, err := field.Fixed(t, 3); err == nil && f < 10000 {
			return field.MicrometersFromMM(t)
		}
	}
	return field.Micrometers(t)
}
