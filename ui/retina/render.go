package retina

import (
	"encoding/binary"
	"image"
	"math"

	"github.com/examlane/examlane/lane"
)

// Background is the colour Render paints where the image does not cover the
// viewport: opaque black, like a fundus camera's surround.
var Background = [4]uint8{0, 0, 0, 255}

// LevelFor returns the pyramid level a view at scale s samples from: the
// coarsest level whose resolution is still at least the viewport's, so the
// bilinear step never reduces by more than 2×.
func (p *Pyramid) LevelFor(s float64) int {
	if !(s > 0) || s >= 1 {
		return 0
	}
	k := int(math.Floor(math.Log2(1/s) + 1e-9))
	return max(0, min(k, len(p.sizes)-1))
}

// Render returns a w×h rendering of the view. See RenderInto.
func (p *Pyramid) Render(v View, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, max(w, 0), max(h, 0)))
	p.RenderInto(dst, v)
	return dst
}

// RenderInto renders view v into dst (the viewport is dst's size, origin at
// dst.Rect.Min), sampling bilinearly from the level chosen by LevelFor and
// painting Background outside the image. Reusing dst between frames avoids
// an allocation per frame.
//
// A magnified view of a 4:2:0 Y'CbCr level 0 (a camera JPEG) is sampled
// from that level converted to RGB at its pixel centres, with chroma
// interpolated between its samples as JPEG decoders' "fancy upsampling"
// does, so colours blend in RGB like any decoded image's; only the source
// rectangle the viewport shows is converted, once per frame. Other views of
// a Y'CbCr level sample luma bilinearly and chroma per screen pixel. An
// unrotated or quarter-turned view of RGB pixels samples separably: the
// two source lines a screen row falls between are blended once per row,
// then each screen pixel from two neighbours of that blend (see
// sample.go). The fast paths agree with plain per-pixel sampling within
// one level per channel (TestFastPathsMatchReference).
func (p *Pyramid) RenderInto(dst *image.RGBA, v View) {
	vp := dst.Rect.Size()
	if vp.X <= 0 || vp.Y <= 0 {
		return
	}
	s := p.plan(v, vp)
	if y, ok := s.src.(*image.YCbCr); ok && y.SubsampleRatio == image.YCbCrSubsampleRatio420 && !s.minify {
		if reg, ok := s.visible420(y, vp); ok {
			defer putRegion(reg)
		}
	}
	if rgba, ok := s.src.(*image.RGBA); ok && s.axisAligned() {
		s.separable(dst, rgba)
		return
	}
	s.rows(dst, false)
}

// plan returns how a vp-sized viewport of view v samples the pyramid.
func (p *Pyramid) plan(v View, vp image.Point) sampling {
	k := p.LevelFor(v.scale())
	src := p.Level(k)
	inv := v.ToImage(vp)
	f := 1 / float64(int(1)<<k)
	// Viewport pixel (x,y) samples level point f·inv(x+0.5, y+0.5) − 0.5.
	g := Affine{A: f * inv.A, B: f * inv.B, C: f * inv.C, D: f * inv.D}
	g.TX = f*(inv.TX+0.5*inv.A+0.5*inv.B) - 0.5
	g.TY = f*(inv.TY+0.5*inv.C+0.5*inv.D) - 0.5
	// Bounds of the image in level sample coordinates: level-0 size times f.
	lw, lh := float64(p.sizes[0].X)*f, float64(p.sizes[0].Y)*f
	// At 1:1 or smaller, a screen pixel spans at least one luma pixel and
	// nearest chroma (as image/jpeg's own YCbCr.At) is indistinguishable
	// from bilinear chroma and much cheaper; magnified views blend chroma.
	minify := math.Hypot(g.A, g.C) >= 1-1e-9
	return sampling{src: src, g: g, ulo: -0.5, uhi: lw - 0.5, wlo: -0.5, whi: lh - 0.5, minify: minify}
}

// sampling is one frame's sampling plan: viewport pixel (x,y) samples
// level point g(x,y), which is inside the image where ulo ≤ u < uhi and
// wlo ≤ w < whi. src holds the level's pixels from off on: the whole level
// (off zero), or a converted rectangle of it that reaches the image's edge
// wherever a sample is clamped there.
type sampling struct {
	src                image.Image
	off                image.Point
	g                  Affine
	ulo, uhi, wlo, whi float64
	minify             bool
}

