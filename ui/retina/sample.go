package retina

import (
	"encoding/binary"
	"image"
	"math"
	"sync"
)

// This file holds the renderer's fast paths (see RenderInto):
//
//   - visible420: a magnified view of a 4:2:0 Y'CbCr level 0 converts only
//     the source rectangle the viewport shows to RGBA, once per frame (each
//     pixel exactly as the per-pixel sampler would at its centre), then
//     samples that, instead of converting every screen pixel (at scale 2 a
//     quarter as many conversions, at scale 8 a sixty-fourth).
//   - separable: a view whose rows follow a source axis (no rotation, or a
//     quarter turn, with or without flips) blends the two source lines a
//     screen row falls between once per row, then each screen pixel from
//     two neighbours of that blend: one blend per screen pixel instead of
//     three, and no per-pixel coordinate arithmetic.

// maxRegionPixels bounds the source rectangle visible420 converts: 16 MB
// of RGBA, about twice a 1920×1080 viewport's pixels. Larger (a magnified
// view on a very large screen) falls back to per-pixel conversion.
const maxRegionPixels = 4 << 20

// regionPool recycles the converted rectangles between frames.
var regionPool sync.Pool // of *[]uint8

func getRegion(w, h int) *image.RGBA {
	n := 4 * w * h
	var pix []uint8
	if bp, ok := regionPool.Get().(*[]uint8); ok && cap(*bp) >= n {
		pix = (*bp)[:n]
	} else {
		pix = make([]uint8, n)
	}
	return &image.RGBA{Pix: pix, Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
}

func putRegion(m *image.RGBA) {
	pix := m.Pix[:0]
	regionPool.Put(&pix)
}

// visible420 converts the part of src (the 4:2:0 level s samples) that the
// viewport shows, plus the neighbours bilinear sampling reads, to RGBA and
// makes s sample that instead (at offset s.off; coordinates and bounds
// stay in level pixels, so what is inside the image is decided as without
// it). The rectangle reaches the image's edge wherever a sample is clamped
// there, so clamping inside it is clamping at the image's edge. It reports
// false (s unchanged) when nothing is visible, the mapping is not finite,
// or the rectangle is too large. The caller gives the rectangle back with
// putRegion.
func (s *sampling) visible420(src *image.YCbCr, vp image.Point) (*image.RGBA, bool) {
	g := s.g
	umin, umax := math.Inf(1), math.Inf(-1)
	wmin, wmax := math.Inf(1), math.Inf(-1)
	for _, c := range [4][2]float64{{0, 0}, {float64(vp.X - 1), 0}, {0, float64(vp.Y - 1)}, {float64(vp.X - 1), float64(vp.Y - 1)}} {
		u := g.A*c[0] + g.B*c[1] + g.TX
		w := g.C*c[0] + g.D*c[1] + g.TY
		umin, umax = math.Min(umin, u), math.Max(umax, u)
		wmin, wmax = math.Min(wmin, w), math.Max(wmax, w)
	}
	// Clip to the image first so that far-away views cannot overflow.
	umin, umax = math.Max(umin, s.ulo), math.Min(umax, s.uhi)
	wmin, wmax = math.Max(wmin, s.wlo), math.Min(wmax, s.whi)
	if !(umin <= umax && wmin <= wmax) { // also false for NaN
		return nil, false
	}
	sz := src.Rect.Size()
	r := image.Rect(int(math.Floor(umin))-1, int(math.Floor(wmin))-1, int(math.Floor(umax))+3, int(math.Floor(wmax))+3).
		Intersect(image.Rect(0, 0, sz.X, sz.Y))
	if r.Empty() || r.Dx()*r.Dy() > maxRegionPixels {
		return nil, false
	}
	reg := getRegion(r.Dx(), r.Dy())
	convert420(reg, src, r)
	s.src, s.off = reg, r.Min
	return reg, true
}

// convert420 writes the luma rectangle r of src (4:2:0, origin at (0,0))
// to dst (r's size) as RGBA. Each pixel's chroma is interpolated where
// the per-pixel sampler would take it, at chroma coordinate
// (i/2 − 0.25, j/2 − 0.25) with clamping at the edges, which for luma
// pixel centres is ¾ of the nearest chroma sample and ¼ of the next in
// each direction (JPEG's "fancy upsampling"), rounded once, as bilin does.
func convert420(dst *image.RGBA, src *image.YCbCr, r image.Rectangle) {
	cw, ch := (src.Rect.Dx()+1)/2, (src.Rect.Dy()+1)/2
	// Chroma columns read: those under r and one more on each side,
	// clamped to the plane (the padding repeats the edge sample).
	c0, c1 := r.Min.X>>1-1, (r.Max.X-1)>>1+1
	parallelRows(r.Dy(), r.Dx()*r.Dy(), func(y0, y1 int) {
		// vc[c-c0]: 3·near + far chroma rows, Cb in the low half-word
		// and Cr in the high one (each at most 4·255).
		vc := make([]uint32, c1-c0+1)
		for y := y0; y < y1; y++ {
			j := r.Min.Y + y
			m := j >> 1
			far := m - 1
			if j&1 == 1 {
				far = m + 1
			}
			far = max(0, min(far, ch-1))
			nb, nr := src.Cb[m*src.CStride:], src.Cr[m*src.CStride:]
			fb, fr := src.Cb[far*src.CStride:], src.Cr[far*src.CStride:]
			for k := range vc {
				c := max(0, min(c0+k, cw-1))
				vc[k] = 3*(uint32(nb[c])|uint32(nr[c])<<16) + (uint32(fb[c]) | uint32(fr[c])<<16)
			}
			ys := src.Y[j*src.YStride+r.Min.X : j*src.YStride+r.Max.X]
			out := dst.Pix[y*dst.Stride : y*dst.Stride+4*len(ys)]
			for x, yv := range ys {
				i := r.Min.X + x
				k := i>>1 - c0 // the nearest chroma column, ≥ 1
				far := k - 1
				if i&1 == 1 {
					far = k + 1
				}
				h := 3*vc[k] + vc[far] + 0x00080008
				cb1 := int32(h>>4&0xff) - 128
				cr1 := int32(h>>20&0xff) - 128
				y1 := int32(yv) * 0x10101
				o := out[4*x : 4*x+4 : 4*x+4]
				o[0] = clipLUT(y1 + 91881*cr1)
				o[1] = clipLUT(y1 - 22554*cb1 - 46802*cr1)
				o[2] = clipLUT(y1 + 116130*cb1)
				o[3] = 255
			}
		}
	})
}

// axisAligned reports whether screen rows follow a source axis: rows
// along u (no rotation) or along w (a quarter turn); flips allowed.
func (s *sampling) axisAligned() bool {
	g := s.g
	return (g.B == 0 && g.C == 0 && g.A != 0 && g.D != 0) || (g.A == 0 && g.D == 0 && g.B != 0 && g.C != 0)
}

// separable renders an axis-aligned view of an RGBA source. Along a screen
// row the sample moves along one source axis (the "run" axis) and stays
// at one coordinate of the other (the "line" axis): each row blends the
// two source lines around that coordinate once, over the run range the
// frame reads, then each screen pixel blends two neighbours of the
// result. Indices and weights along the run are computed once per frame.
func (s *sampling) separable(dst *image.RGBA, src *image.RGBA) {
	vp := dst.Rect.Size()
	g := s.g
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	// run coordinate r0 + x·dr in [rlo, rhi), nr samples, step rstep bytes;
	// line coordinate l0 + y·dl in [llo, lhi), nl lines, step lstep bytes.
	// roff, loff: where src starts along each, in level pixels.
	r0, dr, rlo, rhi, nr, rstep, roff := g.TX, g.A, s.ulo, s.uhi, sw, 4, s.off.X
	l0, dl, llo, lhi, nl, lstep, loff := g.TY, g.D, s.wlo, s.whi, sh, src.Stride, s.off.Y
	if g.A == 0 {
		r0, dr, rlo, rhi, nr, rstep, roff = g.TY, g.C, s.wlo, s.whi, sh, src.Stride, s.off.Y
		l0, dl, llo, lhi, nl, lstep, loff = g.TX, g.B, s.ulo, s.uhi, sw, 4, s.off.X
	}
	x0, x1 := span(r0, 0, dr, 0, rlo, rhi, -1, 1, 0, vp.X)
	n := x1 - x0
	// idx[x−x0]: first neighbour's index (relative to lo); wt: weight of
	// the second. A clamped pair (both the last sample) gets weight 0.
	idx := make([]int32, n)
	wt := make([]uint32, n)
	lo, hi := math.MaxInt32, -1
	fr, fdr := int64(0), toFix(dr)
	if n > 0 {
		fr = toFix(r0+dr*float64(x0)) - int64(roff)<<fixShift
	}
	for k := range n {
		i, j, w := axis(fr, nr)
		if j == i {
			w = 0
		}
		idx[k], wt[k] = int32(i), w
		lo, hi = min(lo, i), max(hi, i)
		fr += fdr
	}
	for k := range idx {
		idx[k] -= int32(lo)
	}
	parallelRows(vp.Y, vp.X*vp.Y, func(y0, y1 int) {
		var line []uint64
		if n > 0 {
			// Samples lo…hi and one more (clamped) so idx+1 is in range.
			line = make([]uint64, hi-lo+2)
		}
		for y := y0; y < y1; y++ {
			row := dst.Pix[y*dst.Stride : y*dst.Stride+4*vp.X]
			l := l0 + dl*float64(y)
			if n == 0 || !(l >= llo && l < lhi) {
				fill(row)
				continue
			}
			fill(row[:4*x0])
			fill(row[4*x1:])
			a, b, wl := axis(toFix(l)-int64(loff)<<fixShift, nl)
			pa, pb := src.Pix[a*lstep:], src.Pix[b*lstep:]
			o := lo * rstep
			for k := range len(line) - 1 {
				line[k] = lerp64(spread(binary.LittleEndian.Uint32(pa[o:o+4])), spread(binary.LittleEndian.Uint32(pb[o:o+4])), wl)
				o += rstep
			}
			o = min(o, (nr-1)*rstep)
			line[len(line)-1] = lerp64(spread(binary.LittleEndian.Uint32(pa[o:o+4])), spread(binary.LittleEndian.Uint32(pb[o:o+4])), wl)
			out := row[4*x0 : 4*x1]
			wt := wt[:len(idx)]
			for k, i := range idx {
				p := line[i : i+2 : i+2]
				binary.LittleEndian.PutUint32(out[4*k:4*k+4], pack(lerp64(p[0], p[1], wt[k])))
			}
		}
	})
}

// spread moves the four 8-bit channels of a packed RGBA pixel into 16-bit
// lanes of a uint64 (R, B, G, A from the low end), so that a blend is two
// multiplications.
func spread(p uint32) uint64 {
	return uint64(p&0x00ff00ff) | uint64(p>>8&0x00ff00ff)<<32
}

// pack is the inverse of spread.
func pack(v uint64) uint32 {
	return uint32(v) | uint32(v>>32)<<8
}

// lerp64 blends two spread pixels, a·(256−w)+b·w per channel, w ∈ [0,256],
// truncating as lerp32 does (each lane stays below 2¹⁶).
func lerp64(a, b uint64, w uint32) uint64 {
	return (a*uint64(256-w) + b*uint64(w)) >> 8 & 0x00ff00ff00ff00ff
}
