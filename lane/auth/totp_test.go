package auth_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/auth"
)

// RFC 6238 Appendix B: the seeds are the ASCII digits "1234567890"
// repeated to 20, 32 and 64 bytes for SHA1, SHA256 and SHA512.
var (
	seed20 = []byte("12345678901234567890")
	seed32 = []byte("12345678901234567890123456789012")
	seed64 = []byte("1234567890123456789012345678901234567890123456789012345678901234")
)

func TestRFC6238AppendixB(t *testing.T) {
	vectors := []struct {
		unix                 int64
		step                 string // the T column, hex
		sha1, sha256, sha512 string
	}{
		{59, "0000000000000001", "94287082", "46119246", "90693936"},
		{1111111109, "00000000023523EC", "07081804", "68084774", "25091201"},
		{1111111111, "00000000023523ED", "14050471", "67062674", "99943326"},
		{1234567890, "000000000273EF07", "89005924", "91819424", "93441116"},
		{2000000000, "0000000003F940AA", "69279037", "90698825", "38618901"},
		{20000000000, "0000000027BC86AA", "65353130", "77737706", "47863826"},
	}
	for _, v := range vectors {
		at := time.Unix(v.unix, 0).UTC()
		for _, c := range []struct {
			alg  auth.Algorithm
			seed []byte
			want string
		}{{auth.SHA1, seed20, v.sha1}, {auth.SHA256, seed32, v.sha256}, {auth.SHA512, seed64, v.sha512}} {
			p := auth.TOTP{Algorithm: c.alg, Digits: 8, Period: 30 * time.Second}
			got, err := p.Code(c.seed, at)
			if err != nil || got != c.want {
				t.Errorf("%s at %d: %q, %v; want %s", c.alg, v.unix, got, err, c.want)
			}
			var step uint64
			for _, ch := range v.step {
				step = step*16 + uint64(strings.IndexRune("0123456789ABCDEF", ch))
			}
			if s := p.Step(at); uint64(s) != step {
				t.Errorf("step at %d = %x, want %s", v.unix, s, v.step)
			}
			// Six digits are the same number mod 10^6: the last six.
			p.Digits = 6
			if got6, _ := p.Code(c.seed, at); got6 != c.want[2:] {
				t.Errorf("%s 6-digit at %d: %q, want %s", c.alg, v.unix, got6, c.want[2:])
			}
		}
	}
}

// RFC 4226 Appendix D: HOTP of the 20-byte seed for counters 0..9.
func TestRFC4226AppendixD(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for c, w := range want {
		got, err := auth.HOTP(seed20, uint64(c), 6, auth.SHA1)
		if err != nil || got != w {
			t.Errorf("HOTP(%d) = %q, %v; want %s", c, got, err, w)
		}
	}
	if _, err := auth.HOTP(seed20, 0, 5, auth.SHA1); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("5 digits: %v", err)
	}
	if _, err := auth.HOTP(seed20, 0, 6, "MD5"); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("MD5: %v", err)
	}
}

func TestVerifyWindowAndReplay(t *testing.T) {
	p := auth.DefaultTOTP()
	now := time.Unix(1_800_000_015, 0)
	cur := p.Step(now)
	code := func(step int64) string {
		c, err := p.Code(seed20, time.Unix(step*30, 0))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name     string
		code     string
		last     int64
		wantStep int64
		wantErr  error
	}{
		{"current", code(cur), 0, cur, nil},
		{"previous step", code(cur - 1), 0, cur - 1, nil},
		{"next step", code(cur + 1), 0, cur + 1, nil},
		{"two steps old", code(cur - 2), 0, 0, auth.ErrBadCode},
		{"two steps ahead", code(cur + 2), 0, 0, auth.ErrBadCode},
		{"replay of the accepted step", code(cur), cur, 0, auth.ErrCodeReplayed},
		{"older than the accepted step", code(cur - 1), cur, 0, auth.ErrCodeReplayed},
		{"newer than the accepted step", code(cur + 1), cur, cur + 1, nil},
		{"spaces allowed", code(cur)[:3] + " " + code(cur)[3:], 0, cur, nil},
		{"too short", code(cur)[:5], 0, 0, auth.ErrBadCode},
		{"letters", "12a456", 0, 0, auth.ErrBadCode},
		{"empty", "", 0, 0, auth.ErrBadCode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			step, err := p.Verify(seed20, tc.code, now, tc.last)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Verify = %d, %v; want %v", step, err, tc.wantErr)
				}
				return
			}
			if err != nil || step != tc.wantStep {
				t.Fatalf("Verify = %d, %v; want step %d", step, err, tc.wantStep)
			}
		})
	}
	// A code accepted once is refused the second time when the caller
	// persisted the step (RFC 6238 §5.2).
	c := code(cur)
	step, err := p.Verify(seed20, c, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Verify(seed20, c, now.Add(5*time.Second), step); !errors.Is(err, auth.ErrCodeReplayed) {
		t.Fatalf("second use: %v, want ErrCodeReplayed", err)
	}
	// Another secret's code does not verify.
	other := []byte("abcdefghijabcdefghij")
	if _, err := p.Verify(other, c, now, 0); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("other secret: %v", err)
	}
}

