package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestUserCredentialsCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	runIn := func(want int, stdin string, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := runIO(context.Background(), args, strings.NewReader(stdin), &out, &errb); code != want {
			t.Fatalf("practiced %v: exit %d, want %d\n%s%s", args, code, want, out.String(), errb.String())
		}
		return out.String() + errb.String()
	}
	runIn(0, "", "init", "--data", dir, "--tenant", "alpha", "--name", "Alpha Eye Care")
	out := runIn(0, "correct horse battery staple\n", "user", "add", "--data", dir, "--tenant", "alpha", "--name", "Sam Lee",
		"--role", "optometrist", "--login", "sam.lee", "--password-stdin")
	id := regexp.MustCompile(`added user (\S+)`).FindStringSubmatch(out)
	if id == nil || !strings.Contains(out, "otpauth://totp/Alpha%20Eye%20Care:sam.lee?") || !strings.Contains(out, "password: (as given on standard input)") {
		t.Fatalf("user add output:\n%s", out)
	}
	if strings.Contains(out, "correct horse") {
		t.Fatal("the password was printed")
	}
	if !strings.ContainsAny(out, "▀▄█") {
		t.Fatalf("no QR code drawn:\n%s", out)
	}
	// A weak password is refused; the account stays, without credentials.
	out = runIn(1, "password1\n", "user", "add", "--data", dir, "--tenant", "alpha", "--name", "Kim Ng",
		"--role", "optician", "--login", "kim.ng", "--password-stdin")
	if !strings.Contains(out, "attackers try first") || !strings.Contains(out, "practiced user reset") {
		t.Fatalf("weak password:\n%s", out)
	}
	runIn(2, "", "user", "add", "--data", dir, "--tenant", "alpha", "--name", "No Login", "--role", "admin", "--password-stdin")
	// Reset prints a temporary password and a new secret.
	out = runIn(0, "", "user", "reset", "--data", dir, "--tenant", "alpha", "--id", id[1])
	if !regexp.MustCompile(`password: [a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}   \(temporary`).MatchString(out) || !strings.Contains(out, "otpauth://") {
		t.Fatalf("reset output:\n%s", out)
	}
	out = runIn(0, "", "user", "unlock", "--data", dir, "--tenant", "alpha", "--id", id[1])
	if !strings.Contains(out, "unlocked user "+id[1]) {
		t.Fatalf("unlock output:\n%s", out)
	}
	runIn(1, "", "user", "reset", "--data", dir, "--tenant", "alpha", "--id", "nobody")
}
