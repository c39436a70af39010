package syncclient

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient/fhir"
)

// GoneVersion is the TheirsVersion of a conflict whose server side was
// deleted. Keeping mine after such a conflict creates the record anew.
const GoneVersion = "deleted"

type rkey struct{ entity, id string }

type outcome int

const (
	delivered  outcome = iota // on the server; mark the entries pushed
	conflicted                // the server has another version; a conflict was built
	held                      // waits for another record; try again next cycle
)

type pushResult struct {
	outcome                 outcome
	serverID, serverVersion string
	conflict                lane.Conflict
	reason                  string // for held: in words, no patient data
}

// heldError is returned by the reference mapper when a record depends on
// one that cannot be referenced yet.
type heldError struct{ reason string }

// Error returns the reason in words.
func (e *heldError) Error() string { return e.reason }

// push drains the outbox in Seq order. Entries of the same record read in
// one batch are delivered together (the record's current state, once) and
// marked pushed together. The parking rule: a record with an open conflict
// is skipped, and so is any record that references (patient, encounter,
// appointment, image) a record that is parked or not yet on the server;
// every other record continues. A transient failure stops the push (and
// the cycle); a request the server refuses (4xx other than 412) is recorded
// on the entry with MarkAttempt and the record is skipped for this cycle.
func (c *Client) push(ctx context.Context) error {
	st := c.cfg.Store
	skip := map[rkey]bool{}
	var firstErr error
	for {
		entries, err := st.PendingChanges(ctx, c.cfg.PushBatch)
		if err != nil {
			return fmt.Errorf("syncclient: read outbox: %w", err)
		}
		parked, err := c.parked(ctx)
		if err != nil {
			return err
		}
		var order []rkey
		groups := map[rkey][]lane.OutboxEntry{}
		for _, e := range entries {
			k := rkey{e.Entity, e.ID}
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], e)
		}
		progress := false
		noBatch := 0 // batching is off before this index after a refused batch
		for i := 0; i < len(order); i++ {
			k := order[i]
			if skip[k] || parked[k] {
				skip[k] = true
				continue
			}
			// A run of plain creates by one user goes in one transaction.
			if c.caps.transactions && i >= noBatch && allCreates(groups[k]) {
				j := i
				var run [][]lane.OutboxEntry
				actor := actorOf(groups[k])
				for j < len(order) && len(run) < createBatch && allCreates(groups[order[j]]) && !skip[order[j]] && !parked[order[j]] &&
					actorOf(groups[order[j]]) == actor {
					run = append(run, groups[order[j]])
					j++
				}
				if len(run) > 1 {
					results, err := c.pushCreates(ctx, run, parked)
					if err != nil && (transient(err) || ctx.Err() != nil) {
						_ = st.MarkAttempt(ctx, run[0][0].Seq, describe(err))
						return err
					}
					if err == nil && len(results) > 0 {
						var done []lane.Delivered
						for n, res := range results {
							g := run[n]
							if res.outcome == held {
								// maybe on a record created earlier in this
								// same transaction: the next pass retries
								_ = st.MarkAttempt(ctx, g[0].Seq, res.reason)
								continue
							}
							done = appendDelivered(done, g, res)
							progress = true
						}
						if err := c.markPushed(ctx, done); err != nil {
							return err
						}
						i += len(results) - 1
						continue
					}
					// refused as a batch, or its first record needs the
					// general path: deliver this run one by one
					if err != nil {
						noBatch = j
					}
				}
			}
			g := groups[k]
			res, err := c.pushRecord(ctx, g, parked)
			if err != nil {
				_ = st.MarkAttempt(ctx, g[0].Seq, describe(err))
				if transient(err) || ctx.Err() != nil {
					return err
				}
				c.cfg.Logf("sync: %s %s not delivered: %s", k.entity, k.id, describe(err))
				skip[k] = true
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			switch res.outcome {
			case delivered:
				if err := c.markPushed(ctx, appendDelivered(nil, g, res)); err != nil {
					return err
				}
				progress = true
			case conflicted:
				if err := st.AddConflict(ctx, res.conflict); err != nil {
					return fmt.Errorf("syncclient: record conflict: %w", err)
				}
				c.cfg.Logf("sync: conflict on %s %s: parked until a person resolves it", k.entity, k.id)
				parked[k], skip[k] = true, true
				progress = true
			case held:
				_ = st.MarkAttempt(ctx, g[0].Seq, res.reason)
				skip[k] = true
			}
		}
		if !progress {
			return firstErr
		}
	}
}

