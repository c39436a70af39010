// Package qr encodes short texts as QR codes (ISO/IEC 18004) and draws them
// in a terminal with Unicode half blocks, so that an administrator can scan
// a TOTP enrolment URI with a phone. It supports what that needs and no
// more: byte mode, error correction level M, versions 1 to 10 (up to 213
// bytes), with the mask chosen by the standard's penalty rules.
package qr

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxBytes is the longest text Encode accepts (version 10, level M).
const MaxBytes = 213

// ErrTooLong: the text does not fit in a version 10 code at level M.
var ErrTooLong = errors.New("qr: text longer than 213 bytes")

// Code is an encoded QR symbol: Size×Size modules, true is dark.
type Code struct {
	Version int
	Mask    int
	Size    int
	modules []bool // row-major
}

// Dark reports whether the module at row r, column c is dark. Outside the
// symbol (the quiet zone) it is light.
func (q *Code) Dark(r, c int) bool {
	if r < 0 || c < 0 || r >= q.Size || c >= q.Size {
		return false
	}
	return q.modules[r*q.Size+c]
}

// blockSpec is one version's level-M error correction structure.
type blockSpec struct {
	ecPerBlock int
	groups     [][2]int // {blocks, data codewords per block}
}

// levelM lists versions 1..10 at level M (ISO/IEC 18004 Table 9).
var levelM = [11]blockSpec{
	1:  {10, [][2]int{{1, 16}}},
	2:  {16, [][2]int{{1, 28}}},
	3:  {26, [][2]int{{1, 44}}},
	4:  {18, [][2]int{{2, 32}}},
	5:  {24, [][2]int{{2, 43}}},
	6:  {16, [][2]int{{4, 27}}},
	7:  {18, [][2]int{{4, 31}}},
	8:  {22, [][2]int{{2, 38}, {2, 39}}},
	9:  {22, [][2]int{{3, 36}, {2, 37}}},
	10: {26, [][2]int{{4, 43}, {1, 44}}},
}

// alignment lists the alignment pattern centres per version (Annex E).
var alignment = [11][]int{
	2: {6, 18}, 3: {6, 22}, 4: {6, 26}, 5: {6, 30}, 6: {6, 34},
	7: {6, 22, 38}, 8: {6, 24, 42}, 9: {6, 26, 46}, 10: {6, 28, 50},
}

func (b blockSpec) dataCodewords() int {
	n := 0
	for _, g := range b.groups {
		n += g[0] * g[1]
	}
	return n
}

// capacity returns how many bytes fit in version v at level M.
func capacity(v int) int {
	bits := levelM[v].dataCodewords()*8 - 4 - countBits(v)
	return bits / 8
}

func countBits(v int) int {
	if v <= 9 {
		return 8
	}
	return 16
}

// Encode returns the smallest QR code (version 1..10, level M, byte mode)
// holding text.
func Encode(text string) (*Code, error) {
	data := []byte(text)
	v := 1
	for ; v <= 10 && capacity(v) < len(data); v++ {
	}
	if v > 10 {
		return nil, ErrTooLong
	}
	return encodeVersion(data, v, -1)
}

// encodeVersion builds the symbol of data at version v with the given mask,
// or with the best mask by penalty when mask < 0.
func encodeVersion(data []byte, v, mask int) (*Code, error) {
	if capacity(v) < len(data) {
		return nil, fmt.Errorf("qr: %d bytes do not fit version %d", len(data), v)
	}
	codewords := interleave(v, dataCodewords(data, v))
	base := newMatrix(v)
	base.placeData(codewords)
	if mask >= 0 {
		q := base.clone()
		q.applyMask(mask)
		q.drawFormat(mask)
		return q.code(mask), nil
	}
	var best *matrix
	bestMask, bestScore := 0, -1
	for m := 0; m < 8; m++ {
		q := base.clone()
		q.applyMask(m)
		q.drawFormat(m)
		if s := q.penalty(); bestScore < 0 || s < bestScore {
			best, bestMask, bestScore = q, m, s
		}
	}
	return best.code(bestMask), nil
}

