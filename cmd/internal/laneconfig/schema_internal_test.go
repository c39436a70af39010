package laneconfig

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

var update = flag.Bool("update", false, "rewrite schema.json from the Config type")

func TestSchemaUpToDate(t *testing.T) {
	got, err := generateSchema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("schema.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, schemaJSON) {
		t.Errorf("schema.json is out of date with the Config type: run\n\tgo test ./cmd/internal/laneconfig -run TestSchemaUpToDate -update\nand review the diff")
	}
	if !bytes.Equal(Schema(), schemaJSON) {
		t.Error("Schema() differs from the embedded schema")
	}
}

// TestSchemaAgreesWithParse validates documents with both the embedded
// schema (by a small validator of the keywords it uses) and Parse: what the
// schema can express, both must accept or refuse alike.
func TestSchemaAgreesWithParse(t *testing.T) {
	var schema map[string]any
	if err := json.Unmarshal(schemaJSON, &schema); err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	if schema["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", schema["$schema"])
	}
	tests := []struct {
		name string
		src  string
		ok   bool
	}{
		{"example", string(exampleTOML), true},
		{"example uncommented", uncomment(exampleTOML), true},
		{"empty", "", true},
		{"days and hours", "[session]\noffline_sign_in = \"1d12h\"\n", true},
		{"zero", "[session]\noffline_sign_in = \"0\"\n", true},
		{"link override", "[[instrument]]\nname = \"A\"\nprofile = \"nidek-rt5100\"\nport = \"COM1\"\nlink = \"9600,8,N,1\"\n", true},
		{"unknown key", "[lane]\nnmae = \"x\"\n", false},
		{"unknown table", "[lanes]\n", false},
		{"wrong type", "[backup]\nkeep = \"7\"\n", false},
		{"int below minimum", "[backup]\nkeep = 0\n", false},
		{"int above maximum", "[log]\nmax_size_mib = 2048\n", false},
		{"enum", "[log]\nlevel = \"trace\"\n", false},
		{"bad duration", "[session]\nlock_timeout = \"5 min\"\n", false},
		{"empty duration", "[session]\nlock_timeout = \"\"\n", false},
		{"bad link", "[[instrument]]\nname = \"A\"\nprofile = \"nidek-rt5100\"\nport = \"COM1\"\nlink = \"fast\"\n", false},
		{"missing required", "[[instrument]]\nprofile = \"nidek-rt5100\"\nport = \"COM1\"\n", false},
		{"too long", "[lane]\nname = \"" + strings.Repeat("é", 65) + "\"\n", false},
		{"instrument not a table", "instrument = [1]\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc map[string]any
			if _, err := toml.Decode(tt.src, &doc); err != nil {
				t.Fatal(err)
			}
			js, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			var inst any
			dec := json.NewDecoder(bytes.NewReader(js))
			dec.UseNumber()
			if err := dec.Decode(&inst); err != nil {
				t.Fatal(err)
			}
			v := &validator{root: schema}
			v.validate(schema, inst, "")
			schemaOK := len(v.errs) == 0
			_, _, perr := Parse("t.toml", []byte(tt.src), ParseOptions{Dir: "/", LoadProfiles: builtinOnly})
			parseOK := perr == nil
			if schemaOK != tt.ok || parseOK != tt.ok {
				t.Errorf("schema ok = %v (%q), Parse ok = %v (%v); want both %v", schemaOK, v.errs, parseOK, perr, tt.ok)
			}
		})
	}
}

// validator checks a JSON value against the subset of JSON Schema 2020-12
// that schema.json uses: $ref to #/$defs, type, properties,
// additionalProperties false, required, enum, minimum, maximum, minLength,
// maxLength, pattern and items. It fails the test on any other keyword, so
// the schema cannot grow a rule this check ignores.
type validator struct {
	root map[string]any
	errs []string
}

var knownKeywords = []string{"$schema", "$id", "$defs", "$ref", "title", "description", "default", "writeOnly",
	"type", "properties", "additionalProperties", "required", "enum", "minimum", "maximum", "minLength",
	"maxLength", "pattern", "items"}

func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, path+": "+fmt.Sprintf(format, args...))
}

