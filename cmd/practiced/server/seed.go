package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
)

// The demo seed writes FHIR JSON directly, in the shapes and codes the
// lane's mapping (syncclient/fhir) reads; see the constants below.
const (
	sysSNOMED       = "http://snomed.info/sct"
	sysLOINC        = "http://loinc.org"
	sysUCUM         = "http://unitsofmeasure.org"
	sysObsCategory  = "http://terminology.hl7.org/CodeSystem/observation-category"
	sysActCode      = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	sysParticipant  = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	sysIdentType    = "http://terminology.hl7.org/CodeSystem/v2-0203"
	sysVisionProd   = "http://terminology.hl7.org/CodeSystem/ex-visionprescriptionproduct"
	sysDCM          = "http://dicom.nema.org/resources/ontology/DCM"
	sysRFC3986      = "urn:ietf:rfc:3986"
	sysDICOMUID     = "urn:dicom:uid"
	sysMRN          = "urn:examlane:mrn"
	sysActReason    = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	sysSynthetic    = "urn:examlane:synthetic"
	sysMeasure      = "https://examlane.org/fhir/CodeSystem/measurement"
	sysSource       = "https://examlane.org/fhir/CodeSystem/source"
	sysIOPMethod    = "https://examlane.org/fhir/CodeSystem/iop-method"
	sysImageKind    = "https://examlane.org/fhir/CodeSystem/image-kind"
	sysDistance     = "https://examlane.org/fhir/CodeSystem/distance"
	extURL          = "https://examlane.org/fhir/StructureDefinition/"
	snomedRightEye  = "362503005"
	snomedLeftEye   = "362502000"
	snomedBothEyes  = "362508001"
	demoMRNPrefix   = "DEMO-"
	demoInstrument  = "Examlane Demo"
	demoImageWidth  = 640
	demoImageHeight = 480
)

// SeedOptions configure Seed. Zero values take the defaults.
type SeedOptions struct {
	// Patients is the number of synthetic patients (default 200).
	Patients int
	// Appointments is the size of today's schedule (default 60, at most
	// Patients).
	Appointments int
	// ImagePatients is how many patients get a fundus pair at their last
	// visit (default 30): the first half as DICOM OP instances with
	// ImagingStudy, the rest as JPEG Binary + DocumentReference.
	ImagePatients int
	// ImageWidth and ImageHeight size the synthetic fundus images
	// (default 640×480).
	ImageWidth, ImageHeight int
	// RandSeed makes the values reproducible (default 1). Resource ids are
	// random whatever the seed.
	RandSeed uint64
}

// SeedReport counts what Seed created.
type SeedReport struct {
	Locations      int
	Lanes          []string // lane names per location, "Location/Lane"
	Staff          map[lane.Role]int
	Patients       int
	Encounters     int
	Observations   int
	Prescriptions  int
	Appointments   int
	ImagingStudies int
	DICOMInstances int
	Photos         int // Binary + DocumentReference pairs
}

