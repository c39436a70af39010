package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
)

// stored is one version of a resource as the database keeps it.
type stored struct {
	Type, ID    string
	Version     int64
	LastUpdated time.Time
	Seq         int64
	Deleted     bool
	Method      string // POST, PUT or DELETE (history rows)
	Body        []byte // the JSON document; nil for a delete in history
}

// etag returns the weak ETag of the version.
func (s stored) etag() string { return fmt.Sprintf(`W/"%d"`, s.Version) }

// versionID returns the version as FHIR writes it.
func (s stored) versionID() string { return strconv.FormatInt(s.Version, 10) }

// writeCtx carries one write transaction: who writes, the transaction's
// timestamp, prepared statements, and references still to check.
type writeCtx struct {
	tx     *sql.Tx
	tenant string
	lane   string
	user   string
	at     time.Time
	loc    *time.Location
	stmts  map[string]*sql.Stmt
	// patientRefs are "Patient/<id>" references written in this
	// transaction; they must resolve in the tenant before commit.
	patientRefs map[string]bool
	// who is the caller; its roles are checked on every write when it
	// carries a user token (authz.go).
	who identity
}

// exec runs a statement, preparing it once per transaction.
func (w *writeCtx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, ok := w.stmts[q]
	if !ok {
		var err error
		st, err = w.tx.PrepareContext(ctx, q)
		if err != nil {
			return nil, err
		}
		if w.stmts == nil {
			w.stmts = map[string]*sql.Stmt{}
		}
		w.stmts[q] = st
	}
	return st.ExecContext(ctx, args...)
}

// close releases the prepared statements.
func (w *writeCtx) close() {
	for _, st := range w.stmts {
		st.Close()
	}
}

// finish checks the collected references; call it before commit.
func (w *writeCtx) finish(ctx context.Context) error {
	for _, ref := range stringsSorted(w.patientRefs) {
		id := strings.TrimPrefix(ref, "Patient/")
		var one int
		err := w.tx.QueryRowContext(ctx, `SELECT 1 FROM resources WHERE tenant=? AND type='Patient' AND id=?`, w.tenant, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return lane.Invalidf("reference %s does not resolve to a Patient of this practice", ref)
		}
		if err != nil {
			return fmt.Errorf("check reference: %w", err)
		}
	}
	return nil
}

// withWrite runs fn in a write transaction with a fresh writeCtx.
func (s *Server) withWrite(ctx context.Context, id identity, fn func(w *writeCtx) error) error {
	return s.db.write(ctx, func(tx *sql.Tx) error {
		w := &writeCtx{tx: tx, tenant: id.Tenant, lane: id.Lane, user: id.User, at: s.db.stamp(s.clock.Now()), loc: s.loc, who: id}
		defer w.close()
		if err := fn(w); err != nil {
			return err
		}
		return w.finish(ctx)
	})
}

// current reads the current version of Type/id in tenant.
func current(ctx context.Context, q querier, tenant, typ, id string) (stored, error) {
	st := stored{Type: typ, ID: id}
	var lu int64
	err := q.QueryRowContext(ctx, `SELECT r.version, r.last_updated, r.seq, r.deleted, h.body FROM resources r JOIN resource_history h ON h.seq=r.seq WHERE r.tenant=? AND r.type=? AND r.id=?`,
		tenant, typ, id).Scan(&st.Version, &lu, &st.Seq, &st.Deleted, &st.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return st, notFound(typ, id)
	}
	if err != nil {
		return st, fmt.Errorf("read %s: %w", typ, err)
	}
	st.LastUpdated = time.UnixMilli(lu).UTC()
	return st, nil
}

// version reads one version of Type/id in tenant from history.
func version(ctx context.Context, q querier, tenant, typ, id string, v int64) (stored, error) {
	st := stored{Type: typ, ID: id, Version: v}
	var lu int64
	err := q.QueryRowContext(ctx, `SELECT last_updated, seq, deleted, method, body FROM resource_history WHERE tenant=? AND type=? AND id=? AND version=?`,
		tenant, typ, id, v).Scan(&lu, &st.Seq, &st.Deleted, &st.Method, &st.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("%s/%s version %d: %w", typ, id, v, lane.ErrNotFound)
	}
	if err != nil {
		return st, fmt.Errorf("vread %s: %w", typ, err)
	}
	st.LastUpdated = time.UnixMilli(lu).UTC()
	return st, nil
}

