package qr

// Reed–Solomon over GF(2^8) with the QR polynomial x^8+x^4+x^3+x^2+1
// (0x11D) and generator α = 2.

var gfExp [512]byte
var gfLog [256]int

func init() {
	x := 1
	for i := 0; i < 255; i++ {
		gfExp[i] = byte(x)
		gfLog[x] = i
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x11D
		}
	}
	for i := 255; i < 512; i++ {
		gfExp[i] = gfExp[i-255]
	}
}

func gfMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[gfLog[a]+gfLog[b]]
}

// generator returns the coefficients, highest degree first and without the
// leading 1, of g(x) = (x-α^0)(x-α^1)...(x-α^(n-1)).
func generator(n int) []byte {
	g := []byte{1}
	for i := 0; i < n; i++ {
		next := make([]byte, len(g)+1)
		for j, c := range g {
			next[j] ^= c
			next[j+1] ^= gfMul(c, gfExp[i])
		}
		g = next
	}
	return g[1:]
}

// rsRemainder returns the n error correction codewords of data for the
// generator gen (len n): the remainder of data(x)·x^n divided by g(x).
func rsRemainder(data, gen []byte) []byte {
	rem := make([]byte, len(gen))
	for _, d := range data {
		f := d ^ rem[0]
		copy(rem, rem[1:])
		rem[len(rem)-1] = 0
		for i, g := range gen {
			rem[i] ^= gfMul(g, f)
		}
	}
	return rem
}

// syndromesZero reports whether a block (data then error correction
// codewords) is a valid codeword: its polynomial vanishes at α^0..α^(n-1).
func syndromesZero(block []byte, n int) bool {
	for i := 0; i < n; i++ {
		var s byte
		for _, c := range block {
			s = gfMul(s, gfExp[i]) ^ c
		}
		if s != 0 {
			return false
		}
	}
	return true
}
