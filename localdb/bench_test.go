package localdb_test

import (
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
	"github.com/examlane/examlane/localdb"
)

func TestImportAllOrNothing(t *testing.T) {
	db := newDB(t)
	p := lanetest.SyntheticPatient("Import", "IM-1")
	p.ID = "p-import"
	good := []any{p, lane.Encounter{ID: "e-1", PatientID: "p-import", Start: lanetest.T0},
		lane.Measurement{PatientID: "p-import", EncounterID: "e-1", Kind: lane.KindIOP, IOP: &lane.IOP{Pressure: 140}}}
	bad := append(append([]any{}, good...), lane.Measurement{PatientID: "p-unknown", Kind: lane.KindIOP})
	if _, err := db.Import(ctx, tech, bad); !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("import with a bad record: %v", err)
	}
	if _, err := db.GetPatient(ctx, "p-import"); !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("failed import left records: %v", err)
	}
	out, err := db.Import(ctx, tech, good)
	if err != nil || len(out) != 3 {
		t.Fatalf("import: %v", err)
	}
	c, err := db.Chart(ctx, "p-import")
	if err != nil || len(c.Encounters) != 1 || len(c.Measurements) != 1 {
		t.Fatalf("chart after import: %+v %v", c, err)
	}
}

// benchDB opens a database for benchmarks, sealed or (to measure the cost
// of sealing) not.
func benchDB(b *testing.B, sealed bool) *localdb.DB {
	cfg := testConfig(b)
	cfg.UnsafeNoSeal = !sealed
	cfg.Clock = lane.SystemClock{}
	cfg.CheckpointEvery = 100
	return openDB(b, cfg)
}

// tenYears writes a patient with 10 years of history: 40 encounters, 400
// measurements, 60 image references, 40 appointments and 10 prescriptions.
func tenYears(b *testing.B, db *localdb.DB) lane.PatientID {
	p := lanetest.SyntheticPatient("Decade", "DEC-1")
	p.ID = "p-decade"
	recs := []any{p}
	start := time.Date(2015, 1, 5, 9, 0, 0, 0, time.UTC)
	for e := 0; e < 40; e++ {
		at := start.Add(time.Duration(e) * 91 * 24 * time.Hour)
		eid := lane.EncounterID(fmt.Sprintf("enc-%02d", e))
		recs = append(recs, lane.Appointment{ID: lane.AppointmentID(fmt.Sprintf("ap-%02d", e)), PatientID: p.ID, Start: at, End: at.Add(30 * time.Minute),
			Reason: "Routine eye exam", Status: lane.ApptDone, Location: "site-1"},
			lane.Encounter{ID: eid, PatientID: p.ID, Start: at, Status: lane.EncDone, ChiefComplaint: "blurred distance vision",
				History: "no change in general health", Assessment: "myopia, stable", Plan: "update spectacles, review 12 months"})
		for m := 0; m < 10; m++ {
			recs = append(recs, lane.Measurement{PatientID: p.ID, EncounterID: eid, Kind: lane.KindRefraction, Eye: lane.Eye(1 + m%2),
				Source: lane.SourceAutorefraction, ReceivedAt: at.Add(time.Duration(m) * time.Minute),
				Instrument: lane.InstrumentRef{Vendor: "Synthetic", Model: "AR-1", Serial: "0001"},
				Refraction: &lane.Refraction{Sphere: lane.Diopters(-1000 - 25*m), Cylinder: -500, Axis: lane.Axis(1 + m*17)}})
		}
		if e%4 == 0 {
			recs = append(recs, lane.SpectacleRx{PatientID: p.ID, EncounterID: eid, Right: lane.Refraction{Sphere: -1250}, Left: lane.Refraction{Sphere: -1000},
				Issued: lane.DateOf(at)})
		}
	}
	if _, err := db.Import(ctx, tech, recs); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 60; i++ {
		if _, err := db.SaveImage(ctx, tech, lane.Image{PatientID: p.ID, EncounterID: lane.EncounterID(fmt.Sprintf("enc-%02d", i%40)),
			Kind: lane.ImageColor, MediaType: "image/jpeg", Width: 4000, Height: 3000, CapturedAt: start.Add(time.Duration(i) * 60 * 24 * time.Hour)},
			[]byte(fmt.Sprintf("synthetic image %d", i))); err != nil {
			b.Fatal(err)
		}
	}
	return p.ID
}

// p95 reports the 95th percentile of ds in milliseconds, and the CPU time
// per operation since cpu0 (which, unlike wall time, does not grow when
// other processes compete for the cores).
func p95(b *testing.B, ds []time.Duration, cpu0 time.Duration) {
	if len(ds) == 0 {
		return
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(len(ds)), "cpu-ms/op")
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	b.ReportMetric(float64(ds[(len(ds)*95+99)/100-1].Microseconds())/1000, "p95-ms")
}

