package synctest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/examlane/examlane/syncclient/fhir"
)

// urnRE finds quoted urn:uuid references in a transaction entry.
var urnRE = regexp.MustCompile(`"urn:uuid:[0-9a-fA-F-]{36}"`)

type resource struct {
	typ, id  string
	num      int // creation order, for stable sorting
	versions []*version
}

func (r *resource) cur() *version { return r.versions[len(r.versions)-1] }

type version struct {
	vid     string
	updated time.Time
	body    []byte // with id and meta
	deleted bool
	method  string
	idx     index
}

// index holds what searches look at, extracted once per version.
type index struct {
	identifiers map[string]bool // system|value
	tags        map[string]bool // system|code
	patients    map[string]bool // ids of Patient references
	subject     string          // the subject reference as Type/id (any type)
	locations   map[string]bool // ids of Location references (Appointment actors)
	start       time.Time       // Appointment.start
	changeID    string
	laneID      string
}

type jsonObj = map[string]any

func refID(v any, typ string) string {
	m, ok := v.(jsonObj)
	if !ok {
		return ""
	}
	s, _ := m["reference"].(string)
	return fhir.RefID(&fhir.Reference{Reference: s}, typ)
}

func buildIndex(obj jsonObj) index {
	ix := index{identifiers: map[string]bool{}, tags: map[string]bool{}, patients: map[string]bool{}, locations: map[string]bool{}}
	if ids, ok := obj["identifier"].([]any); ok {
		for _, i := range ids {
			if m, ok := i.(jsonObj); ok {
				sys, _ := m["system"].(string)
				val, _ := m["value"].(string)
				ix.identifiers[sys+"|"+val] = true
				if sys == fhir.SystemLaneID {
					ix.laneID = val
				}
			}
		}
	}
	if meta, ok := obj["meta"].(jsonObj); ok {
		if tags, ok := meta["tag"].([]any); ok {
			for _, t := range tags {
				if m, ok := t.(jsonObj); ok {
					sys, _ := m["system"].(string)
					code, _ := m["code"].(string)
					ix.tags[sys+"|"+code] = true
					if sys == fhir.SystemLaneID && ix.laneID == "" {
						ix.laneID = code
					}
				}
			}
		}
	}
	for _, k := range []string{"subject", "patient"} {
		if id := refID(obj[k], "Patient"); id != "" {
			ix.patients[id] = true
		}
	}
	if m, ok := obj["subject"].(jsonObj); ok {
		ref, _ := m["reference"].(string)
		ref, _, _ = strings.Cut(ref, "/_history/")
		if parts := strings.Split(ref, "/"); len(parts) >= 2 {
			ix.subject = strings.Join(parts[len(parts)-2:], "/")
		}
	}
	if parts, ok := obj["participant"].([]any); ok {
		for _, p := range parts {
			if m, ok := p.(jsonObj); ok {
				if id := refID(m["actor"], "Patient"); id != "" {
					ix.patients[id] = true
				}
				if id := refID(m["actor"], "Location"); id != "" {
					ix.locations[id] = true
				}
			}
		}
	}
	if s, ok := obj["start"].(string); ok {
		ix.start, _ = fhir.ParseTime(s)
	}
	if exts, ok := obj["extension"].([]any); ok {
		for _, e := range exts {
			if m, ok := e.(jsonObj); ok && m["url"] == fhir.ExtChangeID {
				ix.changeID, _ = m["valueString"].(string)
			}
		}
	}
	return ix
}

func (s *Server) sortedLocked(typ string) []*resource {
	out := make([]*resource, 0, len(s.res[typ]))
	for _, r := range s.res[typ] {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].num < out[j].num })
	return out
}

// parseBody checks a resource body and returns it as an object.
func parseBody(typ string, body []byte) (jsonObj, *httpErr) {
	var obj jsonObj
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, errf(http.StatusBadRequest, "invalid", "body is not a JSON object")
	}
	if obj["resourceType"] != typ {
		return nil, errf(http.StatusBadRequest, "invalid", "resourceType does not match the URL")
	}
	// Every type the lane writes must decode into the typed model.
	if _, err := fhir.Decode(body); err != nil {
		return nil, errf(http.StatusBadRequest, "invalid", "malformed resource")
	}
	return obj, nil
}

