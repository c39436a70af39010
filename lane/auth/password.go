package auth

import (
	"bufio"
	_ "embed"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/examlane/examlane/lane"
)

// PasswordPolicy is the password rule of NIST SP 800-63B-4 §3.1.1.2 for a
// password used with a second factor: a minimum length, a generous maximum,
// no composition rules and no expiry, and a check against values attackers
// try first (common and breached-style passwords, repetitive or sequential
// characters, context words such as the user name and the product name).
type PasswordPolicy struct {
	// MinLength and MaxLength count characters (runes) of the password
	// as typed, after the caller's Unicode normalisation.
	MinLength, MaxLength int
}

// DefaultPasswordPolicy is Examlane's: 8 to 128 characters (every account
// has a second factor; NIST asks for at least 8 then, and to permit at
// least 64).
func DefaultPasswordPolicy() PasswordPolicy { return PasswordPolicy{MinLength: 8, MaxLength: 128} }

// ContextWords are always refused inside a password.
var ContextWords = []string{"examlane"}

//go:embed common-passwords.txt
var commonPasswordsText string

var (
	blockOnce sync.Once
	blocklist map[string]bool
)

func loadBlocklist() {
	blocklist = map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		blocklist[strings.ToLower(l)] = true
	}
}

// Blocklisted reports whether a password is on the embedded list of common
// passwords, as typed or after folding case, undoing common letter
// substitutions (p@ssw0rd) and removing a trailing run of digits and
// symbols (monkey123!).
func Blocklisted(password string) bool {
	blockOnce.Do(loadBlocklist)
	lower := strings.ToLower(password)
	for _, c := range []string{lower, deleet(lower), stripAffixes(lower), stripAffixes(deleet(lower)), deleet(stripAffixes(lower))} {
		if c != "" && blocklist[c] {
			return true
		}
	}
	return false
}

// BlocklistSize is the number of distinct entries of the embedded list.
func BlocklistSize() int {
	blockOnce.Do(loadBlocklist)
	return len(blocklist)
}

var leet = strings.NewReplacer("@", "a", "4", "a", "3", "e", "1", "i", "!", "i", "0", "o", "$", "s", "5", "s", "7", "t", "+", "t")

// deleet undoes the substitutions people make to pass composition rules.
func deleet(s string) string { return leet.Replace(s) }

// stripAffixes removes a leading and a trailing run of digits and symbols.
func stripAffixes(s string) string {
	isAffix := func(r rune) bool { return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || r == ' ' }
	return strings.TrimRightFunc(strings.TrimLeftFunc(s, isAffix), isAffix)
}

// seasonYear matches a season or month and a year, either way round, with
// separators and a trailing symbol or two: "Summer2024!", "2023winter".
var seasonYear = regexp.MustCompile(`^[^a-z0-9]*(?:(?:spring|summer|autumn|fall|winter|january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)[^a-z0-9]*(?:19|20)?[0-9]{2}|(?:19|20)?[0-9]{2}[^a-z0-9]*(?:spring|summer|autumn|fall|winter|january|february|march|april|may|june|july|august|september|october|november|december))[^a-z0-9]*$`)

// PasswordError says why a password was refused, in words for the person
// choosing it. It wraps lane.ErrInvalid.
type PasswordError struct{ Reason string }

func (e *PasswordError) Error() string { return "password: " + e.Reason }

// Unwrap returns lane.ErrInvalid.
func (e *PasswordError) Unwrap() error { return lane.ErrInvalid }

func refuse(format string, args ...any) error {
	return &PasswordError{Reason: fmt.Sprintf(format, args...)}
}

// Check returns nil when password may be chosen, or a *PasswordError.
// context are words tied to the account (the user name, the person's name,
// the practice's name): each of them (when four characters or more) and
// each of their words of five characters or more is refused inside the
// password, shorter ones only as the whole password, and so is every word
// of ContextWords.
func (p PasswordPolicy) Check(password string, context ...string) error {
	if p.MinLength <= 0 {
		p = DefaultPasswordPolicy()
	}
	if !utf8.ValidString(password) {
		return refuse("not valid text")
	}
	n := utf8.RuneCountInString(password)
	switch {
	case n < p.MinLength:
		return refuse("use at least %d characters (a short phrase is easiest to remember)", p.MinLength)
	case p.MaxLength > 0 && n > p.MaxLength:
		return refuse("use at most %d characters", p.MaxLength)
	case strings.IndexFunc(password, unicode.IsControl) >= 0:
		return refuse("control characters cannot be typed at every lane")
	}
	lower := strings.ToLower(password)
	if Blocklisted(password) || seasonYear.MatchString(lower) {
		return refuse("it is one of the passwords attackers try first; choose another")
	}
	if repetitive(lower) || sequential(lower) {
		return refuse("a repeated or sequential pattern is too easy to guess")
	}
	for _, w := range contextParts(context) {
		if (len([]rune(w.text)) >= w.min && (strings.Contains(lower, w.text) || strings.Contains(deleet(lower), w.text))) || lower == w.text {
			return refuse("it must not contain your user name, your name or the product's or practice's name")
		}
	}
	return nil
}

// contextWord is a word refused inside a password when it has at least
// min characters (and always as the whole password).
type contextWord struct {
	text string
	min  int
}

// contextParts returns the context values (min 4) and their words (min
// 5), with ContextWords, lower-cased.
func contextParts(context []string) []contextWord {
	var out []contextWord
	for _, c := range append(append([]string(nil), context...), ContextWords...) {
		c = strings.ToLower(strings.TrimSpace(c))
		if c == "" {
			continue
		}
		out = append(out, contextWord{c, 4})
		for _, f := range strings.FieldsFunc(c, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if f != c {
				out = append(out, contextWord{f, 5})
			}
		}
	}
	return out
}

// repetitive reports whether s is one unit of one to four characters
// repeated ("aaaaaaaa", "abcabcab", "12121212").
func repetitive(s string) bool {
	r := []rune(s)
	for unit := 1; unit <= 4 && unit < len(r); unit++ {
		same := true
		for i := unit; i < len(r); i++ {
			if r[i] != r[i-unit] {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	return false
}

// sequential reports whether every character of s is the one before plus
// one, or every one is the one before minus one ("abcdefgh", "98765432").
func sequential(s string) bool {
	r := []rune(s)
	if len(r) < 3 {
		return false
	}
	d := r[1] - r[0]
	if d != 1 && d != -1 {
		return false
	}
	for i := 2; i < len(r); i++ {
		if r[i]-r[i-1] != d {
			return false
		}
	}
	return true
}
