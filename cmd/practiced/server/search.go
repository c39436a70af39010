package server

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
)

// Paging limits.
const (
	defaultCount = 50
	maxCount     = 500
)

// bundle is a FHIR Bundle as the server writes it.
type bundle struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id,omitempty"`
	Meta         *bundleMeta  `json:"meta,omitempty"`
	Type         string       `json:"type"`
	Total        *int         `json:"total,omitempty"`
	Link         []bundleLink `json:"link,omitempty"`
	Entry        []entry      `json:"entry,omitempty"`
}

type bundleMeta struct {
	LastUpdated string `json:"lastUpdated"`
}

type bundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type entry struct {
	FullURL  string         `json:"fullUrl,omitempty"`
	Resource rawJSON        `json:"resource,omitempty"`
	Search   *entrySearch   `json:"search,omitempty"`
	Request  *entryRequest  `json:"request,omitempty"`
	Response *entryResponse `json:"response,omitempty"`
}

type entrySearch struct {
	Mode string `json:"mode"`
}

type entryRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

type entryResponse struct {
	Status       string  `json:"status"`
	Location     string  `json:"location,omitempty"`
	Etag         string  `json:"etag,omitempty"`
	LastModified string  `json:"lastModified,omitempty"`
	Outcome      rawJSON `json:"outcome,omitempty"`
}

// marshalBundle encodes a Bundle, splicing each entry's stored resource in
// as is: stored bodies are compact JSON this server encoded, so they need no
// second validation pass (encoding/json would re-scan every RawMessage).
func marshalBundle(b bundle) ([]byte, error) {
	entries := b.Entry
	b.Entry = nil
	head, err := encodeJSON(b)
	if err != nil || len(entries) == 0 {
		return head, err
	}
	size := len(head) + 16
	for _, e := range entries {
		size += len(e.Resource) + 200
	}
	out := make([]byte, 0, size)
	out = append(out, head[:len(head)-1]...)
	out = append(out, `,"entry":[`...)
	for i, e := range entries {
		if i > 0 {
			out = append(out, ',')
		}
		res := e.Resource
		e.Resource = nil
		eb, err := encodeJSON(e)
		if err != nil {
			return nil, err
		}
		if len(res) == 0 {
			out = append(out, eb...)
			continue
		}
		out = append(out, eb[:len(eb)-1]...)
		if len(eb) > 2 {
			out = append(out, ',')
		}
		out = append(out, `"resource":`...)
		out = append(out, res...)
		out = append(out, '}')
	}
	return append(out, "]}"...), nil
}

// writeBundle answers with a Bundle.
func writeBundle(w http.ResponseWriter, b bundle) {
	body, err := marshalBundle(b)
	if err != nil {
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", fhirJSON)
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// cond is a SQL condition with its arguments.
type cond struct {
	sql  string
	args []any
}

// searchQuery is a parsed search.
type searchQuery struct {
	conds     []cond
	count     int
	desc      bool
	countOnly bool
	noTotal   bool
	cursor    *cursor
	offset    int // _offset, for clients that page without links
}

// cursor is the keyset position after the last entry of a page.
type cursor struct{ lu, seq int64 }

// encode returns the cursor as an opaque token.
func (c cursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d.%d", c.lu, c.seq)))
}

// decodeCursor reads a token made by encode.
func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, lane.Invalidf("malformed paging cursor")
	}
	a, c, ok := strings.Cut(string(b), ".")
	lu, err1 := strconv.ParseInt(a, 10, 64)
	seq, err2 := strconv.ParseInt(c, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return cursor{}, lane.Invalidf("malformed paging cursor")
	}
	return cursor{lu, seq}, nil
}

