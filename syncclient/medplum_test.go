package syncclient_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient"
	"github.com/examlane/examlane/syncclient/fhir"
)

// startMedplum installs the pinned Medplum FHIR engine (testdata/medplum,
// npm ci into a temporary copy) and starts it on 127.0.0.1; it returns the
// server's origin. It skips when node or npm is missing, in -short mode, or
// when npm cannot install (no network).
func startMedplum(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("Medplum interoperability test skipped in -short mode")
	}
	node, err1 := exec.LookPath("node")
	npm, err2 := exec.LookPath("npm")
	if err1 != nil || err2 != nil {
		t.Skip("node and npm are needed for the Medplum interoperability test")
	}
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "server.mjs"} {
		b, err := os.ReadFile(filepath.Join("testdata", "medplum", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		t.Skipf("npm ci failed (no registry access?): %v\n%s", err, out)
	}
	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOST=127.0.0.1", "PORT=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // the process this test started, by its pid
		_ = cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				ready <- strings.TrimSuffix(u, "/fhir/R4")
			}
		}
	}()
	select {
	case u := <-ready:
		return u
	case <-time.After(2 * time.Minute):
		t.Fatal("Medplum adapter did not start")
	}
	return ""
}

// fhirPost creates a resource on a server directly (as the practice system
// would) and returns its id and version.
func fhirPost(t *testing.T, base string, res fhir.Resource) (string, string) {
	t.Helper()
	body, _ := fhir.Marshal(res)
	resp, err := http.Post(base+"/fhir/R4/"+fhir.Type(res), "application/fhir+json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", fhir.Type(res), resp.StatusCode, b)
	}
	out, err := fhir.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := fhir.Version(out)
	return fhir.ID(out), v
}

