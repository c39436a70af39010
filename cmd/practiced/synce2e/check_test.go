package synce2e_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient"
	"github.com/examlane/examlane/syncclient/fhir"
)

// checkOptions tell the delivery check what else to expect.
type checkOptions struct {
	gone []string // "Type/serverID" the lane deleted: 410 on read
}

// checkDelivered is the acceptance criterion: everything the lane holds is
// on practiced exactly once, with the lane's content, and the outbox is
// empty.
func checkDelivered(t testing.TB, p *practice, l *laneRig, o checkOptions) {
	t.Helper()
	// The outbox.
	pend, err := l.db.PendingChanges(bg, 0)
	if err != nil {
		t.Fatal(err)
	}
	n, err := l.db.PendingCount(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(pend)+n != 0 {
		t.Errorf("%s: outbox holds %d entries (PendingCount %d), want 0", l.name, len(pend), n)
		for _, e := range pend {
			t.Logf("  pending #%d %s %s %s base %q attempts %d: %s", e.Seq, e.Op, e.Entity, e.ID, e.BaseVersion, e.Attempts, e.LastError)
		}
	}
	cs, err := l.db.Conflicts(bg, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 0 {
		t.Errorf("%s: %d open conflicts, want none", l.name, len(cs))
	}

	// What the server holds for the lane's patients: each chart type by
	// patient, the patients by id.
	recs := l.allRecords()
	chartTypes := []string{"Appointment", "Encounter", "Observation", "VisionPrescription", "DocumentReference", "ImagingStudy"}
	onServer := map[string]map[string][]byte{} // type → server id → body
	add := func(typ string, raws []json.RawMessage) {
		if onServer[typ] == nil {
			onServer[typ] = map[string][]byte{}
		}
		for _, raw := range raws {
			var h resourceHead
			if json.Unmarshal(raw, &h) != nil {
				t.Fatalf("unreadable %s from the server", typ)
			}
			if _, dup := onServer[typ][h.ID]; dup {
				t.Errorf("%s/%s listed twice by one search", typ, h.ID)
			}
			onServer[typ][h.ID] = raw
		}
	}
	var patientSIDs []string
	for _, r := range recs {
		if r.entity != lane.EntityPatient {
			continue
		}
		sid, _, err := l.db.ServerRef(bg, r.entity, r.id)
		must(t, err)
		if sid == "" {
			continue // reported below
		}
		patientSIDs = append(patientSIDs, sid)
		for _, typ := range chartTypes {
			add(typ, p.search(typ, url.Values{"patient": {"Patient/" + sid}}))
		}
	}
	for i := 0; i < len(patientSIDs); i += 100 {
		add("Patient", p.search("Patient", url.Values{"_id": {strings.Join(patientSIDs[i:min(i+100, len(patientSIDs))], ",")}}))
	}

	// Lane-created records by their lane identifier, a hundred per search:
	// each must be on the server exactly once.
	byLaneID := map[string][]string{} // type → lane ids
	for _, r := range recs {
		if sid, _, _ := l.db.ServerRef(bg, r.entity, r.id); sid != "" && sid != r.id {
			typ := fhir.ResourceTypeOf(r.rec)
			byLaneID[typ] = append(byLaneID[typ], r.id)
		}
	}
	found := map[string][]string{} // lane id → server ids carrying it
	for typ, ids := range byLaneID {
		for i := 0; i < len(ids); i += 100 {
			var vals []string
			for _, id := range ids[i:min(i+100, len(ids))] {
				vals = append(vals, fhir.SystemLaneID+"|"+id)
			}
			for _, raw := range p.search(typ, url.Values{"identifier": {strings.Join(vals, ",")}}) {
				var h resourceHead
				json.Unmarshal(raw, &h)
				found[h.laneID()] = append(found[h.laneID()], typ+"/"+h.ID)
			}
		}
	}

	// Every local record: on the server once, at the version the lane
	// believes, with the content the lane holds.
	held := map[string]bool{} // Type/serverID of every local record
	laneCreated := 0
	for _, r := range recs {
		sid, sv, err := l.db.ServerRef(bg, r.entity, r.id)
		must(t, err)
		typ := fhir.ResourceTypeOf(r.rec)
		if sid == "" {
			t.Errorf("%s %s is not on the server (no server id)", typ, r.id)
			continue
		}
		held[typ+"/"+sid] = true
		if r.id != sid {
			laneCreated++
			if got := found[r.id]; len(got) != 1 || got[0] != typ+"/"+sid {
				t.Errorf("%s with lane id %s: on the server as %v, want exactly [%s/%s]", typ, r.id, got, typ, sid)
			}
		}
		body, ok := onServer[typ][sid]
		if !ok {
			t.Errorf("%s/%s (lane %s) is not among its patient's records on the server", typ, sid, r.id)
			continue
		}
		var h resourceHead
		json.Unmarshal(body, &h)
		if h.Meta.VersionID != sv {
			t.Errorf("%s/%s: server at version %s, lane believes %s", typ, sid, h.Meta.VersionID, sv)
		}
		remote, err := p.record(l, body)
		if err != nil {
			t.Errorf("%s/%s: map server version: %v", typ, sid, err)
			continue
		}
		if diff, err := syncclient.Differences(r.rec, remote); err != nil || len(diff) > 0 {
			t.Errorf("%s %s: lane and server differ in %v (%v)", typ, r.id, diff, err)
		}
	}
	// Totals: the server holds nothing for these patients that the lane
	// does not (a duplicate, or a deleted record still live).
	for _, typ := range chartTypes[1:] { // the lane keeps only its day's appointments
		for sid := range onServer[typ] {
			if !held[typ+"/"+sid] {
				t.Errorf("%s/%s is on the server for a lane patient but not on the lane", typ, sid)
			}
		}
	}
	for _, g := range o.gone {
		if st, _ := p.get(g); st != http.StatusGone {
			t.Errorf("%s deleted on the lane: read %d, want 410", g, st)
		}
	}
	checkNoRepeats(t, p, l)
	t.Logf("%s: %d local records checked on the server (%d created on the lane)", l.name, len(recs), laneCreated)
}

// checkNoRepeats scans what the lanes wrote since the test began: no change
// id is carried by two versions of any resource (a change applied twice),
// no two resources carry the same lane id, no Provenance or audit event
// exists twice, and every audit event the lane delivered is there.
func checkNoRepeats(t testing.TB, p *practice, l *laneRig) {
	t.Helper()
	for _, typ := range []string{"Patient", "Appointment", "Encounter", "Observation", "VisionPrescription", "DocumentReference", "ImagingStudy"} {
		changes := map[string]int{}
		owners := map[string]string{} // lane id → server id
		for _, v := range p.history(typ) {
			var h resourceHead
			if v.method == http.MethodDelete || json.Unmarshal(v.resource, &h) != nil {
				continue
			}
			if c := h.changeID(); c != "" {
				changes[c]++
				if changes[c] == 2 {
					t.Errorf("%s/%s: change %s applied twice", typ, v.id, c)
				}
			}
			if lid := h.laneID(); lid != "" {
				if o, ok := owners[lid]; ok && o != v.id {
					t.Errorf("lane id %s is on two %s resources (%s and %s)", lid, typ, o, v.id)
				}
				owners[lid] = v.id
			}
		}
	}
	prov := map[string]int{}
	for _, raw := range p.search("Provenance", url.Values{}) {
		var h resourceHead
		json.Unmarshal(raw, &h)
		if k := h.tag(fhir.SystemProvenanceTag); k != "" {
			prov[k]++
			if prov[k] == 2 {
				t.Errorf("two Provenance resources for change %s", k)
			}
		}
	}
	audits := map[string]int{}
	for _, raw := range p.search("AuditEvent", url.Values{}) {
		var h resourceHead
		json.Unmarshal(raw, &h)
		if k := h.tag(fhir.SystemLaneID); k != "" {
			audits[k]++
			if audits[k] == 2 {
				t.Errorf("audit event %s is on the server twice", k)
			}
		}
	}
	evs, err := l.db.ListAudit(bg, lane.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	delivered := 0
	for _, e := range evs {
		sid, _, err := l.db.ServerRef(bg, lane.EntityAudit, string(e.ID))
		if err != nil && !errors.Is(err, lane.ErrNotFound) {
			t.Fatal(err)
		}
		if sid == "" {
			continue
		}
		delivered++
		if audits[string(e.ID)] != 1 {
			t.Errorf("delivered audit event %s is on the server %d times", e.ID, audits[string(e.ID)])
		}
	}
	if delivered == 0 && len(audits) > 0 {
		t.Errorf("the server holds %d lane audit events but the lane marked none delivered", len(audits))
	}
}

// humaneError reports whether a status text is words for a person: not
// empty, no URL, address, port or resource path.
func humaneError(s string) bool {
	if s == "" {
		return false
	}
	for _, bad := range []string{"http", "127.0.0.1", "/fhir", "Observation/", "Patient/", "syncclient:"} {
		if strings.Contains(s, bad) {
			return false
		}
	}
	return true
}