// parseSearch turns the query of GET /<typ>?... into SQL conditions on
// resources r. Unknown parameters are refused (400) rather than ignored, so
// that a client's typo cannot silently widen a pull.
func parseSearch(typ string, q url.Values, loc *time.Location) (*searchQuery, error) {
	sq := &searchQuery{count: defaultCount}
	info := typeInfos[typ]
	for _, name := range stringsSorted(q) {
		for _, v := range q[name] {
			var err error
			switch name {
			case "_id":
				var ids []any
				for _, id := range splitRaw(v, ',') {
					ids = append(ids, unescape(id))
				}
				sq.conds = append(sq.conds, inCond("r.id", ids))
			case "identifier", "_tag":
				err = sq.token(name, v)
			case "_lastUpdated":
				err = sq.dateCond("r.last_updated", v, loc)
			case "patient", "subject":
				if name == "subject" && len(info.subject) > 0 {
					// a subject of any type, e.g. Basic?subject=ImagingStudy/<id>
					var refs []any
					for _, p := range splitRaw(v, ',') {
						ref := normalRef(unescape(p))
						if ref == "" {
							return nil, lane.Invalidf("subject: want <Type>/<id>")
						}
						refs = append(refs, ref)
					}
					sq.conds = append(sq.conds, refTokenCond("subject", refs))
					break
				}
				if len(info.patient) == 0 {
					return nil, lane.Invalidf("search parameter %q is not supported for %s", name, typ)
				}
				var refs []any
				for _, p := range splitRaw(v, ',') {
					ref := refValue(unescape(p), "Patient")
					if ref == "" {
						return nil, lane.Invalidf("%s: want Patient/<id>", name)
					}
					refs = append(refs, ref)
				}
				sq.conds = append(sq.conds, inCond("r.patient", refs))
			case "date":
				if len(info.date) == 0 {
					return nil, lane.Invalidf("search parameter %q is not supported for %s", name, typ)
				}
				err = sq.dateCond("r.date", v, loc)
			case "actor", "location":
				if len(info.actor) == 0 {
					return nil, lane.Invalidf("search parameter %q is not supported for %s", name, typ)
				}
				var refs []any
				for _, p := range splitRaw(v, ',') {
					p = unescape(p)
					ref := normalRef(p)
					if name == "location" {
						ref = refValue(p, "Location")
					}
					if ref == "" {
						return nil, lane.Invalidf("%s: want <Type>/<id>", name)
					}
					refs = append(refs, ref)
				}
				sq.conds = append(sq.conds, refTokenCond("actor", refs))
			case "_count":
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return nil, lane.Invalidf("_count: want a number ≥ 0")
				}
				sq.count = min(n, maxCount)
			case "_sort":
				switch v {
				case "_lastUpdated":
					sq.desc = false
				case "-_lastUpdated":
					sq.desc = true
				default:
					return nil, lane.Invalidf("_sort: only _lastUpdated and -_lastUpdated are supported")
				}
			case "_summary":
				if v != "count" {
					return nil, lane.Invalidf("_summary: only count is supported")
				}
				sq.countOnly = true
			case "_total":
				sq.noTotal = v == "none"
			case "_offset":
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return nil, lane.Invalidf("_offset: want a number ≥ 0")
				}
				sq.offset = n
			case "_format", "_pretty":
			case "_cursor":
				c, err := decodeCursor(v)
				if err != nil {
					return nil, err
				}
				sq.cursor = &c
			default:
				return nil, lane.Invalidf("search parameter %q is not supported", truncate(name, 40))
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return sq, nil
}

// refValue reads a reference search value "Type/id" or a bare id as
// "Type/id" of the wanted type; "" when malformed or of another type.
func refValue(v, typ string) string {
	if !strings.Contains(v, "/") {
		if !validID(v) {
			return ""
		}
		return typ + "/" + v
	}
	ref := normalRef(v)
	if !strings.HasPrefix(ref, typ+"/") {
		return ""
	}
	return ref
}

// inCond builds "col IN (?, ...)".
func inCond(col string, vals []any) cond {
	return cond{sql: col + " IN (" + strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",") + ")", args: vals}
}

// refTokenCond matches resources with a reference indexed as param (actor,
// subject) equal to one of refs.
func refTokenCond(param string, refs []any) cond {
	c := inCond("t.value", refs)
	return cond{
		sql:  `EXISTS (SELECT 1 FROM resource_tokens t WHERE t.tenant=r.tenant AND t.type=r.type AND t.id=r.id AND t.param=? AND ` + c.sql + `)`,
		args: append([]any{param}, c.args...),
	}
}

// token adds an identifier or _tag criterion a|b,c|d (OR within the list).
func (sq *searchQuery) token(param, v string) error {
	var ors []string
	var args []any
	for _, p := range splitRaw(v, ',') {
		iq, err := parseIdentifier(p)
		if err != nil {
			return err
		}
		if iq.hasSystem {
			ors = append(ors, "(t.value=? AND t.system=?)")
			args = append(args, iq.value, iq.system)
		} else {
			ors = append(ors, "t.value=?")
			args = append(args, iq.value)
		}
	}
	sq.conds = append(sq.conds, cond{
		sql:  `EXISTS (SELECT 1 FROM resource_tokens t WHERE t.tenant=r.tenant AND t.type=r.type AND t.id=r.id AND t.param=? AND (` + strings.Join(ors, " OR ") + `))`,
		args: append([]any{param}, args...),
	})
	return nil
}

