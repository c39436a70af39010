package localdb

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb/seal"
)

// FileName is the database file's name inside a data directory.
const FileName = "examlane.db"

// Config says how to open a lane database.
type Config struct {
	// Path is the database file, normally DIR/examlane.db.
	Path string
	// Tenant is the practice the database belongs to; it is bound into
	// every sealed value. Empty: the tenant recorded at creation ("default"
	// for a new database).
	Tenant string
	// Clock tells the time (lane.SystemClock when nil).
	Clock lane.Clock
	// Keychain keeps the key-encryption key (nil or unreachable: see the
	// passphrase fallback).
	Keychain lane.Secrets
	// PassphraseFallback is the practice's policy allowing a
	// passphrase-derived key where no keychain is reachable.
	PassphraseFallback bool
	// Passphrase is asked for the practice passphrase when one is needed.
	Passphrase func() ([]byte, error)
	// TestPassphrase says Passphrase is the explicit test mode's
	// passphrase (EXAMLANE_TEST_MODE=1); it is accepted without
	// PassphraseFallback and the mode is reported as test-passphrase.
	TestPassphrase bool
	// KDF overrides the Argon2id parameters of a new passphrase key (nil:
	// seal.DefaultKDF()). Tests use small parameters.
	KDF *seal.KDFParams
	// RecoveryKey is the practice recovery public key; every data key is
	// also sealed to it. Nil leaves existing recovery wraps as they are.
	RecoveryKey *ecdh.PublicKey
	// NoCreate refuses to create a database that does not exist.
	NoCreate bool
	// CheckpointEvery is how many audit events separate signed checkpoints
	// (default 100).
	CheckpointEvery int
	// ReadConns is the size of the read pool (default 4).
	ReadConns int
	// UnsafeNoSeal stores values unencrypted. It exists only for the
	// benchmarks that measure the cost of sealing; a database created with
	// it refuses to open without it and the reverse.
	UnsafeNoSeal bool
}

func (cfg Config) withDefaults() Config {
	if cfg.Clock == nil {
		cfg.Clock = lane.SystemClock{}
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = 100
	}
	if cfg.ReadConns <= 0 {
		cfg.ReadConns = 4
	}
	return cfg
}

// DB is an open lane database. It implements lane.Store and lane.SyncStore
// and is safe for concurrent use: writes go through one connection, one
// transaction at a time; reads use a pool.
type DB struct {
	path   string
	dbID   string
	tenant string
	clock  lane.Clock
	w      *sql.DB // the one writer connection
	r      *sql.DB // read pool
	rs     readStmts
	keys   *seal.Keyring
	kek    seal.Key
	source KeySource
	cfg    Config

	signPriv ed25519.PrivateKey
	signPub  ed25519.PublicKey

	names nameCache

	closeOnce sync.Once
}

var (
	_ lane.Store     = (*DB)(nil)
	_ lane.SyncStore = (*DB)(nil)
	// The optional interfaces syncclient looks for.
	_ interface {
		PendingCount(ctx context.Context) (int, error)
		ApplyRemoteImage(ctx context.Context, img lane.Image, data []byte, serverID, serverVersion string) error
	} = (*DB)(nil)
)

// Errors of opening and writing a database. Each reads as a sentence a
// person can act on and wraps a lane sentinel for decisions
// (errors.Is(err, lane.ErrUnavailable) ...).
var (
	// ErrNoDatabase: the file does not exist and Config.NoCreate is set.
	ErrNoDatabase error = &kindError{"no lane database here", lane.ErrNotFound}
	// ErrNotExamlane: the file is not an Examlane database (another
	// program's SQLite file or not SQLite at all); it was not changed.
	ErrNotExamlane error = &kindError{"not an Examlane database (the file was left unchanged)", lane.ErrInvalid}
	// ErrCorrupt: SQLite reports the file damaged.
	ErrCorrupt error = &kindError{"the database file is damaged: run 'examlane db check', then restore the latest backup with 'examlane db restore' into an empty data directory", lane.ErrInvalid}
	// ErrDiskFull: the disk (or the database's size limit) is full; the
	// change was not saved.
	ErrDiskFull error = &kindError{"the disk is full: the change was not saved; free space and try again", lane.ErrUnavailable}
	// ErrReadOnly: the database or its directory cannot be written.
	ErrReadOnly error = &kindError{"the data directory or database file is read-only: the change was not saved", lane.ErrUnavailable}
	// ErrClosed: the DB was closed.
	ErrClosed error = &kindError{"the database is closed", lane.ErrUnavailable}
)

