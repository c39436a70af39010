package fhir

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/examlane/examlane/lane"
)

// Component codes in SystemMeasure. Observation.code carries the lane Kind
// as a code in the same system.
const (
	compSphere       = "sphere"
	compCylinder     = "cylinder"
	compAxis         = "axis"
	compAdd          = "add"
	compPrismH       = "prism-horizontal"
	compPrismHBase   = "prism-horizontal-base"
	compPrismV       = "prism-vertical"
	compPrismVBase   = "prism-vertical-base"
	compVertex       = "vertex-distance"
	compK1Radius     = "k1-radius"
	compK1Power      = "k1-power"
	compK1Axis       = "k1-axis"
	compK2Radius     = "k2-radius"
	compK2Power      = "k2-power"
	compK2Axis       = "k2-axis"
	compKIndex       = "keratometric-index"
	compIOPCorrected = "iop-corrected"
	compCCT          = "cct"
	compDistance     = "distance"
	compVANotation   = "va-notation"
	compVALetters    = "va-letters"
	compVAPinhole    = "va-pinhole"
	compVAAided      = "va-aided"
	compVALowVision  = "va-low-vision"
)

// deviceRefID is the local id of the contained Device describing the
// instrument.
const deviceRefID = "instrument"

var kinds = map[lane.Kind]string{
	lane.KindRefraction:  "Refraction",
	lane.KindKeratometry: "Keratometry",
	lane.KindIOP:         "Intraocular pressure",
	lane.KindPachymetry:  "Central corneal thickness",
	lane.KindLensometry:  "Lensometry",
	lane.KindPD:          "Pupillary distance",
	lane.KindVA:          "Visual acuity",
	lane.KindError:       "Instrument error",
}

func own(code string) Coding { return Coding{System: SystemMeasure, Code: code} }

// observationCode is the code of a measurement: the Examlane kind plus the
// verified standard code where one fits exactly.
func observationCode(ms lane.Measurement) CodeableConcept {
	cc := CodeableConcept{Coding: []Coding{{System: SystemMeasure, Code: string(ms.Kind), Display: kinds[ms.Kind]}}, Text: kinds[ms.Kind]}
	switch ms.Kind {
	case lane.KindRefraction:
		cc.Coding = append(cc.Coding, Coding{System: SystemSNOMED, Code: SNOMEDRefraction, Display: "Refraction"})
		if ms.Source == lane.SourceSubjective {
			cc.Coding = append(cc.Coding, Coding{System: SystemLOINC, Code: LOINCSubjectivePanel, Display: "Subjective refraction panel"})
		}
	case lane.KindIOP:
		cc.Coding = append(cc.Coding, Coding{System: SystemSNOMED, Code: SNOMEDIOP, Display: "Intraocular pressure"})
	case lane.KindPD:
		if ms.Eye == lane.EyeBoth && ms.Source == lane.SourceAutorefraction && ms.PD != nil && ms.PD.Distance == lane.DistanceFar {
			cc.Coding = append(cc.Coding, Coding{System: SystemLOINC, Code: LOINCPDBinocularAR, Display: "Eye Pupillary distance.binocular Autorefractor.auto"})
		}
	}
	return cc
}