func (v *validator) validate(s map[string]any, x any, path string) {
	for k := range s {
		if !slices.Contains(knownKeywords, k) {
			panic("schema keyword " + k + " is not checked by the test validator")
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/$defs/")
		def, ok := v.root["$defs"].(map[string]any)[name].(map[string]any)
		if !ok {
			panic("unresolved $ref " + ref)
		}
		v.validate(def, x, path)
	}
	if typ, ok := s["type"].(string); ok {
		okType := false
		switch typ {
		case "object":
			_, okType = x.(map[string]any)
		case "array":
			_, okType = x.([]any)
		case "string":
			_, okType = x.(string)
		case "boolean":
			_, okType = x.(bool)
		case "integer":
			if n, isNum := x.(json.Number); isNum {
				_, err := n.Int64()
				okType = err == nil
			}
		default:
			panic("type " + typ)
		}
		if !okType {
			v.fail(path, "not %s", typ)
			return
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, x) {
		v.fail(path, "%v not in enum", x)
	}
	if n, ok := x.(json.Number); ok {
		i, _ := n.Int64()
		if m, ok := s["minimum"].(float64); ok && float64(i) < m {
			v.fail(path, "below minimum")
		}
		if m, ok := s["maximum"].(float64); ok && float64(i) > m {
			v.fail(path, "above maximum")
		}
	}
	if str, ok := x.(string); ok {
		if m, ok := s["minLength"].(float64); ok && float64(utf8.RuneCountInString(str)) < m {
			v.fail(path, "shorter than minLength")
		}
		if m, ok := s["maxLength"].(float64); ok && float64(utf8.RuneCountInString(str)) > m {
			v.fail(path, "longer than maxLength")
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			v.fail(path, "%q does not match the pattern", str)
		}
	}
	if obj, ok := x.(map[string]any); ok {
		props, _ := s["properties"].(map[string]any)
		for k, val := range obj {
			ps, known := props[k].(map[string]any)
			if !known {
				if s["additionalProperties"] == false {
					v.fail(path+"."+k, "unknown property")
				}
				continue
			}
			v.validate(ps, val, path+"."+k)
		}
		req, _ := s["required"].([]any)
		for _, r := range req {
			if _, ok := obj[r.(string)]; !ok {
				v.fail(path, "missing %v", r)
			}
		}
	}
	if arr, ok := x.([]any); ok {
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range arr {
				v.validate(items, e, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
}

// TestSchemaDescribesEveryKey checks that every field has a key and a
// description, and that the tags' ranges parse.
func TestSchemaDescribesEveryKey(t *testing.T) {
	var walk func(rt reflect.Type, path string)
	walk = func(rt reflect.Type, path string) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			key := joinPath(path, tomlName(f))
			if tomlName(f) == "" || f.Tag.Get("doc") == "" {
				t.Errorf("%s (%s): no toml key or doc tag", key, f.Name)
			}
			ft := f.Type
			if m := f.Tag.Get("min"); m != "" && ft == reflect.TypeFor[Duration]() {
				if _, err := ParseDuration(m); err != nil {
					t.Errorf("%s: min tag: %v", key, err)
				}
			}
			switch {
			case ft.Kind() == reflect.Struct && ft != reflect.TypeFor[Duration]():
				walk(ft, key)
			case ft.Kind() == reflect.Slice:
				walk(ft.Elem(), key)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
}

// TestExampleMentionsEveryKey checks that the example file shows every key,
// set or commented out, in its table.
func TestExampleMentionsEveryKey(t *testing.T) {
	tables := map[string]string{} // table header → the text up to the next header
	cur := ""
	for _, line := range strings.Split(uncomment(exampleTOML), "\n") {
		if h := strings.TrimSpace(line); strings.HasPrefix(h, "[") {
			cur = strings.Trim(h, "[]")
			continue
		}
		tables[cur] += line + "\n"
	}
	var walk func(rt reflect.Type, table string)
	walk = func(rt reflect.Type, table string) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			name := tomlName(f)
			ft := f.Type
			switch {
			case ft.Kind() == reflect.Struct && ft != reflect.TypeFor[Duration]():
				walk(ft, name)
			case ft.Kind() == reflect.Slice:
				walk(ft.Elem(), name)
			default:
				re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` = `)
				if !re.MatchString(tables[table]) {
					t.Errorf("example.toml: [%s] does not show %q", table, name)
				}
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
}
