package fhir

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/examlane/examlane/lane"
)

// MediaTypeDICOM is the media type of DICOM Part-10 files.
const MediaTypeDICOM = "application/dicom"

// IsDICOM reports whether an image is a DICOM instance (sent by STOW-RS and
// described by an ImagingStudy) rather than a plain photo (Binary +
// DocumentReference).
func IsDICOM(img lane.Image) bool {
	return img.MediaType == MediaTypeDICOM || img.InstanceUID != ""
}

// imageExt holds the image details FHIR has no element for.
func imageExt(img lane.Image) []Extension {
	var x []Extension
	if c := eyeCoding(img.Eye); c != nil {
		x = append(x, Extension{URL: ExtLaterality, ValueCoding: c})
	}
	x = append(x, codeExt(ExtImageKind, string(img.Kind))...)
	if img.SHA256 != ([32]byte{}) {
		x = append(x, Extension{URL: ExtSHA256, ValueString: hex.EncodeToString(img.SHA256[:])})
	}
	if img.Size != 0 {
		x = append(x, Extension{URL: ExtSize, ValueInteger: intPtr(img.Size)})
	}
	if img.Width != 0 {
		x = append(x, Extension{URL: ExtWidth, ValueInteger: intPtr(int64(img.Width))})
	}
	if img.Height != 0 {
		x = append(x, Extension{URL: ExtHeight, ValueInteger: intPtr(int64(img.Height))})
	}
	if img.PixelSpacingUM != 0 {
		x = append(x, Extension{URL: ExtPixelSpacing, ValueDecimal: json.Number(strconv.FormatFloat(img.PixelSpacingUM, 'f', -1, 64))})
	}
	return x
}

// readImageExt reads what imageExt wrote.
func readImageExt(x []Extension, img *lane.Image) error {
	if e := getExt(x, ExtLaterality); e != nil && e.ValueCoding != nil {
		img.Eye = eyeFromCoding(*e.ValueCoding)
	}
	if k := extStr(x, ExtImageKind); k != "" {
		img.Kind = lane.ImageKind(k)
	}
	if s := extStr(x, ExtSHA256); s != "" {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != 32 {
			return invalidf("image sha256 is not 64 hex digits")
		}
		copy(img.SHA256[:], b)
	}
	for _, f := range []struct {
		url string
		set func(int64)
	}{
		{ExtSize, func(v int64) { img.Size = v }},
		{ExtWidth, func(v int64) { img.Width = int(v) }},
		{ExtHeight, func(v int64) { img.Height = int(v) }},
	} {
		if e := getExt(x, f.url); e != nil && e.ValueInteger != nil {
			if *e.ValueInteger < 0 || *e.ValueInteger > 1<<40 {
				return invalidf("image %s out of range", f.url[len(extBase):])
			}
			f.set(*e.ValueInteger)
		}
	}
	if e := getExt(x, ExtPixelSpacing); e != nil && e.ValueDecimal != "" {
		f, err := strconv.ParseFloat(string(e.ValueDecimal), 64)
		if err != nil || f < 0 {
			return invalidf("pixel spacing is not a positive number")
		}
		img.PixelSpacingUM = f
	}
	return nil
}

// containDevice returns the contained Device JSON for an instrument, or nil.
func (m Mapper) containDevice(in lane.InstrumentRef) []json.RawMessage {
	if in == (lane.InstrumentRef{}) {
		return nil
	}
	d := m.Device(in)
	d.ID = deviceRefID
	raw, _ := json.Marshal(d) // a Device of strings always encodes
	return []json.RawMessage{raw}
}

func (m Mapper) instrumentIn(contained []json.RawMessage, ref *Reference) lane.InstrumentRef {
	o := Observation{Contained: contained, Device: ref}
	in, _ := containedInstrument(&o, m)
	return in
}

