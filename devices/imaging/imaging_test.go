package imaging_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/examlane/examlane/devices/imaging"
	"github.com/examlane/examlane/lane"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeStd(t testing.TB, name string) image.Image {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(readFile(t, name)))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// diff returns the mean and maximum absolute per-channel difference.
func diff(t testing.TB, got, want image.Image) (mean float64, maxd int) {
	t.Helper()
	if got.Bounds().Size() != want.Bounds().Size() {
		t.Fatalf("size = %v, want %v", got.Bounds().Size(), want.Bounds().Size())
	}
	var sum, n int
	gb, wb := got.Bounds(), want.Bounds()
	for y := 0; y < gb.Dy(); y++ {
		for x := 0; x < gb.Dx(); x++ {
			a := color.RGBAModel.Convert(got.At(gb.Min.X+x, gb.Min.Y+y)).(color.RGBA)
			b := color.RGBAModel.Convert(want.At(wb.Min.X+x, wb.Min.Y+y)).(color.RGBA)
			for _, d := range []int{int(a.R) - int(b.R), int(a.G) - int(b.G), int(a.B) - int(b.B)} {
				d = max(d, -d)
				sum += d
				n++
				maxd = max(maxd, d)
			}
		}
	}
	return float64(sum) / float64(n), maxd
}

type invert struct{ image.Image }

func (i invert) At(x, y int) color.Color {
	g := color.GrayModel.Convert(i.Image.At(x, y)).(color.Gray)
	return color.Gray{255 - g.Y}
}

// stretch is src_gray.png min–max stretched to 0..255, which is what a
// 12-bit copy of it without a window must look like.
type stretch struct {
	image.Image
	lo, hi float64
}

func (s stretch) At(x, y int) color.Color {
	g := color.GrayModel.Convert(s.Image.At(x, y)).(color.Gray)
	v := (float64(g.Y)*16 + 8 - (s.lo*16 + 8)) / ((s.hi - s.lo) * 16) * 255
	return color.Gray{uint8(v + 0.5)}
}

func newStretch(img image.Image) stretch {
	lo, hi := 255.0, 0.0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g := float64(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
			lo, hi = min(lo, g), max(hi, g)
		}
	}
	return stretch{img, lo, hi}
}

// ref is a reference image with the per-channel tolerance allowed.
type ref struct {
	img     image.Image
	meanTol float64
	maxTol  int
}

