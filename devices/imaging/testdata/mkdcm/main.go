// Command mkdcm writes the DICOM fixtures dcmtk cannot make from an image
// (see ../README.md): 16-bit monochrome Ophthalmic Photography with and
// without a VOI window, and a JPEG 2000 file wrapping a codestream made by
// ImageMagick. It writes explicit VR little endian Part 10 files with a
// minimal encoder of its own; gen.sh checks every output with dcmdump.
//
// Usage: mkdcm mono16 OUT WINDOW(yes|no) | mkdcm j2k IN.j2k OUT
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image/png"
	"log"
	"os"
	"sort"
)

type elem struct {
	group, element uint16
	vr             string
	value          []byte
	undefined      bool // encapsulated pixel data: value holds the items
}

func str(g, e uint16, vr, s string) elem {
	b := []byte(s)
	if len(b)%2 == 1 {
		pad := byte(' ')
		if vr == "UI" {
			pad = 0
		}
		b = append(b, pad)
	}
	return elem{g, e, vr, b, false}
}

func us(g, e uint16, v uint16) elem {
	return elem{g, e, "US", binary.LittleEndian.AppendUint16(nil, v), false}
}

func long(vr string) bool {
	switch vr {
	case "OB", "OW", "SQ", "UN", "UT":
		return true
	}
	return false
}

func put(buf *bytes.Buffer, e elem) {
	binary.Write(buf, binary.LittleEndian, e.group)
	binary.Write(buf, binary.LittleEndian, e.element)
	buf.WriteString(e.vr)
	switch {
	case e.undefined:
		buf.Write([]byte{0, 0})
		binary.Write(buf, binary.LittleEndian, uint32(0xffffffff))
	case long(e.vr):
		buf.Write([]byte{0, 0})
		binary.Write(buf, binary.LittleEndian, uint32(len(e.value)))
	default:
		binary.Write(buf, binary.LittleEndian, uint16(len(e.value)))
	}
	buf.Write(e.value)
}