// DocumentReference maps a plain photo. binaryURL is the reference of the
// Binary holding the bytes ("Binary/<id>" or a urn:uuid in a transaction);
// "" leaves the attachment without url.
func (m Mapper) DocumentReference(img lane.Image, binaryURL string) *DocumentReference {
	r := &DocumentReference{Base: Base{ResourceType: "DocumentReference"}, Status: "current"}
	r.Identifier = []Identifier{laneIdentifier(string(img.ID))}
	t := concept(SystemImageKind, string(img.Kind), string(img.Kind))
	if img.Kind != "" {
		r.Type = &t
	}
	r.Subject = Ref("Patient", string(img.PatientID))
	r.Date = instant(img.CapturedAt)
	if ref := Ref("Encounter", string(img.EncounterID)); ref != nil {
		r.Context = &DocumentContext{Encounter: []Reference{*ref}}
	}
	r.Contained = m.containDevice(img.Instrument)
	if r.Contained != nil {
		r.Author = []Reference{{Reference: "#" + deviceRefID}}
	}
	r.Content = []DocumentContent{{Attachment: Attachment{
		ContentType: img.MediaType, URL: binaryURL, Size: img.Size, Creation: instant(img.CapturedAt),
	}}}
	r.Extension = imageExt(img)
	return r
}

// ImageFromDocumentReference maps a DocumentReference holding a photo. The
// returned image's bytes are at BinaryURL(r).
func (m Mapper) ImageFromDocumentReference(r *DocumentReference) (lane.Image, error) {
	if len(r.Content) == 0 || !strings.HasPrefix(r.Content[0].Attachment.ContentType, "image/") {
		return lane.Image{}, ErrUnsupported // a document, not a photo
	}
	a := r.Content[0].Attachment
	img := lane.Image{ID: lane.ImageID(recordID(r)), MediaType: a.ContentType, Size: a.Size}
	img.PatientID = lane.PatientID(RefID(r.Subject, "Patient"))
	if r.Context != nil {
		for i := range r.Context.Encounter {
			if id := RefID(&r.Context.Encounter[i], "Encounter"); id != "" {
				img.EncounterID = lane.EncounterID(id)
				break
			}
		}
	}
	img.Kind = lane.ImageKind(codeIn(r.Type, SystemImageKind))
	var err error
	if img.CapturedAt, err = ParseTime(r.Date); err != nil {
		return lane.Image{}, err
	}
	if img.CapturedAt.IsZero() {
		if img.CapturedAt, err = ParseTime(a.Creation); err != nil {
			return lane.Image{}, err
		}
	}
	if len(r.Author) > 0 {
		img.Instrument = m.instrumentIn(r.Contained, &r.Author[0])
	}
	if err := readImageExt(r.Extension, &img); err != nil {
		return lane.Image{}, err
	}
	img.Deleted = r.Status == "entered-in-error"
	return img, nil
}

// BinaryURL returns the attachment URL of a DocumentReference or Media
// (where the bytes are), or "".
func BinaryURL(res Resource) string {
	switch r := res.(type) {
	case *DocumentReference:
		if len(r.Content) > 0 {
			return r.Content[0].Attachment.URL
		}
	case *Media:
		return r.Content.URL
	}
	return ""
}

// ImageFromMedia maps an R4 Media holding a photo (accepted on pull).
func (m Mapper) ImageFromMedia(r *Media) (lane.Image, error) {
	if !strings.HasPrefix(r.Content.ContentType, "image/") {
		return lane.Image{}, ErrUnsupported
	}
	img := lane.Image{ID: lane.ImageID(recordID(r)), MediaType: r.Content.ContentType, Size: r.Content.Size}
	img.PatientID = lane.PatientID(RefID(r.Subject, "Patient"))
	img.EncounterID = lane.EncounterID(RefID(r.Encounter, "Encounter"))
	img.Eye = eyeFrom(r.BodySite)
	img.Kind = lane.ImageKind(codeIn(r.Type, SystemImageKind))
	img.Width, img.Height = int(r.Width), int(r.Height)
	var err error
	if img.CapturedAt, err = ParseTime(r.CreatedDateTime); err != nil {
		return lane.Image{}, err
	}
	if err := readImageExt(r.Extension, &img); err != nil {
		return lane.Image{}, err
	}
	img.Deleted = r.Status == "entered-in-error"
	return img, nil
}

