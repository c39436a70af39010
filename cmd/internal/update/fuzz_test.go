package update

import (
	"bytes"
	"crypto/ed25519"
	"testing"
)

// fuzzKey is a fixed key for the fuzzers only: the seed is public, and no
// release is ever signed with it.
var fuzzKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// FuzzParseEnvelope feeds outside bytes to the envelope and manifest
// decoders and the verifier: none may panic, and whatever verifies must
// be a valid manifest that re-encodes to an envelope that verifies again.
func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(`{"manifest":"e30=","signature":"","key_id":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEnvelope(b)
		if err != nil {
			return
		}
		_, _ = ParseManifest(e.Manifest)
		m, err := Verify(e, []ed25519.PublicKey{fuzzKey.Public().(ed25519.PublicKey)})
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("verified manifest does not validate: %v", err)
		}
		again, err := ParseEnvelope(e.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(again, []ed25519.PublicKey{fuzzKey.Public().(ed25519.PublicKey)}); err != nil {
			t.Fatalf("re-encoded envelope: %v", err)
		}
	})
}

// FuzzParseVersion checks that a parsed version formats back to a string
// that parses to an equal version.
func FuzzParseVersion(f *testing.F) {
	f.Add("1.2.3-rc.1+7")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		w, err := ParseVersion(v.String())
		if err != nil {
			t.Fatalf("ParseVersion(%q) = %v, whose String does not parse: %v", s, v, err)
		}
		if v.Compare(w) != 0 || w.String() != v.String() {
			t.Fatalf("round trip %q: %v vs %v", s, v, w)
		}
	})
}
