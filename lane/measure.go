package lane

import (
	"fmt"
	"time"
)

// Eye says which eye a value belongs to.
type Eye uint8

// The eyes. EyeBoth is binocular (e.g. a binocular PD or VA OU).
const (
	EyeUnknown Eye = iota
	EyeRight
	EyeLeft
	EyeBoth
)

// String returns "R", "L", "B" or "?".
func (e Eye) String() string {
	switch e {
	case EyeRight:
		return "R"
	case EyeLeft:
		return "L"
	case EyeBoth:
		return "B"
	}
	return "?"
}

// ParseEye accepts R/L/B, OD/OS/OU and right/left/both in any case.
func ParseEye(s string) (Eye, error) {
	switch s {
	case "R", "r", "OD", "od", "right", "Right", "RIGHT":
		return EyeRight, nil
	case "L", "l", "OS", "os", "left", "Left", "LEFT":
		return EyeLeft, nil
	case "B", "b", "OU", "ou", "both", "Both", "BOTH":
		return EyeBoth, nil
	}
	return EyeUnknown, fmt.Errorf("eye %q: want R, L or B", s)
}

// Source says how a refraction (or other value) was obtained.
type Source string

// Measurement sources. Lensometry is the habitual glasses read on a
// lensmeter.
const (
	SourceAutorefraction Source = "autorefraction"
	SourceObjective      Source = "objective" // retinoscopy or phoropter objective
	SourceSubjective     Source = "subjective"
	SourceFinal          Source = "final"
	SourceLensometry     Source = "lensmeter" // habitual glasses / finished glasses
	SourceCycloplegic    Source = "cycloplegic"
	SourceTrialFrame     Source = "trial-frame"
	SourceUnaided        Source = "unaided"
	SourceAided          Source = "aided"
	SourceManual         Source = "manual"
)

// Kind is the kind of value a Measurement holds.
type Kind string

// Measurement kinds.
const (
	KindRefraction  Kind = "refraction"
	KindKeratometry Kind = "keratometry"
	KindIOP         Kind = "iop"
	KindPachymetry  Kind = "pachymetry"
	KindLensometry  Kind = "lensometry"
	KindPD          Kind = "pd"
	KindVA          Kind = "va"
	KindError       Kind = "error" // an instrument reported that it could not measure
)

// CylinderSign is the cylinder convention a value was written in.
type CylinderSign int8

// Cylinder conventions.
const (
	MinusCylinder CylinderSign = -1
	PlusCylinder  CylinderSign = +1
)

// String returns "-" or "+".
func (c CylinderSign) String() string {
	if c == PlusCylinder {
		return "+"
	}
	return "-"
}

// HorizontalBase is the base direction of a horizontal prism.
type HorizontalBase uint8

// Horizontal bases.
const (
	BaseNoneH HorizontalBase = iota
	BaseIn
	BaseOut
)

// VerticalBase is the base direction of a vertical prism.
type VerticalBase uint8

// Vertical bases.
const (
	BaseNoneV VerticalBase = iota
	BaseUp
	BaseDown
)

// Prism is a prescribed or measured prism for one eye in rectangular form.
type Prism struct {
	H     PrismDiopters
	HBase HorizontalBase
	V     PrismDiopters
	VBase VerticalBase
}

// IsZero reports whether there is no prism.
func (p Prism) IsZero() bool { return p.H == 0 && p.V == 0 }

// Refraction is a sphero-cylindrical correction for one eye, as written or
// as an instrument reported it.
type Refraction struct {
	Sphere   Diopters
	Cylinder Diopters
	Axis     Axis // zero when Cylinder is zero
	// Add is the near addition; zero when none.
	Add   Diopters
	Prism Prism
	// Vertex is the vertex distance the powers refer to; zero when unstated.
	Vertex Millimeters
}

// KMeridian is one principal meridian of a keratometry reading.
type KMeridian struct {
	Radius Millimeters // radius of curvature
	Power  Diopters    // keratometric power
	Axis   Axis
}

// Keratometry is a corneal curvature reading: the flat (K1) and steep (K2)
// meridians and the keratometric index used to turn radius into power.
type Keratometry struct {
	K1, K2 KMeridian
	// Index is the keratometric index in ten-thousandths (13375 = 1.3375);
	// zero means the conventional 1.3375.
	Index int32
}

// IOPMethod names how a pressure was taken.
type IOPMethod string

// IOP methods.
const (
	IOPNonContact IOPMethod = "non-contact"
	IOPGoldmann   IOPMethod = "goldmann"
	IOPRebound    IOPMethod = "rebound"
	IOPOther      IOPMethod = "other"
)

