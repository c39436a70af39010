package update

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/examlane/examlane/lane"
)

// Version is a semantic version with an optional build number, as the
// lane stamps it ("0.4.1+17": version 0.4.1, build 17).
type Version struct {
	Major, Minor, Patch uint64
	// Pre is the pre-release identifiers ("rc.1" → ["rc", "1"]).
	Pre []string
	// Build is the build number (digits) or empty.
	Build string
	// Dev marks a development build (an unstamped "dev" version): any
	// release is newer than it.
	Dev bool
}

// ParseVersion reads MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]; a leading
// "v" is allowed. BUILD must be digits. "dev" (an unstamped build)
// parses as a development Version.
func ParseVersion(s string) (Version, error) {
	if s == "dev" {
		return Version{Dev: true}, nil
	}
	bad := func(why string) (Version, error) {
		return Version{}, lane.Invalidf("version %q: %s", s, why)
	}
	t := strings.TrimPrefix(s, "v")
	var v Version
	if i := strings.IndexByte(t, '+'); i >= 0 {
		v.Build = t[i+1:]
		t = t[:i]
		if !isDigits(v.Build) {
			return bad("build is not a number")
		}
	}
	if i := strings.IndexByte(t, '-'); i >= 0 {
		v.Pre = strings.Split(t[i+1:], ".")
		t = t[:i]
		for _, id := range v.Pre {
			if id == "" || strings.IndexFunc(id, func(r rune) bool {
				return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-')
			}) >= 0 {
				return bad("bad pre-release")
			}
		}
	}
	parts := strings.Split(t, ".")
	if len(parts) != 3 {
		return bad("want MAJOR.MINOR.PATCH")
	}
	nums := make([]uint64, 3)
	for i, p := range parts {
		if p == "" || (len(p) > 1 && p[0] == '0') || !isDigits(p) {
			return bad("want MAJOR.MINOR.PATCH")
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return bad("number out of range")
		}
		nums[i] = n
	}
	v.Major, v.Minor, v.Patch = nums[0], nums[1], nums[2]
	return v, nil
}

// String formats v as it parses.
func (v Version) String() string {
	if v.Dev {
		return "dev"
	}
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if len(v.Pre) > 0 {
		s += "-" + strings.Join(v.Pre, ".")
	}
	if v.Build != "" {
		s += "+" + v.Build
	}
	return s
}

// Compare orders versions: -1 when v is older than w, 0 when equal, +1
// when newer. Semantic-version precedence decides first; between equal
// versions the larger build number is newer (no build counts as 0). A
// development build is older than every release and equal to another.
func (v Version) Compare(w Version) int {
	switch {
	case v.Dev && w.Dev:
		return 0
	case v.Dev:
		return -1
	case w.Dev:
		return 1
	}
	for _, p := range [][2]uint64{{v.Major, w.Major}, {v.Minor, w.Minor}, {v.Patch, w.Patch}} {
		if p[0] != p[1] {
			return cmpUint(p[0], p[1])
		}
	}
	if c := comparePre(v.Pre, w.Pre); c != 0 {
		return c
	}
	return cmpUint(buildNumber(v.Build), buildNumber(w.Build))
}

func buildNumber(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// comparePre applies semver's pre-release precedence: none is newer than
// any; numeric identifiers compare numerically and are older than
// alphanumeric ones; a longer list wins when all shared ones are equal.
func comparePre(a, b []string) int {
	switch {
	case len(a) == 0 && len(b) == 0:
		return 0
	case len(a) == 0:
		return 1
	case len(b) == 0:
		return -1
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		an, aerr := strconv.ParseUint(a[i], 10, 64)
		bn, berr := strconv.ParseUint(b[i], 10, 64)
		switch {
		case aerr == nil && berr == nil:
			if c := cmpUint(an, bn); c != 0 {
				return c
			}
		case aerr == nil:
			return -1
		case berr == nil:
			return 1
		default:
			if c := strings.Compare(a[i], b[i]); c != 0 {
				return c
			}
		}
	}
	return cmpUint(uint64(len(a)), uint64(len(b)))
}

// Decide says whether the lane running version running may take the
// release m: m must be strictly newer (a downgrade or the same version is
// refused with ErrNotNewer), and running must be at least m.MinVersion.
func Decide(m Manifest, running Version) error {
	rel := m.Release()
	if rel.Compare(running) <= 0 {
		return fmt.Errorf("release %s, running %s: %w", rel, running, ErrNotNewer)
	}
	if m.MinVersion != "" && !running.Dev {
		min, err := ParseVersion(m.MinVersion)
		if err != nil {
			return fmt.Errorf("update: min_version: %w", err)
		}
		if running.Compare(min) < 0 {
			return fmt.Errorf("update: release %s needs at least %s first (running %s): %w", rel, min, running, lane.ErrInvalid)
		}
	}
	return nil
}
