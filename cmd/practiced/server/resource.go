package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
)

// ResourceTypes lists the FHIR resource types the server accepts, in the
// order the CapabilityStatement shows them.
var ResourceTypes = []string{
	"Patient", "Appointment", "Encounter", "Observation", "VisionPrescription",
	"Practitioner", "PractitionerRole", "Location", "Device", "DocumentReference",
	"Binary", "Media", "ImagingStudy", "AuditEvent", "Provenance", "Basic",
}

// typeInfo says where the extracted search columns come from in a type's
// JSON. Paths walk objects by key and flatten arrays.
type typeInfo struct {
	patient [][]string // references, the first "Patient/<id>" one is the patient
	date    [][]string // the first present one is the date
	actor   [][]string // references indexed as param "actor"
	subject [][]string // references indexed as param "subject" (a subject of any type)
}

var typeInfos = map[string]typeInfo{
	"Patient":            {},
	"Appointment":        {patient: [][]string{{"participant", "actor", "reference"}}, date: [][]string{{"start"}}, actor: [][]string{{"participant", "actor", "reference"}}},
	"Encounter":          {patient: [][]string{{"subject", "reference"}}, date: [][]string{{"period", "start"}}},
	"Observation":        {patient: [][]string{{"subject", "reference"}}, date: [][]string{{"effectiveDateTime"}, {"effectivePeriod", "start"}, {"effectiveInstant"}, {"issued"}}},
	"VisionPrescription": {patient: [][]string{{"patient", "reference"}}, date: [][]string{{"dateWritten"}}},
	"Practitioner":       {},
	"PractitionerRole":   {},
	"Location":           {},
	"Device":             {patient: [][]string{{"patient", "reference"}}},
	"DocumentReference":  {patient: [][]string{{"subject", "reference"}}, date: [][]string{{"date"}}},
	"Binary":             {},
	"Media":              {patient: [][]string{{"subject", "reference"}}, date: [][]string{{"createdDateTime"}, {"createdPeriod", "start"}}},
	"ImagingStudy":       {patient: [][]string{{"subject", "reference"}}, date: [][]string{{"started"}}},
	"AuditEvent":         {patient: [][]string{{"entity", "what", "reference"}}, date: [][]string{{"recorded"}}},
	"Provenance":         {patient: [][]string{{"target", "reference"}}, date: [][]string{{"recorded"}}},
	// Basic holds the lanes' image annotations: subject is the image.
	"Basic": {patient: [][]string{{"subject", "reference"}}, date: [][]string{{"created"}}, subject: [][]string{{"subject", "reference"}}},
}

// knownType reports whether the server accepts resources of type t.
func knownType(t string) bool { _, ok := typeInfos[t]; return ok }

var idRE = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// validID reports whether s is a valid FHIR logical id.
func validID(s string) bool { return idRE.MatchString(s) }

// maxResourceBytes bounds one resource (a Binary carries base64 data).
const maxResourceBytes = 32 << 20

// parseResource decodes one resource JSON object, keeping numbers exact
// (json.Number), and checks resourceType and id.
func parseResource(body []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, lane.Invalidf("resource is not a JSON object: %v", jsonErr(err))
	}
	if d.More() {
		return nil, lane.Invalidf("resource: trailing data after the JSON object")
	}
	if err := checkResource(m); err != nil {
		return nil, err
	}
	return m, nil
}

// checkResource validates the parts of a decoded resource the server relies
// on.
func checkResource(m map[string]any) error {
	if m == nil {
		return lane.Invalidf("resource is not a JSON object")
	}
	t, _ := m["resourceType"].(string)
	if t == "" {
		return lane.Invalidf("resource: missing resourceType")
	}
	if !knownType(t) {
		return lane.Invalidf("resource type %q is not supported", t)
	}
	if v, ok := m["id"]; ok {
		id, _ := v.(string)
		if !validID(id) {
			return lane.Invalidf("resource: malformed id")
		}
	}
	if v, ok := m["meta"]; ok {
		if _, ok := v.(map[string]any); !ok {
			return lane.Invalidf("resource: meta is not an object")
		}
	}
	return nil
}

// jsonErr returns a decode error's message without echoing input bytes.
func jsonErr(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("syntax error at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Sprintf("unexpected %s at byte %d", e.Value, e.Offset)
	}
	if err.Error() == "EOF" || err.Error() == "unexpected EOF" {
		return "unexpected end of input"
	}
	return "malformed JSON"
}

// encodeJSON marshals v without HTML escaping and without a trailing
// newline.
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// token is one multi-valued search key of a resource.
type token struct{ param, system, value string }

// index is what the server extracts from a resource for searching.
type index struct {
	patient string // "Patient/<id>" or ""
	date    *int64 // Unix ms of the start of the resource's date
	tokens  []token
}

