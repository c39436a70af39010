package server

import (
	"encoding/binary"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/examlane/examlane/lane"
)

// Transfer syntaxes refused before parsing: this check cannot walk them.
const (
	tsExplicitBE = "1.2.840.10008.1.2.2"
	tsDeflated   = "1.2.840.10008.1.2.1.99"
)

// maxDICOMNesting bounds sequence and item nesting.
const maxDICOMNesting = 32

// validVRs are the value representations of PS3.5.
var validVRs = map[string]bool{}

func init() {
	for _, vr := range strings.Fields("AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV") {
		validVRs[vr] = true
	}
}

// checkDICOMStructure walks a Part-10 file's element headers before the
// parser sees it and refuses any length that runs past the end of the
// data, unknown VRs, and nesting deeper than maxDICOMNesting. The parser
// (suyashkumar/dicom v1.1.0) allocates an element's declared length before
// reading it, so without this check 600 bytes can ask for gigabytes (found
// by FuzzDICOM). It returns the transfer syntax UID.
func checkDICOMStructure(data []byte) (string, error) {
	bad := func(what string) (string, error) { return "", lane.Invalidf("DICOM structure: %s", what) }
	if len(data) < 132 || string(data[128:132]) != "DICM" {
		return bad("no DICM preamble")
	}
	le16 := func(p int) int { return int(binary.LittleEndian.Uint16(data[p:])) }
	le32 := func(p int) uint32 { return binary.LittleEndian.Uint32(data[p:]) }
	// File meta information: explicit VR little endian, group 0002,
	// starting with its group length.
	pos := 132
	if pos+12 > len(data) || le16(pos) != 2 || le16(pos+2) != 0 || string(data[pos+4:pos+6]) != "UL" || le16(pos+6) != 4 {
		return bad("no file meta group length")
	}
	metaEnd := pos + 12 + int(le32(pos+8))
	if metaEnd > len(data) || metaEnd < pos+12 {
		return bad("file meta group length past the end")
	}
	pos += 12
	ts := ""
	for pos < metaEnd {
		if pos+8 > metaEnd {
			return bad("truncated file meta element")
		}
		g, e, vr := le16(pos), le16(pos+2), string(data[pos+4:pos+6])
		if g != 2 || !validVRs[vr] {
			return bad("malformed file meta element")
		}
		var vl int
		if longVR[vr] {
			if pos+12 > metaEnd {
				return bad("truncated file meta element")
			}
			vl = int(le32(pos + 8))
			pos += 12
		} else {
			vl = le16(pos + 6)
			pos += 8
		}
		if vl < 0 || vl > metaEnd-pos {
			return bad("file meta element length past the end")
		}
		if e == 0x0010 {
			ts = strings.TrimRight(string(data[pos:pos+vl]), "\x00 ")
		}
		pos += vl
	}
	switch ts {
	case "":
		return bad("no transfer syntax")
	case tsExplicitBE, tsDeflated:
		return bad("big-endian and deflated transfer syntaxes are not accepted")
	}
	explicit := ts != tsImplicitLE
	// The data set. stack holds the end offset of each open defined-length
	// container, or -1 for an undefined-length one.
	var stack []int
	encapsulated := false
	for {
		for len(stack) > 0 && stack[len(stack)-1] >= 0 && pos >= stack[len(stack)-1] {
			if pos > stack[len(stack)-1] {
				return bad("element runs past its sequence or item")
			}
			stack = stack[:len(stack)-1]
		}
		if pos == len(data) {
			break
		}
		if len(stack) > maxDICOMNesting {
			return bad("nesting too deep")
		}
		if pos+8 > len(data) {
			return bad("truncated element header")
		}
		g, e := le16(pos), le16(pos+2)
		if g == 0xFFFE {
			vl := le32(pos + 4)
			pos += 8
			switch e {
			case 0xE000: // item
				switch {
				case vl == 0xFFFFFFFF && encapsulated:
					return bad("undefined-length fragment")
				case vl == 0xFFFFFFFF:
					stack = append(stack, -1)
				case int64(vl) > int64(len(data)-pos):
					return bad("item length past the end")
				case encapsulated:
					pos += int(vl)
				default:
					stack = append(stack, pos+int(vl))
				}
			case 0xE00D, 0xE0DD: // item and sequence delimiters
				if vl != 0 {
					return bad("delimiter with a length")
				}
				if e == 0xE0DD && encapsulated {
					encapsulated = false
					continue
				}
				if len(stack) == 0 || stack[len(stack)-1] != -1 {
					return bad("unmatched delimiter")
				}
				stack = stack[:len(stack)-1]
			default:
				return bad("unknown item tag")
			}
			continue
		}
		if encapsulated {
			return bad("element inside encapsulated pixel data")
		}
		var vr string
		var vl uint32
		if explicit {
			vr = string(data[pos+4 : pos+6])
			if !validVRs[vr] {
				return bad("unknown VR")
			}
			if longVR[vr] {
				if pos+12 > len(data) {
					return bad("truncated element header")
				}
				vl = le32(pos + 8)
				pos += 12
			} else {
				vl = uint32(le16(pos + 6))
				pos += 8
			}
		} else {
			vl = le32(pos + 4)
			pos += 8
			if info, err := tag.Find(tag.Tag{Group: uint16(g), Element: uint16(e)}); err == nil && len(info.VRs) > 0 && info.VRs[0] == "SQ" {
				vr = "SQ"
			}
		}
		if vl == 0xFFFFFFFF {
			if g == 0x7FE0 && e == 0x0010 {
				encapsulated = true
				continue
			}
			stack = append(stack, -1) // SQ, or UN holding a sequence
			continue
		}
		if int64(vl) > int64(len(data)-pos) {
			return bad("element length past the end")
		}
		if vr == "SQ" {
			stack = append(stack, pos+int(vl))
			continue
		}
		pos += int(vl)
	}
	if encapsulated || len(stack) > 0 {
		return bad("unterminated sequence or pixel data")
	}
	return ts, nil
}
