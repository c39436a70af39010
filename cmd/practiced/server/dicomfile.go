package server

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"strconv"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/frame"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/examlane/examlane/lane"
)

// Transfer syntaxes the renderer knows.
const (
	tsImplicitLE   = "1.2.840.10008.1.2"
	tsExplicitLE   = "1.2.840.10008.1.2.1"
	tsJPEGBaseline = "1.2.840.10008.1.2.4.50"
)

// Tags read from stored instances.
var (
	tagTransferSyntax   = tag.Tag{Group: 0x0002, Element: 0x0010}
	tagSOPClass         = tag.Tag{Group: 0x0008, Element: 0x0016}
	tagSOPInstance      = tag.Tag{Group: 0x0008, Element: 0x0018}
	tagStudyDate        = tag.Tag{Group: 0x0008, Element: 0x0020}
	tagModality         = tag.Tag{Group: 0x0008, Element: 0x0060}
	tagPatientID        = tag.Tag{Group: 0x0010, Element: 0x0020}
	tagStudyInstance    = tag.Tag{Group: 0x0020, Element: 0x000D}
	tagSeriesInstance   = tag.Tag{Group: 0x0020, Element: 0x000E}
	tagLaterality       = tag.Tag{Group: 0x0020, Element: 0x0060}
	tagImageLaterality  = tag.Tag{Group: 0x0020, Element: 0x0062}
	tagSamplesPerPixel  = tag.Tag{Group: 0x0028, Element: 0x0002}
	tagPhotometric      = tag.Tag{Group: 0x0028, Element: 0x0004}
	tagPlanarConfig     = tag.Tag{Group: 0x0028, Element: 0x0006}
	tagNumberOfFrames   = tag.Tag{Group: 0x0028, Element: 0x0008}
	tagRows             = tag.Tag{Group: 0x0028, Element: 0x0010}
	tagColumns          = tag.Tag{Group: 0x0028, Element: 0x0011}
	tagBitsAllocated    = tag.Tag{Group: 0x0028, Element: 0x0100}
	tagPixelData        = tag.Tag{Group: 0x7FE0, Element: 0x0010}
	tagPixelRepresentat = tag.Tag{Group: 0x0028, Element: 0x0103}
)

// dicomInfo is what the server reads from a Part-10 file.
type dicomInfo struct {
	TransferSyntax, SOPClass, SOPInstance, Study, Series string
	PatientID, Modality, StudyDate, Laterality           string
	Rows, Columns, Samples, BitsAllocated, Frames        int
	Planar, PixelRepresentation                          int
	Photometric                                          string
}

// parseDICOM runs the parser, turning a panic inside it into an error:
// stored bytes come from outside.
func parseDICOM(data []byte, opts ...dicom.ParseOption) (ds dicom.Dataset, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("dicom parser failed")
		}
	}()
	opts = append(opts, dicom.AllowUnknownSpecificCharacterSet())
	return dicom.Parse(bytes.NewReader(data), int64(len(data)), nil, opts...)
}

// readDICOMInfo parses a Part-10 file's attributes (not its pixels).
func readDICOMInfo(data []byte) (dicomInfo, error) {
	var in dicomInfo
	if _, err := checkDICOMStructure(data); err != nil {
		return in, err
	}
	ds, err := parseDICOM(data, dicom.SkipPixelData())
	if err != nil {
		return in, lane.Invalidf("DICOM cannot be parsed")
	}
	in.TransferSyntax = dsString(&ds, tagTransferSyntax)
	in.SOPClass = dsString(&ds, tagSOPClass)
	in.SOPInstance = dsString(&ds, tagSOPInstance)
	in.Study = dsString(&ds, tagStudyInstance)
	in.Series = dsString(&ds, tagSeriesInstance)
	in.PatientID = dsString(&ds, tagPatientID)
	in.Modality = dsString(&ds, tagModality)
	in.StudyDate = dsString(&ds, tagStudyDate)
	in.Laterality = dsString(&ds, tagImageLaterality)
	if in.Laterality == "" {
		in.Laterality = dsString(&ds, tagLaterality)
	}
	in.Photometric = dsString(&ds, tagPhotometric)
	in.Rows = dsInt(&ds, tagRows)
	in.Columns = dsInt(&ds, tagColumns)
	in.Samples = dsInt(&ds, tagSamplesPerPixel)
	in.BitsAllocated = dsInt(&ds, tagBitsAllocated)
	in.Planar = dsInt(&ds, tagPlanarConfig)
	in.PixelRepresentation = dsInt(&ds, tagPixelRepresentat)
	in.Frames = dsInt(&ds, tagNumberOfFrames)
	if in.Frames == 0 {
		in.Frames = 1
	}
	for name, uid := range map[string]string{"SOPClassUID": in.SOPClass, "SOPInstanceUID": in.SOPInstance, "StudyInstanceUID": in.Study, "SeriesInstanceUID": in.Series, "TransferSyntaxUID": in.TransferSyntax} {
		if !validUID(uid) {
			return in, lane.Invalidf("DICOM %s missing or malformed", name)
		}
	}
	return in, nil
}

