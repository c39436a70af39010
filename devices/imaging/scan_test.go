package imaging_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/examlane/examlane/devices/imaging"
	"github.com/examlane/examlane/lane"
)

// Synthetic DICOM building blocks, explicit VR little endian.

func el(group, elem uint16, vr string, val []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, group)
	b = binary.LittleEndian.AppendUint16(b, elem)
	b = append(b, vr...)
	switch vr {
	case "OB", "OW", "SQ", "UN", "UT":
		b = append(b, 0, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(val)))
	default:
		b = binary.LittleEndian.AppendUint16(b, uint16(len(val)))
	}
	return append(b, val...)
}

// raw is a header-only element: tag and a 32-bit length (items and
// delimiters, or an SQ of undefined length when vr is "SQ").
func raw(group, elem uint16, vr string, length uint32) []byte {
	b := binary.LittleEndian.AppendUint16(nil, group)
	b = binary.LittleEndian.AppendUint16(b, elem)
	if vr != "" {
		b = append(b, vr...)
		b = append(b, 0, 0)
	}
	return binary.LittleEndian.AppendUint32(b, length)
}

// nested wraps inner in n undefined-length sequences, each with one
// undefined-length item.
func nested(n int, inner []byte) []byte {
	for range n {
		var b []byte
		b = append(b, raw(0x0008, 0x2218, "SQ", 0xffffffff)...)
		b = append(b, raw(0xfffe, 0xe000, "", 0xffffffff)...)
		b = append(b, inner...)
		b = append(b, raw(0xfffe, 0xe00d, "", 0)...)
		b = append(b, raw(0xfffe, 0xe0dd, "", 0)...)
		inner = b
	}
	return inner
}

// part10 is a Part-10 file: preamble, file meta (group length first) and
// dataset.
func part10(ts string, dataset []byte) []byte {
	if len(ts)%2 == 1 {
		ts += "\x00"
	}
	meta := el(0x0002, 0x0010, "UI", []byte(ts))
	b := append(make([]byte, 128), "DICM"...)
	b = append(b, el(0x0002, 0x0000, "UL", binary.LittleEndian.AppendUint32(nil, uint32(len(meta))))...)
	b = append(b, meta...)
	return append(b, dataset...)
}