// rows renders row by row with the general samplers: each screen pixel
// from its four source neighbours. With reference set it uses only the
// clamped per-pixel samplers.
func (s *sampling) rows(dst *image.RGBA, reference bool) {
	vp := dst.Rect.Size()
	g, src := s.g, s.src
	sz := src.Bounds().Size()
	// Interior: where both bilinear neighbours exist without clamping
	// (for 4:2:0 chroma too), with a margin on both sides for the
	// fixed-point steps (2⁻³³ of error each, accumulated over a row).
	const eps = 1e-4
	iu0, iu1 := eps, float64(sz.X-1)-eps
	iw0, iw1 := eps, float64(sz.Y-1)-eps
	if y, ok := src.(*image.YCbCr); ok && y.SubsampleRatio == image.YCbCrSubsampleRatio420 {
		// chroma coordinate u/2 − 0.25 must lie in [0, cw−1)
		iu0, iw0 = 0.5+eps, 0.5+eps
		iu1 = math.Min(iu1, 2*float64((sz.X+1)/2-1)+0.5-eps)
		iw1 = math.Min(iw1, 2*float64((sz.Y+1)/2-1)+0.5-eps)
	}
	ox, oy := float64(s.off.X), float64(s.off.Y)
	iu0, iu1, iw0, iw1 = iu0+ox, iu1+ox, iw0+oy, iw1+oy
	fox, foy := int64(s.off.X)<<fixShift, int64(s.off.Y)<<fixShift
	minify := s.minify
	fdu, fdw := toFix(g.A), toFix(g.C)
	// A step this large leaves at most one sample per segment (and would
	// overflow the fixed point): then each segment starts afresh.
	steady := math.Abs(g.A) < 1<<20 && math.Abs(g.C) < 1<<20
	parallelRows(vp.Y, vp.X*vp.Y, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := dst.Pix[y*dst.Stride : y*dst.Stride+4*vp.X]
			u := g.B*float64(y) + g.TX
			w := g.D*float64(y) + g.TY
			ox0, ox1 := span(u, w, g.A, g.C, s.ulo, s.uhi, s.wlo, s.whi, 0, vp.X)
			fill(row[:4*ox0])
			fill(row[4*ox1:])
			if ox0 >= ox1 {
				continue
			}
			ix0, ix1 := span(u, w, g.A, g.C, iu0, iu1, iw0, iw1, ox0, ox1)
			if ix0 >= ix1 {
				ix0, ix1 = ox1, ox1
			}
			// Fixed-point coordinates step from the first sample in the
			// image, whatever the segments, so every path (and the
			// reference) sees the same weights.
			fu0, fw0 := toFix(u+g.A*float64(ox0)), toFix(w+g.C*float64(ox0))
			for _, r := range [3][3]int{{ox0, ix0, 0}, {ix0, ix1, 1}, {ix1, ox1, 0}} {
				if r[0] >= r[1] {
					continue
				}
				c := fixRun{u: fu0 + int64(r[0]-ox0)*fdu, w: fw0 + int64(r[0]-ox0)*fdw, du: fdu, dw: fdw}
				if !steady {
					c.u, c.w = toFix(u+g.A*float64(r[0])), toFix(w+g.C*float64(r[0]))
				}
				c.u, c.w = c.u-fox, c.w-foy
				out := row[4*r[0] : 4*r[1]]
				inner := r[2] == 1 && !reference
				switch s := src.(type) {
				case *image.RGBA:
					if inner {
						rowRGBAInner(out, s, c)
					} else {
						rowRGBA(out, s, c)
					}
				case *image.YCbCr:
					switch {
					case inner && s.SubsampleRatio == image.YCbCrSubsampleRatio420 && minify:
						rowYCbCr420NearestChroma(out, s, c)
					case inner && s.SubsampleRatio == image.YCbCrSubsampleRatio420:
						rowYCbCr420Inner(out, s, c)
					default:
						rowYCbCr(out, s, c, minify)
					}
				case *image.Gray:
					rowGray(out, s, c)
				}
			}
		}
	})
}

