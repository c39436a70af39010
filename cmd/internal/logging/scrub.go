package logging

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/examlane/examlane/lane"
)

// Redacted replaces a value the PHI guard will not let through.
const Redacted = "<redacted>"

// Scrub masks what in free text could be patient data: errors in this
// codebase are written without patient data, and Scrub is the second line
// of defence for messages and error strings on their way into a log. It
// replaces:
//
//   - a double-quoted string, unless it is a lower-case machine token such
//     as a profile name, a dialect, a key or a UUID ("nidek-rt5100",
//     "session.lock_timeout") or a device path ("/dev/ttyUSB0"): a name, a
//     file name or anything with upper case or spaces becomes
//     "<redacted>" (a lower-case word such as "alpha_testperson" is kept:
//     the heuristic cannot tell it from a key);
//   - a file path (outside /dev, where serial ports live) with <path>;
//   - a URL's path and query (FHIR searches carry names) with /<redacted>,
//     keeping scheme, host and port;
//   - e-mail addresses, DICOM person names (SMITH^JOHN), dates (1980-01-31,
//     19800131, 31/01/1980, 31.01.1980) and runs of seven or more digits
//     (record numbers, phone numbers).
//
// UUIDs and long hexadecimal hashes are kept: they are how the logs refer
// to records. Scrub is idempotent.
func Scrub(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			b.WriteString(scrubPlain(s))
			return b.String()
		}
		b.WriteString(scrubPlain(s[:i]))
		end := closingQuote(s, i+1)
		if end < 0 { // unterminated: everything after the quote is suspect
			b.WriteString(`"` + Redacted + `"`)
			return b.String()
		}
		b.WriteString(`"` + scrubQuoted(s[i+1:end]) + `"`)
		s = s[end+1:]
	}
}

// SafeError returns err's message scrubbed (see Scrub), or "" for nil.
func SafeError(err error) string {
	if err == nil {
		return ""
	}
	return Scrub(err.Error())
}

// ErrorKind classifies err by the lane sentinel it wraps, for the
// error_kind attribute: "not_found", "conflict", "invalid", "immutable",
// "forbidden", "locked", "unavailable", "unauthenticated", "canceled",
// "deadline", or "other".
func ErrorKind(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, lane.ErrNotFound):
		return "not_found"
	case errors.Is(err, lane.ErrConflict):
		return "conflict"
	case errors.Is(err, lane.ErrInvalid):
		return "invalid"
	case errors.Is(err, lane.ErrImmutable):
		return "immutable"
	case errors.Is(err, lane.ErrForbidden):
		return "forbidden"
	case errors.Is(err, lane.ErrLocked):
		return "locked"
	case errors.Is(err, lane.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, lane.ErrUnauthenticated):
		return "unauthenticated"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	}
	return "other"
}