// appendDelivered appends the entries of a delivered record's group.
func appendDelivered(ds []lane.Delivered, g []lane.OutboxEntry, res pushResult) []lane.Delivered {
	for _, e := range g {
		ds = append(ds, lane.Delivered{Seq: e.Seq, ServerID: res.serverID, ServerVersion: res.serverVersion})
	}
	return ds
}

// markPushed marks delivered entries: in one transaction when the store
// can (BatchMarker), else entry by entry.
func (c *Client) markPushed(ctx context.Context, ds []lane.Delivered) error {
	if len(ds) == 0 {
		return nil
	}
	if bm, ok := c.cfg.Store.(BatchMarker); ok {
		if err := bm.MarkPushedBatch(ctx, ds); err != nil {
			return fmt.Errorf("syncclient: mark delivered: %w", err)
		}
		return nil
	}
	for _, d := range ds {
		if err := c.cfg.Store.MarkPushed(ctx, d.Seq, d.ServerID, d.ServerVersion); err != nil {
			return fmt.Errorf("syncclient: mark delivered: %w", err)
		}
	}
	return nil
}

// actorOf returns the user a record's changes are sent for: the author of
// its last entry (as pushRecord sends it).
func actorOf(g []lane.OutboxEntry) lane.UserID { return g[len(g)-1].Actor.User }

// createBatch is how many records one batched transaction creates.
const createBatch = 50

// allCreates reports whether every entry of a record's group is a create.
func allCreates(g []lane.OutboxEntry) bool {
	for _, e := range g {
		if e.Op != lane.OpCreate {
			return false
		}
	}
	return true
}

// pushCreates creates a run of new records by one user (the run's first
// record's actor, whom the request names) in one transaction, each with its
// conditional create and its Provenance (audit events without). It stops
// the run at the first record that needs the general path (an image, a
// record already on the server or deleted), so the outbox order holds, and
// returns the results of the records it took, in order; a record whose
// references are not on the server yet is held. An error means the
// transaction wrote nothing.
func (c *Client) pushCreates(ctx context.Context, run [][]lane.OutboxEntry, parked map[rkey]bool) ([]pushResult, error) {
	st := c.cfg.Store
	var results []pushResult
	var entries []fhir.BundleEntry
	var idx []int      // entry index of each delivered result
	var types []string // resource type of each entry in idx
	// Records created earlier in this transaction are referenced by their
	// urn:uuid, so that a record and what refers to it travel together and
	// in outbox order.
	inBatch := map[rkey]string{}
	for n, g := range run {
		last := g[len(g)-1]
		rec, err := st.Record(ctx, last.Entity, last.ID)
		if errors.Is(err, lane.ErrNotFound) {
			results = append(results, pushResult{outcome: delivered})
			idx, types = append(idx, -1), append(types, "")
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("syncclient: read %s: %w", last.Entity, err)
		}
		typ := fhir.ResourceTypeOf(rec)
		sid, _, err := st.ServerRef(ctx, last.Entity, last.ID)
		if err != nil && !errors.Is(err, lane.ErrNotFound) {
			return nil, err
		}
		if typ == "" || typ == "ImagingStudy" || typ == "DocumentReference" || fhir.Deleted(rec) || sid != "" {
			if n == 0 {
				return nil, nil
			}
			break
		}
		mapped, err := fhir.MapRefs(rec, func(entity, id string) (string, error) {
			if urn, ok := inBatch[rkey{entity, id}]; ok {
				return urn, nil
			}
			sid, _, err := st.ServerRef(ctx, entity, id)
			if err != nil && !errors.Is(err, lane.ErrNotFound) {
				return "", err
			}
			if sid == "" || parked[rkey{entity, id}] {
				return "", &heldError{"waits for a " + entity + " not yet on the server"}
			}
			return sid, nil
		})
		var he *heldError
		if errors.As(err, &he) {
			results = append(results, pushResult{outcome: held, reason: he.reason})
			idx, types = append(idx, -1), append(types, "")
			continue
		}
		if err != nil {
			return nil, err
		}
		res, err := c.toFHIR(ctx, rec, mapped)
		if err != nil {
			return nil, err
		}
		fhir.SetChangeID(res, last.IdempotencyKey)
		body, err := fhir.Marshal(res)
		if err != nil {
			return nil, err
		}
		urn := urnFor(last.ID)
		inBatch[rkey{last.Entity, last.ID}] = urn
		idx, types = append(idx, len(entries)), append(types, typ)
		results = append(results, pushResult{})
		entries = append(entries, fhir.BundleEntry{FullURL: urn, Resource: body,
			Request: &fhir.BundleRequest{Method: http.MethodPost, URL: typ, IfNoneExist: condition(typ, last.ID)}})
		if typ != "AuditEvent" {
			prov, err := c.provenance(urn, change{actor: last.Actor, op: lane.OpCreate, key: last.IdempotencyKey})
			if err != nil {
				return nil, err
			}
			entries = append(entries, provenanceEntry(prov, last.IdempotencyKey))
		}
	}
	if len(entries) > 0 {
		ws, err := c.transaction(ctx, "create records", actorOf(run[0]), entries)
		if err != nil {
			return nil, err
		}
		for n, i := range idx {
			if i >= 0 {
				w := ws[i]
				if foreignExisting(w, run[n][len(run[n])-1].IdempotencyKey) {
					results[n] = pushResult{outcome: delivered, serverID: w.id}
					continue
				}
				results[n] = pushResult{outcome: delivered, serverID: w.id, serverVersion: w.vid}
				c.written(types[n], w)
			}
		}
	}
	return results, nil
}