// fill paints the pixels of b (whole pixels) with Background, doubling
// the painted prefix with copy.
func fill(b []uint8) {
	if len(b) < 4 {
		return
	}
	copy(b, Background[:])
	for n := 4; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

// span returns the sub-interval of columns [x0,x1) whose samples
// u+x·du, w+x·dw satisfy ulo ≤ u+x·du < uhi and wlo ≤ w+x·dw < whi. The
// set is an interval because the map is affine.
func span(u, w, du, dw, ulo, uhi, wlo, whi float64, x0, x1 int) (int, int) {
	lo, hi := float64(x0), float64(x1)
	clip := func(p, dp, a, b float64) {
		if dp == 0 {
			if p < a || p >= b {
				lo, hi = 1, 0
			}
			return
		}
		// x with a ≤ p + x·dp < b
		s, t := (a-p)/dp, (b-p)/dp
		if dp > 0 {
			// x ∈ [s, t)
			lo, hi = math.Max(lo, math.Ceil(s)), math.Min(hi, math.Ceil(t))
		} else {
			// x ∈ (t, s]
			lo, hi = math.Max(lo, math.Floor(t)+1), math.Min(hi, math.Floor(s)+1)
		}
	}
	clip(u, du, ulo, uhi)
	clip(w, dw, wlo, whi)
	if !(lo < hi) {
		return x0, x0
	}
	return int(lo), int(hi)
}

const fixShift = 32

// fixRun is a run of samples in fixed point: the first at (u, w), each
// next one (du, dw) further.
type fixRun struct{ u, w, du, dw int64 }

// chroma420 returns the run in 4:2:0 chroma sample coordinates,
// u/2 − 0.25 and w/2 − 0.25, and their steps.
func (c fixRun) chroma420() (int64, int64, int64, int64) {
	const quarter = 1 << (fixShift - 2)
	return c.u>>1 - quarter, c.w>>1 - quarter, c.du >> 1, c.dw >> 1
}

func toFix(v float64) int64 { return int64(math.Round(v * (1 << fixShift))) }

// axis returns the two neighbouring indices around fixed-point coordinate
// c, clamped to [0,n), and the weight (0..255) of the second.
func axis(c int64, n int) (int, int, uint32) {
	i := int(c >> fixShift)
	wt := uint32(c>>(fixShift-8)) & 0xff
	j := i + 1
	if i < 0 {
		return 0, 0, 0
	}
	if j >= n {
		j = n - 1
		if i > j {
			i = j
		}
	}
	return i, j, wt
}

// lerp32 blends four packed 8-bit channels: a·(256−w)+b·w, w ∈ [0,256].
func lerp32(a, b, w uint32) uint32 {
	rb := ((a&0xff00ff)*(256-w) + (b&0xff00ff)*w) >> 8 & 0xff00ff
	ga := (((a>>8)&0xff00ff)*(256-w) + ((b>>8)&0xff00ff)*w) & 0xff00ff00
	return rb | ga
}

// rowRGBA samples with clamping at the image edges.
func rowRGBA(out []uint8, s *image.RGBA, c fixRun) {
	sw, sh := s.Rect.Dx(), s.Rect.Dy()
	fu, fw, fdu, fdw := c.u, c.w, c.du, c.dw
	pix, stride := s.Pix, s.Stride
	for i := 0; i+3 < len(out); i += 4 {
		x0, x1, wx := axis(fu, sw)
		y0, y1, wy := axis(fw, sh)
		r0, r1 := y0*stride, y1*stride
		a := lerp32(binary.LittleEndian.Uint32(pix[r0+4*x0:]), binary.LittleEndian.Uint32(pix[r0+4*x1:]), wx)
		b := lerp32(binary.LittleEndian.Uint32(pix[r1+4*x0:]), binary.LittleEndian.Uint32(pix[r1+4*x1:]), wx)
		binary.LittleEndian.PutUint32(out[i:], lerp32(a, b, wy))
		fu += fdu
		fw += fdw
	}
}

// rowRGBAInner samples where all four neighbours exist.
func rowRGBAInner(out []uint8, s *image.RGBA, c fixRun) {
	fu, fw, fdu, fdw := c.u, c.w, c.du, c.dw
	pix, stride := s.Pix, s.Stride
	for i := 0; i+3 < len(out); i += 4 {
		off := int(fw>>fixShift)*stride + 4*int(fu>>fixShift)
		wx := uint32(fu>>(fixShift-8)) & 0xff
		wy := uint32(fw>>(fixShift-8)) & 0xff
		p := pix[off : off+stride+8]
		a := lerp32(binary.LittleEndian.Uint32(p), binary.LittleEndian.Uint32(p[4:]), wx)
		b := lerp32(binary.LittleEndian.Uint32(p[stride:]), binary.LittleEndian.Uint32(p[stride+4:]), wx)
		binary.LittleEndian.PutUint32(out[i:i+4], lerp32(a, b, wy))
		fu += fdu
		fw += fdw
	}
}

func rowGray(out []uint8, s *image.Gray, c fixRun) {
	sw, sh := s.Rect.Dx(), s.Rect.Dy()
	fu, fw, fdu, fdw := c.u, c.w, c.du, c.dw
	for i := 0; i+3 < len(out); i += 4 {
		x0, x1, wx := axis(fu, sw)
		y0, y1, wy := axis(fw, sh)
		v := bilin(s.Pix[y0*s.Stride+x0], s.Pix[y0*s.Stride+x1], s.Pix[y1*s.Stride+x0], s.Pix[y1*s.Stride+x1], wx, wy)
		out[i], out[i+1], out[i+2], out[i+3] = v, v, v, 255
		fu += fdu
		fw += fdw
	}
}

func bilin(a, b, c, d uint8, wx, wy uint32) uint8 {
	t := uint32(a)*(256-wx) + uint32(b)*wx
	u := uint32(c)*(256-wx) + uint32(d)*wx
	return uint8((t*(256-wy) + u*wy + 1<<15) >> 16)
}

// rowYCbCr samples luma bilinearly with clamping; chroma is bilinear for
// 4:2:0 (sited between luma pairs, as image/jpeg stores it) unless
// nearestChroma is set, and otherwise the nearest luma pixel's.
func rowYCbCr(out []uint8, s *image.YCbCr, c fixRun, nearestChroma bool) {
	sw, sh := s.Rect.Dx(), s.Rect.Dy()
	fu, fw, fdu, fdw := c.u, c.w, c.du, c.dw
	if s.SubsampleRatio == image.YCbCrSubsampleRatio420 && !nearestChroma {
		cw, ch := (sw+1)/2, (sh+1)/2
		// Chroma sample coordinate: (u+0.5)/2 − 0.5 = u/2 − 0.25.
		cu, cwf, cdu, cdw := c.chroma420()
		for i := 0; i+3 < len(out); i += 4 {
			x0, x1, wx := axis(fu, sw)
			y0, y1, wy := axis(fw, sh)
			yy := bilin(s.Y[y0*s.YStride+x0], s.Y[y0*s.YStride+x1], s.Y[y1*s.YStride+x0], s.Y[y1*s.YStride+x1], wx, wy)
			a0, a1, ax := axis(cu, cw)
			b0, b1, bx := axis(cwf, ch)
			o00, o01, o10, o11 := b0*s.CStride+a0, b0*s.CStride+a1, b1*s.CStride+a0, b1*s.CStride+a1
			cb := bilin(s.Cb[o00], s.Cb[o01], s.Cb[o10], s.Cb[o11], ax, bx)
			cr := bilin(s.Cr[o00], s.Cr[o01], s.Cr[o10], s.Cr[o11], ax, bx)
			out[i], out[i+1], out[i+2] = ycc(yy, cb, cr)
			out[i+3] = 255
			fu += fdu
			fw += fdw
			cu += cdu
			cwf += cdw
		}
		return
	}
	for i := 0; i+3 < len(out); i += 4 {
		x0, x1, wx := axis(fu, sw)
		y0, y1, wy := axis(fw, sh)
		yy := bilin(s.Y[y0*s.YStride+x0], s.Y[y0*s.YStride+x1], s.Y[y1*s.YStride+x0], s.Y[y1*s.YStride+x1], wx, wy)
		nx, ny := x0, y0
		if wx >= 128 {
			nx = x1
		}
		if wy >= 128 {
			ny = y1
		}
		c := s.COffset(nx+s.Rect.Min.X, ny+s.Rect.Min.Y)
		out[i], out[i+1], out[i+2] = ycc(yy, s.Cb[c], s.Cr[c])
		out[i+3] = 255
		fu += fdu
		fw += fdw
	}
}

// rowYCbCr420NearestChroma samples luma bilinearly and takes the chroma
// of the nearest luma pixel (4:2:0, no clamping needed).
func rowYCbCr420NearestChroma(out []uint8, s *image.YCbCr, c fixRun) {
	fu, fw, fdu, fdw := c.u, c.w, c.du, c.dw
	ys, cs := s.YStride, s.CStride
	Y, Cb, Cr := s.Y, s.Cb, s.Cr
	const half = 1 << (fixShift - 1)
	for i := 0; i+3 < len(out); i += 4 {
		yo := int(fw>>fixShift)*ys + int(fu>>fixShift)
		wx := uint32(fu>>(fixShift-8)) & 0xff
		wy := uint32(fw>>(fixShift-8)) & 0xff
		py := Y[yo : yo+ys+2]
		top := uint32(py[0])*(256-wx) + uint32(py[1])*wx
		bot := uint32(py[ys])*(256-wx) + uint32(py[ys+1])*wx
		y1 := int32((top*(256-wy)+bot*wy+1<<15)>>16) * 0x10101
		co := int((fw+half)>>(fixShift+1))*cs + int((fu+half)>>(fixShift+1))
		cb1 := int32(Cb[co]) - 128
		cr1 := int32(Cr[co]) - 128
		o := out[i : i+4 : i+4]
		o[0] = clip16(y1 + 91881*cr1)
		o[1] = clip16(y1 - 22554*cb1 - 46802*cr1)
		o[2] = clip16(y1 + 116130*cb1)
		o[3] = 255
		fu += fdu
		fw += fdw
	}
}

// rowYCbCr420Inner is rowYCbCr for 4:2:0 where no neighbour needs
// clamping. Cb and Cr are interpolated together, packed in one word.
func rowYCbCr420Inner(out []uint8, s *image.YCbCr, c fixRun) {
	fu, fw, fdu, fdw := c.u, c.w, c.du, c.dw
	cu, cwf, cdu, cdw := c.chroma420()
	ys, cs := s.YStride, s.CStride
	Y, Cb, Cr := s.Y, s.Cb, s.Cr
	for i := 0; i+3 < len(out); i += 4 {
		yo := int(fw>>fixShift)*ys + int(fu>>fixShift)
		wx := uint32(fu>>(fixShift-8)) & 0xff
		wy := uint32(fw>>(fixShift-8)) & 0xff
		py := Y[yo : yo+ys+2]
		top := uint32(py[0])*(256-wx) + uint32(py[1])*wx
		bot := uint32(py[ys])*(256-wx) + uint32(py[ys+1])*wx
		yy := int32((top*(256-wy) + bot*wy + 1<<15) >> 16)
		co := int(cwf>>fixShift)*cs + int(cu>>fixShift)
		ax := uint32(cu>>(fixShift-8)) & 0xff
		bx := uint32(cwf>>(fixShift-8)) & 0xff
		pb := Cb[co : co+cs+2]
		pr := Cr[co : co+cs+2]
		// Pack (Cb, Cr) as 0x00RR00BB-style pairs and blend both at once.
		c00 := uint32(pb[0]) | uint32(pr[0])<<16
		c01 := uint32(pb[1]) | uint32(pr[1])<<16
		c10 := uint32(pb[cs]) | uint32(pr[cs])<<16
		c11 := uint32(pb[cs+1]) | uint32(pr[cs+1])<<16
		ct := ((c00*(256-ax) + c01*ax) >> 8) & 0x00ff00ff
		cb2 := ((c10*(256-ax) + c11*ax) >> 8) & 0x00ff00ff
		c := ((ct*(256-bx) + cb2*bx) >> 8) & 0x00ff00ff
		// JFIF Y'CbCr → RGB, as image/color.YCbCrToRGB.
		y1 := yy * 0x10101
		cb1 := int32(c&0xff) - 128
		cr1 := int32(c>>16) - 128
		o := out[i : i+4 : i+4]
		o[0] = clip16(y1 + 91881*cr1)
		o[1] = clip16(y1 - 22554*cb1 - 46802*cr1)
		o[2] = clip16(y1 + 116130*cb1)
		o[3] = 255
		fu += fdu
		fw += fdw
		cu += cdu
		cwf += cdw
	}
}

// ImageRect returns the viewport rectangle covered by the whole image
// under v (its bounding box when rotated).
func (v View) ImageRect(img, vp image.Point) image.Rectangle {
	m := v.ToViewport(vp)
	pts := []lane.Point{{}, {X: float64(img.X)}, {Y: float64(img.Y)}, {X: float64(img.X), Y: float64(img.Y)}}
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range pts {
		q := m.Apply(p)
		x0, y0 = math.Min(x0, q.X), math.Min(y0, q.Y)
		x1, y1 = math.Max(x1, q.X), math.Max(y1, q.Y)
	}
	return image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1)), int(math.Ceil(y1)))
}
