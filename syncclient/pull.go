package syncclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient/fhir"
)

// chartTypes are the resource types of a patient's chart, in the order they
// are fetched (encounters before what refers to them).
var chartTypes = []string{"Encounter", "Observation", "VisionPrescription", "DocumentReference", "Media", "ImagingStudy"}

// imageTypes are the resource types of images, whose annotations (Basic,
// by subject) are fetched with a chart.
var imageTypes = map[string]bool{"DocumentReference": true, "Media": true, "ImagingStudy": true}

// incrementalTypes are pulled by _lastUpdated every cycle: patients, chart
// types, then annotations (after the images they annotate).
var incrementalTypes = append(append([]string{"Patient"}, chartTypes...), "Basic")

// entitiesOf maps a resource type to the lane entities it can hold.
var entitiesOf = map[string][]string{
	"Patient":            {lane.EntityPatient},
	"Appointment":        {lane.EntityAppointment},
	"Encounter":          {lane.EntityEncounter},
	"Observation":        {lane.EntityMeasurement},
	"VisionPrescription": {lane.EntitySpectacleRx, lane.EntityContactRx},
	"DocumentReference":  {lane.EntityImage},
	"Media":              {lane.EntityImage},
	"ImagingStudy":       {lane.EntityImage},
	"Basic":              {lane.EntityAnnotation},
}

// overlap is how far before the watermark each incremental pull starts.
const overlap = 2 * time.Second

// pullState is one pull's bookkeeping.
type pullState struct {
	seen  map[string]bool // Type/id/version applied in this pull
	scope map[string]bool // server ids of the patients whose charts the lane keeps
	// batch holds pulled records not yet stored when the store applies
	// them in one transaction (BatchApplier); bytes counts their image
	// bytes. It is stored when full, before any watermark moves and before
	// deletions are applied.
	batch []pulled
	bytes int
	// ids caches LocalID answers ("entity/server id") for this pull; a
	// record stored by the pull updates its entry.
	ids map[string]idHit
}

// idHit is a cached LocalID answer.
type idHit struct {
	id    string
	found bool
}

// localID is Store.LocalID through the pull's cache: the chart of a
// patient names the patient (and its encounters) in every record.
func (c *Client) localID(ctx context.Context, ps *pullState, entity, sid string) (string, error) {
	k := entity + "/" + sid
	if h, ok := ps.ids[k]; ok {
		if !h.found {
			return "", fmt.Errorf("%s with server id %s: %w", entity, sid, lane.ErrNotFound)
		}
		return h.id, nil
	}
	id, err := c.cfg.Store.LocalID(ctx, entity, sid)
	switch {
	case err == nil:
		ps.remember(entity, sid, id)
	case errors.Is(err, lane.ErrNotFound):
		if ps.ids == nil {
			ps.ids = map[string]idHit{}
		}
		ps.ids[k] = idHit{}
	}
	return id, err
}

// remember records that the record of entity with server id sid has local
// id id.
func (ps *pullState) remember(entity, sid, id string) {
	if ps.ids == nil {
		ps.ids = map[string]idHit{}
	}
	ps.ids[entity+"/"+sid] = idHit{id: id, found: true}
}

// pulled is a pulled record ready to store.
type pulled struct {
	res                            fhir.Resource
	rec                            any // lane value with local ids
	raw                            []byte
	typ, sid, vid, entity, localID string
	data                           []byte // image bytes to keep with it (batch path)
}

// Batch limits: pulled records are applied in one transaction per this
// many records or bytes of images (and at every watermark).
const (
	maxBatch      = 500
	maxBatchBytes = 32 << 20
)

