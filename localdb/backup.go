package localdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
)

// Backup writes a consistent copy of the open database to dst while the
// lane keeps working (SQLite VACUUM INTO reads one snapshot). The copy holds
// everything: records, outbox, audit log, and the wrapped keys with the
// key-encryption key's description, so it opens with the same keychain or
// passphrase, or after 'db recover' with the practice recovery key. Values
// stay sealed in the copy. The file is written beside dst, fsynced and
// renamed into place; dst must not exist. The backup is audited.
func (db *DB) Backup(ctx context.Context, by lane.Actor, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("localdb: backup: %s already exists: %w", dst, lane.ErrInvalid)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("localdb: backup: %w", classify(err))
	}
	tmp := dst + ".partial"
	_ = os.Remove(tmp)
	// A connection of its own: VACUUM INTO writes a file, which the
	// query-only read pool refuses.
	c, err := sql.Open("sqlite", fileURI(db.path, commonPragmas))
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("localdb: backup: %w", classify(err))
	}
	if err := syncFile(tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("localdb: backup: %w", classify(err))
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("localdb: backup: %w", classify(err))
	}
	if err := fsyncDir(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("localdb: backup: %w", classify(err))
	}
	if by.User == "" {
		by.User = "system"
	}
	return db.write(ctx, func(tx *wtx) error {
		return tx.audit(lane.AuditEvent{User: by.User, Role: by.PrimaryRole(), Lane: by.Lane, Action: lane.AuditBackup,
			Entity: "Backup", Detail: "backup written to " + filepath.Base(dst)})
	})
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Restore copies backup file src into dataDir as the lane database. dataDir
// must hold no database (restoring never overwrites data); src must be an
// Examlane database of this or an older schema that passes SQLite's
// integrity check. The restored database opens with the keychain or
// passphrase it was made with, or after Recover with the recovery key.
func Restore(ctx context.Context, src, dataDir string) error {
	dst := filepath.Join(dataDir, FileName)
	for _, p := range []string{dst, dst + "-wal", dst + "-shm"} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("localdb: restore: %s already holds a database; restore only into an empty data directory: %w", dataDir, lane.ErrInvalid)
		}
	}
	fresh, err := inspect(src)
	if err != nil {
		return fmt.Errorf("localdb: restore: %w", err)
	}
	if fresh {
		return fmt.Errorf("localdb: restore: %s is empty: %w", src, ErrNotExamlane)
	}
	ro, err := sql.Open("sqlite", fileURI(src, "mode=ro&_pragma=query_only(1)"))
	if err != nil {
		return err
	}
	var ic string
	err = ro.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&ic)
	var tables int
	if err == nil {
		err = ro.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name IN ('meta', 'kek', 'keys', 'audit_log')`).Scan(&tables)
	}
	ro.Close()
	if err != nil {
		return fmt.Errorf("localdb: restore: %s: %w", src, classify(err))
	}
	if ic != "ok" {
		return fmt.Errorf("localdb: restore: %s fails the integrity check (%s): %w", src, ic, ErrCorrupt)
	}
	if tables != 4 {
		return fmt.Errorf("localdb: restore: %s lacks the lane tables: %w", src, ErrNotExamlane)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("localdb: restore: %w", classify(err))
	}
	tmp := dst + ".restoring"
	if err := copyFile(src, tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("localdb: restore: %w", classify(err))
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("localdb: restore: %w", classify(err))
	}
	return fsyncDir(dataDir)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// CheckReport is the result of Check.
type CheckReport struct {
	Integrity   string   // "ok" or SQLite's first problems
	ForeignKeys []string // violations as "table rowid -> parent"
	Audit       ChainReport
	// SealedChecked is how many sealed values were opened; SealedFailed
	// names those that did not authenticate.
	SealedChecked int
	SealedFailed  []string
}

// OK reports whether every check passed.
func (r CheckReport) OK() bool {
	return r.Integrity == "ok" && len(r.ForeignKeys) == 0 && r.Audit.OK() && len(r.SealedFailed) == 0
}

// Check runs SQLite's integrity_check and foreign_key_check, verifies the
// whole audit chain, and opens a sample of sealed values of every table
// (up to sample rows each; all of them when sample <= 0).
func (db *DB) Check(ctx context.Context, sample int) (CheckReport, error) {
	var rep CheckReport
	problems, err := queryStrings(ctx, db.r, `PRAGMA integrity_check(20)`)
	if err != nil {
		return rep, err
	}
	rep.Integrity = strings.Join(problems, "; ")
	rows, err := db.r.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return rep, classify(err)
	}
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			rows.Close()
			return rep, err
		}
		rep.ForeignKeys = append(rep.ForeignKeys, fmt.Sprintf("%s row %d -> %s", table, rowid.Int64, parent))
	}
	rows.Close()
	if rep.Audit, err = db.VerifyAudit(ctx); err != nil {
		return rep, err
	}
	limit := ""
	if sample > 0 {
		limit = fmt.Sprintf(" ORDER BY random() LIMIT %d", sample)
	}
	tables := append(append([]sealedTable{}, sealedTables...),
		sealedTable{name: "audit_log", rowID: "id", cols: []sealedCol{{"detail", "0"}}})
	for _, t := range tables {
		sel := []string{t.rowID}
		for _, c := range t.cols {
			sel = append(sel, c.name, c.version)
		}
		rows, err := db.r.QueryContext(ctx, `SELECT `+strings.Join(sel, ", ")+` FROM `+t.name+limit)
		if err != nil {
			return rep, classify(err)
		}
		for rows.Next() {
			var id string
			vals := make([][]byte, len(t.cols))
			vers := make([]int64, len(t.cols))
			dest := []any{&id}
			for i := range t.cols {
				dest = append(dest, &vals[i], &vers[i])
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return rep, err
			}
			for i, c := range t.cols {
				if vals[i] == nil {
					continue
				}
				rep.SealedChecked++
				if _, err := db.keys.Open(db.aad(t.name, id, c.name, vers[i]), vals[i]); err != nil {
					rep.SealedFailed = append(rep.SealedFailed, fmt.Sprintf("%s/%s.%s", t.name, id, c.name))
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return rep, classify(err)
		}
	}
	return rep, nil
}

// Stats are counts of what the database holds, as `db stats` prints them.
type Stats struct {
	Path           string         `json:"path"`
	SchemaVersion  int            `json:"schema_version"`
	Tenant         string         `json:"tenant"`
	KeySource      KeySource      `json:"key_source"`
	KeySourceText  string         `json:"key_source_text"`
	CurrentKey     uint32         `json:"current_key"`
	Keys           int            `json:"keys"`
	RecoveryKey    string         `json:"recovery_key_fingerprint"`
	RotationActive bool           `json:"rotation_pending"`
	Tables         map[string]int `json:"tables"`
	OutboxPending  int            `json:"outbox_pending"`
	OutboxParked   int            `json:"outbox_parked"`
	Conflicts      int            `json:"conflicts_open"`
	AuditEvents    int            `json:"audit_events"`
	FileBytes      int64          `json:"file_bytes"`
	WALBytes       int64          `json:"wal_bytes"`
}

// Stats counts rows per table and reports key and sync state.
func (db *DB) Stats(ctx context.Context) (Stats, error) {
	s := Stats{Path: db.path, SchemaVersion: SchemaVersion, Tenant: db.tenant, KeySource: db.source,
		KeySourceText: db.source.Describe(), CurrentKey: db.keys.Current(), Keys: len(db.keys.IDs()), Tables: map[string]int{}}
	names := []string{"patients", "appointments", "encounters", "measurements", "prescriptions", "images", "image_chunks",
		"annotations", "captures", "users", "outbox", "audit_log", "audit_checkpoints", "conflicts", "tombstones", "sync_refs", "watermarks"}
	for _, n := range names {
		var c int
		if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM `+n).Scan(&c); err != nil {
			return s, classify(err)
		}
		s.Tables[n] = c
	}
	q := func(query string, dst *int) error { return db.r.QueryRowContext(ctx, query).Scan(dst) }
	for query, dst := range map[string]*int{
		`SELECT count(*) FROM outbox WHERE parked = 0`:             &s.OutboxPending,
		`SELECT count(*) FROM outbox WHERE parked = 1`:             &s.OutboxParked,
		`SELECT count(*) FROM conflicts WHERE resolved_at IS NULL`: &s.Conflicts,
		`SELECT count(*) FROM audit_log`:                           &s.AuditEvents,
	} {
		if err := q(query, dst); err != nil {
			return s, classify(err)
		}
	}
	var err error
	if s.RecoveryKey, err = db.RecoveryFingerprint(ctx); err != nil {
		return s, err
	}
	if s.RotationActive, err = db.RotationPending(ctx); err != nil {
		return s, err
	}
	if fi, err := os.Stat(db.path); err == nil {
		s.FileBytes = fi.Size()
	}
	if fi, err := os.Stat(db.path + "-wal"); err == nil {
		s.WALBytes = fi.Size()
	}
	return s, nil
}

