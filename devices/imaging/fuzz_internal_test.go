package imaging

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
)

// FuzzUnpackNative drives the native pixel unpacker with arbitrary
// layouts and data: it must refuse what it cannot unpack, never read out
// of bounds, and return an image of the declared size.
func FuzzUnpackNative(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, uint16(2), uint16(2), uint8(1), uint8(8), uint8(8), uint8(7), uint8(0), "MONOCHROME2", 0.0, 0.0)
	f.Add([]byte{0, 16, 0, 32, 255, 15, 1, 0}, uint16(2), uint16(2), uint8(1), uint8(16), uint8(12), uint8(11), uint8(1), "MONOCHROME1", 2048.0, 4096.0)
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, uint16(2), uint16(2), uint8(3), uint8(8), uint8(8), uint8(7), uint8(2), "RGB", 0.0, 0.0)
	f.Add([]byte{128, 128, 128, 0, 255, 0}, uint16(1), uint16(2), uint8(3), uint8(8), uint8(8), uint8(7), uint8(4), "YBR_FULL", 0.0, 0.0)
	f.Add([]byte{0x80, 0x00, 0x7f, 0xff}, uint16(1), uint16(2), uint8(1), uint8(16), uint8(16), uint8(15), uint8(8|1), "MONOCHROME2", 0.0, 0.0)
	f.Fuzz(func(t *testing.T, data []byte, rows, cols uint16, samples, bits, stored, high, flags uint8, photometric string, wc, ww float64) {
		l := pixelLayout{
			Rows: int(rows), Cols: int(cols), Samples: int(samples),
			BitsAllocated: int(bits), BitsStored: int(stored), HighBit: int(high),
			Signed: flags&1 != 0, Planar: flags&2 != 0, BigEndian: flags&4 != 0, SwapBytes8: flags&8 != 0,
			Photometric: photometric, Slope: float64(flags>>4) - 4, Intercept: float64(flags >> 6),
			WindowCenter: wc, WindowWidth: ww,
		}
		img, err := unpackNative(l, data, 1<<16)
		if err != nil {
			if !errors.Is(err, lane.ErrInvalid) && !errors.Is(err, ErrUnsupportedPixelData) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if s := img.Bounds().Size(); s.X != int(cols) || s.Y != int(rows) {
			t.Fatalf("size %v, want %dx%d", s, cols, rows)
		}
	})
}

// FuzzScanDICOM checks the structural pre-scan alone (CheckDICOMStructure,
// which cmd/practiced uses too): no panic, bounded work, and only
// classified errors. The corpus holds practiced's crashers, files that made
// the tag parser allocate gigabytes; TestCheckDICOMStructure wants them
// refused.
func FuzzScanDICOM(f *testing.F) {
	hdr := append(make([]byte, 128), "DICM"...)
	f.Add(append(append([]byte(nil), hdr...), "\x02\x00\x00\x00UL\x04\x00\x1a\x00\x00\x00\x02\x00\x10\x00UI\x12\x001.2.840.10008.1.2\x00\x08\x00\x16\x00\x04\x00\x00\x001.2\x00"...))
	f.Add(append(append([]byte(nil), hdr...), "\x02\x00\x00\x00UL\x04\x00\x1c\x00\x00\x00\x02\x00\x10\x00UI\x14\x001.2.840.10008.1.2.1\x00\x08\x00\x15\x11SQ\x00\x00\xff\xff\xff\xff\xfe\xff\x00\xe0\xff\xff\xff\xff\xfe\xff\x0d\xe0\x00\x00\x00\x00\xfe\xff\xdd\xe0\x00\x00\x00\x00"...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := CheckDICOMStructure(data); err != nil && !errors.Is(err, lane.ErrInvalid) && !errors.Is(err, ErrUnsupportedTransferSyntax) {
			t.Fatalf("unclassified error: %v", err)
		}
	})
}

// FuzzParseDT checks the DICOM date-time parser: no panic, and a parsed
// time reformats to the digits it came from.
func FuzzParseDT(f *testing.F) {
	for _, s := range []string{"20240314101502.25", "20240314", "2024031410", "20240230", "20240314101502.123456+0130", "19000101000000-1200", "2024031410150"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, ok := parseDT(s, time.UTC)
		if !ok {
			return
		}
		if tm.Year() < 0 || tm.Year() > 9999 {
			t.Fatalf("parseDT(%q) = %v", s, tm)
		}
		if s = strings.TrimSpace(s); len(s) >= 8 && tm.Format("20060102") != s[:8] {
			t.Fatalf("parseDT(%q) = %v: date digits differ", s, tm)
		}
	})
}