// Observation maps a measurement: category exam, the kind's code, laterality
// in bodySite, the source and technique in method, the instrument as a
// contained Device, effectiveDateTime = the device's clock and issued = the
// lane's receipt time, and the value as valueQuantity or components with
// UCUM units.
func (m Mapper) Observation(ms lane.Measurement) (*Observation, error) {
	if _, ok := kinds[ms.Kind]; !ok {
		return nil, invalidf("measurement kind %q", ms.Kind)
	}
	o := &Observation{Base: Base{ResourceType: "Observation"}, Status: "final"}
	o.Identifier = []Identifier{laneIdentifier(string(ms.ID))}
	o.Category = []CodeableConcept{concept(SystemObsCategory, "exam", "Exam")}
	o.Code = observationCode(ms)
	o.Subject = Ref("Patient", string(ms.PatientID))
	o.Encounter = Ref("Encounter", string(ms.EncounterID))
	o.EffectiveDateTime = instant(ms.DeviceTime)
	o.Issued = instant(ms.ReceivedAt)
	if ref := Ref("Practitioner", string(ms.RecordedBy)); ref != nil {
		o.Performer = []Reference{*ref}
	}
	o.BodySite = eyeConcept(ms.Eye)
	if meth := methodConcept(ms); meth != nil {
		o.Method = meth
	}
	if in := ms.Instrument; in != (lane.InstrumentRef{}) {
		dev := m.Device(in)
		dev.ID = deviceRefID
		raw, err := json.Marshal(dev)
		if err != nil {
			return nil, invalidf("instrument: %v", err)
		}
		o.Contained = []json.RawMessage{raw}
		o.Device = &Reference{Reference: "#" + deviceRefID, Display: joinNonEmpty(in.Vendor, in.Model)}
	}
	x := strExt(ExtCaptureID, string(ms.CaptureID))
	if ms.Representative {
		x = append(x, Extension{URL: ExtRepresentative, ValueBoolean: boolPtr(true)})
	}
	switch ms.CylinderSign {
	case lane.MinusCylinder:
		x = append(x, Extension{URL: ExtCylinderSign, ValueCode: "minus"})
	case lane.PlusCylinder:
		x = append(x, Extension{URL: ExtCylinderSign, ValueCode: "plus"})
	}
	x = append(x, strExt(ExtConfidence, ms.Confidence)...)
	x = append(x, strExt(ExtMessage, ms.Message)...)
	o.Extension = x
	if ms.Note != "" {
		o.Note = []Annotation{{Text: ms.Note}}
	}
	if err := setValue(o, ms); err != nil {
		return nil, err
	}
	return o, nil
}

func methodConcept(ms lane.Measurement) *CodeableConcept {
	cc := &CodeableConcept{Text: ms.Method}
	if ms.Source != "" {
		cc.Coding = append(cc.Coding, Coding{System: SystemSource, Code: string(ms.Source)})
	}
	if ms.IOP != nil && ms.IOP.Method != "" {
		cc.Coding = append(cc.Coding, Coding{System: SystemIOPMethod, Code: string(ms.IOP.Method)})
	}
	if cc.Text == "" && len(cc.Coding) == 0 {
		return nil
	}
	return cc
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}

func quantComp(code string, v json.Number, unit string, extra ...Coding) ObservationComponent {
	return ObservationComponent{
		Code:          CodeableConcept{Coding: append([]Coding{own(code)}, extra...)},
		ValueQuantity: quantity(v, unit),
	}
}

func conceptComp(code, system, value string) ObservationComponent {
	return ObservationComponent{
		Code:                 CodeableConcept{Coding: []Coding{own(code)}},
		ValueCodeableConcept: &CodeableConcept{Coding: []Coding{{System: system, Code: value}}},
	}
}

