package lane

import "time"

// PrescriptionID identifies a prescription.
type PrescriptionID string

// LensType is the spectacle lens design, which selects the verification
// tolerances.
type LensType string

// Lens types.
const (
	LensSingleVision LensType = "sv"
	LensMultifocal   LensType = "multifocal"
	LensProgressive  LensType = "pal"
)

// SpectacleRx is a spectacle prescription. Right and Left are in the
// convention the prescriber wrote (usually minus cylinder).
type SpectacleRx struct {
	ID          PrescriptionID
	PatientID   PatientID
	EncounterID EncounterID
	Right, Left Refraction
	// PD is the distance PD (binocular); MonoPD, when set, holds R and L.
	PD      Millimeters
	MonoPDR Millimeters
	MonoPDL Millimeters
	NearPD  Millimeters
	Lens    LensType
	Issued  Date
	Expires Date
	// Prescriber is the signing optometrist; SignedAt is zero for a draft.
	Prescriber UserID
	SignedAt   time.Time
	Note       string

	Version int64
	Updated time.Time
	Deleted bool
}

// Signed reports whether the prescription has been signed.
func (r SpectacleRx) Signed() bool { return !r.SignedAt.IsZero() }

// ContactLens is a contact lens specification for one eye.
type ContactLens struct {
	Brand     string
	BaseCurve Millimeters
	Diameter  Millimeters
	Power     Refraction
}

// ContactLensRx is a contact lens prescription.
type ContactLensRx struct {
	ID          PrescriptionID
	PatientID   PatientID
	EncounterID EncounterID
	Right, Left ContactLens
	Issued      Date
	Expires     Date
	Prescriber  UserID
	SignedAt    time.Time
	Note        string

	Version int64
	Updated time.Time
	Deleted bool
}

// Dispensing records glasses handed over after verification.
type Dispensing struct {
	ID             string
	PatientID      PatientID
	PrescriptionID PrescriptionID
	VerifiedBy     UserID
	At             time.Time
	Pass           bool
	Note           string
}
