package laneconfig

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"
)

// ReleaseKeyList splits updates.release_keys into its keys (commas and
// white space separate them).
func (u Updates) ReleaseKeyList() []string {
	return strings.FieldsFunc(u.ReleaseKeys, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}

// checkReleaseKeys returns a problem with updates.release_keys, or "".
func (u Updates) checkReleaseKeys() string {
	for i, k := range u.ReleaseKeyList() {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return "key " + itoa(i+1) + " is not a release public key: want base64 of 32 bytes, as 'practiced release keygen' prints"
		}
	}
	return ""
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