var (
	errCantOpen error = &kindError{"cannot open the database file: is the data directory missing or read-only?", lane.ErrUnavailable}
	errIO       error = &kindError{"disk input/output error: the change was not saved", lane.ErrUnavailable}
	errBusy     error = &kindError{"the database is busy: another Examlane process holds it", lane.ErrUnavailable}
)

// kindError is a sentinel with its own words that classifies as a lane
// sentinel.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// fileURI returns a SQLite file: URI for path with the given query.
func fileURI(path, query string) string {
	p := filepath.ToSlash(path)
	if runtime.GOOS == "windows" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return "file:" + (&url.URL{Path: p}).EscapedPath() + "?" + query
}

const commonPragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=secure_delete(1)&_pragma=temp_store(2)"

func writerDSN(path string) string {
	return fileURI(path, commonPragmas+"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
}

func readerDSN(path string) string {
	return fileURI(path, commonPragmas+"&_pragma=synchronous(FULL)&_pragma=query_only(1)&_txlock=deferred")
}

// sqliteHeader is what the first 100 bytes of a database file say.
type sqliteHeader struct {
	appID, userVersion uint32
}

// inspect looks at an existing file without letting SQLite write to it, so
// that a foreign or damaged file is refused unchanged. It returns fresh=true
// for a missing or empty file, or a file whose creation never committed.
func inspect(path string) (fresh bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, classify(err)
	}
	defer f.Close()
	hdr := make([]byte, 100)
	n, err := io.ReadFull(f, hdr)
	switch {
	case n == 0:
		return true, nil
	case err != nil || string(hdr[:16]) != "SQLite format 3\x00":
		return false, fmt.Errorf("%s: not a SQLite database or its header is damaged: %w", path, ErrNotExamlane)
	}
	h := sqliteHeader{appID: binary.BigEndian.Uint32(hdr[68:]), userVersion: binary.BigEndian.Uint32(hdr[60:])}
	tables := -1
	if h.appID != ApplicationID {
		// The header in the main file may be stale: in WAL mode page 1 is
		// updated there only at checkpoint, so a crash right after the
		// first commit leaves application_id 0 in the file and the real
		// page 1 in the WAL. Ask SQLite, read-only.
		if h, tables, err = probe(path); err != nil {
			return false, fmt.Errorf("%s: %w", path, classify(err))
		}
	}
	switch {
	case h.appID == ApplicationID:
		if int(h.userVersion) > SchemaVersion {
			return false, &SchemaError{Found: int(h.userVersion), Supported: SchemaVersion}
		}
		return false, nil
	case h.appID != 0:
		return false, fmt.Errorf("%s: SQLite application id %#x: %w", path, h.appID, ErrNotExamlane)
	case tables > 0:
		return false, fmt.Errorf("%s: SQLite database of another program (%d schema objects): %w", path, tables, ErrNotExamlane)
	}
	return true, nil // an empty database: a creation that never committed
}

// probe reads application_id, user_version and the number of schema objects
// through a read-only connection (which sees committed WAL content).
func probe(path string) (sqliteHeader, int, error) {
	var h sqliteHeader
	ro, err := sql.Open("sqlite", fileURI(path, "mode=ro&_pragma=query_only(1)"))
	if err != nil {
		return h, 0, err
	}
	defer ro.Close()
	var tables int
	if err := ro.QueryRow("PRAGMA application_id").Scan(&h.appID); err != nil {
		return h, 0, err
	}
	if err := ro.QueryRow("PRAGMA user_version").Scan(&h.userVersion); err != nil {
		return h, 0, err
	}
	if err := ro.QueryRow("SELECT count(*) FROM sqlite_master").Scan(&tables); err != nil {
		return h, 0, err
	}
	return h, tables, nil
}

