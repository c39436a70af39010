package localdb

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/examlane/examlane/lane"
)

func openInternal(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), Config{Path: filepath.Join(t.TempDir(), FileName), UnsafeNoSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestWriteTxReusesStatements: a write transaction prepares each distinct
// statement once and reuses it with new arguments, across savepoints, and
// the statements end with the transaction.
func TestWriteTxReusesStatements(t *testing.T) {
	ctx := context.Background()
	db := openInternal(t)
	const (
		put = `INSERT INTO watermarks(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`
		get = `SELECT v FROM watermarks WHERE k = ?`
	)
	var kept *wtx
	err := db.write(ctx, func(tx *wtx) error {
		kept = tx
		for i := range 20 {
			k, v := "k"+strconv.Itoa(i%3), "v"+strconv.Itoa(i)
			if _, err := tx.ExecContext(ctx, put, k, v); err != nil {
				return err
			}
			var got string
			if err := tx.QueryRowContext(ctx, get, k).Scan(&got); err != nil {
				return err
			}
			if got != v {
				t.Errorf("round %d: read %q after writing %q", i, got, v)
			}
		}
		// a savepoint rolled back through the same statements
		for _, q := range []string{`SAVEPOINT s`, put, `ROLLBACK TO s`, `RELEASE s`} {
			args := []any{}
			if q == put {
				args = []any{"k0", "rolled back"}
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		var got string
		if err := tx.QueryRowContext(ctx, get, "k0").Scan(&got); err != nil {
			return err
		}
		if got != "v18" {
			t.Errorf("after ROLLBACK TO: k0 = %q, want v18", got)
		}
		// no row: the statement is reset and usable again
		if err := tx.QueryRowContext(ctx, get, "absent").Scan(&got); !noRows(err) {
			t.Errorf("absent key: %v, want no rows", err)
		}
		if err := tx.QueryRowContext(ctx, get, "k1").Scan(&got); err != nil || got != "v19" {
			t.Errorf("k1 = %q, %v; want v19", got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(kept.stmts); n != 5 {
		t.Errorf("%d statements prepared, want 5 (put, get and the three savepoint statements): %v", n, kept.stmts)
	}
	if _, err := kept.stmts[put].ExecContext(ctx, "k9", "late"); err == nil {
		t.Error("a statement of a committed transaction still runs")
	}
	if v, err := db.Watermark(ctx, "k2"); err != nil || v != "v17" {
		t.Errorf("committed k2 = %q, %v; want v17", v, err)
	}
}

// TestWriteTxBadStatement: a statement that does not prepare fails the same
// way through Exec and QueryRow, and is not cached.
func TestWriteTxBadStatement(t *testing.T) {
	ctx := context.Background()
	db := openInternal(t)
	err := db.write(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO no_such_table VALUES (1)`); err == nil {
			t.Error("exec on a missing table succeeded")
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT n FROM no_such_table`).Scan(&n); err == nil {
			t.Error("query on a missing table succeeded")
		}
		if len(tx.stmts) != 0 {
			t.Errorf("failed statements cached: %v", tx.stmts)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadStmts: the read pool's prepared lookups answer concurrent callers
// correctly, and fail (without panicking) once the database is closed.
func TestReadStmts(t *testing.T) {
	ctx := context.Background()
	db := openInternal(t)
	const n = 50
	err := db.write(ctx, func(tx *wtx) error {
		for i := range n {
			if err := tx.setServerRef("Patient", "p"+strconv.Itoa(i), "srv-"+strconv.Itoa(i), strconv.Itoa(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				id, err := db.LocalID(ctx, "Patient", "srv-"+strconv.Itoa(i))
				if err != nil || id != "p"+strconv.Itoa(i) {
					t.Errorf("LocalID srv-%d = %q, %v", i, id, err)
				}
				sid, sv, err := db.ServerRef(ctx, "Patient", "p"+strconv.Itoa(i))
				if err != nil || sid != "srv-"+strconv.Itoa(i) || sv != strconv.Itoa(i) {
					t.Errorf("ServerRef p%d = %q@%q, %v", i, sid, sv, err)
				}
			}
		})
	}
	wg.Wait()
	if _, err := db.LocalID(ctx, "Patient", "srv-none"); !errors.Is(err, lane.ErrNotFound) {
		t.Errorf("unknown server id: %v, want not found", err)
	}
	db.Close()
	if _, err := db.LocalID(ctx, "Patient", "srv-1"); err == nil {
		t.Error("LocalID after Close succeeded")
	}
	if _, _, err := db.ServerRef(ctx, "Patient", "p1"); err == nil {
		t.Error("ServerRef after Close succeeded")
	}
}
