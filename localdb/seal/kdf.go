package seal

import (
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/argon2"

	"github.com/examlane/examlane/lane"
)

// KDFParams are the Argon2id parameters of a passphrase-derived
// key-encryption key. They are stored with the database so that they can be
// raised later without losing access.
type KDFParams struct {
	Time      uint32 // passes
	MemoryKiB uint32
	Threads   uint8
	Salt      []byte // 16 random bytes
}

// DefaultKDF returns the parameters for a new passphrase key: t=3,
// m=64 MiB, p=2 (RFC 9106's second recommendation, with the parallelism of
// a 2-core lane PC), with a fresh salt. See the package benchmarks for the
// measured cost.
func DefaultKDF() KDFParams {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	return KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 2, Salt: salt}
}

// Validate rejects parameters too weak to protect a key, or so large that
// deriving would exhaust a lane PC (which also bounds what a tampered
// database can make the lane do).
func (p KDFParams) Validate() error {
	switch {
	case len(p.Salt) < 16:
		return lane.Invalidf("passphrase key: salt shorter than 16 bytes")
	case p.Time < 1 || p.Time > 20:
		return lane.Invalidf("passphrase key: time %d outside 1..20", p.Time)
	case p.MemoryKiB < 8*1024 || p.MemoryKiB > 2*1024*1024:
		return lane.Invalidf("passphrase key: memory %d KiB outside 8 MiB..2 GiB", p.MemoryKiB)
	case p.Threads < 1 || p.Threads > 16:
		return lane.Invalidf("passphrase key: threads %d outside 1..16", p.Threads)
	}
	return nil
}

// String describes the parameters without the salt.
func (p KDFParams) String() string {
	return fmt.Sprintf("argon2id t=%d m=%dMiB p=%d", p.Time, p.MemoryKiB/1024, p.Threads)
}

// DeriveKEK derives a key-encryption key from a passphrase with Argon2id.
func DeriveKEK(passphrase []byte, p KDFParams) (Key, error) {
	var k Key
	if err := p.Validate(); err != nil {
		return k, err
	}
	if len(passphrase) == 0 {
		return k, lane.Invalidf("passphrase key: empty passphrase")
	}
	copy(k[:], argon2.IDKey(passphrase, p.Salt, p.Time, p.MemoryKiB, p.Threads, KeySize))
	return k, nil
}
