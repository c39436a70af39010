package imaging

import (
	"encoding/binary"
	"image"
	"math"
)

// pixelLayout describes native (uncompressed) DICOM pixel data, from the
// Image Pixel module.
type pixelLayout struct {
	Rows, Cols    int
	Samples       int // 1 (monochrome) or 3 (colour)
	BitsAllocated int // 8 or 16
	BitsStored    int // 1..BitsAllocated; 0 means BitsAllocated
	HighBit       int // BitsStored-1 when unset (negative)
	Signed        bool
	Planar        bool   // PlanarConfiguration 1: RRR…GGG…BBB…
	Photometric   string // MONOCHROME1, MONOCHROME2, RGB, YBR_FULL
	BigEndian     bool
	// SwapBytes8 is set for 8-bit samples in an OW value under big-endian
	// transfer syntax, where each 16-bit word holds two samples swapped.
	SwapBytes8   bool
	Slope        float64 // Rescale Slope; 0 means 1
	Intercept    float64
	WindowCenter float64
	WindowWidth  float64 // ≤ 1 means no window
}

// frameBytes returns the size of one frame, or -1 if the layout is not
// one we unpack.
func (l pixelLayout) frameBytes() int64 {
	if l.Rows <= 0 || l.Cols <= 0 || (l.Samples != 1 && l.Samples != 3) || (l.BitsAllocated != 8 && l.BitsAllocated != 16) {
		return -1
	}
	return int64(l.Rows) * int64(l.Cols) * int64(l.Samples) * int64(l.BitsAllocated/8)
}

// unpackNative turns the first frame of native pixel data into an 8-bit
// image: *image.Gray for monochrome, *image.RGBA for colour. It checks the
// layout, the pixel budget and the data length before allocating.
func unpackNative(l pixelLayout, data []byte, maxPixels int64) (image.Image, error) {
	switch l.Photometric {
	case "MONOCHROME1", "MONOCHROME2":
		if l.Samples != 1 {
			return nil, invalidf("dicom: %s with %d samples per pixel", l.Photometric, l.Samples)
		}
	case "RGB", "YBR_FULL":
		if l.Samples != 3 {
			return nil, invalidf("dicom: %s with %d samples per pixel", l.Photometric, l.Samples)
		}
	default:
		return nil, unsupportedPixel("photometric interpretation %q", l.Photometric)
	}
	if l.BitsAllocated != 8 && l.BitsAllocated != 16 {
		return nil, unsupportedPixel("%d bits allocated", l.BitsAllocated)
	}
	if l.Rows <= 0 || l.Cols <= 0 {
		return nil, invalidf("dicom: image size %d×%d", l.Cols, l.Rows)
	}
	if err := checkBudget("dicom", l.Cols, l.Rows, maxPixels); err != nil {
		return nil, err
	}
	if l.BitsStored <= 0 || l.BitsStored > l.BitsAllocated {
		l.BitsStored = l.BitsAllocated
	}
	if l.HighBit < l.BitsStored-1 || l.HighBit >= l.BitsAllocated {
		l.HighBit = l.BitsStored - 1
	}
	if n := l.frameBytes(); int64(len(data)) < n {
		return nil, invalidf("dicom: pixel data has %d bytes, a %d×%d frame needs %d", len(data), l.Cols, l.Rows, n)
	}
	if l.Samples == 1 {
		return unpackMono(l, data), nil
	}
	return unpackColour(l, data), nil
}

// sampleReader returns a function giving the stored value of sample i
// (right-aligned, masked, sign-extended when signed).
func sampleReader(l pixelLayout, data []byte) func(i int) int32 {
	shift := uint(l.HighBit - l.BitsStored + 1)
	mask := uint32(1)<<uint(l.BitsStored) - 1
	sign := uint32(1) << uint(l.BitsStored-1)
	var bo binary.ByteOrder = binary.LittleEndian
	if l.BigEndian {
		bo = binary.BigEndian
	}
	swap := 0
	if l.SwapBytes8 && l.BitsAllocated == 8 {
		swap = 1
	}
	return func(i int) int32 {
		var raw uint32
		if l.BitsAllocated == 8 {
			if j := i ^ swap; j < len(data) {
				raw = uint32(data[j])
			} else {
				raw = uint32(data[i])
			}
		} else {
			raw = uint32(bo.Uint16(data[2*i:]))
		}
		v := (raw >> shift) & mask
		if l.Signed && v&sign != 0 {
			return int32(v) - int32(mask) - 1
		}
		return int32(v)
	}
}

