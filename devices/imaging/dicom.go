package imaging

import (
	"bytes"
	"fmt"
	"image"
	"strconv"
	"strings"
	"time"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/examlane/examlane/lane"
)

// DICOMInfo is what a DICOM file said about its image.
type DICOMInfo struct {
	// TransferSyntax is the transfer syntax UID; TransferSyntaxName its
	// name when known.
	TransferSyntax, TransferSyntaxName string
	// SOPClassUID is e.g. 1.2.840.10008.5.1.4.1.1.77.1.5.1 for Ophthalmic
	// Photography 8 Bit.
	SOPClassUID string
	// Modality is e.g. "OP".
	Modality string
	// ImageType is (0008,0008), e.g. ORIGINAL\PRIMARY\\COLOR.
	ImageType []string
	// Image Pixel module.
	Rows, Columns                  int
	BitsAllocated, BitsStored      int
	SamplesPerPixel                int
	Photometric                    string
	PlanarConfiguration            int
	NumberOfFrames                 int
	Laterality                     string // R, L or B as written
	PixelSpacingMM                 [2]float64
	PixelSpacingSource             string // "PixelSpacing", "ImagerPixelSpacing" or ""
	WindowCenter, WindowWidth      float64
	RescaleSlope, RescaleIntercept float64
}

// Transfer syntaxes by UID: name and how the lane handles the pixel data.
type tsKind uint8

const (
	tsNative tsKind = iota
	tsJPEG          // image/jpeg can decode it
	tsRemote        // render from the archive
)

var transferSyntaxes = map[string]struct {
	name string
	kind tsKind
}{
	tsImplicitLE:              {"Implicit VR Little Endian", tsNative},
	tsExplicitLE:              {"Explicit VR Little Endian", tsNative},
	tsExplicitBE:              {"Explicit VR Big Endian", tsNative},
	tsDeflateLE:               {"Deflated Explicit VR Little Endian", tsRemote},
	"1.2.840.10008.1.2.4.50":  {"JPEG Baseline (Process 1)", tsJPEG},
	"1.2.840.10008.1.2.4.51":  {"JPEG Extended (Process 2 & 4)", tsJPEG},
	"1.2.840.10008.1.2.4.57":  {"JPEG Lossless, Non-Hierarchical (Process 14)", tsRemote},
	"1.2.840.10008.1.2.4.70":  {"JPEG Lossless, First-Order Prediction (Process 14, SV1)", tsRemote},
	"1.2.840.10008.1.2.4.80":  {"JPEG-LS Lossless", tsRemote},
	"1.2.840.10008.1.2.4.81":  {"JPEG-LS Near-Lossless", tsRemote},
	"1.2.840.10008.1.2.4.90":  {"JPEG 2000 (Lossless Only)", tsRemote},
	"1.2.840.10008.1.2.4.91":  {"JPEG 2000", tsRemote},
	"1.2.840.10008.1.2.4.201": {"High-Throughput JPEG 2000 (Lossless Only)", tsRemote},
	"1.2.840.10008.1.2.4.202": {"High-Throughput JPEG 2000 with RPCL (Lossless Only)", tsRemote},
	"1.2.840.10008.1.2.4.203": {"High-Throughput JPEG 2000", tsRemote},
	"1.2.840.10008.1.2.5":     {"RLE Lossless", tsRemote},
	"1.2.840.10008.1.2.4.100": {"MPEG2 Main Profile", tsRemote},
	"1.2.840.10008.1.2.4.102": {"MPEG-4 AVC/H.264", tsRemote},
}

// Tags read from a DICOM file.
var (
	tagPatientName  = tag.Tag{Group: 0x0010, Element: 0x0010}
	tagPatientID    = tag.Tag{Group: 0x0010, Element: 0x0020}
	tagAcqDate      = tag.Tag{Group: 0x0008, Element: 0x0022}
	tagAcqTime      = tag.Tag{Group: 0x0008, Element: 0x0032}
	tagContentDate  = tag.Tag{Group: 0x0008, Element: 0x0023}
	tagContentTime  = tag.Tag{Group: 0x0008, Element: 0x0033}
	tagStudyDate    = tag.Tag{Group: 0x0008, Element: 0x0020}
	tagStudyTime    = tag.Tag{Group: 0x0008, Element: 0x0030}
	tagTZOffset     = tag.Tag{Group: 0x0008, Element: 0x0201}
	tagManufacturer = tag.Tag{Group: 0x0008, Element: 0x0070}
	tagModel        = tag.Tag{Group: 0x0008, Element: 0x1090}
	tagSerial       = tag.Tag{Group: 0x0018, Element: 0x1000}
	tagPixelRepr    = tag.Tag{Group: 0x0028, Element: 0x0103}
	tagHighBit      = tag.Tag{Group: 0x0028, Element: 0x0102}
)

