package imaging

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// DICOM scan limits. Real fundus files have a few hundred elements and
// sequences nested two or three deep.
const (
	// maxScanDepth bounds nesting, counting each sequence and each item as
	// a level: 32 levels are 16 sequences, one inside the other.
	maxScanDepth    = 32
	maxScanElements = 200_000
)

// Transfer syntax UIDs the scanner must tell apart.
const (
	tsImplicitLE = "1.2.840.10008.1.2"
	tsExplicitLE = "1.2.840.10008.1.2.1"
	tsDeflateLE  = "1.2.840.10008.1.2.1.99"
	tsExplicitBE = "1.2.840.10008.1.2.2"
)

const undefinedLength = 0xffffffff

var errDeflatedDCM = fmt.Errorf("imaging: a deflated DICOM data set cannot be checked before parsing: %w", ErrUnsupportedTransferSyntax)

// validVRs are the value representations of DICOM PS3.5 (2024).
var validVRs = map[string]bool{}

func init() {
	for _, vr := range strings.Fields("AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV") {
		validVRs[vr] = true
	}
}

// CheckDICOMStructure walks a DICOM Part 10 file's element headers, reading
// no values but the transfer syntax, and refuses what a tag parser must
// never be given: a declared length that runs past the end of the data or
// of its sequence or item (github.com/suyashkumar/dicom allocates a value's
// declared length before reading it, so a few hundred bytes could ask for
// gigabytes), an unknown VR, a file meta group that does not start with
// its group length or overruns it, items or delimiters out of place,
// delimiters with a length, sequences and items nested more than 32 deep
// (16 sequences), and more than 200 000 elements. On success every declared
// length is backed by real bytes.
//
// It returns the transfer syntax UID. Errors wrap lane.ErrInvalid, except
// that a deflated data set, which cannot be walked without inflating it,
// gives an error wrapping ErrUnsupportedTransferSyntax.
func CheckDICOMStructure(data []byte) (transferSyntax string, err error) {
	sc, err := scanDICOM(data)
	if err != nil {
		return "", err
	}
	if sc.Deflated {
		return sc.TransferSyntax, errDeflatedDCM
	}
	return sc.TransferSyntax, nil
}

// scanResult is what the structural pre-scan learned.
type scanResult struct {
	// TransferSyntax is (0002,0010), trimmed.
	TransferSyntax string
	// Deflated is set for the deflate transfer syntax, whose dataset the
	// scanner cannot walk (and the lane does not render).
	Deflated bool
}

// scanner walks a DICOM Part 10 file and checks its structure (see
// CheckDICOMStructure).
type scanner struct {
	data     []byte
	bo       binary.ByteOrder
	implicit bool
	elements int
}

// scanDICOM checks data's structure; a deflated data set is reported, not
// walked. It returns an error wrapping lane.ErrInvalid if the file is not a
// well-formed DICOM Part 10 file.
func scanDICOM(data []byte) (scanResult, error) {
	var res scanResult
	if len(data) < 132 || string(data[128:132]) != "DICM" {
		return res, invalidf("dicom: missing DICM preamble")
	}
	s := &scanner{data: data, bo: binary.LittleEndian}
	// File meta information: explicit VR little endian, group 0002, opened
	// by its group length (UL), which bounds it.
	var vr string
	t, vl, pos, err := s.headerVR(132, len(data), &vr)
	if err != nil {
		return res, err
	}
	if t != tag.FileMetaInformationGroupLength || vr != "UL" || vl != 4 || pos+4 > len(data) {
		return res, invalidf("dicom: the file meta information does not start with its group length")
	}
	metaEnd := int64(pos) + 4 + int64(binary.LittleEndian.Uint32(data[pos:]))
	if metaEnd > int64(len(data)) {
		return res, invalidf("dicom: the file meta group length runs past the end of the file")
	}
	end := int(metaEnd)
	for pos += 4; pos < end; {
		t, vl, next, err := s.header(pos, end)
		if err != nil {
			return res, err
		}
		if t.Group != 0x0002 {
			return res, invalidf("dicom: element %s inside the file meta information", t)
		}
		if vl == undefinedLength || int64(next)+int64(vl) > metaEnd {
			return res, invalidf("dicom: file meta element %s overruns the file meta information", t)
		}
		if t == tag.TransferSyntaxUID {
			res.TransferSyntax = strings.TrimRight(string(data[next:next+int(vl)]), "\x00 ")
		}
		pos = next + int(vl)
		s.elements++
	}
	switch res.TransferSyntax {
	case "":
		return res, invalidf("dicom: no transfer syntax in the file meta information")
	case tsImplicitLE:
		s.implicit = true
	case tsExplicitBE:
		s.bo = binary.BigEndian
	case tsDeflateLE:
		res.Deflated = true
		return res, nil
	}
	_, err = s.walk(end, len(data), 0, false)
	return res, err
}

// explicitLong reports VRs with a 2-byte reserved field and a 4-byte length.
func explicitLong(vr string) bool {
	switch vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		return true
	}
	return false
}

// header reads the element header at pos (end bounds its container) and
// returns the tag, value length and value offset. Items and delimiters
// (group FFFE) have no VR in any transfer syntax.
func (s *scanner) header(pos, end int) (tag.Tag, uint32, int, error) {
	return s.headerVR(pos, end, nil)
}

