package auth

import (
	"fmt"
	"strings"

	"github.com/examlane/examlane/lane"
)

// PINPolicy is the rule for the PIN that resumes a locked shift session on
// the lane where it was set: digits only, MinDigits to MaxDigits long, not
// an obvious pattern, and after MaxFailures wrong PINs in a row the PIN is
// void and a full sign-in (password and code) is needed.
type PINPolicy struct {
	MinDigits, MaxDigits int
	MaxFailures          int
}

// DefaultPIN is 4 to 8 digits, 5 wrong PINs.
func DefaultPIN() PINPolicy { return PINPolicy{MinDigits: 4, MaxDigits: 8, MaxFailures: 5} }

// commonPINs are refused whatever their length allows.
var commonPINs = map[string]bool{
	"1212": true, "1122": true, "1313": true, "2580": true, "0852": true, "1004": true, "2000": true,
	"6969": true, "4321": true, "1010": true, "2020": true,
	"112233": true, "121212": true, "123123": true, "147258": true, "159753": true, "258369": true,
	"131313": true, "696969": true, "102030": true, "101010": true, "202020": true, "246810": true,
	"13579": true, "24680": true, "12341234": true, "11223344": true, "12121212": true, "147258369": true,
	"11112222": true, "12344321": true, "20202020": true, "10203040": true, "13572468": true,
}

// Check returns nil when pin may be chosen, else an error wrapping
// lane.ErrInvalid that says why.
func (p PINPolicy) Check(pin string) error {
	if p.MinDigits <= 0 {
		p = DefaultPIN()
	}
	if strings.Trim(pin, "0123456789") != "" || pin == "" {
		return lane.Invalidf("a PIN is digits only")
	}
	if len(pin) < p.MinDigits || len(pin) > p.MaxDigits {
		return lane.Invalidf("a PIN has %d to %d digits", p.MinDigits, p.MaxDigits)
	}
	if repetitive(pin) || sequential(pin) || commonPINs[pin] || isYear(pin) {
		return fmt.Errorf("that PIN is too easy to guess: %w", lane.ErrInvalid)
	}
	return nil
}

// isYear reports whether a 4-digit PIN reads as a recent year (birth years
// are the most guessed PINs after patterns).
func isYear(pin string) bool {
	return len(pin) == 4 && (strings.HasPrefix(pin, "19") || strings.HasPrefix(pin, "20"))
}