// decodeDICOM fills out from a DICOM Part 10 file.
func (d *Decoder) decodeDICOM(data []byte, out *Decoded) error {
	sc, err := scanDICOM(data)
	if err != nil {
		return err
	}
	info := &DICOMInfo{TransferSyntax: sc.TransferSyntax}
	ts, known := transferSyntaxes[sc.TransferSyntax]
	info.TransferSyntaxName = ts.name
	out.DICOM = info
	if sc.Deflated {
		return &TransferSyntaxError{UID: sc.TransferSyntax, Name: ts.name}
	}
	ds, err := parseDICOM(data)
	if err != nil {
		return err
	}
	d.readTags(&ds, info, out)
	if !known || ts.kind == tsRemote {
		return &TransferSyntaxError{UID: sc.TransferSyntax, Name: ts.name}
	}
	if err := checkBudget("dicom", info.Columns, info.Rows, d.maxPixels); err != nil {
		return err
	}
	pe, err := ds.FindElementByTag(tag.PixelData)
	if err != nil {
		return invalidf("dicom: no pixel data")
	}
	pd, ok := pe.Value.GetValue().(dicom.PixelDataInfo)
	if !ok {
		return invalidf("dicom: pixel data element has an unexpected value")
	}
	var img image.Image
	if ts.kind == tsJPEG {
		img, err = d.decodeJPEGFrame(pd, info)
	} else {
		img, err = d.decodeNativeFrame(&ds, pd, info, pe.RawValueRepresentation)
	}
	if err != nil {
		return err
	}
	out.Image = img
	out.Meta.Width, out.Meta.Height = img.Bounds().Dx(), img.Bounds().Dy()
	return nil
}

// parseDICOM runs the tag library over a pre-scanned file, keeping native
// pixel data as raw bytes. A panic inside the library becomes ErrInvalid.
func parseDICOM(data []byte) (ds dicom.Dataset, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = invalidf("dicom: malformed dataset (parser panic)")
		}
	}()
	ds, err = dicom.Parse(bytes.NewReader(data), int64(len(data)), nil,
		dicom.SkipProcessingPixelDataValue(), dicom.AllowUnknownSpecificCharacterSet())
	if err != nil {
		// The library's messages quote values; keep only our own words.
		return ds, invalidf("dicom: malformed dataset")
	}
	return ds, nil
}

// readTags copies the attributes the lane uses into info and out.
func (d *Decoder) readTags(ds *dicom.Dataset, info *DICOMInfo, out *Decoded) {
	info.SOPClassUID = str(ds, tag.SOPClassUID)
	info.Modality = str(ds, tag.Modality)
	info.ImageType = strs(ds, tag.ImageType)
	info.Rows, _ = num(ds, tag.Rows)
	info.Columns, _ = num(ds, tag.Columns)
	info.BitsAllocated, _ = num(ds, tag.BitsAllocated)
	info.BitsStored, _ = num(ds, tag.BitsStored)
	info.SamplesPerPixel, _ = num(ds, tag.SamplesPerPixel)
	info.Photometric = str(ds, tag.PhotometricInterpretation)
	info.PlanarConfiguration, _ = num(ds, tag.PlanarConfiguration)
	if info.NumberOfFrames, _ = num(ds, tag.NumberOfFrames); info.NumberOfFrames == 0 {
		info.NumberOfFrames = 1
	}
	if f := floats(ds, tag.WindowCenter); len(f) > 0 {
		info.WindowCenter = f[0]
	}
	if f := floats(ds, tag.WindowWidth); len(f) > 0 {
		info.WindowWidth = f[0]
	}
	info.RescaleSlope, info.RescaleIntercept = 1, 0
	if f := floats(ds, tag.RescaleSlope); len(f) > 0 {
		info.RescaleSlope = f[0]
	}
	if f := floats(ds, tag.RescaleIntercept); len(f) > 0 {
		info.RescaleIntercept = f[0]
	}
	for _, src := range []struct {
		t    tag.Tag
		name string
	}{{tag.PixelSpacing, "PixelSpacing"}, {tag.ImagerPixelSpacing, "ImagerPixelSpacing"}} {
		if f := floats(ds, src.t); len(f) == 2 && f[0] > 0 && f[1] > 0 && f[0] < 1000 && f[1] < 1000 {
			info.PixelSpacingMM = [2]float64{f[0], f[1]}
			info.PixelSpacingSource = src.name
			break
		}
	}
	info.Laterality = strings.ToUpper(str(ds, tag.ImageLaterality))
	if info.Laterality == "" {
		info.Laterality = strings.ToUpper(str(ds, tag.Laterality))
	}

	m := &out.Meta
	switch info.Laterality {
	case "R":
		m.Eye = lane.EyeRight
	case "L":
		m.Eye = lane.EyeLeft
	case "B":
		m.Eye = lane.EyeBoth
	}
	m.Kind = imageKind(info.ImageType, info.Photometric)
	m.Width, m.Height = info.Columns, info.Rows
	if info.PixelSpacingSource != "" {
		// Column spacing (horizontal); the two are equal for cameras.
		m.PixelSpacingUM = (info.PixelSpacingMM[0] + info.PixelSpacingMM[1]) / 2 * 1000
	}
	m.StudyUID = str(ds, tag.StudyInstanceUID)
	m.SeriesUID = str(ds, tag.SeriesInstanceUID)
	m.InstanceUID = str(ds, tag.SOPInstanceUID)
	m.Instrument = lane.InstrumentRef{Vendor: str(ds, tagManufacturer), Model: str(ds, tagModel), Serial: str(ds, tagSerial)}
	m.CapturedAt = d.capturedAt(ds)
	out.Patient = Patient{ID: str(ds, tagPatientID), Name: str(ds, tagPatientName)}
}