func TestDICOMFixtures(t *testing.T) {
	t.Parallel()
	rgbJPEG := decodeStd(t, "src_rgb.jpg")
	grayJPEG := decodeStd(t, "src_gray.jpg")
	grayPNG := decodeStd(t, "src_gray.png")
	// gen.sh writes AcquisitionDateTime; mkdcm only AcquisitionDate and
	// AcquisitionTime: both must give the same instant.
	capturedAt := time.Date(2024, 3, 14, 10, 15, 2, 250_000_000, time.UTC)
	dcmtkRGB := decodeStd(t, "ref_native_rgb_dcmtk.png")
	dcmtkWindow := decodeStd(t, "ref_mono16_window_dcmtk.png")
	dcmtkMinMax := decodeStd(t, "ref_mono16_minmax_dcmtk.png")
	// exact and loose compare with no tolerance and with the tolerance
	// for two different JPEG decoders: dcmtk's (IJG, "fancy" chroma
	// upsampling) and Go's differ by a few levels, most at colour edges.
	exact := func(img image.Image) ref { return ref{img, 0, 0} }
	loose := func(img image.Image) ref { return ref{img, 2, 100} }
	tests := []struct {
		file        string
		ts          string
		eye         lane.Eye
		kind        lane.ImageKind
		refs        []ref
		spacingUM   float64
		unsupported bool
	}{
		{file: "op_jpeg_baseline.dcm", ts: "1.2.840.10008.1.2.4.50", eye: lane.EyeRight, kind: lane.ImageColor, refs: []ref{exact(rgbJPEG)}, spacingUM: 12.5},
		{file: "op_native_rgb_explicit.dcm", ts: "1.2.840.10008.1.2.1", eye: lane.EyeRight, kind: lane.ImageColor, refs: []ref{exact(dcmtkRGB), loose(rgbJPEG)}, spacingUM: 12.5},
		{file: "op_native_rgb_planar.dcm", ts: "1.2.840.10008.1.2.1", eye: lane.EyeRight, kind: lane.ImageColor, refs: []ref{exact(dcmtkRGB)}, spacingUM: 12.5},
		{file: "op_native_rgb_implicit.dcm", ts: "1.2.840.10008.1.2", eye: lane.EyeRight, kind: lane.ImageColor, refs: []ref{exact(dcmtkRGB)}, spacingUM: 12.5},
		{file: "op_native_rgb_bigendian.dcm", ts: "1.2.840.10008.1.2.2", eye: lane.EyeRight, kind: lane.ImageColor, refs: []ref{exact(dcmtkRGB)}, spacingUM: 12.5},
		{file: "op_mono8_jpeg.dcm", ts: "1.2.840.10008.1.2.4.50", eye: lane.EyeLeft, kind: lane.ImageRedFree, refs: []ref{exact(grayJPEG)}, spacingUM: 12.5},
		{file: "op_mono8_native.dcm", ts: "1.2.840.10008.1.2.1", eye: lane.EyeLeft, kind: lane.ImageRedFree, refs: []ref{{grayJPEG, 1, 4}}, spacingUM: 12.5},
		{file: "op_mono1_native.dcm", ts: "1.2.840.10008.1.2.1", eye: lane.EyeLeft, kind: lane.ImageRedFree, refs: []ref{{invert{grayJPEG}, 1, 4}}, spacingUM: 12.5},
		{file: "op_mono16_window.dcm", ts: "1.2.840.10008.1.2.1", eye: lane.EyeLeft, kind: lane.ImageRedFree, refs: []ref{exact(grayPNG), {dcmtkWindow, 0.5, 1}}, spacingUM: 12.5},
		{file: "op_mono16_window_implicit.dcm", ts: "1.2.840.10008.1.2", eye: lane.EyeLeft, kind: lane.ImageRedFree, refs: []ref{exact(grayPNG)}, spacingUM: 12.5},
		{file: "op_mono16_minmax.dcm", ts: "1.2.840.10008.1.2.1", eye: lane.EyeLeft, kind: lane.ImageRedFree, refs: []ref{{newStretch(grayPNG), 0.5, 1}, {dcmtkMinMax, 0.75, 1}}, spacingUM: 12.5},
		{file: "op_jpeg_lossless.dcm", ts: "1.2.840.10008.1.2.4.70", eye: lane.EyeRight, kind: lane.ImageColor, unsupported: true, spacingUM: 12.5},
		{file: "op_jpegls.dcm", ts: "1.2.840.10008.1.2.4.80", eye: lane.EyeRight, kind: lane.ImageColor, unsupported: true, spacingUM: 12.5},
		{file: "op_j2k.dcm", ts: "1.2.840.10008.1.2.4.90", eye: lane.EyeLeft, kind: lane.ImageColor, unsupported: true},
	}
	d := imaging.New(imaging.Config{Location: time.UTC})
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			data := readFile(t, tt.file)
			got, err := d.Decode(data)
			if got.Format != "dicom" || got.Meta.MediaType != "application/dicom" {
				t.Errorf("Format, MediaType = %q, %q; want dicom, application/dicom", got.Format, got.Meta.MediaType)
			}
			if got.DICOM == nil {
				t.Fatalf("DICOM info missing (err %v)", err)
			}
			if got.DICOM.TransferSyntax != tt.ts {
				t.Errorf("TransferSyntax = %q, want %q", got.DICOM.TransferSyntax, tt.ts)
			}
			m := got.Meta
			if m.Eye != tt.eye || m.Kind != tt.kind || !m.CapturedAt.Equal(capturedAt) {
				t.Errorf("Eye, Kind, CapturedAt = %v, %v, %v; want %v, %v, %v", m.Eye, m.Kind, m.CapturedAt, tt.eye, tt.kind, capturedAt)
			}
			if m.PixelSpacingUM != tt.spacingUM {
				t.Errorf("PixelSpacingUM = %v, want %v", m.PixelSpacingUM, tt.spacingUM)
			}
			if m.Width != 64 || m.Height != 48 || m.Size != int64(len(data)) || m.SHA256 == [32]byte{} {
				t.Errorf("Width, Height, Size = %d, %d, %d; want 64, 48, %d and a SHA-256", m.Width, m.Height, m.Size, len(data))
			}
			if !strings.HasPrefix(m.InstanceUID, "1.2.826.0.1.3680043.10.1453.1.") || m.StudyUID != "1.2.826.0.1.3680043.10.1453.1" || m.SeriesUID == "" {
				t.Errorf("UIDs = %q, %q, %q", m.StudyUID, m.SeriesUID, m.InstanceUID)
			}
			if got.DICOM.Modality != "OP" || !strings.HasPrefix(got.DICOM.SOPClassUID, "1.2.840.10008.5.1.4.1.1.77.1.5.") {
				t.Errorf("Modality, SOPClassUID = %q, %q", got.DICOM.Modality, got.DICOM.SOPClassUID)
			}
			if got.Patient.ID != "SYN-0001" || got.Patient.Name != "TEST^SYNTHETIC" {
				t.Errorf("Patient = %q, %q; want the synthetic identity", got.Patient.ID, got.Patient.Name)
			}
			if m.Instrument.Vendor != "SYNTHETIC" {
				t.Errorf("Instrument.Vendor = %q, want SYNTHETIC", m.Instrument.Vendor)
			}
			if tt.unsupported {
				if !errors.Is(err, imaging.ErrUnsupportedTransferSyntax) {
					t.Fatalf("err = %v, want ErrUnsupportedTransferSyntax", err)
				}
				var tse *imaging.TransferSyntaxError
				if !errors.As(err, &tse) || tse.UID != tt.ts {
					t.Errorf("err = %#v, want *TransferSyntaxError for %s", err, tt.ts)
				}
				if msg := err.Error(); !strings.Contains(msg, "cannot render locally") || !strings.Contains(msg, "rendered image from the DICOM archive") {
					t.Errorf("message %q does not say what happens instead", msg)
				}
				if got.Image != nil {
					t.Error("Image set alongside an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			for i, r := range tt.refs {
				mean, mx := diff(t, got.Image, r.img)
				if mean > r.meanTol || mx > r.maxTol {
					t.Errorf("pixels differ from reference %d: mean %.2f (tolerance %.2f), max %d (tolerance %d)", i, mean, r.meanTol, mx, r.maxTol)
				}
			}
			// Image (the retina.Decoder entry point) gives the same pixels.
			img, err := d.Image(data)
			if err != nil {
				t.Fatalf("Image: %v", err)
			}
			if mean, mx := diff(t, img, got.Image); mean != 0 || mx != 0 {
				t.Errorf("Image differs from Decode: mean %.2f, max %d", mean, mx)
			}
		})
	}
}