// pull brings the lane up to date: the schedule window, the full chart of
// each patient on it not fetched before, then what changed since each
// type's watermark.
func (c *Client) pull(ctx context.Context) error {
	st := c.cfg.Store
	ps := &pullState{seen: map[string]bool{}, scope: map[string]bool{}}
	now := c.cfg.Clock.Now()
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	to := from.AddDate(0, 0, 1+max(c.cfg.LookAheadDays, 0))

	// 1. The schedule.
	key := fmt.Sprintf("schedule:%s:%s+%d", c.cfg.Location, from.Format("2006-01-02"), max(c.cfg.LookAheadDays, 0))
	q := url.Values{"date": {"ge" + from.UTC().Format(time.RFC3339), "lt" + to.UTC().Format(time.RFC3339)},
		"_count": {"500"}, "_sort": {"_lastUpdated"}}
	if c.cfg.Location != "" {
		q.Set("actor", "Location/"+c.cfg.Location)
	}
	if err := c.since(ctx, key, q); err != nil {
		return err
	}
	var schedule [][]byte
	t0, err := c.fetchAll(ctx, "Appointment?"+q.Encode(), func(e fhir.BundleEntry) error {
		schedule = append(schedule, e.Resource)
		return nil
	})
	if err != nil {
		return err
	}
	// The store keeps a record only when it holds its patient: fetch the
	// patients of the schedule first.
	if err := c.fetchPatients(ctx, ps, schedule); err != nil {
		return err
	}
	for _, raw := range schedule {
		if err := c.apply(ctx, ps, raw, false); err != nil {
			return err
		}
	}
	if err := c.setWatermark(ctx, ps, key, t0); err != nil {
		return err
	}

	// 2. Whose charts: the patients on the lane's schedule window.
	appts, err := st.ListAppointments(ctx, lane.AppointmentFilter{From: from, To: to, Location: c.cfg.Location})
	if err != nil {
		return fmt.Errorf("syncclient: read schedule: %w", err)
	}
	var todo []string // server ids of patients whose chart was never fetched
	local := map[string]string{}
	for _, a := range appts {
		if a.PatientID == "" {
			continue
		}
		sid, _, err := st.ServerRef(ctx, lane.EntityPatient, string(a.PatientID))
		if err != nil && !errors.Is(err, lane.ErrNotFound) {
			return fmt.Errorf("syncclient: read patient ref: %w", err)
		}
		if sid == "" {
			sid = string(a.PatientID) // pulled with the schedule before its Patient: ids agree
		}
		if ps.scope[sid] {
			continue
		}
		ps.scope[sid] = true
		local[sid] = string(a.PatientID)
		wm, err := st.Watermark(ctx, "chart:"+sid)
		if err != nil {
			return fmt.Errorf("syncclient: read watermark: %w", err)
		}
		if wm == "" {
			todo = append(todo, sid)
		}
	}

	// 3. Full charts of patients new to the window.
	if len(todo) > 0 {
		c.progress(0)
		for i, sid := range todo {
			if err := c.fetchChart(ctx, ps, sid); err != nil {
				return err
			}
			c.progress(float64(i+1) / float64(len(todo)))
		}
	}

	// 4. What changed since each type's watermark.
	for _, typ := range incrementalTypes {
		key := "type:" + typ
		wm, err := st.Watermark(ctx, key)
		if err != nil {
			return fmt.Errorf("syncclient: read watermark: %w", err)
		}
		if wm == "" {
			// First cycle: the charts above are complete as of t0.
			if err := c.setWatermark(ctx, ps, key, t0); err != nil {
				return err
			}
			continue
		}
		q := url.Values{"_count": {"500"}, "_sort": {"_lastUpdated"}}
		if err := c.since(ctx, key, q); err != nil {
			return err
		}
		tt, err := c.fetchAll(ctx, typ+"?"+q.Encode(), func(e fhir.BundleEntry) error { return c.apply(ctx, ps, e.Resource, true) })
		if err != nil {
			return err
		}
		if since, ok := strings.CutPrefix(q.Get("_lastUpdated"), "ge"); ok && c.caps.history[typ] {
			// deletions apply after the changes found above
			if err := c.flush(ctx, ps); err != nil {
				return err
			}
			hq := url.Values{"_since": {since}, "_count": {"500"}}
			if _, err := c.fetchAll(ctx, typ+"/_history?"+hq.Encode(), func(e fhir.BundleEntry) error { return c.applyDelete(ctx, typ, e) }); err != nil {
				return err
			}
		}
		if err := c.setWatermark(ctx, ps, key, tt); err != nil {
			return err
		}
	}
	return c.flush(ctx, ps)
}

