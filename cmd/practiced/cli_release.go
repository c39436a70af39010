package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/examlane/examlane/cmd/internal/update"
	"github.com/examlane/examlane/cmd/practiced/server"
	"github.com/examlane/examlane/lane"
)

// The release commands are for the practice's release manager: make a
// release key pair (once, on a machine that is not the server), write and
// sign a manifest there, then publish the signed envelope and its files on
// the server and control the staged rollout. The private key never goes
// to the server; lanes trust the public key in their lane.toml.

// releaseFlags holds the flags of the release commands (the shared opts
// struct belongs to cli.go); each invocation sets them afresh.
var releaseFlags struct {
	key, manifest, envelope, out, version, build, notes, minVersion, goos, goarch, release string
	files, lanes                                                                           list
	percent                                                                                int
}

func init() {
	resetting := func(f func(fs *flag.FlagSet), data bool) func(*flag.FlagSet, *opts) {
		return func(fs *flag.FlagSet, o *opts) {
			releaseFlags = struct {
				key, manifest, envelope, out, version, build, notes, minVersion, goos, goarch, release string
				files, lanes                                                                           list
				percent                                                                                int
			}{}
			f(fs)
			if data {
				dataFlag(fs, o)
			}
		}
	}
	rf := &releaseFlags
	commands = append(commands,
		&command{
			path: "release keygen", summary: "make a release signing key pair (keep the private key off the server)",
			usage: "--out FILE",
			flags: resetting(func(fs *flag.FlagSet) {
				fs.StringVar(&rf.out, "out", "", "private key `FILE` (0600); the public key goes to FILE.pub")
			}, false),
			run: runReleaseKeygen,
		},
		&command{
			path: "release manifest", summary: "write a release manifest for files (size and SHA-256 of each)",
			usage: "--version V [--build N] [--min-version V] [--notes TEXT] --os OS --arch ARCH --file F... --out FILE",
			flags: resetting(func(fs *flag.FlagSet) {
				fs.StringVar(&rf.version, "version", "", "release `version` (MAJOR.MINOR.PATCH)")
				fs.StringVar(&rf.build, "build", "", "build `number`")
				fs.StringVar(&rf.minVersion, "min-version", "", "oldest `version` that may update to this one directly")
				fs.StringVar(&rf.notes, "notes", "", "release notes `text`")
				fs.StringVar(&rf.goos, "os", "", "operating system of the files (linux, windows, darwin)")
				fs.StringVar(&rf.goarch, "arch", "", "architecture of the files (amd64, arm64)")
				fs.Var(&rf.files, "file", "release `file` (repeatable)")
				fs.StringVar(&rf.out, "out", "", "manifest `FILE` to write")
			}, false),
			run: runReleaseManifest,
		},
		&command{
			path: "release sign", summary: "sign a release manifest with the release private key",
			usage: "--key FILE --manifest FILE --out FILE",
			flags: resetting(func(fs *flag.FlagSet) {
				fs.StringVar(&rf.key, "key", "", "release private key `FILE` (from release keygen)")
				fs.StringVar(&rf.manifest, "manifest", "", "manifest `FILE` (signed as is, byte for byte)")
				fs.StringVar(&rf.out, "out", "", "signed envelope `FILE` to write")
			}, false),
			run: runReleaseSign,
		},
		&command{
			path: "release publish", summary: "publish a signed release and its files to the lanes",
			usage: "--data DIR --envelope FILE --file F... [--hold-lane ID]... [--hold-percent N]",
			flags: resetting(func(fs *flag.FlagSet) {
				fs.StringVar(&rf.envelope, "envelope", "", "signed envelope `FILE` (from release sign)")
				fs.Var(&rf.files, "file", "release `file` named in the manifest (repeatable)")
				fs.Var(&rf.lanes, "hold-lane", "lane `id` not offered the release yet (repeatable)")
				fs.IntVar(&rf.percent, "hold-percent", 0, "`percent` of lanes (by lane id) not offered the release yet")
			}, true),
			run: withServer(runReleasePublish),
		},
		&command{
			path: "release hold", summary: "change a release's staged rollout: hold it back for lanes or a percentage",
			usage: "--data DIR --release ID [--hold-lane ID]... [--hold-percent N]",
			flags: resetting(func(fs *flag.FlagSet) {
				fs.StringVar(&rf.release, "release", "", "release `id` (VERSION+BUILD, see release list)")
				fs.Var(&rf.lanes, "hold-lane", "lane `id` not offered the release (repeatable; none: every lane)")
				fs.IntVar(&rf.percent, "hold-percent", 0, "`percent` of lanes not offered the release (0: none)")
			}, true),
			run: withServer(func(ctx context.Context, c *cli, s *server.Server, o *opts, _ []string) error {
				if err := need(rf.release, "--release"); err != nil {
					return err
				}
				r, err := s.HoldRelease(rf.release, rf.lanes, rf.percent)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "release %s: held for %d named lane(s) and %d%% of lanes\n", r.ID, len(r.HoldLanes), r.HoldPercent)
				return nil
			}),
		},
		&command{
			path: "release list", summary: "list published releases and their rollout holds", usage: "--data DIR",
			flags: resetting(func(fs *flag.FlagSet) {}, true),
			run: withServer(func(ctx context.Context, c *cli, s *server.Server, o *opts, _ []string) error {
				rs, err := s.Releases()
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "RELEASE\tPUBLISHED\tHELD LANES\tHELD %")
				for _, r := range rs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", r.ID, r.Published.Format("2006-01-02 15:04"), orNone(strings.Join(r.HoldLanes, ",")), r.HoldPercent)
				}
				return tw.Flush()
			}),
		},
	)
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runReleaseKeygen(_ context.Context, c *cli, _ *opts, _ []string) error {
	out := releaseFlags.out
	if err := need(out, "--out"); err != nil {
		return err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	if err := writeNew(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	if err := writeNew(out+".pub", []byte(update.EncodePublicKey(pub)+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "private key: %s (keep it offline, never on the server or a lane)\n", out)
	fmt.Fprintf(c.stdout, "public key:  %s.pub (key id %s)\n", out, update.KeyID(pub))
	fmt.Fprintf(c.stdout, "lanes trust it with, in lane.toml:\n[updates]\nrelease_keys = %q\n", update.EncodePublicKey(pub))
	return nil
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, b []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func runReleaseManifest(_ context.Context, c *cli, _ *opts, _ []string) error {
	rf := &releaseFlags
	if err := need(rf.version, "--version", rf.goos, "--os", rf.goarch, "--arch", rf.out, "--out"); err != nil {
		return err
	}
	if len(rf.files) == 0 {
		return usagef("at least one --file")
	}
	m := update.Manifest{Product: update.Product, Version: rf.version, Build: rf.build, MinVersion: rf.minVersion,
		Published: time.Now().UTC().Truncate(time.Second), Notes: rf.notes}
	for _, p := range rf.files {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
		m.Files = append(m.Files, update.File{OS: rf.goos, Arch: rf.goarch, Name: filepath.Base(p), Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	if err := m.Validate(); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := writeNew(rf.out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "wrote %s: %s, %d file(s)\n", rf.out, m.Release(), len(m.Files))
	return nil
}

func runReleaseSign(_ context.Context, c *cli, _ *opts, _ []string) error {
	rf := &releaseFlags
	if err := need(rf.key, "--key", rf.manifest, "--manifest", rf.out, "--out"); err != nil {
		return err
	}
	kb, err := os.ReadFile(rf.key)
	if err != nil {
		return err
	}
	blk, _ := pem.Decode(kb)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return fmt.Errorf("%s: not a PEM private key: %w", rf.key, lane.ErrInvalid)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return fmt.Errorf("%s: %w", rf.key, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return fmt.Errorf("%s: not an Ed25519 key: %w", rf.key, lane.ErrInvalid)
	}
	mb, err := os.ReadFile(rf.manifest)
	if err != nil {
		return err
	}
	env, err := update.Sign(priv, mb)
	if err != nil {
		return err
	}
	if err := writeNew(rf.out, env.Marshal(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "signed %s with key %s: %s\n", rf.manifest, env.KeyID, rf.out)
	return nil
}

func runReleasePublish(ctx context.Context, c *cli, s *server.Server, _ *opts, _ []string) error {
	rf := &releaseFlags
	if err := need(rf.envelope, "--envelope"); err != nil {
		return err
	}
	env, err := os.ReadFile(rf.envelope)
	if err != nil {
		return err
	}
	files := map[string]string{}
	for _, p := range rf.files {
		files[filepath.Base(p)] = p
	}
	r, err := s.PublishRelease(ctx, env, files, rf.lanes, rf.percent)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "published %s (held for %d named lane(s) and %d%% of lanes)\n", r.ID, len(r.HoldLanes), r.HoldPercent)
	return nil
}