// fhirSearch returns the resources a search finds.
func fhirSearch(t *testing.T, base, typ string, q url.Values) []fhir.Resource {
	t.Helper()
	resp, err := http.Get(base + "/fhir/R4/" + typ + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	bundle, err := fhir.ParseBundle(b)
	if err != nil {
		t.Fatalf("search %s: %v %s", typ, err, b)
	}
	var out []fhir.Resource
	for _, e := range bundle.Entry {
		if r, err := fhir.Decode(e.Resource); err == nil {
			out = append(out, r)
		}
	}
	return out
}

func byLaneID(id string) url.Values {
	return url.Values{"identifier": {fhir.SystemLaneID + "|" + id}}
}

// TestMedplumInterop runs pull, push, an idempotent retry and a conflict
// against Medplum's FHIR engine, a server the project did not write.
func TestMedplumInterop(t *testing.T) {
	base := startMedplum(t)
	ctx := context.Background()
	newMedplumLane := func(name string) *rig {
		return laneAt(t, base, func(c *syncclient.Config) {
			c.Insecure, c.LaneID, c.LaneName, c.Location, c.Logf = true, "lane-"+name, name, "loc-1", t.Logf
		})
	}
	r := newMedplumLane("Lane 1")
	m := fhir.Mapper{}

	// The practice system's records.
	p := m.Patient(lane.Patient{MRN: "TEST-0101", Name: lane.Name{Family: "Interop", Given: []string{"Sam"}},
		BirthDate: lane.Date{Year: 1975, Month: 5, Day: 5}, Sex: lane.SexFemale})
	p.Identifier = p.Identifier[:1]
	pid, _ := fhirPost(t, base, p)
	appt := m.Appointment(lane.Appointment{PatientID: lane.PatientID(pid), Start: r.today(10, 0), End: r.today(10, 30),
		Location: "loc-1", Status: lane.ApptBooked, Reason: "Routine eye exam"})
	appt.Identifier = nil
	fhirPost(t, base, appt)
	enc := m.Encounter(lane.Encounter{PatientID: lane.PatientID(pid), Status: lane.EncDone, Start: r.today(8, 0).AddDate(-1, 0, 0), Assessment: "Stable"})
	enc.Identifier = nil
	eid, _ := fhirPost(t, base, enc)
	obs, _ := m.Observation(lane.Measurement{PatientID: lane.PatientID(pid), EncounterID: lane.EncounterID(eid), Kind: lane.KindIOP,
		Eye: lane.EyeRight, IOP: &lane.IOP{Pressure: 160, Method: lane.IOPGoldmann}})
	obs.Identifier = nil
	fhirPost(t, base, obs)

	// Pull.
	if err := r.client.SyncNow(ctx); err != nil {
		t.Fatalf("pull from Medplum: %v", err)
	}
	ch, err := r.store.Chart(ctx, lane.PatientID(pid))
	if err != nil {
		t.Fatalf("chart not pulled: %v", err)
	}
	if ch.Patient.MRN != "TEST-0101" || len(ch.Encounters) != 1 || len(ch.Measurements) != 1 || ch.Measurements[0].IOP.Pressure != 160 {
		t.Errorf("pulled chart: patient %+v, %d encounters, %d measurements", ch.Patient, len(ch.Encounters), len(ch.Measurements))
	}

	// Push: a new measurement (transaction with Provenance, conditional
	// create) and an update of the encounter (If-Match).
	meas := newMeasurement(lane.PatientID(pid), 3)
	meas.EncounterID = lane.EncounterID(eid)
	r.save(tech, meas)
	e := ch.Encounters[0]
	e.Plan = "review in a year"
	r.save(optom, e)
	r.syncUntilDrained(4)
	if got := fhirSearch(t, base, "Observation", byLaneID(string(meas.ID))); len(got) != 1 {
		t.Fatalf("pushed measurement on Medplum %d times, want once", len(got))
	}
	encs := fhirSearch(t, base, "Encounter", url.Values{"_id": {eid}})
	if len(encs) != 1 || fhir.ExtensionString(encs[0], fhir.ExtPlan) != "review in a year" {
		t.Errorf("encounter update not on Medplum: %+v", encs)
	}
	if got := fhirSearch(t, base, "Provenance", url.Values{"target": {"Observation/" + fhir.ID(fhirSearch(t, base, "Observation", byLaneID(string(meas.ID)))[0])}}); len(got) != 1 {
		t.Errorf("provenance of the measurement: %d, want 1", len(got))
	}

	// Idempotent retry: a second delivery of the same create (as after an
	// answer lost on the way) finds the first and adds nothing.
	r2 := newMedplumLane("Lane 1 again")
	if err := r2.client.SyncNow(ctx); err != nil {
		t.Fatal(err)
	}
	dup := meas
	dup.Version = 0
	r2.save(tech, dup)
	r2.syncUntilDrained(4)
	if got := fhirSearch(t, base, "Observation", byLaneID(string(meas.ID))); len(got) != 1 {
		t.Errorf("after a retried create the measurement is on Medplum %d times", len(got))
	}
	if sid, _, _ := r2.store.ServerRef(ctx, lane.EntityMeasurement, string(meas.ID)); sid == "" {
		t.Error("the retried create did not learn the server id")
	}

	// Conflict: the practice system changes the patient; the lane, not
	// knowing, changes the phone.
	rec, _ := r.store.Get(lane.EntityPatient, pid)
	lp := rec.(lane.Patient)
	srvP := fhirSearch(t, base, "Patient", url.Values{"_id": {pid}})[0].(*fhir.Patient)
	srvP.Telecom = []fhir.ContactPoint{{System: "email", Value: "front-desk@example.test"}}
	v, _ := fhir.Version(srvP)
	body, _ := json.Marshal(srvP)
	req, _ := http.NewRequest(http.MethodPut, base+"/fhir/R4/Patient/"+pid, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("If-Match", `W/"`+v+`"`)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("server-side update: %v %v", err, resp)
	}
	lp.Phone = "+1 555 0142"
	r.save(tech, lp)
	_ = r.client.SyncNow(ctx)
	cs, _ := r.store.Conflicts(ctx, false)
	if len(cs) != 1 || !jsonHas(t, cs[0].Theirs, "front-desk@example.test") || !jsonHas(t, cs[0].Mine, "+1 555 0142") {
		t.Fatalf("conflict against Medplum: %+v", cs)
	}
	if err := r.client.ResolveConflict(ctx, cs[0].ID, lane.ResolveKeepMine, optom, nil); err != nil {
		t.Fatal(err)
	}
	r.syncUntilDrained(4)
	srvP = fhirSearch(t, base, "Patient", url.Values{"_id": {pid}})[0].(*fhir.Patient)
	if got := must3(m.PatientFrom(srvP)); got.Phone != "+1 555 0142" {
		t.Errorf("kept version not on Medplum: %+v", srvP.Telecom)
	}

	// Graceful degradation: Medplum's router has no type-level _history, so
	// a deletion there is not seen by the lane (it keeps the record), and
	// the cycle still succeeds.
	req, _ = http.NewRequest(http.MethodDelete, base+"/fhir/R4/Encounter/"+eid, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode >= 300 {
		t.Fatalf("delete on Medplum: %v %v", err, resp)
	}
	if err := r.client.SyncNow(ctx); err != nil {
		t.Errorf("cycle after a server-side delete: %v", err)
	}
	if got, ok := r.store.Get(lane.EntityEncounter, eid); !ok || got.(lane.Encounter).Deleted {
		t.Log("the lane saw the deletion (Medplum grew history support?)")
	}
}

func must3(p lane.Patient, err error) lane.Patient {
	if err != nil {
		panic(err)
	}
	return p
}
