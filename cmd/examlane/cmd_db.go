package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/examlane/examlane/cmd/internal/laneconfig"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/localdb/keychain"
	"github.com/examlane/examlane/localdb/seal"
)

// The db commands look after the lane's encrypted database in the data
// directory (--data-dir, default the app's per-OS data directory). The database
// key comes from the OS keychain; where there is none, a database made with
// --passphrase-fallback asks for the practice passphrase on standard input.
// In the explicit test mode (EXAMLANE_TEST_MODE=1) the passphrase is taken
// from EXAMLANE_TEST_PASSPHRASE.

// dbKeychain returns the OS keychain; tests replace it.
var dbKeychain = func() lane.Secrets { return keychain.New() }

// dbDataDir returns the data directory of e: --data-dir, else the app's
// per-OS default (laneconfig.DefaultPaths: ~/.local/share/examlane on Linux,
// ~/Library/Application Support/Examlane on macOS, %LOCALAPPDATA%\Examlane
// on Windows).
func dbDataDir(e *env) (string, error) {
	if e.DataDir != "" {
		return e.DataDir, nil
	}
	p, err := laneconfig.DefaultPaths(laneconfig.Env{})
	if err != nil {
		return "", err
	}
	return p.DataDir, nil
}

// dbConfig returns how the commands open the lane database.
func dbConfig(e *env, fallback bool) (localdb.Config, error) {
	dir, err := dbDataDir(e)
	if err != nil {
		return localdb.Config{}, err
	}
	cfg := localdb.Config{Path: filepath.Join(dir, localdb.FileName), Keychain: dbKeychain(), NoCreate: true,
		PassphraseFallback: fallback}
	if pass, ok := localdb.TestPassphraseFromEnv(); ok {
		cfg.TestPassphrase = true
		cfg.Passphrase = func() ([]byte, error) { return pass, nil }
		return cfg, nil
	}
	cfg.Passphrase = func() ([]byte, error) {
		fmt.Fprint(e.Stderr, "Practice passphrase: ")
		line, err := bufio.NewReader(e.Stdin).ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return nil, fmt.Errorf("no passphrase on standard input (%v): %w", err, localdb.ErrPassphraseNeeded)
		}
		return []byte(line), nil
	}
	return cfg, nil
}

// dbOpen opens the existing lane database for a command.
func dbOpen(ctx context.Context, e *env) (*localdb.DB, error) {
	cfg, err := dbConfig(e, false)
	if err != nil {
		return nil, err
	}
	db, err := localdb.Open(ctx, cfg)
	if errors.Is(err, localdb.ErrNoDatabase) {
		return nil, fmt.Errorf("%s: %w (start the app once, or run 'examlane db init')", filepath.Dir(cfg.Path), err)
	}
	return db, err
}

// dbActor is who the audit log records for a command: the OS user.
func dbActor(reason string) lane.Actor {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return lane.Actor{User: lane.UserID("cli:" + name), Roles: []lane.Role{lane.RoleAdmin}, Device: host, Reason: reason}
}

