package retina

import (
	"encoding/binary"
	"image"
	"image/draw"
	"sync"
)

// MaxTopLevel is the largest side, in pixels, of a pyramid's smallest
// level: levels halve until both sides are at most this.
const MaxTopLevel = 256

// Pyramid is an image at several resolutions: level 0 is the image as
// decoded, level k is level k-1 halved (rounding up) with a 2×2 box filter.
// Levels above 0 are built on first use. A Pyramid is safe for concurrent
// use.
//
// Why a box filter: each level is an exact 2× reduction, where the 2×2
// mean is the area-correct average of the four pixels a coarse pixel
// covers; it reads every source pixel once, needs no weights, and on a
// 12-megapixel image is an order of magnitude faster than a Catmull-Rom
// resampling through golang.org/x/image/draw (see BenchmarkHalve*). The
// residual aliasing of a box is negligible for display because Render
// always samples from the level just above the needed resolution, so the
// final bilinear step never reduces by more than 2×.
type Pyramid struct {
	mu     sync.Mutex
	levels []image.Image // guarded by mu; nil until built, except level 0
	sizes  []image.Point // immutable
}

// NewPyramid returns a pyramid over src. *image.RGBA, *image.YCbCr and
// *image.Gray with their origin at (0,0) are kept as they are (not copied:
// the caller must not modify src afterwards); any other image is converted
// to *image.RGBA once. It builds no level above 0.
func NewPyramid(src image.Image) *Pyramid {
	base := normalise(src)
	sz := base.Bounds().Size()
	p := &Pyramid{levels: []image.Image{base}, sizes: []image.Point{sz}}
	for sz.X > MaxTopLevel || sz.Y > MaxTopLevel {
		sz = image.Pt((sz.X+1)/2, (sz.Y+1)/2)
		p.sizes = append(p.sizes, sz)
		p.levels = append(p.levels, nil)
	}
	return p
}

// normalise returns src if the renderer samples its type directly, or an
// *image.RGBA copy with its origin at (0,0).
func normalise(src image.Image) image.Image {
	b := src.Bounds()
	if b.Min == (image.Point{}) {
		switch src.(type) {
		case *image.RGBA, *image.YCbCr, *image.Gray:
			return src
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Bounds(), src, b.Min, draw.Src)
	return dst
}

// Size returns the size of level 0 in pixels.
func (p *Pyramid) Size() image.Point { return p.sizes[0] }

// NumLevels returns the number of levels, at least 1.
func (p *Pyramid) NumLevels() int { return len(p.sizes) }

// LevelSize returns the size of level k without building it.
func (p *Pyramid) LevelSize(k int) image.Point { return p.sizes[k] }

// Level returns level k, building it (and the levels between) if needed.
// Level 0 is the normalised source; levels above are *image.RGBA. It panics
// if k is out of range.
func (p *Pyramid) Level(k int) image.Image {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.levelLocked(k)
}

func (p *Pyramid) levelLocked(k int) image.Image {
	if l := p.levels[k]; l != nil {
		return l
	}
	l := halve(p.levelLocked(k - 1))
	p.levels[k] = l
	return l
}

// Build builds every level now; call it from a goroutine you own to have a
// pyramid ready before the user zooms out.
func (p *Pyramid) Build() { p.Level(len(p.sizes) - 1) }

// Bytes returns the memory held by the built levels' pixels.
func (p *Pyramid) Bytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n int64
	for _, l := range p.levels {
		n += imageBytes(l)
	}
	return n
}

func imageBytes(img image.Image) int64 {
	switch m := img.(type) {
	case *image.RGBA:
		return int64(len(m.Pix))
	case *image.YCbCr:
		return int64(len(m.Y) + len(m.Cb) + len(m.Cr))
	case *image.Gray:
		return int64(len(m.Pix))
	}
	return 0
}

// halve returns src reduced 2× (rounding up) with a 2×2 box filter. At an
// odd edge the last output pixel averages the pixels that exist.
func halve(src image.Image) *image.RGBA {
	sz := src.Bounds().Size()
	dst := image.NewRGBA(image.Rect(0, 0, (sz.X+1)/2, (sz.Y+1)/2))
	switch s := src.(type) {
	case *image.RGBA:
		halveRGBA(dst, s)
	case *image.YCbCr:
		halveYCbCr(dst, s)
	case *image.Gray:
		halveGray(dst, s)
	default:
		panic("retina: halve: unexpected image type")
	}
	return dst
}