// BackupScheduler writes a backup of DB into Dir every Every and keeps the
// newest Keep backup files (named examlane-YYYYMMDDTHHMMSSmmmZ.db). It is a
// long-lived component: Run returns when ctx ends.
type BackupScheduler struct {
	DB    *DB
	Dir   string
	Every time.Duration
	Keep  int
	// Clock names backup files (lane.SystemClock when nil).
	Clock lane.Clock
	// OnError is told about a failed backup (the scheduler keeps going);
	// nil ignores failures.
	OnError func(error)
}

// Run backs up once at start and then every Every until ctx ends.
func (s *BackupScheduler) Run(ctx context.Context) error {
	if s.Every <= 0 {
		return lane.Invalidf("backup scheduler: no interval")
	}
	t := time.NewTicker(s.Every)
	defer t.Stop()
	for {
		if _, err := s.BackupNow(ctx); err != nil && s.OnError != nil && ctx.Err() == nil {
			s.OnError(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// BackupNow writes one backup and prunes old ones; it returns the new file.
func (s *BackupScheduler) BackupNow(ctx context.Context) (string, error) {
	clock := s.Clock
	if clock == nil {
		clock = lane.SystemClock{}
	}
	now := clock.Now().UTC()
	name := filepath.Join(s.Dir, fmt.Sprintf("examlane-%s%03dZ.db", now.Format("20060102T150405"), now.Nanosecond()/1e6))
	if err := s.DB.Backup(ctx, lane.Actor{User: "system"}, name); err != nil {
		return "", err
	}
	return name, PruneBackups(s.Dir, s.Keep)
}

// PruneBackups deletes all but the newest keep examlane-*.db backups in dir
// (keep <= 0 keeps all).
func PruneBackups(dir string, keep int) error {
	if keep <= 0 {
		return nil
	}
	names, err := filepath.Glob(filepath.Join(dir, "examlane-*.db"))
	if err != nil {
		return err
	}
	sort.Strings(names) // timestamps sort by time
	var errs []error
	for len(names) > keep {
		if err := os.Remove(names[0]); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		names = names[1:]
	}
	return errors.Join(errs...)
}
