// Package passhash hashes and verifies passwords and PINs with Argon2id
// (RFC 9106), stored as PHC strings
// ($argon2id$v=19$m=65536,t=3,p=2$<salt>$<key>, unpadded standard base64),
// so that parameters can be raised later without breaking old hashes. The
// practice server and the lane's sign-in layer share it: the server hashes
// passwords, the lane derives its own offline verifier with parameters and
// salt the server sends.
package passhash

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/examlane/examlane/lane"
)

// Params are Argon2id's cost parameters and sizes.
type Params struct {
	Time      uint32 `json:"time"`       // passes over memory
	MemoryKiB uint32 `json:"memory_kib"` // memory in KiB
	Threads   uint8  `json:"threads"`    // lanes of parallelism
	KeyLen    uint32 `json:"key_len"`    // derived key bytes
	SaltLen   uint32 `json:"salt_len"`   // random salt bytes
}

// Default is Examlane's: t=3, m=64 MiB, p=2, a 16-byte salt and a 32-byte
// key (RFC 9106's second recommendation with two lanes for the 2-core exam
// lane PCs; above OWASP's minimum of 19 MiB, t=2).
var Default = Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 2, KeyLen: 32, SaltLen: 16}

// Bounds on parameters read from a PHC string or the wire, so that a
// crafted value cannot make a verifier spend gigabytes or minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 16
	maxThreads   = 16
)

// Check returns an error wrapping lane.ErrInvalid when p is out of range.
func (p Params) Check() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return lane.Invalidf("argon2id: time %d: want 1 to %d", p.Time, maxTime)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB:
		return lane.Invalidf("argon2id: memory %d KiB out of range", p.MemoryKiB)
	case p.Threads < 1 || p.Threads > maxThreads:
		return lane.Invalidf("argon2id: threads %d: want 1 to %d", p.Threads, maxThreads)
	case p.KeyLen < 16 || p.KeyLen > 64:
		return lane.Invalidf("argon2id: key length %d: want 16 to 64", p.KeyLen)
	case p.SaltLen != 0 && (p.SaltLen < 8 || p.SaltLen > 64):
		return lane.Invalidf("argon2id: salt length %d: want 8 to 64", p.SaltLen)
	}
	return nil
}

// Normalize returns the form of a password that is hashed: Unicode NFKC,
// so that the same characters typed on different keyboards match (NIST SP
// 800-63B §3.1.1.2).
func Normalize(password string) string { return norm.NFKC.String(password) }

// Salt returns SaltLen random bytes (16 when unset).
func (p Params) Salt() ([]byte, error) {
	n := p.SaltLen
	if n == 0 {
		n = 16
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("argon2id salt: %w", err)
	}
	return b, nil
}

// Key derives the Argon2id key of the normalised password with salt.
func (p Params) Key(password string, salt []byte) ([]byte, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	if len(salt) < 8 || len(salt) > 64 {
		return nil, lane.Invalidf("argon2id: salt of %d bytes: want 8 to 64", len(salt))
	}
	return argon2.IDKey([]byte(Normalize(password)), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen), nil
}

// Hash returns the PHC string of password with a new random salt.
func Hash(password string, p Params) (string, error) {
	salt, err := p.Salt()
	if err != nil {
		return "", err
	}
	return HashWithSalt(password, salt, p)
}

// HashWithSalt returns the PHC string of password with the given salt.
func HashWithSalt(password string, salt []byte, p Params) (string, error) {
	key, err := p.Key(password, salt)
	if err != nil {
		return "", err
	}
	return Format(p, salt, key), nil
}

var b64 = base64.RawStdEncoding

// Format writes a PHC string.
func Format(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Parse reads a PHC string written by Format. Params.SaltLen and KeyLen are
// set from the decoded salt and key.
func Parse(phc string) (p Params, salt, key []byte, err error) {
	bad := func(why string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, lane.Invalidf("argon2id hash: %s", why)
	}
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("not a $argon2id$ PHC string")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version")
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return bad("malformed parameters")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("malformed parameters")
		}
		switch k {
		case "m":
			p.MemoryKiB = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return bad("malformed parameters")
			}
			p.Threads = uint8(n)
		default:
			return bad("unknown parameter")
		}
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return bad("salt is not base64")
	}
	if key, err = b64.DecodeString(parts[5]); err != nil {
		return bad("key is not base64")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.Check(); err != nil {
		return Params{}, nil, nil, err
	}
	return p, salt, key, nil
}

// Verify reports whether password matches the PHC string, comparing in
// constant time. A malformed PHC string is an error wrapping
// lane.ErrInvalid.
func Verify(phc, password string) (bool, error) {
	p, salt, want, err := Parse(phc)
	if err != nil {
		return false, err
	}
	got, err := p.Key(password, salt)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