// written remembers a version this lane wrote, so that the pull skips it
// cheaply, and keeps its JSON for a later update.
func (c *Client) written(typ string, w written) {
	if w.id == "" || w.vid == "" {
		return
	}
	c.raw.put(typ+"/"+w.id, w.vid, w.resource)
	c.ownMu.Lock()
	if len(c.own) >= 50000 {
		clear(c.own)
	}
	c.own[typ+"/"+w.id+"/"+w.vid] = struct{}{}
	c.ownMu.Unlock()
}

// wroteIt reports (once) whether this lane wrote the version.
func (c *Client) wroteIt(key string) bool {
	c.ownMu.Lock()
	defer c.ownMu.Unlock()
	_, ok := c.own[key]
	delete(c.own, key)
	return ok
}

// parked returns the records with open conflicts.
func (c *Client) parked(ctx context.Context) (map[rkey]bool, error) {
	cs, err := c.cfg.Store.Conflicts(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("syncclient: read conflicts: %w", err)
	}
	p := map[rkey]bool{}
	for _, cf := range cs {
		p[rkey{cf.Entity, cf.EntityID}] = true
	}
	return p, nil
}

// change is one record being pushed.
type change struct {
	entity, id string         // local
	rec        any            // current local record, references mapped to server ids
	local      any            // current local record as stored
	patient    lane.PatientID // whose record it is (local id), for conflicts
	resType    string         // FHIR type
	sid, base  string         // server id and the version the change is based on
	actor      lane.Actor
	op         lane.OutboxOp
	key        string   // idempotency key carried as change-id
	keys       []string // every entry's key: any of them on the server means ours landed
}

func (c *Client) pushRecord(ctx context.Context, g []lane.OutboxEntry, parked map[rkey]bool) (pushResult, error) {
	st := c.cfg.Store
	first, last := g[0], g[len(g)-1]
	ch := change{entity: first.Entity, id: first.ID, actor: last.Actor, op: last.Op, key: last.IdempotencyKey}
	for _, e := range g {
		ch.keys = append(ch.keys, e.IdempotencyKey)
	}
	rec, err := st.Record(ctx, ch.entity, ch.id)
	if errors.Is(err, lane.ErrNotFound) {
		// purged locally: nothing left to send
		return pushResult{outcome: delivered}, nil
	}
	if err != nil {
		return pushResult{}, fmt.Errorf("syncclient: read %s: %w", ch.entity, err)
	}
	ch.local = rec
	ch.patient = c.patientOf(ctx, rec)
	ch.resType = fhir.ResourceTypeOf(rec)
	if ch.resType == "" {
		return pushResult{outcome: held, reason: ch.entity + " records are not synced (no FHIR mapping)"}, nil
	}
	ch.sid, ch.base, err = st.ServerRef(ctx, ch.entity, ch.id)
	if err != nil && !errors.Is(err, lane.ErrNotFound) {
		return pushResult{}, fmt.Errorf("syncclient: server id of %s: %w", ch.entity, err)
	}
	if ch.base == "" {
		ch.base = last.BaseVersion
	}
	ch.rec, err = fhir.MapRefs(rec, func(entity, id string) (string, error) {
		if parked[rkey{entity, id}] {
			return "", &heldError{"waits for a " + entity + " in conflict"}
		}
		sid, _, err := st.ServerRef(ctx, entity, id)
		if err != nil && !errors.Is(err, lane.ErrNotFound) {
			return "", err
		}
		if sid == "" {
			return "", &heldError{"waits for a " + entity + " not yet on the server"}
		}
		return sid, nil
	})
	var he *heldError
	if errors.As(err, &he) {
		return pushResult{outcome: held, reason: he.reason}, nil
	}
	if err != nil {
		return pushResult{}, err
	}
	switch {
	case fhir.Deleted(rec):
		return c.pushDelete(ctx, ch)
	case ch.sid == "" || ch.base == GoneVersion:
		// A record created here and changed again before it reached the
		// server goes as one create of its current state, sent for the
		// author of its last change, whose rights cover that state (a
		// visit opened by the technician and signed by the optometrist is
		// a signed encounter the optometrist sends). Every change is in
		// the lane's audit trail under its own user.
		return c.pushCreate(ctx, ch)
	default:
		return c.pushUpdate(ctx, ch)
	}
}