// validUID reports whether s is a DICOM UID (digits and dots, ≤ 64).
func validUID(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return !strings.Contains(s, "..")
}

// dsString returns the first string value of a tag, trimmed; "" when
// absent or not a string.
func dsString(ds *dicom.Dataset, t tag.Tag) string {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return ""
	}
	v, ok := e.Value.GetValue().([]string)
	if !ok || len(v) == 0 {
		return ""
	}
	return strings.TrimRight(strings.TrimSpace(v[0]), "\x00")
}

// dsInt returns the first integer value of a tag (US/UL or IS), 0 when
// absent.
func dsInt(ds *dicom.Dataset, t tag.Tag) int {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return 0
	}
	switch v := e.Value.GetValue().(type) {
	case []int:
		if len(v) > 0 {
			return v[0]
		}
	case []string:
		if len(v) > 0 {
			n, _ := strconv.Atoi(strings.TrimSpace(v[0]))
			return n
		}
	}
	return 0
}

// errCannotRender says the server cannot render this instance.
var errCannotRender = fmt.Errorf("rendering this transfer syntax or pixel format is not supported: %w", errNotAcceptable)

// renderJPEG returns a JPEG of the first frame: the frame itself for JPEG
// baseline, an encoding of the pixels for native 8-bit grey or colour;
// errNotAcceptable otherwise.
func renderJPEG(data []byte) ([]byte, error) {
	in, err := readDICOMInfo(data)
	if err != nil {
		return nil, err
	}
	switch in.TransferSyntax {
	case tsJPEGBaseline:
		ds, err := parseDICOM(data)
		if err != nil {
			return nil, errCannotRender
		}
		fr, err := firstFrame(&ds)
		if err != nil || !fr.Encapsulated {
			return nil, errCannotRender
		}
		b := fr.EncapsulatedData.Data
		if _, err := jpeg.DecodeConfig(bytes.NewReader(b)); err != nil {
			return nil, errCannotRender
		}
		return b, nil
	case tsImplicitLE, tsExplicitLE:
	default:
		return nil, errCannotRender
	}
	if in.BitsAllocated != 8 || in.PixelRepresentation != 0 || in.Rows <= 0 || in.Columns <= 0 || in.Frames <= 0 {
		return nil, errCannotRender
	}
	need := int64(in.Rows) * int64(in.Columns) * int64(in.Samples) * int64(in.Frames)
	if need <= 0 || need > int64(len(data)) {
		return nil, errCannotRender
	}
	var img image.Image
	ds, err := parseDICOM(data)
	if err != nil {
		return nil, errCannotRender
	}
	fr, err := firstFrame(&ds)
	if err != nil || fr.Encapsulated || fr.NativeData == nil {
		return nil, errCannotRender
	}
	px, ok := fr.NativeData.RawDataSlice().([]uint8)
	w, h := in.Columns, in.Rows
	if !ok || len(px) < w*h*in.Samples {
		return nil, errCannotRender
	}
	switch {
	case in.Samples == 1 && (in.Photometric == "MONOCHROME2" || in.Photometric == "MONOCHROME1"):
		g := image.NewGray(image.Rect(0, 0, w, h))
		copy(g.Pix, px[:w*h])
		if in.Photometric == "MONOCHROME1" {
			for i := range g.Pix {
				g.Pix[i] = 255 - g.Pix[i]
			}
		}
		img = g
	case in.Samples == 3 && (in.Photometric == "RGB" || in.Photometric == "YBR_FULL"):
		rgba := image.NewRGBA(image.Rect(0, 0, w, h))
		n := w * h
		for i := 0; i < n; i++ {
			var a, b, c uint8
			if in.Planar == 1 {
				a, b, c = px[i], px[n+i], px[2*n+i]
			} else {
				a, b, c = px[3*i], px[3*i+1], px[3*i+2]
			}
			if in.Photometric == "YBR_FULL" {
				a, b, c = color.YCbCrToRGB(a, b, c)
			}
			rgba.Pix[4*i], rgba.Pix[4*i+1], rgba.Pix[4*i+2], rgba.Pix[4*i+3] = a, b, c, 255
		}
		img = rgba
	default:
		return nil, errCannotRender
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: 90}); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return out.Bytes(), nil
}

// firstFrame returns the first pixel data frame of a parsed dataset.
func firstFrame(ds *dicom.Dataset) (*frame.Frame, error) {
	e, err := ds.FindElementByTag(tagPixelData)
	if err != nil {
		return nil, err
	}
	pdi, ok := e.Value.GetValue().(dicom.PixelDataInfo)
	if !ok || len(pdi.Frames) == 0 || pdi.Frames[0] == nil {
		return nil, errors.New("no frames")
	}
	return pdi.Frames[0], nil
}
