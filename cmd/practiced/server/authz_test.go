package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
)

// The acceptance test of the sign-in issue: every action, for every role,
// allowed or denied at the lane's service layer AND at the server, against
// one literal table. Roles: T technician, O optometrist, P optician, F
// front desk, A admin.

var roleLetters = map[lane.Role]string{lane.RoleTechnician: "T", lane.RoleOptometrist: "O", lane.RoleOptician: "P",
	lane.RoleFrontDesk: "F", lane.RoleAdmin: "A"}

// svcFixture is a lane service with one patient booked today, an open
// encounter, a reading and an appointment, as the lane's own tests build.
type svcFixture struct {
	svc   *lane.Service
	store *lanetest.Store
	pid   lane.PatientID
	enc   lane.Encounter
	appt  lane.Appointment
	read  lane.Measurement
	img   lane.Image
}

func newSvcFixture(t *testing.T, role lane.Role) *svcFixture {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock := lanetest.NewManualClock(t0)
	st := lanetest.NewStore(clock)
	sys := lane.Actor{User: "setup", Roles: []lane.Role{lane.RoleAdmin}, Lane: "lane-1"}
	p, err := st.SavePatient(ctx, sys, lane.Patient{ID: "p1", MRN: "DEMO-1", Name: lane.Name{Family: "Synthetic", Given: []string{"Test"}},
		BirthDate: lane.Date{Year: 1970, Month: 1, Day: 2}})
	if err != nil {
		t.Fatal(err)
	}
	f := &svcFixture{store: st, pid: p.ID}
	if f.appt, err = st.SaveAppointment(ctx, sys, lane.Appointment{ID: "a1", PatientID: p.ID, Start: t0.Add(time.Hour), End: t0.Add(90 * time.Minute),
		Location: "loc-1", Status: lane.ApptArrived}); err != nil {
		t.Fatal(err)
	}
	if f.enc, err = st.SaveEncounter(ctx, sys, lane.Encounter{ID: "e1", PatientID: p.ID, AppointmentID: "a1", Status: lane.EncPretest, Start: t0, Location: "loc-1"}); err != nil {
		t.Fatal(err)
	}
	if f.read, err = st.SaveMeasurement(ctx, sys, autoref(p.ID, f.enc.ID)); err != nil {
		t.Fatal(err)
	}
	if f.img, err = st.SaveImage(ctx, sys, lane.Image{ID: "img-1", PatientID: p.ID, MediaType: "image/jpeg"}, []byte("synthetic")); err != nil {
		t.Fatal(err)
	}
	f.svc = lane.NewService(lane.Config{Store: st, Clock: clock, Lane: "lane-1", Location: "loc-1", Device: "dev-1", TimeZone: time.UTC})
	if err := f.svc.Begin(ctx, lane.Session{User: lane.UserID("u-" + string(role)), Roles: []lane.Role{role}, Started: t0, Expires: t0.Add(12 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return f
}

func autoref(p lane.PatientID, e lane.EncounterID) lane.Measurement {
	return lane.Measurement{PatientID: p, EncounterID: e, Kind: lane.KindRefraction, Eye: lane.EyeRight,
		Source: lane.SourceAutorefraction, Refraction: &lane.Refraction{Sphere: -1250, Cylinder: -500, Axis: 90}}
}

// srvIDs are the server resources an action works on, made fresh for each
// role by a lane without a user token (writes without one are unchecked).
type srvIDs struct {
	patient, encounter, signed, appt, obs, rx string
}

func xext(url string, kv ...any) map[string]any {
	m := map[string]any{"url": url}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func encounterRes(pid, flow string, extra ...map[string]any) map[string]any {
	x := []any{xext(extFlow, "valueCode", flow)}
	for _, e := range extra {
		x = append(x, e)
	}
	return map[string]any{"resourceType": "Encounter", "status": "in-progress", "subject": ref("Patient", pid),
		"class": map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}, "extension": x}
}

func signature() map[string]any {
	return xext(extSignature, "extension", []any{xext("by", "valueReference", ref("Practitioner", "optom-1")), xext("at", "valueDateTime", "2026-11-23T10:00:00Z")})
}

func appointmentRes(pid, status, flow, start string) map[string]any {
	return map[string]any{"resourceType": "Appointment", "status": status, "start": start, "end": "2026-11-23T10:30:00Z",
		"participant": []any{map[string]any{"actor": ref("Patient", pid), "status": "accepted"}},
		"extension":   []any{xext(extFlow, "valueCode", flow)}}
}

func observationRes(pid, source string) map[string]any {
	return map[string]any{"resourceType": "Observation", "status": "final", "subject": ref("Patient", pid),
		"category":          []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "exam"}}}},
		"code":              map[string]any{"coding": []any{map[string]any{"system": "https://examlane.org/fhir/CodeSystem/measurement", "code": "refraction"}}},
		"method":            map[string]any{"coding": []any{map[string]any{"system": sourceSystem, "code": source}}},
		"effectiveDateTime": "2026-11-23T09:30:00Z"}
}

