package syncclient

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient/synctest"
)

func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		jitter float64
		want   []time.Duration
	}{
		{0, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second}},
		{0.999999, []time.Duration{999999500 * time.Nanosecond}},
	} {
		b := backoff{base: time.Second, max: 5 * time.Minute, jitter: func() float64 { return tt.jitter }}
		for i, w := range tt.want {
			if got := b.next(); got.Round(time.Millisecond) != w.Round(time.Millisecond) {
				t.Errorf("jitter %v: delay %d = %v, want %v", tt.jitter, i, got, w)
			}
		}
	}
	b := backoff{base: time.Second, max: 5 * time.Minute, jitter: func() float64 { return 0.5 }}
	var last time.Duration
	for i := 0; i < 100; i++ {
		last = b.next()
		if last > 5*time.Minute {
			t.Fatalf("delay %v beyond the 5 min cap", last)
		}
	}
	if last != 225*time.Second {
		t.Errorf("capped delay with jitter 0.5 = %v, want 3m45s", last)
	}
	b.reset()
	if d := b.next(); d != 750*time.Millisecond {
		t.Errorf("after reset: %v", d)
	}
	// A broken jitter source cannot push delays out of range.
	b = backoff{base: time.Second, max: time.Minute, jitter: func() float64 { return 7 }}
	if d := b.next(); d != 500*time.Millisecond {
		t.Errorf("jitter 7: %v", d)
	}
}

func TestBreaker(t *testing.T) {
	b := breaker{threshold: 3}
	b.failure()
	b.failure()
	if b.open() {
		t.Fatal("open after 2 failures")
	}
	b.failure()
	if !b.open() {
		t.Fatal("closed after 3 failures")
	}
	b.success()
	if b.open() {
		t.Fatal("open after a success")
	}
}

func TestNormalizeCode(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"abcd-efgh-jkmn-pqrs", "ABCD-EFGH-JKMN-PQRS"},
		{"ABCDEFGHJKMNPQRS", "ABCD-EFGH-JKMN-PQRS"},
		{" o1il-0000-1111-2222 ", "0111-0000-1111-2222"},
		{"ABCD-EFGH-JKMN-PQR", ""},
		{"ABCD-EFGH-JKMN-PQRSU", ""},
		{"ABCD-EFGH-JKMN-PQR!", ""},
	} {
		got, err := NormalizeCode(tt.in)
		if got != tt.want || (tt.want == "") != errors.Is(err, ErrBadCode) {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseDICOMMeta(t *testing.T) {
	f := synctest.DICOMFile("1.2.3", "1.2.3.4", "1.2.3.4.5")
	m, err := ParseDICOMMeta(f)
	if err != nil {
		t.Fatal(err)
	}
	if m.SOPInstanceUID != "1.2.3.4.5" || m.SOPClassUID != "1.2.840.10008.5.1.4.1.1.77.1.5.1" || m.TransferSyntax != "1.2.840.10008.1.2.1" {
		t.Errorf("meta = %+v", m)
	}
	for _, bad := range [][]byte{nil, f[:131], f[:150], append(bytes.Clone(f[:132]), 2, 0, 2, 0, 'U', 'I', 0xff, 0xff)} {
		if _, err := ParseDICOMMeta(bad); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("ParseDICOMMeta(%d bytes) = %v, want ErrInvalid", len(bad), err)
		}
	}
}

func TestStowFailed(t *testing.T) {
	body := []byte(`{"00081198":{"vr":"SQ","Value":[{"00081155":{"vr":"UI","Value":["1.2.3"]},"00081197":{"vr":"US","Value":[42752]}}]}}`)
	if f, r := stowFailed(body, "1.2.3"); !f || r != 0xA700 {
		t.Errorf("stowFailed = %v %#x", f, r)
	}
	if f, _ := stowFailed(body, "9.9"); f {
		t.Error("another instance's failure counted as ours")
	}
	if f, _ := stowFailed([]byte(`{"00081199":{"vr":"SQ","Value":[{}]}}`), "1.2.3"); f {
		t.Error("success read as failure")
	}
}

func TestParseLocation(t *testing.T) {
	for _, tt := range []struct{ in, id, vid string }{
		{"Patient/12/_history/3", "12", "3"},
		{"https://h/fhir/R4/Observation/abc/_history/7", "abc", "7"},
		{"/fhir/R4/Encounter/9", "9", ""},
		{"", "", ""},
	} {
		if id, vid := parseLocation(tt.in); id != tt.id || vid != tt.vid {
			t.Errorf("parseLocation(%q) = %q %q", tt.in, id, vid)
		}
	}
}

func TestURNFor(t *testing.T) {
	id := lane.NewID()
	if got := urnFor(id); got != "urn:uuid:"+id {
		t.Errorf("urnFor(uuid) = %s", got)
	}
	a, b := urnFor("x-1"), urnFor("x-2")
	if a == b || !uuidRE.MatchString(a[len("urn:uuid:"):]) || urnFor("x-1") != a {
		t.Errorf("urnFor(non-uuid) = %s %s", a, b)
	}
}

func TestVerifyEnrollmentRejects(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, body := range []string{`{`, `{}`, `{"ca_cert":"x","client_cert":"y"}`} {
		if _, err := verifyEnrollment([]byte(body), "ABCD-EFGH-JKMN-PQRS", key, "https://h", "L"); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("verifyEnrollment(%s) = %v", body, err)
		}
	}
}
