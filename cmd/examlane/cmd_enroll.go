package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/examlane/examlane/cmd/internal/atomicfile"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/examlane/examlane/syncclient"
)

// The enrolment is kept in the data directory:
//
//	sync/enrollment.json  who the lane is, the practice CA and its pin, the lane certificate (0600)
//	sync/lane-key.pem     the lane's private key (0600)
//
// For now the key file is plain PEM protected by its file mode; sealing it
// under the database key is the store's job and will replace this file.
const (
	enrollDirName  = "sync"
	enrollFileName = "enrollment.json"
	laneKeyName    = "lane-key.pem"
)

func init() {
	register(&command{
		Path:    "enroll",
		Summary: "enrol this lane with the practice server",
		Usage:   "--server URL --code CODE [--name NAME] [--force]",
		Help: `Generates the lane's key pair, sends a certificate request with the one-time
code from 'practiced enroll-code', checks that the answer comes from a server
that knows the code, and keeps the lane certificate and the practice CA (pinned
from then on) in the data directory. The private key never leaves the lane.`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("server", "", "the practice server, `https://host:port`")
			fs.String("code", "", "the one-time enrolment `CODE` (XXXX-XXXX-XXXX-XXXX)")
			fs.String("name", "", "the lane's `NAME` as staff see it (default: this computer's name)")
			fs.Bool("force", false, "replace an existing enrolment")
		},
		Run: runEnroll,
	})
}

func runEnroll(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) != 0 {
		return usagef("takes no arguments")
	}
	server, code := fs.Lookup("server").Value.String(), fs.Lookup("code").Value.String()
	if server == "" || code == "" {
		return usagef("--server and --code are required")
	}
	if _, err := syncclient.NormalizeCode(code); err != nil {
		return usagef("--code: want XXXX-XXXX-XXXX-XXXX")
	}
	name := fs.Lookup("name").Value.String()
	if name == "" {
		name, _ = os.Hostname()
	}
	dir, err := syncDataDir(e)
	if err != nil {
		return err
	}
	if _, err := loadEnrollment(dir); err == nil && fs.Lookup("force").Value.String() != "true" {
		return fmt.Errorf("this lane is already enrolled (see 'examlane sync status'); use --force to replace the enrolment")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	en, err := syncclient.Enroll(ctx, server, code, name)
	if err != nil {
		return err
	}
	if err := saveEnrollment(dir, en); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "enrolled as lane %s (%s) of %s, location %s\n", en.LaneID, en.LaneName, orDash(en.TenantName, en.Tenant), orDash(en.Location, "-"))
	fmt.Fprintf(e.Stdout, "server %s; practice CA pinned (sha256 %s)\n", en.ServerURL, en.CAPin)
	fmt.Fprintf(e.Stdout, "lane certificate valid until %s\n", en.CertExpires.UTC().Format("2006-01-02"))
	return nil
}

func orDash(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// saveEnrollment writes the enrolment and the key, each to a temporary file
// first, with mode 0600 in a 0700 directory.
func saveEnrollment(dataDir string, en syncclient.Enrollment) error {
	dir := filepath.Join(dataDir, enrollDirName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	doc, err := json.MarshalIndent(en, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, laneKeyName), []byte(en.KeyPEM)); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, enrollFileName), append(doc, '\n'))
}

// writeFileAtomic writes an enrolment file, readable by its owner only.
func writeFileAtomic(path string, b []byte) error { return atomicfile.ReplaceBytes(path, b, 0o600) }

// errNotEnrolled reports a lane without an enrolment.
var errNotEnrolled = errors.New("this lane is not enrolled (run 'examlane enroll --server URL --code CODE')")

// loadEnrollment reads the enrolment and key from the data directory.
func loadEnrollment(dataDir string) (syncclient.Enrollment, error) {
	dir := filepath.Join(dataDir, enrollDirName)
	doc, err := os.ReadFile(filepath.Join(dir, enrollFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return syncclient.Enrollment{}, errNotEnrolled
	}
	if err != nil {
		return syncclient.Enrollment{}, err
	}
	var en syncclient.Enrollment
	if err := json.Unmarshal(doc, &en); err != nil {
		return syncclient.Enrollment{}, fmt.Errorf("%s: %w", filepath.Join(dir, enrollFileName), err)
	}
	key, err := os.ReadFile(filepath.Join(dir, laneKeyName))
	if err != nil {
		return syncclient.Enrollment{}, fmt.Errorf("lane key: %w", err)
	}
	en.KeyPEM = string(key)
	return en, nil
}