func dbPrintJSON(e *env, v any) error {
	enc := json.NewEncoder(e.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func init() {
	register(&command{
		Path:    "db init",
		Summary: "create the encrypted lane database in the data directory",
		Usage:   "[--tenant ID] [--recovery-pub FILE] [--passphrase-fallback]",
		Help: `Creates the lane database with a new random data key. The key-encryption
key goes into the OS keychain; where no keychain is reachable the command
fails unless --passphrase-fallback is given (the practice allows a
passphrase-derived key, read from standard input). --recovery-pub seals the
data key to the practice recovery public key (see 'db recovery-keygen'), so
that 'db recover' can reopen the database if the keychain is lost. Prints
the key source.`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "practice `ID` bound into every sealed value (default \"default\")")
			fs.String("recovery-pub", "", "practice recovery public key `FILE`")
			fs.Bool("passphrase-fallback", false, "allow a passphrase-derived key where no keychain is reachable")
		},
		Run: runDBInit,
	})
	register(&command{
		Path:    "db stats",
		Summary: "print counts of what the lane database holds, as JSON",
		Run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
			if len(args) != 0 {
				return usagef("takes no arguments")
			}
			db, err := dbOpen(ctx, e)
			if err != nil {
				return err
			}
			defer db.Close()
			s, err := db.Stats(ctx)
			if err != nil {
				return err
			}
			return dbPrintJSON(e, s)
		},
	})
	register(&command{
		Path:    "db check",
		Summary: "check integrity, foreign keys, the audit chain and a sample of sealed values",
		Usage:   "[--sample N]",
		Help:    "Exits 1 and says what is wrong when any check fails.",
		Flags:   func(fs *flag.FlagSet) { fs.Int("sample", 200, "sealed values to open per table (0: all)") },
		Run:     runDBCheck,
	})
	register(&command{
		Path:    "db backup",
		Summary: "write a consistent backup of the lane database while the app runs",
		Usage:   "FILE",
		Help: `Writes a snapshot of the database (records, outbox, audit log, wrapped keys)
to FILE, which must not exist. Values stay sealed in the copy; it opens with
this computer's keychain, or elsewhere after 'db recover' with the practice
recovery key.`,
		Run: runDBBackup,
	})
	register(&command{
		Path:    "db restore",
		Summary: "restore a backup into an empty data directory",
		Usage:   "FILE",
		Help:    "Refuses a data directory that already holds a database: restoring never overwrites data.",
		Run:     runDBRestore,
	})
	register(&command{
		Path:    "db recovery-keygen",
		Summary: "make a practice recovery key pair",
		Usage:   "OUT",
		Help: `Writes the private key to OUT (mode 0600) and the public key to OUT.pub.
Keep the private key off the lanes (on the practice server or offline);
give lanes the public key ('db init --recovery-pub' or 'db set-recovery-key').`,
		Run: runRecoveryKeygen,
	})
	register(&command{
		Path:    "db set-recovery-key",
		Summary: "seal the database's data keys to a practice recovery public key",
		Usage:   "PUBFILE",
		Run:     runSetRecoveryKey,
	})
	register(&command{
		Path:    "db recover",
		Summary: "reopen a database whose keychain key was lost, with the practice recovery key",
		Usage:   "--recovery-key FILE [--passphrase-fallback]",
		Help: `Opens the data keys with the practice recovery private key and wraps them
under a new key-encryption key in the OS keychain (or, with
--passphrase-fallback and no keychain, under the practice passphrase). No
record is re-encrypted and nothing unsynced is lost.`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("recovery-key", "", "practice recovery private key `FILE`")
			fs.Bool("passphrase-fallback", false, "use a passphrase-derived key where no keychain is reachable")
		},
		Run: runRecover,
	})
	register(&command{
		Path:    "db rotate-key",
		Summary: "replace the data key and re-seal every record (resumable)",
		Help: `Creates a new data key and re-seals every record in batches, printing
progress. If it is interrupted, run it again: it resumes where it stopped.
Audit details stay under the key that sealed them (the log is append-only),
so old keys are retired, not destroyed.`,
		Run: runRotateKey,
	})
	register(&command{
		Path:    "db purge",
		Summary: "remove patients outside the retention window whose data is safely on the server",
		Usage:   "--older-than DURATION --reason TEXT [--dry-run]",
		Help: `Removes every patient with no appointment or change within DURATION (e.g.
7y, 400d, 72h) whose records have all reached the server. Patients with
unsynced changes, open conflicts or records the server has never seen are
kept. Each removal is audited. Prints a JSON report.`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("older-than", "", "retention window `DURATION` (Ny, Nd or a Go duration)")
			fs.String("reason", "", "why (recorded in the audit log)")
			fs.Bool("dry-run", false, "count without removing")
		},
		Run: runPurge,
	})
}

func runDBInit(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) != 0 {
		return usagef("takes no arguments")
	}
	cfg, err := dbConfig(e, fs.Lookup("passphrase-fallback").Value.String() == "true")
	if err != nil {
		return err
	}
	if _, err := os.Stat(cfg.Path); err == nil {
		return fmt.Errorf("%s already holds a lane database", filepath.Dir(cfg.Path))
	}
	cfg.NoCreate = false
	cfg.Tenant = fs.Lookup("tenant").Value.String()
	if p := fs.Lookup("recovery-pub").Value.String(); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if cfg.RecoveryKey, err = seal.ParseRecoveryPublic(b); err != nil {
			return err
		}
	}
	db, err := localdb.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	fpr, _ := db.RecoveryFingerprint(ctx)
	fmt.Fprintf(e.Stdout, "created %s\nkey source: %s (%s)\n", cfg.Path, db.KeySource(), db.KeySource().Describe())
	if fpr == "" {
		fmt.Fprintln(e.Stdout, "recovery key: NONE — if the keychain is lost, unsynced data is lost; add one with 'examlane db set-recovery-key'")
	} else {
		fmt.Fprintf(e.Stdout, "recovery key: %s\n", fpr)
	}
	return nil
}

func runDBCheck(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) != 0 {
		return usagef("takes no arguments")
	}
	sample, _ := strconv.Atoi(fs.Lookup("sample").Value.String())
	db, err := dbOpen(ctx, e)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := db.Check(ctx, sample)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "integrity_check: %s\n", rep.Integrity)
	if len(rep.ForeignKeys) == 0 {
		fmt.Fprintln(e.Stdout, "foreign_key_check: ok")
	}
	for _, f := range rep.ForeignKeys {
		fmt.Fprintf(e.Stdout, "foreign_key_check: %s\n", f)
	}
	if rep.Audit.OK() {
		fmt.Fprintf(e.Stdout, "audit chain: ok (%d events, %d signed checkpoints)\n", rep.Audit.Events, rep.Audit.Checkpoints)
	} else {
		fmt.Fprintf(e.Stdout, "audit chain: BROKEN at event %d: %s\n", rep.Audit.BrokenAt, rep.Audit.Problem)
	}
	fmt.Fprintf(e.Stdout, "sealed values: %d opened, %d failed\n", rep.SealedChecked, len(rep.SealedFailed))
	for _, f := range rep.SealedFailed {
		fmt.Fprintf(e.Stdout, "  does not authenticate: %s\n", f)
	}
	if !rep.OK() {
		return errors.New("the database failed its checks (see above); restore the latest good backup with 'examlane db restore'")
	}
	return nil
}