func halveRGBA(dst, src *image.RGBA) {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := dst.Rect.Dx(), dst.Rect.Dy()
	parallelRows(dh, dw*dh, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			r0 := src.Pix[2*y*src.Stride:]
			r1 := src.Pix[min(2*y+1, sh-1)*src.Stride:]
			d := dst.Pix[y*dst.Stride : y*dst.Stride+4*dw]
			for x := range dw {
				a := 8 * x
				b := a + 4
				if 2*x+1 >= sw {
					b = a
				}
				o := d[4*x : 4*x+4 : 4*x+4]
				o[0] = uint8((uint32(r0[a]) + uint32(r0[b]) + uint32(r1[a]) + uint32(r1[b]) + 2) >> 2)
				o[1] = uint8((uint32(r0[a+1]) + uint32(r0[b+1]) + uint32(r1[a+1]) + uint32(r1[b+1]) + 2) >> 2)
				o[2] = uint8((uint32(r0[a+2]) + uint32(r0[b+2]) + uint32(r1[a+2]) + uint32(r1[b+2]) + 2) >> 2)
				o[3] = uint8((uint32(r0[a+3]) + uint32(r0[b+3]) + uint32(r1[a+3]) + uint32(r1[b+3]) + 2) >> 2)
			}
		}
	})
}

func halveGray(dst *image.RGBA, src *image.Gray) {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := dst.Rect.Dx(), dst.Rect.Dy()
	parallelRows(dh, dw*dh, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			r0 := src.Pix[2*y*src.Stride:]
			r1 := src.Pix[min(2*y+1, sh-1)*src.Stride:]
			d := dst.Pix[y*dst.Stride : y*dst.Stride+4*dw]
			for x := range dw {
				a := 2 * x
				b := min(a+1, sw-1)
				v := uint8((uint32(r0[a]) + uint32(r0[b]) + uint32(r1[a]) + uint32(r1[b]) + 2) >> 2)
				o := d[4*x : 4*x+4 : 4*x+4]
				o[0], o[1], o[2], o[3] = v, v, v, 255
			}
		}
	})
}

// halveYCbCr averages luma over 2×2 and takes chroma at the output pixel's
// centre (for 4:2:0, the chroma plane already has the output resolution),
// converting to RGB once per output pixel.
func halveYCbCr(dst *image.RGBA, src *image.YCbCr) {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := dst.Rect.Dx(), dst.Rect.Dy()
	is420 := src.SubsampleRatio == image.YCbCrSubsampleRatio420
	if is420 {
		halveYCbCr420(dst, src)
		return
	}
	parallelRows(dh, dw*dh, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			ya, yb := 2*y, min(2*y+1, sh-1)
			r0 := src.Y[ya*src.YStride:]
			r1 := src.Y[yb*src.YStride:]
			d := dst.Pix[y*dst.Stride : y*dst.Stride+4*dw]
			var cbRow, crRow []uint8
			if is420 {
				cbRow = src.Cb[y*src.CStride:]
				crRow = src.Cr[y*src.CStride:]
			}
			for x := range dw {
				a := 2 * x
				b := min(a+1, sw-1)
				yy := uint8((uint32(r0[a]) + uint32(r0[b]) + uint32(r1[a]) + uint32(r1[b]) + 2) >> 2)
				var cb, cr uint8
				if is420 {
					cb, cr = cbRow[x], crRow[x]
				} else {
					// Average the chroma samples of the 2×2 block.
					c00, c01 := src.COffset(a, ya), src.COffset(b, ya)
					c10, c11 := src.COffset(a, yb), src.COffset(b, yb)
					cb = uint8((uint32(src.Cb[c00]) + uint32(src.Cb[c01]) + uint32(src.Cb[c10]) + uint32(src.Cb[c11]) + 2) >> 2)
					cr = uint8((uint32(src.Cr[c00]) + uint32(src.Cr[c01]) + uint32(src.Cr[c10]) + uint32(src.Cr[c11]) + 2) >> 2)
				}
				o := d[4*x : 4*x+4 : 4*x+4]
				o[0], o[1], o[2] = ycc(yy, cb, cr)
				o[3] = 255
			}
		}
	})
}

