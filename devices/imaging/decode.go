package imaging

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/examlane/examlane/lane"
)

// DefaultMaxPixels is the default pixel budget: 50 megapixels, twice the
// largest fundus camera sensors in use (about 24 MP).
const DefaultMaxPixels = 50_000_000

// Config configures a Decoder.
type Config struct {
	// MaxPixels is the largest width×height accepted; 0 means
	// DefaultMaxPixels.
	MaxPixels int64
	// Location interprets DICOM dates and times that carry no UTC offset;
	// nil means time.Local (the lane's clock zone, like the camera's).
	Location *time.Location
}

// Decoder decodes camera images. It is safe for concurrent use.
type Decoder struct {
	maxPixels int64
	loc       *time.Location
}

// New returns a Decoder with cfg.
func New(cfg Config) *Decoder {
	d := &Decoder{maxPixels: cfg.MaxPixels, loc: cfg.Location}
	if d.maxPixels <= 0 {
		d.maxPixels = DefaultMaxPixels
	}
	if d.loc == nil {
		d.loc = time.Local
	}
	return d
}

// Decoded is a decoded image with what its file said about it.
type Decoded struct {
	// Image is the first frame, nil when Decode returned an error (a DICOM
	// file that cannot be rendered locally still has Meta and DICOM set).
	Image image.Image
	// Meta holds the lane.Image fields the file provides: MediaType,
	// Width, Height, Size and SHA256 always; for DICOM also Eye, Kind,
	// CapturedAt, PixelSpacingUM, the study/series/instance UIDs and the
	// instrument. ID, PatientID, EncounterID and Version are the caller's.
	Meta lane.Image
	// Format is "jpeg", "png", "tiff", "bmp", "webp" or "dicom".
	Format string
	// DICOM holds the DICOM attributes read, nil for other formats.
	DICOM *DICOMInfo
	// Patient is the identity a DICOM file carries. It is patient data:
	// the caller seals it and never logs it (its String method redacts).
	Patient Patient
}

// Patient is the patient identity found in a DICOM file.
type Patient struct {
	// ID is Patient ID (0010,0020); Name is Patient's Name (0010,0010) as
	// written (family^given^middle^prefix^suffix).
	ID, Name string
}

// String redacts the identity so that printing a Decoded cannot leak it.
func (p Patient) String() string {
	if p == (Patient{}) {
		return "patient{}"
	}
	return "patient{redacted}"
}

// GoString redacts the identity for %#v.
func (p Patient) GoString() string { return p.String() }

// Decode decodes data, sniffing its format from its first bytes. It
// returns an error wrapping ErrTooLarge for an image over the pixel budget,
// lane.ErrInvalid for unrecognised, corrupt or truncated data, and
// ErrUnsupportedTransferSyntax or ErrUnsupportedPixelData (with Meta and
// DICOM filled in) for DICOM pixel data the lane cannot render.
func (d *Decoder) Decode(data []byte) (Decoded, error) {
	var out Decoded
	out.Format = Sniff(data)
	out.Meta.Size = int64(len(data))
	out.Meta.SHA256 = sha256.Sum256(data)
	var err error
	switch out.Format {
	case "":
		return out, invalidf("unrecognised image format")
	case "dicom":
		out.Meta.MediaType = "application/dicom"
		err = d.decodeDICOM(data, &out)
	default:
		out.Meta.MediaType = "image/" + out.Format
		out.Image, err = d.decodeRaster(out.Format, data)
		if err == nil {
			out.Meta.Width, out.Meta.Height = out.Image.Bounds().Dx(), out.Image.Bounds().Dy()
			out.Meta.Kind = kindOf(out.Image)
		}
	}
	if err != nil {
		out.Image = nil
		return out, err
	}
	return out, nil
}

// Image decodes data and returns only the image; its signature matches
// retina.Decoder, which cmd wires to it.
func (d *Decoder) Image(data []byte) (image.Image, error) {
	switch f := Sniff(data); f {
	case "":
		return nil, invalidf("unrecognised image format")
	case "dicom":
		var out Decoded
		if err := d.decodeDICOM(data, &out); err != nil {
			return nil, err
		}
		return out.Image, nil
	default:
		return d.decodeRaster(f, data)
	}
}

// Sniff returns the format of data from its signature: "jpeg", "png",
// "tiff", "bmp", "webp", "dicom", or "" when unrecognised.
func Sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return "jpeg"
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return "tiff"
	case bytes.HasPrefix(data, []byte("BM")):
		return "bmp"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "webp"
	case len(data) >= 132 && string(data[128:132]) == "DICM":
		return "dicom"
	}
	return ""
}

type rasterCodec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

var rasterCodecs = map[string]rasterCodec{
	"jpeg": {jpeg.DecodeConfig, jpeg.Decode},
	"png":  {png.DecodeConfig, png.Decode},
	"tiff": {tiff.DecodeConfig, tiff.Decode},
	"bmp":  {bmp.DecodeConfig, bmp.Decode},
	"webp": {webp.DecodeConfig, webp.Decode},
}

// decodeRaster reads the header, checks the budget, then decodes.
func (d *Decoder) decodeRaster(format string, data []byte) (img image.Image, err error) {
	c, ok := rasterCodecs[format]
	if !ok {
		return nil, invalidf("unrecognised image format")
	}
	defer func() {
		// The x/image decoders have had panics on hostile input; never
		// let one cross the package boundary.
		if r := recover(); r != nil {
			img, err = nil, invalidf("decode %s: corrupt image (decoder panic)", format)
		}
	}()
	cfg, err := c.config(bytes.NewReader(data))
	if err != nil {
		return nil, corrupt(format, "header", err)
	}
	if err := checkBudget(format, cfg.Width, cfg.Height, d.maxPixels); err != nil {
		return nil, err
	}
	img, err = c.decode(bytes.NewReader(data))
	if err != nil {
		return nil, corrupt(format, "image", err)
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, invalidf("decode %s: image is %dx%d but its header says %dx%d", format, b.Dx(), b.Dy(), cfg.Width, cfg.Height)
	}
	return img, nil
}

// corrupt wraps a decoder error as lane.ErrInvalid, saying whether the
// file ended early.
func corrupt(format, part string, err error) error {
	what := "corrupt"
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		what = "truncated"
	}
	return fmt.Errorf("imaging: decode %s %s: %s file (%v): %w", format, part, what, err, lane.ErrInvalid)
}

// checkBudget refuses a declared size that is empty or over the budget.
func checkBudget(format string, w, h int, maxPixels int64) error {
	if w <= 0 || h <= 0 {
		return invalidf("decode %s: image size %dx%d", format, w, h)
	}
	if n := int64(w) * int64(h); n > maxPixels {
		return fmt.Errorf("imaging: decode %s: %dx%d is %d pixels, over the budget of %d: %w", format, w, h, n, maxPixels, ErrTooLarge)
	}
	return nil
}

// unsupportedPixel returns an ErrUnsupportedPixelData error.
func unsupportedPixel(format string, args ...any) error {
	return fmt.Errorf("imaging: dicom: %s cannot be rendered locally; the rendered image from the DICOM archive will be used when one is configured: %w", fmt.Sprintf(format, args...), ErrUnsupportedPixelData)
}

// kindOf guesses the kind of a plain photograph: colour unless it is
// greyscale.
func kindOf(img image.Image) lane.ImageKind {
	switch img.ColorModel() {
	case color.GrayModel, color.Gray16Model:
		return lane.ImageOther
	}
	return lane.ImageColor
}
