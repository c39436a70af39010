package laneconfig

import (
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestIndexKeys(t *testing.T) {
	src := `# comment with key = "x"
title = "a # not a comment" # comment
[lane]
name = 'Lane "1"'
"quoted key" = 1
notes = """
port = "inside a string"
"""
lit = '''
[[instrument]]
'''
list = [
  1, # a comment ] with a bracket
  [2, 3],
  "]",
]
[ session ]
lock_timeout = "5m"
a.b . c = true

[[instrument]]
name = "A"
[instrument.extra]
x = 1

[[instrument]]
name = "B"
inline = { link = "9600 8N1", nested = { deep = 1 } }
port = "COM1"

[[camera]]
folder = '/x'
[[camera.sub]]
k = 1
[[camera]]
folder = "/y"
[[camera.sub]]
k = 2
[[camera.sub]]
k = 3
tables = [ { a = 1 }, { a = 2 } ]
`
	if _, err := toml.Decode(src, new(map[string]any)); err != nil {
		t.Fatalf("test input is not TOML: %v", err)
	}
	want := keyIndex{
		"title":                            2,
		"lane":                             3,
		"lane.name":                        4,
		"lane.quoted key":                  5,
		"lane.notes":                       6,
		"lane.lit":                         9,
		"lane.list":                        12,
		"lane.list[0]":                     13,
		"lane.list[1]":                     14,
		"lane.list[1][0]":                  14,
		"lane.list[1][1]":                  14,
		"lane.list[2]":                     15,
		"session":                          17,
		"session.lock_timeout":             18,
		"session.a.b.c":                    19,
		"instrument":                       21,
		"instrument[0]":                    21,
		"instrument[0].name":               22,
		"instrument[0].extra":              23,
		"instrument[0].extra.x":            24,
		"instrument[1]":                    26,
		"instrument[1].name":               27,
		"instrument[1].inline":             28,
		"instrument[1].inline.link":        28,
		"instrument[1].inline.nested":      28,
		"instrument[1].inline.nested.deep": 28,
		"instrument[1].port":               29,
		"camera":                           31,
		"camera[0]":                        31,
		"camera[0].folder":                 32,
		"camera[0].sub":                    33,
		"camera[0].sub[0]":                 33,
		"camera[0].sub[0].k":               34,
		"camera[1]":                        35,
		"camera[1].folder":                 36,
		"camera[1].sub":                    37,
		"camera[1].sub[0]":                 37,
		"camera[1].sub[0].k":               38,
		"camera[1].sub[1]":                 39,
		"camera[1].sub[1].k":               40,
		"camera[1].sub[1].tables":          41,
		"camera[1].sub[1].tables[0]":       41,
		"camera[1].sub[1].tables[0].a":     41,
		"camera[1].sub[1].tables[1]":       41,
		"camera[1].sub[1].tables[1].a":     41,
	}
	got := indexKeys([]byte(src))
	if !reflect.DeepEqual(got, want) {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("line of %q = %d, want %d", k, got[k], v)
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected %q at line %d", k, v)
			}
		}
	}
	for path, line := range map[string]int{
		"instrument[1].inline.link": 28, // exact
		"instrument[1].missing":     26, // the table header
		"instrument[0].extra.y":     23,
		"nothing.here":              0,
		"":                          0,
	} {
		if l := got.line(path); l != line {
			t.Errorf("line(%q) = %d, want %d", path, l, line)
		}
	}
}

func TestIndexKeysTerminates(t *testing.T) {
	for _, src := range []string{
		"[", "[[", "a", "a =", "a = \"", "a = '''", `a = """\`, "a = [", "a = {", "a = { b", "a = { b = [",
		"= 1", "\"unterminated = 1", "[a.\"b]", strings.Repeat("[", 10000), "a = " + strings.Repeat("[", 10000),
		"a = " + strings.Repeat("{b=", 10000), "\x00\xff = 1", "a = { = }", "a.\n= 1",
	} {
		_ = indexKeys([]byte(src)) // must return
	}
}
