package server

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// prefetchTypes are the chart resources a lane pulls per patient.
var prefetchTypes = []string{"Encounter", "Observation", "VisionPrescription", "ImagingStudy", "DocumentReference"}

// pageOf is the part of a searchset the benchmark client reads.
type pageOf struct {
	Entry []struct {
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
	Link []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
}

// fetchAll follows next links from first and returns resources, requests
// and bytes read.
func fetchAll(b testing.TB, l *testLane, first string) (res, reqs, n int) {
	next := first
	for next != "" {
		resp, body := l.do("GET", next, nil)
		if resp.StatusCode != 200 {
			b.Fatalf("GET %s: %d", next, resp.StatusCode)
		}
		reqs++
		n += len(body)
		var p pageOf
		if err := json.Unmarshal(body, &p); err != nil {
			b.Fatal(err)
		}
		res += len(p.Entry)
		next = ""
		for _, lk := range p.Link {
			if lk.Relation == "next" {
				next = lk.URL
			}
		}
	}
	return res, reqs, n
}

// BenchmarkPrefetchDay serves the pre-fetch of a day's charts: today's
// schedule, then for each of the 60 scheduled patients the Patient and its
// whole history by search-by-patient pages (default _count 50), over mTLS
// on loopback against the full demo seed (200 patients).
func BenchmarkPrefetchDay(b *testing.B) {
	e := newEnv(b)
	if _, err := e.srv.Seed(context.Background(), "alpha", SeedOptions{ImageWidth: 160, ImageHeight: 120}); err != nil {
		b.Fatal(err)
	}
	e.clock.Advance(time.Minute) // the seed's writes are all in the past
	l := e.enrol(b, "alpha")
	today := e.clock.Now().Format("2006-01-02")
	_, sched := l.must(200, "GET", "/fhir/R4/Appointment?date="+today+"&_count=500", nil)
	var patients []string
	for _, en := range entries(sched) {
		for _, p := range asSlice(en["resource"].(map[string]any)["participant"]) {
			r := p.(map[string]any)["actor"].(map[string]any)["reference"].(string)
			if strings.HasPrefix(r, "Patient/") {
				patients = append(patients, strings.TrimPrefix(r, "Patient/"))
			}
		}
	}
	if len(patients) != 60 {
		b.Fatalf("%d patients on today's schedule", len(patients))
	}
	chart := func(pid string, count int) (res, reqs, n int) {
		r, q, m := fetchAll(b, l, "/fhir/R4/Patient?_id="+pid)
		res, reqs, n = res+r, reqs+q, n+m
		for _, typ := range prefetchTypes {
			r, q, m := fetchAll(b, l, "/fhir/R4/"+typ+"?patient=Patient/"+pid+"&_count="+strconv.Itoa(count))
			res, reqs, n = res+r, reqs+q, n+m
		}
		return
	}
	report := func(b *testing.B, res, reqs, n int64) {
		b.ReportMetric(float64(res)/float64(b.N), "resources/op")
		b.ReportMetric(float64(reqs)/float64(b.N), "requests/op")
		b.ReportMetric(float64(n)/float64(b.N)/1e6, "MB/op")
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(reqs), "µs/request")
	}
	b.Run("sequential/count50", func(b *testing.B) {
		var res, reqs, n int64
		for b.Loop() {
			r, q, m := fetchAll(b, l, "/fhir/R4/Appointment?date="+today+"&_count=500")
			res, reqs, n = res+int64(r), reqs+int64(q), n+int64(m)
			for _, pid := range patients {
				r, q, m := chart(pid, 50)
				res, reqs, n = res+int64(r), reqs+int64(q), n+int64(m)
			}
		}
		report(b, res, reqs, n)
	})
	b.Run("4workers/count50", func(b *testing.B) {
		var res, reqs, n atomic.Int64
		for b.Loop() {
			var wg sync.WaitGroup
			work := make(chan string)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for pid := range work {
						r, q, m := chart(pid, 50)
						res.Add(int64(r))
						reqs.Add(int64(q))
						n.Add(int64(m))
					}
				}()
			}
			for _, pid := range patients {
				work <- pid
			}
			close(work)
			wg.Wait()
		}
		report(b, res.Load(), reqs.Load(), n.Load())
	})
	b.Run("batched/count500", func(b *testing.B) {
		// One search per type for all 60 patients (patient=a,b,c...).
		var res, reqs, n int64
		list := url.QueryEscape(strings.Join(patients, ","))
		for b.Loop() {
			for _, typ := range append([]string{"Patient"}, prefetchTypes...) {
				q := "/fhir/R4/" + typ + "?patient=" + list + "&_count=500"
				if typ == "Patient" {
					q = "/fhir/R4/Patient?_id=" + list + "&_count=500"
				}
				r, rq, m := fetchAll(b, l, q)
				res, reqs, n = res+int64(r), reqs+int64(rq), n+int64(m)
			}
		}
		report(b, res, reqs, n)
	})
	b.Run("incremental/nothing-new", func(b *testing.B) {
		// The steady state: one _lastUpdated poll per type, nothing changed.
		since := url.QueryEscape("ge" + instant(e.clock.Now().Add(-2*time.Second)))
		var reqs int64
		for b.Loop() {
			for _, typ := range append([]string{"Patient", "Appointment"}, prefetchTypes...) {
				_, q, _ := fetchAll(b, l, "/fhir/R4/"+typ+"?_lastUpdated="+since+"&_sort=_lastUpdated")
				reqs += int64(q)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(reqs), "µs/request")
	})
}

// BenchmarkConditionalCreate measures POST with If-None-Exist (one fsync
// per commit) and its replay.
func BenchmarkConditionalCreate(b *testing.B) {
	e := newEnv(b)
	l := e.enrol(b, "alpha")
	_, p := l.must(201, "POST", "/fhir/R4/Patient", patient("bench-p", "Bench"), ifNoneExist("bench-p")...)
	pid := idOf(p)
	i := 0
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			i++
			id := "bench-o-" + strconv.Itoa(i)
			l.must(201, "POST", "/fhir/R4/Observation", observation(id, pid, 15), ifNoneExist(id)...)
		}
	})
	b.Run("replay", func(b *testing.B) {
		for b.Loop() {
			l.must(200, "POST", "/fhir/R4/Observation", observation("bench-o-1", pid, 15), ifNoneExist("bench-o-1")...)
		}
	})
}
