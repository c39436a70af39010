package localdb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"testing/fstest"
)

func migrationDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", writerDSN(filepath.Join(t.TempDir(), "m.db")))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func version(t *testing.T, db *sql.DB) (uv int, recorded int) {
	t.Helper()
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&uv); err != nil {
		t.Fatal(err)
	}
	_ = db.QueryRow(`SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&recorded)
	return uv, recorded
}

func TestMigrationsRunInOrderOnce(t *testing.T) {
	ctx := context.Background()
	db := migrationDB(t)
	fs := fstest.MapFS{
		"migrations/001_first.sql":  {Data: []byte(`CREATE TABLE a(x INTEGER);`)},
		"migrations/002_second.sql": {Data: []byte(`ALTER TABLE a ADD COLUMN y TEXT; INSERT INTO a VALUES (1, 'one');`)},
	}
	from, to, err := migrate(ctx, db, fs, 1)
	if err != nil || from != 0 || to != 2 {
		t.Fatalf("migrate = %d→%d, %v", from, to, err)
	}
	if uv, rec := version(t, db); uv != 2 || rec != 2 {
		t.Fatalf("user_version %d, recorded %d", uv, rec)
	}
	// Again: nothing to do, the insert does not run twice.
	if _, _, err := migrate(ctx, db, fs, 2); err != nil {
		t.Fatal(err)
	}
	var n int
	_ = db.QueryRow(`SELECT count(*) FROM a`).Scan(&n)
	if n != 1 {
		t.Errorf("migration 2 ran %d times", n)
	}
	var app int
	_ = db.QueryRow(`PRAGMA application_id`).Scan(&app)
	if app != ApplicationID {
		t.Errorf("application_id = %#x", app)
	}
}

func TestFailedMigrationRollsBackWhole(t *testing.T) {
	ctx := context.Background()
	db := migrationDB(t)
	good := fstest.MapFS{"migrations/001_first.sql": {Data: []byte(`CREATE TABLE a(x INTEGER);`)}}
	if _, _, err := migrate(ctx, db, good, 1); err != nil {
		t.Fatal(err)
	}
	bad := fstest.MapFS{
		"migrations/001_first.sql":  good["migrations/001_first.sql"],
		"migrations/002_second.sql": {Data: []byte(`CREATE TABLE b(x); INSERT INTO b VALUES (1);`)},
		"migrations/003_broken.sql": {Data: []byte(`CREATE TABLE c(x); THIS IS NOT SQL;`)},
	}
	if _, _, err := migrate(ctx, db, bad, 2); err == nil {
		t.Fatal("broken migration succeeded")
	}
	if uv, rec := version(t, db); uv != 1 || rec != 1 {
		t.Fatalf("after failed migration user_version %d, recorded %d; want 1, 1", uv, rec)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name IN ('b', 'c')`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("tables of the failed upgrade left behind: %d %v", n, err)
	}
}

func TestNewerSchemaRefusedByMigrate(t *testing.T) {
	ctx := context.Background()
	db := migrationDB(t)
	if _, err := db.Exec(`PRAGMA user_version = 7`); err != nil {
		t.Fatal(err)
	}
	fs := fstest.MapFS{"migrations/001_first.sql": {Data: []byte(`CREATE TABLE a(x);`)}}
	_, _, err := migrate(ctx, db, fs, 1)
	var se *SchemaError
	if !errors.As(err, &se) || se.Found != 7 || se.Supported != 1 {
		t.Fatalf("migrate(newer) = %v", err)
	}
}

func TestMigrationNumbering(t *testing.T) {
	for name, fs := range map[string]fstest.MapFS{
		"gap":      {"migrations/001_a.sql": {}, "migrations/003_c.sql": {}},
		"unnumbed": {"migrations/first.sql": {}},
	} {
		if _, err := loadMigrations(fs); err == nil {
			t.Errorf("%s: loadMigrations accepted bad numbering", name)
		}
	}
	if SchemaVersion < 1 {
		t.Errorf("SchemaVersion = %d", SchemaVersion)
	}
}

// TestPragmas checks the connection settings the crash-safety argument
// rests on.
func TestPragmas(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Config{Path: filepath.Join(t.TempDir(), FileName), UnsafeNoSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for conn, want := range map[*sql.DB]map[string]string{
		db.w: {"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "secure_delete": "1", "busy_timeout": "10000", "query_only": "0"},
		db.r: {"synchronous": "2", "foreign_keys": "1", "query_only": "1"},
	} {
		for p, v := range want {
			var got string
			if err := conn.QueryRowContext(ctx, "PRAGMA "+p).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != v {
				t.Errorf("PRAGMA %s = %s, want %s", p, got, v)
			}
		}
	}
	if n := db.w.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool max = %d, want 1", n)
	}
}
