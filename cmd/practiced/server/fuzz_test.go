package server

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzParseResource: any body either is refused or round-trips through the
// server's encoding and index extraction.
func FuzzParseResource(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","identifier":[{"system":"urn:examlane:id","value":"x"}],"birthDate":"1980-01-01"}`))
	f.Add([]byte(`{"resourceType":"Appointment","start":"2025-05-01T09:00:00+02:00","participant":[{"actor":{"reference":"Patient/a"}},{"actor":{"reference":"https://h/fhir/R4/Location/b/_history/2"}}]}`))
	f.Add([]byte(`{"resourceType":"Observation","subject":{"reference":"Patient/1"},"effectivePeriod":{"start":"2024"},"valueQuantity":{"value":-2.250}}`))
	f.Add([]byte(`{"resourceType":"Provenance","meta":{"tag":[{"system":"s","code":"c"}]},"target":[{"reference":"urn:uuid:1"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := parseResource(body)
		if err != nil {
			return
		}
		ix := extractIndex(m, time.UTC)
		if ix.patient != "" && !strings.HasPrefix(ix.patient, "Patient/") {
			t.Fatalf("patient index %q", ix.patient)
		}
		setMeta(m, "id-1", 3, time.UnixMilli(1700000000000))
		enc, err := encodeJSON(m)
		if err != nil {
			return // e.g. a number json.Number cannot re-encode
		}
		m2, err := parseResource(enc)
		if err != nil {
			t.Fatalf("stored body does not parse again: %v", err)
		}
		if m2["id"] != "id-1" || m2["meta"].(map[string]any)["versionId"] != "3" {
			t.Fatalf("meta lost: %v", m2["meta"])
		}
		rewriteRefs(m2, map[string]string{"urn:uuid:1": "Patient/p"})
	})
}

// FuzzParseSearch: any query is refused or yields SQL whose placeholders
// match its arguments.
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{
		"_id=a,b&identifier=urn:examlane:id|x,|y,z&_lastUpdated=gt2025-01-01T00:00:00Z&_count=10&_sort=-_lastUpdated",
		"patient=Patient/1,2&date=ge2025-05-01&date=lt2025-05-02&actor=Location/l",
		"_tag=urn:examlane:id|binary:x&_summary=count&_total=none",
		"identifier=a\\|b|c&location=x&_cursor=MTcwMDAwMDAwMDAwMC41",
	} {
		f.Add("Appointment", s)
	}
	f.Add("Basic", "subject=ImagingStudy/1,https://h/fhir/R4/DocumentReference/2/_history/3&patient=Patient/p&_lastUpdated=ge2025-01-01")
	f.Fuzz(func(t *testing.T, typ, query string) {
		if !knownType(typ) {
			typ = "Observation"
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		sq, err := parseSearch(typ, q, time.UTC)
		if err != nil {
			return
		}
		for _, c := range sq.conds {
			if n := strings.Count(c.sql, "?"); n != len(c.args) {
				t.Fatalf("condition %q has %d placeholders, %d args", c.sql, n, len(c.args))
			}
		}
		if sq.count < 0 || sq.count > maxCount {
			t.Fatalf("count %d", sq.count)
		}
	})
}

// FuzzParseTransaction: any body is refused or gives checked operations.
func FuzzParseTransaction(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=s|v"}},{"request":{"method":"DELETE","url":"Observation/x"}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Encounter","id":"e"},"request":{"method":"PUT","url":"/fhir/R4/Encounter/e","ifMatch":"W/\"2\""}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ops, err := parseTransaction(body)
		if err != nil {
			return
		}
		for _, op := range ops {
			if !knownType(op.typ) {
				t.Fatalf("unknown type %q accepted", op.typ)
			}
			if op.method != "DELETE" && op.res == nil {
				t.Fatalf("%s without resource", op.method)
			}
			if op.method != "POST" && !validID(op.id) {
				t.Fatalf("%s with id %q", op.method, op.id)
			}
		}
	})
}

// FuzzDICOM: reading and rendering any bytes never panics, and a file the
// server accepts has valid UIDs.
func FuzzDICOM(f *testing.F) {
	j, _ := fundusJPEG(fundusOptions{Width: 16, Height: 12, Seed: 1})
	op, _ := buildOPDICOM(opInstance{PatientID: "DEMO-F", StudyUID: "1.2.3", SeriesUID: "1.2.3.4", SOPUID: "1.2.3.4.5", Laterality: "L", JPEG: j, Acquired: time.Unix(0, 0)})
	f.Add(op)
	f.Add(buildNativeDICOM("1.2.3.4.6", "1.2.3", "1.2.3.4", 4, 2, 1, []byte{0, 1, 2, 3, 4, 5, 6, 7}))
	f.Add(buildNativeDICOM("1.2.3.4.7", "1.2.3", "1.2.3.4", 2, 2, 3, bytes.Repeat([]byte{9}, 12)))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := readDICOMInfo(data)
		if err == nil {
			for _, uid := range []string{in.SOPInstance, in.Study, in.Series, in.SOPClass, in.TransferSyntax} {
				if !validUID(uid) {
					t.Fatalf("accepted UID %q", uid)
				}
			}
		}
		_, _ = renderJPEG(data)
	})
}

// FuzzEnrollRequest: the enrolment request fields are parsed safely, and
// code normalisation is idempotent.
func FuzzEnrollRequest(f *testing.F) {
	_, csr := newCSR(f)
	f.Add([]byte(`{"code_id":"AB12","csr":`+strings.ReplaceAll(jsonString(csr), "\n", `\n`)+`,"lane":"Lane 1","proof":"AAAA"}`), "ab12-cdef-ghjk-mnpq")
	f.Add([]byte(`{"code_id":"0oIl"}`), "0oIl 1111 2222 3333")
	f.Fuzz(func(t *testing.T, body []byte, code string) {
		if c, err := NormalizeCode(code); err == nil {
			if len(c) != 19 {
				t.Fatalf("canonical %q", c)
			}
			if c2, err := NormalizeCode(c); err != nil || c2 != c {
				t.Fatalf("not idempotent: %q → %q", c, c2)
			}
			if id, ok := normalizeCodeID(c[:4]); !ok || id != c[:4] {
				t.Fatalf("code id of %q", c)
			}
		}
		var req EnrollRequest
		if json.Unmarshal(body, &req) != nil {
			return
		}
		_, _ = normalizeCodeID(req.CodeID)
		if der, pub, err := parseCSR(req.CSR); err == nil && (len(der) == 0 || pub == nil) {
			t.Fatal("parseCSR accepted without key")
		}
	})
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

// FuzzParseFHIRTime: ranges are well formed.
func FuzzParseFHIRTime(f *testing.F) {
	for _, s := range []string{"2025", "2025-05", "2025-05-01", "2025-05-01T09:00:00Z", "2025-05-01T09:00:00.123+02:00", "2025-05-01T09:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lo, hi, point, err := parseFHIRTime(s, time.UTC)
		if err != nil {
			return
		}
		if point && !lo.Equal(hi) || !point && !lo.Before(hi) {
			t.Fatalf("%q: lo %v hi %v point %v", s, lo, hi, point)
		}
	})
}

// FuzzHeaders: If-Match, If-None-Exist and paging cursors from clients.
func FuzzHeaders(f *testing.F) {
	f.Add(`W/"3"`, "identifier=urn:examlane:id|abc", cursor{1700000000000, 42}.encode())
	f.Add(`"1"`, "_tag=urn:examlane:provenance|k", "bad")
	f.Fuzz(func(t *testing.T, etag, ifNone, cur string) {
		if v, err := parseETag(etag); err == nil && v < 1 {
			t.Fatalf("version %d from %q", v, etag)
		}
		if iq, err := parseIfNoneExist(ifNone); err == nil && (iq.value == "" || (iq.param != "identifier" && iq.param != "_tag")) {
			t.Fatalf("criterion %+v from %q", iq, ifNone)
		}
		if c, err := decodeCursor(cur); err == nil {
			if c2, err := decodeCursor(c.encode()); err != nil || c2 != c {
				t.Fatalf("cursor round trip %v", c)
			}
		}
	})
}

func TestMarshalBundle(t *testing.T) {
	b := bundle{ResourceType: "Bundle", Type: "history", Entry: []entry{
		{FullURL: "https://h/fhir/R4/Patient/1", Resource: []byte(`{"resourceType":"Patient","id":"1"}`), Search: &entrySearch{Mode: "match"}},
		{Request: &entryRequest{Method: "DELETE", URL: "Patient/2"}},
		{Resource: []byte(`{"resourceType":"Patient","id":"3"}`)},
	}}
	got, err := marshalBundle(b)
	if err != nil || !json.Valid(got) {
		t.Fatalf("invalid JSON %s %v", got, err)
	}
	want, _ := json.Marshal(b)
	var g, w any
	json.Unmarshal(got, &g)
	json.Unmarshal(want, &w)
	gs, _ := json.Marshal(g)
	ws, _ := json.Marshal(w)
	if !bytes.Equal(gs, ws) {
		t.Errorf("marshalBundle\n%s\nencoding/json\n%s", gs, ws)
	}
}
