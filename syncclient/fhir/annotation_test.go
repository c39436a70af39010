package fhir

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
)

// subjectType is the image resource type a Basic's subject names.
func subjectType(b *Basic) string {
	typ, _ := imageRef(b.Subject)
	return typ
}

// annotationSample is a synthetic annotation and the type of its image's
// resource.
type annotationSample struct {
	a         lane.Annotation
	imageType string
}

func sampleAnnotations() map[string]annotationSample {
	return map[string]annotationSample{
		"annotation-photo": {lane.Annotation{
			ID: "0b6f3c1e-9999-4a2b-8c3d-000000000009", ImageID: "img-photo-1", Kind: lane.AnnotCircle,
			Points: []lane.Point{{X: 320.5, Y: 240}, {X: 352.25, Y: 240}}, Text: "Drusen?", Author: "dr-1",
			At: t0.Add(90 * time.Second),
		}, "DocumentReference"},
		"annotation-dicom": {lane.Annotation{
			ID: "0b6f3c1e-aaaa-4a2b-8c3d-00000000000a", ImageID: "img-dicom-1", Kind: lane.AnnotFreehand,
			// sub-pixel, negative, tiny and huge coordinates all read back exactly
			Points: []lane.Point{{X: 0, Y: 0}, {X: -1.5, Y: 1e-7}, {X: 1.0 / 3, Y: 2e21}, {X: 639.999, Y: 479}},
			Author: "tech-1", At: t0.Add(123456789 * time.Nanosecond), Deleted: true,
		}, "ImagingStudy"},
		"annotation-text": {lane.Annotation{
			ID: "0b6f3c1e-bbbb-4a2b-8c3d-00000000000b", ImageID: "img-photo-1", Kind: lane.AnnotText,
			Points: []lane.Point{{X: 10, Y: 20}}, Text: "Disc margin \"blurred\", see note", Author: "dr-1", At: t0,
		}, "DocumentReference"},
	}
}

// TestAnnotationRoundTrip maps each sample annotation → Basic → JSON →
// Basic → annotation and wants it back unchanged, with its golden file.
func TestAnnotationRoundTrip(t *testing.T) {
	m := Mapper{}
	for name, s := range sampleAnnotations() {
		t.Run(name, func(t *testing.T) {
			b, err := m.Basic(s.a, s.imageType)
			if err != nil {
				t.Fatalf("Basic: %v", err)
			}
			if want := s.imageType + "/" + string(s.a.ImageID); b.Subject == nil || b.Subject.Reference != want {
				t.Errorf("subject = %+v, want %s", b.Subject, want)
			}
			if !hasCode(&b.Code, SystemResource, CodeAnnotation) {
				t.Errorf("code = %+v", b.Code)
			}
			if want := s.a.At.UTC().Format("2006-01-02"); b.Created != want {
				t.Errorf("created = %q, want the date %s (R4 Basic.created is a date)", b.Created, want)
			}
			checkGolden(t, name, b)
			got := readBack(t, m, b)
			if !reflect.DeepEqual(got, s.a) {
				t.Errorf("round trip changed the annotation\n got %+v\nwant %+v", got, s.a)
			}
			if typ := ResourceTypeOf(got); typ != "Basic" {
				t.Errorf("ResourceTypeOf = %q, want Basic", typ)
			}
		})
	}
}

func TestAnnotationPointsEncoding(t *testing.T) {
	b, err := (Mapper{}).Basic(lane.Annotation{ID: "a", ImageID: "i", Points: []lane.Point{{X: 12.5, Y: 30}, {X: 40, Y: -0.25}, {X: 1e-7, Y: 1e21}}}, "ImagingStudy")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := extStr(b.Extension, ExtAnnotPoints), "[[12.5,30],[40,-0.25],[1e-07,1e+21]]"; got != want {
		t.Errorf("points = %s, want %s", got, want)
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		_, err := (Mapper{}).Basic(lane.Annotation{ID: "a", ImageID: "i", Points: []lane.Point{{X: 1, Y: bad}}}, "ImagingStudy")
		if !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("point with %v: %v, want ErrInvalid", bad, err)
		}
	}
}

