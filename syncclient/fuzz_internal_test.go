package syncclient

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/examlane/examlane/syncclient/synctest"
)

// FuzzParseDICOMMeta feeds outside bytes (a camera's file) to the meta
// header reader: no panic, and what it accepts has both UIDs.
func FuzzParseDICOMMeta(f *testing.F) {
	f.Add(synctest.DICOMFile("1.2.3", "1.2.3.4", "1.2.3.4.5"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseDICOMMeta(b)
		if err == nil && (m.SOPInstanceUID == "" || m.SOPClassUID == "") {
			t.Errorf("accepted meta without UIDs: %+v", m)
		}
	})
}

// FuzzStowResponse feeds outside bytes to the STOW-RS response reader.
func FuzzStowResponse(f *testing.F) {
	f.Add([]byte(`{"00081198":{"vr":"SQ","Value":[{"00081155":{"vr":"UI","Value":["1.2.3"]},"00081197":{"vr":"US","Value":[42752]}}]}}`), "1.2.3")
	f.Fuzz(func(t *testing.T, b []byte, sop string) { stowFailed(b, sop) })
}

// FuzzVerifyEnrollment feeds outside bytes (an /enroll answer) to the
// checker: without the right mac nothing is ever accepted.
func FuzzVerifyEnrollment(f *testing.F) {
	f.Add([]byte(`{"tenant":"t","lane_id":"l","client_cert":"","ca_cert":"","mac":"AAAA"}`))
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := verifyEnrollment(b, "ABCD-EFGH-JKMN-PQRS", key, "https://h", "L"); err == nil {
			t.Error("accepted an answer signed for another key")
		}
	})
}
