// Package seal is the cryptography of the encrypted local store: AES-256-GCM
// sealing of values bound to where they live (tenant, table, row, column,
// version), wrapping of data keys under a key-encryption key or a practice
// recovery public key, Argon2id passphrase keys and blind indexes. It uses the
// standard library and golang.org/x/crypto/argon2 only and knows nothing
// about SQL.
//
// A sealed value is
//
//	0x01 ‖ key id (uint32, big endian) ‖ nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)
//
// sealed with AES-256-GCM under the data key named by key id. The GCM
// additional data is the 5-byte header followed by the AAD fields (see
// AAD.encode), so a value moved to another row, column, table, version or
// practice, or given another key id, fails to open with an error wrapping
// lane.ErrUnauthenticated.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/examlane/examlane/lane"
)

// Format bytes of a sealed value.
const (
	// FormatV1 is AES-256-GCM with a random 96-bit nonce.
	FormatV1 byte = 0x01
	// FormatPlain is the benchmark-only "no sealing" format: the plaintext
	// follows the 5-byte header unprotected. Only a Keyring made by
	// NewPlainKeyring writes or accepts it.
	FormatPlain byte = 0x00
)

// HeaderSize is the size of the version byte and key id; Overhead is the
// total size a FormatV1 seal adds to a plaintext.
const (
	HeaderSize = 1 + 4
	NonceSize  = 12
	TagSize    = 16
	Overhead   = HeaderSize + NonceSize + TagSize
)

// KeySize is the size of every symmetric key in this package.
const KeySize = 32

// Key is a 256-bit symmetric key.
type Key [KeySize]byte

// NewKey returns a fresh random key.
func NewKey() Key {
	var k Key
	_, _ = rand.Read(k[:]) // crypto/rand.Read never fails on supported platforms
	return k
}

// Error is returned when sealed data cannot be opened: it was tampered with,
// truncated, sealed under another key, or moved to another place. It wraps
// lane.ErrUnauthenticated and never carries plaintext.
type Error struct {
	// Reason says which check failed, in words without data.
	Reason string
}

// Error returns the reason with the sentinel's text.
func (e *Error) Error() string { return e.Reason + ": " + lane.ErrUnauthenticated.Error() }

// Unwrap returns lane.ErrUnauthenticated.
func (e *Error) Unwrap() error { return lane.ErrUnauthenticated }

func fail(reason string) error { return &Error{Reason: reason} }

// ErrUnknownKey is wrapped by Open when the key id in a sealed value names no
// key of the keyring (it also wraps lane.ErrUnauthenticated through Error).
var ErrUnknownKey = errors.New("unknown key id")

// AAD says where a sealed value lives. Every field is bound into the GCM
// additional data.
type AAD struct {
	Tenant  string
	Table   string
	Row     string
	Column  string
	Version int64
}

// aadLabel starts every AAD so that no other use of the same key can collide.
const aadLabel = "examlane/seal/v1"

// encode returns header ‖ label ‖ len-prefixed fields ‖ version; each string
// is prefixed by its length as a uvarint so that field boundaries are
// unambiguous.
func (a AAD) encode(header []byte) []byte {
	b := make([]byte, 0, len(header)+len(aadLabel)+len(a.Tenant)+len(a.Table)+len(a.Row)+len(a.Column)+40)
	b = append(b, header...)
	b = append(b, aadLabel...)
	for _, s := range [...]string{a.Tenant, a.Table, a.Row, a.Column} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return binary.BigEndian.AppendUint64(b, uint64(a.Version))
}

// String names the place without the tenant, for error messages.
func (a AAD) String() string { return fmt.Sprintf("%s/%s.%s@v%d", a.Table, a.Row, a.Column, a.Version) }

type entry struct {
	aead cipher.AEAD
	idx  []byte // blind-index HMAC key
}

// Keyring holds the data keys of one database by key id and seals with the
// current one. It is safe for concurrent use.
type Keyring struct {
	mu      sync.RWMutex
	keys    map[uint32]*entry // guarded by mu
	current uint32            // guarded by mu
	plain   bool
}

// NewKeyring returns an empty keyring.
func NewKeyring() *Keyring { return &Keyring{keys: map[uint32]*entry{}} }

// NewPlainKeyring returns a keyring that does not encrypt: Seal writes
// FormatPlain. It exists only so benchmarks can measure the cost of sealing
// on the same schema; never use it for patient data.
func NewPlainKeyring() *Keyring { return &Keyring{keys: map[uint32]*entry{}, plain: true} }

// Plain reports whether the keyring is the benchmark-only plain keyring.
func (r *Keyring) Plain() bool { return r.plain }

// SubKeys derives the sealing key and the blind-index key from a data key
// with HKDF-SHA256, so that neither is the stored data key itself.
func SubKeys(dek Key) (sealKey, indexKey Key) {
	s, _ := hkdf.Key(sha256.New, dek[:], nil, "examlane/dek/seal/v1", KeySize)
	i, _ := hkdf.Key(sha256.New, dek[:], nil, "examlane/dek/blind-index/v1", KeySize)
	copy(sealKey[:], s)
	copy(indexKey[:], i)
	return sealKey, indexKey
}