// extractIndex computes a resource's search columns. loc is the time zone
// for dates without one.
func extractIndex(m map[string]any, loc *time.Location) index {
	var ix index
	t, _ := m["resourceType"].(string)
	info := typeInfos[t]
	for _, p := range info.patient {
		for _, v := range collect(m, p) {
			if ref, ok := v.(string); ok {
				if r := normalRef(ref); strings.HasPrefix(r, "Patient/") {
					ix.patient = r
					break
				}
			}
		}
		if ix.patient != "" {
			break
		}
	}
	for _, p := range info.date {
		for _, v := range collect(m, p) {
			s, ok := v.(string)
			if !ok {
				continue
			}
			if lo, _, _, err := parseFHIRTime(s, loc); err == nil {
				ms := lo.UnixMilli()
				ix.date = &ms
				break
			}
		}
		if ix.date != nil {
			break
		}
	}
	for _, rp := range []struct {
		param string
		paths [][]string
	}{{"actor", info.actor}, {"subject", info.subject}} {
		for _, p := range rp.paths {
			for _, v := range collect(m, p) {
				if ref, ok := v.(string); ok {
					if r := normalRef(ref); r != "" {
						ix.tokens = append(ix.tokens, token{param: rp.param, value: r})
					}
				}
			}
		}
	}
	for _, v := range collect(m, []string{"identifier"}) {
		id, ok := v.(map[string]any)
		if !ok {
			continue
		}
		sys, _ := id["system"].(string)
		val, _ := id["value"].(string)
		if val != "" {
			ix.tokens = append(ix.tokens, token{param: "identifier", system: sys, value: val})
		}
	}
	for _, v := range collect(m, []string{"meta", "tag"}) {
		tag, ok := v.(map[string]any)
		if !ok {
			continue
		}
		sys, _ := tag["system"].(string)
		code, _ := tag["code"].(string)
		if code != "" {
			ix.tokens = append(ix.tokens, token{param: "_tag", system: sys, value: code})
		}
	}
	return ix
}

// collect walks path through v, flattening arrays, and returns the values
// found at the end.
func collect(v any, path []string) []any {
	if len(path) == 0 {
		if a, ok := v.([]any); ok {
			return a
		}
		return []any{v}
	}
	switch x := v.(type) {
	case map[string]any:
		next, ok := x[path[0]]
		if !ok {
			return nil
		}
		return collect(next, path[1:])
	case []any:
		var out []any
		for _, e := range x {
			out = append(out, collect(e, path)...)
		}
		return out
	}
	return nil
}

// normalRef turns a literal reference ("Patient/1", an absolute URL ending
// in Patient/1, or Patient/1/_history/2) into "Type/id"; "" when it is not
// one (contained, urn:uuid, malformed).
func normalRef(ref string) string {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) < 2 {
		return ""
	}
	typ, id := parts[len(parts)-2], parts[len(parts)-1]
	if !knownType(typ) || !validID(id) {
		return ""
	}
	if len(parts) > 2 && !strings.Contains(ref, "://") {
		return ""
	}
	return typ + "/" + id
}

// rewriteRefs replaces every "reference" string found in m that is a key of
// repl (urn:uuid fullUrls of a transaction) by its value.
func rewriteRefs(v any, repl map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "reference" {
				if r, ok := repl[s]; ok {
					x[k] = r
				}
				continue
			}
			rewriteRefs(e, repl)
		}
	case []any:
		for _, e := range x {
			rewriteRefs(e, repl)
		}
	}
}

// setMeta stamps id, meta.versionId and meta.lastUpdated on m, keeping
// the rest of meta (tags, profiles, security labels).
func setMeta(m map[string]any, id string, version int64, at time.Time) {
	m["id"] = id
	meta, _ := m["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["versionId"] = fmt.Sprint(version)
	meta["lastUpdated"] = instant(at)
	m["meta"] = meta
}

// instant formats t as a FHIR instant with millisecond precision in UTC.
func instant(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// parseFHIRTime parses a FHIR date, dateTime or instant. A value with a
// time is a point (lo == hi); a partial date is the range [lo, hi) in loc.
func parseFHIRTime(s string, loc *time.Location) (lo, hi time.Time, point bool, err error) {
	if loc == nil {
		loc = time.Local
	}
	if strings.Contains(s, "T") {
		for _, f := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04Z07:00"} {
			var t time.Time
			if strings.HasSuffix(f, "Z07:00") {
				t, err = time.Parse(f, s)
			} else {
				t, err = time.ParseInLocation(f, s, loc)
			}
			if err == nil {
				return t, t, true, nil
			}
		}
		return lo, hi, false, lane.Invalidf("malformed dateTime")
	}
	switch len(s) {
	case 4:
		lo, err = time.ParseInLocation("2006", s, loc)
		hi = lo.AddDate(1, 0, 0)
	case 7:
		lo, err = time.ParseInLocation("2006-01", s, loc)
		hi = lo.AddDate(0, 1, 0)
	case 10:
		lo, err = time.ParseInLocation("2006-01-02", s, loc)
		hi = lo.AddDate(0, 0, 1)
	default:
		err = fmt.Errorf("length")
	}
	if err != nil {
		return lo, hi, false, lane.Invalidf("malformed date")
	}
	return lo, hi, false, nil
}

// stringsSorted returns the map's keys sorted.
func stringsSorted[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
