package server

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"image/jpeg"
	"math/big"
	"sort"
	"strings"
	"time"
)

// A minimal DICOM Part-10 writer: explicit VR little endian, defined-length
// sequences, and JPEG baseline encapsulated pixel data. It writes what the
// demo seed and the tests need (Ophthalmic Photography 8-bit instances),
// nothing more.

// dcmElem is one data element to write.
type dcmElem struct {
	tag   uint32 // group<<16 | element
	vr    string
	val   []byte      // the value, unpadded
	items [][]dcmElem // SQ items
	frags [][]byte    // encapsulated pixel data fragments (tag 7FE0,0010)
}

// longVR lists the VRs with a 4-byte length in explicit VR encoding.
var longVR = map[string]bool{"OB": true, "OW": true, "OF": true, "OD": true, "OL": true, "OV": true, "SQ": true, "UT": true, "UN": true, "UC": true, "UR": true, "SV": true, "UV": true}

// dStr is a string element (padded on write).
func dStr(tag uint32, vr, s string) dcmElem { return dcmElem{tag: tag, vr: vr, val: []byte(s)} }

// dUS is a US element.
func dUS(tag uint32, v uint16) dcmElem {
	b := make([]byte, 2)
	binary.LittleEndian.PutUint16(b, v)
	return dcmElem{tag: tag, vr: "US", val: b}
}

// dSQ is a sequence element.
func dSQ(tag uint32, items ...[]dcmElem) dcmElem { return dcmElem{tag: tag, vr: "SQ", items: items} }

// dCode is a code sequence item (CodeValue, CodingSchemeDesignator,
// CodeMeaning).
func dCode(value, scheme, meaning string) []dcmElem {
	return []dcmElem{dStr(0x00080100, "SH", value), dStr(0x00080102, "SH", scheme), dStr(0x00080104, "LO", meaning)}
}

// padded returns the value padded to even length the way its VR wants.
func (e dcmElem) padded() []byte {
	v := e.val
	if len(v)%2 == 0 {
		return v
	}
	pad := byte(' ')
	if e.vr == "UI" || e.vr == "OB" || e.vr == "UN" {
		pad = 0
	}
	return append(append([]byte{}, v...), pad)
}

// writeTag writes a tag (group, element little endian).
func writeTag(b *bytes.Buffer, tag uint32) {
	binary.Write(b, binary.LittleEndian, uint16(tag>>16))
	binary.Write(b, binary.LittleEndian, uint16(tag))
}

// encodeElems writes elements in ascending tag order.
func encodeElems(b *bytes.Buffer, elems []dcmElem) {
	sorted := append([]dcmElem{}, elems...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].tag < sorted[j].tag })
	for _, e := range sorted {
		writeTag(b, e.tag)
		b.WriteString(e.vr)
		switch {
		case e.frags != nil:
			b.Write([]byte{0, 0})
			binary.Write(b, binary.LittleEndian, uint32(0xFFFFFFFF))
			writeTag(b, 0xFFFEE000) // basic offset table, empty
			binary.Write(b, binary.LittleEndian, uint32(0))
			for _, f := range e.frags {
				if len(f)%2 == 1 {
					f = append(append([]byte{}, f...), 0)
				}
				writeTag(b, 0xFFFEE000)
				binary.Write(b, binary.LittleEndian, uint32(len(f)))
				b.Write(f)
			}
			writeTag(b, 0xFFFEE0DD)
			binary.Write(b, binary.LittleEndian, uint32(0))
		case e.vr == "SQ":
			var body bytes.Buffer
			for _, it := range e.items {
				var ib bytes.Buffer
				encodeElems(&ib, it)
				writeTag(&body, 0xFFFEE000)
				binary.Write(&body, binary.LittleEndian, uint32(ib.Len()))
				body.Write(ib.Bytes())
			}
			b.Write([]byte{0, 0})
			binary.Write(b, binary.LittleEndian, uint32(body.Len()))
			b.Write(body.Bytes())
		case longVR[e.vr]:
			v := e.padded()
			b.Write([]byte{0, 0})
			binary.Write(b, binary.LittleEndian, uint32(len(v)))
			b.Write(v)
		default:
			v := e.padded()
			binary.Write(b, binary.LittleEndian, uint16(len(v)))
			b.Write(v)
		}
	}
}

// implementationUID identifies this writer in the file meta information.
const implementationUID = "2.25.302851206937374939211460356542146281765"

// writePart10 builds a Part-10 file: preamble, DICM, file meta group
// (explicit VR LE) and the dataset in transfer syntax ts (explicit VR LE
// encoding in every case this writer supports).
func writePart10(sopClass, sopInstance, ts string, dataset []dcmElem) []byte {
	var meta bytes.Buffer
	encodeElems(&meta, []dcmElem{
		{tag: 0x00020001, vr: "OB", val: []byte{0, 1}},
		dStr(0x00020002, "UI", sopClass),
		dStr(0x00020003, "UI", sopInstance),
		dStr(0x00020010, "UI", ts),
		dStr(0x00020012, "UI", implementationUID),
		dStr(0x00020013, "SH", "EXAMLANE_DEMO"),
	})
	var out bytes.Buffer
	out.Write(make([]byte, 128))
	out.WriteString("DICM")
	gl := make([]byte, 4)
	binary.LittleEndian.PutUint32(gl, uint32(meta.Len()))
	encodeElems(&out, []dcmElem{{tag: 0x00020000, vr: "UL", val: gl}})
	out.Write(meta.Bytes())
	encodeElems(&out, dataset)
	return out.Bytes()
}

// newUID returns a UUID-derived DICOM UID (2.25.<128-bit decimal>).
func newUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return "2.25." + new(big.Int).SetBytes(b[:]).String()
}

