package fhir

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"

	"github.com/examlane/examlane/lane"
)

// imageTypes are the resource types an annotated image can have on a
// server: the lane writes DocumentReference (photos) and ImagingStudy
// (DICOM) and accepts Media on pull.
var imageTypes = []string{"DocumentReference", "ImagingStudy", "Media"}

// Bounds on a pulled annotation's points.
const (
	maxPointsJSON = 2 << 20
	maxPoints     = 100_000
)

// Basic maps an image annotation to a Basic. imageType is the FHIR type of
// the annotated image's resource on the server: ResourceTypeOf(image),
// i.e. "ImagingStudy" for DICOM and "DocumentReference" for a photo, or
// "Media" for an image pulled from one. The subject is imageType/a.ImageID.
//
// Basic.created is a date in R4, so the instant of the annotation travels
// in the extension annotated-at; kind, points (compact JSON [[x,y],...]),
// text and the deleted marker are extensions too.
func (m Mapper) Basic(a lane.Annotation, imageType string) (*Basic, error) {
	if !slices.Contains(imageTypes, imageType) {
		return nil, invalidf("annotation: %q is not an image resource type", imageType)
	}
	pts, err := encodePoints(a.Points)
	if err != nil {
		return nil, err
	}
	r := &Basic{Base: Base{ResourceType: "Basic"}}
	r.Identifier = []Identifier{laneIdentifier(a.ID)}
	r.Code = concept(SystemResource, CodeAnnotation, "Image annotation")
	r.Subject = Ref(imageType, string(a.ImageID))
	r.Author = Ref("Practitioner", string(a.Author))
	x := codeExt(ExtAnnotKind, string(a.Kind))
	x = append(x, strExt(ExtAnnotPoints, pts)...)
	x = append(x, strExt(ExtAnnotText, a.Text)...)
	if !a.At.IsZero() {
		r.Created = a.At.UTC().Format("2006-01-02")
		x = append(x, Extension{URL: ExtAnnotatedAt, ValueDateTime: instant(a.At)})
	}
	if a.Deleted {
		x = append(x, Extension{URL: ExtDeleted, ValueBoolean: boolPtr(true)})
	}
	r.Extension = x
	return r, nil
}

// AnnotationFrom maps a Basic back to an image annotation. A Basic that is
// not an Examlane annotation gives ErrUnsupported; one whose subject is not
// an image, or whose points do not read, an error wrapping lane.ErrInvalid.
// The annotation's ImageID is the id in the subject reference.
func (m Mapper) AnnotationFrom(r *Basic) (lane.Annotation, error) {
	if !hasCode(&r.Code, SystemResource, CodeAnnotation) {
		return lane.Annotation{}, ErrUnsupported
	}
	a := lane.Annotation{ID: recordID(r)}
	_, img := imageRef(r.Subject)
	if a.ImageID = lane.ImageID(img); a.ImageID == "" {
		return lane.Annotation{}, invalidf("annotation: subject is not an image")
	}
	a.Author = lane.UserID(RefID(r.Author, "Practitioner"))
	a.Kind = lane.AnnotationKind(extStr(r.Extension, ExtAnnotKind))
	a.Text = extStr(r.Extension, ExtAnnotText)
	var err error
	if a.Points, err = decodePoints(extStr(r.Extension, ExtAnnotPoints)); err != nil {
		return lane.Annotation{}, err
	}
	at := r.Created
	if e := getExt(r.Extension, ExtAnnotatedAt); e != nil && e.ValueDateTime != "" {
		at = e.ValueDateTime
	}
	if a.At, err = ParseTime(at); err != nil {
		return lane.Annotation{}, err
	}
	if e := getExt(r.Extension, ExtDeleted); e != nil {
		a.Deleted = isTrue(e.ValueBoolean)
	}
	return a, nil
}

// imageRef returns the resource type and id a reference to an image
// resource points at; both "" when it points at something else.
func imageRef(ref *Reference) (typ, id string) {
	for _, t := range imageTypes {
		if id := RefID(ref, t); id != "" {
			return t, id
		}
	}
	return "", ""
}

// encodePoints writes points as compact JSON, [[x,y],...], each number in
// the shortest form that reads back exactly.
func encodePoints(ps []lane.Point) (string, error) {
	if len(ps) == 0 {
		return "", nil
	}
	num := func(b []byte, v float64) []byte {
		f := byte('f')
		if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
			f = 'e'
		}
		return strconv.AppendFloat(b, v, f, -1, 64)
	}
	b := make([]byte, 0, 2+len(ps)*14)
	b = append(b, '[')
	for i, p := range ps {
		if math.IsNaN(p.X) || math.IsInf(p.X, 0) || math.IsNaN(p.Y) || math.IsInf(p.Y, 0) {
			return "", invalidf("annotation: point %d is not a finite number", i)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = num(append(b, '['), p.X)
		b = num(append(b, ','), p.Y)
		b = append(b, ']')
	}
	return string(append(b, ']')), nil
}

// decodePoints reads what encodePoints wrote (any JSON spelling of it).
func decodePoints(s string) ([]lane.Point, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > maxPointsJSON {
		return nil, invalidf("annotation: points longer than %d bytes", maxPointsJSON)
	}
	var raw [][]float64
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, invalidf("annotation: points are not [[x,y],...]")
	}
	if len(raw) > maxPoints {
		return nil, invalidf("annotation: more than %d points", maxPoints)
	}
	if len(raw) == 0 {
		return nil, nil
	}
	out := make([]lane.Point, len(raw))
	for i, p := range raw {
		if len(p) != 2 {
			return nil, invalidf("annotation: point %d is not [x,y]", i)
		}
		out[i] = lane.Point{X: p[0], Y: p[1]}
	}
	return out, nil
}