// Open opens (creating when allowed) the lane database at cfg.Path, unlocks
// its keys and returns it ready for use. Errors name the problem in words:
// ErrNoDatabase, ErrNotExamlane, ErrCorrupt, *SchemaError, ErrReadOnly,
// ErrKeyMissing, ErrNoKeySource, seal.ErrWrongKey (wrapping
// lane.ErrUnauthenticated).
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Path == "" {
		return nil, lane.Invalidf("localdb: open: no path")
	}
	cfg = cfg.withDefaults()
	fresh, err := inspect(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("localdb: open: %w", err)
	}
	if fresh {
		if cfg.NoCreate {
			return nil, fmt.Errorf("localdb: open %s: %w", cfg.Path, ErrNoDatabase)
		}
		if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
			return nil, fmt.Errorf("localdb: create data directory: %w", classify(err))
		}
	}
	db := &DB{path: cfg.Path, clock: cfg.Clock, cfg: cfg}
	db.w, err = sql.Open("sqlite", writerDSN(cfg.Path))
	if err != nil {
		return nil, fmt.Errorf("localdb: open: %w", err)
	}
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxLifetime(0)
	db.w.SetConnMaxIdleTime(0)
	if err := db.w.PingContext(ctx); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("localdb: open %s: %w", cfg.Path, classify(err))
	}
	if _, _, err := migrate(ctx, db.w, migrationFS, db.now()); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("localdb: open %s: %w", cfg.Path, classify(err))
	}
	db.r, err = sql.Open("sqlite", readerDSN(cfg.Path))
	if err != nil {
		db.w.Close()
		return nil, err
	}
	db.r.SetMaxOpenConns(cfg.ReadConns)
	db.r.SetMaxIdleConns(cfg.ReadConns)
	if err := db.unlock(ctx); err != nil {
		db.Close()
		if fresh {
			// Nothing was there before: leave nothing behind, so that a
			// retry (with a keychain, or the passphrase allowed) starts
			// clean.
			for _, p := range []string{cfg.Path, cfg.Path + "-wal", cfg.Path + "-shm"} {
				_ = os.Remove(p)
			}
		}
		return nil, fmt.Errorf("localdb: open %s: %w", cfg.Path, err)
	}
	return db, nil
}

// Close closes the database. It checkpoints the WAL into the main file
// first (best effort).
func (db *DB) Close() error {
	var err error
	db.closeOnce.Do(func() {
		db.DropCaches()
		db.rs.close()
		if db.r != nil {
			db.r.Close()
		}
		if db.w != nil {
			_, _ = db.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
			err = db.w.Close()
		}
	})
	return err
}

// Path returns the database file.
func (db *DB) Path() string { return db.path }

// ID returns the database's random id (the keychain item is named after it).
func (db *DB) ID() string { return db.dbID }

// Tenant returns the practice the database belongs to.
func (db *DB) Tenant() string { return db.tenant }

func (db *DB) now() int64 { return db.clock.Now().UnixMilli() }

// classify translates driver and OS errors into the package's errors with
// words, keeping the original for %v.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_FULL:
			return fmt.Errorf("%w (%v)", ErrDiskFull, err)
		case sqlite3.SQLITE_READONLY:
			return fmt.Errorf("%w (%v)", ErrReadOnly, err)
		case sqlite3.SQLITE_CANTOPEN:
			return fmt.Errorf("%w (%v)", errCantOpen, err)
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return fmt.Errorf("%w (%v)", ErrCorrupt, err)
		case sqlite3.SQLITE_IOERR:
			if strings.Contains(strings.ToLower(err.Error()), "short read") {
				return fmt.Errorf("%w (%v)", ErrCorrupt, err)
			}
			return fmt.Errorf("%w (%v)", errIO, err)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w (%v)", errBusy, err)
		}
		return err
	}
	switch {
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%w (%v)", ErrReadOnly, err)
	case isNoSpace(err):
		return fmt.Errorf("%w (%v)", ErrDiskFull, err)
	}
	return err
}

// fsyncDir makes a rename in dir durable.
func fsyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && runtime.GOOS != "windows" {
		return err
	}
	return nil
}

// timeMs converts a unix-millisecond column.
func timeMs(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