func runDBBackup(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) != 1 {
		return usagef("want one FILE")
	}
	dst, err := filepath.Abs(args[0])
	if err != nil {
		return err
	}
	db, err := dbOpen(ctx, e)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Backup(ctx, dbActor(""), dst); err != nil {
		return err
	}
	fi, err := os.Stat(dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "backup written: %s (%d bytes)\n", dst, fi.Size())
	return nil
}

func runDBRestore(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) != 1 {
		return usagef("want one FILE")
	}
	dir, err := dbDataDir(e)
	if err != nil {
		return err
	}
	if err := localdb.Restore(ctx, args[0], dir); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "restored %s into %s\n", args[0], dir)
	return nil
}

func runRecoveryKeygen(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) != 1 {
		return usagef("want one OUT file name")
	}
	out := args[0]
	for _, p := range []string{out, out + ".pub"} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s already exists: not overwriting a key", p)
		}
	}
	k, err := seal.GenerateRecoveryKey()
	if err != nil {
		return err
	}
	if err := dbWriteNew(out, seal.MarshalRecoveryPrivate(k), 0o600); err != nil {
		return err
	}
	if err := dbWriteNew(out+".pub", seal.MarshalRecoveryPublic(k.PublicKey()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "private key: %s (keep it off the lanes)\npublic key:  %s.pub\nfingerprint: %s\n", out, out, seal.Fingerprint(k.PublicKey()))
	return nil
}

func dbWriteNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func runSetRecoveryKey(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) != 1 {
		return usagef("want one PUBFILE")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	pub, err := seal.ParseRecoveryPublic(b)
	if err != nil {
		return err
	}
	db, err := dbOpen(ctx, e)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.SetRecoveryKey(ctx, pub); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "data keys sealed to recovery key %s\n", seal.Fingerprint(pub))
	return nil
}

func runRecover(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	keyFile := fs.Lookup("recovery-key").Value.String()
	if keyFile == "" || len(args) != 0 {
		return usagef("want --recovery-key FILE and no arguments")
	}
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	priv, err := seal.ParseRecoveryPrivate(b)
	if err != nil {
		return err
	}
	cfg, err := dbConfig(e, fs.Lookup("passphrase-fallback").Value.String() == "true")
	if err != nil {
		return err
	}
	src, err := localdb.Recover(ctx, cfg, priv)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "recovered: data keys re-wrapped under a new key (%s: %s)\n", src, src.Describe())
	return nil
}

func runRotateKey(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) != 0 {
		return usagef("takes no arguments")
	}
	db, err := dbOpen(ctx, e)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	err = db.RotateKey(ctx, dbActor("key rotation"), func(p localdb.RotationProgress) {
		switch {
		case p.Completed:
			fmt.Fprintf(e.Stdout, "done: %d values re-sealed under key %d in %v\n", p.Done, p.ToKey, time.Since(start).Round(time.Millisecond))
		default:
			pct := 100.0
			if p.Total > 0 {
				pct = 100 * float64(p.Done) / float64(p.Total)
			}
			resumed := ""
			if p.Resumed {
				resumed = " (resumed)"
			}
			fmt.Fprintf(e.Stdout, "re-sealing under key %d%s: %d/%d rows (%.0f%%) [%s]\n", p.ToKey, resumed, p.Done, p.Total, pct, p.Table)
		}
	})
	if err != nil {
		return err
	}
	return nil
}

// dbParseAge parses 7y, 400d or a Go duration.
func dbParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "y"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v <= 0 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(v) * 365 * 24 * time.Hour, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v <= 0 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(v) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("bad duration %q: want e.g. 7y, 400d or 72h", s)
	}
	return d, nil
}

func runPurge(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) != 0 {
		return usagef("takes no arguments")
	}
	age, err := dbParseAge(fs.Lookup("older-than").Value.String())
	if err != nil {
		return usagef("--older-than: %v", err)
	}
	reason := fs.Lookup("reason").Value.String()
	if strings.TrimSpace(reason) == "" {
		return usagef("--reason is required (it goes into the audit log)")
	}
	db, err := dbOpen(ctx, e)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := db.Purge(ctx, dbActor(reason), localdb.PurgePolicy{Window: age, DryRun: fs.Lookup("dry-run").Value.String() == "true"})
	if err != nil {
		return err
	}
	return dbPrintJSON(e, rep)
}
