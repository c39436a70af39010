package laneconfig

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/examlane/examlane/devices/transport"
)

// schemaJSON is the JSON Schema of lane.toml, generated from Config by
// generateSchema; TestSchemaUpToDate fails when the two differ (run
// `go test ./cmd/internal/laneconfig -run TestSchemaUpToDate -update`).
//
//go:embed schema.json
var schemaJSON []byte

// exampleTOML is the commented example `examlane config init` writes;
// TestExample checks that it is valid and mentions every key.
//
//go:embed example.toml
var exampleTOML []byte

// Schema returns the JSON Schema (draft 2020-12) of the lane configuration
// file. Editors that validate TOML against a JSON Schema (Taplo, the Even
// Better TOML extension) can use it.
func Schema() []byte { return slices.Clone(schemaJSON) }

// Example returns a commented example configuration file.
func Example() []byte { return slices.Clone(exampleTOML) }

// Patterns of the string formats, shared by the schema and its tests.
const (
	durationPattern = `^(0|([0-9]+d)?([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))*)$`
	linkPattern     = `^\s*[0-9]+[ ,/\t-]+[5-8][ ,/\t-]*[NEOMSneoms][ ,/\t-]*(1|1\.5|15|2)\s*$`
)

// object is a JSON object that keeps its keys in order.
type object []member

type member struct {
	key   string
	value any
}

// MarshalJSON implements json.Marshaler.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (o *object) set(key string, value any) { *o = append(*o, member{key, value}) }

// generateSchema builds the schema from the Config type's tags, with the
// defaults of Defaults.
func generateSchema() ([]byte, error) {
	defs := object{
		{"duration", object{
			{"type", "string"},
			{"minLength", 1},
			{"pattern", durationPattern},
			{"description", `A time span: a Go duration ("90s", "5m", "1h30m") or whole days, optionally followed by a Go duration ("7d", "1d12h").`},
		}},
		{"link", object{
			{"type", "string"},
			{"pattern", linkPattern},
			{"description", `A serial link setting: baud rate, then data bits, parity (N, E, O, M or S) and stop bits, e.g. "2400 7E2" or "9600 8N1".`},
		}},
	}
	root := structSchema(reflect.TypeFor[Config](), reflect.ValueOf(Defaults()).Elem(), &defs)
	head := object{
		{"$schema", "https://json-schema.org/draft/2020-12/schema"},
		{"$id", "urn:examlane:lane-config:v1"},
		{"title", "Examlane lane configuration (lane.toml)"},
		{"description", "One exam lane's configuration. Keys left out take the default shown. Generated from cmd/internal/laneconfig; do not edit."},
	}
	root = append(head, root...)
	root.set("$defs", defs)
	out, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// structSchema returns the object schema of struct type t; def holds the
// defaults (the zero Value for element types without defaults).
func structSchema(t reflect.Type, def reflect.Value, defs *object) object {
	o := object{{"type", "object"}}
	props := object{}
	var required []string
	for i := range t.NumField() {
		f := t.Field(i)
		var fd reflect.Value
		if def.IsValid() {
			fd = def.Field(i)
		}
		props.set(tomlName(f), fieldSchema(f, fd, defs))
		if f.Tag.Get("required") == "true" {
			required = append(required, tomlName(f))
		}
	}
	o.set("properties", props)
	if len(required) > 0 {
		o.set("required", required)
	}
	o.set("additionalProperties", false)
	return o
}

// fieldSchema returns the schema of one field.
func fieldSchema(f reflect.StructField, def reflect.Value, defs *object) object {
	t := f.Type
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	desc := f.Tag.Get("doc")
	minTag, maxTag := f.Tag.Get("min"), f.Tag.Get("max")
	var o object
	switch {
	case t == reflect.TypeFor[Duration]():
		o.set("$ref", "#/$defs/duration")
		if minTag != "" && maxTag != "" {
			desc += fmt.Sprintf(" From %s to %s.", minTag, maxTag)
		}
	case t == reflect.TypeFor[transport.Link]():
		o.set("$ref", "#/$defs/link")
	case t.Kind() == reflect.String:
		o.set("type", "string")
		if e := f.Tag.Get("enum"); e != "" {
			o.set("enum", strings.Split(e, "|"))
		}
		if n, err := strconv.Atoi(maxTag); err == nil {
			o.set("maxLength", n)
		}
	case t.Kind() == reflect.Bool:
		o.set("type", "boolean")
	case t.Kind() == reflect.Int:
		o.set("type", "integer")
		if n, err := strconv.Atoi(minTag); err == nil {
			o.set("minimum", n)
		}
		if n, err := strconv.Atoi(maxTag); err == nil {
			o.set("maximum", n)
		}
	case t.Kind() == reflect.Struct:
		o = structSchema(t, def, defs)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		name := tomlName(f)
		defs.set(name, structSchema(t.Elem(), reflect.Value{}, defs))
		o.set("type", "array")
		o.set("items", object{{"$ref", "#/$defs/" + name}})
	default:
		panic("laneconfig: no schema for " + t.String()) // caught by the tests
	}
	o.set("description", desc)
	if def.IsValid() && f.Type.Kind() != reflect.Pointer && t.Kind() != reflect.Struct && t.Kind() != reflect.Slice {
		if m, ok := def.Interface().(interface{ MarshalText() ([]byte, error) }); ok {
			b, _ := m.MarshalText()
			o.set("default", string(b))
		} else {
			o.set("default", def.Interface())
		}
	}
	if f.Tag.Get("secret") == "true" {
		o.set("writeOnly", true)
	}
	return o
}
