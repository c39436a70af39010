package laneconfig

import (
	"encoding"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/devices/transport"
	"github.com/examlane/examlane/lane"
)

// Problem is one thing wrong with a configuration file.
type Problem struct {
	// File is the file's name as given to Parse.
	File string
	// Line is the 1-based line the problem is on, 0 when it concerns the
	// whole file (or a key that is missing).
	Line int
	// Key is the dotted key the problem is about, e.g. "session.lock_timeout"
	// ("instrument.port" for any [[instrument]]); empty for syntax errors.
	Key string
	// Msg says what is wrong, in words; it never repeats a secret's value.
	Msg string
}

// String formats the problem as `FILE:LINE: key "x.y": problem`.
func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc += ":" + strconv.Itoa(p.Line)
	}
	if p.Key != "" {
		return fmt.Sprintf("%s: key %q: %s", loc, p.Key, p.Msg)
	}
	return loc + ": " + p.Msg
}

// Error is a configuration that could not be used; it lists every problem
// found. It wraps lane.ErrInvalid.
type Error struct {
	Problems []Problem
}

// Error returns the first problem and how many more there are.
func (e *Error) Error() string {
	switch len(e.Problems) {
	case 0:
		return "laneconfig: invalid configuration"
	case 1:
		return e.Problems[0].String()
	}
	return fmt.Sprintf("%s (and %d more problems)", e.Problems[0], len(e.Problems)-1)
}

// Unwrap returns lane.ErrInvalid.
func (e *Error) Unwrap() error { return lane.ErrInvalid }

// issue is a problem before it is placed: path has array indexes
// ("instrument[1].port").
type issue struct {
	path string
	msg  string
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

// place turns issues into problems of file name with lines from ix.
func place(name string, ix keyIndex, issues []issue) []Problem {
	out := make([]Problem, 0, len(issues))
	for _, is := range issues {
		out = append(out, Problem{File: name, Line: ix.line(is.path), Key: indexRE.ReplaceAllString(is.path, ""), Msg: is.msg})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

// ParseOptions says how Parse resolves what a file refers to.
type ParseOptions struct {
	// Dir is the directory relative paths in the file are resolved
	// against, normally the file's own; empty: the working directory.
	Dir string
	// Home replaces a leading "~" in paths; empty: a path starting with
	// "~/" is a problem.
	Home string
	// LoadProfiles loads the instrument profiles, built-in plus the file
	// devices.profiles names ("" for the built-ins alone); profile.Load
	// when nil.
	LoadProfiles func(path string) (*profile.Set, error)
}

// Parse decodes a lane configuration, fills in the defaults for every key
// it leaves out, resolves its paths and validates it, including that every
// instrument's profile exists and fits how it is connected. name is the
// file's name as problems should show it. On failure the error is an
// *Error listing every problem found (a syntax or type error stops the
// check early, since what follows cannot be trusted).
func Parse(name string, data []byte, opts ParseOptions) (*Config, *profile.Set, error) {
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, nil, &Error{Problems: []Problem{syntaxProblem(name, err)}}
	}
	ix := indexKeys(data)
	var issues []issue
	checkTypes(raw, reflect.TypeFor[Config](), "", &issues)
	if len(issues) > 0 {
		return nil, nil, &Error{Problems: place(name, ix, issues)}
	}
	cfg := Defaults()
	md, err := toml.Decode(string(data), cfg)
	if err != nil { // checkTypes accepts only what decodes; this is a safety net
		return nil, nil, &Error{Problems: []Problem{syntaxProblem(name, err)}}
	}
	for _, k := range md.Undecoded() {
		issues = append(issues, issue{path: k.String(), msg: "unknown key"})
	}
	if len(issues) > 0 {
		return nil, nil, &Error{Problems: place(name, ix, issues)}
	}
	cfg.resolvePaths(opts, &issues)
	set, more := cfg.validate(opts.LoadProfiles)
	issues = append(issues, more...)
	if len(issues) > 0 {
		return nil, nil, &Error{Problems: place(name, ix, issues)}
	}
	return cfg, set, nil
}

var lastKeyLineRE = regexp.MustCompile(`^toml: line (\d+)(?: \(last key "([^"]*)"\))?: (.*)$`)

// syntaxProblem turns a TOML decoding error into a problem with its line.
func syntaxProblem(name string, err error) Problem {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		p := Problem{File: name, Line: pe.Position.Line, Msg: pe.Message}
		if pe.LastKey != "" && !strings.Contains(pe.Message, pe.LastKey) {
			p.Key = pe.LastKey
		}
		return p
	}
	if m := lastKeyLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{File: name, Line: line, Key: m[2], Msg: m[3]}
	}
	return Problem{File: name, Msg: err.Error()}
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// tomlName returns the key a struct field is read from.
func tomlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return name
}