// closingQuote returns the index of the quote that closes a Go-quoted
// string whose content starts at i, or -1.
func closingQuote(s string, i int) int {
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

var (
	tokenRE = regexp.MustCompile(`^[a-z0-9]+(?:[._:+-][a-z0-9]+)*$`)
	uuidRE  = regexp.MustCompile(`(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	hexRE   = regexp.MustCompile(`(?i)^[0-9a-f]{16,}$`)
	urlRE   = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#\s]*`)
	devRE   = regexp.MustCompile(`^/dev/[A-Za-z0-9._/:-]+$`)
	// File names are redacted even when they look like tokens: instruments
	// name exports after the patient.
	fileExtRE = regexp.MustCompile(`\.(?:xml|jpe?g|png|dcm|dicom|tiff?|bmp|webp|pdf|txt|csv|json|toml|db|log|hl7|zip)$`)

	// In plain text, in order.
	emailRE  = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	dicomRE  = regexp.MustCompile(`[^\s^"]*\^[^\s"]*`)
	dateRE   = regexp.MustCompile(`\b(?:\d{4}-\d{2}-\d{2}|(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})\b`)
	digitsRE = regexp.MustCompile(`\d{7,}`)
	keepRE   = regexp.MustCompile(`(?i)\b(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,})\b`)
)

// scrubQuoted decides what to keep of a quoted string's content.
func scrubQuoted(q string) string {
	switch {
	case q == "" || q == Redacted:
		return q
	case uuidRE.MatchString(q) || hexRE.MatchString(q):
		return q
	case strings.Contains(q, "://") && urlRE.MatchString(q):
		return scrubURL(q)
	case devRE.MatchString(q):
		return q
	case tokenRE.MatchString(q) && !fileExtRE.MatchString(q) && !digitsRE.MatchString(q) && !dateRE.MatchString(q):
		return q
	}
	return Redacted
}

// scrubURL keeps a URL's scheme, host and port.
func scrubURL(u string) string {
	origin := urlRE.FindString(u)
	rest := len(origin) < len(u)
	if at := strings.LastIndexByte(origin, '@'); at >= 0 { // user info
		scheme := origin[:strings.Index(origin, "://")+3]
		origin = scheme + Redacted + "@" + origin[at+1:]
	}
	if rest {
		return origin + "/" + Redacted
	}
	return origin
}

// scrubPlain scrubs text outside quotes, word by word for paths and URLs,
// then by pattern.
func scrubPlain(s string) string {
	if s == "" {
		return s
	}
	words := strings.SplitAfter(s, " ")
	for i, w := range words {
		core := strings.TrimRight(w, " ")
		trail := w[len(core):]
		// Punctuation that ends a clause is not part of a path or URL.
		for len(core) > 0 && strings.ContainsRune(":,;)", rune(core[len(core)-1])) {
			trail = core[len(core)-1:] + trail
			core = core[:len(core)-1]
		}
		lead := ""
		for len(core) > 0 && (core[0] == '(' || core[0] == '[') {
			lead += core[:1]
			core = core[1:]
		}
		switch {
		case strings.Contains(core, "://") && urlRE.MatchString(core):
			core = scrubURL(core)
		case isPath(core):
			core = "<path>"
		default:
			continue
		}
		words[i] = lead + core + trail
	}
	s = strings.Join(words, "")
	if !strings.ContainsAny(s, "0123456789@^") {
		return s // nothing the patterns could match
	}
	// UUIDs and hashes are kept whole; the patterns apply between them.
	var keep [][]int
	if hasHexRun(s, 8) {
		keep = keepRE.FindAllStringIndex(s, -1)
	}
	var b strings.Builder
	last := 0
	for _, m := range keep {
		b.WriteString(scrubPatterns(s[last:m[0]]))
		b.WriteString(s[m[0]:m[1]])
		last = m[1]
	}
	b.WriteString(scrubPatterns(s[last:]))
	return b.String()
}

// scrubPatterns masks e-mail addresses, DICOM names, dates and long
// numbers.
func scrubPatterns(s string) string {
	if strings.IndexByte(s, '@') >= 0 {
		s = emailRE.ReplaceAllString(s, Redacted)
	}
	if strings.IndexByte(s, '^') >= 0 {
		s = dicomRE.ReplaceAllString(s, Redacted)
	}
	if strings.ContainsAny(s, "0123456789") {
		s = dateRE.ReplaceAllString(s, "<date>")
		s = digitsRE.ReplaceAllString(s, "<number>")
	}
	return s
}

// hasHexRun reports whether s has n hexadecimal digits in a row, the least
// a UUID or hash starts with.
func hasHexRun(s string, n int) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' {
			if run++; run >= n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// isPath reports whether a word looks like a file path that is not a
// device (serial ports are named in logs on purpose).
func isPath(w string) bool {
	switch {
	case w == "<path>":
		return false
	case strings.HasPrefix(w, "/dev/"):
		return false
	case strings.HasPrefix(w, "/"), strings.HasPrefix(w, "~/"), strings.HasPrefix(w, `\\`),
		strings.HasPrefix(w, "./"), strings.HasPrefix(w, "../"):
		return len(w) > 1
	case len(w) >= 3 && w[1] == ':' && (w[2] == '\\' || w[2] == '/'):
		return true
	}
	return strings.ContainsRune(w, '\\')
}