// SOPClassOP8Bit is Ophthalmic Photography 8 Bit Image Storage.
const SOPClassOP8Bit = "1.2.840.10008.5.1.4.1.1.77.1.5.1"

// opInstance describes an Ophthalmic Photography instance to write.
type opInstance struct {
	PatientName string // DICOM PN, Family^Given
	PatientID   string
	BirthDate   string // YYYYMMDD
	Sex         string // M, F, O
	StudyUID    string
	SeriesUID   string
	SOPUID      string
	Acquired    time.Time
	Laterality  string // R or L
	JPEG        []byte // a baseline JPEG (YCbCr, 8-bit)
}

// buildOPDICOM writes an OP 8-bit instance with the JPEG as encapsulated
// JPEG baseline pixel data (transfer syntax 1.2.840.10008.1.2.4.50),
// without recompressing it.
func buildOPDICOM(in opInstance) ([]byte, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(in.JPEG))
	if err != nil {
		return nil, fmt.Errorf("op dicom: %w", err)
	}
	samples, photometric := uint16(3), "YBR_FULL_422"
	if cfg.ColorModel != nil && strings.Contains(fmt.Sprintf("%T", cfg.ColorModel), "gray") {
		samples, photometric = 1, "MONOCHROME2"
	}
	date, tm := in.Acquired.Format("20060102"), in.Acquired.Format("150405")
	ds := []dcmElem{
		dStr(0x00080005, "CS", "ISO_IR 192"),
		dStr(0x00080008, "CS", `ORIGINAL\PRIMARY`),
		dStr(0x00080016, "UI", SOPClassOP8Bit),
		dStr(0x00080018, "UI", in.SOPUID),
		dStr(0x00080020, "DA", date),
		dStr(0x00080023, "DA", date),
		dStr(0x0008002A, "DT", in.Acquired.Format("20060102150405")),
		dStr(0x00080030, "TM", tm),
		dStr(0x00080033, "TM", tm),
		dStr(0x00080050, "SH", ""),
		dStr(0x00080060, "CS", "OP"),
		dStr(0x00080070, "LO", "Examlane demo (synthetic)"),
		dStr(0x00080090, "PN", ""),
		dStr(0x00081030, "LO", "Synthetic fundus photography"),
		dSQ(0x00082218, dCode("T-AA000", "SRT", "Eye")),
		dStr(0x00100010, "PN", in.PatientName),
		dStr(0x00100020, "LO", in.PatientID),
		dStr(0x00100030, "DA", in.BirthDate),
		dStr(0x00100040, "CS", in.Sex),
		dStr(0x0020000D, "UI", in.StudyUID),
		dStr(0x0020000E, "UI", in.SeriesUID),
		dStr(0x00200010, "SH", "1"),
		dStr(0x00200011, "IS", "1"),
		dStr(0x00200013, "IS", "1"),
		dStr(0x00200020, "CS", ""),
		dStr(0x00200062, "CS", in.Laterality),
		dStr(0x0022000A, "FL", ""),
		dStr(0x0022000B, "FL", ""),
		dStr(0x0022000C, "FL", ""),
		dStr(0x0022000D, "CS", ""),
		dStr(0x00220005, "CS", "NO"),
		dSQ(0x00220015, dCode("R-1021A", "SRT", "Fundus Camera")),
		dSQ(0x00220016),
		dSQ(0x00220017),
		dSQ(0x00220018),
		dSQ(0x00220019),
		dSQ(0x0022001B),
		dUS(0x00280002, samples),
		dStr(0x00280004, "CS", photometric),
		dUS(0x00280010, uint16(cfg.Height)),
		dUS(0x00280011, uint16(cfg.Width)),
		dUS(0x00280100, 8),
		dUS(0x00280101, 8),
		dUS(0x00280102, 7),
		dUS(0x00280103, 0),
		dStr(0x00282110, "CS", "01"),
		dStr(0x00282114, "CS", "ISO_10918_1"),
		{tag: 0x7FE00010, vr: "OB", frags: [][]byte{in.JPEG}},
	}
	if samples == 3 {
		ds = append(ds, dUS(0x00280006, 0))
	} else {
		ds = append(ds, dStr(0x20500020, "CS", "IDENTITY"))
	}
	return writePart10(SOPClassOP8Bit, in.SOPUID, tsJPEGBaseline, ds), nil
}

// buildNativeDICOM writes an 8-bit native (uncompressed, explicit VR LE)
// secondary-capture-like instance; tests use it for the rendering path.
func buildNativeDICOM(sopUID, studyUID, seriesUID string, w, h, samples int, pixels []byte) []byte {
	photometric := "MONOCHROME2"
	if samples == 3 {
		photometric = "RGB"
	}
	const scClass = "1.2.840.10008.5.1.4.1.1.7"
	ds := []dcmElem{
		dStr(0x00080016, "UI", scClass),
		dStr(0x00080018, "UI", sopUID),
		dStr(0x00080060, "CS", "OT"),
		dStr(0x00100020, "LO", "DEMO-TEST"),
		dStr(0x0020000D, "UI", studyUID),
		dStr(0x0020000E, "UI", seriesUID),
		dUS(0x00280002, uint16(samples)),
		dStr(0x00280004, "CS", photometric),
		dUS(0x00280010, uint16(h)),
		dUS(0x00280011, uint16(w)),
		dUS(0x00280100, 8),
		dUS(0x00280101, 8),
		dUS(0x00280102, 7),
		dUS(0x00280103, 0),
		{tag: 0x7FE00010, vr: "OB", val: pixels},
	}
	if samples == 3 {
		ds = append(ds, dUS(0x00280006, 0))
	}
	return writePart10(scClass, sopUID, tsExplicitLE, ds)
}
