package retina

import (
	"encoding/binary"
	"fmt"
	"image"

	"github.com/examlane/examlane/lane"
)

// Decoder turns stored or received image bytes into an image. cmd wires
// the one from devices/imaging (which knows JPEG, PNG, TIFF, BMP, WebP and
// DICOM and enforces a pixel budget); tests pass image/jpeg or image/png.
// A Decoder must be safe for concurrent use and return an error wrapping
// lane.ErrInvalid for bytes it cannot decode.
type Decoder func(data []byte) (image.Image, error)

// Open decodes data with dec and returns a pyramid over it.
func Open(data []byte, dec Decoder) (*Pyramid, error) {
	img, err := dec(data)
	if err != nil {
		return nil, fmt.Errorf("retina: open: %w", err)
	}
	return NewPyramid(img), nil
}

// pyramidMagic starts a serialised pyramid (version 1).
const pyramidMagic = "EXLPYR1\n"

// MarshalBinary serialises levels 1 and above (building them first) so a
// store can cache them, sealed, beside the original image. Level 0 is not
// included: it is the decoded original. Layout, little-endian:
//
//	"EXLPYR1\n" | level-0 width u32 | height u32 | level count u32 |
//	for each level ≥ 1: width u32 | height u32 | width·height·3 bytes RGB
//
// Alpha is dropped; fundus images are opaque.
func (p *Pyramid) MarshalBinary() ([]byte, error) {
	p.Build()
	n := len(pyramidMagic) + 12
	for k := 1; k < len(p.sizes); k++ {
		n += 8 + 3*p.sizes[k].X*p.sizes[k].Y
	}
	b := make([]byte, 0, n)
	b = append(b, pyramidMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(p.sizes[0].X))
	b = binary.LittleEndian.AppendUint32(b, uint32(p.sizes[0].Y))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p.sizes)))
	for k := 1; k < len(p.sizes); k++ {
		l := p.Level(k).(*image.RGBA)
		b = binary.LittleEndian.AppendUint32(b, uint32(p.sizes[k].X))
		b = binary.LittleEndian.AppendUint32(b, uint32(p.sizes[k].Y))
		for y := range p.sizes[k].Y {
			row := l.Pix[y*l.Stride : y*l.Stride+4*p.sizes[k].X]
			for i := 0; i < len(row); i += 4 {
				b = append(b, row[i], row[i+1], row[i+2])
			}
		}
	}
	return b, nil
}

// LoadPyramid rebuilds a pyramid from its level 0 (the decoded original)
// and the bytes MarshalBinary produced for it. It returns an error wrapping
// lane.ErrInvalid if data is malformed or was made for an image of another
// size; the caller then rebuilds with NewPyramid.
func LoadPyramid(base image.Image, data []byte) (*Pyramid, error) {
	p := NewPyramid(base)
	bad := func(what string) (*Pyramid, error) {
		return nil, lane.Invalidf("retina: load pyramid: %s", what)
	}
	if len(data) < len(pyramidMagic)+12 || string(data[:len(pyramidMagic)]) != pyramidMagic {
		return bad("not a serialised pyramid")
	}
	d := data[len(pyramidMagic):]
	u32 := func() int {
		v := binary.LittleEndian.Uint32(d)
		d = d[4:]
		return int(v)
	}
	w0, h0, n := u32(), u32(), u32()
	if w0 != p.sizes[0].X || h0 != p.sizes[0].Y || n != len(p.sizes) {
		return bad("made for another image size")
	}
	for k := 1; k < n; k++ {
		if len(d) < 8 {
			return bad("truncated")
		}
		w, h := u32(), u32()
		if w != p.sizes[k].X || h != p.sizes[k].Y {
			return bad("level size mismatch")
		}
		if len(d) < 3*w*h {
			return bad("truncated")
		}
		l := image.NewRGBA(image.Rect(0, 0, w, h))
		for i, j := 0, 0; i < len(l.Pix); i, j = i+4, j+3 {
			l.Pix[i], l.Pix[i+1], l.Pix[i+2], l.Pix[i+3] = d[j], d[j+1], d[j+2], 255
		}
		d = d[3*w*h:]
		p.levels[k] = l
	}
	if len(d) != 0 {
		return bad("trailing bytes")
	}
	return p, nil
}