// dateCond adds a prefixed date criterion (eq, gt, ge, lt, le) on col
// (Unix ms). A value with a time is an instant; a partial date is a range.
func (sq *searchQuery) dateCond(col, v string, loc *time.Location) error {
	prefix := "eq"
	if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' {
		prefix, v = v[:2], v[2:]
	}
	lo, hi, point, err := parseFHIRTime(v, loc)
	if err != nil {
		return err
	}
	l, h := lo.UnixMilli(), hi.UnixMilli()
	var c cond
	switch {
	case prefix == "eq" && point:
		c = cond{col + " = ?", []any{l}}
	case prefix == "eq":
		c = cond{col + " >= ? AND " + col + " < ?", []any{l, h}}
	case prefix == "gt" && point:
		c = cond{col + " > ?", []any{l}}
	case prefix == "gt":
		c = cond{col + " >= ?", []any{h}}
	case prefix == "ge":
		c = cond{col + " >= ?", []any{l}}
	case prefix == "lt":
		c = cond{col + " < ?", []any{l}}
	case prefix == "le" && point:
		c = cond{col + " <= ?", []any{l}}
	case prefix == "le":
		c = cond{col + " < ?", []any{h}}
	default:
		return lane.Invalidf("date prefix %q is not supported (eq, gt, ge, lt, le)", prefix)
	}
	sq.conds = append(sq.conds, c)
	return nil
}

