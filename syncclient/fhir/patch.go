package fhir

import (
	"bytes"
	"encoding/json"
	"strings"
)

// owned lists, per resource type, the top-level elements the lane writes.
// Patch replaces these (or removes them when the lane leaves them empty) and
// keeps every other element of the server's copy untouched.
var owned = map[string][]string{
	"Patient":     {"identifier", "name", "telecom", "gender", "birthDate", "address", "extension"},
	"Appointment": {"identifier", "status", "reasonCode", "start", "end", "participant", "extension"},
	"Encounter": {"identifier", "status", "class", "subject", "participant", "appointment", "period",
		"reasonCode", "location", "extension"},
	"Observation": {"identifier", "status", "category", "code", "subject", "encounter", "effectiveDateTime",
		"issued", "performer", "valueQuantity", "dataAbsentReason", "note", "bodySite", "method", "device",
		"component", "contained", "extension",
		// other choices of value[x] and effective[x] must go when ours is written
		"valueCodeableConcept", "valueString", "valueBoolean", "valueInteger", "valueRange", "valueRatio",
		"valueSampledData", "valueTime", "valueDateTime", "valuePeriod", "effectivePeriod", "effectiveTiming",
		"effectiveInstant"},
	"VisionPrescription": {"identifier", "status", "created", "patient", "encounter", "dateWritten",
		"prescriber", "lensSpecification", "extension"},
	"DocumentReference": {"identifier", "status", "type", "subject", "date", "author", "content", "context",
		"contained", "extension"},
	"ImagingStudy": {"identifier", "status", "subject", "encounter", "started", "numberOfSeries",
		"numberOfInstances", "series", "contained", "extension"},
	"AuditEvent": {"type", "subtype", "action", "recorded", "outcome", "purposeOfEvent", "agent", "source",
		"entity", "extension"},
	"Basic": {"identifier", "code", "subject", "created", "author", "extension"},
}

// element keys the lane models inside the one array element it reads back
// (the official name, the first address, the first phone and e-mail);
// Patch merges these into the server's element and keeps the rest of it.
var elementKeys = map[string][]string{
	"name":    {"use", "text", "family", "given", "prefix"},
	"address": {"line", "city", "state", "postalCode", "country"},
	"telecom": {"system", "value"},
}

// Patch writes the elements of res the lane owns onto raw, the server's JSON
// of the same resource as last pulled, and returns the result. Elements the
// lane does not model survive, as do:
//   - extensions whose URL is not Examlane's (ours replace ours);
//   - identifiers in systems the lane does not write;
//   - names, addresses and telecoms other than the one the lane reads, and
//     unknown keys inside the one it reads;
//   - meta and id (id is res's when set).
//
// A generated narrative (text.status = generated) is dropped because it may
// no longer match the data. Extensions nested inside replaced elements
// (components, lens specifications) are not preserved.
func Patch(raw []byte, res Resource) ([]byte, error) {
	var base map[string]json.RawMessage
	if err := json.Unmarshal(raw, &base); err != nil {
		return nil, invalidf("patch: server copy: %v", err)
	}
	oursJSON, err := Marshal(res)
	if err != nil {
		return nil, err
	}
	var ours map[string]json.RawMessage
	if err := json.Unmarshal(oursJSON, &ours); err != nil {
		return nil, invalidf("patch: %v", err)
	}
	typ := Type(res)
	if t := unquote(base["resourceType"]); t != "" && t != typ {
		return nil, invalidf("patch: server copy is a %s, not a %s", t, typ)
	}
	keys, ok := owned[typ]
	if !ok {
		return oursJSON, nil
	}
	for _, k := range keys {
		v, have := ours[k]
		switch k {
		case "extension":
			v, have = mergeExtensions(base[k], v)
		case "identifier":
			v, have = mergeIdentifiers(base[k], v)
		case "name", "address", "telecom":
			v, have = mergeElements(k, base[k], v)
		}
		if have {
			base[k] = v
		} else {
			delete(base, k)
		}
	}
	if id, ok := ours["id"]; ok {
		base["id"] = id
	}
	base["resourceType"] = ours["resourceType"]
	var text struct {
		Status string `json:"status"`
	}
	if t, ok := base["text"]; ok && json.Unmarshal(t, &text) == nil && text.Status == "generated" {
		delete(base, "text")
	}
	out, err := json.Marshal(base)
	if err != nil {
		return nil, invalidf("patch: %v", err)
	}
	return out, nil
}

