package update

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

var genSeeds = flag.Bool("gen-seeds", false, "rewrite testdata/fuzz/FuzzParseEnvelope seeds")

// seedEnvelopes are the committed seeds of FuzzParseEnvelope, by file
// name, made from a synthetic manifest signed with fuzzKey.
func seedEnvelopes(t *testing.T) map[string][]byte {
	sum := sha256.Sum256([]byte("synthetic"))
	m := Manifest{Product: Product, Version: "1.2.3", Build: "4", Published: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Files: []File{{OS: "linux", Arch: "amd64", Name: "examlane-1.2.3.tar.xz", Size: 9, SHA256: hex.EncodeToString(sum[:])}}}
	mb, _ := json.Marshal(m)
	signed, err := Sign(fuzzKey, mb)
	if err != nil {
		t.Fatal(err)
	}
	tampered := signed
	tampered.Manifest = append([]byte(nil), mb...)
	tampered.Manifest[len(tampered.Manifest)-3] ^= 1
	unsigned := signed
	unsigned.Signature = nil
	return map[string][]byte{
		"signed":    signed.Marshal(),
		"tampered":  tampered.Marshal(),
		"unsigned":  unsigned.Marshal(),
		"not-json":  []byte(`{"manifest":`),
		"extra-key": []byte(`{"manifest":"e30=","signature":"","key_id":"","x":1}`),
	}
}

// TestFuzzSeeds checks the committed seeds: "signed" verifies with the
// fuzz key and the others are refused. With -gen-seeds it rewrites them.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParseEnvelope")
	for name, b := range seedEnvelopes(t) {
		path := filepath.Join(dir, name)
		if *genSeeds {
			if err := os.WriteFile(path, []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var quoted string
		if _, err := fmt.Sscanf(string(raw), "go test fuzz v1\n[]byte(%q)\n", &quoted); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		e, err := ParseEnvelope([]byte(quoted))
		if err == nil {
			_, err = Verify(e, []ed25519.PublicKey{fuzzKey.Public().(ed25519.PublicKey)})
		}
		if (name == "signed") != (err == nil) {
			t.Errorf("seed %s: verify error %v", name, err)
		}
	}
}