// storeLocked writes a new version of res (creating res when nil).
func (s *Server) storeLocked(typ string, res *resource, obj jsonObj, method string) result {
	now := s.now()
	status := http.StatusOK
	if res == nil {
		s.nextID++
		res = &resource{typ: typ, id: strconv.Itoa(s.nextID), num: s.nextID}
		if s.res[typ] == nil {
			s.res[typ] = map[string]*resource{}
		}
		s.res[typ][res.id] = res
		status = http.StatusCreated
	}
	vid := strconv.Itoa(len(res.versions) + 1)
	v := &version{vid: vid, updated: now, method: method}
	if obj == nil { // delete
		v.deleted = true
		if len(res.versions) > 0 {
			v.idx = res.cur().idx
		}
	} else {
		obj["id"] = res.id
		meta, _ := obj["meta"].(jsonObj)
		if meta == nil {
			meta = jsonObj{}
		}
		meta["versionId"] = vid
		meta["lastUpdated"] = s.instant(now)
		obj["meta"] = meta
		if typ == "Provenance" {
			obj["recorded"] = s.instant(now) // server time, per the contract
		}
		v.body, _ = json.Marshal(obj)
		v.idx = buildIndex(obj)
	}
	if len(res.versions) > 0 {
		s.indexLocked(typ, res, res.cur().idx, false)
	}
	res.versions = append(res.versions, v)
	if !v.deleted {
		s.indexLocked(typ, res, v.idx, true)
	}
	s.writes = append(s.writes, WriteRecord{Seq: len(s.writes) + 1, Type: typ, ID: res.id, VersionID: vid,
		Method: method, LaneID: v.idx.laneID, ChangeID: v.idx.changeID, At: now})
	return result{status: status, r: res, v: v}
}

// indexLocked adds (or removes) a version's identifiers and tags to the
// lookup index used by conditional creates.
func (s *Server) indexLocked(typ string, res *resource, ix index, add bool) {
	for _, m := range []map[string]bool{ix.identifiers, ix.tags} {
		for k := range m {
			key := typ + "|" + k
			if add {
				if s.byKey[key] == nil {
					s.byKey[key] = map[*resource]bool{}
				}
				s.byKey[key][res] = true
			} else {
				delete(s.byKey[key], res)
			}
		}
	}
}

// conditionalMatchLocked finds the live resources matching an If-None-Exist
// query ("identifier=sys|val" or "_tag=sys|code", else any search).
func (s *Server) conditionalMatchLocked(typ, cond string) ([]*resource, *httpErr) {
	q, err := url.ParseQuery(cond)
	if err != nil || len(q) == 0 {
		return nil, errf(http.StatusBadRequest, "invalid", "bad If-None-Exist")
	}
	if len(q) == 1 {
		for _, p := range []string{"identifier", "_tag"} {
			if vals := q[p]; len(vals) == 1 {
				var out []*resource
				for r := range s.byKey[typ+"|"+vals[0]] {
					out = append(out, r)
				}
				return out, nil
			}
		}
	}
	return s.searchLocked(typ, q)
}

func (s *Server) createLocked(typ string, body []byte, ifNoneExist string) (result, *httpErr) {
	obj, herr := parseBody(typ, body)
	if herr != nil {
		return result{}, herr
	}
	if ifNoneExist != "" {
		m, herr := s.conditionalMatchLocked(typ, ifNoneExist)
		if herr != nil {
			return result{}, herr
		}
		switch len(m) {
		case 0:
		case 1:
			return result{status: http.StatusOK, r: m[0], v: m[0].cur()}, nil
		default:
			return result{}, errf(http.StatusPreconditionFailed, "duplicate", "If-None-Exist matched several resources")
		}
	}
	delete(obj, "id")
	return s.storeLocked(typ, nil, obj, http.MethodPost), nil
}

func (s *Server) readLocked(typ, id, vid string) (result, *httpErr) {
	res := s.res[typ][id]
	if res == nil {
		return result{}, errf(http.StatusNotFound, "not-found", "unknown resource")
	}
	if vid == "" {
		if res.cur().deleted {
			return result{}, errf(http.StatusGone, "deleted", "resource deleted")
		}
		return result{status: http.StatusOK, r: res, v: res.cur()}, nil
	}
	for _, v := range res.versions {
		if v.vid == vid {
			if v.deleted {
				return result{}, errf(http.StatusGone, "deleted", "version is a deletion")
			}
			return result{status: http.StatusOK, r: res, v: v}, nil
		}
	}
	return result{}, errf(http.StatusNotFound, "not-found", "unknown version")
}

func etagVersion(h string) string {
	h = strings.TrimSpace(h)
	h = strings.TrimPrefix(h, "W/")
	return strings.Trim(h, `"`)
}

func (s *Server) checkUpdateLocked(typ, id, ifMatch string) (*resource, *httpErr) {
	res := s.res[typ][id]
	if res == nil {
		return nil, errf(http.StatusNotFound, "not-found", "unknown resource")
	}
	if res.cur().deleted {
		return nil, errf(http.StatusGone, "deleted", "resource deleted")
	}
	if ifMatch == "" {
		return nil, errf(http.StatusPreconditionRequired, "required", "If-Match required")
	}
	if etagVersion(ifMatch) != res.cur().vid {
		return nil, errf(http.StatusPreconditionFailed, "conflict", "version mismatch")
	}
	return res, nil
}