// parseETag reads W/"3", "3" or 3 as a version number.
func parseETag(s string) (int64, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	s = strings.Trim(s, `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 {
		return 0, lane.Invalidf("malformed ETag in If-Match")
	}
	return v, nil
}

// identifierQuery is a parsed token criterion, identifier=[system|]value or
// _tag=[system|]code.
type identifierQuery struct {
	param     string // "identifier" or "_tag"
	system    string
	hasSystem bool
	value     string
}

// parseIdentifier parses one token value "system|value", "|value" or
// "value" (backslash escapes \| \, \\ honoured).
func parseIdentifier(s string) (identifierQuery, error) {
	parts := splitRaw(s, '|')
	var q identifierQuery
	switch len(parts) {
	case 1:
		q.value = unescape(parts[0])
	case 2:
		q.system, q.value, q.hasSystem = unescape(parts[0]), unescape(parts[1]), true
	default:
		return q, lane.Invalidf("identifier: more than one '|'")
	}
	if q.value == "" {
		return q, lane.Invalidf("identifier: empty value")
	}
	return q, nil
}

// parseIfNoneExist accepts the criteria the server supports for
// conditional create: one identifier=system|value or one _tag=system|code
// (for resources without identifier: Provenance, AuditEvent, Binary).
func parseIfNoneExist(s string) (identifierQuery, error) {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "?"); i >= 0 {
		s = s[i+1:]
	}
	vals, err := url.ParseQuery(s)
	if err != nil {
		return identifierQuery{}, lane.Invalidf("If-None-Exist: malformed query")
	}
	param := "identifier"
	if _, ok := vals["_tag"]; ok {
		param = "_tag"
	}
	if len(vals) != 1 || len(vals[param]) != 1 {
		return identifierQuery{}, lane.Invalidf("If-None-Exist: only identifier=system|value or _tag=system|code is supported")
	}
	if len(splitRaw(vals[param][0], ',')) != 1 {
		return identifierQuery{}, lane.Invalidf("If-None-Exist: one value only")
	}
	iq, err := parseIdentifier(vals[param][0])
	iq.param = param
	return iq, err
}

// findByIdentifier returns the live resources of typ carrying the token iq.
func findByIdentifier(ctx context.Context, q querier, tenant, typ string, iq identifierQuery, limit int) ([]string, error) {
	// INDEXED BY: for the ORDER BY the planner would otherwise walk
	// tokens_resource over every token of the type (a scan per
	// conditional create).
	sqlq := `SELECT DISTINCT t.id FROM resource_tokens t INDEXED BY tokens_value
		JOIN resources r ON r.tenant=t.tenant AND r.type=t.type AND r.id=t.id
		WHERE t.tenant=? AND t.type=? AND t.param=? AND t.value=? AND r.deleted=0`
	args := []any{tenant, typ, iq.param, iq.value}
	if iq.hasSystem {
		sqlq += ` AND t.system=?`
		args = append(args, iq.system)
	}
	sqlq += ` ORDER BY t.id LIMIT ?`
	args = append(args, limit)
	rows, err := q.QueryContext(ctx, sqlq, args...)
	if err != nil {
		return nil, fmt.Errorf("search identifier: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// create stores a new resource. With ifNoneExist, an existing live match
// is returned instead (created false); several matches are a conflict.
// id is the id to use, "" for a new random one.
func (w *writeCtx) create(ctx context.Context, m map[string]any, id, ifNoneExist string) (st stored, created bool, err error) {
	typ := m["resourceType"].(string)
	prior, key, err := w.lookupIfNoneExist(ctx, typ, ifNoneExist)
	if err != nil || prior != nil {
		if prior != nil {
			st = *prior
		}
		return st, false, err
	}
	st, err = w.insertNew(ctx, m, id, key)
	return st, err == nil, err
}

// lookupIfNoneExist resolves a conditional-create criterion: the live
// resource it matches (nil for none) and the idempotency key to record.
func (w *writeCtx) lookupIfNoneExist(ctx context.Context, typ, ifNoneExist string) (*stored, string, error) {
	if ifNoneExist == "" {
		return nil, "", nil
	}
	iq, err := parseIfNoneExist(ifNoneExist)
	if err != nil {
		return nil, "", err
	}
	key := iq.param + "=" + iq.system + "|" + iq.value
	if !iq.hasSystem {
		key = iq.param + "=*|" + iq.value
	}
	var prior string
	err = w.tx.QueryRowContext(ctx, `SELECT id FROM idempotency WHERE tenant=? AND type=? AND key=?`, w.tenant, typ, key).Scan(&prior)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, "", fmt.Errorf("create %s: %w", typ, err)
	}
	if prior != "" {
		if cur, err := current(ctx, w.tx, w.tenant, typ, prior); err == nil && !cur.Deleted {
			return &cur, key, nil
		}
	}
	ids, err := findByIdentifier(ctx, w.tx, w.tenant, typ, iq, 2)
	if err != nil {
		return nil, "", err
	}
	switch len(ids) {
	case 0:
		return nil, key, nil
	case 1:
		cur, err := current(ctx, w.tx, w.tenant, typ, ids[0])
		if err != nil {
			return nil, "", err
		}
		return &cur, key, nil
	}
	return nil, "", fmt.Errorf("If-None-Exist matches several %s resources: %w", typ, lane.ErrConflict)
}

// insertNew writes version 1 of a new resource with the given id ("" for a
// random one) and records the idempotency key when there is one.
func (w *writeCtx) insertNew(ctx context.Context, m map[string]any, id, key string) (stored, error) {
	typ := m["resourceType"].(string)
	if id == "" {
		id = lane.NewID()
	} else if !validID(id) {
		return stored{}, lane.Invalidf("malformed id")
	} else if _, err := current(ctx, w.tx, w.tenant, typ, id); err == nil {
		return stored{}, fmt.Errorf("%s/%s exists: %w", typ, id, lane.ErrConflict)
	}
	if err := w.authorizeWrite("POST", typ, m, nil); err != nil {
		return stored{}, err
	}
	if typ == "Provenance" {
		m["recorded"] = instant(w.at)
	}
	st, err := w.put(ctx, m, typ, id, 1, "POST")
	if err != nil {
		return st, err
	}
	if key != "" {
		if _, err := w.exec(ctx, `INSERT OR REPLACE INTO idempotency(tenant, type, key, id, created) VALUES(?,?,?,?,?)`,
			w.tenant, typ, key, id, w.at.UnixMilli()); err != nil {
			return st, fmt.Errorf("create %s: %w", typ, err)
		}
	}
	return st, nil
}

// update replaces Type/id when ifMatch names the current version.
func (w *writeCtx) update(ctx context.Context, m map[string]any, typ, id, ifMatch string) (stored, error) {
	if bodyID, ok := m["id"].(string); ok && bodyID != id {
		return stored{}, lane.Invalidf("resource id does not match the URL")
	}
	cur, err := current(ctx, w.tx, w.tenant, typ, id)
	if err != nil {
		return cur, err
	}
	if ifMatch == "" {
		return cur, fmt.Errorf("update %s/%s: %w", typ, id, errPreconditionRequired)
	}
	want, err := parseETag(ifMatch)
	if err != nil {
		return cur, err
	}
	if cur.Deleted {
		return cur, fmt.Errorf("update %s/%s: %w", typ, id, errGone)
	}
	if want != cur.Version {
		return cur, fmt.Errorf("update %s/%s: If-Match version %d, current %d: %w", typ, id, want, cur.Version, lane.ErrConflict)
	}
	if err := w.authorizeWrite("PUT", typ, m, &cur); err != nil {
		return cur, err
	}
	if typ == "Provenance" {
		m["recorded"] = instant(w.at)
	}
	return w.put(ctx, m, typ, id, cur.Version+1, "PUT")
}

// remove deletes Type/id (a new version marked deleted). Deleting a
// deleted resource succeeds and changes nothing.
func (w *writeCtx) remove(ctx context.Context, typ, id, ifMatch string) (stored, error) {
	cur, err := current(ctx, w.tx, w.tenant, typ, id)
	if err != nil {
		return cur, err
	}
	if ifMatch != "" {
		want, err := parseETag(ifMatch)
		if err != nil {
			return cur, err
		}
		if want != cur.Version {
			return cur, fmt.Errorf("delete %s/%s: If-Match version %d, current %d: %w", typ, id, want, cur.Version, lane.ErrConflict)
		}
	}
	if cur.Deleted {
		return cur, nil
	}
	if err := w.authorizeWrite("DELETE", typ, nil, &cur); err != nil {
		return cur, err
	}
	v := cur.Version + 1
	res, err := w.exec(ctx, `INSERT INTO resource_history(tenant, type, id, version, last_updated, method, deleted, body, by_user, by_lane) VALUES(?,?,?,?,?,'DELETE',1,NULL,?,?)`,
		w.tenant, typ, id, v, w.at.UnixMilli(), w.user, w.lane)
	if err != nil {
		return cur, fmt.Errorf("delete %s: %w", typ, err)
	}
	seq, _ := res.LastInsertId()
	if _, err := w.exec(ctx, `UPDATE resources SET version=?, last_updated=?, seq=?, deleted=1 WHERE tenant=? AND type=? AND id=?`,
		v, w.at.UnixMilli(), seq, w.tenant, typ, id); err != nil {
		return cur, fmt.Errorf("delete %s: %w", typ, err)
	}
	if _, err := w.exec(ctx, `DELETE FROM resource_tokens WHERE tenant=? AND type=? AND id=?`, w.tenant, typ, id); err != nil {
		return cur, fmt.Errorf("delete %s: %w", typ, err)
	}
	return stored{Type: typ, ID: id, Version: v, LastUpdated: w.at, Seq: seq, Deleted: true, Method: "DELETE"}, nil
}

// put writes version v of Type/id: history row, current row and tokens.
func (w *writeCtx) put(ctx context.Context, m map[string]any, typ, id string, v int64, method string) (stored, error) {
	setMeta(m, id, v, w.at)
	body, err := encodeJSON(m)
	if err != nil {
		return stored{}, lane.Invalidf("resource cannot be encoded: %v", err)
	}
	ix := extractIndex(m, w.loc)
	res, err := w.exec(ctx, `INSERT INTO resource_history(tenant, type, id, version, last_updated, method, deleted, body, by_user, by_lane) VALUES(?,?,?,?,?,?,0,?,?,?)`,
		w.tenant, typ, id, v, w.at.UnixMilli(), method, body, w.user, w.lane)
	if err != nil {
		return stored{}, fmt.Errorf("write %s: %w", typ, err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return stored{}, fmt.Errorf("write %s: %w", typ, err)
	}
	var patient sql.NullString
	if ix.patient != "" {
		patient = sql.NullString{String: ix.patient, Valid: true}
		if w.patientRefs == nil {
			w.patientRefs = map[string]bool{}
		}
		w.patientRefs[ix.patient] = true
	}
	var date sql.NullInt64
	if ix.date != nil {
		date = sql.NullInt64{Int64: *ix.date, Valid: true}
	}
	if _, err := w.exec(ctx, `INSERT INTO resources(tenant, type, id, version, last_updated, seq, deleted, patient, date) VALUES(?,?,?,?,?,?,0,?,?)
		ON CONFLICT(tenant, type, id) DO UPDATE SET version=excluded.version, last_updated=excluded.last_updated, seq=excluded.seq,
		deleted=0, patient=excluded.patient, date=excluded.date`,
		w.tenant, typ, id, v, w.at.UnixMilli(), seq, patient, date); err != nil {
		return stored{}, fmt.Errorf("write %s: %w", typ, err)
	}
	if v > 1 {
		if _, err := w.exec(ctx, `DELETE FROM resource_tokens WHERE tenant=? AND type=? AND id=?`, w.tenant, typ, id); err != nil {
			return stored{}, fmt.Errorf("write %s: %w", typ, err)
		}
	}
	for _, t := range ix.tokens {
		if _, err := w.exec(ctx, `INSERT INTO resource_tokens(tenant, type, id, param, system, value) VALUES(?,?,?,?,?,?)`,
			w.tenant, typ, id, t.param, t.system, t.value); err != nil {
			return stored{}, fmt.Errorf("write %s: %w", typ, err)
		}
	}
	return stored{Type: typ, ID: id, Version: v, LastUpdated: w.at, Seq: seq, Method: method, Body: body}, nil
}

// splitRaw splits s at every sep not escaped by a backslash (FHIR search
// escapes \, \| \$ \\), keeping the escapes in the parts.
func splitRaw(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unescape removes FHIR search escapes.
func unescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
