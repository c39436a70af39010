package localdb

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// ApplicationID is the SQLite application_id of an Examlane lane database
// ("EXLN"); a database file with another id is refused.
const ApplicationID = 0x45584c4e

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads migrations/NNN_name.sql from fsys, in order. Numbers
// must run 1, 2, 3... without gaps.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := path.Base(n)
		num, name, ok := strings.Cut(strings.TrimSuffix(base, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("localdb: migration %s: want NNN_name.sql", base)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("localdb: migrations: want version %d, found %d (%s)", i+1, m.version, m.name)
		}
	}
	return ms, nil
}

// SchemaVersion is the schema version this build creates and reads.
var SchemaVersion = func() int {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		panic(err) // the embedded migrations are part of the build
	}
	return len(ms)
}()

// migrate brings the database to the newest schema in one immediate
// transaction: every pending migration, the schema_migrations records, the
// user_version and application_id, then a foreign key check. A database
// from a newer Examlane is refused before anything is written.
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS, now int64) (from, to int, err error) {
	ms, err := loadMigrations(fsys)
	if err != nil {
		return 0, 0, err
	}
	tx, err := db.BeginTx(ctx, nil) // _txlock=immediate: takes the write lock now
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&from); err != nil {
		return 0, 0, err
	}
	if from > len(ms) {
		return from, from, &SchemaError{Found: from, Supported: len(ms)}
	}
	if from == len(ms) {
		return from, from, nil
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return from, from, err
	}
	for _, m := range ms[from:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return from, from, fmt.Errorf("localdb: migration %03d_%s: %w", m.version, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, now); err != nil {
			return from, from, err
		}
	}
	to = len(ms)
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", to)); err != nil {
		return from, from, err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", ApplicationID)); err != nil {
		return from, from, err
	}
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return from, from, err
	}
	bad := rows.Next()
	rows.Close()
	if bad {
		return from, from, fmt.Errorf("localdb: migration to %d leaves foreign key violations", to)
	}
	if err := tx.Commit(); err != nil {
		return from, from, err
	}
	return from, to, nil
}

// SchemaError reports a database written by a newer Examlane.
type SchemaError struct {
	Found, Supported int
}

// Error says what to do.
func (e *SchemaError) Error() string {
	return fmt.Sprintf("database schema version %d is newer than this Examlane supports (%d): install the newer Examlane; the database was not changed", e.Found, e.Supported)
}
