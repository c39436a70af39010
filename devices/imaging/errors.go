package imaging

import (
	"errors"
	"fmt"

	"github.com/examlane/examlane/lane"
)

// ErrTooLarge means an image's header declares more pixels than the
// configured budget; it wraps lane.ErrInvalid.
var ErrTooLarge = fmt.Errorf("image exceeds the pixel budget: %w", lane.ErrInvalid)

// ErrUnsupportedTransferSyntax means a DICOM file's pixel data is encoded in
// a way the lane cannot render locally; the metadata is still returned and
// the archive's rendered image should be shown instead. Errors carrying it
// are *TransferSyntaxError.
var ErrUnsupportedTransferSyntax = errors.New("DICOM transfer syntax cannot be rendered on the lane")

// ErrUnsupportedPixelData means a DICOM file's pixel data is in a layout the
// lane does not render (e.g. PALETTE COLOR, 32 bits allocated); like
// ErrUnsupportedTransferSyntax, the archive's rendered image should be used.
var ErrUnsupportedPixelData = errors.New("DICOM pixel data layout cannot be rendered on the lane")

// TransferSyntaxError reports a DICOM transfer syntax the lane cannot
// render. errors.Is(err, ErrUnsupportedTransferSyntax) is true for it.
type TransferSyntaxError struct {
	// UID is the transfer syntax UID; Name its name when known.
	UID, Name string
}

// Error says what cannot be rendered and what happens instead.
func (e *TransferSyntaxError) Error() string {
	name := e.Name
	if name == "" {
		name = "unknown transfer syntax"
	}
	return fmt.Sprintf("imaging: DICOM pixel data is %s (%s), which the lane cannot render locally; the rendered image from the DICOM archive will be used when one is configured", name, e.UID)
}

// Unwrap returns ErrUnsupportedTransferSyntax.
func (e *TransferSyntaxError) Unwrap() error { return ErrUnsupportedTransferSyntax }

// invalidf returns an error wrapping lane.ErrInvalid with op context.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("imaging: %s: %w", fmt.Sprintf(format, args...), lane.ErrInvalid)
}
