package server

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/examlane/examlane/lane"
)

// Enrolment code rules.
const (
	// CodeLifetime is how long an enrolment code is valid.
	CodeLifetime = 15 * time.Minute
	// MaxCodeAttempts is how many wrong proofs burn a code.
	MaxCodeAttempts = 5
)

// crockford is the Crockford base32 alphabet.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// EnrollRequest is the body of POST /enroll.
//
// Proof is an addition to the written contract: base64 (standard, padded)
// of HMAC-SHA256(key = the canonical code "XXXX-XXXX-XXXX-XXXX", message =
// the CSR's DER bytes). Without it the lane would prove knowledge of only
// the 20 bits of CodeID, and anyone could enrol during a code's lifetime.
type EnrollRequest struct {
	CodeID string `json:"code_id"`
	CSR    string `json:"csr"`
	Lane   string `json:"lane"`
	Proof  string `json:"proof"`
}

// EnrollResponse is the body of a successful enrolment. MAC is base64 of
// HMAC-SHA256(key = the canonical code, message = CA cert DER || client
// cert DER): it proves to the lane that the server knows the code.
type EnrollResponse struct {
	Tenant       string `json:"tenant"`
	TenantName   string `json:"tenant_name"`
	Location     string `json:"location"`
	LaneID       string `json:"lane_id"`
	ClientCert   string `json:"client_cert"`
	CACert       string `json:"ca_cert"`
	FHIRBase     string `json:"fhir_base"`
	DICOMwebBase string `json:"dicomweb_base"`
	MAC          string `json:"mac"`
}

// newCode returns a fresh 80-bit code in canonical form.
func newCode() (string, error) {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	var out strings.Builder
	var acc uint64
	bits := 0
	n := 0
	for _, c := range b {
		acc = acc<<8 | uint64(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			if n > 0 && n%4 == 0 {
				out.WriteByte('-')
			}
			out.WriteByte(crockford[(acc>>bits)&31])
			n++
		}
	}
	return out.String(), nil
}

// NormalizeCode returns the canonical form "XXXX-XXXX-XXXX-XXXX" of a code
// as a person may type it: any case, with or without dashes or spaces, O
// for 0 and I or L for 1.
func NormalizeCode(s string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || unicode.IsSpace(r):
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if r > unicode.MaxASCII || strings.IndexRune(crockford, r) < 0 {
			return "", lane.Invalidf("enrolment code: unexpected character")
		}
		if b.Len() == 19 {
			return "", lane.Invalidf("enrolment code: too long")
		}
		if b.Len() == 4 || b.Len() == 9 || b.Len() == 14 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	if b.Len() != 19 {
		return "", lane.Invalidf("enrolment code: want 16 characters")
	}
	return b.String(), nil
}

// normalizeCodeID canonicalises the 4-character code id.
func normalizeCodeID(s string) (string, bool) {
	c, err := NormalizeCode(s + "000000000000")
	if err != nil || len(strings.NewReplacer("-", "", " ", "").Replace(s)) != 4 {
		return "", false
	}
	return c[:4], true
}

// codeMAC computes HMAC-SHA256 keyed by the canonical code.
func codeMAC(code string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, []byte(code))
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// sealCode encrypts a live code under the data directory's enrolment key.
// The server must hold the code itself while it is live because the
// contract's mac is keyed by it; the sealed copy is erased when the code
// is used, burned or found expired.
func (s *Server) sealCode(code string, aad []byte) ([]byte, error) {
	blk, err := aes.NewCipher(s.enrolKey)
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return g.Seal(nonce, nonce, []byte(code), aad), nil
}

// openCode decrypts a sealed code.
func (s *Server) openCode(sealed, aad []byte) (string, error) {
	blk, err := aes.NewCipher(s.enrolKey)
	if err != nil {
		return "", err
	}
	g, err := cipher.NewGCM(blk)
	if err != nil {
		return "", err
	}
	if len(sealed) < g.NonceSize() {
		return "", errors.New("sealed code too short")
	}
	pt, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], aad)
	return string(pt), err
}

// codeAAD binds a sealed code to its row.
func codeAAD(tenant string, hash []byte) []byte {
	return []byte("examlane-enrol-code|" + tenant + "|" + hex.EncodeToString(hash))
}

