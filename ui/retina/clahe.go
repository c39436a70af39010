package retina

import (
	"image"
	"math"
)

// CLAHE applies contrast-limited adaptive histogram equalisation to the
// luminance of img, in place, keeping each pixel's chroma.
//
// The image is divided into a grid of tiles (tiles across the longer side,
// proportionally fewer across the shorter, at least 1). Each tile's
// luminance histogram is clipped at clipLimit times the mean bin count, the
// clipped excess is spread evenly over all bins, and the cumulative
// histogram becomes the tile's mapping. Each pixel's new luminance
// interpolates bilinearly between the mappings of the four nearest tile
// centres (two or one at the borders), which removes tile seams. The colour
// is then shifted by the change in luminance, i.e. Y is replaced in Y'CbCr.
//
// A clip limit of 1 or less leaves the histogram flat-limited (almost no
// change); larger values allow more contrast; very large values give plain
// adaptive histogram equalisation.
func CLAHE(img *image.RGBA, tiles int, clipLimit float64) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w <= 0 || h <= 0 {
		return
	}
	tiles = max(1, tiles)
	nx, ny := tiles, tiles
	if w >= h {
		ny = max(1, int(math.Round(float64(tiles)*float64(h)/float64(w))))
	} else {
		nx = max(1, int(math.Round(float64(tiles)*float64(w)/float64(h))))
	}
	nx, ny = min(nx, w), min(ny, h)
	// Luminance (BT.601 weights in 8-bit fixed point).
	lum := make([]uint8, w*h)
	parallelRows(h, w*h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := img.Pix[y*img.Stride:]
			l := lum[y*w : (y+1)*w]
			for x := range l {
				p := row[4*x : 4*x+3 : 4*x+3]
				l[x] = uint8((77*uint32(p[0]) + 150*uint32(p[1]) + 29*uint32(p[2]) + 128) >> 8)
			}
		}
	})
	// One mapping per tile.
	maps := make([][256]uint8, nx*ny)
	parallelRows(ny, w*h, func(j0, j1 int) {
		var hist [256]uint32
		for j := j0; j < j1; j++ {
			ty0, ty1 := h*j/ny, h*(j+1)/ny
			for i := range nx {
				tx0, tx1 := w*i/nx, w*(i+1)/nx
				hist = [256]uint32{}
				for y := ty0; y < ty1; y++ {
					for _, v := range lum[y*w+tx0 : y*w+tx1] {
						hist[v]++
					}
				}
				maps[j*nx+i] = tileMapping(&hist, uint32((tx1-tx0)*(ty1-ty0)), clipLimit)
			}
		}
	})
	// Interpolation tables: for each column, the two tile columns around
	// it and the weight (0..256) of the right one; likewise for rows.
	type tw struct {
		a, b int
		w    uint32
	}
	table := func(n, tiles int) []tw {
		t := make([]tw, n)
		for x := range t {
			// Tile centres are at (i+0.5)·n/tiles.
			g := (float64(x)+0.5)*float64(tiles)/float64(n) - 0.5
			a := int(math.Floor(g))
			f := g - float64(a)
			b := a + 1
			if a < 0 {
				a, f = 0, 0
			}
			if b >= tiles {
				b = tiles - 1
				if a > b {
					a = b
				}
				f = 0
			}
			t[x] = tw{a, b, uint32(math.Round(f * 256))}
		}
		return t
	}
	cols, rows := table(w, nx), table(h, ny)
	parallelRows(h, w*h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			r := rows[y]
			m0, m1 := maps[r.a*nx:(r.a+1)*nx], maps[r.b*nx:(r.b+1)*nx]
			row := img.Pix[y*img.Stride:]
			l := lum[y*w : (y+1)*w]
			for x, v := range l {
				c := cols[x]
				top := uint32(m0[c.a][v])*(256-c.w) + uint32(m0[c.b][v])*c.w
				bot := uint32(m1[c.a][v])*(256-c.w) + uint32(m1[c.b][v])*c.w
				nv := int32((top*(256-r.w) + bot*r.w + 1<<15) >> 16)
				d := nv - int32(v)
				p := row[4*x : 4*x+3 : 4*x+3]
				p[0] = clamp8(int32(p[0]) + d)
				p[1] = clamp8(int32(p[1]) + d)
				p[2] = clamp8(int32(p[2]) + d)
			}
		}
	})
}

func clamp8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// tileMapping clips hist at clipLimit×mean, redistributes the excess and
// returns the scaled cumulative histogram.
func tileMapping(hist *[256]uint32, n uint32, clipLimit float64) [256]uint8 {
	var m [256]uint8
	if n == 0 {
		for i := range m {
			m[i] = uint8(i)
		}
		return m
	}
	limit := uint32(math.Max(1, clipLimit*float64(n)/256))
	var excess uint32
	for i, c := range hist {
		if c > limit {
			excess += c - limit
			hist[i] = limit
		}
	}
	// Spread the excess evenly; the remainder goes one each to bins spread
	// across the range.
	add, rem := excess/256, excess%256
	for i := range hist {
		hist[i] += add
	}
	if rem > 0 {
		step := 256 / rem
		for i := uint32(0); i < rem; i++ {
			hist[i*step]++
		}
	}
	var cum uint32
	for i, c := range hist {
		cum += c
		m[i] = uint8((uint64(cum)*255 + uint64(n)/2) / uint64(n))
	}
	return m
}