// TestPatientNeverPrinted checks that formatting a decoded DICOM file or
// any error from one never shows the patient's identity.
func TestPatientNeverPrinted(t *testing.T) {
	t.Parallel()
	d := imaging.New(imaging.Config{})
	for _, f := range []string{"op_jpeg_baseline.dcm", "op_j2k.dcm"} {
		got, err := d.Decode(readFile(t, f))
		if got.Patient.Name == "" {
			t.Fatalf("%s: no patient name read", f)
		}
		for _, s := range []string{fmt.Sprint(got), fmt.Sprintf("%+v", got), fmt.Sprintf("%#v", got), fmt.Sprint(err)} {
			if strings.Contains(s, "SYNTHETIC^") || strings.Contains(s, "TEST^") || strings.Contains(s, "SYN-0001") {
				t.Errorf("%s: patient identity printed: %.200s", f, s)
			}
		}
	}
}

func TestRasterFormats(t *testing.T) {
	t.Parallel()
	src := decodeStd(t, "src_rgb.png")
	enc := func(f func(*bytes.Buffer) error) []byte {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	jpg := readFile(t, "src_rgb.jpg")
	tests := []struct {
		name, format string
		data         []byte
		want         image.Image
		meanTol      float64
		maxTol       int
	}{
		{"png", "png", enc(func(b *bytes.Buffer) error { return png.Encode(b, src) }), src, 0, 0},
		{"jpeg", "jpeg", jpg, decodeStd(t, "src_rgb.jpg"), 0, 0},
		{"tiff", "tiff", enc(func(b *bytes.Buffer) error { return tiff.Encode(b, src, nil) }), src, 0, 0},
		{"tiff-deflate", "tiff", enc(func(b *bytes.Buffer) error {
			return tiff.Encode(b, src, &tiff.Options{Compression: tiff.Deflate, Predictor: true})
		}), src, 0, 0},
		{"bmp", "bmp", enc(func(b *bytes.Buffer) error { return bmp.Encode(b, src) }), src, 0, 0},
		{"webp-lossless", "webp", readFile(t, "src_rgb_lossless.webp"), src, 0, 0},
		// Lossy WebP at quality 90 on a 64×48 picture with sharp discs:
		// the same picture, with coding error.
		{"webp-lossy", "webp", readFile(t, "src_rgb_lossy.webp"), src, 8, 40},
	}
	d := imaging.New(imaging.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := d.Decode(tt.data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got.Format != tt.format || got.Meta.MediaType != "image/"+tt.format || got.DICOM != nil {
				t.Errorf("Format, MediaType = %q, %q; want %q", got.Format, got.Meta.MediaType, tt.format)
			}
			if got.Meta.Width != 64 || got.Meta.Height != 48 || got.Meta.Kind != lane.ImageColor {
				t.Errorf("Width, Height, Kind = %d, %d, %v", got.Meta.Width, got.Meta.Height, got.Meta.Kind)
			}
			mean, mx := diff(t, got.Image, tt.want)
			if mean > tt.meanTol || mx > tt.maxTol {
				t.Errorf("pixels differ: mean %.2f (tolerance %.2f), max %d (tolerance %d)", mean, tt.meanTol, mx, tt.maxTol)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	t.Parallel()
	dcm := append(make([]byte, 128), "DICM"...)
	tests := map[string]string{
		"\xff\xd8\xff\xe0":         "jpeg",
		"\x89PNG\r\n\x1a\n":        "png",
		"II*\x00....":              "tiff",
		"MM\x00*....":              "tiff",
		"BM......":                 "bmp",
		"RIFF\x00\x00\x00\x00WEBP": "webp",
		string(dcm):                "dicom",
		"GIF89a":                   "",
		"":                         "",
		"RIFF\x00\x00\x00\x00WAVE": "",
	}
	for in, want := range tests {
		if got := imaging.Sniff([]byte(in)); got != want {
			t.Errorf("Sniff(%q) = %q, want %q", in, got, want)
		}
	}
}

// pngHeader returns a PNG signature and IHDR declaring w×h, with no data.
func pngHeader(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")
	b = binary.BigEndian.AppendUint32(b, w)
	b = binary.BigEndian.AppendUint32(b, h)
	b = append(b, 8, 2, 0, 0, 0)
	crc := crc32IEEE(b[12:])
	return binary.BigEndian.AppendUint32(b, crc)
}

func crc32IEEE(b []byte) uint32 {
	crc := ^uint32(0)
	for _, c := range b {
		crc ^= uint32(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xedb88320
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

// jpegClaiming returns src_rgb.jpg with its frame header claiming w×h.
func jpegClaiming(t *testing.T, w, h uint16) []byte {
	b := append([]byte(nil), readFile(t, "src_rgb.jpg")...)
	i := bytes.Index(b, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no SOF0 in src_rgb.jpg")
	}
	binary.BigEndian.PutUint16(b[i+5:], h)
	binary.BigEndian.PutUint16(b[i+7:], w)
	return b
}

// dicomClaiming returns a native DICOM fixture with Rows and Columns
// patched to h and w (US values, explicit VR little endian).
func dicomClaiming(t *testing.T, w, h uint16) []byte {
	b := append([]byte(nil), readFile(t, "op_native_rgb_explicit.dcm")...)
	for _, p := range []struct {
		elem uint16
		v    uint16
	}{{0x0010, h}, {0x0011, w}} {
		pat := []byte{0x28, 0x00, byte(p.elem), byte(p.elem >> 8), 'U', 'S', 2, 0}
		i := bytes.Index(b, pat)
		if i < 0 {
			t.Fatalf("no (0028,%04x) in the fixture", p.elem)
		}
		binary.LittleEndian.PutUint16(b[i+8:], p.v)
	}
	return b
}

func TestPixelBudget(t *testing.T) {
	t.Parallel()
	d := imaging.New(imaging.Config{MaxPixels: 10_000})
	tests := []struct {
		name string
		data []byte
	}{
		{"png 100000x100000", pngHeader(100000, 100000)},
		{"jpeg 60000x60000", jpegClaiming(t, 60000, 60000)},
		{"jpeg just over", jpegClaiming(t, 101, 100)},
		{"dicom 60000x60000", dicomClaiming(t, 60000, 60000)},
	}
	for _, tt := range tests {
		_, err := d.Decode(tt.data)
		if !errors.Is(err, imaging.ErrTooLarge) || !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrTooLarge (and lane.ErrInvalid)", tt.name, err)
		} else if !strings.Contains(err.Error(), "budget") {
			t.Errorf("%s: message %q does not mention the budget", tt.name, err)
		}
	}
	// Exactly at the budget is accepted (64×48 = 3072 pixels).
	if _, err := imaging.New(imaging.Config{MaxPixels: 64 * 48}).Decode(readFile(t, "src_rgb.jpg")); err != nil {
		t.Errorf("image at the budget: %v", err)
	}
	if _, err := imaging.New(imaging.Config{MaxPixels: 64*48 - 1}).Decode(readFile(t, "op_native_rgb_explicit.dcm")); !errors.Is(err, imaging.ErrTooLarge) {
		t.Errorf("dicom one pixel over the budget: err = %v, want ErrTooLarge", err)
	}
}

// TestTruncatedAndCorrupt cuts every fixture at several points and flips
// bytes in its middle: every result is an error wrapping lane.ErrInvalid
// (or, for files the lane cannot render anyway, the unsupported error), or
// a successful decode of the right size; never a panic.
func TestTruncatedAndCorrupt(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/*.*")
	d := imaging.New(imaging.Config{MaxPixels: 1 << 20})
	for _, f := range files {
		if filepath.Ext(f) == ".sh" || filepath.Ext(f) == ".md" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, frac := range []float64{0, 0.1, 0.3, 0.5, 0.8, 0.95} {
			cut := data[:int(float64(len(data))*frac)]
			_, err := d.Decode(cut)
			if err == nil {
				t.Errorf("%s cut to %d of %d bytes: no error", f, len(cut), len(data))
				continue
			}
			if !errors.Is(err, lane.ErrInvalid) && !errors.Is(err, imaging.ErrUnsupportedTransferSyntax) {
				t.Errorf("%s cut to %d bytes: err = %v, want lane.ErrInvalid", f, len(cut), err)
			}
		}
		for _, off := range []int{len(data) / 3, len(data) / 2} {
			bad := append([]byte(nil), data...)
			for i := off; i < min(off+16, len(bad)); i++ {
				bad[i] ^= 0xa5
			}
			got, err := d.Decode(bad)
			if err == nil && got.Image == nil {
				t.Errorf("%s corrupted at %d: no error and no image", f, off)
			}
		}
	}
}

func TestUnrecognised(t *testing.T) {
	t.Parallel()
	_, err := imaging.New(imaging.Config{}).Decode([]byte("GIF89a not a camera format"))
	if !errors.Is(err, lane.ErrInvalid) || !strings.Contains(err.Error(), "unrecognised") {
		t.Errorf("err = %v, want an unrecognised-format error wrapping lane.ErrInvalid", err)
	}
}