// imageKind maps ImageType value 3 (and later values) to a lane kind:
// COLOR, REDFREE (or RED), FA, ICG; AUTOFLUORESCENCE/AF. Without one, the
// photometric interpretation decides between colour and other.
func imageKind(types []string, photometric string) lane.ImageKind {
	for i, t := range types {
		if i < 2 {
			continue // ORIGINAL/DERIVED, PRIMARY/SECONDARY
		}
		switch strings.ToUpper(strings.TrimSpace(t)) {
		case "COLOR", "COLOUR":
			return lane.ImageColor
		case "REDFREE", "RED FREE", "RED":
			return lane.ImageRedFree
		case "FA":
			return lane.ImageFA
		case "AF", "FAF", "AUTOFLUORESCENCE":
			return lane.ImageAF
		case "ICG", "BLUE":
			return lane.ImageOther
		}
	}
	switch photometric {
	case "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "YBR_PARTIAL_420":
		return lane.ImageColor
	}
	return lane.ImageOther
}

// capturedAt returns the acquisition time, falling back to the content
// and study times; zero when none parses.
func (d *Decoder) capturedAt(ds *dicom.Dataset) time.Time {
	loc := d.loc
	if off := str(ds, tagTZOffset); off != "" {
		if l, ok := parseOffset(off); ok {
			loc = l
		}
	}
	if t, ok := parseDT(str(ds, tag.AcquisitionDateTime), loc); ok {
		return t
	}
	for _, p := range [][2]tag.Tag{{tagAcqDate, tagAcqTime}, {tagContentDate, tagContentTime}, {tagStudyDate, tagStudyTime}} {
		if t, ok := parseDT(str(ds, p[0])+clean(str(ds, p[1])), loc); ok {
			return t
		}
	}
	return time.Time{}
}

// clean drops the colons of legacy HH:MM:SS times.
func clean(tm string) string { return strings.ReplaceAll(tm, ":", "") }

// parseOffset parses a DICOM UTC offset "+HHMM" / "-HHMM".
func parseOffset(s string) (*time.Location, bool) {
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') {
		return nil, false
	}
	h, err1 := strconv.Atoi(s[1:3])
	m, err2 := strconv.Atoi(s[3:5])
	if err1 != nil || err2 != nil || h > 14 || m > 59 {
		return nil, false
	}
	sec := (h*60 + m) * 60
	if s[0] == '-' {
		sec = -sec
	}
	return time.FixedZone(s, sec), true
}