// IOP is an intraocular pressure reading.
type IOP struct {
	Pressure MmHg
	Method   IOPMethod
	// Corrected is the pressure corrected for corneal thickness, zero when
	// not computed; CCT is the thickness used.
	Corrected MmHg
	CCT       Micrometers
}

// Pachymetry is a central corneal thickness reading.
type Pachymetry struct {
	CCT Micrometers
}

// Distance is far or near.
type Distance uint8

// Distances.
const (
	DistanceFar Distance = iota
	DistanceNear
)

// String returns "far" or "near".
func (d Distance) String() string {
	if d == DistanceNear {
		return "near"
	}
	return "far"
}

// PD is a pupillary distance: binocular when the measurement's eye is
// EyeBoth, monocular (centre to nose) for EyeRight or EyeLeft.
type PD struct {
	Value    Millimeters
	Distance Distance
}

// VAQualifier qualifies a visual acuity value.
type VAQualifier uint8

// Acuity qualifiers.
const (
	VAExact    VAQualifier = iota
	VALessThan             // "<0.1": worse than the smallest line shown
	VAMoreThan             // ">1.5"
)

// VisualAcuity is an acuity measurement. Decimal is the canonical value
// (1.0 = 20/20 = 6/6 = logMAR 0.0); Text keeps the notation as recorded
// (e.g. "20/25-2", "6/9", "0.8", "CF").
type VisualAcuity struct {
	Decimal   float64
	Text      string
	Qualifier VAQualifier
	Letters   int // letters missed (negative) or extra (positive) on the line
	Pinhole   bool
	Distance  Distance
	Aided     bool // with correction
	// LowVision holds CF, HM, LP or NLP when the acuity is below the chart.
	LowVision string
}

// InstrumentRef identifies the device that produced a value.
type InstrumentRef struct {
	Vendor  string
	Model   string
	Serial  string
	Profile string // the lane's device profile name
}

// MeasurementID identifies a measurement.
type MeasurementID string

// CaptureID identifies a raw instrument capture (the exact bytes received).
type CaptureID string

// Measurement is one clinical value with its provenance. Exactly one of the
// value pointers matching Kind is set (none for KindError).
type Measurement struct {
	ID          MeasurementID
	PatientID   PatientID
	EncounterID EncounterID
	Kind        Kind
	Eye         Eye
	Source      Source
	// Method is free text about technique (e.g. "NCT", "cycloplegic 1%").
	Method     string
	Instrument InstrumentRef
	// DeviceTime is the instrument's clock when it took the value (zero when
	// the instrument did not say); ReceivedAt is the lane's clock on arrival.
	DeviceTime time.Time
	ReceivedAt time.Time
	CaptureID  CaptureID
	// Representative marks the value chosen to stand for several readings
	// (median/average or the device's own), or a sole reading.
	Representative bool
	// CylinderSign is the convention the instrument reported in; stored
	// refractions keep the device's convention.
	CylinderSign CylinderSign
	// Confidence is the instrument's confidence index or reliability mark,
	// verbatim.
	Confidence string
	// Message explains a KindError measurement or carries a device remark.
	Message string
	// Pending marks an instrument reading awaiting the technician's review
	// (accept, re-take or assign); it syncs as a preliminary Observation.
	Pending bool
	// RecordedBy is the user who accepted or entered the value.
	RecordedBy UserID
	Note       string

	Refraction  *Refraction
	Keratometry *Keratometry
	IOP         *IOP
	Pachymetry  *Pachymetry
	PD          *PD
	VA          *VisualAcuity

	// Version is the store's row version; Deleted marks a tombstone.
	Version int64
	Deleted bool
}

// Capture is what an instrument sent in one transmission: the raw bytes, the
// decoded readings (not yet bound to a patient) and any warnings.
type Capture struct {
	ID CaptureID
	// PatientID and EncounterID bind the capture to the chart that was open
	// when it arrived; both empty while it waits to be assigned (it arrived
	// with no chart open, or while the lane was locked).
	PatientID   PatientID
	EncounterID EncounterID
	Format      string // codec name, e.g. "nidek-rt", "joia"
	Instrument  InstrumentRef
	DeviceTime  time.Time
	ReceivedAt  time.Time
	Raw         []byte
	SHA256      [32]byte
	Readings    []Measurement
	Warnings    []string
	// Image is set when the capture is a camera picture waiting to be
	// filed (IngestImage found no chart open, or the picture names
	// another patient): Raw holds its bytes, Image its metadata without
	// patient or encounter. AssignCapture files it with AttachImage's
	// rules.
	Image *Image
}