func unquote(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

func rawArray(raw json.RawMessage) []json.RawMessage {
	var a []json.RawMessage
	_ = json.Unmarshal(raw, &a)
	return a
}

func encodeArray(a []json.RawMessage) (json.RawMessage, bool) {
	if len(a) == 0 {
		return nil, false
	}
	b, err := json.Marshal(a)
	return b, err == nil
}

// mergeExtensions keeps the server's foreign extensions and replaces
// Examlane's with ours.
func mergeExtensions(server, ours json.RawMessage) (json.RawMessage, bool) {
	var out []json.RawMessage
	for _, e := range rawArray(server) {
		var x struct {
			URL string `json:"url"`
		}
		if json.Unmarshal(e, &x) == nil && strings.HasPrefix(x.URL, extBase) {
			continue
		}
		out = append(out, e)
	}
	return encodeArray(append(out, rawArray(ours)...))
}

// mergeIdentifiers keeps the server's identifiers in systems we do not
// write and replaces ours.
func mergeIdentifiers(server, ours json.RawMessage) (json.RawMessage, bool) {
	mine := map[string]bool{SystemLaneID: true}
	oursA := rawArray(ours)
	for _, o := range oursA {
		var id Identifier
		if json.Unmarshal(o, &id) == nil {
			mine[id.System] = true
		}
	}
	// The server's urn:examlane:id identifier is the record's creation
	// identity (the lane that made it finds it by that id): another lane's
	// update never replaces it.
	var out []json.RawMessage
	keepsLaneID := false
	for _, s := range rawArray(server) {
		var id Identifier
		if json.Unmarshal(s, &id) == nil && mine[id.System] {
			if id.System != SystemLaneID || id.Value == "" {
				continue
			}
			keepsLaneID = true
		}
		out = append(out, s)
	}
	for _, o := range oursA {
		var id Identifier
		if keepsLaneID && json.Unmarshal(o, &id) == nil && id.System == SystemLaneID {
			continue
		}
		out = append(out, o)
	}
	return encodeArray(out)
}

// mergeElements replaces, for each element of ours, the server element the
// lane would have read it from, merging keys; other server elements stay.
func mergeElements(key string, server, ours json.RawMessage) (json.RawMessage, bool) {
	srv := rawArray(server)
	used := make([]bool, len(srv))
	var out []json.RawMessage
	for _, o := range rawArray(ours) {
		i := matchElement(key, srv, used, o)
		if i < 0 {
			out = append(out, o)
			continue
		}
		used[i] = true
		out = append(out, mergeObject(srv[i], o, elementKeys[key]))
	}
	// elements the lane maps but no longer has are removed; the rest stay
	for i, s := range srv {
		if !used[i] && !readByLane(key, srv, i) {
			out = append(out, s)
		}
	}
	return encodeArray(out)
}

// readByLane reports whether the lane maps srv[i] (so that leaving it out of
// ours means it was cleared).
func readByLane(key string, srv []json.RawMessage, i int) bool {
	switch key {
	case "name":
		var names []HumanName
		for _, s := range srv {
			var n HumanName
			_ = json.Unmarshal(s, &n)
			names = append(names, n)
		}
		p := pickName(names)
		return p != nil && p == &names[i]
	case "address":
		return i == 0
	case "telecom":
		var c ContactPoint
		_ = json.Unmarshal(srv[i], &c)
		if c.System != "phone" && c.System != "email" {
			return false
		}
		for j := 0; j < i; j++ {
			var d ContactPoint
			_ = json.Unmarshal(srv[j], &d)
			if d.System == c.System {
				return false
			}
		}
		return true
	}
	return false
}

func matchElement(key string, srv []json.RawMessage, used []bool, o json.RawMessage) int {
	switch key {
	case "telecom":
		var c ContactPoint
		_ = json.Unmarshal(o, &c)
		for i, s := range srv {
			var d ContactPoint
			if !used[i] && json.Unmarshal(s, &d) == nil && d.System == c.System && readByLane(key, srv, i) {
				return i
			}
		}
	default:
		for i := range srv {
			if !used[i] && readByLane(key, srv, i) {
				return i
			}
		}
	}
	return -1
}

// mergeObject writes ours over server for the keys the lane models and
// keeps the server's other keys.
func mergeObject(server, ours json.RawMessage, keys []string) json.RawMessage {
	var s, o map[string]json.RawMessage
	if json.Unmarshal(server, &s) != nil || json.Unmarshal(ours, &o) != nil {
		return ours
	}
	for _, k := range keys {
		if v, ok := o[k]; ok {
			s[k] = v
		} else {
			delete(s, k)
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return ours
	}
	return bytes.TrimSpace(b)
}
