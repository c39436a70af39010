package syncclient_test

import (
	"context"
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient"
	"github.com/examlane/examlane/syncclient/synctest"
)

// BenchmarkPrefetchDay pulls a day's 60 patients with their full history
// (5 past visits, each with 10 observations and a prescription: about 4,000
// resources) over HTTPS with mutual TLS on loopback. Target: < 2 s.
func BenchmarkPrefetchDay(b *testing.B) {
	srv := newServer(b, synctest.Options{})
	first := newLane(b, srv, "Lane 0", nil)
	for i := 0; i < 60; i++ {
		pid := seedPatient(b, srv, i, "loc-1", first.today(8, 0))
		seedChart(b, srv, pid, 5, 10, first.clock.Now())
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		r := newLane(b, srv, "Lane 1", nil)
		b.StartTimer()
		if err := r.client.SyncNow(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n := len(r.store.Records(lane.EntityMeasurement)); n != 60*5*10 {
			b.Fatalf("pulled %d measurements, want %d", n, 60*5*10)
		}
		b.StartTimer()
	}
}

// BenchmarkDrain1000 pushes 1,000 queued changes (new measurements, each
// with the audit event the store writes alongside: 2,000 outbox entries).
// Target: < 5 s.
func BenchmarkDrain1000(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts synctest.Options
	}{{"transactions", synctest.Options{}}, {"plain REST", synctest.Options{NoTransactions: true}}} {
		b.Run(tc.name, func(b *testing.B) {
			srv := newServer(b, tc.opts)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				r := newLane(b, srv, "Lane 1", func(c *syncclient.Config) {})
				pid := seedPatient(b, srv, i, "loc-1", r.today(9, 0))
				r.syncUntilDrained(3)
				for n := 0; n < 1000; n++ {
					r.save(tech, newMeasurement(lane.PatientID(pid), n))
				}
				b.StartTimer()
				r.syncUntilDrained(3)
			}
		})
	}
}
