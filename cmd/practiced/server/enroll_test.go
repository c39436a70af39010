package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCodeFormat(t *testing.T) {
	re := regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`)
	seen := map[string]bool{}
	for range 200 {
		c, err := newCode()
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(c) {
			t.Fatalf("code %q not XXXX-XXXX-XXXX-XXXX in Crockford base32", c)
		}
		if seen[c] {
			t.Fatalf("code %q repeated", c)
		}
		seen[c] = true
	}
	for in, want := range map[string]string{
		"abcd-efgh-jkmn-pqrs": "ABCD-EFGH-JKMN-PQRS",
		"ABCDEFGHJKMNPQRS":    "ABCD-EFGH-JKMN-PQRS",
		"0oIl 1111 2222 3333": "0011-1111-2222-3333",
	} {
		got, err := NormalizeCode(in)
		if err != nil || got != want {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ABCD", "ABCD-EFGH-JKMN-PQRSX", "ABCD-EFGH-JKMN-PQRU"} {
		if _, err := NormalizeCode(bad); err == nil {
			t.Errorf("NormalizeCode(%q) accepted", bad)
		}
	}
}

func TestEnrolment(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	newCode := func() string {
		code, exp, err := e.srv.EnrollCode(ctx, "alpha", "Main", "Lane 7")
		if err != nil {
			t.Fatal(err)
		}
		if d := exp.Sub(e.clock.Now()); d != CodeLifetime {
			t.Fatalf("code valid for %v", d)
		}
		return code
	}
	try := func(code, proofCode string) (int, []byte) {
		_, csr := newCSR(t)
		proof, err := EnrollProof(proofCode, csr)
		if err != nil {
			t.Fatal(err)
		}
		return postEnroll(t, e.ts.URL, EnrollRequest{CodeID: code[:4], CSR: csr, Lane: "whatever", Proof: proof})
	}
	wrong := "0000-0000-0000-0000"

	t.Run("good", func(t *testing.T) {
		code := newCode()
		key, csr := newCSR(t)
		proof, _ := EnrollProof(code, csr)
		// The code id is accepted in any case, as a person may type it.
		st, body := postEnroll(t, e.ts.URL, EnrollRequest{CodeID: strings.ToLower(code[:4]), CSR: csr, Lane: "Lane 7", Proof: proof})
		if st != 200 {
			t.Fatalf("status %d %s", st, body)
		}
		var resp EnrollResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Tenant != "alpha" || resp.TenantName != "Alpha Eye Care" || resp.FHIRBase != "/fhir/R4" || resp.DICOMwebBase != "/dicomweb" || resp.Location == "" {
			t.Errorf("response %+v", resp)
		}
		if !VerifyEnrollMAC(code, resp) {
			t.Error("mac does not verify with the code")
		}
		if VerifyEnrollMAC(wrong, resp) {
			t.Error("mac verifies with another code")
		}
		blk, _ := pem.Decode([]byte(resp.ClientCert))
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		tenant, laneID, ok := laneURIs(cert)
		if !ok || tenant != "alpha" || laneID != resp.LaneID || cert.Subject.CommonName != resp.LaneID {
			t.Errorf("certificate names %q %q", tenant, laneID)
		}
		if d := cert.NotAfter.Sub(e.clock.Now()); d < LaneCertLifetime-time.Hour || d > LaneCertLifetime {
			t.Errorf("certificate valid for %v", d)
		}
		if pk, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !pk.Equal(&key.PublicKey) {
			t.Error("certificate is not for the CSR's key")
		}
		l := laneClient(t, e.ts.URL, resp, key)
		l.must(200, "GET", "/fhir/R4/Patient", nil)
		lanes, err := e.srv.Lanes(ctx, "alpha")
		if err != nil || len(lanes) != 1 || lanes[0].Name != "Lane 7" {
			t.Errorf("lanes %+v %v", lanes, err)
		}
		// Reused.
		if st, _ := try(code, code); st != 403 {
			t.Errorf("reused code: %d", st)
		}
	})
	t.Run("wrong", func(t *testing.T) {
		code := newCode()
		if st, body := try(code, wrong); st != 403 || !strings.Contains(string(body), `"error"`) {
			t.Errorf("wrong code: %d %s", st, body)
		}
		if st, _ := try(code, code); st != 200 {
			t.Errorf("right code after one wrong try: %d", st)
		}
	})
	t.Run("burned after 5 wrong", func(t *testing.T) {
		code := newCode()
		for i := range MaxCodeAttempts {
			if st, _ := try(code, wrong); st != 403 {
				t.Fatalf("try %d: %d", i, st)
			}
		}
		if st, _ := try(code, code); st != 403 {
			t.Errorf("burned code accepted: %d", st)
		}
	})
	t.Run("expired", func(t *testing.T) {
		code := newCode()
		e.clock.Advance(CodeLifetime + time.Second)
		if st, _ := try(code, code); st != 403 {
			t.Errorf("expired code: %d", st)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		code := newCode()
		_, csr := newCSR(t)
		for _, req := range []EnrollRequest{
			{CodeID: code[:4], CSR: csr},                      // no proof
			{CodeID: code[:4], CSR: csr, Proof: "AAAA"},       // short proof
			{CodeID: "zz", CSR: csr, Proof: "AAAA"},           // bad code id
			{CodeID: code[:4], CSR: "not pem", Proof: "AAAA"}, // bad csr
		} {
			if st, _ := postEnroll(t, e.ts.URL, req); st != 400 && st != 403 {
				t.Errorf("%+v: %d", req.CodeID, st)
			}
		}
		if st, _ := try(code, code); st != 200 {
			t.Errorf("malformed requests consumed the code: %d", st)
		}
		resp, err := insecureClient().Post(e.ts.URL+"/enroll", "application/json", strings.NewReader("{"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("bad JSON: %d", resp.StatusCode)
		}
	})
	t.Run("unknown tenant or location", func(t *testing.T) {
		if _, _, err := e.srv.EnrollCode(ctx, "nope", "Main", "L"); err == nil {
			t.Error("code for an unknown tenant")
		}
		if _, _, err := e.srv.EnrollCode(ctx, "alpha", "Nowhere", "L"); err == nil {
			t.Error("code for an unknown location")
		}
		if _, _, err := e.srv.EnrollCode(ctx, "alpha", "Beta Main", "L"); err == nil {
			t.Error("code for another tenant's location")
		}
	})
}

func TestCodesSealedAtRest(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	code, _, err := e.srv.EnrollCode(ctx, "alpha", "Main", "L")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.srv.db.r.QueryRowContext(ctx, `SELECT count(*) FROM enrol_codes WHERE instr(secret, ?) > 0 OR instr(code_hash, ?) > 0`, code, code).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("code stored in clear")
	}
	_, csr := newCSR(t)
	proof, _ := EnrollProof(code, csr)
	if st, _ := postEnroll(t, e.ts.URL, EnrollRequest{CodeID: code[:4], CSR: csr, Proof: proof}); st != 200 {
		t.Fatal(st)
	}
	if err := e.srv.db.r.QueryRowContext(ctx, `SELECT count(*) FROM enrol_codes WHERE secret IS NOT NULL`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("a used code's sealed secret is kept")
	}
}
