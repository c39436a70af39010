package qr

// matrix is a symbol under construction: module colours and which modules
// belong to function patterns (never data, never masked).
type matrix struct {
	v, size int
	dark    []bool
	fn      []bool
}

func (m *matrix) set(r, c int, d bool) {
	m.dark[r*m.size+c] = d
	m.fn[r*m.size+c] = true
}

func (m *matrix) clone() *matrix {
	return &matrix{v: m.v, size: m.size, dark: append([]bool(nil), m.dark...), fn: m.fn}
}

func (m *matrix) code(mask int) *Code {
	return &Code{Version: m.v, Mask: mask, Size: m.size, modules: m.dark}
}

// newMatrix draws the function patterns of version v: finders with their
// separators, timing, alignment patterns, the dark module, version
// information, and reserves the format information areas.
func newMatrix(v int) *matrix {
	size := 17 + 4*v
	m := &matrix{v: v, size: size, dark: make([]bool, size*size), fn: make([]bool, size*size)}
	for i := 0; i < size; i++ {
		m.set(6, i, i%2 == 0)
		m.set(i, 6, i%2 == 0)
	}
	for _, at := range [][2]int{{0, 0}, {0, size - 7}, {size - 7, 0}} {
		for dr := -1; dr <= 7; dr++ {
			for dc := -1; dc <= 7; dc++ {
				r, c := at[0]+dr, at[1]+dc
				if r < 0 || c < 0 || r >= size || c >= size {
					continue
				}
				ring := max(abs(dr-3), abs(dc-3)) // 0..4 from the centre
				m.set(r, c, ring != 2 && ring != 4)
			}
		}
	}
	pos := alignment[v]
	for i, r := range pos {
		for j, c := range pos {
			if (i == 0 && j == 0) || (i == 0 && j == len(pos)-1) || (i == len(pos)-1 && j == 0) {
				continue // overlaps a finder
			}
			for dr := -2; dr <= 2; dr++ {
				for dc := -2; dc <= 2; dc++ {
					m.set(r+dr, c+dc, max(abs(dr), abs(dc)) != 1)
				}
			}
		}
	}
	m.drawFormat(0) // reserves the areas; redrawn with the chosen mask
	if v >= 7 {
		bits := versionBits(v)
		for i := 0; i < 18; i++ {
			d := bits>>uint(i)&1 == 1
			a, b := size-11+i%3, i/3
			m.set(b, a, d) // top right: 6 rows × 3 columns
			m.set(a, b, d) // bottom left: 3 rows × 6 columns
		}
	}
	return m
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// formatBits returns the 15 format information bits for level M and mask:
// 00 (M), the mask, a BCH(15,5) remainder, XOR 101010000010010.
func formatBits(mask int) uint32 {
	data := uint32(0b00<<3 | mask)
	rem := data
	for i := 0; i < 10; i++ {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	return (data<<10 | rem) ^ 0x5412
}

// versionBits returns the 18 version information bits: 6 bits of version
// and a BCH(18,6) remainder with generator 0x1F25.
func versionBits(v int) uint32 {
	rem := uint32(v)
	for i := 0; i < 12; i++ {
		rem = rem<<1 ^ (rem>>11)*0x1F25
	}
	return uint32(v)<<12 | rem
}

// formatPositions returns the two places of format bit i (0 is the least
// significant) as {row, column} pairs.
func formatPositions(size, i int) [2][2]int {
	var a, b [2]int
	switch {
	case i < 6:
		a = [2]int{i, 8}
	case i < 8:
		a = [2]int{i + 1, 8}
	case i == 8:
		a = [2]int{8, 7}
	default:
		a = [2]int{8, 14 - i}
	}
	if i < 8 {
		b = [2]int{8, size - 1 - i}
	} else {
		b = [2]int{size - 15 + i, 8}
	}
	return [2][2]int{a, b}
}

// drawFormat writes the format information for mask in both places and
// the dark module.
func (m *matrix) drawFormat(mask int) {
	bits := formatBits(mask)
	for i := 0; i < 15; i++ {
		d := bits>>uint(i)&1 == 1
		for _, p := range formatPositions(m.size, i) {
			m.set(p[0], p[1], d)
		}
	}
	m.set(m.size-8, 8, true)
}

// dataOrder calls fn for every non-function module in the order data
// bits are placed: two-column strips from the right edge leftwards,
// alternately upwards and downwards, skipping the vertical timing column.
func (m *matrix) dataOrder(fn func(r, c int)) {
	n := m.size
	for right := n - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		upward := (right+1)&2 == 0
		for k := 0; k < n; k++ {
			r := k
			if upward {
				r = n - 1 - k
			}
			for j := 0; j < 2; j++ {
				c := right - j
				if !m.fn[r*n+c] {
					fn(r, c)
				}
			}
		}
	}
}

// placeData writes the codewords' bits, most significant first; modules
// left over (remainder bits) stay light.
func (m *matrix) placeData(codewords []byte) {
	i := 0
	m.dataOrder(func(r, c int) {
		if i < len(codewords)*8 {
			m.dark[r*m.size+c] = codewords[i/8]>>uint(7-i%8)&1 == 1
		}
		i++
	})
}

// maskBit is the condition of mask pattern k at row r, column c: where it
// holds, a data module is inverted.
func maskBit(k, r, c int) bool {
	switch k {
	case 0:
		return (r+c)%2 == 0
	case 1:
		return r%2 == 0
	case 2:
		return c%3 == 0
	case 3:
		return (r+c)%3 == 0
	case 4:
		return (r/2+c/3)%2 == 0
	case 5:
		return r*c%2+r*c%3 == 0
	case 6:
		return (r*c%2+r*c%3)%2 == 0
	}
	return ((r+c)%2+r*c%3)%2 == 0
}

func (m *matrix) applyMask(k int) {
	for r := 0; r < m.size; r++ {
		for c := 0; c < m.size; c++ {
			if !m.fn[r*m.size+c] && maskBit(k, r, c) {
				m.dark[r*m.size+c] = !m.dark[r*m.size+c]
			}
		}
	}
}

// penalty scores a masked symbol by the four rules of ISO/IEC 18004 §8.8.2
// (lower is better): runs of five or more, 2×2 blocks, finder-like
// patterns, and the imbalance of dark and light.
func (m *matrix) penalty() int {
	n := m.size
	at := func(r, c int, rows bool) bool {
		if rows {
			return m.dark[r*n+c]
		}
		return m.dark[c*n+r]
	}
	score := 0
	for _, rows := range []bool{true, false} {
		for r := 0; r < n; r++ {
			run := 1
			for c := 1; c <= n; c++ {
				if c < n && at(r, c, rows) == at(r, c-1, rows) {
					run++
					continue
				}
				if run >= 5 {
					score += 3 + run - 5
				}
				run = 1
			}
			// 1:1:3:1:1 with four light modules on one side.
			for c := 0; c+11 <= n; c++ {
				var w uint16
				for k := 0; k < 11; k++ {
					w <<= 1
					if at(r, c+k, rows) {
						w |= 1
					}
				}
				if w == 0b10111010000 || w == 0b00001011101 {
					score += 40
				}
			}
		}
	}
	dark := 0
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			if m.dark[r*n+c] {
				dark++
			}
			if r+1 < n && c+1 < n {
				d := m.dark[r*n+c]
				if m.dark[r*n+c+1] == d && m.dark[(r+1)*n+c] == d && m.dark[(r+1)*n+c+1] == d {
					score += 3
				}
			}
		}
	}
	// Ten points per full 5 % step away from half dark.
	total := n * n
	if k := (abs(dark*20-total*10)+total-1)/total - 1; k > 0 {
		score += 10 * k
	}
	return score
}