// condition is the If-None-Exist query that finds a lane record on the
// server: its identifier, or its meta.tag for types without identifiers.
func condition(resType, id string) string {
	switch resType {
	case "AuditEvent", "Provenance":
		return "_tag=" + url.QueryEscape(fhir.SystemLaneID+"|"+id)
	}
	return "identifier=" + url.QueryEscape(fhir.SystemLaneID+"|"+id)
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// urnFor returns a urn:uuid for a lane id (the id itself when it is a UUID,
// else one derived from it).
func urnFor(id string) string {
	if uuidRE.MatchString(id) {
		return "urn:uuid:" + strings.ToLower(id)
	}
	h := sha256.Sum256([]byte(id))
	h[6] = h[6]&0x0f | 0x80
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func (c *Client) provenance(target string, ch change) ([]byte, error) {
	dev := ch.actor.Device
	if dev == "" {
		dev = c.cfg.LaneID
	}
	return fhir.Marshal(c.mapper.Provenance(target, c.cfg.Clock.Now(), ch.actor.User, dev, ch.op, ch.key))
}

func provenanceEntry(body []byte, key string) fhir.BundleEntry {
	return fhir.BundleEntry{Resource: body, Request: &fhir.BundleRequest{Method: http.MethodPost, URL: "Provenance",
		IfNoneExist: "_tag=" + url.QueryEscape(fhir.SystemProvenanceTag+"|"+key)}}
}

// written is what the server said about one write.
type written struct {
	status   int
	id, vid  string
	resource []byte
}

// errNoTransactions means the server refused a transaction Bundle as such.
var errNoTransactions = errors.New("syncclient: server does not support transactions")

// transaction posts a transaction Bundle and returns one result per entry.
func (c *Client) transaction(ctx context.Context, op string, user lane.UserID, entries []fhir.BundleEntry) ([]written, error) {
	body, err := json.Marshal(fhir.Bundle{ResourceType: "Bundle", Type: "transaction", Entry: entries})
	if err != nil {
		return nil, fmt.Errorf("syncclient: %s: %w", op, err)
	}
	resp, err := c.do(ctx, request{op: op, method: http.MethodPost, url: c.origin + c.cfg.FHIRBase, body: body, user: user})
	var he *HTTPError
	if errors.As(err, &he) && (he.Status == http.StatusMethodNotAllowed || he.Status == http.StatusNotImplemented) {
		c.caps.transactions = false
		return nil, errNoTransactions
	}
	if err != nil {
		return nil, err
	}
	b, err := fhir.ParseBundle(resp.body)
	if err != nil || len(b.Entry) != len(entries) {
		return nil, fmt.Errorf("syncclient: %s: malformed transaction response: %w", op, lane.ErrInvalid)
	}
	out := make([]written, len(b.Entry))
	for i, e := range b.Entry {
		w := written{resource: e.Resource}
		if e.Response != nil {
			w.status, _ = strconv.Atoi(strings.Fields(e.Response.Status + " 0")[0])
			w.id, w.vid = parseLocation(e.Response.Location)
			if v := etagVersion(e.Response.Etag); v != "" {
				w.vid = v
			}
		}
		fillFromResource(&w)
		if w.status >= 300 {
			// A server that answers a transaction with per-entry failures
			// (batch behaviour): treat it as the failure it reports.
			return nil, &HTTPError{Op: op, Status: w.status, Diagnostics: diagnostics(e.Response.Outcome)}
		}
		out[i] = w
	}
	return out, nil
}

// parseLocation reads id and version from "…/Type/id/_history/vid".
func parseLocation(loc string) (id, vid string) {
	if loc == "" {
		return "", ""
	}
	if u, err := url.Parse(loc); err == nil {
		loc = u.Path
	}
	left, right, _ := strings.Cut(loc, "/_history/")
	parts := strings.Split(strings.Trim(left, "/"), "/")
	return parts[len(parts)-1], strings.Trim(right, "/")
}

func fillFromResource(w *written) {
	if len(w.resource) == 0 {
		return
	}
	var head struct {
		ID   string     `json:"id"`
		Meta *fhir.Meta `json:"meta"`
	}
	if json.Unmarshal(w.resource, &head) != nil {
		return
	}
	if head.ID != "" {
		w.id = head.ID
	}
	if head.Meta != nil && head.Meta.VersionID != "" {
		w.vid = head.Meta.VersionID
	}
}

// single performs one plain REST write and reads its result.
func (c *Client) single(ctx context.Context, r request) (written, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return written{}, err
	}
	w := written{status: resp.status, resource: resp.body}
	w.id, w.vid = parseLocation(resp.header.Get("Location"))
	if v := etagVersion(resp.header.Get("ETag")); v != "" {
		w.vid = v
	}
	if resp.status != http.StatusNoContent {
		fillFromResource(&w)
	}
	return w, nil
}

func (c *Client) pushCreate(ctx context.Context, ch change) (pushResult, error) {
	if img, ok := ch.rec.(lane.Image); ok {
		return c.pushImage(ctx, ch, img)
	}
	res, err := c.toFHIR(ctx, ch.local, ch.rec)
	if err != nil {
		return pushResult{}, err
	}
	return c.createResource(ctx, ch, res, nil)
}

// createResource creates res conditionally, with its Provenance, in one
// transaction when the server does them. extra entries (a Binary) go first.
func (c *Client) createResource(ctx context.Context, ch change, res fhir.Resource, extra []fhir.BundleEntry) (pushResult, error) {
	fhir.SetChangeID(res, ch.key)
	body, err := fhir.Marshal(res)
	if err != nil {
		return pushResult{}, err
	}
	op := "create " + ch.resType
	cond := condition(ch.resType, ch.id)
	withProv := ch.resType != "AuditEvent"
	if c.caps.transactions {
		urn := urnFor(ch.id)
		entries := append(extra, fhir.BundleEntry{FullURL: urn, Resource: body,
			Request: &fhir.BundleRequest{Method: http.MethodPost, URL: ch.resType, IfNoneExist: cond}})
		if withProv {
			prov, err := c.provenance(urn, ch)
			if err != nil {
				return pushResult{}, err
			}
			entries = append(entries, provenanceEntry(prov, ch.key))
		}
		ws, err := c.transaction(ctx, op, ch.actor.User, entries)
		if err == nil {
			return c.created(ch, ws[len(extra)]), nil
		}
		if !errors.Is(err, errNoTransactions) {
			return pushResult{}, err
		}
	}
	w, err := c.single(ctx, request{op: op, method: http.MethodPost, url: c.fhirURL(ch.resType), body: body,
		header: map[string]string{"If-None-Exist": cond}, user: ch.actor.User})
	if err != nil {
		return pushResult{}, err
	}
	if w.id == "" {
		return pushResult{}, fmt.Errorf("syncclient: %s: the server did not say the new id: %w", op, lane.ErrInvalid)
	}
	res2 := c.created(ch, w)
	if withProv {
		if err := c.postProvenance(ctx, ch, ch.resType+"/"+w.id); err != nil {
			return pushResult{}, err
		}
	}
	return res2, nil
}

func (c *Client) postProvenance(ctx context.Context, ch change, target string) error {
	prov, err := c.provenance(target, ch)
	if err != nil {
		return err
	}
	_, err = c.single(ctx, request{op: "create Provenance", method: http.MethodPost, url: c.fhirURL("Provenance"), body: prov,
		header: map[string]string{"If-None-Exist": "_tag=" + url.QueryEscape(fhir.SystemProvenanceTag+"|"+ch.key)}, user: ch.actor.User})
	return err
}

// baseJSON returns the server's JSON of the version an update is based on:
// from the cache, by vread, or (servers without vread) the current version
// when it is still that one. stale is the current JSON when the server has
// moved on; gone is set when the resource was deleted.
func (c *Client) baseJSON(ctx context.Context, typ, sid, vid string) (base, stale []byte, gone bool, err error) {
	if b, ok := c.raw.get(typ+"/"+sid, vid); ok {
		return b, nil, false, nil
	}
	resp, err := c.do(ctx, request{op: "read " + typ + " version", method: http.MethodGet,
		url: c.fhirURL(typ + "/" + url.PathEscape(sid) + "/_history/" + url.PathEscape(vid))})
	if err == nil {
		return resp.body, nil, false, nil
	}
	if transient(err) {
		return nil, nil, false, err
	}
	cur, curVid, gone, err := c.current(ctx, typ, sid)
	if err != nil || gone {
		return nil, nil, gone, err
	}
	if curVid == vid {
		return cur, nil, false, nil
	}
	return nil, cur, false, nil
}

// current reads the current version of a resource.
func (c *Client) current(ctx context.Context, typ, sid string) (body []byte, vid string, gone bool, err error) {
	resp, err := c.do(ctx, request{op: "read " + typ, method: http.MethodGet, url: c.fhirURL(typ + "/" + url.PathEscape(sid))})
	var he *HTTPError
	if errors.As(err, &he) && (he.Status == http.StatusGone || he.Status == http.StatusNotFound) {
		return nil, "", true, nil
	}
	if err != nil {
		return nil, "", false, err
	}
	res, err := fhir.Decode(resp.body)
	if err != nil {
		return nil, "", false, err
	}
	vid, _ = fhir.Version(res)
	if vid == "" {
		vid = etagVersion(resp.header.Get("ETag"))
	}
	c.raw.put(typ+"/"+sid, vid, resp.body)
	return resp.body, vid, false, nil
}

// created is the result of a conditional create the server answered with
// w. When the record already existed and its current version is not this
// change's (a retry after a lost answer, and another lane changed the record
// meanwhile), the lane must not take that version as one it holds: it
// records the server id without a version, so that the next pull brings the
// other lane's edit and a local update meets 412 and becomes a conflict for
// a person, never a silent overwrite.
func (c *Client) created(ch change, w written) pushResult {
	if foreignExisting(w, ch.keys...) {
		return pushResult{outcome: delivered, serverID: w.id}
	}
	c.written(ch.resType, w)
	return pushResult{outcome: delivered, serverID: w.id, serverVersion: w.vid}
}

// foreignExisting reports whether a conditional create found the record
// already there (200) with a current version that carries none of keys.
func foreignExisting(w written, keys ...string) bool {
	if w.status != http.StatusOK || len(w.resource) == 0 {
		return false
	}
	res, err := fhir.Decode(w.resource)
	if err != nil {
		return false
	}
	id := fhir.ExtensionString(res, fhir.ExtChangeID)
	for _, k := range keys {
		if id == k {
			return false
		}
	}
	return true
}

// ours reports whether the server's JSON carries one of this change's keys,
// i.e. the change landed and only its answer was lost.
func (ch change) ours(body []byte) bool {
	res, err := fhir.Decode(body)
	if err != nil {
		return false
	}
	id := fhir.ExtensionString(res, fhir.ExtChangeID)
	for _, k := range ch.keys {
		if id != "" && id == k {
			return true
		}
	}
	return false
}

// theirs builds the conflict for a change the server refused.
func (c *Client) theirs(ch change, mine, theirs []byte, theirsVersion string) pushResult {
	return pushResult{outcome: conflicted, conflict: lane.Conflict{
		ID: lane.ConflictID(lane.NewID()), Entity: ch.entity, EntityID: ch.id, PatientID: ch.patient,
		Mine: mine, Theirs: theirs, TheirsVersion: theirsVersion, Detected: c.cfg.Clock.Now(),
	}}
}

func goneJSON(typ, sid string) []byte {
	b, _ := json.Marshal(map[string]any{"resourceType": typ, "id": sid, "meta": map[string]any{
		"tag": []fhir.Coding{{System: "urn:examlane:sync", Code: "deleted-on-server"}}}})
	return b
}

// afterRefusal decides what a 412 (or 404/410) on a write means: our own
// change that landed earlier, or someone else's version → a conflict.
func (c *Client) afterRefusal(ctx context.Context, ch change, mine []byte) (pushResult, error) {
	cur, vid, gone, err := c.current(ctx, ch.resType, ch.sid)
	if err != nil {
		return pushResult{}, err
	}
	if gone {
		return c.theirs(ch, mine, goneJSON(ch.resType, ch.sid), GoneVersion), nil
	}
	if ch.ours(cur) {
		return pushResult{outcome: delivered, serverID: ch.sid, serverVersion: vid}, nil
	}
	return c.theirs(ch, mine, cur, vid), nil
}

func (c *Client) pushUpdate(ctx context.Context, ch change) (pushResult, error) {
	base, stale, gone, err := c.baseJSON(ctx, ch.resType, ch.sid, ch.base)
	if err != nil {
		return pushResult{}, err
	}
	res, err := c.updateResource(ctx, ch, base)
	if err != nil {
		return pushResult{}, err
	}
	fhir.SetID(res, ch.sid)
	fhir.SetChangeID(res, ch.key)
	body, err := fhir.Marshal(res)
	if err != nil {
		return pushResult{}, err
	}
	if base != nil {
		if body, err = fhir.Patch(base, res); err != nil {
			return pushResult{}, err
		}
	}
	switch {
	case gone:
		return c.theirs(ch, body, goneJSON(ch.resType, ch.sid), GoneVersion), nil
	case stale != nil:
		if ch.ours(stale) {
			_, vid, _, _ := c.current(ctx, ch.resType, ch.sid)
			return pushResult{outcome: delivered, serverID: ch.sid, serverVersion: vid}, nil
		}
		return c.afterRefusal(ctx, ch, body)
	}
	path := ch.resType + "/" + ch.sid
	op := "update " + ch.resType
	var w written
	done := false
	if c.caps.transactions {
		entries := []fhir.BundleEntry{{FullURL: c.fhirURL(path), Resource: body,
			Request: &fhir.BundleRequest{Method: http.MethodPut, URL: path, IfMatch: weakETag(ch.base)}}}
		prov, err := c.provenance(path, ch)
		if err != nil {
			return pushResult{}, err
		}
		entries = append(entries, provenanceEntry(prov, ch.key))
		var ws []written
		ws, err = c.transaction(ctx, op, ch.actor.User, entries)
		if err == nil {
			w, done = ws[0], true
		} else if !errors.Is(err, errNoTransactions) {
			return c.writeFailed(ctx, ch, body, err)
		}
	}
	if !done {
		w, err = c.single(ctx, request{op: op, method: http.MethodPut, url: c.fhirURL(path), body: body,
			header: map[string]string{"If-Match": weakETag(ch.base)}, user: ch.actor.User})
		if err != nil {
			return c.writeFailed(ctx, ch, body, err)
		}
		if err := c.postProvenance(ctx, ch, path); err != nil {
			return pushResult{}, err
		}
	}
	w.id = ch.sid
	c.written(ch.resType, w)
	return pushResult{outcome: delivered, serverID: ch.sid, serverVersion: w.vid}, nil
}

// writeFailed turns a refused update into a conflict (412, 404, 410) or
// returns the error.
func (c *Client) writeFailed(ctx context.Context, ch change, mine []byte, err error) (pushResult, error) {
	var he *HTTPError
	if errors.As(err, &he) {
		switch he.Status {
		case http.StatusPreconditionFailed, http.StatusConflict, http.StatusNotFound, http.StatusGone:
			return c.afterRefusal(ctx, ch, mine)
		}
	}
	return pushResult{}, err
}

// updateResource maps the record for an update, keeping what only the
// server's copy knows (a photo's Binary URL, a DICOM SOP class).
func (c *Client) updateResource(ctx context.Context, ch change, base []byte) (fhir.Resource, error) {
	img, ok := ch.rec.(lane.Image)
	if !ok {
		return c.toFHIR(ctx, ch.local, ch.rec)
	}
	var prev fhir.Resource
	if base != nil {
		prev, _ = fhir.Decode(base)
	}
	if fhir.IsDICOM(img) {
		sop := ""
		if is, ok := prev.(*fhir.ImagingStudy); ok {
			sop = fhir.SOPClassOf(is)
		}
		return c.mapper.ImagingStudy(img, sop), nil
	}
	u := ""
	if prev != nil {
		u = fhir.BinaryURL(prev)
	}
	return c.mapper.DocumentReference(img, u), nil
}

func (c *Client) pushDelete(ctx context.Context, ch change) (pushResult, error) {
	if ch.sid == "" || ch.base == GoneVersion {
		// Never confirmed on the server; a create whose answer was lost may
		// still have landed, so look before concluding there is nothing to do.
		id, vid, err := c.findByLaneID(ctx, ch.resType, ch.id)
		if err != nil {
			return pushResult{}, err
		}
		if id == "" {
			return pushResult{outcome: delivered}, nil
		}
		ch.sid, ch.base = id, vid
	}
	path := ch.resType + "/" + ch.sid
	op := "delete " + ch.resType
	mine, err := c.deletedMine(ctx, ch)
	if err != nil {
		return pushResult{}, err
	}
	var w written
	done := false
	if c.caps.transactions {
		prov, err := c.provenance(path, ch)
		if err != nil {
			return pushResult{}, err
		}
		ws, err := c.transaction(ctx, op, ch.actor.User, []fhir.BundleEntry{
			{Request: &fhir.BundleRequest{Method: http.MethodDelete, URL: path, IfMatch: weakETag(ch.base)}},
			provenanceEntry(prov, ch.key)})
		switch {
		case err == nil:
			w, done = ws[0], true
		case errors.Is(err, errNoTransactions):
		default:
			return c.deleteFailed(ctx, ch, mine, err)
		}
	}
	if !done {
		hdr := map[string]string{}
		if ch.base != "" {
			hdr["If-Match"] = weakETag(ch.base)
		}
		w, err = c.single(ctx, request{op: op, method: http.MethodDelete, url: c.fhirURL(path), header: hdr, user: ch.actor.User})
		if err != nil {
			return c.deleteFailed(ctx, ch, mine, err)
		}
		if err := c.postProvenance(ctx, ch, path); err != nil {
			return pushResult{}, err
		}
	}
	vid := w.vid
	if vid == "" {
		vid = ch.base
	}
	return pushResult{outcome: delivered, serverID: ch.sid, serverVersion: vid}, nil
}

func (c *Client) deleteFailed(ctx context.Context, ch change, mine []byte, err error) (pushResult, error) {
	var he *HTTPError
	if errors.As(err, &he) {
		switch he.Status {
		case http.StatusNotFound, http.StatusGone:
			return pushResult{outcome: delivered, serverID: ch.sid, serverVersion: ch.base}, nil // already gone
		case http.StatusPreconditionFailed, http.StatusConflict:
			cur, vid, gone, err := c.current(ctx, ch.resType, ch.sid)
			if err != nil {
				return pushResult{}, err
			}
			if gone {
				return pushResult{outcome: delivered, serverID: ch.sid, serverVersion: ch.base}, nil
			}
			return c.theirs(ch, mine, cur, vid), nil
		}
	}
	return pushResult{}, err
}

// deletedMine is "my" side of a delete conflict: the record as FHIR with
// the Examlane deleted marker.
func (c *Client) deletedMine(ctx context.Context, ch change) ([]byte, error) {
	res, err := c.toFHIR(ctx, ch.local, ch.rec)
	if err != nil {
		return nil, err
	}
	fhir.SetID(res, ch.sid)
	fhir.MarkDeleted(res)
	return fhir.Marshal(res)
}

// findByLaneID searches the server for the resource carrying a lane id.
func (c *Client) findByLaneID(ctx context.Context, typ, id string) (sid, vid string, err error) {
	resp, err := c.do(ctx, request{op: "find " + typ, method: http.MethodGet, url: c.fhirURL(typ + "?" + condition(typ, id))})
	if err != nil {
		return "", "", err
	}
	b, err := fhir.ParseBundle(resp.body)
	if err != nil {
		return "", "", err
	}
	for _, e := range b.Entry {
		if res, err := fhir.Decode(e.Resource); err == nil {
			v, _ := fhir.Version(res)
			c.raw.put(typ+"/"+fhir.ID(res), v, e.Resource)
			return fhir.ID(res), v, nil
		}
	}
	return "", "", nil
}

// toFHIR maps a record for the server: mapped is the record with its
// references turned into server ids, local the record as stored. An
// annotation's subject names its image's resource type, which only the
// local image record tells.
func (c *Client) toFHIR(ctx context.Context, local, mapped any) (fhir.Resource, error) {
	a, ok := mapped.(lane.Annotation)
	if !ok {
		return c.mapper.ToFHIR(mapped)
	}
	la, _ := local.(lane.Annotation)
	img, err := c.cfg.Store.Record(ctx, lane.EntityImage, string(la.ImageID))
	if err != nil {
		return nil, fmt.Errorf("syncclient: read the annotated image: %w", err)
	}
	return c.mapper.Basic(a, fhir.ResourceTypeOf(img))
}

// patientOf returns the (local) patient a local record belongs to; for an
// annotation, its image's patient. "" when unknown.
func (c *Client) patientOf(ctx context.Context, rec any) lane.PatientID {
	if a, ok := rec.(lane.Annotation); ok {
		if img, err := c.cfg.Store.Record(ctx, lane.EntityImage, string(a.ImageID)); err == nil {
			return fhir.PatientOf(img)
		}
	}
	return fhir.PatientOf(rec)
}
