// Package update checks for, downloads and verifies signed releases of the
// lane application.
//
// The practice server publishes a release as a signed envelope: the
// manifest's exact JSON bytes (Manifest: product, version, build, files
// with size and SHA-256) and an Ed25519 signature over those bytes by one
// of the practice's release keys. The lane trusts only the public keys in
// its own configuration, installed by IT with the package
// ([updates] release_keys), never a key the server sends. A lane accepts a
// release when, in this order:
//
//  1. the envelope's signature verifies with a trusted key (Verify);
//  2. the manifest is well-formed and its version is strictly newer than
//     the running one: semver precedence, then the build number (Decide);
//  3. after download, the file's size and SHA-256 equal the manifest's;
//     only then is it renamed from a temporary file in the staging folder
//     to its final name (Download).
//
// Anything else is deleted and reported. Nothing in this package executes
// a downloaded file: a staged, verified installer is handed to the
// administrator, and the operating system's installer does the rest.
package update

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
)

// Limits on what the lane reads from a server.
const (
	// MaxEnvelopeSize bounds a signed manifest envelope.
	MaxEnvelopeSize = 1 << 20
	// MaxFileSize bounds one release file.
	MaxFileSize = 1 << 30
	// maxFiles bounds the files of one manifest.
	maxFiles = 64
)

// Product is the product name every lane manifest carries.
const Product = "examlane"

// Errors of verification. Each wraps the lane sentinel callers decide on:
// a failed signature or hash lane.ErrUnauthenticated, a malformed or
// unacceptable manifest lane.ErrInvalid.
var (
	// ErrUnsigned: the envelope carries no signature.
	ErrUnsigned = fmt.Errorf("update: release is not signed: %w", lane.ErrUnauthenticated)
	// ErrBadSignature: no trusted key verifies the signature over the
	// manifest bytes (wrong key, or manifest changed after signing).
	ErrBadSignature = fmt.Errorf("update: release signature does not verify with a trusted key: %w", lane.ErrUnauthenticated)
	// ErrNoTrustedKeys: the lane has no release key configured.
	ErrNoTrustedKeys = fmt.Errorf("update: no release keys configured ([updates] release_keys): %w", lane.ErrInvalid)
	// ErrNotNewer: the release is the running version or older (a
	// downgrade).
	ErrNotNewer = fmt.Errorf("update: release is not newer than the running version: %w", lane.ErrInvalid)
	// ErrTampered: a downloaded file's size or SHA-256 differs from the
	// signed manifest.
	ErrTampered = fmt.Errorf("update: downloaded file does not match the signed manifest: %w", lane.ErrUnauthenticated)
	// ErrTooLarge: a file or envelope is above the size limit.
	ErrTooLarge = fmt.Errorf("update: above the size limit: %w", lane.ErrInvalid)
	// ErrNoFile: the manifest has no file for this operating system and
	// architecture.
	ErrNoFile = fmt.Errorf("update: no release file for this system: %w", lane.ErrNotFound)
)

// Manifest describes one release. Its signed form is the exact JSON bytes
// in an Envelope; a Manifest value is only ever read from bytes whose
// signature verified.
type Manifest struct {
	Product string `json:"product"`
	// Version is the semantic version (MAJOR.MINOR.PATCH[-PRERELEASE]).
	Version string `json:"version"`
	// Build is the build number, digits only; it orders builds of one
	// version.
	Build     string    `json:"build,omitempty"`
	Published time.Time `json:"published"`
	// MinVersion, when set, is the oldest version that may update to this
	// release directly.
	MinVersion string `json:"min_version,omitempty"`
	Files      []File `json:"files"`
	Notes      string `json:"notes,omitempty"`
}

// File is one downloadable file of a release (an installer or package).
type File struct {
	OS     string `json:"os"`
	Arch   string `json:"arch"`
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// URL is where to fetch it, relative to the manifest's URL (on the
	// same server) or empty for "files/NAME".
	URL string `json:"url,omitempty"`
}

// Release returns the manifest's version and build as a Version.
func (m Manifest) Release() Version {
	v, _ := ParseVersion(m.Version)
	v.Build = m.Build
	return v
}

// Validate checks the manifest's fields: product, versions, dates and
// every file's OS, architecture, plain name, size and hash.
func (m Manifest) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("update: manifest: %w", lane.Invalidf(format, args...))
	}
	if m.Product != Product {
		return bad("product %q, want %q", m.Product, Product)
	}
	if _, err := ParseVersion(m.Version); err != nil {
		return bad("version: %v", err)
	}
	if strings.Contains(m.Version, "+") {
		return bad("version %q carries build metadata: put it in build", m.Version)
	}
	if m.Build != "" && !isDigits(m.Build) {
		return bad("build %q is not a number", m.Build)
	}
	if m.MinVersion != "" {
		if _, err := ParseVersion(m.MinVersion); err != nil {
			return bad("min_version: %v", err)
		}
	}
	if m.Published.IsZero() {
		return bad("no published time")
	}
	if len(m.Files) == 0 || len(m.Files) > maxFiles {
		return bad("%d files, want 1 to %d", len(m.Files), maxFiles)
	}
	seen := map[string]bool{}
	for i, f := range m.Files {
		switch {
		case !isToken(f.OS) || !isToken(f.Arch):
			return bad("file %d: os %q arch %q", i, f.OS, f.Arch)
		case !ValidFileName(f.Name):
			return bad("file %d: name %q is not a plain file name", i, f.Name)
		case seen[f.Name]:
			return bad("file %d: name %q repeated", i, f.Name)
		case f.Size <= 0 || f.Size > MaxFileSize:
			return bad("file %d: size %d out of range (1 to %d)", i, f.Size, int64(MaxFileSize))
		case len(f.SHA256) != 64 || !isLowerHex(f.SHA256):
			return bad("file %d: sha256 is not 64 lower-case hex digits", i)
		}
		seen[f.Name] = true
	}
	return nil
}