func TestAnnotationRefusals(t *testing.T) {
	m := Mapper{}
	a := sampleAnnotations()["annotation-photo"].a
	if _, err := m.ToFHIR(a); !errors.Is(err, ErrUnsupported) {
		t.Errorf("ToFHIR(annotation) = %v, want ErrUnsupported (the image type is unknown)", err)
	}
	if _, err := m.Basic(a, "Patient"); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("Basic on a Patient: %v, want ErrInvalid", err)
	}
	const head = `{"resourceType":"Basic","code":{"coding":[{"system":"https://examlane.org/fhir/CodeSystem/resource","code":"annotation"}]}`
	points := func(p string) string {
		return head + `,"subject":{"reference":"ImagingStudy/s1"},"extension":[{"url":"` + ExtAnnotPoints + `","valueString":` + p + `}]}`
	}
	for _, tc := range []struct {
		name, raw string
		want      error
	}{
		{"another system's Basic", `{"resourceType":"Basic","code":{"coding":[{"system":"http://example.org/cs","code":"referral"}]},"subject":{"reference":"Patient/p1"}}`, ErrUnsupported},
		{"subject is a patient", head + `,"subject":{"reference":"Patient/p1"}}`, lane.ErrInvalid},
		{"no subject", head + `}`, lane.ErrInvalid},
		{"points not JSON", points(`"[[1,2]"`), lane.ErrInvalid},
		{"point of one number", points(`"[[1,2],[3]]"`), lane.ErrInvalid},
		{"point not a number", points(`"[[1,\"x\"]]"`), lane.ErrInvalid},
		{"number out of range", points(`"[[1e400,0]]"`), lane.ErrInvalid},
		{"too many points", points(`"[` + strings.Repeat("[0,0],", maxPoints) + `[0,0]]"`), lane.ErrInvalid},
		{"bad time", head + `,"subject":{"reference":"DocumentReference/d1"},"created":"yesterday"}`, lane.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Decode([]byte(tc.raw))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if _, err := m.FromFHIR(res); !errors.Is(err, tc.want) {
				t.Errorf("FromFHIR = %v, want %v", err, tc.want)
			}
		})
	}

	// From another server: a Media subject, no annotated-at (the created
	// date is all there is), an absolute author reference.
	res, err := Decode([]byte(head + `,"id":"srv-7","subject":{"reference":"https://pacs.example/fhir/Media/m1"},"created":"2025-03-14",
		"author":{"reference":"https://pacs.example/fhir/Practitioner/dr-9"}}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.FromFHIR(res)
	if err != nil {
		t.Fatal(err)
	}
	want := lane.Annotation{ID: "srv-7", ImageID: "m1", Author: "dr-9", At: time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("foreign annotation = %+v, want %+v", got, want)
	}
}

// TestAnnotationPatchKeepsForeign: writing an annotation onto a server's
// Basic keeps elements and extensions the lane does not model.
func TestAnnotationPatchKeepsForeign(t *testing.T) {
	s := sampleAnnotations()["annotation-photo"]
	server := []byte(`{"resourceType":"Basic","id":"b1","meta":{"versionId":"3"},"language":"en",
		"extension":[{"url":"http://example.org/ext/reviewed","valueBoolean":true},{"url":"` + ExtAnnotText + `","valueString":"old"}],
		"code":{"coding":[{"system":"https://examlane.org/fhir/CodeSystem/resource","code":"annotation"}]},"subject":{"reference":"DocumentReference/d1"}}`)
	b, err := (Mapper{}).Basic(s.a, s.imageType)
	if err != nil {
		t.Fatal(err)
	}
	SetID(b, "b1")
	out, err := Patch(server, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"language":"en"`, `http://example.org/ext/reviewed`, `"Drusen?"`, `"DocumentReference/img-photo-1"`, `"versionId":"3"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("patched Basic lacks %s: %s", want, out)
		}
	}
	if strings.Contains(string(out), `"old"`) {
		t.Errorf("patched Basic keeps the replaced text: %s", out)
	}
}
