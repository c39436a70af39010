package localdb

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb/seal"
)

// nameCache is the decrypted name index for the name search: patient id →
// normalised "given family". It is filled on the first search, kept up to
// date from the patients.chg change sequence (so changes made by another
// process are seen too) and dropped by DropCaches (call it when the lane
// locks).
type nameCache struct {
	mu      sync.Mutex
	loaded  bool                         // guarded by mu
	maxChg  int64                        // guarded by mu
	entries map[lane.PatientID]nameEntry // guarded by mu
}

// nameEntry is a patient's decrypted search name.
type nameEntry struct{ family, key string }

func (c *nameCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loaded, c.maxChg, c.entries = false, 0, nil
}

// DropCaches forgets every decrypted value kept in memory (the name search
// index). Call it when the lane locks; the next search rebuilds it.
func (db *DB) DropCaches() { db.names.invalidate() }

// refreshNames brings the cache up to date with the table, decrypting on
// all cores when there are many new names. Caller holds db.names.mu.
func (db *DB) refreshNames(ctx context.Context) error {
	c := &db.names
	if !c.loaded {
		c.entries, c.maxChg = map[lane.PatientID]nameEntry{}, 0
	}
	rows, err := db.r.QueryContext(ctx, `SELECT id, version, name_sealed, deleted, chg FROM patients WHERE chg > ? ORDER BY chg`, c.maxChg)
	if err != nil {
		return classify(err)
	}
	type row struct {
		id      string
		ver     int64
		sealed  []byte
		deleted bool
		name    []byte
	}
	var rs []row
	var maxChg int64
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.ver, &r.sealed, &r.deleted, &maxChg); err != nil {
			rows.Close()
			return err
		}
		rs = append(rs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return classify(err)
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), len(rs)/256))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(rs); i += workers {
				if rs[i].deleted {
					continue
				}
				name, err := db.keys.Open(db.aad("patients", rs[i].id, "name_sealed", rs[i].ver), rs[i].sealed)
				if err != nil {
					errs[w] = fmt.Errorf("localdb: name index: patients/%s: %w", rs[i].id, err)
					return
				}
				rs[i].name = name
			}
		}(w)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, r := range rs {
		if r.deleted {
			delete(c.entries, lane.PatientID(r.id))
			continue
		}
		family, key, _ := strings.Cut(string(r.name), "\x1f")
		c.entries[lane.PatientID(r.id)] = nameEntry{family: family, key: key}
	}
	if len(rs) > 0 {
		c.maxChg = maxChg
	}
	c.loaded = true
	return nil
}

// FindPatients returns live patients matching q, sorted by family name,
// full name, then id. MRN and Family+BirthDate are exact matches (case and
// white space folded) through blind indexes; NameContains matches patients
// whose name contains every word of it, through the in-memory name index.
// With no criteria it returns every patient. Limit (when > 0) caps the
// result.
func (db *DB) FindPatients(ctx context.Context, q lane.PatientQuery) ([]lane.Patient, error) {
	var ids []string
	var err error
	switch {
	case strings.TrimSpace(q.MRN) != "":
		ids, err = db.byIndex(ctx, "bidx_mrn", db.keys.BlindIndexes("mrn", q.MRN))
	case strings.TrimSpace(q.Family) != "" || !q.BirthDate.IsZero():
		if strings.TrimSpace(q.Family) == "" || q.BirthDate.IsZero() {
			return nil, lane.Invalidf("find patients: family name and birth date go together")
		}
		var idx [][]byte
		for _, id := range db.keys.IDs() {
			if b := db.familyDOBIndex(id, q.Family, q.BirthDate); b != nil {
				idx = append(idx, b)
			}
		}
		ids, err = db.byIndex(ctx, "bidx_family_dob", idx)
	case strings.TrimSpace(q.NameContains) != "":
		ids, err = db.byName(ctx, q.NameContains)
	default:
		ids, err = db.allPatientIDs(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("localdb: find patients: %w", err)
	}
	out := make([]lane.Patient, 0, len(ids))
	for _, id := range ids {
		p, deleted, err := getRecord[lane.Patient](ctx, db, db.r, tPatients, id)
		if errors.Is(err, lane.ErrNotFound) || deleted {
			continue // purged or deleted since the index was read
		}
		if err != nil {
			return nil, fmt.Errorf("localdb: find patients: %w", err)
		}
		if matches(p, q) {
			out = append(out, p)
		}
		if q.Limit > 0 && len(out) == q.Limit && strings.TrimSpace(q.NameContains) != "" {
			break // name hits come sorted: the first Limit are the answer
		}
	}
	SortPatients(out)
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// matches re-checks a candidate against the query after decryption (blind
// indexes are truncated HMACs, so a collision must not return a stranger).
func matches(p lane.Patient, q lane.PatientQuery) bool {
	switch {
	case strings.TrimSpace(q.MRN) != "":
		return seal.Normalize(p.MRN) == seal.Normalize(q.MRN)
	case strings.TrimSpace(q.Family) != "":
		return seal.Normalize(p.Name.Family) == seal.Normalize(q.Family) && p.BirthDate == q.BirthDate
	case strings.TrimSpace(q.NameContains) != "":
		return NameMatches(nameKey(p.Name), q.NameContains)
	}
	return true
}

// NameMatches reports whether every word of query occurs in the normalised
// name key (case and white space folded).
func NameMatches(key, query string) bool {
	return containsAll(key, strings.Fields(seal.Normalize(query)))
}

func containsAll(key string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(key, w) {
			return false
		}
	}
	return true
}

// WarmCaches fills the decrypted name index now (for example right after
// the lane unlocks, off the UI goroutine) so the first name search does not
// pay for decrypting every name.
func (db *DB) WarmCaches(ctx context.Context) error {
	db.names.mu.Lock()
	defer db.names.mu.Unlock()
	return db.refreshNames(ctx)
}

// SortPatients orders patients as FindPatients returns them.
func SortPatients(ps []lane.Patient) {
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		fa, fb := seal.Normalize(a.Name.Family), seal.Normalize(b.Name.Family)
		if fa != fb {
			return fa < fb
		}
		na, nb := nameKey(a.Name), nameKey(b.Name)
		if na != nb {
			return na < nb
		}
		return a.ID < b.ID
	})
}

func (db *DB) byIndex(ctx context.Context, col string, idx [][]byte) ([]string, error) {
	if len(idx) == 0 {
		return nil, nil
	}
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(idx)), ", ")
	args := make([]any, len(idx))
	for i, b := range idx {
		args[i] = b
	}
	return queryStrings(ctx, db.r, `SELECT id FROM patients WHERE deleted = 0 AND `+col+` IN (`+ph+`)`, args...)
}

func (db *DB) byName(ctx context.Context, query string) ([]string, error) {
	db.names.mu.Lock()
	defer db.names.mu.Unlock()
	if err := db.refreshNames(ctx); err != nil {
		return nil, err
	}
	type hit struct {
		id string
		e  nameEntry
	}
	var hits []hit
	words := strings.Fields(seal.Normalize(query))
	for id, e := range db.names.entries {
		if containsAll(e.key, words) {
			hits = append(hits, hit{string(id), e})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		if a.e.family != b.e.family {
			return a.e.family < b.e.family
		}
		if a.e.key != b.e.key {
			return a.e.key < b.e.key
		}
		return a.id < b.id
	})
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.id
	}
	return ids, nil
}

func (db *DB) allPatientIDs(ctx context.Context) ([]string, error) {
	return queryStrings(ctx, db.r, `SELECT id FROM patients WHERE deleted = 0`)
}