func setValue(o *Observation, ms lane.Measurement) error {
	missing := func() error { return invalidf("measurement kind %s without its value", ms.Kind) }
	switch ms.Kind {
	case lane.KindRefraction, lane.KindLensometry:
		if ms.Refraction == nil {
			return missing()
		}
		o.Component = refractionComponents(*ms.Refraction, ms.Kind, ms.Eye)
	case lane.KindKeratometry:
		k := ms.Keratometry
		if k == nil {
			return missing()
		}
		var steepL []Coding
		if ms.Eye == lane.EyeLeft {
			steepL = []Coding{{System: SystemLOINC, Code: LOINCSteepPowerL, Display: "Left cornea Steep refractive power by Keratometry"}}
		}
		o.Component = []ObservationComponent{
			quantComp(compK1Radius, mmNum(k.K1.Radius), UnitMillimeter),
			quantComp(compK1Power, dioptersNum(k.K1.Power), UnitDiopter),
			quantComp(compK1Axis, intNum(int64(k.K1.Axis)), UnitDegree),
			quantComp(compK2Radius, mmNum(k.K2.Radius), UnitMillimeter),
			quantComp(compK2Power, dioptersNum(k.K2.Power), UnitDiopter, steepL...),
			quantComp(compK2Axis, intNum(int64(k.K2.Axis)), UnitDegree),
		}
		if k.Index != 0 {
			o.Component = append(o.Component, quantComp(compKIndex, fixed(int64(k.Index), 4, 4), UnitOne))
		}
	case lane.KindIOP:
		p := ms.IOP
		if p == nil {
			return missing()
		}
		o.ValueQuantity = quantity(mmHgNum(p.Pressure), UnitMmHg)
		if p.Corrected != 0 {
			o.Component = append(o.Component, quantComp(compIOPCorrected, mmHgNum(p.Corrected), UnitMmHg))
		}
		if p.CCT != 0 {
			o.Component = append(o.Component, quantComp(compCCT, intNum(int64(p.CCT)), UnitMicrometer))
		}
	case lane.KindPachymetry:
		if ms.Pachymetry == nil {
			return missing()
		}
		o.ValueQuantity = quantity(intNum(int64(ms.Pachymetry.CCT)), UnitMicrometer)
	case lane.KindPD:
		if ms.PD == nil {
			return missing()
		}
		o.ValueQuantity = quantity(mmNum(ms.PD.Value), UnitMillimeter)
		o.Component = []ObservationComponent{conceptComp(compDistance, SystemDistance, ms.PD.Distance.String())}
	case lane.KindVA:
		va := ms.VA
		if va == nil {
			return missing()
		}
		if math.IsNaN(va.Decimal) || math.IsInf(va.Decimal, 0) || va.Decimal < 0 || va.Decimal > 10 {
			return invalidf("visual acuity out of range")
		}
		if va.Decimal != 0 {
			q := &Quantity{Value: json.Number(strconv.FormatFloat(va.Decimal, 'f', -1, 64)), Unit: "decimal", System: SystemUCUM, Code: UnitOne}
			switch va.Qualifier {
			case lane.VALessThan:
				q.Comparator = "<"
			case lane.VAMoreThan:
				q.Comparator = ">"
			}
			o.ValueQuantity = q
		}
		if va.Text != "" {
			o.Component = append(o.Component, ObservationComponent{Code: CodeableConcept{Coding: []Coding{own(compVANotation)}}, ValueString: va.Text})
		}
		if va.Letters != 0 {
			o.Component = append(o.Component, ObservationComponent{Code: CodeableConcept{Coding: []Coding{own(compVALetters)}}, ValueInteger: intPtr(int64(va.Letters))})
		}
		if va.Pinhole {
			o.Component = append(o.Component, ObservationComponent{Code: CodeableConcept{Coding: []Coding{own(compVAPinhole)}}, ValueBoolean: boolPtr(true)})
		}
		o.Component = append(o.Component,
			conceptComp(compDistance, SystemDistance, va.Distance.String()),
			ObservationComponent{Code: CodeableConcept{Coding: []Coding{own(compVAAided)}}, ValueBoolean: boolPtr(va.Aided)})
		if va.LowVision != "" {
			o.Component = append(o.Component, ObservationComponent{Code: CodeableConcept{Coding: []Coding{own(compVALowVision)}}, ValueString: va.LowVision})
		}
	case lane.KindError:
		o.DataAbsentReason = &CodeableConcept{Coding: []Coding{{System: SystemDataAbsent, Code: "error", Display: "Error"}}, Text: ms.Message}
	}
	return nil
}