func (s *Server) updateLocked(typ, id string, body []byte, ifMatch string) (result, *httpErr) {
	res, herr := s.checkUpdateLocked(typ, id, ifMatch)
	if herr != nil {
		return result{}, herr
	}
	obj, herr := parseBody(typ, body)
	if herr != nil {
		return result{}, herr
	}
	if bid, ok := obj["id"].(string); ok && bid != id {
		return result{}, errf(http.StatusBadRequest, "invalid", "id in body does not match the URL")
	}
	return s.storeLocked(typ, res, obj, http.MethodPut), nil
}

func (s *Server) deleteLocked(typ, id, ifMatch string) (result, *httpErr) {
	res := s.res[typ][id]
	if res == nil {
		return result{}, errf(http.StatusNotFound, "not-found", "unknown resource")
	}
	if res.cur().deleted {
		return result{status: http.StatusOK, r: res, v: res.cur()}, nil // deleting twice is harmless
	}
	if ifMatch != "" && etagVersion(ifMatch) != res.cur().vid {
		return result{}, errf(http.StatusPreconditionFailed, "conflict", "version mismatch")
	}
	return s.storeLocked(typ, res, nil, http.MethodDelete), nil
}

// searchLocked returns the live resources of typ matching q, ordered by
// lastUpdated then creation.
func (s *Server) searchLocked(typ string, q url.Values) ([]*resource, *httpErr) {
	var preds []func(*resource, *version) bool
	for k, vals := range q {
		for _, val := range vals {
			val := val
			switch k {
			case "_id":
				ids := map[string]bool{}
				for _, id := range strings.Split(val, ",") {
					ids[id] = true
				}
				preds = append(preds, func(r *resource, _ *version) bool { return ids[r.id] })
			case "identifier":
				preds = append(preds, func(_ *resource, v *version) bool { return v.idx.identifiers[val] })
			case "_tag":
				preds = append(preds, func(_ *resource, v *version) bool { return v.idx.tags[val] })
			case "patient", "subject":
				// a comma-separated list; subject also names non-patient
				// subjects (Basic?subject=ImagingStudy/<id>)
				pats, subjects := map[string]bool{}, map[string]bool{}
				for _, ref := range strings.Split(val, ",") {
					if id, ok := strings.CutPrefix(ref, "Patient/"); ok || !strings.Contains(ref, "/") {
						pats[id] = true
					} else if k == "subject" {
						subjects[ref] = true
					}
				}
				preds = append(preds, func(_ *resource, v *version) bool {
					for id := range v.idx.patients {
						if pats[id] {
							return true
						}
					}
					return subjects[v.idx.subject]
				})
			case "actor":
				id := strings.TrimPrefix(val, "Location/")
				preds = append(preds, func(_ *resource, v *version) bool { return v.idx.locations[id] })
			case "_lastUpdated", "date":
				op, t, herr := parsePrefixed(val)
				if herr != nil {
					return nil, herr
				}
				field := func(v *version) time.Time { return v.updated }
				if k == "date" {
					field = func(v *version) time.Time { return v.idx.start }
				}
				preds = append(preds, func(_ *resource, v *version) bool { return compare(field(v), op, t) })
			}
		}
	}
	var out []*resource
	for _, r := range s.sortedLocked(typ) {
		v := r.cur()
		if v.deleted {
			continue
		}
		ok := true
		for _, p := range preds {
			if !p(r, v) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].cur().updated.Before(out[j].cur().updated) })
	return out, nil
}

func parsePrefixed(val string) (string, time.Time, *httpErr) {
	op := "eq"
	for _, p := range []string{"gt", "ge", "lt", "le", "eq"} {
		if strings.HasPrefix(val, p) {
			op, val = p, val[2:]
			break
		}
	}
	t, err := fhir.ParseTime(val)
	if err != nil {
		return "", time.Time{}, errf(http.StatusBadRequest, "invalid", "bad date parameter")
	}
	return op, t, nil
}

func compare(a time.Time, op string, b time.Time) bool {
	switch op {
	case "gt":
		return a.After(b)
	case "ge":
		return !a.Before(b)
	case "lt":
		return a.Before(b)
	case "le":
		return !a.After(b)
	}
	return a.Equal(b)
}