// dataCodewords builds the data codewords: mode 0100, the count, the
// bytes, a terminator of up to four zero bits, zero bits to a byte
// boundary, then the pad bytes 0xEC 0x11 alternately.
func dataCodewords(data []byte, v int) []byte {
	total := levelM[v].dataCodewords()
	var bb bitBuffer
	bb.put(0b0100, 4)
	bb.put(uint32(len(data)), countBits(v))
	for _, b := range data {
		bb.put(uint32(b), 8)
	}
	bb.put(0, min(4, total*8-bb.n))
	if r := bb.n % 8; r != 0 {
		bb.put(0, 8-r)
	}
	out := bb.bytes()
	for pad := byte(0xEC); len(out) < total; pad ^= 0xEC ^ 0x11 {
		out = append(out, pad)
	}
	return out
}

type bitBuffer struct {
	b []byte
	n int // bits written
}

func (bb *bitBuffer) put(v uint32, bits int) {
	for i := bits - 1; i >= 0; i-- {
		if bb.n%8 == 0 {
			bb.b = append(bb.b, 0)
		}
		if v>>uint(i)&1 == 1 {
			bb.b[bb.n/8] |= 0x80 >> uint(bb.n%8)
		}
		bb.n++
	}
}

func (bb *bitBuffer) bytes() []byte { return bb.b }

// splitBlocks cuts the data codewords into the version's blocks.
func splitBlocks(v int, data []byte) [][]byte {
	var blocks [][]byte
	for _, g := range levelM[v].groups {
		for i := 0; i < g[0]; i++ {
			blocks = append(blocks, data[:g[1]])
			data = data[g[1]:]
		}
	}
	return blocks
}

// interleave computes each block's error correction codewords and returns
// the final sequence: data codewords column by column across blocks, then
// error correction codewords likewise.
func interleave(v int, data []byte) []byte {
	spec := levelM[v]
	blocks := splitBlocks(v, data)
	gen := generator(spec.ecPerBlock)
	var ecs [][]byte
	longest := 0
	for _, b := range blocks {
		ecs = append(ecs, rsRemainder(b, gen))
		longest = max(longest, len(b))
	}
	var out []byte
	for i := 0; i < longest; i++ {
		for _, b := range blocks {
			if i < len(b) {
				out = append(out, b[i])
			}
		}
	}
	for i := 0; i < spec.ecPerBlock; i++ {
		for _, e := range ecs {
			out = append(out, e[i])
		}
	}
	return out
}

// Render writes the code with a quiet zone of quiet modules, two module
// rows per text line, using the half blocks ▀ ▄ █ and spaces. With invert
// false, dark modules are drawn as ink (for light backgrounds and
// printing); with invert true, light modules are drawn, which shows a
// correct code on a dark terminal.
func (q *Code) Render(w io.Writer, quiet int, invert bool) error {
	var sb strings.Builder
	dark := func(r, c int) bool { return q.Dark(r, c) != invert }
	for r := -quiet; r < q.Size+quiet; r += 2 {
		for c := -quiet; c < q.Size+quiet; c++ {
			top, bottom := dark(r, c), dark(r+1, c)
			if r+1 >= q.Size+quiet {
				bottom = false // below the quiet zone: no ink
			}
			switch {
			case top && bottom:
				sb.WriteRune('█')
			case top:
				sb.WriteRune('▀')
			case bottom:
				sb.WriteRune('▄')
			default:
				sb.WriteByte(' ')
			}
		}
		sb.WriteByte('\n')
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// RenderANSI writes the code like Render with invert false, wrapped in ANSI
// colours (black on white) so that it scans on any terminal theme.
func (q *Code) RenderANSI(w io.Writer, quiet int) error {
	var sb strings.Builder
	if err := q.Render(&sb, quiet, false); err != nil {
		return err
	}
	var out strings.Builder
	for _, line := range strings.SplitAfter(sb.String(), "\n") {
		if line == "" {
			continue
		}
		out.WriteString("\x1b[30;107m")
		out.WriteString(strings.TrimSuffix(line, "\n"))
		out.WriteString("\x1b[0m\n")
	}
	_, err := io.WriteString(w, out.String())
	return err
}