// checkTypes compares a decoded TOML value with the Go type it will be
// decoded into and records every unknown key, every value of the wrong
// type and every text value its type refuses (a bad duration or link).
func checkTypes(v any, t reflect.Type, path string, issues *[]issue) {
	add := func(msg string) { *issues = append(*issues, issue{path: path, msg: msg}) }
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		s, ok := v.(string)
		if !ok {
			add(fmt.Sprintf("want %s, got %s", describeType(t), describeValue(v)))
			return
		}
		nv := reflect.New(t).Interface().(encoding.TextUnmarshaler)
		if err := nv.UnmarshalText([]byte(s)); err != nil {
			add(strings.TrimSuffix(err.Error(), ": "+lane.ErrInvalid.Error()))
		}
		return
	}
	ok := true
	switch t.Kind() {
	case reflect.String:
		_, ok = v.(string)
	case reflect.Bool:
		_, ok = v.(bool)
	case reflect.Int:
		var n int64
		if n, ok = v.(int64); ok && (n < -1<<31 || n > 1<<31-1) {
			add(fmt.Sprintf("%d is out of range", n))
		}
	case reflect.Struct:
		m, isMap := v.(map[string]any)
		if !isMap {
			ok = false
			break
		}
		fields := map[string]reflect.StructField{}
		var names []string
		for i := range t.NumField() {
			f := t.Field(i)
			fields[tomlName(f)] = f
			names = append(names, tomlName(f))
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f, known := fields[k]
			if !known {
				msg := "unknown key"
				if s := suggest(k, names); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				*issues = append(*issues, issue{path: joinPath(path, k), msg: msg})
				continue
			}
			checkTypes(m[k], f.Type, joinPath(path, k), issues)
		}
	case reflect.Slice:
		var elems []any
		switch s := v.(type) {
		case []map[string]any:
			for _, e := range s {
				elems = append(elems, e)
			}
		case []any:
			elems = s
		default:
			ok = false
		}
		for i, e := range elems {
			checkTypes(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", issues)
		}
	default:
		panic("laneconfig: no type check for " + t.String()) // caught by the tests
	}
	if !ok {
		add(fmt.Sprintf("want %s, got %s", describeType(t), describeValue(v)))
	}
}

// describeType says in words what a value of t is written as.
func describeType(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Duration]():
		return `a duration such as "5m", "12h" or "7d"`
	case reflect.TypeFor[transport.Link]():
		return `a serial link such as "9600 8N1"`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "a whole number"
	case reflect.Struct:
		return "a table"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return "an array of tables"
		}
		return "an array"
	}
	return "a string"
}

// describeValue says in words what a decoded TOML value is.
func describeValue(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "a whole number"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	case time.Time:
		return "a date or time"
	}
	return fmt.Sprintf("%T", v)
}

// suggest returns the name in names closest to k when it is close enough to
// be a typo or a plural.
func suggest(k string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(strings.ToLower(k), n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// resolvePaths expands "~" and makes every path key (tag path:"true")
// absolute against opts.Dir.
func (c *Config) resolvePaths(opts ParseOptions, issues *[]issue) {
	walkFields(reflect.ValueOf(c).Elem(), "", func(f reflect.StructField, v reflect.Value, key string) {
		if f.Tag.Get("path") != "true" || v.Kind() != reflect.String || v.String() == "" {
			return
		}
		p := v.String()
		if p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, `~\`) {
			if opts.Home == "" {
				*issues = append(*issues, issue{path: key, msg: `cannot expand "~": no home directory known`})
				return
			}
			p = filepath.Join(opts.Home, p[1:])
		}
		if !filepath.IsAbs(p) {
			dir := opts.Dir
			if dir == "" {
				dir, _ = os.Getwd()
			}
			p = filepath.Join(dir, p)
		}
		v.SetString(filepath.Clean(p))
	})
}

// walkFields calls fn for every field of the struct v, depth first, with
// the field's key path ("instrument[1].port"); it descends into structs,
// slices of structs and non-nil pointers.
func walkFields(v reflect.Value, path string, fn func(f reflect.StructField, v reflect.Value, key string)) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		fv := v.Field(i)
		key := joinPath(path, tomlName(f))
		fn(f, fv, key)
		switch {
		case fv.Kind() == reflect.Struct && !reflect.PointerTo(fv.Type()).Implements(textUnmarshaler):
			walkFields(fv, key, fn)
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
			for j := range fv.Len() {
				walkFields(fv.Index(j), key+"["+strconv.Itoa(j)+"]", fn)
			}
		}
	}
}
