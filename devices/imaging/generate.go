package imaging

// The DICOM and WebP fixtures in testdata are made by testdata/gen.sh from
// synthetic pictures (dcmtk, ImageMagick and Go required); see
// testdata/README.md. TestGenScript checks that the script still
// reproduces them.
//go:generate bash testdata/gen.sh
