package seal

import (
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"

	"github.com/examlane/examlane/lane"
)

// A data key sealed to the practice recovery key is
//
//	0x01 ‖ ephemeral X25519 public key (32) ‖ nonce (12) ‖ AES-256-GCM(k, data key) ‖ tag (16)
//
// where k = HKDF-SHA256(secret = X25519(ephemeral, recipient), salt =
// ephemeral public ‖ recipient public, info = "examlane/recovery/v1" ‖
// context). The additional data is the same context. This is the
// ECIES/HPKE-base shape built from crypto/ecdh and crypto/hkdf.
const recoveryLabel = "examlane/recovery/v1"

// RecoveryWrappedSize is the length of a data key sealed to a recovery key.
const RecoveryWrappedSize = 1 + 32 + NonceSize + KeySize + TagSize

// PEM block types of recovery key files.
const (
	RecoveryPrivatePEM = "EXAMLANE RECOVERY PRIVATE KEY"
	RecoveryPublicPEM  = "EXAMLANE RECOVERY PUBLIC KEY"
)

// GenerateRecoveryKey returns a new X25519 practice recovery key pair.
func GenerateRecoveryKey() (*ecdh.PrivateKey, error) {
	return ecdh.X25519().GenerateKey(rand.Reader)
}

// WrapToRecovery seals dek so that only the holder of the recovery private
// key matching pub can open it.
func WrapToRecovery(pub *ecdh.PublicKey, dek Key, context []byte) ([]byte, error) {
	if pub == nil || pub.Curve() != ecdh.X25519() {
		return nil, lane.Invalidf("recovery key: want an X25519 public key")
	}
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	shared, err := eph.ECDH(pub)
	if err != nil {
		return nil, err
	}
	k, err := recoveryKDF(shared, eph.PublicKey().Bytes(), pub.Bytes(), context)
	if err != nil {
		return nil, err
	}
	aead, err := gcm(k)
	if err != nil {
		return nil, err
	}
	out := append(make([]byte, 0, RecoveryWrappedSize), FormatV1)
	out = append(out, eph.PublicKey().Bytes()...)
	return aead.Seal(out, nil, dek[:], context), nil
}

// UnwrapWithRecovery opens a data key sealed by WrapToRecovery. Any failure
// returns an *Error wrapping lane.ErrUnauthenticated.
func UnwrapWithRecovery(priv *ecdh.PrivateKey, wrapped, context []byte) (Key, error) {
	var dek Key
	if len(wrapped) != RecoveryWrappedSize || wrapped[0] != FormatV1 {
		return dek, fail("recovery-wrapped key malformed")
	}
	ephPub, err := ecdh.X25519().NewPublicKey(wrapped[1:33])
	if err != nil {
		return dek, fail("recovery-wrapped key malformed")
	}
	shared, err := priv.ECDH(ephPub)
	if err != nil {
		return dek, fail("recovery-wrapped key malformed")
	}
	k, err := recoveryKDF(shared, ephPub.Bytes(), priv.PublicKey().Bytes(), context)
	if err != nil {
		return dek, err
	}
	aead, err := gcm(k)
	if err != nil {
		return dek, err
	}
	pt, err := aead.Open(nil, nil, wrapped[33:], context)
	if err != nil {
		return dek, fail("recovery-wrapped key does not open with this recovery key")
	}
	copy(dek[:], pt)
	return dek, nil
}

func recoveryKDF(shared, ephPub, recipPub, context []byte) (Key, error) {
	var k Key
	salt := append(append([]byte{}, ephPub...), recipPub...)
	b, err := hkdf.Key(sha256.New, shared, salt, recoveryLabel+string(context), KeySize)
	if err != nil {
		return k, err
	}
	copy(k[:], b)
	return k, nil
}

// Fingerprint returns a short hex name of a recovery public key (the first
// 8 bytes of its SHA-256), shown to admins to tell keys apart.
func Fingerprint(pub *ecdh.PublicKey) string {
	sum := sha256.Sum256(pub.Bytes())
	return hex.EncodeToString(sum[:8])
}

// MarshalRecoveryPrivate encodes a recovery private key as a PEM block.
func MarshalRecoveryPrivate(k *ecdh.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: RecoveryPrivatePEM, Bytes: k.Bytes()})
}

// MarshalRecoveryPublic encodes a recovery public key as a PEM block.
func MarshalRecoveryPublic(k *ecdh.PublicKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: RecoveryPublicPEM, Headers: map[string]string{"Fingerprint": Fingerprint(k)}, Bytes: k.Bytes()})
}

// ParseRecoveryPrivate decodes a PEM recovery private key file.
func ParseRecoveryPrivate(b []byte) (*ecdh.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != RecoveryPrivatePEM {
		return nil, lane.Invalidf("recovery key file: want a PEM %q block", RecoveryPrivatePEM)
	}
	k, err := ecdh.X25519().NewPrivateKey(blk.Bytes)
	if err != nil {
		return nil, lane.Invalidf("recovery key file: %v", err)
	}
	return k, nil
}

// ParseRecoveryPublic decodes a PEM recovery public key file. A private key
// file is accepted too (its public half is returned).
func ParseRecoveryPublic(b []byte) (*ecdh.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, lane.Invalidf("recovery public key file: want a PEM %q block", RecoveryPublicPEM)
	}
	switch blk.Type {
	case RecoveryPublicPEM:
		k, err := ecdh.X25519().NewPublicKey(blk.Bytes)
		if err != nil {
			return nil, lane.Invalidf("recovery public key file: %v", err)
		}
		return k, nil
	case RecoveryPrivatePEM:
		k, err := ParseRecoveryPrivate(b)
		if err != nil {
			return nil, err
		}
		return k.PublicKey(), nil
	}
	return nil, fmt.Errorf("recovery public key file: unexpected PEM block %q: %w", blk.Type, lane.ErrInvalid)
}