// halveYCbCr420 is halveYCbCr for 4:2:0, where the chroma planes already
// have the output's resolution: the building step of the first fitted
// frame of every camera JPEG, so its inner loop is kept tight (no
// per-pixel edge tests, one 32-bit store per pixel).
func halveYCbCr420(dst *image.RGBA, src *image.YCbCr) {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := dst.Rect.Dx(), dst.Rect.Dy()
	// Output columns [0, full) have both luma columns; an odd width
	// leaves a last column with one.
	full := sw / 2
	parallelRows(dh, dw*dh, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			r0 := src.Y[2*y*src.YStride : 2*y*src.YStride+sw]
			yb := min(2*y+1, sh-1)
			r1 := src.Y[yb*src.YStride : yb*src.YStride+sw]
			cb := src.Cb[y*src.CStride : y*src.CStride+dw]
			cr := src.Cr[y*src.CStride : y*src.CStride+dw]
			d := dst.Pix[y*dst.Stride : y*dst.Stride+4*dw]
			// Four output pixels at a time: the eight luma bytes of each
			// row are summed in pairs in 16-bit lanes.
			const lanes = 0x00ff00ff00ff00ff
			x := 0
			for ; x+4 <= full; x += 4 {
				a := binary.LittleEndian.Uint64(r0[2*x : 2*x+8])
				b := binary.LittleEndian.Uint64(r1[2*x : 2*x+8])
				sum := (a&lanes + a>>8&lanes + b&lanes + b>>8&lanes + 0x0002000200020002) >> 2
				c, r := cb[x:x+4:x+4], cr[x:x+4:x+4]
				o := d[4*x : 4*x+16 : 4*x+16]
				for k := range 4 {
					// ycc, inlined by hand (too big for the compiler to).
					yy := int32(sum>>(16*k)&0xff) * 0x10101
					cb1 := int32(c[k]) - 128
					cr1 := int32(r[k]) - 128
					pr := clipLUT(yy + 91881*cr1)
					pg := clipLUT(yy - 22554*cb1 - 46802*cr1)
					pb := clipLUT(yy + 116130*cb1)
					binary.LittleEndian.PutUint32(o[4*k:4*k+4], uint32(pr)|uint32(pg)<<8|uint32(pb)<<16|0xff000000)
				}
			}
			for ; x < full; x++ {
				a := r0[2*x : 2*x+2 : 2*x+2]
				b := r1[2*x : 2*x+2 : 2*x+2]
				yy := (uint32(a[0]) + uint32(a[1]) + uint32(b[0]) + uint32(b[1]) + 2) >> 2
				binary.LittleEndian.PutUint32(d[4*x:4*x+4], yccPacked(yy, cb[x], cr[x]))
			}
			if full < dw {
				x := full
				yy := (2*uint32(r0[2*x]) + 2*uint32(r1[2*x]) + 2) >> 2
				binary.LittleEndian.PutUint32(d[4*x:4*x+4], yccPacked(yy, cb[x], cr[x]))
			}
		}
	})
}

// yccPacked is ycc returning opaque RGBA packed little-endian.
func yccPacked(y uint32, cb, cr uint8) uint32 {
	yy := int32(y) * 0x10101
	cb1 := int32(cb) - 128
	cr1 := int32(cr) - 128
	r := clipLUT(yy + 91881*cr1)
	g := clipLUT(yy - 22554*cb1 - 46802*cr1)
	b := clipLUT(yy + 116130*cb1)
	return uint32(r) | uint32(g)<<8 | uint32(b)<<16 | 0xff000000
}

// clipTable[i] is i−512 clamped to [0,255].
var clipTable = func() (t [1024]uint8) {
	for i := range t {
		t[i] = uint8(max(0, min(i-512, 255)))
	}
	return t
}()

// ycc converts JFIF full-range Y'CbCr to RGB with the same integer
// arithmetic as image/color.YCbCrToRGB.
func ycc(y, cb, cr uint8) (uint8, uint8, uint8) {
	yy := int32(y) * 0x10101
	cb1 := int32(cb) - 128
	cr1 := int32(cr) - 128
	r := yy + 91881*cr1
	g := yy - 22554*cb1 - 46802*cr1
	b := yy + 116130*cb1
	return clip16(r), clip16(g), clip16(b)
}

// clip16 returns v>>16 clamped to [0,255], as image/color does.
func clip16(v int32) uint8 {
	if uint32(v)&0xff000000 == 0 {
		return uint8(v >> 16)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// clipLUT is clip16 through a table, for the sums of the Y'CbCr
// conversion (whose v>>16 lies in [−180, 434]). Where every source pixel
// is converted in turn (halving, convert420) it is faster, because fundus
// pictures clip often (blue near 0, red near 255) and the branch is
// mispredicted there; the per-screen-pixel samplers measured faster with
// clip16.
func clipLUT(v int32) uint8 { return clipTable[(v>>16+512)&1023] }
