package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/examlane/examlane/cmd/internal/atomicfile"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files of the data directory besides the database. Private keys are
// written 0600.
const (
	caCertFile     = "ca.pem"
	caKeyFile      = "ca.key"
	serverCertFile = "server.pem"
	serverKeyFile  = "server.key"
	enrolKeyFile   = "enrol.key"
)

// Certificate lifetimes.
const (
	caLifetime     = 10 * 365 * 24 * time.Hour
	serverLifetime = 825 * 24 * time.Hour
	// LaneCertLifetime is the validity of a lane's client certificate.
	LaneCertLifetime = 90 * 24 * time.Hour
)

// URI SAN prefixes naming a lane certificate's tenant and lane.
const (
	tenantURIPrefix = "urn:examlane:tenant:"
	laneURIPrefix   = "urn:examlane:lane:"
)

// serialNumber returns a random positive 128-bit certificate serial.
func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	return n.Add(n, big.NewInt(1)), nil
}

// newCA creates the practice CA: an ECDSA P-256 key and a self-signed
// certificate.
func newCA(name string, now time.Time) (certDER []byte, key *ecdsa.PrivateKey, err error) {
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("CA key: %w", err)
	}
	sn, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: "Examlane practice CA", Organization: []string{name}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	certDER, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("CA certificate: %w", err)
	}
	return certDER, key, nil
}

// newServerCert issues the server's TLS certificate for loopback and hosts.
func newServerCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string, now time.Time) (certDER []byte, key *ecdsa.PrivateKey, err error) {
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("server key: %w", err)
	}
	sn, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: "practiced"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(serverLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	certDER, err = x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("server certificate: %w", err)
	}
	return certDER, key, nil
}

// issueLaneCert signs a lane's client certificate for the public key of a
// verified CSR.
func issueLaneCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, pub *ecdsa.PublicKey, tenant, laneID string, now time.Time) (*x509.Certificate, error) {
	sn, err := serialNumber()
	if err != nil {
		return nil, err
	}
	tu, _ := url.Parse(tenantURIPrefix + tenant)
	lu, _ := url.Parse(laneURIPrefix + laneID)
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: laneID},
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     now.Add(LaneCertLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{tu, lu},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	if err != nil {
		return nil, fmt.Errorf("lane certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// laneURIs reads the tenant and lane ids from a lane certificate.
func laneURIs(c *x509.Certificate) (tenant, laneID string, ok bool) {
	for _, u := range c.URIs {
		s := u.String()
		switch {
		case strings.HasPrefix(s, tenantURIPrefix):
			tenant = strings.TrimPrefix(s, tenantURIPrefix)
		case strings.HasPrefix(s, laneURIPrefix):
			laneID = strings.TrimPrefix(s, laneURIPrefix)
		}
	}
	return tenant, laneID, tenant != "" && laneID != "" && laneID == c.Subject.CommonName
}

// spkiPin returns the hex SHA-256 of a certificate's SubjectPublicKeyInfo,
// the value the lane pins.
func spkiPin(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// pemBlock encodes der as a PEM block of type t.
func pemBlock(t string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: t, Bytes: der})
}

// keyPEM encodes an ECDSA private key as PKCS#8 PEM.
func keyPEM(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pemBlock("PRIVATE KEY", der), nil
}

// readCert reads a PEM certificate file.
func readCert(path string) (*x509.Certificate, []byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("%s: not a PEM certificate", filepath.Base(path))
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return c, b, nil
}

// readKey reads a PKCS#8 PEM ECDSA private key file, refusing one that
// others can read.
func readKey(path string) (*ecdsa.PrivateKey, []byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, nil, fmt.Errorf("%s: mode %v, want 0600", filepath.Base(path), fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, nil, fmt.Errorf("%s: not PEM", filepath.Base(path))
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, errors.New(filepath.Base(path) + ": not an ECDSA key")
	}
	return ek, b, nil
}

// writeFileAtomic writes b to path with mode perm through a synced
// temporary file, refusing to replace an existing file (errExists).
func writeFileAtomic(path string, b []byte, perm os.FileMode) error {
	err := atomicfile.Create(path, b, perm)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w", filepath.Base(path), errExists)
	}
	return err
}