// refractionComponents writes sphere, cylinder and axis with the verified
// SNOMED codes (and the method-agnostic LOINC per-eye codes for a
// refraction, or the lensmeter sphere code for a lensometry), then add,
// prism and vertex in Examlane codes.
func refractionComponents(r lane.Refraction, kind lane.Kind, eye lane.Eye) []ObservationComponent {
	sph := []Coding{{System: SystemSNOMED, Code: SNOMEDSphere, Display: "Power of sphere"}}
	cyl := []Coding{{System: SystemSNOMED, Code: SNOMEDCylinder, Display: "Power of cylinder"}}
	ax := []Coding{{System: SystemSNOMED, Code: SNOMEDAxis, Display: "Axis of cylinder"}}
	switch {
	case kind == lane.KindLensometry:
		sph = append(sph, Coding{System: SystemLOINC, Code: LOINCLensSphere, Display: "Corrective lens Sphere far by Lensmeter"})
	case eye == lane.EyeRight:
		sph = append(sph, Coding{System: SystemLOINC, Code: LOINCSphereR, Display: "Spherical power Right eye"})
		cyl = append(cyl, Coding{System: SystemLOINC, Code: LOINCCylinderR, Display: "Cylindrical power Right eye"})
		ax = append(ax, Coding{System: SystemLOINC, Code: LOINCAxisR, Display: "Cylinder axis Right eye"})
	case eye == lane.EyeLeft:
		sph = append(sph, Coding{System: SystemLOINC, Code: LOINCSphereL, Display: "Spherical power Left eye"})
		cyl = append(cyl, Coding{System: SystemLOINC, Code: LOINCCylinderL, Display: "Cylindrical power Left eye"})
		ax = append(ax, Coding{System: SystemLOINC, Code: LOINCAxisL, Display: "Cylinder axis Left eye"})
	}
	c := []ObservationComponent{
		quantComp(compSphere, dioptersNum(r.Sphere), UnitDiopter, sph...),
		quantComp(compCylinder, dioptersNum(r.Cylinder), UnitDiopter, cyl...),
	}
	if r.Axis != 0 || r.Cylinder != 0 {
		c = append(c, quantComp(compAxis, intNum(int64(r.Axis)), UnitDegree, ax...))
	}
	if r.Add != 0 {
		c = append(c, quantComp(compAdd, dioptersNum(r.Add), UnitDiopter))
	}
	p := r.Prism
	if p.H != 0 || p.HBase != lane.BaseNoneH {
		c = append(c, quantComp(compPrismH, prismNum(p.H), UnitPrismDiopter))
		if b := hBaseCode(p.HBase); b != "" {
			c = append(c, conceptComp(compPrismHBase, SystemVisionBase, b))
		}
	}
	if p.V != 0 || p.VBase != lane.BaseNoneV {
		c = append(c, quantComp(compPrismV, prismNum(p.V), UnitPrismDiopter))
		if b := vBaseCode(p.VBase); b != "" {
			c = append(c, conceptComp(compPrismVBase, SystemVisionBase, b))
		}
	}
	if r.Vertex != 0 {
		c = append(c, quantComp(compVertex, mmNum(r.Vertex), UnitMillimeter))
	}
	return c
}

func hBaseCode(b lane.HorizontalBase) string {
	switch b {
	case lane.BaseIn:
		return "in"
	case lane.BaseOut:
		return "out"
	}
	return ""
}

func vBaseCode(b lane.VerticalBase) string {
	switch b {
	case lane.BaseUp:
		return "up"
	case lane.BaseDown:
		return "down"
	}
	return ""
}

func hBaseFrom(s string) (lane.HorizontalBase, error) {
	switch s {
	case "in":
		return lane.BaseIn, nil
	case "out":
		return lane.BaseOut, nil
	case "":
		return lane.BaseNoneH, nil
	}
	return 0, invalidf("horizontal prism base %q", s)
}

func vBaseFrom(s string) (lane.VerticalBase, error) {
	switch s {
	case "up":
		return lane.BaseUp, nil
	case "down":
		return lane.BaseDown, nil
	case "":
		return lane.BaseNoneV, nil
	}
	return 0, invalidf("vertical prism base %q", s)
}

// component finds a component by its Examlane code, else by any of the
// standard codings given.
func component(o *Observation, code string, std ...Coding) *ObservationComponent {
	for i := range o.Component {
		if hasCode(&o.Component[i].Code, SystemMeasure, code) {
			return &o.Component[i]
		}
	}
	for i := range o.Component {
		for _, s := range std {
			if hasCode(&o.Component[i].Code, s.System, s.Code) {
				return &o.Component[i]
			}
		}
	}
	return nil
}

// quantValue returns the component's valueQuantity value, checking the unit
// when the component states one in UCUM.
func quantValue(c *ObservationComponent, unit string) (json.Number, bool, error) {
	if c == nil || c.ValueQuantity == nil || c.ValueQuantity.Value == "" {
		return "", false, nil
	}
	q := c.ValueQuantity
	if q.System == SystemUCUM && q.Code != "" && q.Code != unit {
		return "", false, invalidf("component unit %q, want %q", q.Code, unit)
	}
	return q.Value, true, nil
}

