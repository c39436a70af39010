package synctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// PKI is a practice CA (ECDSA P-256) with a server certificate for
// 127.0.0.1, ::1 and localhost.
type PKI struct {
	CA     *x509.Certificate
	CAKey  *ecdsa.PrivateKey
	CAPEM  []byte
	Server tls.Certificate
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

// NewPKI makes a CA and a server certificate, valid from an hour ago for a
// year (the wall clock: TLS verification uses it).
func NewPKI() (*PKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "Examlane test practice CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "practiced"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	return &PKI{
		CA: ca, CAKey: caKey, CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Server: tls.Certificate{Certificate: [][]byte{srvDER, caDER}, PrivateKey: srvKey},
	}, nil
}

// IssueClient signs a lane certificate for the CSR's key: CN = lane id, URI
// SANs urn:examlane:tenant:<tenant> and urn:examlane:lane:<laneID>, valid 90
// days.
func (p *PKI) IssueClient(csr *x509.CertificateRequest, tenant, laneID string) ([]byte, error) {
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("synctest: csr signature: %w", err)
	}
	tu, _ := url.Parse("urn:examlane:tenant:" + tenant)
	lu, _ := url.Parse("urn:examlane:lane:" + laneID)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: laneID},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour),
		URIs:     []*url.URL{tu, lu},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return x509.CreateCertificate(rand.Reader, tmpl, p.CA, csr.PublicKey, p.CAKey)
}

// Client returns a TLS client certificate for a fresh key, issued as at
// enrolment (for tests that skip the enrolment exchange), and its key.
func (p *PKI) Client(tenant, laneID string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: laneID}}, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	csr, _ := x509.ParseCertificateRequest(csrDER)
	der, err := p.IssueClient(csr, tenant, laneID)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// enrollCode is a one-time enrolment code.
type enrollCode struct {
	code, tenant, tenantName, location, lane string
	expires                                  time.Time
	used                                     bool
	failures                                 int
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewEnrollCode returns a random code XXXX-XXXX-XXXX-XXXX (Crockford
// base32, 80 bits).
func NewEnrollCode() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(crockford[int(c)%32])
	}
	return sb.String()
}

// AddEnrollCode registers a code valid for 15 minutes (server clock) for a
// lane of tenant at location.
func (s *Server) AddEnrollCode(code, tenant, tenantName, location, lane string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code[:4]] = &enrollCode{code: code, tenant: tenant, tenantName: tenantName, location: location, lane: lane,
		expires: s.now().Add(15 * time.Minute)}
}

// Enrolled returns how many codes were used.
func (s *Server) Enrolled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.codes {
		if c.used {
			n++
		}
	}
	return n
}

// MAC is the enrolment mac: HMAC-SHA256(key = the full code, msg = CA DER ||
// client certificate DER).
func MAC(code string, caDER, clientDER []byte) []byte {
	m := hmac.New(sha256.New, []byte(code))
	m.Write(caDER)
	m.Write(clientDER)
	return m.Sum(nil)
}

func (s *Server) enroll(w http.ResponseWriter, body []byte) {
	var req struct {
		CodeID string `json:"code_id"`
		CSR    string `json:"csr"`
		Lane   string `json:"lane"`
		Proof  string `json:"proof"`
	}
	deny := func(msg string) { writeJSON(w, http.StatusForbidden, map[string]string{"error": msg}) }
	if json.Unmarshal(body, &req) != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed request"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.codes[strings.ToUpper(req.CodeID)]
	if c == nil || c.used || s.now().After(c.expires) || c.failures >= 5 {
		deny("unknown, expired or used code")
		return
	}
	blk, _ := pem.Decode([]byte(req.CSR))
	if blk == nil {
		c.failures++
		deny("bad csr")
		return
	}
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		c.failures++
		deny("bad csr")
		return
	}
	{ // proof that the lane knows the whole code, not only its id
		want := hmac.New(sha256.New, []byte(c.code))
		want.Write(blk.Bytes)
		got, _ := base64.StdEncoding.DecodeString(req.Proof)
		if !hmac.Equal(got, want.Sum(nil)) {
			c.failures++
			deny("wrong code")
			return
		}
	}
	s.nextID++
	laneID := fmt.Sprintf("lane-%d", s.nextID)
	der, err := s.PKI.IssueClient(csr, c.tenant, laneID)
	if err != nil {
		c.failures++
		deny("bad csr")
		return
	}
	c.used = true
	writeJSON(w, http.StatusOK, map[string]string{
		"tenant": c.tenant, "tenant_name": c.tenantName, "location": c.location, "lane_id": laneID,
		"client_cert":   string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		"ca_cert":       string(s.PKI.CAPEM),
		"fhir_base":     FHIRBase,
		"dicomweb_base": DICOMwebBase,
		"mac":           base64.StdEncoding.EncodeToString(MAC(c.code, s.PKI.CA.Raw, der)),
	})
}