// parseDT parses a DICOM DT value YYYYMMDD[HH[MM[SS[.F{1,6}]]]][&ZZXX]
// (a DA followed by a TM is the same shape).
func parseDT(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		if l, ok := parseOffset(s[i:]); ok {
			loc = l
		}
		s = s[:i]
	}
	frac := ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s, frac = s[:i], s[i+1:]
	}
	if len(s) < 8 || len(s) > 14 || len(s)%2 != 0 {
		return time.Time{}, false
	}
	f := [6]int{0, 1, 1, 0, 0, 0}
	widths := []int{4, 2, 2, 2, 2, 2}
	pos := 0
	for i, w := range widths {
		if pos >= len(s) {
			break
		}
		v, err := strconv.Atoi(s[pos : pos+w])
		if err != nil || v < 0 {
			return time.Time{}, false
		}
		f[i] = v
		pos += w
	}
	if f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60 {
		return time.Time{}, false
	}
	ns := 0
	if frac != "" && len(frac) <= 6 {
		if v, err := strconv.Atoi(frac); err == nil && v >= 0 {
			ns = v
			for range 9 - len(frac) {
				ns *= 10
			}
		}
	}
	t := time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], ns, loc)
	if t.Day() != f[2] {
		return time.Time{}, false // e.g. 31 February
	}
	return t, true
}

// str returns the first string value of t, trimmed; "" when absent.
func str(ds *dicom.Dataset, t tag.Tag) string {
	if v := strs(ds, t); len(v) > 0 {
		return v[0]
	}
	return ""
}

// strs returns the string values of t, trimmed of padding.
func strs(ds *dicom.Dataset, t tag.Tag) []string {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return nil
	}
	v, ok := e.Value.GetValue().([]string)
	if !ok {
		return nil
	}
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = strings.Trim(s, " \x00")
	}
	return out
}

// num returns the first integer value of t, whether stored as a binary
// integer (US, UL, SS, SL) or a decimal string (IS, DS).
func num(ds *dicom.Dataset, t tag.Tag) (int, bool) {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return 0, false
	}
	switch v := e.Value.GetValue().(type) {
	case []int:
		if len(v) > 0 {
			return v[0], true
		}
	case []string:
		if len(v) > 0 {
			n, err := strconv.Atoi(strings.Trim(v[0], " \x00"))
			return n, err == nil
		}
	}
	return 0, false
}

// floats returns the decimal-string (DS) or binary float values of t.
func floats(ds *dicom.Dataset, t tag.Tag) []float64 {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return nil
	}
	switch v := e.Value.GetValue().(type) {
	case []float64:
		return v
	case []string:
		out := make([]float64, 0, len(v))
		for _, s := range v {
			f, err := strconv.ParseFloat(strings.Trim(s, " \x00"), 64)
			if err != nil {
				return nil
			}
			out = append(out, f)
		}
		return out
	}
	return nil
}

// decodeJPEGFrame decodes the first frame of encapsulated JPEG pixel data.
// A single-frame image may be split over several fragments.
func (d *Decoder) decodeJPEGFrame(pd dicom.PixelDataInfo, info *DICOMInfo) (image.Image, error) {
	if !pd.IsEncapsulated || len(pd.Frames) == 0 {
		return nil, invalidf("dicom: JPEG transfer syntax without encapsulated frames")
	}
	var frame []byte
	if info.NumberOfFrames <= 1 && len(pd.Frames) > 1 {
		for _, f := range pd.Frames {
			frame = append(frame, f.EncapsulatedData.Data...)
		}
	} else {
		frame = pd.Frames[0].EncapsulatedData.Data
	}
	img, err := d.decodeRaster("jpeg", frame)
	if err != nil {
		return nil, fmt.Errorf("imaging: dicom frame: %w", err)
	}
	return img, nil
}

// decodeNativeFrame unpacks the first frame of native pixel data.
func (d *Decoder) decodeNativeFrame(ds *dicom.Dataset, pd dicom.PixelDataInfo, info *DICOMInfo, vr string) (image.Image, error) {
	if pd.IsEncapsulated || !pd.IntentionallyUnprocessed {
		return nil, invalidf("dicom: native transfer syntax with encapsulated pixel data")
	}
	l := pixelLayout{
		Rows: info.Rows, Cols: info.Columns, Samples: info.SamplesPerPixel,
		BitsAllocated: info.BitsAllocated, BitsStored: info.BitsStored, HighBit: -1,
		Planar: info.PlanarConfiguration == 1, Photometric: info.Photometric,
		BigEndian:  info.TransferSyntax == tsExplicitBE,
		SwapBytes8: info.TransferSyntax == tsExplicitBE && vr == "OW",
		Slope:      info.RescaleSlope, Intercept: info.RescaleIntercept,
		WindowCenter: info.WindowCenter, WindowWidth: info.WindowWidth,
	}
	if hb, ok := num(ds, tagHighBit); ok {
		l.HighBit = hb
	}
	if pr, _ := num(ds, tagPixelRepr); pr == 1 {
		l.Signed = true
	}
	return unpackNative(l, pd.UnprocessedValueData, d.maxPixels)
}