func intValue(n json.Number) (int64, error) {
	v, err := parseFixed(n, 0)
	if err != nil {
		return 0, err
	}
	return v, nil
}

// kindOf finds the lane kind of an observation: the Examlane code, else a
// verified standard code.
func kindOf(o *Observation) (lane.Kind, bool) {
	if k := lane.Kind(codeIn(&o.Code, SystemMeasure)); k != "" {
		_, ok := kinds[k]
		return k, ok
	}
	switch {
	case hasCode(&o.Code, SystemSNOMED, SNOMEDRefraction), hasCode(&o.Code, SystemLOINC, LOINCSubjectivePanel):
		return lane.KindRefraction, true
	case hasCode(&o.Code, SystemSNOMED, SNOMEDIOP):
		return lane.KindIOP, true
	case hasCode(&o.Code, SystemLOINC, LOINCPDBinocularAR):
		return lane.KindPD, true
	}
	return "", false
}

// MeasurementFrom maps a FHIR Observation to a measurement. Observations
// that are not eye measurements the lane knows give ErrUnsupported; a status
// of entered-in-error marks the measurement deleted.
func (m Mapper) MeasurementFrom(o *Observation) (lane.Measurement, error) {
	kind, ok := kindOf(o)
	if !ok {
		return lane.Measurement{}, ErrUnsupported
	}
	ms := lane.Measurement{ID: lane.MeasurementID(recordID(o)), Kind: kind}
	ms.Deleted = o.Status == "entered-in-error"
	ms.PatientID = lane.PatientID(RefID(o.Subject, "Patient"))
	ms.EncounterID = lane.EncounterID(RefID(o.Encounter, "Encounter"))
	ms.Eye = eyeFrom(o.BodySite)
	var err error
	if ms.DeviceTime, err = ParseTime(o.EffectiveDateTime); err != nil {
		return lane.Measurement{}, err
	}
	if ms.ReceivedAt, err = ParseTime(o.Issued); err != nil {
		return lane.Measurement{}, err
	}
	for i := range o.Performer {
		if id := RefID(&o.Performer[i], "Practitioner"); id != "" {
			ms.RecordedBy = lane.UserID(id)
			break
		}
	}
	if o.Method != nil {
		ms.Method = o.Method.Text
		ms.Source = lane.Source(codeIn(o.Method, SystemSource))
	}
	if ms.Source == "" && hasCode(&o.Code, SystemLOINC, LOINCSubjectivePanel) {
		ms.Source = lane.SourceSubjective
	}
	if in, ok := containedInstrument(o, m); ok {
		ms.Instrument = in
	}
	ms.CaptureID = lane.CaptureID(extStr(o.Extension, ExtCaptureID))
	if e := getExt(o.Extension, ExtRepresentative); e != nil {
		ms.Representative = isTrue(e.ValueBoolean)
	}
	switch extStr(o.Extension, ExtCylinderSign) {
	case "minus":
		ms.CylinderSign = lane.MinusCylinder
	case "plus":
		ms.CylinderSign = lane.PlusCylinder
	}
	ms.Confidence = extStr(o.Extension, ExtConfidence)
	ms.Message = extStr(o.Extension, ExtMessage)
	if ms.Message == "" && o.DataAbsentReason != nil && kind == lane.KindError {
		ms.Message = o.DataAbsentReason.Text
	}
	if len(o.Note) > 0 {
		ms.Note = o.Note[0].Text
	}
	if err := readValue(o, &ms); err != nil {
		return lane.Measurement{}, err
	}
	return ms, nil
}

func containedInstrument(o *Observation, m Mapper) (lane.InstrumentRef, bool) {
	if o.Device == nil || len(o.Device.Reference) < 2 || o.Device.Reference[0] != '#' {
		return lane.InstrumentRef{}, false
	}
	want := o.Device.Reference[1:]
	for _, raw := range o.Contained {
		var d Device
		if json.Unmarshal(raw, &d) != nil || d.ResourceType != "Device" || d.ID != want {
			continue
		}
		return m.InstrumentFrom(&d), true
	}
	return lane.InstrumentRef{}, false
}