// ParseManifest decodes and validates manifest bytes. It does not check
// any signature: call it only on bytes from Verify, or to prepare a
// release for signing.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("update: manifest: %w", lane.Invalidf("%v", err))
	}
	if dec.More() {
		return Manifest{}, fmt.Errorf("update: manifest: %w", lane.Invalidf("data after the JSON object"))
	}
	if err := m.Validate(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// ForSystem returns the manifest's file for goos and goarch.
func (m Manifest) ForSystem(goos, goarch string) (File, error) {
	for _, f := range m.Files {
		if f.OS == goos && f.Arch == goarch {
			return f, nil
		}
	}
	return File{}, fmt.Errorf("%s/%s: %w", goos, goarch, ErrNoFile)
}

// Envelope is a signed manifest as the server stores and serves it.
// Manifest holds the exact bytes that were signed; JSON carries both
// byte fields as standard base64.
type Envelope struct {
	Manifest  []byte `json:"manifest"`
	Signature []byte `json:"signature"`
	// KeyID names the signing key (KeyID of its public key); lanes use
	// it only to pick the key to try first.
	KeyID string `json:"key_id"`
}

// ParseEnvelope decodes an envelope. It checks the shape only; Verify
// checks the signature.
func ParseEnvelope(b []byte) (Envelope, error) {
	if len(b) > MaxEnvelopeSize {
		return Envelope{}, fmt.Errorf("envelope of %d bytes: %w", len(b), ErrTooLarge)
	}
	var e Envelope
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Envelope{}, fmt.Errorf("update: envelope: %w", lane.Invalidf("%v", err))
	}
	if dec.More() {
		return Envelope{}, fmt.Errorf("update: envelope: %w", lane.Invalidf("data after the JSON object"))
	}
	if len(e.Manifest) == 0 {
		return Envelope{}, fmt.Errorf("update: envelope: %w", lane.Invalidf("no manifest"))
	}
	return e, nil
}

// Marshal returns the envelope as indented JSON.
func (e Envelope) Marshal() []byte {
	b, _ := json.MarshalIndent(e, "", "  ")
	return append(b, '\n')
}

// Sign signs manifest (exact bytes, which must parse as a valid manifest)
// with key.
func Sign(key ed25519.PrivateKey, manifest []byte) (Envelope, error) {
	if len(key) != ed25519.PrivateKeySize {
		return Envelope{}, fmt.Errorf("update: sign: %w", lane.Invalidf("not an Ed25519 private key"))
	}
	if _, err := ParseManifest(manifest); err != nil {
		return Envelope{}, err
	}
	pub := key.Public().(ed25519.PublicKey)
	return Envelope{Manifest: bytes.Clone(manifest), Signature: ed25519.Sign(key, manifest), KeyID: KeyID(pub)}, nil
}

// Verify checks the envelope's signature against the trusted keys and
// returns the manifest it carries. It fails with ErrNoTrustedKeys,
// ErrUnsigned, ErrBadSignature or a manifest error.
func Verify(e Envelope, trusted []ed25519.PublicKey) (Manifest, error) {
	if len(trusted) == 0 {
		return Manifest{}, ErrNoTrustedKeys
	}
	if len(e.Signature) == 0 {
		return Manifest{}, ErrUnsigned
	}
	if len(e.Signature) != ed25519.SignatureSize {
		return Manifest{}, ErrBadSignature
	}
	ok := false
	for _, k := range trusted {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, e.Manifest, e.Signature) {
			ok = true
			break
		}
	}
	if !ok {
		return Manifest{}, ErrBadSignature
	}
	return ParseManifest(e.Manifest)
}

// KeyID returns a short name of a public key: the first 16 hex digits of
// its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// EncodePublicKey writes a public key as lane.toml's release_keys takes
// it: standard base64 of the 32 key bytes.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKeys reads a list of public keys separated by commas or
// white space, each standard base64 of 32 bytes.
func ParsePublicKeys(s string) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
		b, err := base64.StdEncoding.DecodeString(f)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("update: release key %d: %w", len(keys)+1, lane.Invalidf("want base64 of a 32-byte Ed25519 public key"))
		}
		keys = append(keys, ed25519.PublicKey(b))
	}
	return keys, nil
}

// ValidFileName reports whether name is a plain file name: no separators,
// no leading dot, printable ASCII letters, digits and ._+- only, at most
// 128 bytes.
func ValidFileName(name string) bool {
	if name == "" || len(name) > 128 || name[0] == '.' {
		return false
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-', c == '+':
		default:
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isLowerHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isToken reports whether s is a short lower-case token such as "linux"
// or "amd64".
func isToken(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