// unpackMono applies the modality rescale and the first VOI window (or a
// min–max stretch when there is no window and the data is not plain 8-bit)
// through a lookup table over all stored values.
func unpackMono(l pixelLayout, data []byte) *image.Gray {
	n := l.Rows * l.Cols
	get := sampleReader(l, data)
	slope := l.Slope
	if slope == 0 || math.IsNaN(slope) || math.IsInf(slope, 0) {
		slope = 1
	}
	icpt := l.Intercept
	if math.IsNaN(icpt) || math.IsInf(icpt, 0) {
		icpt = 0
	}
	lo := int32(0)
	if l.Signed {
		lo = -(1 << uint(l.BitsStored-1))
	}
	size := 1 << uint(l.BitsStored)
	lut := make([]uint8, size) // index: stored value − lo
	plain := l.BitsAllocated == 8 && !l.Signed && slope == 1 && icpt == 0 && !(l.WindowWidth > 1)
	switch {
	case plain:
		for i := range lut {
			lut[i] = uint8(i)
		}
	case l.WindowWidth > 1 && !math.IsInf(l.WindowWidth, 0) && !math.IsNaN(l.WindowCenter) && !math.IsInf(l.WindowCenter, 0):
		// DICOM PS3.3 C.11.2.1.2.1 linear VOI function.
		c, w := l.WindowCenter, l.WindowWidth
		for i := range lut {
			x := float64(int32(i)+lo)*slope + icpt
			var y float64
			switch {
			case x <= c-0.5-(w-1)/2:
				y = 0
			case x > c-0.5+(w-1)/2:
				y = 255
			default:
				y = ((x-(c-0.5))/(w-1) + 0.5) * 255
			}
			lut[i] = uint8(math.Round(math.Max(0, math.Min(255, y))))
		}
	default:
		// Min–max over the frame's stored values (rescale is monotonic,
		// or reversing when the slope is negative).
		mn, mx := int32(math.MaxInt32), int32(math.MinInt32)
		for i := range n {
			v := get(i)
			mn, mx = min(mn, v), max(mx, v)
		}
		for i := range lut {
			v := int32(i) + lo
			var y float64
			if mx > mn {
				y = float64(min(max(v, mn), mx)-mn) / float64(mx-mn) * 255
			}
			if slope < 0 {
				y = 255 - y
			}
			lut[i] = uint8(math.Round(y))
		}
	}
	if l.Photometric == "MONOCHROME1" {
		for i := range lut {
			lut[i] = 255 - lut[i]
		}
	}
	img := image.NewGray(image.Rect(0, 0, l.Cols, l.Rows))
	for i := range n {
		img.Pix[i] = lut[get(i)-lo]
	}
	return img
}

// unpackColour converts RGB or YBR_FULL samples, interleaved or planar, to
// 8 bits per channel (16-bit samples are scaled from their stored range).
func unpackColour(l pixelLayout, data []byte) *image.RGBA {
	n := l.Rows * l.Cols
	get := sampleReader(l, data)
	img := image.NewRGBA(image.Rect(0, 0, l.Cols, l.Rows))
	scale := func(v int32) uint8 { return uint8(v) }
	if l.BitsStored != 8 || l.Signed {
		lo := int32(0)
		if l.Signed {
			lo = -(1 << uint(l.BitsStored-1))
		}
		den := float64(int32(1)<<uint(l.BitsStored) - 1)
		scale = func(v int32) uint8 { return uint8(math.Round(float64(v-lo) * 255 / den)) }
	}
	idx := func(p, c int) int { return 3*p + c }
	if l.Planar {
		idx = func(p, c int) int { return c*n + p }
	}
	ybr := l.Photometric == "YBR_FULL"
	for p := range n {
		r, g, b := scale(get(idx(p, 0))), scale(get(idx(p, 1))), scale(get(idx(p, 2)))
		if ybr {
			r, g, b = yccToRGB(r, g, b)
		}
		o := img.Pix[4*p : 4*p+4 : 4*p+4]
		o[0], o[1], o[2], o[3] = r, g, b, 255
	}
	return img
}

// yccToRGB converts full-range Y'CbCr (JFIF, as YBR_FULL is) to RGB.
func yccToRGB(y, cb, cr uint8) (uint8, uint8, uint8) {
	yy := float64(y)
	b1, r1 := float64(cb)-128, float64(cr)-128
	c := func(v float64) uint8 { return uint8(math.Round(math.Max(0, math.Min(255, v)))) }
	return c(yy + 1.402*r1), c(yy - 0.344136*b1 - 0.714136*r1), c(yy + 1.772*b1)
}
