package synce2e_test

import (
	"os"
	"sync"
	"testing"
	"time"
)

// Each run of a benchmark function gets a freshly seeded practiced
// (seeding takes seconds and is not timed), so that one run's writes do not
// slow the next; TestMain stops the last ones.
var (
	benchMu sync.Mutex
	benchPs = map[string]func(){} // benchmark name → stop its practiced
)

// benchPractice starts the practiced of one run of the benchmark named
// key, stopping the previous run's: daySeed with thirty patients' fundus
// pairs at the demo's full size (640×480), so that the figures with image
// bytes are realistic.
func benchPractice(b *testing.B, key string) *practice {
	benchMu.Lock()
	defer benchMu.Unlock()
	if stop := benchPs[key]; stop != nil {
		stop()
	}
	dir, err := os.MkdirTemp("", "synce2e-bench-")
	if err != nil {
		b.Fatal(err)
	}
	seed := daySeed
	seed.ImagePatients, seed.ImageWidth, seed.ImageHeight = 30, 0, 0
	rp := startPracticeIn(b, dir, practiceOptions{seed: &seed, settle: true})
	benchPs[key] = func() { rp.stopFn(); os.RemoveAll(dir) }
	return rp.practice
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, stop := range benchPs {
		stop()
	}
	os.Exit(code)
}

// BenchmarkPrefetchDay times a new lane's first cycle against practiced
// over mutual TLS on loopback into an encrypted localdb: today's sixty
// appointments, their patients and each patient's full history
// (encounters, observations, prescriptions, image records), without and
// with image bytes. Target: under 2 s without image bytes. The metric
// followup-s is the lane's second cycle, which delivers the audit events
// the store wrote for every record it applied.
func BenchmarkPrefetchDay(b *testing.B) {
	for _, tc := range []struct {
		name   string
		images bool
	}{{"images excluded", false}, {"with image bytes", true}} {
		b.Run(tc.name, func(b *testing.B) {
			p := benchPractice(b, b.Name())
			b.ResetTimer()
			var records int
			var followup time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				l := p.newLane(b, "Bench lane", laneOptions{allSites: true, images: tc.images})
				b.StartTimer()
				l.sync()
				b.StopTimer()
				if n := len(l.schedule()); n != 60 {
					b.Fatalf("pre-fetched %d appointments, want 60", n)
				}
				records = len(l.allRecords())
				t0 := time.Now()
				l.drain(3, nil)
				followup += time.Since(t0)
				l.db.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(records), "records/op")
			b.ReportMetric(followup.Seconds()/float64(b.N), "followup-s/op")
		})
	}
}

// BenchmarkDrain1000 times the delivery of 1,000 queued readings across
// the day's patients (each with the audit event the store writes
// alongside: 2,000 outbox entries) from a lane that has pre-fetched the
// day, to practiced. Target: under 5 s.
func BenchmarkDrain1000(b *testing.B) {
	p := benchPractice(b, b.Name())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		l := p.newLane(b, "Bench lane", laneOptions{allSites: true})
		l.drain(3, nil)
		appts := l.schedule()
		now := l.cfg.Clock.Now()
		for n := 0; n < 1000; n++ {
			l.save(l.tech, measurement(appts[n%len(appts)].PatientID, "", now, n))
		}
		b.StartTimer()
		l.drain(3, nil)
		b.StopTimer()
		if c, _ := l.db.PendingCount(bg); c != 0 {
			b.Fatalf("%d left in the outbox", c)
		}
		l.db.Close()
		b.StartTimer()
	}
}