func write(out, ts, sopClass, sopInstance string, ds []elem) {
	meta := []elem{
		{0x0002, 0x0001, "OB", []byte{0, 1}, false},
		str(0x0002, 0x0002, "UI", sopClass),
		str(0x0002, 0x0003, "UI", sopInstance),
		str(0x0002, 0x0010, "UI", ts),
		str(0x0002, 0x0012, "UI", "1.2.826.0.1.3680043.10.1453.99"),
	}
	var mb bytes.Buffer
	for _, e := range meta {
		put(&mb, e)
	}
	var f bytes.Buffer
	f.Write(make([]byte, 128))
	f.WriteString("DICM")
	put(&f, elem{0x0002, 0x0000, "UL", binary.LittleEndian.AppendUint32(nil, uint32(mb.Len())), false})
	f.Write(mb.Bytes())
	ds = append(ds, str(0x0008, 0x0016, "UI", sopClass), str(0x0008, 0x0018, "UI", sopInstance))
	sort.Slice(ds, func(i, j int) bool {
		if ds[i].group != ds[j].group {
			return ds[i].group < ds[j].group
		}
		return ds[i].element < ds[j].element
	})
	for _, e := range ds {
		put(&f, e)
	}
	if err := os.WriteFile(out, f.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

// common returns the synthetic patient, study and equipment attributes.
func common(series string) []elem {
	return []elem{
		str(0x0008, 0x0020, "DA", "20240314"),
		str(0x0008, 0x0022, "DA", "20240314"),
		str(0x0008, 0x0030, "TM", "101500"),
		str(0x0008, 0x0032, "TM", "101502.25"),
		str(0x0008, 0x0060, "CS", "OP"),
		str(0x0008, 0x0070, "LO", "SYNTHETIC"),
		str(0x0008, 0x1090, "LO", "MKDCM"),
		str(0x0010, 0x0010, "PN", "TEST^SYNTHETIC"),
		str(0x0010, 0x0020, "LO", "SYN-0001"),
		str(0x0020, 0x000d, "UI", "1.2.826.0.1.3680043.10.1453.1"),
		str(0x0020, 0x000e, "UI", "1.2.826.0.1.3680043.10.1453.1."+series),
		str(0x0020, 0x0062, "CS", "L"),
	}
}

func main() {
	if len(os.Args) < 3 {
		log.Fatal("usage: mkdcm mono16 OUT yes|no | mkdcm j2k IN.j2k OUT")
	}
	switch os.Args[1] {
	case "mono16":
		mono16(os.Args[2], len(os.Args) > 3 && os.Args[3] == "yes")
	case "j2k":
		j2k(os.Args[2], os.Args[3])
	default:
		log.Fatal("unknown fixture kind")
	}
}

// mono16 scales src_gray.png to 12 bits stored in 16 allocated, as a
// red-free Ophthalmic Photography 16 Bit image.
func mono16(out string, window bool) {
	f, err := os.Open("src_gray.png")
	if err != nil {
		log.Fatal(err)
	}
	img, err := png.Decode(f)
	if err != nil {
		log.Fatal(err)
	}
	b := img.Bounds()
	var pix []byte
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g, _, _, _ := img.At(x, y).RGBA()
			v := uint16(g >> 8)                                 // 0..255
			pix = binary.LittleEndian.AppendUint16(pix, v*16+8) // 12-bit: 8..4088
		}
	}
	ds := append(common("2"),
		str(0x0008, 0x0008, "CS", `ORIGINAL\PRIMARY\\REDFREE`),
		us(0x0028, 0x0002, 1),
		str(0x0028, 0x0004, "CS", "MONOCHROME2"),
		us(0x0028, 0x0010, uint16(b.Dy())),
		us(0x0028, 0x0011, uint16(b.Dx())),
		str(0x0028, 0x0030, "DS", `0.0125\0.0125`),
		us(0x0028, 0x0100, 16),
		us(0x0028, 0x0101, 12),
		us(0x0028, 0x0102, 11),
		us(0x0028, 0x0103, 0),
		elem{0x7fe0, 0x0010, "OW", pix, false},
	)
	if window {
		// Centre and width that map stored 8..4088 onto 0..255 exactly.
		ds = append(ds, str(0x0028, 0x1050, "DS", "2048.5"), str(0x0028, 0x1051, "DS", "4081"))
	}
	inst := "1.2.826.0.1.3680043.10.1453.1.2.1"
	if window {
		inst = "1.2.826.0.1.3680043.10.1453.1.2.2"
	}
	write(out, "1.2.840.10008.1.2.1", "1.2.840.10008.5.1.4.1.1.77.1.5.2", inst, ds)
}

// j2k wraps a JPEG 2000 codestream as encapsulated pixel data.
func j2k(in, out string) {
	cs, err := os.ReadFile(in)
	if err != nil {
		log.Fatal(err)
	}
	if len(cs)%2 == 1 {
		cs = append(cs, 0)
	}
	var items bytes.Buffer
	item := func(b []byte) {
		binary.Write(&items, binary.LittleEndian, uint16(0xfffe))
		binary.Write(&items, binary.LittleEndian, uint16(0xe000))
		binary.Write(&items, binary.LittleEndian, uint32(len(b)))
		items.Write(b)
	}
	item(nil) // empty basic offset table
	item(cs)
	binary.Write(&items, binary.LittleEndian, uint16(0xfffe))
	binary.Write(&items, binary.LittleEndian, uint16(0xe0dd))
	binary.Write(&items, binary.LittleEndian, uint32(0))
	ds := append(common("3"),
		str(0x0008, 0x0008, "CS", `ORIGINAL\PRIMARY\\COLOR`),
		us(0x0028, 0x0002, 3),
		str(0x0028, 0x0004, "CS", "YBR_RCT"),
		us(0x0028, 0x0006, 0),
		us(0x0028, 0x0010, 48),
		us(0x0028, 0x0011, 64),
		us(0x0028, 0x0100, 8),
		us(0x0028, 0x0101, 8),
		us(0x0028, 0x0102, 7),
		us(0x0028, 0x0103, 0),
		elem{0x7fe0, 0x0010, "OB", items.Bytes(), true},
	)
	write(out, "1.2.840.10008.1.2.4.90", "1.2.840.10008.5.1.4.1.1.77.1.5.1", "1.2.826.0.1.3680043.10.1453.1.3.1", ds)
	fmt.Println("wrote", out)
}