// BenchmarkChartOpen loads the chart of a patient with 10 years of history
// (40 encounters, 400 measurements, 60 images); target p95 < 20 ms sealed,
// ≤ 1.5× unsealed.
func BenchmarkChartOpen(b *testing.B) {
	for _, sealed := range []bool{true, false} {
		b.Run(map[bool]string{true: "sealed", false: "noseal"}[sealed], func(b *testing.B) {
			db := benchDB(b, sealed)
			id := tenYears(b, db)
			var ds []time.Duration
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				t0 := time.Now()
				c, err := db.Chart(ctx, id)
				ds = append(ds, time.Since(t0))
				if err != nil || len(c.Measurements) != 400 || len(c.Encounters) != 40 || len(c.Images) != 60 {
					b.Fatalf("chart: %d measurements %d encounters %d images, %v", len(c.Measurements), len(c.Encounters), len(c.Images), err)
				}
			}
			p95(b, ds, cpu0)
		})
	}
}

// BenchmarkCommitMeasurement commits one measurement with its outbox entry
// and audit event (synchronous=FULL: one fsync per commit); target p95 <
// 10 ms sealed, ≤ 1.5× unsealed.
func BenchmarkCommitMeasurement(b *testing.B) {
	for _, sealed := range []bool{true, false} {
		b.Run(map[bool]string{true: "sealed", false: "noseal"}[sealed], func(b *testing.B) {
			db := benchDB(b, sealed)
			p := savePatient(b, db, "Commit", "CM-1")
			var ds []time.Duration
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; b.Loop(); i++ {
				m := lane.Measurement{PatientID: p.ID, EncounterID: "enc-1", Kind: lane.KindIOP, Eye: lane.EyeRight,
					IOP: &lane.IOP{Pressure: lane.MmHg(100 + i%150), Method: lane.IOPNonContact}, ReceivedAt: time.Now()}
				t0 := time.Now()
				_, err := db.SaveMeasurement(ctx, tech, m)
				ds = append(ds, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
			}
			p95(b, ds, cpu0)
		})
	}
}

// BenchmarkFind50k looks patients up among 50,000: exact MRN and family +
// birth date through blind indexes, and name search through the decrypted
// in-memory index (cold: first search after DropCaches; warm); name search
// target < 150 ms.
func BenchmarkFind50k(b *testing.B) {
	const n = 50000
	db := benchDB(b, true)
	families := []string{"Okafor", "Lindqvist", "Moreau", "Tanaka", "Novak", "Silva", "Kowalski", "Haddad", "Byrne", "Iyer"}
	givens := []string{"Ada", "Ben", "Cleo", "Dev", "Eun", "Femi", "Gia", "Hugo", "Ines", "Jun", "Kai", "Lea"}
	t0 := time.Now()
	for start := 0; start < n; start += 5000 {
		var recs []any
		for i := start; i < start+5000; i++ {
			recs = append(recs, lane.Patient{ID: lane.PatientID(fmt.Sprintf("p-%05d", i)), MRN: fmt.Sprintf("MRN-%06d", i),
				Name:      lane.Name{Family: fmt.Sprintf("%s%d", families[i%10], i/1000), Given: []string{givens[i%12]}},
				BirthDate: lane.Date{Year: 1940 + i%70, Month: time.Month(1 + i%12), Day: 1 + i%28}, Phone: "+1 555 0100"})
		}
		if _, err := db.Import(ctx, tech, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("imported %d patients in %v", n, time.Since(t0).Round(time.Millisecond))
	run := func(name string, before func(), q func(i int) lane.PatientQuery, want func(int) bool) {
		b.Run(name, func(b *testing.B) {
			var ds []time.Duration
			cpu0 := cpuTime()
			for i := 0; b.Loop(); i++ {
				if before != nil {
					before()
				}
				t0 := time.Now()
				got, err := db.FindPatients(ctx, q(i))
				ds = append(ds, time.Since(t0))
				if err != nil || !want(len(got)) {
					b.Fatalf("%s: %d results, %v", name, len(got), err)
				}
			}
			p95(b, ds, cpu0)
		})
	}
	one := func(k int) bool { return k == 1 }
	run("mrn", nil, func(i int) lane.PatientQuery { return lane.PatientQuery{MRN: fmt.Sprintf("mrn-%06d", (i*7919)%n)} }, one)
	run("family-dob", nil, func(i int) lane.PatientQuery {
		k := (i * 7919) % n
		return lane.PatientQuery{Family: fmt.Sprintf("%s%d", families[k%10], k/1000), BirthDate: lane.Date{Year: 1940 + k%70, Month: time.Month(1 + k%12), Day: 1 + k%28}}
	}, func(k int) bool { return k >= 1 })
	name := func(i int) lane.PatientQuery {
		k := (i * 7919) % n
		return lane.PatientQuery{NameContains: fmt.Sprintf("%s %s%d", givens[k%12], families[k%10], k/1000), Limit: 50}
	}
	run("name-cold", db.DropCaches, name, func(k int) bool { return k >= 1 })
	run("name-warm", nil, name, func(k int) bool { return k >= 1 })
	run("name-broad-limit50", nil, func(int) lane.PatientQuery { return lane.PatientQuery{NameContains: "ok", Limit: 50} },
		func(k int) bool { return k == 50 })
}
