package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// schemaVersion is the version of the schema below, kept in meta.
const schemaVersion = "2"

// upgrades bring an older database to the next version: upgrades[v] runs on
// a database of version v (in one transaction with the version bump).
var upgrades = map[string][]string{
	"1": authSchema, // sign-in: credentials state and login attempts
}

// schema is the whole database. Timestamps are Unix milliseconds (UTC).
//
// resources indexes the current version of every FHIR resource; its seq is
// the resource_history row holding that version's JSON (bodies are stored
// once, in history), and (last_updated, seq) is a unique, commit-ordered key
// for paging. resource_tokens holds multi-valued
// search keys: identifiers (param "identifier", system, value) and
// Appointment actors (param "actor", value "Location/<id>").
var schema = []string{
	`CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS tenants(
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL,
		created INTEGER NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS resources(
		tenant TEXT NOT NULL,
		type TEXT NOT NULL,
		id TEXT NOT NULL,
		version INTEGER NOT NULL,
		last_updated INTEGER NOT NULL,
		seq INTEGER NOT NULL,
		deleted INTEGER NOT NULL DEFAULT 0,
		patient TEXT,
		date INTEGER,
		PRIMARY KEY(tenant, type, id))`,
	`CREATE INDEX IF NOT EXISTS resources_updated ON resources(tenant, type, last_updated, seq)`,
	`CREATE INDEX IF NOT EXISTS resources_patient ON resources(tenant, type, patient, last_updated, seq)`,
	`CREATE INDEX IF NOT EXISTS resources_date ON resources(tenant, type, date)`,
	`CREATE TABLE IF NOT EXISTS resource_history(
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		tenant TEXT NOT NULL,
		type TEXT NOT NULL,
		id TEXT NOT NULL,
		version INTEGER NOT NULL,
		last_updated INTEGER NOT NULL,
		method TEXT NOT NULL CHECK(method IN ('POST','PUT','DELETE')),
		deleted INTEGER NOT NULL DEFAULT 0,
		body BLOB,
		by_user TEXT NOT NULL DEFAULT '',
		by_lane TEXT NOT NULL DEFAULT '',
		UNIQUE(tenant, type, id, version))`,
	`CREATE INDEX IF NOT EXISTS history_type ON resource_history(tenant, type, seq)`,
	`CREATE INDEX IF NOT EXISTS history_tenant ON resource_history(tenant, seq)`,
	`CREATE TABLE IF NOT EXISTS resource_tokens(
		tenant TEXT NOT NULL,
		type TEXT NOT NULL,
		id TEXT NOT NULL,
		param TEXT NOT NULL,
		system TEXT NOT NULL,
		value TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS tokens_value ON resource_tokens(tenant, type, param, value, system)`,
	`CREATE INDEX IF NOT EXISTS tokens_resource ON resource_tokens(tenant, type, id)`,
	`CREATE TABLE IF NOT EXISTS idempotency(
		tenant TEXT NOT NULL,
		type TEXT NOT NULL,
		key TEXT NOT NULL,
		id TEXT NOT NULL,
		created INTEGER NOT NULL,
		PRIMARY KEY(tenant, type, key))`,
	`CREATE TABLE IF NOT EXISTS enrol_codes(
		code_hash BLOB PRIMARY KEY,
		code_id TEXT NOT NULL,
		tenant TEXT NOT NULL REFERENCES tenants(id),
		location TEXT NOT NULL,
		lane_name TEXT NOT NULL,
		secret BLOB,
		created INTEGER NOT NULL,
		expires INTEGER NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0,
		used INTEGER,
		burned INTEGER,
		lane_id TEXT)`,
	`CREATE INDEX IF NOT EXISTS enrol_codes_id ON enrol_codes(code_id, expires)`,
	`CREATE TABLE IF NOT EXISTS lanes(
		id TEXT PRIMARY KEY,
		tenant TEXT NOT NULL REFERENCES tenants(id),
		location TEXT NOT NULL,
		name TEXT NOT NULL,
		serial TEXT NOT NULL,
		cert BLOB NOT NULL,
		issued INTEGER NOT NULL,
		not_after INTEGER NOT NULL,
		revoked INTEGER)`,
	`CREATE TABLE IF NOT EXISTS staff(
		tenant TEXT NOT NULL REFERENCES tenants(id),
		id TEXT NOT NULL,
		login TEXT,
		display_name TEXT NOT NULL,
		roles TEXT NOT NULL,
		locations TEXT NOT NULL DEFAULT '',
		disabled INTEGER NOT NULL DEFAULT 0,
		password_hash BLOB,
		totp_secret BLOB,
		created INTEGER NOT NULL,
		updated INTEGER NOT NULL,
		PRIMARY KEY(tenant, id),
		UNIQUE(tenant, login))`,
	`CREATE TABLE IF NOT EXISTS dicom_instances(
		tenant TEXT NOT NULL REFERENCES tenants(id),
		study_uid TEXT NOT NULL,
		series_uid TEXT NOT NULL,
		sop_uid TEXT NOT NULL,
		sop_class TEXT NOT NULL,
		transfer_syntax TEXT NOT NULL,
		patient_id TEXT NOT NULL DEFAULT '',
		modality TEXT NOT NULL DEFAULT '',
		study_date TEXT NOT NULL DEFAULT '',
		laterality TEXT NOT NULL DEFAULT '',
		size INTEGER NOT NULL,
		sha256 BLOB NOT NULL,
		data BLOB NOT NULL,
		stored INTEGER NOT NULL,
		by_lane TEXT NOT NULL DEFAULT '',
		PRIMARY KEY(tenant, sop_uid))`,
	`CREATE INDEX IF NOT EXISTS dicom_study ON dicom_instances(tenant, study_uid, series_uid)`,
	`CREATE INDEX IF NOT EXISTS dicom_patient ON dicom_instances(tenant, patient_id)`,
}