func TestSecretEncoding(t *testing.T) {
	// RFC 4648 §10: "foobar" → MZXW6YTBOI======
	if got := auth.EncodeSecret([]byte("foobar")); got != "MZXW6YTBOI" {
		t.Fatalf("EncodeSecret(foobar) = %q", got)
	}
	s := auth.EncodeSecret(seed20)
	if s != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" {
		t.Fatalf("EncodeSecret(seed) = %q", s)
	}
	for _, in := range []string{s, strings.ToLower(s), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ", s + "===="} {
		b, err := auth.DecodeSecret(in)
		if err != nil || string(b) != string(seed20) {
			t.Errorf("DecodeSecret(%q) = %q, %v", in, b, err)
		}
	}
	for _, bad := range []string{"MZXW6YTBOI", "not base32!", "0189"} {
		if _, err := auth.DecodeSecret(bad); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("DecodeSecret(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	a, err := auth.NewSecret()
	if err != nil || len(a) != auth.SecretBytes {
		t.Fatalf("NewSecret: %d bytes, %v", len(a), err)
	}
	b, _ := auth.NewSecret()
	if string(a) == string(b) {
		t.Fatal("NewSecret returned the same secret twice")
	}
}

func TestURI(t *testing.T) {
	p := auth.DefaultTOTP()
	u, err := p.URI("Main Street Eye Care", "sam.lee", seed20)
	if err != nil {
		t.Fatal(err)
	}
	const want = "otpauth://totp/Main%20Street%20Eye%20Care:sam.lee?algorithm=SHA1&digits=6&issuer=Main+Street+Eye+Care&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	if u != want {
		t.Fatalf("URI =\n%s\nwant\n%s", u, want)
	}
	parsed, err := url.Parse(u)
	if err != nil || parsed.Scheme != "otpauth" || parsed.Host != "totp" || parsed.Path != "/Main Street Eye Care:sam.lee" {
		t.Fatalf("parsed back: %+v %v", parsed, err)
	}
	if _, err := p.URI("A:B", "x", seed20); !errors.Is(err, lane.ErrInvalid) {
		t.Fatalf("issuer with colon: %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "287082", int64(59))
	f.Add("mzxw6ytboi", "12 34 56", int64(0))
	f.Add("", "", int64(-5))
	f.Fuzz(func(t *testing.T, secret, code string, unix int64) {
		key, err := auth.DecodeSecret(secret)
		if err != nil {
			return
		}
		if auth.EncodeSecret(key) == "" {
			t.Fatal("empty encoding of a decoded secret")
		}
		p := auth.DefaultTOTP()
		now := time.Unix(unix%(1<<40), 0)
		step, err := p.Verify(key, code, now, 0)
		if err == nil {
			c, _ := p.Code(key, time.Unix(step*30, 0))
			if strings.ReplaceAll(strings.ReplaceAll(code, " ", ""), "-", "") != c {
				t.Fatalf("accepted %q for step %d whose code is %s", code, step, c)
			}
			if _, err := p.Verify(key, code, now, step); !errors.Is(err, auth.ErrCodeReplayed) {
				t.Fatalf("replay accepted: %v", err)
			}
		}
	})
}
