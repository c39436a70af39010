package seal_test

import (
	"crypto/ecdh"
	"errors"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb/seal"
)

// fuzzKey is a fixed key so that seeds sealed by it stay meaningful.
var fuzzKey = seal.Key{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}

// FuzzOpen feeds arbitrary bytes (as read from a database file an attacker
// may have edited) to Open: it must never panic and never return plaintext
// unless the value authenticates.
func FuzzOpen(f *testing.F) {
	r := seal.NewKeyring()
	_ = r.Add(1, fuzzKey)
	good, _ := r.Seal(place, []byte("seed"))
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{seal.FormatV1, 0, 0, 0, 1})
	f.Add([]byte{seal.FormatPlain, 0, 0, 0, 1, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		pt, err := r.Open(place, b)
		if err != nil {
			if pt != nil || !errors.Is(err, lane.ErrUnauthenticated) {
				t.Fatalf("failed Open returned %q, %v", pt, err)
			}
			return
		}
		if string(pt) != "seed" {
			t.Fatalf("forged value opened: %q", pt)
		}
	})
}

// FuzzUnwrap feeds arbitrary wrapped-key and recovery blobs to the unwrap
// functions: only the genuine blobs (which wrap fuzzKey) may open.
func FuzzUnwrap(f *testing.F) {
	w, _ := seal.Wrap(fuzzKey, fuzzKey, []byte("ctx"))
	f.Add(w)
	f.Add(make([]byte, seal.RecoveryWrappedSize))
	priv := mustRecovery(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := seal.Unwrap(fuzzKey, b, []byte("ctx")); err == nil && k != fuzzKey {
			t.Fatal("forged wrapped key opened")
		}
		if k, err := seal.UnwrapWithRecovery(priv, b, []byte("ctx")); err == nil && k != fuzzKey {
			t.Fatal("forged recovery blob opened")
		}
	})
}

// FuzzParseRecoveryKey feeds arbitrary key files to the PEM parsers.
func FuzzParseRecoveryKey(f *testing.F) {
	k := mustRecovery(f)
	f.Add(seal.MarshalRecoveryPrivate(k))
	f.Add(seal.MarshalRecoveryPublic(k.PublicKey()))
	f.Add([]byte("-----BEGIN EXAMLANE RECOVERY PUBLIC KEY-----\nAAAA\n-----END EXAMLANE RECOVERY PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := seal.ParseRecoveryPrivate(b); err == nil && k == nil {
			t.Fatal("nil key without error")
		}
		if k, err := seal.ParseRecoveryPublic(b); err == nil && k == nil {
			t.Fatal("nil key without error")
		}
	})
}

// mustRecovery returns a fixed recovery key so that seeds stay meaningful.
func mustRecovery(f *testing.F) *ecdh.PrivateKey {
	k, err := ecdh.X25519().NewPrivateKey(fuzzKey[:])
	if err != nil {
		f.Fatal(err)
	}
	return k
}