// transactionLocked checks every entry first and only then writes, so a
// failing entry leaves nothing behind.
func (s *Server) transactionLocked(b *fhir.Bundle) (*fhir.Bundle, *httpErr) {
	type plan struct {
		method, typ, id string
		existing        *resource // POST matched by ifNoneExist
		body            []byte
	}
	plans := make([]plan, len(b.Entry))
	urnTo := map[string]string{} // urn:uuid:x → Type/id
	nextID := s.nextID
	for i, e := range b.Entry {
		if e.Request == nil {
			return nil, errf(http.StatusBadRequest, "invalid", "transaction entry without request")
		}
		u := strings.TrimPrefix(e.Request.URL, s.URL+FHIRBase+"/")
		parts := strings.Split(strings.SplitN(u, "?", 2)[0], "/")
		p := plan{method: e.Request.Method, typ: parts[0], body: e.Resource}
		if !knownTypes[p.typ] {
			return nil, errf(http.StatusBadRequest, "invalid", "unknown type in transaction")
		}
		switch p.method {
		case http.MethodPost:
			if e.Request.IfNoneExist != "" {
				m, herr := s.conditionalMatchLocked(p.typ, e.Request.IfNoneExist)
				if herr != nil {
					return nil, herr
				}
				if len(m) > 1 {
					return nil, errf(http.StatusPreconditionFailed, "duplicate", "ifNoneExist matched several resources")
				}
				if len(m) == 1 {
					p.existing = m[0]
				}
			}
			if p.existing != nil {
				p.id = p.existing.id
			} else {
				nextID++
				p.id = strconv.Itoa(nextID) // the id storeLocked will assign
			}
			if strings.HasPrefix(e.FullURL, "urn:uuid:") {
				urnTo[e.FullURL] = p.typ + "/" + p.id
			}
		case http.MethodPut:
			if len(parts) != 2 {
				return nil, errf(http.StatusBadRequest, "invalid", "PUT needs Type/id")
			}
			p.id = parts[1]
			if _, herr := s.checkUpdateLocked(p.typ, p.id, e.Request.IfMatch); herr != nil {
				return nil, herr
			}
		case http.MethodDelete:
			if len(parts) != 2 {
				return nil, errf(http.StatusBadRequest, "invalid", "DELETE needs Type/id")
			}
			p.id = parts[1]
			res := s.res[p.typ][p.id]
			if res == nil {
				return nil, errf(http.StatusNotFound, "not-found", "unknown resource")
			}
			if e.Request.IfMatch != "" && !res.cur().deleted && etagVersion(e.Request.IfMatch) != res.cur().vid {
				return nil, errf(http.StatusPreconditionFailed, "conflict", "version mismatch")
			}
		default:
			return nil, errf(http.StatusBadRequest, "invalid", "unsupported method in transaction")
		}
		if p.body != nil && p.method != http.MethodDelete {
			if _, herr := parseBody(p.typ, p.body); herr != nil {
				return nil, herr
			}
		}
		plans[i] = p
	}
	rewrite := func(body []byte) []byte {
		return urnRE.ReplaceAllFunc(body, func(m []byte) []byte {
			if ref, ok := urnTo[string(m[1:len(m)-1])]; ok {
				return []byte(`"` + ref + `"`)
			}
			return m
		})
	}
	resp := &fhir.Bundle{ResourceType: "Bundle", Type: b.Type + "-response"}
	for _, p := range plans {
		var out result
		var herr *httpErr
		switch {
		case p.method == http.MethodPost && p.existing != nil:
			out = result{status: http.StatusOK, r: p.existing, v: p.existing.cur()}
		case p.method == http.MethodPost:
			var obj jsonObj
			_ = json.Unmarshal(rewrite(p.body), &obj) // checked while planning
			delete(obj, "id")
			out = s.storeLocked(p.typ, nil, obj, http.MethodPost)
		case p.method == http.MethodPut:
			var obj jsonObj
			_ = json.Unmarshal(rewrite(p.body), &obj)
			out = s.storeLocked(p.typ, s.res[p.typ][p.id], obj, http.MethodPut)
		case p.method == http.MethodDelete:
			out, herr = s.deleteLocked(p.typ, p.id, "")
		}
		if herr != nil { // cannot happen after the checks above
			return nil, herr
		}
		status := strconv.Itoa(out.status) + " " + http.StatusText(out.status)
		if p.method == http.MethodDelete {
			status = "204 No Content"
		}
		entry := fhir.BundleEntry{Response: &fhir.BundleResponse{
			Status:       status,
			Location:     p.typ + "/" + out.r.id + "/_history/" + out.v.vid,
			Etag:         `W/"` + out.v.vid + `"`,
			LastModified: s.instant(out.v.updated),
		}}
		if p.method != http.MethodDelete {
			entry.FullURL = s.URL + FHIRBase + "/" + p.typ + "/" + out.r.id
			entry.Resource = out.v.body
		}
		resp.Entry = append(resp.Entry, entry)
	}
	return resp, nil
}
