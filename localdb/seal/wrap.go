package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
)

// A wrapped key is
//
//	0x01 ‖ nonce (12 bytes) ‖ AES-256-GCM(kek, data key) ‖ tag (16 bytes)
//
// with additional data "examlane/wrap/v1" ‖ context, where context names the
// database and key id, so a wrapped key cannot be moved between databases or
// key slots.
const wrapLabel = "examlane/wrap/v1"

// WrappedSize is the length of a wrapped key.
const WrappedSize = 1 + NonceSize + KeySize + TagSize

// Wrap seals dek under kek for the given context.
func Wrap(kek, dek Key, context []byte) ([]byte, error) {
	aead, err := gcm(kek)
	if err != nil {
		return nil, err
	}
	out := append(make([]byte, 0, WrappedSize), FormatV1)
	return aead.Seal(out, nil, dek[:], wrapAAD(context)), nil
}

// Unwrap opens a key wrapped by Wrap. A wrong kek, another context or any
// change to wrapped returns an *Error wrapping lane.ErrUnauthenticated.
func Unwrap(kek Key, wrapped, context []byte) (Key, error) {
	var k Key
	if len(wrapped) != WrappedSize || wrapped[0] != FormatV1 {
		return k, fail("wrapped key malformed")
	}
	aead, err := gcm(kek)
	if err != nil {
		return k, err
	}
	pt, err := aead.Open(nil, nil, wrapped[1:], wrapAAD(context))
	if err != nil {
		return k, fail("wrapped key does not open with this key-encryption key")
	}
	copy(k[:], pt)
	return k, nil
}

func wrapAAD(context []byte) []byte { return append([]byte(wrapLabel), context...) }

func gcm(k Key) (cipher.AEAD, error) {
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// CheckValue returns HMAC-SHA256(kek, "examlane/kek-check/v1" ‖ context),
// stored beside wrapped keys so that a wrong key-encryption key is told apart
// from damaged wrapped keys.
func CheckValue(kek Key, context []byte) []byte {
	m := hmac.New(sha256.New, kek[:])
	m.Write([]byte("examlane/kek-check/v1"))
	m.Write(context)
	return m.Sum(nil)
}

// ErrWrongKey is returned when a key-encryption key does not match a
// database's check value. It wraps lane.ErrUnauthenticated.
var ErrWrongKey = errors.New("wrong key-encryption key for this database")

// VerifyCheckValue returns an error wrapping ErrWrongKey and
// lane.ErrUnauthenticated when kek does not produce check.
func VerifyCheckValue(kek Key, context, check []byte) error {
	if !hmac.Equal(CheckValue(kek, context), check) {
		return wrongKeyError{}
	}
	return nil
}

type wrongKeyError struct{}

func (wrongKeyError) Error() string { return ErrWrongKey.Error() }
func (wrongKeyError) Is(target error) bool {
	return target == ErrWrongKey
}
func (wrongKeyError) Unwrap() error { return &Error{Reason: ErrWrongKey.Error()} }