func readValue(o *Observation, ms *lane.Measurement) error {
	switch ms.Kind {
	case lane.KindRefraction, lane.KindLensometry:
		r, err := readRefraction(o)
		if err != nil {
			return err
		}
		ms.Refraction = &r
	case lane.KindKeratometry:
		var k lane.Keratometry
		for _, f := range []struct {
			code string
			dst  *lane.KMeridian
		}{{compK1Radius, &k.K1}, {compK2Radius, &k.K2}} {
			if v, ok, err := quantValue(component(o, f.code), UnitMillimeter); err != nil {
				return err
			} else if ok {
				if f.dst.Radius, err = millimeters(v); err != nil {
					return err
				}
			}
		}
		for _, f := range []struct {
			code string
			dst  *lane.KMeridian
		}{{compK1Power, &k.K1}, {compK2Power, &k.K2}} {
			if v, ok, err := quantValue(component(o, f.code), UnitDiopter); err != nil {
				return err
			} else if ok {
				if f.dst.Power, err = dioptersWithin(v, maxKPower); err != nil {
					return err
				}
			}
		}
		for _, f := range []struct {
			code string
			dst  *lane.KMeridian
		}{{compK1Axis, &k.K1}, {compK2Axis, &k.K2}} {
			if v, ok, err := quantValue(component(o, f.code), UnitDegree); err != nil {
				return err
			} else if ok {
				a, err := intValue(v)
				if err != nil {
					return err
				}
				if f.dst.Axis, err = axisOf(a); err != nil {
					return err
				}
			}
		}
		if v, ok, err := quantValue(component(o, compKIndex), UnitOne); err != nil {
			return err
		} else if ok {
			idx, err := parseFixed(v, 4)
			if err != nil {
				return err
			}
			if idx < 10000 || idx > 20000 {
				return invalidf("keratometric index out of range")
			}
			k.Index = int32(idx)
		}
		ms.Keratometry = &k
	case lane.KindIOP:
		var p lane.IOP
		if o.ValueQuantity == nil {
			return invalidf("intraocular pressure without a value")
		}
		var err error
		if p.Pressure, err = mmHg(o.ValueQuantity.Value); err != nil {
			return err
		}
		if v, ok, err := quantValue(component(o, compIOPCorrected), UnitMmHg); err != nil {
			return err
		} else if ok {
			if p.Corrected, err = mmHg(v); err != nil {
				return err
			}
		}
		if v, ok, err := quantValue(component(o, compCCT), UnitMicrometer); err != nil {
			return err
		} else if ok {
			c, err := intValue(v)
			if err != nil {
				return err
			}
			if c < 0 || c > 1500 {
				return invalidf("thickness out of range")
			}
			p.CCT = lane.Micrometers(c)
		}
		p.Method = lane.IOPMethod(codeIn(o.Method, SystemIOPMethod))
		ms.IOP = &p
	case lane.KindPachymetry:
		if o.ValueQuantity == nil {
			return invalidf("pachymetry without a value")
		}
		c, err := intValue(o.ValueQuantity.Value)
		if err != nil {
			return err
		}
		if c < 0 || c > 1500 {
			return invalidf("thickness out of range")
		}
		ms.Pachymetry = &lane.Pachymetry{CCT: lane.Micrometers(c)}
	case lane.KindPD:
		if o.ValueQuantity == nil {
			return invalidf("pupillary distance without a value")
		}
		v, err := millimeters(o.ValueQuantity.Value)
		if err != nil {
			return err
		}
		pd := &lane.PD{Value: v}
		if c := component(o, compDistance); c != nil && codeIn(c.ValueCodeableConcept, SystemDistance) == "near" {
			pd.Distance = lane.DistanceNear
		}
		ms.PD = pd
	case lane.KindVA:
		va := &lane.VisualAcuity{}
		if q := o.ValueQuantity; q != nil && q.Value != "" {
			f, err := strconv.ParseFloat(string(q.Value), 64)
			if err != nil || f < 0 || f > 10 {
				return invalidf("visual acuity is not a decimal in 0..10")
			}
			va.Decimal = f
			switch q.Comparator {
			case "<", "<=":
				va.Qualifier = lane.VALessThan
			case ">", ">=":
				va.Qualifier = lane.VAMoreThan
			}
		}
		if c := component(o, compVANotation); c != nil {
			va.Text = c.ValueString
		}
		if c := component(o, compVALetters); c != nil {
			l := deref(c.ValueInteger)
			if l < -100 || l > 100 {
				return invalidf("visual acuity letters out of range")
			}
			va.Letters = int(l)
		}
		if c := component(o, compVAPinhole); c != nil {
			va.Pinhole = isTrue(c.ValueBoolean)
		}
		if c := component(o, compVAAided); c != nil {
			va.Aided = isTrue(c.ValueBoolean)
		}
		if c := component(o, compDistance); c != nil && codeIn(c.ValueCodeableConcept, SystemDistance) == "near" {
			va.Distance = lane.DistanceNear
		}
		if c := component(o, compVALowVision); c != nil {
			va.LowVision = c.ValueString
		}
		ms.VA = va
	}
	return nil
}

