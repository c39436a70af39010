package fhir

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/examlane/examlane/lane"
)

// FuzzDecodeBundle feeds outside bytes to DecodeBundle: it must never panic,
// and whatever it accepts must map back to FHIR.
func FuzzDecodeBundle(f *testing.F) {
	if raw, err := os.ReadFile(filepath.Join("testdata", "bundles", "transaction.json")); err == nil {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := DecodeBundle(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, r := range recs {
			if _, err := (Mapper{}).ToFHIR(r); err != nil {
				// Values read from FHIR must be writable again, except a
				// prism with no base, which the reader cannot produce.
				t.Errorf("ToFHIR(%T) after decode: %v", r, err)
			}
		}
	})
}

// FuzzDecodeResource feeds outside bytes to Decode and FromFHIR, then maps
// accepted records back and reads them again: the second read must succeed.
func FuzzDecodeResource(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	for _, p := range files {
		if raw, err := os.ReadFile(p); err == nil {
			f.Add(raw)
		}
	}
	m := Mapper{}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Decode(data)
		if err != nil {
			return
		}
		rec, err := m.FromFHIR(res)
		if err != nil {
			return
		}
		var out Resource
		if a, ok := rec.(lane.Annotation); ok {
			out, err = m.Basic(a, subjectType(res.(*Basic)))
		} else {
			out, err = m.ToFHIR(rec)
		}
		if err != nil {
			t.Fatalf("ToFHIR after FromFHIR: %v", err)
		}
		readBack(t, m, out) // the second read must succeed
		// Patching our own output onto the input must not fail either.
		if _, err := Patch(data, out); err != nil && Type(out) == Type(res) {
			// data decoded as a resource, so it is a JSON object of that type
			t.Fatalf("Patch: %v", err)
		}
	})
}