// search handles GET /<Type>?...
func (s *Server) search(w http.ResponseWriter, r *http.Request, typ string) {
	now := s.clock.Now() // taken before the snapshot: the watermark never skips a commit
	q := r.URL.Query()
	sq, err := parseSearch(typ, q, s.loc)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tenant := callerOf(r.Context()).Tenant
	where := []string{"r.tenant = ?", "r.type = ?", "r.deleted = 0"}
	args := []any{tenant, typ}
	for _, c := range sq.conds {
		where = append(where, c.sql)
		args = append(args, c.args...)
	}
	b := bundle{ResourceType: "Bundle", ID: lane.NewID(), Meta: &bundleMeta{LastUpdated: instant(now)}, Type: "searchset"}
	var page []stored
	var more bool
	err = s.db.read(r.Context(), func(tx *sql.Tx) error {
		if !sq.noTotal || sq.countOnly {
			var total int
			if err := tx.QueryRowContext(r.Context(), `SELECT count(*) FROM resources r WHERE `+strings.Join(where, " AND "), args...).Scan(&total); err != nil {
				return fmt.Errorf("search count: %w", err)
			}
			b.Total = &total
		}
		if sq.countOnly || sq.count == 0 {
			return nil
		}
		pw, pargs := where, args
		order := "r.last_updated, r.seq"
		if sq.cursor != nil {
			op := ">"
			if sq.desc {
				op = "<"
			}
			pw = append(append([]string{}, where...), "(r.last_updated, r.seq) "+op+" (?, ?)")
			pargs = append(append([]any{}, args...), sq.cursor.lu, sq.cursor.seq)
		}
		if sq.desc {
			order = "r.last_updated DESC, r.seq DESC"
		}
		var err error
		page, more, err = queryPage(r.Context(), tx,
			`SELECT r.type, r.id, r.version, r.last_updated, r.seq, h.body FROM resources r JOIN resource_history h ON h.seq=r.seq WHERE `+strings.Join(pw, " AND ")+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
			append(pargs, sq.count+1, sq.offset), sq.count)
		return err
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	base := baseURL(r) + fhirBase
	self := base + "/" + typ
	if enc := q.Encode(); enc != "" {
		self += "?" + enc
	}
	b.Link = []bundleLink{{Relation: "self", URL: self}}
	if more {
		last := page[len(page)-1]
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("_cursor", cursor{last.LastUpdated.UnixMilli(), last.Seq}.encode())
		nq.Del("_offset") // the cursor already starts after this page
		b.Link = append(b.Link, bundleLink{Relation: "next", URL: base + "/" + typ + "?" + nq.Encode()})
	}
	for _, st := range page {
		e := entry{FullURL: base + "/" + st.Type + "/" + st.ID, Resource: st.Body, Search: &entrySearch{Mode: "match"}}
		b.Entry = append(b.Entry, e)
		if s.Faults.dupEntries.Load() {
			b.Entry = append(b.Entry, e)
		}
	}
	writeBundle(w, b)
}

// queryPage runs a page query that asks for limit+1 rows of (type, id,
// version, last_updated, seq, body) and reports whether there are more.
func queryPage(ctx context.Context, tx *sql.Tx, q string, args []any, limit int) ([]stored, bool, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	var out []stored
	for rows.Next() {
		var st stored
		var lu int64
		if err := rows.Scan(&st.Type, &st.ID, &st.Version, &lu, &st.Seq, &st.Body); err != nil {
			return nil, false, fmt.Errorf("search: %w", err)
		}
		st.LastUpdated = time.UnixMilli(lu).UTC()
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// history handles system (typ ""), type (id "") and instance history,
// newest first, with _since, _count and paging.
func (s *Server) history(w http.ResponseWriter, r *http.Request, typ, id string) {
	now := s.clock.Now()
	q := r.URL.Query()
	tenant := callerOf(r.Context()).Tenant
	where := []string{"tenant = ?"}
	args := []any{tenant}
	if typ != "" {
		where = append(where, "type = ?")
		args = append(args, typ)
	}
	if id != "" {
		where = append(where, "id = ?")
		args = append(args, id)
	}
	count := defaultCount
	var before int64
	for _, name := range stringsSorted(q) {
		v := q.Get(name)
		switch name {
		case "_since":
			t, _, _, err := parseFHIRTime(v, s.loc)
			if err != nil {
				s.writeError(w, r, fmt.Errorf("_since: %w", err))
				return
			}
			where = append(where, "last_updated >= ?")
			args = append(args, t.UnixMilli())
		case "_count":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				s.writeError(w, r, lane.Invalidf("_count: want a number ≥ 0"))
				return
			}
			count = min(n, maxCount)
		case "_cursor":
			c, err := decodeCursor(v)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			before = c.seq
		case "_format", "_pretty":
		default:
			s.writeError(w, r, lane.Invalidf("history parameter %q is not supported", truncate(name, 40)))
			return
		}
	}
	b := bundle{ResourceType: "Bundle", ID: lane.NewID(), Meta: &bundleMeta{LastUpdated: instant(now)}, Type: "history"}
	var page []stored
	var more bool
	err := s.db.read(r.Context(), func(tx *sql.Tx) error {
		if id != "" {
			if _, err := current(r.Context(), tx, tenant, typ, id); err != nil {
				return err
			}
		}
		var total int
		if err := tx.QueryRowContext(r.Context(), `SELECT count(*) FROM resource_history WHERE `+strings.Join(where, " AND "), args...).Scan(&total); err != nil {
			return fmt.Errorf("history count: %w", err)
		}
		b.Total = &total
		pw, pargs := where, args
		if before > 0 {
			pw = append(append([]string{}, where...), "seq < ?")
			pargs = append(append([]any{}, args...), before)
		}
		rows, err := tx.QueryContext(r.Context(), `SELECT type, id, version, last_updated, seq, method, deleted, body FROM resource_history WHERE `+
			strings.Join(pw, " AND ")+` ORDER BY seq DESC LIMIT ?`, append(pargs, count+1)...)
		if err != nil {
			return fmt.Errorf("history: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var st stored
			var lu int64
			if err := rows.Scan(&st.Type, &st.ID, &st.Version, &lu, &st.Seq, &st.Method, &st.Deleted, &st.Body); err != nil {
				return fmt.Errorf("history: %w", err)
			}
			st.LastUpdated = time.UnixMilli(lu).UTC()
			page = append(page, st)
		}
		if len(page) > count {
			page, more = page[:count], true
		}
		return rows.Err()
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	base := baseURL(r) + fhirBase
	path := base
	for _, p := range []string{typ, id} {
		if p != "" {
			path += "/" + p
		}
	}
	path += "/_history"
	self := path
	if enc := q.Encode(); enc != "" {
		self += "?" + enc
	}
	b.Link = []bundleLink{{Relation: "self", URL: self}}
	if more && count > 0 {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("_cursor", cursor{0, page[len(page)-1].Seq}.encode())
		b.Link = append(b.Link, bundleLink{Relation: "next", URL: path + "?" + nq.Encode()})
	}
	for _, st := range page {
		e := entry{FullURL: base + "/" + st.Type + "/" + st.ID}
		resp := &entryResponse{Etag: st.etag(), LastModified: instant(st.LastUpdated)}
		switch st.Method {
		case "POST":
			e.Request = &entryRequest{Method: "POST", URL: st.Type}
			resp.Status = "201 Created"
		case "PUT":
			e.Request = &entryRequest{Method: "PUT", URL: st.Type + "/" + st.ID}
			resp.Status = "200 OK"
		default:
			e.Request = &entryRequest{Method: "DELETE", URL: st.Type + "/" + st.ID}
			resp.Status = "204 No Content"
		}
		if !st.Deleted {
			e.Resource = st.Body
		}
		e.Response = resp
		b.Entry = append(b.Entry, e)
		if s.Faults.dupEntries.Load() {
			b.Entry = append(b.Entry, e)
		}
	}
	writeBundle(w, b)
}