// Add installs data key dek under id. The first key added becomes current.
func (r *Keyring) Add(id uint32, dek Key) error {
	sk, ik := SubKeys(dek)
	block, err := aes.NewCipher(sk[:])
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys[id] = &entry{aead: aead, idx: ik[:]}
	if len(r.keys) == 1 {
		r.current = id
	}
	return nil
}

// SetCurrent makes id the key new seals use.
func (r *Keyring) SetCurrent(id uint32) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.keys[id]; !ok {
		return fmt.Errorf("seal: set current key %d: %w", id, ErrUnknownKey)
	}
	r.current = id
	return nil
}

// Current returns the id of the key new seals use.
func (r *Keyring) Current() uint32 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.current
}

// IDs returns the ids of every key in the ring, ascending.
func (r *Keyring) IDs() []uint32 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids := make([]uint32, 0, len(r.keys))
	for id := range r.keys {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Has reports whether key id is in the ring.
func (r *Keyring) Has(id uint32) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.keys[id]
	return ok
}

func (r *Keyring) get(id uint32) (*entry, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.keys[id]
	return e, ok
}

// Seal seals plaintext for the place aad under the current key.
func (r *Keyring) Seal(aad AAD, plaintext []byte) ([]byte, error) {
	return r.SealWith(r.Current(), aad, plaintext)
}

// SealWith seals plaintext under key id.
func (r *Keyring) SealWith(id uint32, aad AAD, plaintext []byte) ([]byte, error) {
	hdr := make([]byte, HeaderSize, HeaderSize+NonceSize+len(plaintext)+TagSize)
	binary.BigEndian.PutUint32(hdr[1:], id)
	if r.plain {
		hdr[0] = FormatPlain
		return append(hdr, plaintext...), nil
	}
	e, ok := r.get(id)
	if !ok {
		return nil, fmt.Errorf("seal %s with key %d: %w", aad, id, ErrUnknownKey)
	}
	hdr[0] = FormatV1
	return e.aead.Seal(hdr, nil, plaintext, aad.encode(hdr[:HeaderSize])), nil
}

// KeyID returns the key id in a sealed value's header.
func KeyID(sealed []byte) (uint32, error) {
	if len(sealed) < HeaderSize {
		return 0, fail("sealed value truncated")
	}
	return binary.BigEndian.Uint32(sealed[1:HeaderSize]), nil
}

// Open authenticates and decrypts a sealed value for the place aad. Any
// failure returns an *Error wrapping lane.ErrUnauthenticated; it never
// returns unauthenticated bytes.
func (r *Keyring) Open(aad AAD, sealed []byte) ([]byte, error) {
	if len(sealed) < HeaderSize {
		return nil, fail("sealed value truncated")
	}
	id := binary.BigEndian.Uint32(sealed[1:HeaderSize])
	switch {
	case r.plain && sealed[0] == FormatPlain:
		return append([]byte(nil), sealed[HeaderSize:]...), nil
	case sealed[0] != FormatV1:
		return nil, fail(fmt.Sprintf("unknown sealed format 0x%02x", sealed[0]))
	case len(sealed) < Overhead:
		return nil, fail("sealed value truncated")
	}
	e, ok := r.get(id)
	if !ok {
		return nil, &Error{Reason: fmt.Sprintf("%v %d", ErrUnknownKey, id)}
	}
	pt, err := e.aead.Open(nil, nil, sealed[HeaderSize:], aad.encode(sealed[:HeaderSize]))
	if err != nil {
		return nil, fail("sealed value does not authenticate (tampered, wrong key, or moved from another row, column or practice)")
	}
	return pt, nil
}

// BlindIndexSize is the length of a blind index.
const BlindIndexSize = 16

// BlindIndex returns HMAC-SHA256(index key of key id, field ‖ 0 ‖
// Normalize(value)) truncated to BlindIndexSize bytes: an exact-match index
// that reveals equality of normalised values and nothing else. field keeps
// indexes of different fields apart. It returns nil for an empty value.
func (r *Keyring) BlindIndex(id uint32, field, value string) []byte {
	v := Normalize(value)
	if v == "" {
		return nil
	}
	if r.plain {
		sum := sha256.Sum256([]byte(field + "\x00" + v))
		return sum[:BlindIndexSize]
	}
	e, ok := r.get(id)
	if !ok {
		return nil
	}
	m := hmac.New(sha256.New, e.idx)
	m.Write([]byte(field))
	m.Write([]byte{0})
	m.Write([]byte(v))
	return m.Sum(nil)[:BlindIndexSize]
}

// BlindIndexes returns the blind index of value under every key in the
// ring (for lookups while a key rotation is re-indexing rows).
func (r *Keyring) BlindIndexes(field, value string) [][]byte {
	var out [][]byte
	for _, id := range r.IDs() {
		if b := r.BlindIndex(id, field, value); b != nil {
			out = append(out, b)
		}
	}
	return out
}

// Normalize folds case and collapses runs of white space to one space, so
// that "  O'Brien\tSmith " and "o'brien smith" index alike.
func Normalize(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), unicode.IsSpace), " ")
}
