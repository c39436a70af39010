package logging_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/examlane/examlane/cmd/internal/logging"
	"github.com/examlane/examlane/lane"
)

// The names, dates and numbers below are synthetic.
func TestScrub(t *testing.T) {
	tests := []struct{ in, want string }{
		// kept: what the codebase writes into errors
		{`profile "nidek-rt51": not found (did you mean nidek-rt5100?)`, `profile "nidek-rt51": not found (did you mean nidek-rt5100?)`},
		{`key "session.lock_timeout": 1m is too short`, `key "session.lock_timeout": 1m is too short`},
		{`open /dev/ttyUSB0: permission denied`, `open /dev/ttyUSB0: permission denied`},
		{`localdb: get patient 7d0e1f00-0000-4000-8000-000000000001: not found`, `localdb: get patient 7d0e1f00-0000-4000-8000-000000000001: not found`},
		{`sha256 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" mismatch`, `sha256 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" mismatch`},
		{`frame 12 of 400 bytes at offset 123456: bad checksum`, `frame 12 of 400 bytes at offset 123456: bad checksum`},
		{`port "/dev/ttyS0" busy`, `port "/dev/ttyS0" busy`},
		{``, ``},
		// masked
		{`patient "Testperson Alpha" not found`, `patient "<redacted>" not found`},
		{`name "alpha testperson"`, `name "<redacted>"`},
		{`read "export_0001.xml": bad`, `read "<redacted>": bad`},
		{`open /srv/exports/ALPHA_TESTPERSON.jpg: permission denied`, `open <path>: permission denied`},
		{`open C:\Exports\Alpha Testperson.jpg: denied`, `open <path> Testperson.jpg: denied`},
		{`stat ~/fundus/a.dcm, then ../b.dcm`, `stat <path>, then <path>`},
		{`Get "https://pms.example:8443/fhir/R4/Patient?name=Alpha": EOF`, `Get "https://pms.example:8443/<redacted>": EOF`},
		{`dial https://user:pw@pms.example/x failed`, `dial https://<redacted>@pms.example/<redacted> failed`},
		{`mail alpha.testperson@example.org bounced`, `mail <redacted> bounced`},
		{`PN ALPHA^TESTPERSON^^^ in tag`, `PN <redacted> in tag`},
		{`born 1970-01-01, 19700101, 01/02/1970 or 1.2.70`, `born <date>, <date>, <date> or <date>`},
		{`mrn 0012345 phone 5550100123`, `mrn <number> phone <number>`},
		{`code "ABCD-EFGH"`, `code "<redacted>"`},
		{`id "0012345"`, `id "<redacted>"`},
		{`unterminated "Alpha Testper`, `unterminated "<redacted>"`},
		{`escaped "say \"hi\""`, `escaped "<redacted>"`},
		{`(/home/tech/x)`, `(<path>)`},
	}
	for _, tt := range tests {
		got := logging.Scrub(tt.in)
		if got != tt.want {
			t.Errorf("Scrub(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
		if again := logging.Scrub(got); again != got {
			t.Errorf("Scrub is not idempotent on %q: %q", got, again)
		}
	}
}

func TestSafeErrorAndKind(t *testing.T) {
	if logging.SafeError(nil) != "" || logging.ErrorKind(nil) != "" {
		t.Error("nil error not empty")
	}
	err := fmt.Errorf("localdb: save patient %q: %w", "Testperson Alpha", lane.ErrConflict)
	if got := logging.SafeError(err); got != `localdb: save patient "<redacted>": conflict: record changed since it was read` {
		t.Errorf("SafeError = %q", got)
	}
	kinds := map[error]string{
		lane.ErrNotFound: "not_found", lane.ErrConflict: "conflict", lane.ErrInvalid: "invalid",
		lane.ErrImmutable: "immutable", lane.ErrForbidden: "forbidden", lane.ErrLocked: "locked",
		lane.ErrUnavailable: "unavailable", lane.ErrUnauthenticated: "unauthenticated",
		context.Canceled: "canceled", context.DeadlineExceeded: "deadline", errors.New("x"): "other",
	}
	for e, want := range kinds {
		if got := logging.ErrorKind(fmt.Errorf("op: %w", e)); got != want {
			t.Errorf("ErrorKind(%v) = %q, want %q", e, got, want)
		}
	}
}

func FuzzScrub(f *testing.F) {
	for _, s := range []string{
		`patient "Testperson Alpha" born 1970-01-01`,
		`Get "https://pms/fhir?name=x": EOF`,
		`open /srv/a.dcm: denied`,
		`7d0e1f00-0000-4000-8000-000000000001 and 5550100123`,
		`"\"" "`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := logging.Scrub(s)
		if again := logging.Scrub(got); again != got {
			t.Fatalf("not idempotent: %q → %q → %q", s, got, again)
		}
	})
}

func BenchmarkScrub(b *testing.B) {
	msg := `devices: instrument "phoropter": open /dev/ttyUSB0: frame 12 of 400 bytes: bad checksum`
	for b.Loop() {
		logging.Scrub(msg)
	}
}
