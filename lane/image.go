package lane

import "time"

// ImageID identifies a stored image.
type ImageID string

// ImageKind is what an image shows, as the camera or DICOM ImageType says.
type ImageKind string

// Image kinds.
const (
	ImageColor   ImageKind = "color"
	ImageRedFree ImageKind = "red-free"
	ImageFA      ImageKind = "fa" // fluorescein angiography
	ImageAF      ImageKind = "af" // autofluorescence
	ImageOther   ImageKind = "other"
)

// Image is a retinal or anterior-segment image's metadata. The pixels are
// kept by the store, sealed; the domain only carries what describes them.
type Image struct {
	ID          ImageID
	PatientID   PatientID
	EncounterID EncounterID
	Eye         Eye
	Kind        ImageKind
	CapturedAt  time.Time
	// MediaType is the encoding as received ("image/jpeg", "application/dicom").
	MediaType string
	Width     int
	Height    int
	// PixelSpacing is the size of a pixel in micrometres (0 when unknown),
	// used to calibrate measurements.
	PixelSpacingUM float64
	SHA256         [32]byte
	Size           int64
	Instrument     InstrumentRef
	// StudyUID, SeriesUID and InstanceUID are set for DICOM images.
	StudyUID    string
	SeriesUID   string
	InstanceUID string

	Version int64
	Deleted bool
}

// AnnotationKind is the kind of mark on an image.
type AnnotationKind string

// Annotation kinds.
const (
	AnnotArrow    AnnotationKind = "arrow"
	AnnotCircle   AnnotationKind = "circle"
	AnnotFreehand AnnotationKind = "freehand"
	AnnotText     AnnotationKind = "text"
	AnnotLength   AnnotationKind = "length"
	AnnotArea     AnnotationKind = "area"
	AnnotDisc     AnnotationKind = "disc" // optic disc outline for cup-to-disc
	AnnotCup      AnnotationKind = "cup"
)

// Point is a position in image pixel coordinates.
type Point struct{ X, Y float64 }

// Annotation is a mark on an image, kept as data and never burnt into the
// pixels.
type Annotation struct {
	ID      string
	ImageID ImageID
	Kind    AnnotationKind
	Points  []Point
	Text    string
	Author  UserID
	At      time.Time
	Version int64
	Deleted bool
}
