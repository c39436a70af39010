package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
)

// Algorithm is the HMAC hash of a one-time password.
type Algorithm string

// Algorithms of RFC 6238. Authenticator apps support SHA1 everywhere; the
// others exist for the RFC's test vectors.
const (
	SHA1   Algorithm = "SHA1"
	SHA256 Algorithm = "SHA256"
	SHA512 Algorithm = "SHA512"
)

func (a Algorithm) hash() (func() hash.Hash, error) {
	switch a {
	case SHA1, "":
		return sha1.New, nil
	case SHA256:
		return sha256.New, nil
	case SHA512:
		return sha512.New, nil
	}
	return nil, lane.Invalidf("TOTP algorithm %q", string(a))
}

// Errors of code verification. Callers show both as "not accepted" and
// never say which.
var (
	// ErrBadCode: the code is malformed or matches no time step in the
	// window.
	ErrBadCode = errors.New("one-time code not accepted")
	// ErrCodeReplayed: the code matches a time step at or before the last
	// one accepted for the user (RFC 6238 §5.2: an accepted code must not
	// be accepted again).
	ErrCodeReplayed = errors.New("one-time code already used")
)

// TOTP describes a time-based one-time password (RFC 6238).
type TOTP struct {
	Algorithm Algorithm
	Digits    int           // 6 or 8
	Period    time.Duration // the time step, 30 s
	// Skew is how many steps either side of now are accepted (1: the
	// previous, current and next code).
	Skew int
}

// DefaultTOTP is what Examlane enrols: HMAC-SHA1, 6 digits, 30 s, ±1 step.
func DefaultTOTP() TOTP { return TOTP{Algorithm: SHA1, Digits: 6, Period: 30 * time.Second, Skew: 1} }

func (p TOTP) check() error {
	if p.Digits < 6 || p.Digits > 8 {
		return lane.Invalidf("TOTP digits %d: want 6 to 8", p.Digits)
	}
	if p.Period < time.Second || p.Period%time.Second != 0 {
		return lane.Invalidf("TOTP period %v: want whole seconds", p.Period)
	}
	if p.Skew < 0 || p.Skew > 10 {
		return lane.Invalidf("TOTP skew %d: want 0 to 10", p.Skew)
	}
	_, err := p.Algorithm.hash()
	return err
}

var pow10 = [...]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// HOTP returns the RFC 4226 one-time password of secret for counter with
// the given number of digits (6 to 8), zero-padded.
func HOTP(secret []byte, counter uint64, digits int, alg Algorithm) (string, error) {
	h, err := alg.hash()
	if err != nil {
		return "", err
	}
	if digits < 6 || digits > 8 {
		return "", lane.Invalidf("HOTP digits %d: want 6 to 8", digits)
	}
	return hotp(h, secret, counter, digits), nil
}

func hotp(h func() hash.Hash, secret []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(h, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f // dynamic truncation (RFC 4226 §5.3)
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	s := strconv.FormatUint(uint64(bin%pow10[digits]), 10)
	return strings.Repeat("0", digits-len(s)) + s
}

// Step returns the time step t falls in: floor(Unix time / Period). Times
// before 1970 are step 0.
func (p TOTP) Step(t time.Time) int64 {
	period := int64(p.Period / time.Second)
	if period <= 0 {
		period = 30
	}
	u := t.Unix()
	if u < 0 {
		return 0
	}
	return u / period
}

// Code returns the code of secret at time t.
func (p TOTP) Code(secret []byte, t time.Time) (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	h, _ := p.Algorithm.hash()
	return hotp(h, secret, uint64(p.Step(t)), p.Digits), nil
}

// Verify checks code against secret at time now, accepting the steps within
// Skew of now that come after lastStep (the last step accepted for this
// user, 0 for none). It returns the matched step, which the caller must
// persist as the new lastStep before reporting success, or an error
// wrapping ErrBadCode or ErrCodeReplayed. Every step of the window is
// computed and compared in constant time.
func (p TOTP) Verify(secret []byte, code string, now time.Time, lastStep int64) (int64, error) {
	if err := p.check(); err != nil {
		return 0, err
	}
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, code)
	wellFormed := len(code) == p.Digits && strings.Trim(code, "0123456789") == ""
	if !wellFormed {
		code = strings.Repeat("x", p.Digits) // keep the work the same; it matches nothing
	}
	h, _ := p.Algorithm.hash()
	cur := p.Step(now)
	var matched, replayed int64 = -1, -1
	for s := cur - int64(p.Skew); s <= cur+int64(p.Skew); s++ {
		if s < 0 {
			continue
		}
		c := hotp(h, secret, uint64(s), p.Digits)
		if subtle.ConstantTimeCompare([]byte(c), []byte(code)) == 1 {
			if s > lastStep {
				if matched < 0 {
					matched = s
				}
			} else {
				replayed = s
			}
		}
	}
	switch {
	case !wellFormed:
		return 0, fmt.Errorf("totp: want %d digits: %w", p.Digits, ErrBadCode)
	case matched >= 0:
		return matched, nil
	case replayed >= 0:
		return 0, fmt.Errorf("totp: %w", ErrCodeReplayed)
	}
	return 0, fmt.Errorf("totp: %w", ErrBadCode)
}

// SecretBytes is the length of the secrets NewSecret makes: 160 bits, as
// RFC 4226 §4 recommends.
const SecretBytes = 20

// minSecretBytes is RFC 4226's minimum shared secret (128 bits).
const minSecretBytes = 16

// NewSecret returns a random TOTP secret of SecretBytes.
func NewSecret() ([]byte, error) {
	b := make([]byte, SecretBytes)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("totp secret: %w", err)
	}
	return b, nil
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// EncodeSecret writes a secret in base32 (RFC 4648) without padding, as
// authenticator apps expect it.
func EncodeSecret(secret []byte) string { return b32.EncodeToString(secret) }

// DecodeSecret reads a base32 secret, tolerating lower case, spaces,
// hyphens and padding. Secrets shorter than 128 bits are refused.
func DecodeSecret(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '=', '\t':
			return -1
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
	b, err := b32.DecodeString(s)
	if err != nil {
		return nil, lane.Invalidf("totp secret: not base32")
	}
	if len(b) < minSecretBytes {
		return nil, lane.Invalidf("totp secret: %d bits, want at least 128", len(b)*8)
	}
	return b, nil
}

// URI returns the otpauth:// URI that enrols secret in an authenticator app
// (the Key Uri Format of Google Authenticator): label "issuer:account",
// with the issuer repeated as a parameter and the algorithm, digits and
// period spelled out. issuer and account must not contain ':'.
func (p TOTP) URI(issuer, account string, secret []byte) (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	if issuer == "" || account == "" || strings.Contains(issuer, ":") || strings.Contains(account, ":") {
		return "", lane.Invalidf("otpauth: issuer and account must be non-empty and free of ':'")
	}
	alg := p.Algorithm
	if alg == "" {
		alg = SHA1
	}
	q := url.Values{}
	q.Set("secret", EncodeSecret(secret))
	q.Set("issuer", issuer)
	q.Set("algorithm", string(alg))
	q.Set("digits", strconv.Itoa(p.Digits))
	q.Set("period", strconv.Itoa(int(p.Period/time.Second)))
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: q.Encode()}
	return u.String(), nil
}