// Seed fills tenant with a synthetic demo practice: two sites with lanes,
// staff of every role, patients with one to ten years of history
// (encounters; autorefraction, subjective refraction, keratometry, IOP,
// visual acuity and PD observations; spectacle prescriptions), today's
// schedule across the lanes relative to the server's today, and synthetic
// fundus images. Every record is marked synthetic (MRN prefix DEMO-,
// meta.security HTEST and meta.tag urn:examlane:synthetic|demo). Seeding a
// tenant twice is refused.
func (s *Server) Seed(ctx context.Context, tenant string, o SeedOptions) (SeedReport, error) {
	if o.Patients <= 0 {
		o.Patients = 200
	}
	if o.Appointments <= 0 {
		o.Appointments = 60
	}
	o.Appointments = min(o.Appointments, o.Patients)
	if o.ImagePatients <= 0 {
		o.ImagePatients = 30
	}
	o.ImagePatients = min(o.ImagePatients, o.Patients)
	if o.ImageWidth <= 0 || o.ImageHeight <= 0 {
		o.ImageWidth, o.ImageHeight = demoImageWidth, demoImageHeight
	}
	if o.RandSeed == 0 {
		o.RandSeed = 1
	}
	rep := SeedReport{Staff: map[lane.Role]int{}}
	if err := s.checkTenant(ctx, tenant); err != nil {
		return rep, fmt.Errorf("seed: %w", err)
	}
	if ids, err := findByIdentifier(ctx, s.db.r, tenant, "Location", identifierQuery{param: "_tag", system: sysSynthetic, hasSystem: true, value: "demo"}, 1); err != nil {
		return rep, fmt.Errorf("seed: %w", err)
	} else if len(ids) > 0 {
		return rep, fmt.Errorf("seed %s: demo data %w", tenant, errExists)
	}
	sd := &seeder{s: s, tenant: tenant, o: o, rng: rand.New(rand.NewPCG(o.RandSeed, 0x5eed)), rep: &rep}
	now := s.clock.Now().In(s.loc)
	sd.today = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.loc)
	sd.now = now
	if err := sd.practice(ctx); err != nil {
		return rep, fmt.Errorf("seed practice: %w", err)
	}
	// Patients are written 25 to a transaction: the commits (one fsync
	// each) dominate the seed's time.
	const batch = 25
	for b := 0; b < o.Patients; b += batch {
		err := sd.write(ctx, func(w *writeCtx) error {
			for i := b; i < min(b+batch, o.Patients); i++ {
				if err := sd.patient(ctx, w, i); err != nil {
					return fmt.Errorf("seed patient %d: %w", i+1, err)
				}
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
	}
	if err := sd.schedule(ctx); err != nil {
		return rep, fmt.Errorf("seed schedule: %w", err)
	}
	for i := range o.ImagePatients {
		if err := sd.images(ctx, i); err != nil {
			return rep, fmt.Errorf("seed images %d: %w", i+1, err)
		}
	}
	return rep, nil
}

// seeder carries the state of one Seed run.
type seeder struct {
	s      *Server
	tenant string
	o      SeedOptions
	rng    *rand.Rand
	rep    *SeedReport
	today  time.Time
	now    time.Time

	sites         []site
	techs, optoms []staffRef
	patients      []seededPatient
}

type site struct {
	id    string
	name  string
	lanes []string
}

type staffRef struct {
	id   string
	site int
}

// seededPatient remembers what later steps need about a patient.
type seededPatient struct {
	id, mrn, family, given, birth, sex string
	lastEncounter                      string
	lastVisit                          time.Time
	site                               int
	cupDisc                            float64
}

// meta marks a seeded resource synthetic.
func demoMeta() map[string]any {
	return map[string]any{
		"security": []any{map[string]any{"system": sysActReason, "code": "HTEST", "display": "test health data"}},
		"tag":      []any{map[string]any{"system": sysSynthetic, "code": "demo", "display": "Synthetic demo data"}},
	}
}

func coding(system, code, display string) map[string]any {
	c := map[string]any{"system": system, "code": code}
	if display != "" {
		c["display"] = display
	}
	return c
}

func cc(text string, codings ...map[string]any) map[string]any {
	m := map[string]any{}
	if len(codings) > 0 {
		l := make([]any, len(codings))
		for i, c := range codings {
			l[i] = c
		}
		m["coding"] = l
	}
	if text != "" {
		m["text"] = text
	}
	return m
}

func ref(typ, id string) map[string]any { return map[string]any{"reference": typ + "/" + id} }

func ext(name, key string, v any) map[string]any {
	return map[string]any{"url": extURL + name, key: v}
}

func qty(v json.Number, unit string) map[string]any {
	return map[string]any{"value": v, "unit": unit, "system": sysUCUM, "code": unit}
}

// dpt formats a power with two decimals ("-2.25", "0.00").
func dpt(d lane.Diopters) json.Number {
	return json.Number(strconv.FormatFloat(d.Float(), 'f', 2, 64))
}

func mm(m lane.Millimeters) json.Number {
	return json.Number(strconv.FormatFloat(m.Float(), 'f', 2, 64))
}

func num(v int) json.Number { return json.Number(strconv.Itoa(v)) }

// quarter rounds dioptres to the nearest 0.25 D.
func quarter(x float64) lane.Diopters { return lane.Diopters(math.Round(x*4) * 250) }

func eyeConcept(e lane.Eye) map[string]any {
	switch e {
	case lane.EyeRight:
		return cc("", coding(sysSNOMED, snomedRightEye, "Entire right eye"))
	case lane.EyeLeft:
		return cc("", coding(sysSNOMED, snomedLeftEye, "Entire left eye"))
	}
	return cc("", coding(sysSNOMED, snomedBothEyes, "Both eyes, entire"))
}

// write runs fn in one write transaction attributed to the administrator.
func (sd *seeder) write(ctx context.Context, fn func(w *writeCtx) error) error {
	return sd.s.withWrite(ctx, identity{Tenant: sd.tenant, User: adminUser}, fn)
}

// create stores a seeded resource and returns its id.
func create(ctx context.Context, w *writeCtx, m map[string]any) (string, error) {
	m["meta"] = demoMeta()
	st, err := w.insertNew(ctx, m, "", "")
	return st.ID, err
}

// practice creates the sites and staff.
func (sd *seeder) practice(ctx context.Context) error {
	return sd.write(ctx, func(w *writeCtx) error {
		for _, s := range []site{
			{name: "Main Street Eye Care", lanes: []string{"Lane 1", "Lane 2", "Lane 3"}},
			{name: "Riverside Eye Care", lanes: []string{"Lane 1", "Lane 2"}},
		} {
			loc := locationResource(s.name, "")
			loc["identifier"] = []any{map[string]any{"system": sysSynthetic, "value": s.name}}
			id, err := create(ctx, w, loc)
			if err != nil {
				return err
			}
			s.id = id
			sd.sites = append(sd.sites, s)
			sd.rep.Locations++
			for _, l := range s.lanes {
				sd.rep.Lanes = append(sd.rep.Lanes, s.name+"/"+l)
			}
		}
		for _, p := range staffPlan {
			u := &User{Tenant: sd.tenant, Name: p.given + " " + p.family,
				Login: strings.ToLower(strings.ReplaceAll(p.given, " ", "") + "." + p.family)}
			for _, r := range p.roles {
				u.Roles = append(u.Roles, lane.Role(r))
				sd.rep.Staff[lane.Role(r)]++
			}
			switch p.site {
			case -1:
				u.Locations = []string{sd.sites[0].id, sd.sites[1].id}
			default:
				u.Locations = []string{sd.sites[p.site].id}
			}
			if err := w.addUser(ctx, u); err != nil {
				return err
			}
			for _, r := range p.roles {
				switch lane.Role(r) {
				case lane.RoleTechnician:
					sd.techs = append(sd.techs, staffRef{u.ID, p.site})
				case lane.RoleOptometrist:
					sd.optoms = append(sd.optoms, staffRef{u.ID, p.site})
				}
			}
		}
		return nil
	})
}

// pick returns a random element.
func pick[T any](r *rand.Rand, l []T) T { return l[r.IntN(len(l))] }

// staffAt returns a random staff member of the site.
func (sd *seeder) staffAt(l []staffRef, site int) string {
	var at []string
	for _, s := range l {
		if s.site == site || s.site == -1 {
			at = append(at, s.id)
		}
	}
	return pick(sd.rng, at)
}

// eyeState is one eye's optics at a visit, in minus-cylinder form.
type eyeState struct {
	se   float64 // spherical equivalent, D
	cyl  float64 // ≤ 0
	axis int
	k1   float64 // flat K, D
	kcyl float64 // corneal astigmatism, D ≥ 0
	iop  float64
}

// sph returns the sphere that gives the eye's spherical equivalent.
func (e eyeState) sph() float64 { return e.se - e.cyl/2 }

// addFor is a plausible near addition by age.
func addFor(age int) lane.Diopters {
	switch {
	case age < 42:
		return 0
	case age < 45:
		return 750
	case age < 48:
		return 1000
	case age < 51:
		return 1500
	case age < 55:
		return 1750
	case age < 60:
		return 2250
	}
	return 2500
}

// vaNotations are Snellen 6 m fractions with their decimal values.
var vaNotations = []struct {
	text string
	dec  string
	v    float64
}{
	{"6/5", "1.2", 1.2}, {"6/6", "1.0", 1.0}, {"6/7.5", "0.8", 0.8}, {"6/9", "0.67", 0.67}, {"6/12", "0.5", 0.5},
	{"6/18", "0.33", 0.33}, {"6/24", "0.25", 0.25}, {"6/36", "0.17", 0.17}, {"6/60", "0.1", 0.1},
}

// vaFor returns the nearest chart line at or below a decimal acuity.
func vaFor(v float64) (string, json.Number) {
	for _, n := range vaNotations {
		if v >= n.v-1e-9 {
			return n.text, json.Number(n.dec)
		}
	}
	last := vaNotations[len(vaNotations)-1]
	return last.text, json.Number(last.dec)
}

// uncorrectedVA estimates unaided distance acuity from the refractive
// error and age (accommodation hides low hyperopia in the young).
func uncorrectedVA(e eyeState, age int) float64 {
	blur := math.Abs(e.cyl) / 2
	if e.se < 0 {
		blur += -e.se
	} else {
		// Half the amplitude of accommodation is available for distance.
		reserve := math.Max(0, (15-0.25*float64(age))/2-1)
		blur += math.Max(0, e.se-reserve)
	}
	return math.Max(0.05, 1.2/(1+2.2*blur*blur+0.8*blur))
}

// patient seeds one patient with their whole history.
func (sd *seeder) patient(ctx context.Context, w *writeCtx, i int) error {
	r := sd.rng
	sex := "female"
	given := pick(r, givenFemale)
	if r.IntN(2) == 0 {
		sex, given = "male", pick(r, givenMale)
	}
	family := pick(r, familyNames)
	// Ages 6..90, weighted towards working age and older adults.
	age := 6 + int(math.Min(84, math.Abs(r.NormFloat64()*18+44)))
	birth := sd.today.AddDate(-age, -r.IntN(12), -r.IntN(28))
	p := seededPatient{mrn: fmt.Sprintf("%s%06d", demoMRNPrefix, i+1), family: family, given: given,
		birth: birth.Format("2006-01-02"), sex: sex, site: r.IntN(2), cupDisc: 0.25 + r.Float64()*0.35}
	// Refractive baseline (at the first visit).
	var base eyeState
	switch t := r.Float64(); {
	case t < 0.5:
		base.se = -0.5 - r.Float64()*5.5
	case t < 0.75:
		base.se = -0.25 + r.Float64()*0.75
	default:
		base.se = 0.75 + r.Float64()*3.25
	}
	base.cyl = -float64(r.IntN(9)) * 0.25
	if r.Float64() < 0.3 {
		base.cyl = -0.25
	}
	if age < 45 {
		base.axis = 180 + int(r.NormFloat64()*12) // with the rule
	} else {
		base.axis = 90 + int(r.NormFloat64()*15) // against the rule
	}
	base.k1 = 41.5 + r.Float64()*4
	base.kcyl = math.Max(0, -base.cyl+r.NormFloat64()*0.3)
	base.iop = 11 + r.Float64()*8
	ocularHypertension := r.Float64() < 0.07
	if ocularHypertension {
		base.iop = 22 + r.Float64()*4
	}
	eyes := [2]eyeState{base, base}
	eyes[1].se += r.NormFloat64() * 0.35
	eyes[1].cyl = math.Min(0, base.cyl+float64(r.IntN(3)-1)*0.25)
	eyes[1].axis = 180 - base.axis + int(r.NormFloat64()*5) // mirror symmetry
	eyes[1].k1 += r.NormFloat64() * 0.2
	eyes[1].iop += r.NormFloat64()
	pdFar := 58 + r.Float64()*12
	// Visits: one every 12–24 months over 1–10 years (never before age 4).
	years := 1 + r.IntN(10)
	years = min(years, max(1, age-4))
	var visits []time.Time
	for d := sd.today.AddDate(-years, 0, r.IntN(60)); d.Before(sd.today.AddDate(0, -1, 0)); d = d.AddDate(0, 12+r.IntN(13), r.IntN(20)) {
		v := time.Date(d.Year(), d.Month(), d.Day(), 8+r.IntN(9), []int{0, 15, 30, 45}[r.IntN(4)], 0, 0, sd.s.loc)
		for v.Weekday() == time.Saturday || v.Weekday() == time.Sunday {
			v = v.AddDate(0, 0, 1)
		}
		visits = append(visits, v)
	}
	if len(visits) == 0 {
		v := sd.today.AddDate(0, -2, 0).Add(10 * time.Hour)
		visits = append(visits, v)
	}
	pr := map[string]any{
		"resourceType": "Patient",
		"identifier": []any{map[string]any{
			"use": "usual", "type": cc("", coding(sysIdentType, "MR", "Medical record number")),
			"system": sysMRN, "value": p.mrn,
		}},
		"active":    true,
		"name":      []any{map[string]any{"use": "official", "family": family, "given": []any{given}}},
		"gender":    sex,
		"birthDate": p.birth,
		"telecom": []any{
			map[string]any{"system": "phone", "value": fmt.Sprintf("555-01%02d", r.IntN(100))},
			map[string]any{"system": "email", "value": strings.ToLower(strings.ReplaceAll(given+"."+family, "'", "")) + "@example.com"},
		},
		"address": []any{map[string]any{
			"line": []any{fmt.Sprintf("%d %s", 1+r.IntN(180), pick(r, streets))},
			"city": pick(r, towns), "postalCode": fmt.Sprintf("ZZ%d %dXX", 1+r.IntN(9), 1+r.IntN(9)), "country": "ZZ",
		}},
	}
	if r.Float64() < 0.05 {
		pr["extension"] = []any{ext("alert", "valueString", pick(r, []string{"Hard of hearing", "Prefers large print", "Anxious about tonometry"}))}
	}
	pid, err := create(ctx, w, pr)
	if err != nil {
		return err
	}
	p.id = pid
	sd.rep.Patients++
	first := visits[0]
	for vi, when := range visits {
		yrs := when.Sub(first).Hours() / 24 / 365.25
		ageAt := age - int(sd.today.Sub(when).Hours()/24/365.25)
		var now [2]eyeState
		for e := range 2 {
			now[e] = drift(eyes[e], yrs, ageAt-int(yrs), ocularHypertension, r)
		}
		encID, err := sd.visit(ctx, w, &p, when, ageAt, now, pdFar, vi == len(visits)-1)
		if err != nil {
			return err
		}
		p.lastEncounter, p.lastVisit = encID, when
	}
	sd.patients = append(sd.patients, p)
	return nil
}

// drift moves an eye's baseline by yrs years: myopia progresses in the
// young, a hyperopic shift and against-the-rule cylinder come with age,
// ocular hypertension creeps up; each visit adds measurement noise.
func drift(e eyeState, yrs float64, ageAtFirst int, ohT bool, r *rand.Rand) eyeState {
	out := e
	for y := 0.0; y < yrs; y++ {
		a := ageAtFirst + int(y)
		switch {
		case a < 20 && e.se < 0:
			out.se -= 0.35 - 0.012*float64(a)
		case a < 25 && e.se < 0:
			out.se -= 0.1
		case a > 50:
			out.se += 0.08
			out.cyl -= 0.03
		}
		if ohT {
			out.iop += 0.3
		}
	}
	out.se += r.NormFloat64() * 0.1
	out.iop += r.NormFloat64() * 1.2
	out.k1 += r.NormFloat64() * 0.05
	return out
}

// visit writes one past visit: the encounter, pretest and subjective
// observations, and the signed spectacle prescription.
func (sd *seeder) visit(ctx context.Context, w *writeCtx, p *seededPatient, when time.Time, age int, eyes [2]eyeState, pdFar float64, last bool) (string, error) {
	r := sd.rng
	tech, optom := sd.staffAt(sd.techs, p.site), sd.staffAt(sd.optoms, p.site)
	s := sd.sites[p.site]
	laneName := pick(r, s.lanes)
	signed := when.Add(40 * time.Minute)
	enc := map[string]any{
		"resourceType": "Encounter",
		"status":       "finished",
		"class":        coding(sysActCode, "AMB", "ambulatory"),
		"subject":      ref("Patient", p.id),
		"period":       map[string]any{"start": instant(when), "end": instant(when.Add(45 * time.Minute))},
		"participant":  []any{map[string]any{"type": []any{cc("", coding(sysParticipant, "ATND", "attender"))}, "individual": ref("Practitioner", optom)}},
		"location":     []any{map[string]any{"location": ref("Location", s.id)}},
		"reasonCode":   []any{cc(pick(r, visitReasons))},
		"extension": []any{
			ext("flow-status", "valueCode", "done"),
			ext("lane", "valueString", laneName),
			ext("history", "valueString", "Synthetic history: no ocular symptoms reported."),
			ext("assessment", "valueString", "Synthetic assessment: healthy eyes, refractive error corrected."),
			ext("plan", "valueString", "Synthetic plan: review in 24 months."),
			map[string]any{"url": extURL + "signature", "extension": []any{
				map[string]any{"url": "by", "valueReference": ref("Practitioner", optom)},
				map[string]any{"url": "at", "valueDateTime": instant(signed)},
			}},
		},
	}
	encID, err := create(ctx, w, enc)
	if err != nil {
		return "", err
	}
	sd.rep.Encounters++
	obs := func(kind, display string, eye lane.Eye, at time.Time, by string, extra map[string]any) error {
		m := map[string]any{
			"resourceType":      "Observation",
			"status":            "final",
			"category":          []any{cc("", coding(sysObsCategory, "exam", "Exam"))},
			"subject":           ref("Patient", p.id),
			"encounter":         ref("Encounter", encID),
			"effectiveDateTime": instant(at),
			"issued":            instant(at.Add(2 * time.Second)),
			"performer":         []any{ref("Practitioner", by)},
			"bodySite":          eyeConcept(eye),
		}
		codes := []map[string]any{coding(sysMeasure, kind, display)}
		if std, ok := extra["_code"].([]map[string]any); ok {
			codes = append(codes, std...)
			delete(extra, "_code")
		}
		m["code"] = cc(display, codes...)
		for k, v := range extra {
			m[k] = v
		}
		_, err := create(ctx, w, m)
		sd.rep.Observations++
		return err
	}
	instrument := func(model string) map[string]any {
		return map[string]any{
			"contained": []any{map[string]any{"resourceType": "Device", "id": "instrument", "manufacturer": demoInstrument,
				"deviceName": []any{map[string]any{"name": model, "type": "model-name"}}}},
			"device": map[string]any{"reference": "#instrument", "display": demoInstrument + " " + model},
		}
	}
	pretest := when.Add(5 * time.Minute)
	add := addFor(age)
	for e, eye := range []lane.Eye{lane.EyeRight, lane.EyeLeft} {
		st := eyes[e]
		side := "Right"
		if eye == lane.EyeLeft {
			side = "Left"
		}
		// Autorefraction: a little more minus than the subjective result.
		auto := lane.Refraction{Sphere: quarter(st.sph() - 0.25 + r.NormFloat64()*0.15), Cylinder: quarter(st.cyl + r.NormFloat64()*0.15)}
		if auto.Cylinder > 0 {
			auto.Cylinder = 0
		}
		auto.Axis = lane.NormalizeAxis(st.axis + int(r.NormFloat64()*4))
		x := instrument("AR-1 synthetic autorefractor")
		x["_code"] = []map[string]any{coding(sysSNOMED, "251794006", "Refraction")}
		x["method"] = cc("", coding(sysSource, "autorefraction", ""))
		x["component"] = refractionComponents(auto, eye)
		x["extension"] = []any{ext("representative", "valueBoolean", true), ext("cylinder-sign", "valueCode", "minus")}
		if err := obs("refraction", "Refraction", eye, pretest, tech, x); err != nil {
			return "", err
		}
		// Keratometry: flat meridian along the minus-cylinder axis.
		k1p := math.Round(st.k1*100) / 100
		k2p := math.Round((st.k1+st.kcyl)*100) / 100
		kAxis := lane.NormalizeAxis(st.axis)
		kx := instrument("KM-1 synthetic keratometer")
		var steepStd []any
		if eye == lane.EyeLeft {
			steepStd = []any{coding(sysLOINC, "28997-5", "Left cornea Steep refractive power by Keratometry")}
		}
		kx["component"] = []any{
			quantComp("k1-radius", mm(lane.Millimeters(math.Round(33750/k1p))), "mm"),
			quantComp("k1-power", json.Number(strconv.FormatFloat(k1p, 'f', 2, 64)), "[diop]"),
			quantComp("k1-axis", num(int(kAxis)), "deg"),
			quantComp("k2-radius", mm(lane.Millimeters(math.Round(33750/k2p))), "mm"),
			quantComp("k2-power", json.Number(strconv.FormatFloat(k2p, 'f', 2, 64)), "[diop]", steepStd...),
			quantComp("k2-axis", num(int(lane.NormalizeAxis(int(kAxis)+90))), "deg"),
		}
		kx["method"] = cc("", coding(sysSource, "autorefraction", ""))
		if err := obs("keratometry", "Keratometry", eye, pretest.Add(time.Minute), tech, kx); err != nil {
			return "", err
		}
		// Intraocular pressure, non-contact.
		ix := instrument("NT-1 synthetic tonometer")
		ix["_code"] = []map[string]any{coding(sysSNOMED, "41633001", "Intraocular pressure")}
		ix["valueQuantity"] = qty(num(int(math.Round(math.Max(6, st.iop)))), "mm[Hg]")
		ix["method"] = cc("NCT", coding(sysIOPMethod, "non-contact", ""))
		if err := obs("iop", "Intraocular pressure", eye, pretest.Add(3*time.Minute), tech, ix); err != nil {
			return "", err
		}
		// Visual acuity, unaided and best corrected.
		uText, uDec := vaFor(uncorrectedVA(st, age))
		ux := map[string]any{
			"valueQuantity": map[string]any{"value": uDec, "unit": "decimal", "system": sysUCUM, "code": "1"},
			"method":        cc("", coding(sysSource, "unaided", "")),
			"component":     vaComponents(uText, false),
		}
		if eye == lane.EyeRight {
			ux["_code"] = []map[string]any{coding(sysLOINC, "98499-7", "Visual acuity uncorrected Right eye")}
		}
		if err := obs("va", "Visual acuity", eye, pretest.Add(6*time.Minute), tech, ux); err != nil {
			return "", err
		}
		best := 1.0
		switch {
		case age > 75:
			best = 0.67
		case age > 65:
			best = 0.8
		case r.Float64() < 0.3:
			best = 1.2
		}
		bText, bDec := vaFor(best)
		bx := map[string]any{
			"valueQuantity": map[string]any{"value": bDec, "unit": "decimal", "system": sysUCUM, "code": "1"},
			"method":        cc("", coding(sysSource, "aided", "")),
			"component":     vaComponents(bText, true),
			"_code":         []map[string]any{coding(sysLOINC, map[lane.Eye]string{lane.EyeRight: "65893-0", lane.EyeLeft: "65897-1"}[eye], "Visual acuity best corrected "+side+" eye")},
		}
		if err := obs("va", "Visual acuity", eye, when.Add(25*time.Minute), optom, bx); err != nil {
			return "", err
		}
	}
	// Binocular distance PD from the autorefractor.
	pd := lane.Millimeters(math.Round(math.Min(pdFar, 48+float64(age)*1.5)*2) * 50) // to 0.5 mm
	px := instrument("AR-1 synthetic autorefractor")
	px["_code"] = []map[string]any{coding(sysLOINC, "28696-3", "Eye Pupillary distance.binocular Autorefractor.auto")}
	px["valueQuantity"] = qty(mm(pd), "mm")
	px["method"] = cc("", coding(sysSource, "autorefraction", ""))
	px["component"] = []any{conceptComp("distance", sysDistance, "far")}
	if err := obs("pd", "Pupillary distance", lane.EyeBoth, pretest, tech, px); err != nil {
		return "", err
	}
	// Subjective refraction and the prescription written from it.
	var subj [2]lane.Refraction
	for e, eye := range []lane.Eye{lane.EyeRight, lane.EyeLeft} {
		st := eyes[e]
		subj[e] = lane.Refraction{Sphere: quarter(st.sph()), Cylinder: quarter(st.cyl), Add: add}
		if subj[e].Cylinder != 0 {
			subj[e].Axis = lane.NormalizeAxis(st.axis)
		}
		sx := map[string]any{
			"_code":     []map[string]any{coding(sysSNOMED, "251794006", "Refraction"), coding(sysLOINC, "79895-9", "Subjective refraction panel")},
			"method":    cc("", coding(sysSource, "subjective", "")),
			"component": refractionComponents(subj[e], eye),
			"extension": []any{ext("cylinder-sign", "valueCode", "minus")},
		}
		if err := obs("refraction", "Refraction", eye, when.Add(20*time.Minute), optom, sx); err != nil {
			return "", err
		}
	}
	lensType := "sv"
	if add > 0 {
		lensType = "pal"
	}
	var specs []any
	for e, eye := range []string{"right", "left"} {
		ls := map[string]any{
			"product": cc("", coding(sysVisionProd, "lens", "lens")),
			"eye":     eye,
			"sphere":  dpt(subj[e].Sphere),
		}
		if subj[e].Cylinder != 0 {
			ls["cylinder"] = dpt(subj[e].Cylinder)
			ls["axis"] = int(subj[e].Axis)
		}
		if subj[e].Add != 0 {
			ls["add"] = dpt(subj[e].Add)
		}
		specs = append(specs, ls)
	}
	issued := when.Format("2006-01-02")
	rx := map[string]any{
		"resourceType":      "VisionPrescription",
		"status":            "active",
		"created":           instant(signed),
		"patient":           ref("Patient", p.id),
		"encounter":         ref("Encounter", encID),
		"dateWritten":       issued,
		"prescriber":        ref("Practitioner", optom),
		"lensSpecification": specs,
		"extension": []any{
			ext("pd", "valueQuantity", qty(mm(pd), "mm")),
			ext("lens-type", "valueCode", lensType),
			ext("expires", "valueDate", when.AddDate(2, 0, 0).Format("2006-01-02")),
			ext("signed-at", "valueDateTime", instant(signed)),
		},
	}
	if _, err := create(ctx, w, rx); err != nil {
		return "", err
	}
	sd.rep.Prescriptions++
	return encID, nil
}

// quantComp is an Observation component with an Examlane code, optional
// standard codings, and a UCUM quantity.
func quantComp(code string, v json.Number, unit string, std ...any) map[string]any {
	codings := append([]any{coding(sysMeasure, code, "")}, std...)
	return map[string]any{"code": map[string]any{"coding": codings}, "valueQuantity": qty(v, unit)}
}

// conceptComp is a component whose value is a code.
func conceptComp(code, system, value string) map[string]any {
	return map[string]any{"code": cc("", coding(sysMeasure, code, "")), "valueCodeableConcept": cc("", coding(system, value, ""))}
}

// refractionComponents writes sphere, cylinder, axis (SNOMED and the
// per-eye PhenX LOINC codes) and the add (Examlane code).
func refractionComponents(rf lane.Refraction, eye lane.Eye) []any {
	l := map[lane.Eye][3]string{lane.EyeRight: {"65890-6", "65892-2", "65891-4"}, lane.EyeLeft: {"65894-8", "65896-3", "65895-5"}}[eye]
	side := "Right"
	if eye == lane.EyeLeft {
		side = "Left"
	}
	c := []any{
		quantComp("sphere", dpt(rf.Sphere), "[diop]", coding(sysSNOMED, "251795007", "Power of sphere"), coding(sysLOINC, l[0], "Spherical power "+side+" eye")),
		quantComp("cylinder", dpt(rf.Cylinder), "[diop]", coding(sysSNOMED, "251797004", "Power of cylinder"), coding(sysLOINC, l[1], "Cylindrical power "+side+" eye")),
	}
	if rf.Cylinder != 0 {
		c = append(c, quantComp("axis", num(int(rf.Axis)), "deg", coding(sysSNOMED, "251799001", "Axis of cylinder"), coding(sysLOINC, l[2], "Cylinder axis "+side+" eye")))
	}
	if rf.Add != 0 {
		c = append(c, quantComp("add", dpt(rf.Add), "[diop]"))
	}
	return c
}

// vaComponents are the notation, distance and aided components of a VA.
func vaComponents(text string, aided bool) []any {
	return []any{
		map[string]any{"code": cc("", coding(sysMeasure, "va-notation", "")), "valueString": text},
		conceptComp("distance", sysDistance, "far"),
		map[string]any{"code": cc("", coding(sysMeasure, "va-aided", "")), "valueBoolean": aided},
	}
}

// schedule books today's appointments across the lanes of both sites in
// 45-minute slots, with statuses relative to now. The day starts three
// hours before now (not before 08:30, and early enough to end by
// midnight), so that a demo started at any hour shows visits done, in
// progress and still to come.
func (sd *seeder) schedule(ctx context.Context) error {
	r := sd.rng
	type slot struct {
		site int
		lane string
		k    int
	}
	var slots []slot
	for k := 0; len(slots) < sd.o.Appointments; k++ {
		for si, s := range sd.sites {
			for _, l := range s.lanes {
				if len(slots) < sd.o.Appointments {
					slots = append(slots, slot{si, l, k})
				}
			}
		}
	}
	order := r.Perm(len(sd.patients))
	const slotLen = 45 * time.Minute
	perLane := 0
	for _, sl := range slots {
		perLane = max(perLane, sl.k+1)
	}
	dayStart := sd.now.Add(-3 * time.Hour).Truncate(15 * time.Minute)
	if latest := sd.today.Add(24*time.Hour - time.Duration(perLane)*slotLen); dayStart.After(latest) {
		dayStart = latest
	}
	if earliest := sd.today.Add(8*time.Hour + 30*time.Minute); dayStart.Before(earliest) {
		dayStart = earliest
	}
	return sd.write(ctx, func(w *writeCtx) error {
		for i, sl := range slots {
			p := sd.patients[order[i]]
			start := dayStart.Add(time.Duration(sl.k) * slotLen)
			end := start.Add(slotLen)
			status, flow := "booked", "booked"
			switch {
			case !end.After(sd.now) && r.Float64() < 0.06:
				status, flow = "noshow", "noshow"
			case !end.After(sd.now):
				status, flow = "fulfilled", "done"
			case !start.After(sd.now):
				status, flow = "checked-in", pick(r, []string{"pretest", "ready-for-doctor", "exam"})
			case start.Sub(sd.now) < 30*time.Minute:
				status, flow = "arrived", "arrived"
			}
			optom := sd.staffAt(sd.optoms, sl.site)
			m := map[string]any{
				"resourceType": "Appointment",
				"status":       status,
				"start":        instant(start),
				"end":          instant(end),
				"reasonCode":   []any{cc(pick(r, visitReasons))},
				"participant": []any{
					map[string]any{"actor": ref("Patient", p.id), "status": "accepted"},
					map[string]any{"type": []any{cc("", coding(sysParticipant, "PPRF", "primary performer"))}, "actor": ref("Practitioner", optom), "status": "accepted"},
					map[string]any{"actor": ref("Location", sd.sites[sl.site].id), "status": "accepted"},
				},
				"extension": []any{ext("flow-status", "valueCode", flow), ext("lane", "valueString", sl.lane)},
			}
			if _, err := create(ctx, w, m); err != nil {
				return err
			}
			sd.rep.Appointments++
		}
		return nil
	})
}

// images gives the i-th patient (in creation order) a synthetic fundus
// pair at the last visit: DICOM OP for the first half, JPEG photos for the
// rest.
func (sd *seeder) images(ctx context.Context, i int) error {
	p := sd.patients[i*len(sd.patients)/sd.o.ImagePatients]
	asDICOM := i < (sd.o.ImagePatients+1)/2
	type img struct {
		eye  lane.Eye
		jpg  []byte
		dcm  []byte
		in   opInstance
		when time.Time
	}
	var imgs []img
	for _, eye := range []lane.Eye{lane.EyeRight, lane.EyeLeft} {
		j, err := fundusJPEG(fundusOptions{Width: sd.o.ImageWidth, Height: sd.o.ImageHeight, Right: eye == lane.EyeRight,
			CupDisc: p.cupDisc, Seed: sd.o.RandSeed*1000003 + uint64(i)*2 + uint64(eye)})
		if err != nil {
			return err
		}
		im := img{eye: eye, jpg: j, when: p.lastVisit.Add(12*time.Minute + time.Duration(eye)*time.Minute)}
		if asDICOM {
			sexCode := map[string]string{"female": "F", "male": "M"}[p.sex]
			im.in = opInstance{PatientName: p.family + "^" + p.given, PatientID: p.mrn, BirthDate: strings.ReplaceAll(p.birth, "-", ""), Sex: sexCode,
				StudyUID: newUID(), SeriesUID: newUID(), SOPUID: newUID(), Acquired: im.when, Laterality: eye.String(), JPEG: j}
			if im.dcm, err = buildOPDICOM(im.in); err != nil {
				return err
			}
		}
		imgs = append(imgs, im)
	}
	return sd.write(ctx, func(w *writeCtx) error {
		for _, im := range imgs {
			lat := eyeConcept(im.eye)["coding"].([]any)[0]
			x := []any{ext("laterality", "valueCoding", lat), ext("image-kind", "valueCode", "color"),
				ext("width", "valueInteger", sd.o.ImageWidth), ext("height", "valueInteger", sd.o.ImageHeight)}
			if asDICOM {
				in, err := readDICOMInfo(im.dcm)
				if err != nil {
					return err
				}
				if reason, err := sd.s.storeInstanceTx(ctx, w.tx, identity{Tenant: sd.tenant}, in, im.dcm); err != nil || reason != 0 {
					return fmt.Errorf("store instance: reason %d: %v", reason, err)
				}
				sum := sha256.Sum256(im.dcm)
				x = append(x, ext("sha256", "valueString", hex.EncodeToString(sum[:])), ext("size", "valueInteger", len(im.dcm)))
				st := map[string]any{
					"resourceType":      "ImagingStudy",
					"status":            "available",
					"identifier":        []any{map[string]any{"system": sysDICOMUID, "value": "urn:oid:" + im.in.StudyUID}},
					"subject":           ref("Patient", p.id),
					"encounter":         ref("Encounter", p.lastEncounter),
					"started":           instant(im.when),
					"numberOfSeries":    1,
					"numberOfInstances": 1,
					"series": []any{map[string]any{
						"uid":               im.in.SeriesUID,
						"modality":          coding(sysDCM, "OP", "Ophthalmic Photography"),
						"numberOfInstances": 1,
						"bodySite":          lat,
						"instance": []any{map[string]any{
							"uid": im.in.SOPUID, "number": 1,
							"sopClass": coding(sysRFC3986, "urn:oid:"+SOPClassOP8Bit, ""),
						}},
					}},
					"extension": x,
				}
				if _, err := create(ctx, w, st); err != nil {
					return err
				}
				sd.rep.ImagingStudies++
				sd.rep.DICOMInstances++
				continue
			}
			bin := map[string]any{"resourceType": "Binary", "contentType": "image/jpeg", "data": base64.StdEncoding.EncodeToString(im.jpg)}
			binID, err := create(ctx, w, bin)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(im.jpg)
			x = append(x, ext("sha256", "valueString", hex.EncodeToString(sum[:])), ext("size", "valueInteger", len(im.jpg)))
			doc := map[string]any{
				"resourceType": "DocumentReference",
				"status":       "current",
				"type":         cc("color", coding(sysImageKind, "color", "color")),
				"subject":      ref("Patient", p.id),
				"date":         instant(im.when),
				"context":      map[string]any{"encounter": []any{ref("Encounter", p.lastEncounter)}},
				"content": []any{map[string]any{"attachment": map[string]any{
					"contentType": "image/jpeg", "url": "Binary/" + binID, "size": len(im.jpg), "creation": instant(im.when),
					"title": "Synthetic fundus photograph " + im.eye.String(),
				}}},
				"extension": x,
			}
			if _, err := create(ctx, w, doc); err != nil {
				return err
			}
			sd.rep.Photos++
		}
		return nil
	})
}