// EnrollCode issues a one-time enrolment code for a lane called laneName at
// location (a Location id, or the exact name of one) of tenant. The code is
// valid for CodeLifetime and once.
func (s *Server) EnrollCode(ctx context.Context, tenant, location, laneName string) (code string, expires time.Time, err error) {
	laneName = strings.TrimSpace(laneName)
	if laneName == "" || len(laneName) > 64 || strings.IndexFunc(laneName, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return "", time.Time{}, fmt.Errorf("enroll-code: %w", lane.Invalidf("lane name: want 1..64 printable characters"))
	}
	if err := s.checkTenant(ctx, tenant); err != nil {
		return "", time.Time{}, fmt.Errorf("enroll-code: %w", err)
	}
	locID, err := s.resolveLocation(ctx, tenant, location)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("enroll-code: %w", err)
	}
	now := s.clock.Now()
	expires = now.Add(CodeLifetime)
	err = s.db.write(ctx, func(tx *sql.Tx) error {
		for range 20 {
			c, err := newCode()
			if err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM enrol_codes WHERE code_id=? AND used IS NULL AND burned IS NULL AND expires > ?`,
				c[:4], now.UnixMilli()).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			h := sha256.Sum256([]byte(c))
			sealed, err := s.sealCode(c, codeAAD(tenant, h[:]))
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO enrol_codes(code_hash, code_id, tenant, location, lane_name, secret, created, expires) VALUES(?,?,?,?,?,?,?,?)`,
				h[:], c[:4], tenant, locID, laneName, sealed, now.UnixMilli(), expires.UnixMilli()); err != nil {
				return err
			}
			code = c
			return nil
		}
		return errors.New("no free code id")
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("enroll-code: %w", err)
	}
	return code, expires, nil
}

// enrolRefusal is a 403 answer that still commits (attempt counting).
type enrolRefusal struct{ msg string }

// handleEnroll handles POST /enroll (no client certificate needed).
func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		writeJSON(w, status, "application/json", map[string]string{"error": msg})
	}
	body, err := readBody(w, r, 64<<10)
	if err != nil {
		fail(http.StatusBadRequest, "request body too large or unreadable")
		return
	}
	var req EnrollRequest
	if err := json.Unmarshal(body, &req); err != nil {
		fail(http.StatusBadRequest, "request is not the enrolment JSON object")
		return
	}
	resp, status, msg := s.enroll(r.Context(), req)
	if status != http.StatusOK {
		fail(status, msg)
		return
	}
	writeJSON(w, http.StatusOK, "application/json", resp)
}

// parseCSR decodes and verifies a PEM CSR carrying an ECDSA P-256 key.
func parseCSR(p string) (der []byte, pub *ecdsa.PublicKey, err error) {
	blk, _ := pem.Decode([]byte(p))
	if blk == nil || (blk.Type != "CERTIFICATE REQUEST" && blk.Type != "NEW CERTIFICATE REQUEST") {
		return nil, nil, errors.New("csr is not a PEM certificate request")
	}
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		return nil, nil, errors.New("csr cannot be parsed")
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, nil, errors.New("csr signature does not verify")
	}
	k, ok := csr.PublicKey.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, nil, errors.New("csr key must be ECDSA P-256")
	}
	return blk.Bytes, k, nil
}

