package qr

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The worked example of the QR tutorial at thonky.com ("HELLO WORLD",
// version 1-M): its 16 data codewords and the 10 error correction
// codewords published for them.
func TestReedSolomonPublishedExample(t *testing.T) {
	data := []byte{32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17}
	want := []byte{196, 35, 39, 119, 235, 215, 231, 226, 93, 23}
	got := rsRemainder(data, generator(10))
	if !bytes.Equal(got, want) {
		t.Fatalf("EC = %v, want %v", got, want)
	}
	if !syndromesZero(append(append([]byte(nil), data...), got...), 10) {
		t.Fatal("syndromes of a valid block are not zero")
	}
	bad := append(append([]byte(nil), data...), got...)
	bad[3] ^= 1
	if syndromesZero(bad, 10) {
		t.Fatal("syndromes of a corrupted block are zero")
	}
}

// The generator polynomial for 10 codewords in exponent form:
// α0 x10 + α251 x9 + α67 x8 + α46 x7 + α61 x6 + α118 x5 + α70 x4 + α64 x3 + α94 x2 + α32 x + α45.
func TestGeneratorPolynomial(t *testing.T) {
	want := []int{251, 67, 46, 61, 118, 70, 64, 94, 32, 45}
	for i, c := range generator(10) {
		if gfLog[c] != want[i] {
			t.Fatalf("coefficient %d = α^%d, want α^%d", i, gfLog[c], want[i])
		}
	}
}

// ISO/IEC 18004 Annex C: format information for level M, masks 0..7, and
// version information for versions 7..10.
func TestFormatAndVersionBits(t *testing.T) {
	formats := []string{"101010000010010", "101000100100101", "101111001111100", "101101101001011",
		"100010111111001", "100000011001110", "100111110010111", "100101010100000"}
	for m, w := range formats {
		if got := fmt.Sprintf("%015b", formatBits(m)); got != w {
			t.Errorf("format M mask %d = %s, want %s", m, got, w)
		}
	}
	versions := map[int]string{7: "000111110010010100", 8: "001000010110111100", 9: "001001101010011001", 10: "001010010011010011"}
	for v, w := range versions {
		if got := fmt.Sprintf("%018b", versionBits(v)); got != w {
			t.Errorf("version %d = %s, want %s", v, got, w)
		}
	}
}

func TestStructure(t *testing.T) {
	caps := map[int]int{1: 14, 2: 26, 3: 42, 4: 62, 5: 84, 6: 106, 7: 122, 8: 152, 9: 180, 10: 213}
	for v := 1; v <= 10; v++ {
		if c := capacity(v); c != caps[v] {
			t.Errorf("capacity(v%d) = %d, want %d", v, c, caps[v])
		}
		// Data modules = codewords × 8 + remainder bits (0 or 7 here).
		m := newMatrix(v)
		free := 0
		m.dataOrder(func(int, int) { free++ })
		spec := levelM[v]
		blocks := 0
		for _, g := range spec.groups {
			blocks += g[0]
		}
		codewords := spec.dataCodewords() + blocks*spec.ecPerBlock
		rem := free - codewords*8
		wantRem := 0
		if v >= 2 && v <= 6 {
			wantRem = 7
		}
		if rem != wantRem {
			t.Errorf("v%d: %d free modules for %d codewords: remainder %d, want %d", v, free, codewords, rem, wantRem)
		}
	}
	if _, err := Encode(strings.Repeat("x", MaxBytes+1)); !errors.Is(err, ErrTooLong) {
		t.Fatalf("too long: %v", err)
	}
}

// TestRoundTrip encodes texts of every version and reads them back with
// decode (below), which checks the format and version information and
// every block's Reed–Solomon syndromes, for every mask.
func TestRoundTrip(t *testing.T) {
	uri := "otpauth://totp/Main%20Street%20Eye%20Care:sam.lee?algorithm=SHA1&digits=6&issuer=Main+Street+Eye+Care&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	texts := []string{"", "A", "HELLO WORLD", uri, strings.Repeat("é", 106)}
	for v := 1; v <= 10; v++ {
		texts = append(texts, strings.Repeat("z", capacity(v)))
	}
	for _, text := range texts {
		q, err := Encode(text)
		if err != nil {
			t.Fatalf("Encode(%d bytes): %v", len(text), err)
		}
		got, err := decode(q)
		if err != nil || got != text {
			t.Fatalf("v%d mask %d: decode = %q, %v", q.Version, q.Mask, got, err)
		}
		for mask := 0; mask < 8; mask++ {
			qm, err := encodeVersion([]byte(text), q.Version, mask)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := decode(qm); err != nil || got != text {
				t.Fatalf("v%d forced mask %d: %q, %v", q.Version, mask, got, err)
			}
		}
	}
	q, _ := Encode(uri)
	if q.Version != 8 {
		t.Errorf("a %d-byte URI took version %d, want 8", len(uri), q.Version)
	}
}

// TestDecodeDetectsDamage flips a data module and expects the syndrome
// check to notice.
func TestDecodeDetectsDamage(t *testing.T) {
	q, _ := Encode("HELLO WORLD")
	m := newMatrix(q.Version)
	var r0, c0 int
	m.dataOrder(func(r, c int) {
		if r0 == 0 && c0 == 0 {
			r0, c0 = r, c
		}
	})
	q.modules[r0*q.Size+c0] = !q.modules[r0*q.Size+c0]
	if _, err := decode(q); err == nil {
		t.Fatal("a damaged symbol decoded")
	}
}

func TestRender(t *testing.T) {
	q, _ := Encode("HELLO WORLD")
	var b bytes.Buffer
	if err := q.Render(&b, 2, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != (q.Size+4+1)/2 {
		t.Fatalf("%d lines for %d rows", len(lines), q.Size+4)
	}
	// Reading the half blocks back gives the modules.
	for i, l := range lines {
		for c, ch := range []rune(l) {
			top := ch == '█' || ch == '▀'
			bottom := ch == '█' || ch == '▄'
			r := 2*i - 2
			if top != q.Dark(r, c-2) || (r+1 < q.Size+2 && bottom != q.Dark(r+1, c-2)) {
				t.Fatalf("line %d col %d = %q", i, c, ch)
			}
		}
	}
	b.Reset()
	q.Render(&b, 2, true)
	if !strings.HasPrefix(b.String(), "████") {
		t.Fatalf("inverted quiet zone is not drawn: %q", b.String()[:12])
	}
	b.Reset()
	q.RenderANSI(&b, 2)
	if !strings.HasPrefix(b.String(), "\x1b[30;107m") || !strings.Contains(b.String(), "\x1b[0m\n") {
		t.Fatal("RenderANSI without colours")
	}
}

// TestZbarDecodes checks the symbols with an independent decoder, zbarimg
// (Debian package zbar-tools), when it is installed.
func TestZbarDecodes(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Skip("zbarimg not installed (apt-get install zbar-tools): independent decoding not checked")
	}
	texts := []string{"HELLO WORLD", "otpauth://totp/Examlane%20Demo:sam.lee?algorithm=SHA1&digits=6&issuer=Examlane+Demo&period=30&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}
	for v := 1; v <= 10; v++ {
		texts = append(texts, strings.Repeat("Zz9", 80)[:capacity(v)])
	}
	for _, text := range texts {
		q, err := Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "qr.png")
		writePNG(t, q, file)
		out, err := exec.Command(zbar, "--raw", "-q", file).Output()
		if err != nil {
			t.Fatalf("zbarimg v%d: %v", q.Version, err)
		}
		if got := strings.TrimSuffix(string(out), "\n"); got != text {
			t.Fatalf("zbarimg v%d read %q", q.Version, got)
		}
	}
}

func writePNG(t *testing.T, q *Code, file string) {
	const scale, quiet = 8, 4
	n := (q.Size + 2*quiet) * scale
	img := image.NewGray(image.Rect(0, 0, n, n))
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			c := color.Gray{255}
			if q.Dark(y/scale-quiet, x/scale-quiet) {
				c = color.Gray{0}
			}
			img.SetGray(x, y, c)
		}
	}
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// decode reads a level-M byte-mode symbol of version 1..10: format
// information (both copies), version information (7+), the data modules in
// placement order with the mask removed, de-interleaving, a Reed–Solomon
// syndrome check of every block, and the byte segment.
func decode(q *Code) (string, error) {
	v := (q.Size - 17) / 4
	if v < 1 || v > 10 || 17+4*v != q.Size {
		return "", fmt.Errorf("size %d", q.Size)
	}
	read := func(p [2]int) uint32 {
		if q.Dark(p[0], p[1]) {
			return 1
		}
		return 0
	}
	var f1, f2 uint32
	for i := 0; i < 15; i++ {
		ps := formatPositions(q.Size, i)
		f1 |= read(ps[0]) << uint(i)
		f2 |= read(ps[1]) << uint(i)
	}
	mask := -1
	for m := 0; m < 8; m++ {
		if formatBits(m) == f1 {
			mask = m
		}
	}
	if mask < 0 || f1 != f2 {
		return "", fmt.Errorf("format information %015b / %015b", f1, f2)
	}
	if !q.Dark(q.Size-8, 8) {
		return "", errors.New("dark module missing")
	}
	if v >= 7 {
		var a, b uint32
		for i := 0; i < 18; i++ {
			x, y := q.Size-11+i%3, i/3
			a |= read([2]int{y, x}) << uint(i)
			b |= read([2]int{x, y}) << uint(i)
		}
		if a != versionBits(v) || b != versionBits(v) {
			return "", fmt.Errorf("version information %018b / %018b", a, b)
		}
	}
	m := newMatrix(v)
	var bits []byte
	m.dataOrder(func(r, c int) {
		d := q.Dark(r, c) != maskBit(mask, r, c)
		if d {
			bits = append(bits, 1)
		} else {
			bits = append(bits, 0)
		}
	})
	spec := levelM[v]
	var sizes []int
	for _, g := range spec.groups {
		for i := 0; i < g[0]; i++ {
			sizes = append(sizes, g[1])
		}
	}
	total := spec.dataCodewords() + len(sizes)*spec.ecPerBlock
	cw := make([]byte, total)
	for i := range cw {
		for k := 0; k < 8; k++ {
			cw[i] = cw[i]<<1 | bits[i*8+k]
		}
	}
	blocks := make([][]byte, len(sizes))
	i := 0
	for col := 0; col < sizes[len(sizes)-1]; col++ {
		for b, n := range sizes {
			if col < n {
				blocks[b] = append(blocks[b], cw[i])
				i++
			}
		}
	}
	for col := 0; col < spec.ecPerBlock; col++ {
		for b := range sizes {
			blocks[b] = append(blocks[b], cw[i])
			i++
		}
	}
	var data []byte
	for b, blk := range blocks {
		if !syndromesZero(blk, spec.ecPerBlock) {
			return "", fmt.Errorf("block %d fails the Reed–Solomon check", b)
		}
		data = append(data, blk[:sizes[b]]...)
	}
	pos := 0
	take := func(n int) int {
		x := 0
		for k := 0; k < n; k++ {
			x = x<<1 | int(data[pos/8]>>uint(7-pos%8)&1)
			pos++
		}
		return x
	}
	if mode := take(4); mode != 0b0100 {
		return "", fmt.Errorf("mode %04b", mode)
	}
	n := take(countBits(v))
	out := make([]byte, n)
	for k := range out {
		out[k] = byte(take(8))
	}
	return string(out), nil
}