func readRefraction(o *Observation) (lane.Refraction, error) {
	var r lane.Refraction
	var err error
	sph := component(o, compSphere, Coding{System: SystemSNOMED, Code: SNOMEDSphere}, Coding{System: SystemLOINC, Code: LOINCSphereR},
		Coding{System: SystemLOINC, Code: LOINCSphereL}, Coding{System: SystemLOINC, Code: LOINCLensSphere})
	v, ok, err := quantValue(sph, UnitDiopter)
	if err != nil {
		return r, err
	}
	if !ok {
		return r, invalidf("refraction without a sphere")
	}
	if r.Sphere, err = diopters(v); err != nil {
		return r, err
	}
	cyl := component(o, compCylinder, Coding{System: SystemSNOMED, Code: SNOMEDCylinder}, Coding{System: SystemLOINC, Code: LOINCCylinderR}, Coding{System: SystemLOINC, Code: LOINCCylinderL})
	if v, ok, err := quantValue(cyl, UnitDiopter); err != nil {
		return r, err
	} else if ok {
		if r.Cylinder, err = diopters(v); err != nil {
			return r, err
		}
	}
	ax := component(o, compAxis, Coding{System: SystemSNOMED, Code: SNOMEDAxis}, Coding{System: SystemLOINC, Code: LOINCAxisR}, Coding{System: SystemLOINC, Code: LOINCAxisL})
	if v, ok, err := quantValue(ax, UnitDegree); err != nil {
		return r, err
	} else if ok {
		a, err := intValue(v)
		if err != nil {
			return r, err
		}
		if r.Axis, err = axisOf(a); err != nil {
			return r, err
		}
		if r.Axis == 0 && r.Cylinder != 0 {
			r.Axis = 180 // 0 ≡ 180 for a real cylinder
		}
	}
	if v, ok, err := quantValue(component(o, compAdd), UnitDiopter); err != nil {
		return r, err
	} else if ok {
		if r.Add, err = diopters(v); err != nil {
			return r, err
		}
	}
	if v, ok, err := quantValue(component(o, compPrismH), UnitPrismDiopter); err != nil {
		return r, err
	} else if ok {
		if r.Prism.H, err = prismDiopters(v); err != nil {
			return r, err
		}
	}
	if c := component(o, compPrismHBase); c != nil {
		if r.Prism.HBase, err = hBaseFrom(codeIn(c.ValueCodeableConcept, SystemVisionBase)); err != nil {
			return r, err
		}
	}
	if v, ok, err := quantValue(component(o, compPrismV), UnitPrismDiopter); err != nil {
		return r, err
	} else if ok {
		if r.Prism.V, err = prismDiopters(v); err != nil {
			return r, err
		}
	}
	if c := component(o, compPrismVBase); c != nil {
		if r.Prism.VBase, err = vBaseFrom(codeIn(c.ValueCodeableConcept, SystemVisionBase)); err != nil {
			return r, err
		}
	}
	if v, ok, err := quantValue(component(o, compVertex), UnitMillimeter); err != nil {
		return r, err
	} else if ok {
		if r.Vertex, err = millimeters(v); err != nil {
			return r, err
		}
	}
	return r, nil
}
