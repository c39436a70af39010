package synce2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/examlane/examlane/cmd/practiced/server"
	"github.com/examlane/examlane/lane"
)

// daySeed is the demo practice of the outage test and the benchmarks: the
// default 200 patients with one to ten years of history and sixty on
// today's schedule across both sites.
var daySeed = server.SeedOptions{Appointments: 60, ImagePatients: 6, ImageWidth: 160, ImageHeight: 120}

// TestEightHourOutage: a lane pre-fetches a day's sixty patients, then the
// network to the server dies for eight hours (lane time, injected clock)
// while the lane's sync loop keeps running and the day's work goes on: an
// encounter per patient, 1,000 readings, a note per encounter. When the
// network returns the queue drains exactly once, the readings reach the
// server in the order they were taken, and the loop did not hammer the dead
// server meanwhile.
func TestEightHourOutage(t *testing.T) {
	t0 := time.Now()
	phase := func(name string) { t.Logf("%s: %s", name, time.Since(t0).Round(time.Millisecond)); t0 = time.Now() }
	p := startPractice(t, practiceOptions{seed: &daySeed, settle: true})
	phase("seed")
	px := newProxy(t, p.url)
	l := p.newLane(t, "Lane 1", laneOptions{serverURL: px.URL(), allSites: true})
	l.drain(3, nil)
	phase("pre-fetch")
	appts := l.schedule()
	if len(appts) != 60 {
		t.Fatalf("pre-fetched %d appointments, want 60", len(appts))
	}

	// The outage begins; the loop runs on.
	px.SetOffline(true)
	start := l.clock.Now()
	end := start.Add(8 * time.Hour)
	ctx, cancel := context.WithCancel(bg)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := l.client.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	defer func() { cancel(); wg.Wait() }()

	// The day's work, a patient every eight minutes of lane time.
	const readings = 1000
	step := 8 * time.Hour / time.Duration(len(appts))
	n := 0
	for i, ap := range appts {
		l.clock.Advance(step)
		now := l.clock.Now()
		enc := l.save(l.tech, lane.Encounter{PatientID: ap.PatientID, AppointmentID: ap.ID, Status: lane.EncPretest, Start: now,
			Location: ap.Location, Lane: l.name, Clinician: l.optom.User, ChiefComplaint: "routine review"}).(lane.Encounter)
		for k := 0; k < readings*(i+1)/len(appts)-readings*i/len(appts); k++ {
			l.save(l.tech, measurement(ap.PatientID, enc.ID, now, n))
			n++
		}
		enc.Assessment = "stable"
		l.save(l.optom, enc)
	}
	phase("queue")
	if n != readings {
		t.Fatalf("queued %d readings, want %d", n, readings)
	}
	if st := l.client.Status(); st.Online || !humaneError(st.LastError) {
		t.Errorf("status during the outage %+v: want offline with a reason in words", st)
	}
	pending, err := l.db.PendingChanges(bg, 0)
	must(t, err)
	var order []string // lane ids of the readings, in Seq order
	for _, e := range pending {
		if e.Entity == lane.EntityMeasurement && e.Op == lane.OpCreate {
			order = append(order, e.ID)
		}
	}
	if len(order) != readings {
		t.Fatalf("%d reading creates in the outbox, want %d", len(order), readings)
	}
	if now := l.clock.Now(); now.Before(end) {
		t.Fatalf("the day ended at %s, before the outage did", now.Sub(start))
	}
	duringOutage := px.refused.Load()

	// The network returns; the loop's next wake-up drains the queue.
	px.SetOffline(false)
	l.clock.SetAutoAdvance(true)
	ch, stop := l.client.Subscribe()
	defer stop()
	l.clock.Advance(5 * time.Minute) // the longest back-off
	limit := time.After(90 * time.Second)
	for done := false; !done; {
		select {
		case st := <-ch:
			if st.Online && st.Queued == 0 && st.LastError == "" {
				c, _ := l.db.PendingCount(bg)
				done = c == 0
			}
		case <-limit:
			t.Fatalf("not drained; status %+v", l.client.Status())
		}
	}
	cancel()
	wg.Wait()
	phase("drain")
	l.clock.SetAutoAdvance(false)
	t.Logf("connection attempts during the 8 h outage: %d; outbox entries drained: %d", duringOutage, len(pending))
	if duringOutage < 10 {
		t.Errorf("%d connection attempts in 8 h: the loop stopped trying", duringOutage)
	}
	if duringOutage > 150 {
		t.Errorf("%d connection attempts in 8 h, want ≤ 150 (back-off capped at 5 min, circuit breaker)", duringOutage)
	}

	// In order: the server created the readings in the lane's Seq order.
	var got []string
	for _, v := range p.history("Observation") {
		if v.method != http.MethodPost {
			continue
		}
		var h resourceHead
		must(t, json.Unmarshal(v.resource, &h))
		if id := h.laneID(); id != "" {
			got = append(got, id)
		}
	}
	if len(got) != readings {
		t.Errorf("the server created %d readings from the lane, want %d", len(got), readings)
	}
	pos := map[string]int{}
	for i, id := range got {
		pos[id] = i
	}
	inversions := 0
	for i := 1; i < len(order); i++ {
		if pos[order[i]] < pos[order[i-1]] {
			if inversions == 0 {
				t.Errorf("reading %d (Seq order) reached the server at position %d, before reading %d at %d", i, pos[order[i]], i-1, pos[order[i-1]])
			}
			inversions++
		}
	}
	if inversions > 0 {
		t.Errorf("%d readings reached the server out of Seq order", inversions)
	}
	phase("order")
	l.drain(2, nil)
	checkDelivered(t, p, l, checkOptions{})
	phase("check")
}