func TestCheckDICOMStructure(t *testing.T) {
	const explicitLE = "1.2.840.10008.1.2.1"
	id := el(0x0010, 0x0020, "LO", []byte("SYN-0001"))
	good := map[string][]byte{
		"flat":                   part10(explicitLE, id),
		"16 sequences deep":      part10(explicitLE, nested(16, id)),
		"defined-length SQ":      part10(explicitLE, el(0x0008, 0x1115, "SQ", append(raw(0xfffe, 0xe000, "", uint32(len(id))), id...))),
		"empty dataset":          part10(explicitLE, nil),
		"implicit little endian": part10("1.2.840.10008.1.2", []byte("\x10\x00\x20\x00\x08\x00\x00\x00SYN-0001")),
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.dcm"))
	if len(files) == 0 {
		t.Fatal("no DICOM fixtures")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		good[filepath.Base(f)] = b
	}
	for name, b := range good {
		ts, err := imaging.CheckDICOMStructure(b)
		if err != nil {
			t.Errorf("%s refused: %v", name, err)
		}
		if ts == "" {
			t.Errorf("%s: no transfer syntax returned", name)
		}
	}
	if ts, _ := imaging.CheckDICOMStructure(good["op_native_rgb_bigendian.dcm"]); ts != "1.2.840.10008.1.2.2" {
		t.Errorf("big-endian fixture: transfer syntax %q", ts)
	}

	huge := append(raw(0x7fe0, 0x0010, "OB", 0xb0000000), 1, 2, 3, 4)
	noGroupLength := append(make([]byte, 128), "DICM"...)
	noGroupLength = append(noGroupLength, el(0x0002, 0x0010, "UI", []byte(explicitLE+"\x00"))...)
	longMeta := part10(explicitLE, id)
	binary.LittleEndian.PutUint32(longMeta[140:], 1<<20)
	overrun := part10(explicitLE, id)
	binary.LittleEndian.PutUint16(overrun[150:], 200) // the transfer syntax runs past the meta group
	bad := map[string][]byte{
		"empty":                          nil,
		"no preamble":                    good["flat"][4:],
		"no meta group length":           noGroupLength,
		"meta group length past the end": longMeta,
		"meta element overruns":          overrun,
		"huge length":                    part10(explicitLE, huge),
		"truncated":                      good["flat"][:len(good["flat"])-3],
		"unknown VR":                     part10(explicitLE, el(0x0010, 0x0020, "ZZ", []byte("SYN-0001"))),
		"lower-case VR":                  part10(explicitLE, el(0x0010, 0x0020, "lo", []byte("SYN-0001"))),
		"17 sequences deep":              part10(explicitLE, nested(17, id)),
		"item outside a sequence":        part10(explicitLE, append(raw(0xfffe, 0xe000, "", 0), id...)),
		"unmatched item delimiter":       part10(explicitLE, append(id, raw(0xfffe, 0xe00d, "", 0)...)),
		"unmatched sequence delimiter":   part10(explicitLE, append(id, raw(0xfffe, 0xe0dd, "", 0)...)),
		"delimiter with a length": part10(explicitLE, bytes.Replace(nested(1, id),
			raw(0xfffe, 0xe0dd, "", 0), raw(0xfffe, 0xe0dd, "", 4), 1)),
		"sequence delimiter closes an item": part10(explicitLE, bytes.Replace(nested(1, id),
			raw(0xfffe, 0xe00d, "", 0), raw(0xfffe, 0xe0dd, "", 0), 1)),
		"unterminated sequence": part10(explicitLE, nested(1, id)[:len(nested(1, id))-8]),
	}
	version := el(0x0002, 0x0001, "OB", []byte{0, 1})
	noTS := append(make([]byte, 128), "DICM"...)
	noTS = append(noTS, el(0x0002, 0x0000, "UL", binary.LittleEndian.AppendUint32(nil, uint32(len(version))))...)
	bad["no transfer syntax"] = append(noTS, version...)
	for name, b := range bad {
		if _, err := imaging.CheckDICOMStructure(b); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("%s: %v, want an error wrapping ErrInvalid", name, err)
		}
	}

	// A deflated data set cannot be walked: refused, but as a transfer
	// syntax the lane does not handle, not as malformed.
	ts, err := imaging.CheckDICOMStructure(part10("1.2.840.10008.1.2.1.99", []byte{0x78, 0x9c, 1, 2}))
	if !errors.Is(err, imaging.ErrUnsupportedTransferSyntax) || errors.Is(err, lane.ErrInvalid) || ts != "1.2.840.10008.1.2.1.99" {
		t.Errorf("deflated: %q, %v; want the UID and ErrUnsupportedTransferSyntax", ts, err)
	}
}

// TestPracticedCrashersRefused: the inputs with which FuzzDICOM in
// cmd/practiced made the tag parser allocate gigabytes stay refused by the
// shared pre-scan.
func TestPracticedCrashersRefused(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzScanDICOM", "practiced_*"))
	if len(files) != 2 {
		t.Fatalf("found %d practiced crashers, want 2", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitN(string(b), "\n", 3)
		if len(lines) < 2 || lines[0] != "go test fuzz v1" {
			t.Fatalf("%s: not a corpus file", f)
		}
		lit, ok := strings.CutPrefix(strings.TrimSpace(lines[1]), "[]byte(")
		lit, ok2 := strings.CutSuffix(lit, ")")
		data, err := strconv.Unquote(lit)
		if !ok || !ok2 || err != nil {
			t.Fatalf("%s: cannot read the corpus value: %v", f, err)
		}
		if _, err := imaging.CheckDICOMStructure([]byte(data)); err == nil {
			t.Errorf("%s accepted", filepath.Base(f))
		}
	}
}
