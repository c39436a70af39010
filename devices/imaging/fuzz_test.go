package imaging_test

import (
	"errors"
	"testing"

	"github.com/examlane/examlane/devices/imaging"
	"github.com/examlane/examlane/lane"
)

// FuzzDecode feeds arbitrary bytes to the whole decoder (sniffing, header
// and budget checks, every raster decoder, the DICOM pre-scan, tag
// extraction and pixel unpacking). It must never panic, and every failure
// must be classified. The committed corpus in testdata/fuzz/FuzzDecode
// holds the fixtures and a few hand-made headers.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"))
	f.Add(append(make([]byte, 128), "DICM\x02\x00\x00\x00UL\x04\x00\x1c\x00\x00\x00\x02\x00\x10\x00UI\x14\x001.2.840.10008.1.2.1\x00"...))
	d := imaging.New(imaging.Config{MaxPixels: 1 << 16})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := d.Decode(data)
		if err != nil {
			if got.Image != nil {
				t.Fatal("image returned with an error")
			}
			if !errors.Is(err, lane.ErrInvalid) && !errors.Is(err, imaging.ErrUnsupportedTransferSyntax) && !errors.Is(err, imaging.ErrUnsupportedPixelData) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		b := got.Image.Bounds()
		if b.Dx() <= 0 || b.Dy() <= 0 || int64(b.Dx())*int64(b.Dy()) > 1<<16 {
			t.Fatalf("decoded size %v outside the budget", b.Size())
		}
		if got.Meta.Width != b.Dx() || got.Meta.Height != b.Dy() {
			t.Fatalf("Meta size %dx%d, image %v", got.Meta.Width, got.Meta.Height, b.Size())
		}
	})
}
