// Package imaging decodes the images that arrive from retinal and anterior
// segment cameras: JPEG, PNG, TIFF, BMP and WebP photographs from export
// folders, and DICOM Ophthalmic Photography (or any single-frame DICOM
// image) pushed by a camera or fetched from an archive.
//
// Every decoder reads the header first and refuses an image whose pixel
// count exceeds the configured budget (Config.MaxPixels) before allocating
// pixels, so a small file that claims to be enormous (a decompression bomb)
// costs nothing. Malformed or truncated input returns an error wrapping
// lane.ErrInvalid; nothing here panics on outside bytes (every decoder is
// fuzzed).
//
// # DICOM
//
// Tags are read with github.com/suyashkumar/dicom after a structural
// pre-scan of our own, CheckDICOMStructure, that checks every element length
// against the bytes that contain it (the library allocates a value's
// declared length before reading it), the VRs, the file meta group and the
// nesting; the practice server runs the same check on what lanes store. The
// pixel data is decoded here, not by the library:
//
//   - native (uncompressed) little- or big-endian pixel data: monochrome 8
//     or 16 bits allocated (rescaled, then windowed with the file's first
//     window or, without one, min–max, to 8 bits; MONOCHROME1 inverted), and
//     RGB or YBR_FULL with 8 or 16 bits allocated, interleaved or planar;
//   - JPEG baseline (1.2.840.10008.1.2.4.50) and JPEG extended 8-bit
//     (….4.51) frames, with image/jpeg.
//
// JPEG lossless (….4.57, ….4.70), JPEG-LS (….4.80/81), JPEG 2000 (….4.90/91,
// HTJ2K ….4.201–203), RLE, deflate and video transfer syntaxes cannot be
// rendered on the lane: Decode returns the metadata it read together with
// an error wrapping ErrUnsupportedTransferSyntax, whose message says that
// the archive's rendered image will be used when one is configured (the
// sync client fetches WADO-RS /rendered). Multi-frame files render their
// first frame.
//
// Patient identity read from a DICOM file goes into Decoded.Patient only,
// whose String method redacts it; it is never logged or put in an error.
package imaging
