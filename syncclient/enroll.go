package syncclient

import (
	"bytes"
	"context"
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
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
)

// Enrollment is what a lane holds after enrolment: who it is in the
// practice, the practice CA it pins, and its own certificate and key.
// KeyPEM is the lane's private key; it is never marshalled to JSON (the
// caller stores it separately, sealed).
type Enrollment struct {
	ServerURL    string `json:"server_url"`
	Tenant       string `json:"tenant"`
	TenantName   string `json:"tenant_name"`
	Location     string `json:"location"`
	LaneID       string `json:"lane_id"`
	LaneName     string `json:"lane_name"`
	FHIRBase     string `json:"fhir_base"`
	DICOMwebBase string `json:"dicomweb_base"`
	CertPEM      string `json:"client_cert"`
	CAPEM        string `json:"ca_cert"`
	// CAPin is the hex SHA-256 of the CA's SubjectPublicKeyInfo.
	CAPin string `json:"ca_pin"`
	// CertExpires is when the lane certificate runs out.
	CertExpires time.Time `json:"cert_expires"`
	KeyPEM      string    `json:"-"`
}

// ErrBadCode reports an enrolment code that is malformed or that the server
// refused (wrong, expired, used or burnt).
var ErrBadCode = errors.New("enrolment code refused")

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NormalizeCode returns an enrolment code in its canonical form
// XXXX-XXXX-XXXX-XXXX: upper case, Crockford look-alikes mapped (O→0,
// I and L→1), spaces and hyphens ignored on input.
func NormalizeCode(code string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToUpper(code) {
		switch r {
		case ' ', '-':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if !strings.ContainsRune(crockford, r) {
			return "", fmt.Errorf("syncclient: enrolment code: character %q: %w", r, ErrBadCode)
		}
		if b.Len() > 0 && (b.Len()+1)%5 == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	if b.Len() != 19 {
		return "", fmt.Errorf("syncclient: enrolment code: want 16 characters (XXXX-XXXX-XXXX-XXXX): %w", ErrBadCode)
	}
	return b.String(), nil
}

// Enroll enrols this lane with the practice server at serverURL (https) using
// a one-time code: it generates an ECDSA P-256 key pair, sends a CSR, checks
// the answer's mac with the code (so a man in the middle is detected), checks
// that the issued certificate carries its own key, was signed by the
// returned CA and names the tenant and lane, and returns the enrolment with
// the CA pinned. Only this request skips server certificate verification,
// because the lane cannot know the CA yet; the mac is what authenticates the
// answer.
//
// Besides the contract's fields the request carries proof =
// HMAC-SHA256(code, CSR DER), with which a server can check that the lane
// knows the whole code and not only its first four characters.
func Enroll(ctx context.Context, serverURL, code, laneName string) (Enrollment, error) {
	return enroll(ctx, serverURL, code, laneName, nil)
}

func enroll(ctx context.Context, serverURL, code, laneName string, hc *http.Client) (Enrollment, error) {
	code, err := NormalizeCode(code)
	if err != nil {
		return Enrollment{}, err
	}
	u, err := url.Parse(serverURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return Enrollment{}, fmt.Errorf("syncclient: enrol: server URL must be https://host[:port]: %w", lane.ErrInvalid)
	}
	origin := u.Scheme + "://" + u.Host
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Enrollment{}, fmt.Errorf("syncclient: enrol: generate key: %w", err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: laneName}}, key)
	if err != nil {
		return Enrollment{}, fmt.Errorf("syncclient: enrol: csr: %w", err)
	}
	mac := hmac.New(sha256.New, []byte(code))
	mac.Write(csrDER)
	reqBody, _ := json.Marshal(map[string]string{
		"code_id": code[:4],
		"csr":     string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})),
		"lane":    laneName,
		"proof":   base64.StdEncoding.EncodeToString(mac.Sum(nil)),
	})
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			// The one unverified TLS connection: the CA is not known yet, and
			// the mac authenticates what comes back.
			TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}, //nolint:gosec
		}}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, origin+"/enroll", bytes.NewReader(reqBody))
	if err != nil {
		return Enrollment{}, fmt.Errorf("syncclient: enrol: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return Enrollment{}, fmt.Errorf("syncclient: enrol: %w: %s", lane.ErrUnavailable, netReason(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Enrollment{}, fmt.Errorf("syncclient: enrol: %w: connection lost", lane.ErrUnavailable)
	}
	if resp.StatusCode == http.StatusForbidden {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return Enrollment{}, fmt.Errorf("syncclient: enrol: %w: %s", ErrBadCode, firstLine(e.Error))
	}
	if resp.StatusCode != http.StatusOK {
		return Enrollment{}, fmt.Errorf("syncclient: enrol: server answered %d", resp.StatusCode)
	}
	return verifyEnrollment(body, code, key, origin, laneName)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

// enrollResponse is the server's answer to /enroll.
type enrollResponse struct {
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

// verifyEnrollment checks an /enroll answer and builds the enrolment.
func verifyEnrollment(body []byte, code string, key *ecdsa.PrivateKey, origin, laneName string) (Enrollment, error) {
	bad := func(why string) (Enrollment, error) {
		return Enrollment{}, fmt.Errorf("syncclient: enrol: %s: %w", why, lane.ErrInvalid)
	}
	var r enrollResponse
	if json.Unmarshal(body, &r) != nil {
		return bad("malformed answer")
	}
	caBlk, _ := pem.Decode([]byte(r.CACert))
	certBlk, _ := pem.Decode([]byte(r.ClientCert))
	if caBlk == nil || certBlk == nil {
		return bad("answer without certificates")
	}
	got, err := base64.StdEncoding.DecodeString(r.MAC)
	m := hmac.New(sha256.New, []byte(code))
	m.Write(caBlk.Bytes)
	m.Write(certBlk.Bytes)
	if err != nil || !hmac.Equal(got, m.Sum(nil)) {
		return bad("the answer's mac does not match the code (wrong server or someone in between)")
	}
	ca, err := x509.ParseCertificate(caBlk.Bytes)
	if err != nil || !ca.IsCA {
		return bad("the practice CA certificate is not a CA")
	}
	cert, err := x509.ParseCertificate(certBlk.Bytes)
	if err != nil {
		return bad("unreadable lane certificate")
	}
	if err := cert.CheckSignatureFrom(ca); err != nil {
		return bad("the lane certificate is not signed by the practice CA")
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return bad("the lane certificate is not for this lane's key")
	}
	if r.LaneID == "" || r.Tenant == "" || cert.Subject.CommonName != r.LaneID {
		return bad("the lane certificate does not name the lane")
	}
	var hasTenant, hasLane bool
	for _, u := range cert.URIs {
		hasTenant = hasTenant || u.String() == "urn:examlane:tenant:"+r.Tenant
		hasLane = hasLane || u.String() == "urn:examlane:lane:"+r.LaneID
	}
	if !hasTenant || !hasLane {
		return bad("the lane certificate does not carry the tenant and lane")
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Enrollment{}, fmt.Errorf("syncclient: enrol: %w", err)
	}
	return Enrollment{
		ServerURL: origin, Tenant: r.Tenant, TenantName: r.TenantName, Location: r.Location,
		LaneID: r.LaneID, LaneName: laneName, FHIRBase: r.FHIRBase, DICOMwebBase: r.DICOMwebBase,
		CertPEM: r.ClientCert, CAPEM: r.CACert, CAPin: SPKIPin(ca), CertExpires: cert.NotAfter,
		KeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
	}, nil
}

// Config returns a client configuration for this enrolment (TLS pinned to
// the practice CA), fetching image bytes so that earlier visits' images
// can be viewed and compared offline; the caller adds Store and Clock.
func (e Enrollment) Config() (Config, error) {
	tc, err := TLSConfig(e)
	if err != nil {
		return Config{}, err
	}
	return Config{ServerURL: e.ServerURL, FHIRBase: e.FHIRBase, DICOMwebBase: e.DICOMwebBase, TLS: tc,
		LaneID: e.LaneID, LaneName: e.LaneName, Location: e.Location, FetchImages: true}, nil
}
