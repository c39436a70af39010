package syncclient

import "sync"

// rawCache keeps the server's JSON of recently pulled or pushed resources,
// keyed by "Type/id" and version, so that an update can be patched onto the
// exact version it is based on without another request. When full it drops
// half its entries. Safe for concurrent use.
type rawCache struct {
	mu  sync.Mutex
	max int
	m   map[string]rawEntry
}

type rawEntry struct {
	vid  string
	body []byte
}

func newRawCache(max int) *rawCache { return &rawCache{max: max, m: map[string]rawEntry{}} }

func (r *rawCache) put(key, vid string, body []byte) {
	if vid == "" || len(body) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.m) >= r.max {
		n := 0
		for k := range r.m {
			delete(r.m, k)
			if n++; n >= r.max/2 {
				break
			}
		}
	}
	r.m[key] = rawEntry{vid, body}
}

func (r *rawCache) get(key, vid string) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[key]
	if !ok || e.vid != vid {
		return nil, false
	}
	return e.body, true
}