// Binary wraps an image's bytes. id is the lane image id, carried as a
// meta.tag so the Binary can be created conditionally.
func (m Mapper) Binary(img lane.Image, data []byte) *Binary {
	return &Binary{
		Base:        Base{ResourceType: "Binary", Meta: &Meta{Tag: []Coding{{System: SystemLaneID, Code: "binary:" + string(img.ID)}}}},
		ContentType: img.MediaType, Data: data,
	}
}

func oid(uid string) string {
	if uid == "" {
		return ""
	}
	return "urn:oid:" + uid
}

// ImagingStudy maps a DICOM image as an ImagingStudy with one series and one
// instance (modality OP). sopClass is the instance's SOP class UID;
// SOPClassOP8Bit when "".
func (m Mapper) ImagingStudy(img lane.Image, sopClass string) *ImagingStudy {
	if sopClass == "" {
		sopClass = SOPClassOP8Bit
	}
	r := &ImagingStudy{Base: Base{ResourceType: "ImagingStudy"}, Status: "available"}
	r.Identifier = []Identifier{laneIdentifier(string(img.ID))}
	if img.StudyUID != "" {
		r.Identifier = append(r.Identifier, Identifier{System: SystemDICOMUID, Value: oid(img.StudyUID)})
	}
	if p := Ref("Patient", string(img.PatientID)); p != nil {
		r.Subject = *p
	}
	r.Encounter = Ref("Encounter", string(img.EncounterID))
	r.Started = instant(img.CapturedAt)
	r.NumberOfSeries, r.NumberOfInstances = 1, 1
	r.Series = []ImagingSeries{{
		UID:               img.SeriesUID,
		Modality:          Coding{System: SystemDCM, Code: DCMModalityOP, Display: "Ophthalmic Photography"},
		NumberOfInstances: 1,
		BodySite:          eyeCoding(img.Eye),
		Instance: []ImagingInstance{{
			UID: img.InstanceUID, SOPClass: Coding{System: SystemRFC3986, Code: oid(sopClass)}, Number: 1,
		}},
	}}
	r.Contained = m.containDevice(img.Instrument)
	x := imageExt(img)
	if r.Contained != nil {
		x = append(x, Extension{URL: ExtInstrument, ValueReference: &Reference{Reference: "#" + deviceRefID}})
	}
	r.Extension = x
	return r
}

// ImageFromImagingStudy maps an ImagingStudy's first instance to a lane
// image (media type application/dicom).
func (m Mapper) ImageFromImagingStudy(r *ImagingStudy) (lane.Image, error) {
	img := lane.Image{ID: lane.ImageID(recordID(r)), MediaType: MediaTypeDICOM}
	img.PatientID = lane.PatientID(RefID(&r.Subject, "Patient"))
	img.EncounterID = lane.EncounterID(RefID(r.Encounter, "Encounter"))
	img.StudyUID = strings.TrimPrefix(identifierValue(r.Identifier, SystemDICOMUID), "urn:oid:")
	var err error
	if img.CapturedAt, err = ParseTime(r.Started); err != nil {
		return lane.Image{}, err
	}
	if len(r.Series) > 0 {
		s := r.Series[0]
		img.SeriesUID = s.UID
		if s.BodySite != nil {
			img.Eye = eyeFromCoding(*s.BodySite)
		}
		if len(s.Instance) > 0 {
			img.InstanceUID = s.Instance[0].UID
		}
	}
	if e := getExt(r.Extension, ExtInstrument); e != nil {
		img.Instrument = m.instrumentIn(r.Contained, e.ValueReference)
	}
	if err := readImageExt(r.Extension, &img); err != nil {
		return lane.Image{}, err
	}
	img.Deleted = r.Status == "entered-in-error" || r.Status == "cancelled"
	return img, nil
}

// SOPClassOf returns the SOP class UID of an ImagingStudy's first instance.
func SOPClassOf(r *ImagingStudy) string {
	if len(r.Series) > 0 && len(r.Series[0].Instance) > 0 {
		return strings.TrimPrefix(r.Series[0].Instance[0].SOPClass.Code, "urn:oid:")
	}
	return ""
}