func (s *scanner) headerVR(pos, end int, vrOut *string) (tag.Tag, uint32, int, error) {
	d := s.data
	if pos+8 > end {
		return tag.Tag{}, 0, 0, invalidf("dicom: truncated element header at offset %d", pos)
	}
	bo := s.bo
	t := tag.Tag{Group: bo.Uint16(d[pos:]), Element: bo.Uint16(d[pos+2:])}
	meta := t.Group == 0x0002
	if t.Group == 0xfffe || (s.implicit && !meta) {
		return t, bo.Uint32(d[pos+4:]), pos + 8, nil
	}
	vr := string(d[pos+4 : pos+6])
	if !validVRs[vr] {
		return t, 0, 0, invalidf("dicom: element %s has no valid VR", t)
	}
	if vrOut != nil {
		*vrOut = vr
	}
	if explicitLong(vr) {
		if pos+12 > end {
			return t, 0, 0, invalidf("dicom: truncated element header at offset %d", pos)
		}
		return t, bo.Uint32(d[pos+8:]), pos + 12, nil
	}
	return t, uint32(bo.Uint16(d[pos+6:])), pos + 8, nil
}

// isSequence reports whether an element holds items: SQ explicitly, or in
// implicit VR a tag the dictionary lists as SQ.
func (s *scanner) isSequence(t tag.Tag, vr string) bool {
	if !s.implicit {
		return vr == "SQ"
	}
	info, err := tag.Find(t)
	if err != nil {
		return false
	}
	for _, v := range info.VRs {
		if v == "SQ" {
			return true
		}
	}
	return false
}

// walk checks the elements in [pos,end) at nesting depth. In an
// undefined-length item it stops at the item delimiter and returns the
// offset after it.
func (s *scanner) walk(pos, end, depth int, undefined bool) (int, error) {
	if depth > maxScanDepth {
		return 0, invalidf("dicom: sequences and items nested deeper than %d", maxScanDepth)
	}
	for pos < end {
		if s.elements++; s.elements > maxScanElements {
			return 0, invalidf("dicom: more than %d elements", maxScanElements)
		}
		var vr string
		t, vl, next, err := s.headerVR(pos, end, &vr)
		if err != nil {
			return 0, err
		}
		switch {
		case t == tag.ItemDelimitationItem && undefined:
			if vl != 0 {
				return 0, invalidf("dicom: item delimiter with a length")
			}
			return next, nil
		case t.Group == 0xfffe:
			return 0, invalidf("dicom: %s outside its sequence or item", t)
		}
		if vl != undefinedLength {
			if int64(next)+int64(vl) > int64(end) {
				return 0, invalidf("dicom: element %s declares %d bytes, more than remain", t, vl)
			}
			if s.isSequence(t, vr) {
				if err := s.items(next, next+int(vl), depth+1); err != nil {
					return 0, err
				}
			}
			pos = next + int(vl)
			continue
		}
		// Undefined length: a sequence, an implicit-VR UN sequence, or
		// encapsulated pixel data (fragments are raw bytes).
		raw := t == tag.PixelData
		if pos, err = s.itemsUndefined(next, end, depth+1, raw); err != nil {
			return 0, err
		}
	}
	if undefined {
		return 0, invalidf("dicom: missing item delimiter")
	}
	return pos, nil
}

// items checks the items of a defined-length sequence in [pos,end).
func (s *scanner) items(pos, end, depth int) error {
	if depth > maxScanDepth {
		return invalidf("dicom: sequences and items nested deeper than %d", maxScanDepth)
	}
	for pos < end {
		if s.elements++; s.elements > maxScanElements {
			return invalidf("dicom: more than %d elements", maxScanElements)
		}
		t, vl, next, err := s.header(pos, end)
		if err != nil {
			return err
		}
		if t != tag.Item {
			return invalidf("dicom: expected an item, found %s", t)
		}
		if pos, err = s.item(next, end, vl, depth, false); err != nil {
			return err
		}
	}
	return nil
}

// itemsUndefined checks items until the sequence delimiter and returns the
// offset after it. raw marks encapsulated pixel data, whose items are byte
// fragments.
func (s *scanner) itemsUndefined(pos, end, depth int, raw bool) (int, error) {
	if depth > maxScanDepth {
		return 0, invalidf("dicom: sequences and items nested deeper than %d", maxScanDepth)
	}
	for {
		if s.elements++; s.elements > maxScanElements {
			return 0, invalidf("dicom: more than %d elements", maxScanElements)
		}
		t, vl, next, err := s.header(pos, end)
		if err != nil {
			return 0, err
		}
		switch t {
		case tag.SequenceDelimitationItem:
			if vl != 0 {
				return 0, invalidf("dicom: sequence delimiter with a length")
			}
			return next, nil
		case tag.Item:
			if pos, err = s.item(next, end, vl, depth, raw); err != nil {
				return 0, err
			}
		default:
			return 0, invalidf("dicom: expected an item or sequence delimiter, found %s", t)
		}
	}
}

// item checks one item's content starting at pos (the item is one level
// deeper than its sequence) and returns the offset after it.
func (s *scanner) item(pos, end int, vl uint32, depth int, raw bool) (int, error) {
	if vl == undefinedLength {
		if raw {
			return 0, invalidf("dicom: pixel data fragment without a length")
		}
		return s.walk(pos, end, depth+1, true)
	}
	if int64(pos)+int64(vl) > int64(end) {
		return 0, invalidf("dicom: item declares %d bytes, more than remain", vl)
	}
	if !raw {
		if _, err := s.walk(pos, pos+int(vl), depth+1, false); err != nil {
			return 0, err
		}
	}
	return pos + int(vl), nil
}