func rxRes(pid, status string) map[string]any {
	return map[string]any{"resourceType": "VisionPrescription", "status": status, "created": "2026-11-23T10:00:00Z",
		"patient": ref("Patient", pid), "dateWritten": "2026-11-23T10:00:00Z", "prescriber": ref("Practitioner", "optom-1"),
		"lensSpecification": []any{map[string]any{"product": map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/ex-visionprescriptionproduct", "code": "lens"}}}, "eye": "right", "sphere": -1.25}}}
}

func withID(m map[string]any, id string) map[string]any { m["id"] = id; return m }

func setupServer(t *testing.T, adm *testLane) srvIDs {
	t.Helper()
	post := func(m map[string]any) string {
		_, out := adm.must(http.StatusCreated, http.MethodPost, "/fhir/R4/"+m["resourceType"].(string), m)
		return idOf(out)
	}
	var ids srvIDs
	ids.patient = post(patient(lane.NewID(), "Synthetic"))
	ids.encounter = post(encounterRes(ids.patient, "pretest"))
	ids.signed = post(encounterRes(ids.patient, "exam", signature()))
	ids.appt = post(appointmentRes(ids.patient, "arrived", "arrived", "2026-11-23T10:00:00Z"))
	ids.obs = post(observationRes(ids.patient, "autorefraction"))
	ids.rx = post(rxRes(ids.patient, "draft"))
	return ids
}

// authzAction is one row of the table.
type authzAction struct {
	name    string
	allowed string // role letters
	svc     func(ctx context.Context, f *svcFixture) error
	// method, path and body of the server write ("" path: no server side).
	srv func(ids srvIDs) (method, path string, body any)
}

func put(typ, id string, m map[string]any) (string, string, any) {
	return http.MethodPut, "/fhir/R4/" + typ + "/" + id, withID(m, id)
}

func authzActions() []authzAction {
	return []authzAction{
		{"capture pretest reading", "TO",
			func(ctx context.Context, f *svcFixture) error {
				_, err := f.svc.RecordMeasurement(ctx, autoref(f.pid, f.enc.ID))
				return err
			},
			func(ids srvIDs) (string, string, any) {
				return http.MethodPost, "/fhir/R4/Observation", observationRes(ids.patient, "autorefraction")
			}},
		{"remove pretest reading", "TO",
			func(ctx context.Context, f *svcFixture) error { return f.svc.RemoveMeasurement(ctx, f.read, "re-take") },
			func(ids srvIDs) (string, string, any) {
				return http.MethodDelete, "/fhir/R4/Observation/" + ids.obs, nil
			}},
		{"read glasses on the lensmeter", "TOP",
			func(ctx context.Context, f *svcFixture) error {
				m := autoref(f.pid, f.enc.ID)
				m.Source = lane.SourceLensometry
				_, err := f.svc.RecordMeasurement(ctx, m)
				return err
			},
			func(ids srvIDs) (string, string, any) {
				return http.MethodPost, "/fhir/R4/Observation", observationRes(ids.patient, "lensmeter")
			}},
		{"record subjective refraction", "O",
			func(ctx context.Context, f *svcFixture) error {
				m := autoref(f.pid, f.enc.ID)
				m.Source = lane.SourceSubjective
				_, err := f.svc.RecordMeasurement(ctx, m)
				return err
			},
			func(ids srvIDs) (string, string, any) {
				return http.MethodPost, "/fhir/R4/Observation", observationRes(ids.patient, "subjective")
			}},
		{"record final Rx reading", "O",
			func(ctx context.Context, f *svcFixture) error {
				m := autoref(f.pid, f.enc.ID)
				m.Source = lane.SourceFinal
				_, err := f.svc.RecordMeasurement(ctx, m)
				return err
			},
			func(ids srvIDs) (string, string, any) {
				return http.MethodPost, "/fhir/R4/Observation", observationRes(ids.patient, "final")
			}},
		{"save draft spectacle Rx", "O",
			func(ctx context.Context, f *svcFixture) error {
				_, err := f.svc.SaveSpectacleRx(ctx, lane.SpectacleRx{PatientID: f.pid, EncounterID: f.enc.ID, Lens: lane.LensSingleVision})
				return err
			},
			func(ids srvIDs) (string, string, any) {
				return http.MethodPost, "/fhir/R4/VisionPrescription", rxRes(ids.patient, "draft")
			}},
		{"sign spectacle Rx", "O",
			func(ctx context.Context, f *svcFixture) error {
				_, err := f.svc.SignRx(ctx, lane.SpectacleRx{PatientID: f.pid, EncounterID: f.enc.ID, Lens: lane.LensSingleVision})
				return err
			},
			func(ids srvIDs) (string, string, any) {
				return put("VisionPrescription", ids.rx, rxRes(ids.patient, "active"))
			}},
		{"edit exam notes", "O",
			func(ctx context.Context, f *svcFixture) error {
				e := f.enc
				e.Assessment = "synthetic assessment"
				_, err := f.svc.SaveEncounter(ctx, e)
				return err
			},
			func(ids srvIDs) (string, string, any) {
				return put("Encounter", ids.encounter, encounterRes(ids.patient, "pretest", xext(extBase+"assessment", "valueString", "synthetic assessment")))
			}},
		{"move encounter to exam", "TO",
			func(ctx context.Context, f *svcFixture) error {
				e := f.enc
				e.Status = lane.EncExam
				_, err := f.svc.SaveEncounter(ctx, e)
				return err
			},
			func(ids srvIDs) (string, string, any) {
				return put("Encounter", ids.encounter, encounterRes(ids.patient, "exam"))
			}},
		{"sign exam", "O",
			func(ctx context.Context, f *svcFixture) error { _, err := f.svc.SignExam(ctx, f.enc.ID); return err },
			func(ids srvIDs) (string, string, any) {
				return put("Encounter", ids.encounter, encounterRes(ids.patient, "pretest", signature()))
			}},
		{"add addendum", "O",
			func(ctx context.Context, f *svcFixture) error {
				_, err := f.svc.AddAddendum(ctx, f.enc.ID, "synthetic addendum")
				return err
			},
			func(ids srvIDs) (string, string, any) {
				return put("Encounter", ids.signed, encounterRes(ids.patient, "exam", signature(), xext(extAddendum, "extension", []any{xext("text", "valueString", "synthetic addendum")})))
			}},
		{"attach image", "TO",
			func(ctx context.Context, f *svcFixture) error {
				_, err := f.svc.AttachImage(ctx, lane.Image{PatientID: f.pid, EncounterID: f.enc.ID, Eye: lane.EyeRight, MediaType: "image/jpeg"}, []byte("synthetic"))
				return err
			},
			func(ids srvIDs) (string, string, any) {
				return http.MethodPost, "/fhir/R4/DocumentReference", map[string]any{"resourceType": "DocumentReference", "status": "current",
					"subject": ref("Patient", ids.patient), "content": []any{map[string]any{"attachment": map[string]any{"contentType": "image/jpeg"}}}}
			}},
		{"annotate image", "O",
			func(ctx context.Context, f *svcFixture) error {
				_, err := f.svc.SaveAnnotation(ctx, f.img, lane.Annotation{ImageID: f.img.ID, Kind: lane.AnnotText, Text: "synthetic note"})
				return err
			},
			func(ids srvIDs) (string, string, any) {
				return http.MethodPost, "/fhir/R4/Basic", map[string]any{"resourceType": "Basic", "subject": ref("Patient", ids.patient),
					"code": map[string]any{"coding": []any{map[string]any{"system": "https://examlane.org/fhir/CodeSystem/resource", "code": "annotation"}}}}
			}},
		{"move visit to pretest", "TO",
			func(ctx context.Context, f *svcFixture) error {
				_, err := f.svc.AdvanceVisit(ctx, f.appt, lane.ApptPretest)
				return err
			},
			func(ids srvIDs) (string, string, any) {
				return put("Appointment", ids.appt, appointmentRes(ids.patient, "checked-in", "pretest", "2026-11-23T10:00:00Z"))
			}},
		{"open the visit's encounter at pretest", "TO",
			func(ctx context.Context, f *svcFixture) error {
				_, err := f.svc.AdvanceVisit(ctx, f.appt, lane.ApptPretest)
				return err
			},
			func(ids srvIDs) (string, string, any) {
				// what AdvanceVisit's new encounter is on the wire: no notes
				return http.MethodPost, "/fhir/R4/Encounter", encounterRes(ids.patient, "pretest")
			}},
		{"move visit to exam", "O",
			func(ctx context.Context, f *svcFixture) error {
				_, err := f.svc.AdvanceVisit(ctx, f.appt, lane.ApptExam)
				return err
			},
			func(ids srvIDs) (string, string, any) {
				return put("Appointment", ids.appt, appointmentRes(ids.patient, "checked-in", "exam", "2026-11-23T10:00:00Z"))
			}},
		{"finish visit", "OP",
			func(ctx context.Context, f *svcFixture) error {
				_, err := f.svc.AdvanceVisit(ctx, f.appt, lane.ApptDone)
				return err
			},
			func(ids srvIDs) (string, string, any) {
				return put("Appointment", ids.appt, appointmentRes(ids.patient, "fulfilled", "done", "2026-11-23T10:00:00Z"))
			}},
		// Server-only writes (the lane has no service action for them).
		{"reschedule appointment", "F", nil,
			func(ids srvIDs) (string, string, any) {
				return put("Appointment", ids.appt, appointmentRes(ids.patient, "arrived", "arrived", "2026-11-23T11:00:00Z"))
			}},
		{"book appointment", "F", nil,
			func(ids srvIDs) (string, string, any) {
				return http.MethodPost, "/fhir/R4/Appointment", appointmentRes(ids.patient, "booked", "booked", "2026-11-24T10:00:00Z")
			}},
		{"edit demographics", "F", nil,
			func(ids srvIDs) (string, string, any) { return put("Patient", ids.patient, patient("x", "Renamed")) }},
		{"delete prescription", "O", nil,
			func(ids srvIDs) (string, string, any) {
				return http.MethodDelete, "/fhir/R4/VisionPrescription/" + ids.rx, nil
			}},
		{"add staff member", "A", nil,
			func(ids srvIDs) (string, string, any) {
				return http.MethodPost, "/fhir/R4/Practitioner", map[string]any{"resourceType": "Practitioner", "active": true}
			}},
		{"add location", "A", nil,
			func(ids srvIDs) (string, string, any) {
				return http.MethodPost, "/fhir/R4/Location", map[string]any{"resourceType": "Location", "name": "Annex"}
			}},
		{"register instrument", "A", nil,
			func(ids srvIDs) (string, string, any) {
				return http.MethodPost, "/fhir/R4/Device", map[string]any{"resourceType": "Device", "status": "active"}
			}},
		{"send audit event", "TOPFA", nil,
			func(ids srvIDs) (string, string, any) {
				return http.MethodPost, "/fhir/R4/AuditEvent", map[string]any{"resourceType": "AuditEvent", "recorded": "2026-11-23T10:00:00Z"}
			}},
		{"send provenance", "TOPFA", nil,
			func(ids srvIDs) (string, string, any) {
				return http.MethodPost, "/fhir/R4/Provenance", map[string]any{"resourceType": "Provenance", "target": []any{ref("Patient", ids.patient)}}
			}},
		{"store DICOM (STOW-RS)", "TO", nil,
			func(ids srvIDs) (string, string, any) { return http.MethodPost, "/dicomweb/studies", "--b--\r\n" }},
	}
}

func TestEveryRoleEveryActionServiceAndServer(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	adm := e.enrol(t, "alpha")
	adm.user = testUser
	tokens := map[lane.Role]string{}
	userLane := e.enrol(t, "alpha")
	userLane.user = ""
	for _, r := range lane.Roles {
		u, err := e.srv.AddUser(ctx, User{Tenant: "alpha", Name: "Role " + string(r), Roles: []lane.Role{r}})
		if err != nil {
			t.Fatal(err)
		}
		if tokens[r], _, err = e.srv.issueToken("alpha", u.ID, userLane.id, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range authzActions() {
		for _, role := range lane.Roles {
			want := strings.Contains(a.allowed, roleLetters[role])
			t.Run(a.name+"/"+string(role), func(t *testing.T) {
				if a.svc != nil {
					f := newSvcFixture(t, role)
					err := a.svc(ctx, f)
					if want && err != nil {
						t.Errorf("service: %v, want allowed", err)
					}
					if !want && !errors.Is(err, lane.ErrForbidden) {
						t.Errorf("service: %v, want ErrForbidden", err)
					}
				}
				ids := setupServer(t, adm)
				method, path, body := a.srv(ids)
				hdr := []string{"Authorization", "Bearer " + tokens[role]}
				if method != http.MethodPost {
					hdr = append(hdr, "If-Match", `W/"1"`)
				}
				if strings.HasPrefix(path, "/dicomweb") {
					hdr = append(hdr, "Content-Type", `multipart/related; type="application/dicom"; boundary=b`)
				}
				resp, b := userLane.do(method, path, body, hdr...)
				got := resp.StatusCode
				switch {
				case want && strings.HasPrefix(path, "/dicomweb") && (got == http.StatusForbidden || got >= 500):
					t.Errorf("server: %d %s, want not forbidden", got, b)
				case want && !strings.HasPrefix(path, "/dicomweb") && got/100 != 2:
					t.Errorf("server: %d %.200s, want 2xx", got, b)
				case !want && got != http.StatusForbidden:
					t.Errorf("server: %d %.200s, want 403", got, b)
				}
			})
		}
	}
}

// TestServerWriteRulesBeyondTheTable covers what the table does not: a
// signature is never removed, audit records never change, and a
// transaction is refused whole when one entry is forbidden.
func TestServerWriteRulesBeyondTheTable(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	adm := e.enrol(t, "alpha")
	adm.user = testUser
	l := e.enrol(t, "alpha")
	l.user = ""
	u, _ := e.srv.AddUser(ctx, User{Tenant: "alpha", Name: "Optom One", Roles: []lane.Role{lane.RoleOptometrist}})
	tok, _, _ := e.srv.issueToken("alpha", u.ID, l.id, e.clock.Now())
	bearer := []string{"Authorization", "Bearer " + tok}
	ids := setupServer(t, adm)
	m, p, b := put("Encounter", ids.signed, encounterRes(ids.patient, "exam"))
	if resp, body := l.do(m, p, b, append(bearer, "If-Match", `W/"1"`)...); resp.StatusCode != http.StatusForbidden {
		t.Errorf("removing a signature: %d %s", resp.StatusCode, body)
	}
	_, ae := adm.must(http.StatusCreated, http.MethodPost, "/fhir/R4/AuditEvent", map[string]any{"resourceType": "AuditEvent", "recorded": "2026-11-23T10:00:00Z"})
	if resp, _ := l.do(http.MethodPut, "/fhir/R4/AuditEvent/"+idOf(ae), withID(map[string]any{"resourceType": "AuditEvent"}, idOf(ae)), append(bearer, "If-Match", `W/"1"`)...); resp.StatusCode != http.StatusForbidden {
		t.Errorf("changing an audit event: %d", resp.StatusCode)
	}
	if resp, _ := l.do(http.MethodDelete, "/fhir/R4/AuditEvent/"+idOf(ae), nil, bearer...); resp.StatusCode != http.StatusForbidden {
		t.Errorf("deleting an audit event: %d", resp.StatusCode)
	}
	// A transaction with an allowed and a forbidden entry writes nothing.
	bundle := map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
		map[string]any{"resource": observationRes(ids.patient, "subjective"), "request": map[string]any{"method": "POST", "url": "Observation"}},
		map[string]any{"resource": patient(lane.NewID(), "Other"), "request": map[string]any{"method": "POST", "url": "Patient"}},
	}}
	if resp, body := l.do(http.MethodPost, "/fhir/R4", bundle, bearer...); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("mixed transaction: %d %s", resp.StatusCode, body)
	}
	_, sb := adm.must(http.StatusOK, http.MethodGet, fmt.Sprintf("/fhir/R4/Observation?patient=Patient/%s", ids.patient), nil)
	if n, _ := sb["total"].(float64); n != 1 {
		t.Fatalf("%v observations after a refused transaction, want 1", sb["total"])
	}
}
