package server

import (
	"errors"
	"fmt"

	"github.com/examlane/examlane/devices/imaging"
	"github.com/examlane/examlane/lane"
)

// tsExplicitBE is the big-endian transfer syntax, which this server does
// not store (its renderer reads little-endian data only).
const tsExplicitBE = "1.2.840.10008.1.2.2"

// checkDICOMStructure runs the lane's structural pre-scan
// (imaging.CheckDICOMStructure) over a Part-10 file before the parser sees
// it: the parser (suyashkumar/dicom v1.1.0) allocates an element's declared
// length before reading it, so without the check 600 bytes can ask for
// gigabytes (found by FuzzDICOM). It also refuses the big-endian and
// deflated transfer syntaxes. It returns the transfer syntax UID.
func checkDICOMStructure(data []byte) (string, error) {
	ts, err := imaging.CheckDICOMStructure(data)
	switch {
	case errors.Is(err, imaging.ErrUnsupportedTransferSyntax):
		return "", lane.Invalidf("DICOM structure: deflated transfer syntax is not accepted")
	case err != nil:
		return "", fmt.Errorf("DICOM structure: %w", err)
	case ts == tsExplicitBE:
		return "", lane.Invalidf("DICOM structure: big-endian transfer syntax is not accepted")
	}
	return ts, nil
}
