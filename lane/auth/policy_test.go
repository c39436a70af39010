package auth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/auth"
)

func TestPasswordPolicy(t *testing.T) {
	p := auth.DefaultPasswordPolicy()
	ctx := []string{"sam.lee", "Sam Lee", "Main Street Eye Care"}
	for _, tc := range []struct {
		pw     string
		ok     bool
		reason string
	}{
		{"correct horse battery staple", true, ""},
		{"Tr0ub4dor&3-lantern", true, ""},
		{"ferns under the pier", true, ""},
		{"zq7!vmw2", true, ""},                             // 8 characters, no rules about classes
		{strings.Repeat("long passphrase ", 8), true, ""},  // 128 characters
		{"日本語のパスフレーズです", true, ""},                         // Unicode is allowed
		{"short1!", false, "at least 8"},                   // 7
		{strings.Repeat("x", 129) + "y", false, "at most"}, // too long
		{"password", false, "attackers try first"},
		{"Password1", false, "attackers try first"},
		{"P@ssw0rd!", false, "attackers try first"},
		{"12345678", false, "attackers try first"},
		{"qwerty123", false, "attackers try first"},
		{"iloveyou2", false, "attackers try first"},
		{"Summer2024!", false, "attackers try first"},
		{"winter-2026", false, "attackers try first"},
		{"2025autumn", false, "attackers try first"},
		{"eyeexam1", false, "attackers try first"},
		{"Optometry123", false, "attackers try first"},
		{"monkey123!", false, "attackers try first"},
		{"aaaaaaaaaa", false, "repeated or sequential"},
		{"abcabcabcabc", false, "repeated or sequential"},
		{"qrstuvwxyz", false, "repeated or sequential"},
		{"9876543210", false, "repeated or sequential"},
		{"sam.lee-is-here", false, "user name"},
		{"examlane rocks", false, "user name"},
		{"my main street eye care", false, "user name"},
		{"streetwise owl", false, "user name"}, // a word of the practice's name
		{"careful mainsail", true, ""},         // short words of it are fine inside
		{"samuel's long walk", true, ""},       // "sam" is only refused alone
		{"tab\there-is-bad", false, "control characters"},
	} {
		err := p.Check(tc.pw, ctx...)
		if tc.ok {
			if err != nil {
				t.Errorf("Check(%q) = %v, want ok", tc.pw, err)
			}
			continue
		}
		var pe *auth.PasswordError
		if !errors.As(err, &pe) || !errors.Is(err, lane.ErrInvalid) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("Check(%q) = %v, want a refusal mentioning %q", tc.pw, err, tc.reason)
		}
	}
	if n := auth.BlocklistSize(); n < 1000 {
		t.Errorf("blocklist has %d entries, want at least 1000", n)
	}
}

func TestLockoutTiming(t *testing.T) {
	p := auth.DefaultLockout()
	want := []time.Duration{0, 1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
		32 * time.Second, 64 * time.Second, 128 * time.Second, 256 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for n, w := range want {
		if got := p.Delay(n); got != w {
			t.Errorf("Delay(%d) = %v, want %v", n, got, w)
		}
	}
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var a auth.Attempts
	now := t0
	for i := 1; i <= 9; i++ {
		if err := p.Check(a, now); err != nil {
			t.Fatalf("attempt %d refused: %v", i, err)
		}
		a = p.Fail(a, now)
		if a.Locked {
			t.Fatalf("locked after %d failures", i)
		}
		d := p.Delay(i)
		// Just before the delay has passed the attempt is throttled...
		err := p.Check(a, now.Add(d-time.Millisecond))
		var te *auth.ThrottleError
		if !errors.As(err, &te) || !errors.Is(err, auth.ErrThrottled) || te.RetryAfter != time.Millisecond {
			t.Fatalf("after failure %d, %v early: %v", i, d-time.Millisecond, err)
		}
		// ...and at the delay it is allowed.
		now = now.Add(d)
	}
	a = p.Fail(a, now)
	if !a.Locked || a.Failures != 10 {
		t.Fatalf("after 10 failures: %+v, want locked", a)
	}
	if err := p.Check(a, now.Add(24*time.Hour)); !errors.Is(err, auth.ErrAccountLocked) {
		t.Fatalf("locked account a day later: %v", err)
	}
	if w := p.Wait(auth.Attempts{}, now); w != 0 {
		t.Fatalf("Wait with no failures = %v", w)
	}
}

func TestOfflinePolicy(t *testing.T) {
	last := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	p := auth.DefaultOffline()
	for _, tc := range []struct {
		after time.Duration
		ok    bool
	}{{0, true}, {time.Hour, true}, {7 * 24 * time.Hour, true}, {7*24*time.Hour + time.Second, false}, {8 * 24 * time.Hour, false}} {
		err := p.Check(last, last.Add(tc.after))
		if tc.ok != (err == nil) {
			t.Errorf("after %v: %v", tc.after, err)
		}
		if err != nil && (!errors.Is(err, auth.ErrOfflineExpired) || !errors.Is(err, lane.ErrUnavailable) ||
			err.Error() != "Offline sign-in expired: connect to the practice network to sign in") {
			t.Errorf("after %v: %v", tc.after, err)
		}
	}
	if err := p.Check(time.Time{}, last); !errors.Is(err, auth.ErrOfflineExpired) {
		t.Errorf("never online: %v", err)
	}
	if err := (auth.OfflinePolicy{}).Check(last, last); !errors.Is(err, auth.ErrOfflineExpired) {
		t.Errorf("window 0: %v", err)
	}
}

func TestPINPolicy(t *testing.T) {
	p := auth.DefaultPIN()
	for _, tc := range []struct {
		pin string
		ok  bool
	}{
		{"4821", true}, {"39571", true}, {"80417263", true},
		{"123", false}, {"123456789", false}, {"12a4", false}, {"", false}, {" 4821", false},
		{"1111", false}, {"1234", false}, {"9876", false}, {"12345678", false}, {"2580", false},
		{"1985", false}, {"2024", false}, {"121212", false}, {"11223344", false},
	} {
		err := p.Check(tc.pin)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, lane.ErrInvalid)) {
			t.Errorf("Check(%q) = %v, want ok=%v", tc.pin, err, tc.ok)
		}
	}
	if p.MaxFailures != 5 {
		t.Errorf("MaxFailures = %d", p.MaxFailures)
	}
}