// authSchema is the sign-in state added in schema version 2. staff keeps
// the password hash (PHC string) and the sealed TOTP secret; staff_auth
// the last accepted TOTP step (replay protection) and whether the password
// is a temporary one; login_attempts the consecutive failures per typed
// login (known or not, so that lockout answers never reveal which logins
// exist).
var authSchema = []string{
	`CREATE TABLE IF NOT EXISTS staff_auth(
		tenant TEXT NOT NULL,
		id TEXT NOT NULL,
		totp_last_step INTEGER NOT NULL DEFAULT 0,
		temporary INTEGER NOT NULL DEFAULT 0,
		changed INTEGER NOT NULL,
		PRIMARY KEY(tenant, id),
		FOREIGN KEY(tenant, id) REFERENCES staff(tenant, id))`,
	`CREATE TABLE IF NOT EXISTS login_attempts(
		tenant TEXT NOT NULL,
		login TEXT NOT NULL,
		failures INTEGER NOT NULL,
		last_failure INTEGER NOT NULL,
		locked INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY(tenant, login))`,
}

// dbFile is the database's file name inside the data directory.
const dbFile = "practiced.db"

// store is the SQLite database: one writer connection (writes are
// serialised in this process and BEGIN IMMEDIATE across processes) and a
// small read-only pool.
type store struct {
	w, r *sql.DB

	mu        sync.Mutex
	lastStamp int64 // last write timestamp handed out, Unix ms
}

// dsn builds a modernc.org/sqlite DSN with the pragmas every connection
// needs (security.md §5.4).
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// openStore opens (creating when create is set) the database at path.
func openStore(ctx context.Context, path string, create bool) (*store, error) {
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	s := &store{w: w}
	if err := s.migrate(ctx, create); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	r.SetMaxOpenConns(4)
	s.r = r
	var last sql.NullInt64
	if err := w.QueryRowContext(ctx, `SELECT max(last_updated) FROM resource_history`).Scan(&last); err != nil {
		s.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	s.lastStamp = last.Int64
	return s, nil
}

// migrate creates the schema (create) or checks that it is there.
func (s *store) migrate(ctx context.Context, create bool) error {
	if !create {
		var v string
		err := s.w.QueryRowContext(ctx, `SELECT value FROM meta WHERE key='schema'`).Scan(&v)
		if err != nil {
			return fmt.Errorf("open database: not a practiced database (run practiced init): %w", err)
		}
		for v != schemaVersion {
			steps, ok := upgrades[v]
			if !ok {
				return fmt.Errorf("open database: schema version %s, this practiced knows %s", v, schemaVersion)
			}
			next, err := s.upgrade(ctx, v, steps)
			if err != nil {
				return err
			}
			v = next
		}
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	defer tx.Rollback()
	for _, q := range append(append([]string(nil), schema...), authSchema...) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO meta(key, value) VALUES('schema', ?)`, schemaVersion); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	return tx.Commit()
}

// upgrade runs the statements that take a database from version v to the
// next one and records the new version, in one transaction.
func (s *store) upgrade(ctx context.Context, v string, steps []string) (string, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return v, fmt.Errorf("open database: schema version %q", v)
	}
	next := strconv.Itoa(n + 1)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return v, fmt.Errorf("upgrade schema: %w", err)
	}
	defer tx.Rollback()
	for _, q := range steps {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return v, fmt.Errorf("upgrade schema %s→%s: %w", v, next, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE meta SET value=? WHERE key='schema' AND value=?`, next, v); err != nil {
		return v, fmt.Errorf("upgrade schema: %w", err)
	}
	return next, tx.Commit()
}

// Close closes both pools, checkpointing the WAL first.
func (s *store) Close() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		_, _ = s.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// stamp returns the timestamp for a write that has just taken the write
// lock: the clock in milliseconds, never earlier than the previous stamp,
// so that lastUpdated follows commit order.
func (s *store) stamp(now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := now.UnixMilli()
	if ms < s.lastStamp {
		ms = s.lastStamp
	}
	s.lastStamp = ms
	return time.UnixMilli(ms).UTC()
}

// write runs fn in one write transaction (BEGIN IMMEDIATE) and commits it.
func (s *store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", unavailable(err))
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", unavailable(err))
	}
	return nil
}

// read runs fn in one read-only transaction, so that several queries see
// one snapshot.
func (s *store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read: %w", unavailable(err))
	}
	defer tx.Rollback()
	return fn(tx)
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}
