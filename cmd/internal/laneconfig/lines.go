package laneconfig

import (
	"strconv"
	"strings"
)

// keyIndex maps key paths to the 1-based line where the key, or the header
// of the table it names, is written. Paths join keys with dots and give
// the element of an array of tables in brackets, counting from 0:
// "session.lock_timeout", "instrument[1]", "instrument[1].port".
//
// BurntSushi/toml reports positions for syntax errors but not for keys that
// decode fine and are wrong for another reason (unknown, out of range), so
// this small scanner finds them. It runs on files the TOML decoder has
// accepted; on anything else it still terminates and returns what it found.
type keyIndex map[string]int

// maxDepth bounds the nesting of arrays and inline tables the scanner
// follows, so hostile input cannot exhaust the stack.
const maxDepth = 64

// indexKeys scans data and returns its key index.
func indexKeys(data []byte) keyIndex {
	src := strings.TrimPrefix(string(data), "\uFEFF") // Notepad's byte order mark
	s := &keyScanner{src: src, line: 1, ix: keyIndex{}, arrays: map[string]int{}}
	s.run()
	return s.ix
}

// line returns the line of path, or of its nearest ancestor written in the
// file (a table header, or the key holding an inline table), or 0.
func (ix keyIndex) line(path string) int {
	for path != "" {
		if l, ok := ix[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

type keyScanner struct {
	src    string
	i      int
	line   int
	ix     keyIndex
	cur    string         // the current table's path
	arrays map[string]int // array-of-tables path → elements seen
}

func (s *keyScanner) eof() bool { return s.i >= len(s.src) }

func (s *keyScanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.i]
}

// advance moves past one byte, counting lines.
func (s *keyScanner) advance() {
	if s.src[s.i] == '\n' {
		s.line++
	}
	s.i++
}

func (s *keyScanner) skipBlanks() {
	for !s.eof() && (s.peek() == ' ' || s.peek() == '\t' || s.peek() == '\r') {
		s.i++
	}
}

// skipLine moves to the start of the next line.
func (s *keyScanner) skipLine() {
	for !s.eof() && s.peek() != '\n' {
		s.i++
	}
	if !s.eof() {
		s.advance()
	}
}

func (s *keyScanner) record(path string) {
	if _, dup := s.ix[path]; !dup {
		s.ix[path] = s.line
	}
}

func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

func (s *keyScanner) run() {
	for !s.eof() {
		s.skipBlanks()
		switch c := s.peek(); {
		case c == 0:
			return
		case c == '\n':
			s.advance()
		case c == '#':
			s.skipLine()
		case c == '[':
			s.header()
			s.skipLine()
		default:
			start := s.i
			keys, ok := s.key()
			s.skipBlanks()
			if !ok || s.peek() != '=' {
				if s.i == start {
					s.i++ // never stall on a byte the scanner does not understand
				}
				s.skipLine()
				continue
			}
			s.i++
			p := s.cur
			for _, k := range keys {
				p = joinPath(p, k)
			}
			s.record(p)
			s.value(p, 0)
			s.skipLine()
		}
	}
}

// header reads "[a.b]" or "[[a.b]]" and makes it the current table.
func (s *keyScanner) header() {
	s.i++ // [
	array := s.peek() == '['
	if array {
		s.i++
	}
	keys, ok := s.key()
	if !ok || len(keys) == 0 {
		return
	}
	p := ""
	for _, k := range keys[:len(keys)-1] {
		p = joinPath(p, k)
		if n, ok := s.arrays[p]; ok {
			p += "[" + strconv.Itoa(n-1) + "]"
		}
	}
	p = joinPath(p, keys[len(keys)-1])
	if array {
		s.record(p) // the array itself, at its first table
		n := s.arrays[p]
		s.arrays[p] = n + 1
		p += "[" + strconv.Itoa(n) + "]"
	} else if n, ok := s.arrays[p]; ok { // [a] after [[a]] is a TOML error; stay consistent
		p += "[" + strconv.Itoa(n-1) + "]"
	}
	s.cur = p
	s.record(p)
}

// key reads a dotted key: bare, "basic" or 'literal' parts separated by
// dots, with blanks around the dots.
func (s *keyScanner) key() ([]string, bool) {
	var keys []string
	for {
		s.skipBlanks()
		k, ok := s.simpleKey()
		if !ok {
			return keys, false
		}
		keys = append(keys, k)
		s.skipBlanks()
		if s.peek() != '.' {
			return keys, true
		}
		s.i++
	}
}

func isBare(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

func (s *keyScanner) simpleKey() (string, bool) {
	switch s.peek() {
	case '"':
		start := s.i
		s.i++
		for !s.eof() && s.peek() != '"' && s.peek() != '\n' {
			if s.peek() == '\\' && s.i+1 < len(s.src) && s.src[s.i+1] != '\n' {
				s.i++
			}
			s.i++
		}
		if s.peek() != '"' {
			return "", false
		}
		s.i++
		k, err := strconv.Unquote(s.src[start:s.i])
		if err != nil {
			k = s.src[start+1 : s.i-1]
		}
		return k, true
	case '\'':
		start := s.i + 1
		end := strings.IndexAny(s.src[start:], "'\n")
		if end < 0 || s.src[start+end] != '\'' {
			return "", false
		}
		s.i = start + end + 1
		return s.src[start : start+end], true
	}
	start := s.i
	for !s.eof() && isBare(s.peek()) {
		s.i++
	}
	return s.src[start:s.i], s.i > start
}

// value skips one value, recording the keys of inline tables (under path)
// and the elements of arrays (path[0], path[1], ...) with their lines.
func (s *keyScanner) value(path string, depth int) {
	s.skipBlanks()
	switch s.peek() {
	case '"', '\'':
		// A basic string ("…") has backslash escapes, a literal one ('…')
		// none.
		q := s.peek()
		escapes := q == '"'
		if triple := strings.Repeat(string(q), 3); strings.HasPrefix(s.src[s.i:], triple) {
			s.multiline(triple, escapes)
			return
		}
		s.i++
		for !s.eof() && s.peek() != q && s.peek() != '\n' {
			if escapes && s.peek() == '\\' && s.i+1 < len(s.src) && s.src[s.i+1] != '\n' {
				s.i++
			}
			s.i++
		}
		if s.peek() == q {
			s.i++
		}
	case '[':
		s.i++
		if depth >= maxDepth {
			return
		}
		for n := 0; !s.eof(); {
			s.skipBlanks()
			switch s.peek() {
			case ']':
				s.i++
				return
			case '\n':
				s.advance()
			case '#':
				for !s.eof() && s.peek() != '\n' {
					s.i++
				}
			case ',':
				s.i++
			default:
				elem := path + "[" + strconv.Itoa(n) + "]"
				s.record(elem)
				start, line := s.i, s.line
				s.value(elem, depth+1)
				n++
				if s.i == start && s.line == line {
					s.i++
				}
			}
		}
	case '{':
		s.i++
		if depth >= maxDepth {
			return
		}
		for !s.eof() {
			s.skipBlanks()
			switch s.peek() {
			case '}':
				s.i++
				return
			case '\n': // not TOML 1.0, but do not run past the line
				return
			case ',':
				s.i++
			default:
				start := s.i
				keys, ok := s.key()
				s.skipBlanks()
				if !ok || s.peek() != '=' {
					if s.i == start {
						s.i++
					}
					continue
				}
				s.i++
				p := path
				for _, k := range keys {
					p = joinPath(p, k)
				}
				s.record(p)
				s.value(p, depth+1)
			}
		}
	default: // number, boolean, date: up to a delimiter
		for !s.eof() {
			switch s.peek() {
			case ',', ']', '}', '#', '\n', ' ', '\t', '\r':
				return
			}
			s.i++
		}
	}
}

// multiline skips a multi-line string opened by delim at s.i.
func (s *keyScanner) multiline(delim string, escapes bool) {
	s.i += len(delim)
	for !s.eof() {
		if escapes && s.peek() == '\\' && s.i+1 < len(s.src) {
			s.advance()
			s.advance()
			continue
		}
		if strings.HasPrefix(s.src[s.i:], delim) {
			s.i += len(delim)
			// Up to two more quotes may belong to the content ("""a"""").
			for k := 0; k < 2 && s.peek() == delim[0]; k++ {
				s.i++
			}
			return
		}
		s.advance()
	}
}