// enroll runs one enrolment and returns the response, or a status and a
// message for the lane.
func (s *Server) enroll(ctx context.Context, req EnrollRequest) (EnrollResponse, int, string) {
	var resp EnrollResponse
	codeID, ok := normalizeCodeID(req.CodeID)
	if !ok {
		return resp, http.StatusBadRequest, "code_id must be the first 4 characters of the code"
	}
	csrDER, pub, err := parseCSR(req.CSR)
	if err != nil {
		return resp, http.StatusBadRequest, err.Error()
	}
	proof, err := base64.StdEncoding.DecodeString(req.Proof)
	if err != nil || len(proof) != sha256.Size {
		return resp, http.StatusForbidden, "missing or malformed proof of the code"
	}
	now := s.clock.Now()
	var refusal enrolRefusal
	err = s.db.write(ctx, func(tx *sql.Tx) error {
		// Refusals still commit (attempt counts, erasures): the function
		// records them in refusal and returns nil.
		var (
			hash              []byte
			tenant, loc, name string
			secret            []byte
			expires, attempts int64
		)
		err := tx.QueryRowContext(ctx, `SELECT code_hash, tenant, location, lane_name, secret, expires, attempts FROM enrol_codes
			WHERE code_id=? AND used IS NULL AND burned IS NULL AND secret IS NOT NULL ORDER BY created DESC LIMIT 1`, codeID).
			Scan(&hash, &tenant, &loc, &name, &secret, &expires, &attempts)
		if errors.Is(err, sql.ErrNoRows) {
			refusal = enrolRefusal{"unknown, expired or already used code"}
			return nil
		}
		if err != nil {
			return err
		}
		if now.UnixMilli() >= expires {
			if _, err := tx.ExecContext(ctx, `UPDATE enrol_codes SET secret=NULL WHERE code_hash=?`, hash); err != nil {
				return err
			}
			refusal = enrolRefusal{"unknown, expired or already used code"}
			return nil
		}
		code, err := s.openCode(secret, codeAAD(tenant, hash))
		if err != nil {
			return fmt.Errorf("open code: %w", err)
		}
		if !hmac.Equal(proof, codeMAC(code, csrDER)) {
			attempts++
			q := `UPDATE enrol_codes SET attempts=? WHERE code_hash=?`
			args := []any{attempts, hash}
			if attempts >= MaxCodeAttempts {
				q = `UPDATE enrol_codes SET attempts=?, burned=?, secret=NULL WHERE code_hash=?`
				args = []any{attempts, now.UnixMilli(), hash}
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
			refusal = enrolRefusal{"wrong code"}
			return nil
		}
		laneID := lane.NewID()
		cert, err := issueLaneCert(s.ca, s.caKey, pub, tenant, laneID, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO lanes(id, tenant, location, name, serial, cert, issued, not_after) VALUES(?,?,?,?,?,?,?,?)`,
			laneID, tenant, loc, name, cert.SerialNumber.Text(16), cert.Raw, now.UnixMilli(), cert.NotAfter.UnixMilli()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE enrol_codes SET used=?, lane_id=?, secret=NULL WHERE code_hash=?`, now.UnixMilli(), laneID, hash); err != nil {
			return err
		}
		var tenantName string
		if err := tx.QueryRowContext(ctx, `SELECT name FROM tenants WHERE id=?`, tenant).Scan(&tenantName); err != nil {
			return err
		}
		resp = EnrollResponse{
			Tenant:       tenant,
			TenantName:   tenantName,
			Location:     loc,
			LaneID:       laneID,
			ClientCert:   string(pemBlock("CERTIFICATE", cert.Raw)),
			CACert:       string(s.caPEM),
			FHIRBase:     fhirBase,
			DICOMwebBase: dicomwebBase,
			MAC:          base64.StdEncoding.EncodeToString(codeMAC(code, s.ca.Raw, cert.Raw)),
		}
		return nil
	})
	switch {
	case err == nil && refusal.msg != "":
		s.log.Info("enrolment refused", "reason", refusal.msg)
		return EnrollResponse{}, http.StatusForbidden, refusal.msg
	case err != nil:
		s.log.Error("enrolment failed", "err", err)
		return resp, http.StatusServiceUnavailable, "enrolment failed on the server; retry"
	}
	s.log.Info("lane enrolled", "tenant", resp.Tenant, "lane", resp.LaneID)
	return resp, http.StatusOK, ""
}

// VerifyEnrollMAC checks a response's mac with the code, as a lane does.
func VerifyEnrollMAC(code string, resp EnrollResponse) bool {
	canon, err := NormalizeCode(code)
	if err != nil {
		return false
	}
	mac, err := base64.StdEncoding.DecodeString(resp.MAC)
	if err != nil {
		return false
	}
	var ders [][]byte
	for _, p := range []string{resp.CACert, resp.ClientCert} {
		blk, _ := pem.Decode([]byte(p))
		if blk == nil {
			return false
		}
		ders = append(ders, blk.Bytes)
	}
	return hmac.Equal(mac, codeMAC(canon, bytes.Clone(ders[0]), ders[1]))
}

// EnrollProof computes the request's proof field for a code and a PEM CSR,
// as a lane does.
func EnrollProof(code, csrPEM string) (string, error) {
	canon, err := NormalizeCode(code)
	if err != nil {
		return "", err
	}
	blk, _ := pem.Decode([]byte(csrPEM))
	if blk == nil {
		return "", lane.Invalidf("csr is not PEM")
	}
	return base64.StdEncoding.EncodeToString(codeMAC(canon, blk.Bytes)), nil
}