// since adds _lastUpdated=ge<watermark − overlap> to q when key has a
// watermark.
func (c *Client) since(ctx context.Context, key string, q url.Values) error {
	wm, err := c.cfg.Store.Watermark(ctx, key)
	if err != nil {
		return fmt.Errorf("syncclient: read watermark: %w", err)
	}
	if wm == "" {
		return nil
	}
	t, err := fhir.ParseTime(wm)
	if err != nil {
		return nil // unreadable watermark: pull everything again
	}
	q.Set("_lastUpdated", "ge"+t.Add(-overlap).UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	return nil
}

// setWatermark stores the records still queued in ps, then moves the
// watermark key to v: a watermark never passes a record that is not stored.
func (c *Client) setWatermark(ctx context.Context, ps *pullState, key, v string) error {
	if err := c.flush(ctx, ps); err != nil {
		return err
	}
	if v == "" {
		return nil // the server gave no time; keep the old watermark
	}
	if err := c.cfg.Store.SetWatermark(ctx, key, v); err != nil {
		return fmt.Errorf("syncclient: save watermark: %w", err)
	}
	return nil
}

// fetchPatients pulls the patients referenced by appointments that the lane
// does not hold yet, fifty per request.
func (c *Client) fetchPatients(ctx context.Context, ps *pullState, appointments [][]byte) error {
	var need []string
	seen := map[string]bool{}
	for _, raw := range appointments {
		res, err := fhir.Decode(raw)
		if err != nil {
			continue
		}
		a, ok := res.(*fhir.Appointment)
		if !ok {
			continue
		}
		for _, p := range a.Participant {
			sid := fhir.RefID(p.Actor, "Patient")
			if sid == "" || seen[sid] {
				continue
			}
			seen[sid] = true
			if _, err := c.localID(ctx, ps, lane.EntityPatient, sid); errors.Is(err, lane.ErrNotFound) {
				need = append(need, sid)
			} else if err != nil {
				return fmt.Errorf("syncclient: map server id: %w", err)
			}
		}
	}
	return c.fetchList(ctx, ps, "Patient", "_id", need)
}

// fetchList pulls the resources of typ whose search parameter param
// matches one of values, fifty values per request (param takes a comma
// list).
func (c *Client) fetchList(ctx context.Context, ps *pullState, typ, param string, values []string) error {
	for len(values) > 0 {
		n := min(len(values), 50)
		q := url.Values{param: {strings.Join(values[:n], ",")}, "_count": {"500"}}
		if _, err := c.fetchAll(ctx, typ+"?"+q.Encode(), func(e fhir.BundleEntry) error { return c.apply(ctx, ps, e.Resource, false) }); err != nil {
			return err
		}
		values = values[n:]
	}
	return nil
}

// fetchChart pulls one patient's whole chart, then the annotations of its
// images, and records when (the server time of its first request).
func (c *Client) fetchChart(ctx context.Context, ps *pullState, sid string) error {
	var images []string // Type/id of the chart's images
	var first string
	for _, typ := range chartTypes {
		q := url.Values{"patient": {"Patient/" + sid}, "_count": {"500"}}
		apply := func(e fhir.BundleEntry) error { return c.apply(ctx, ps, e.Resource, false) }
		if imageTypes[typ] {
			q = url.Values{"subject": {"Patient/" + sid}, "_count": {"500"}}
			apply = func(e fhir.BundleEntry) error {
				var head struct {
					ID string `json:"id"`
				}
				if json.Unmarshal(e.Resource, &head) == nil && head.ID != "" {
					images = append(images, typ+"/"+head.ID)
				}
				return c.apply(ctx, ps, e.Resource, false)
			}
		}
		t, err := c.fetchAll(ctx, typ+"?"+q.Encode(), apply)
		if err != nil {
			return err
		}
		if first == "" {
			first = t
		}
	}
	if err := c.fetchList(ctx, ps, "Basic", "subject", images); err != nil {
		return err
	}
	return c.setWatermark(ctx, ps, "chart:"+sid, first)
}

// fetchAll GETs a search or history and every following page, calling fn
// for each entry, and returns the server time of the first page (Bundle
// meta.lastUpdated, else the Date header). It follows next links on the
// same server only; when a server gives no links but says there are more
// (total), it pages with _offset.
func (c *Client) fetchAll(ctx context.Context, pathQuery string, fn func(fhir.BundleEntry) error) (string, error) {
	u := c.fhirURL(pathQuery)
	typ, _, _ := strings.Cut(pathQuery, "?")
	serverTime := ""
	fetched := 0
	for page := 0; page < 100000; page++ {
		resp, err := c.do(ctx, request{op: "read " + typ, method: http.MethodGet, url: u})
		if err != nil {
			return "", err
		}
		b, err := fhir.ParseBundle(resp.body)
		if err != nil {
			return "", fmt.Errorf("syncclient: read %s: %w", typ, err)
		}
		if page == 0 {
			serverTime = serverTimeOf(b, resp)
		}
		for _, e := range b.Entry {
			if err := fn(e); err != nil {
				return "", err
			}
		}
		fetched += len(b.Entry)
		next := b.Next()
		switch {
		case next != "":
			if !c.sameOrigin(next) {
				return "", fmt.Errorf("syncclient: read %s: next page on another server refused: %w", typ, lane.ErrInvalid)
			}
			u = next
		case b.Total != nil && int64(fetched) < *b.Total && len(b.Entry) > 0:
			p, err := url.Parse(c.fhirURL(pathQuery))
			if err != nil {
				return "", err
			}
			q := p.Query()
			q.Set("_offset", strconv.Itoa(fetched))
			p.RawQuery = q.Encode()
			u = p.String()
		default:
			return serverTime, nil
		}
	}
	return serverTime, fmt.Errorf("syncclient: read %s: too many pages: %w", typ, lane.ErrInvalid)
}

// serverTimeOf returns the server's time for a search: Bundle
// meta.lastUpdated, else the Date header, as RFC 3339; "" when neither.
func serverTimeOf(b *fhir.Bundle, resp *response) string {
	if b.Meta != nil && b.Meta.LastUpdated != "" {
		if _, err := fhir.ParseTime(b.Meta.LastUpdated); err == nil {
			return b.Meta.LastUpdated
		}
	}
	if d, err := http.ParseTime(resp.header.Get("Date")); err == nil {
		return d.UTC().Format(time.RFC3339)
	}
	return ""
}

// apply stores one pulled resource. With scoped set it keeps only records
// of patients in the lane's scope.
func (c *Client) apply(ctx context.Context, ps *pullState, raw []byte, scoped bool) error {
	if len(raw) == 0 {
		return nil
	}
	// Look at the head first: most of an incremental pull is versions this
	// lane wrote itself or already saw.
	var head struct {
		ResourceType string     `json:"resourceType"`
		ID           string     `json:"id"`
		Meta         *fhir.Meta `json:"meta"`
	}
	if json.Unmarshal(raw, &head) == nil && head.Meta != nil && head.Meta.VersionID != "" {
		key := head.ResourceType + "/" + head.ID + "/" + head.Meta.VersionID
		if ps.seen[key] {
			return nil
		}
		if c.wroteIt(key) {
			ps.seen[key] = true
			return nil
		}
	}
	res, err := fhir.Decode(raw)
	if errors.Is(err, fhir.ErrUnsupported) {
		return nil
	}
	if err != nil {
		c.cfg.Logf("sync: skipped an unreadable resource from the server")
		return nil
	}
	typ, sid := fhir.Type(res), fhir.ID(res)
	vid, _ := fhir.Version(res)
	rec, err := c.mapper.FromFHIR(res)
	if errors.Is(err, fhir.ErrUnsupported) {
		return nil
	}
	if err != nil {
		c.cfg.Logf("sync: skipped %s/%s: the lane cannot read it (%s)", typ, sid, describe(err))
		return nil
	}
	if scoped {
		in, err := c.inScope(ctx, ps, rec)
		if err != nil || !in {
			return err
		}
	}
	seenKey := typ + "/" + sid + "/" + vid
	if ps.seen[seenKey] {
		return nil
	}
	ps.seen[seenKey] = true
	entity, _, _ := fhir.EntityOf(rec)
	st := c.cfg.Store
	localID, skip, err := c.localIDFor(ctx, ps, entity, sid, res)
	if err != nil || skip {
		return err
	}
	if _, known, err := st.ServerRef(ctx, entity, localID); err == nil && known == vid && vid != "" {
		return nil // already have this version (overlap or our own push)
	}
	if rec, err = fhir.MapRefs(rec, func(ent, id string) (string, error) {
		l, err := c.localID(ctx, ps, ent, id)
		if errors.Is(err, lane.ErrNotFound) {
			return id, nil
		}
		return l, err
	}); err != nil {
		return fmt.Errorf("syncclient: map references: %w", err)
	}
	if rec, err = fhir.WithID(rec, localID); err != nil {
		return err
	}
	c.raw.put(typ+"/"+sid, vid, raw)
	p := pulled{res: res, rec: rec, raw: raw, typ: typ, sid: sid, vid: vid, entity: entity, localID: localID}
	if _, ok := st.(BatchApplier); !ok {
		return c.stored(ctx, ps, p, c.store(ctx, res, rec, sid, vid))
	}
	if p.data, err = c.imageBytes(ctx, res, rec, sid); err != nil {
		return err
	}
	ps.batch = append(ps.batch, p)
	ps.bytes += len(p.data)
	if len(ps.batch) >= maxBatch || ps.bytes >= maxBatchBytes {
		return c.flush(ctx, ps)
	}
	return nil
}

// flush stores the records queued in ps in one transaction
// (BatchApplier) and handles each one's outcome as the record-by-record
// path does. A failed batch stored nothing: the pull stops before its
// watermark moves, and the next one fetches the page again.
func (c *Client) flush(ctx context.Context, ps *pullState) error {
	if len(ps.batch) == 0 {
		return nil
	}
	batch := ps.batch
	ps.batch, ps.bytes = nil, 0
	recs := make([]lane.RemoteRecord, len(batch))
	for i, p := range batch {
		recs[i] = lane.RemoteRecord{Rec: p.rec, ServerID: p.sid, ServerVersion: p.vid, Data: p.data}
	}
	errs, err := c.cfg.Store.(BatchApplier).ApplyRemoteBatch(ctx, recs)
	if err != nil {
		return fmt.Errorf("syncclient: store %d pulled records: %w", len(recs), err)
	}
	for i, p := range batch {
		var err error
		if i < len(errs) {
			err = errs[i]
		}
		if err := c.stored(ctx, ps, p, err); err != nil {
			return err
		}
	}
	return nil
}

// stored handles the outcome of storing one pulled record: a conflict is
// recorded for a person, a record whose patient (or image) the lane does
// not hold is skipped, any other error stops the pull.
func (c *Client) stored(ctx context.Context, ps *pullState, p pulled, err error) error {
	switch {
	case err == nil:
		ps.remember(p.entity, p.sid, p.localID)
		return nil
	case errors.Is(err, lane.ErrConflict):
		return c.remoteConflict(ctx, p.entity, p.localID, p.raw, p.vid)
	case errors.Is(err, lane.ErrNotFound):
		// e.g. a record of a patient the lane does not hold
		c.cfg.Logf("sync: skipped %s/%s: %s", p.typ, p.sid, "the record it belongs to is not on this lane")
		return nil
	}
	return fmt.Errorf("syncclient: store pulled %s: %w", p.entity, err)
}

// imageBytes fetches the bytes of a pulled image for the batch path, when
// the lane keeps image bytes (Config.FetchImages and an ImageReceiver
// store); nil, keeping the description only, when it does not or when the
// bytes cannot be had or do not match their checksum. Only a transient
// failure is returned.
func (c *Client) imageBytes(ctx context.Context, res fhir.Resource, rec any, sid string) ([]byte, error) {
	img, isImg := rec.(lane.Image)
	_, canKeep := c.cfg.Store.(ImageReceiver)
	if !isImg || !c.cfg.FetchImages || !canKeep || img.Deleted {
		return nil, nil
	}
	data, err := c.fetchImageData(ctx, res, img)
	if transient(err) {
		return nil, err
	}
	if err == nil && img.SHA256 != ([32]byte{}) && sha256Sum(data) != img.SHA256 {
		err = fmt.Errorf("image bytes do not match their checksum: %w", lane.ErrInvalid)
	}
	if err != nil {
		c.cfg.Logf("sync: image %s: bytes not fetched (%s); keeping its description only", sid, describe(err))
		return nil, nil
	}
	return data, nil
}

// inScope reports whether a pulled record (references still server ids)
// belongs to a patient whose chart the lane keeps. An annotation belongs to
// its image's patient, and is out of scope when the lane lacks the image.
func (c *Client) inScope(ctx context.Context, ps *pullState, rec any) (bool, error) {
	a, ok := rec.(lane.Annotation)
	if !ok {
		return ps.scope[string(fhir.PatientOf(rec))], nil
	}
	st := c.cfg.Store
	lid, err := c.localID(ctx, ps, lane.EntityImage, string(a.ImageID))
	if errors.Is(err, lane.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("syncclient: map server id: %w", err)
	}
	img, err := st.Record(ctx, lane.EntityImage, lid)
	if errors.Is(err, lane.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("syncclient: read image: %w", err)
	}
	pid := string(fhir.PatientOf(img))
	if sid, _, err := st.ServerRef(ctx, lane.EntityPatient, pid); err == nil && sid != "" {
		pid = sid
	}
	return ps.scope[pid], nil
}

// store applies a pulled record, with its bytes for images when asked.
func (c *Client) store(ctx context.Context, res fhir.Resource, rec any, sid, vid string) error {
	data, err := c.imageBytes(ctx, res, rec, sid)
	if err != nil {
		return err
	}
	if data == nil {
		return c.cfg.Store.ApplyRemote(ctx, rec, sid, vid)
	}
	return c.cfg.Store.(ImageReceiver).ApplyRemoteImage(ctx, rec.(lane.Image), data, sid, vid)
}

// localIDFor finds the local id of a pulled record: the mapped one, the
// lane id it carries when that record exists here, else the server id.
// skip is set for this lane's own create whose answer was lost: the next
// push settles it.
func (c *Client) localIDFor(ctx context.Context, ps *pullState, entity, sid string, res fhir.Resource) (string, bool, error) {
	st := c.cfg.Store
	lid, err := c.localID(ctx, ps, entity, sid)
	if err == nil {
		return lid, false, nil
	}
	if !errors.Is(err, lane.ErrNotFound) {
		return "", false, fmt.Errorf("syncclient: map server id: %w", err)
	}
	if laneID := fhir.LaneID(res); laneID != "" {
		if _, err := st.Record(ctx, entity, laneID); err == nil {
			known, _, _ := st.ServerRef(ctx, entity, laneID)
			if known != sid {
				return "", true, nil
			}
			return laneID, false, nil
		}
	}
	return sid, false, nil
}

// applyDelete handles one history entry: a DELETE marks the local record
// deleted (or raises a conflict when it has local changes).
func (c *Client) applyDelete(ctx context.Context, typ string, e fhir.BundleEntry) error {
	if e.Request == nil || e.Request.Method != http.MethodDelete {
		return nil
	}
	sid, vid := parseLocation(e.Request.URL)
	if e.Response != nil {
		if v := etagVersion(e.Response.Etag); v != "" {
			vid = v
		}
	}
	for _, entity := range entitiesOf[typ] {
		lid, err := c.cfg.Store.LocalID(ctx, entity, sid)
		if errors.Is(err, lane.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("syncclient: map server id: %w", err)
		}
		if rec, err := c.cfg.Store.Record(ctx, entity, lid); err == nil && fhir.Deleted(rec) {
			return nil // already gone here
		}
		err = c.cfg.Store.ApplyRemoteDelete(ctx, entity, lid, vid)
		switch {
		case errors.Is(err, lane.ErrConflict):
			return c.remoteConflict(ctx, entity, lid, goneJSON(typ, sid), GoneVersion)
		case errors.Is(err, lane.ErrNotFound):
		case err != nil:
			return fmt.Errorf("syncclient: apply deletion: %w", err)
		}
	}
	return nil
}

// remoteConflict records that the server changed a record that has local
// changes not yet delivered. One open conflict per record is enough: after
// it is resolved the push meets any newer server version again.
func (c *Client) remoteConflict(ctx context.Context, entity, localID string, theirs []byte, theirsVersion string) error {
	st := c.cfg.Store
	open, err := st.Conflicts(ctx, false)
	if err != nil {
		return fmt.Errorf("syncclient: read conflicts: %w", err)
	}
	for _, cf := range open {
		if cf.Entity == entity && cf.EntityID == localID {
			return nil
		}
	}
	rec, err := st.Record(ctx, entity, localID)
	if err != nil {
		return fmt.Errorf("syncclient: read %s: %w", entity, err)
	}
	mine, err := c.mineJSON(ctx, rec)
	if err != nil {
		return err
	}
	c.cfg.Logf("sync: conflict on %s %s: changed on the server and here", entity, localID)
	return st.AddConflict(ctx, lane.Conflict{
		ID: lane.ConflictID(lane.NewID()), Entity: entity, EntityID: localID, PatientID: c.patientOf(ctx, rec),
		Mine: mine, Theirs: theirs, TheirsVersion: theirsVersion, Detected: c.cfg.Clock.Now(),
	})
}

// mineJSON maps a local record to FHIR for a conflict, references as server
// ids where known.
func (c *Client) mineJSON(ctx context.Context, rec any) ([]byte, error) {
	st := c.cfg.Store
	mapped, err := fhir.MapRefs(rec, func(entity, id string) (string, error) {
		if sid, _, err := st.ServerRef(ctx, entity, id); err == nil && sid != "" {
			return sid, nil
		}
		return id, nil
	})
	if err != nil {
		return nil, err
	}
	res, err := c.toFHIR(ctx, rec, mapped)
	if err != nil {
		return nil, err
	}
	entity, id, _ := fhir.EntityOf(rec)
	if sid, _, err := st.ServerRef(ctx, entity, id); err == nil && sid != "" {
		fhir.SetID(res, sid)
	}
	if fhir.Deleted(rec) {
		fhir.MarkDeleted(res)
	}
	return fhir.Marshal(res)
}
