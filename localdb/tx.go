package localdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb/seal"
)

// wtx is a write transaction on the single writer connection. Functions
// queued with after run once it has committed.
//
// Its ExecContext and QueryRowContext prepare each distinct statement once
// per transaction and reuse it: modernc.org/sqlite parses every statement
// it is given as text anew, and a pulled page runs the same dozen
// statements for each of its hundreds of records (parsing them was nearly
// a third of the cost of applying the page). QueryContext is not cached: a
// caller may hold its rows open while running the same query again.
type wtx struct {
	*sql.Tx
	db    *DB
	ctx   context.Context
	after []func()
	// stmts holds the statements prepared in this transaction by their
	// text; database/sql closes them when the transaction ends.
	stmts map[string]*sql.Stmt
	// auditCount counts events appended in this transaction (tests).
	auditCount int
	// held, when set, collects audit events instead of appending them
	// (ApplyRemoteBatch appends one event per patient, entity and action).
	held *[]lane.AuditEvent
}

// write runs fn in one immediate transaction and commits it. Any error
// rolls everything back; the returned error is classified.
func (db *DB) write(ctx context.Context, fn func(tx *wtx) error) error {
	if db.w == nil {
		return ErrClosed
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return classify(err)
	}
	t := &wtx{Tx: tx, db: db, ctx: ctx}
	if err := fn(t); err != nil {
		_ = tx.Rollback()
		return classify(err)
	}
	if err := tx.Commit(); err != nil {
		_ = tx.Rollback()
		return classify(err)
	}
	for _, f := range t.after {
		f()
	}
	return nil
}

// prepared returns query prepared in this transaction, preparing it on its
// first use.
func (tx *wtx) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := tx.stmts[query]; ok {
		return st, nil
	}
	st, err := tx.Tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if tx.stmts == nil {
		tx.stmts = make(map[string]*sql.Stmt)
	}
	tx.stmts[query] = st
	return st, nil
}

// ExecContext runs query in the transaction through its prepared statement.
func (tx *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := tx.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// QueryRowContext runs query in the transaction through its prepared
// statement. Its *sql.Row must be scanned (which closes it) before the same
// query runs again.
func (tx *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := tx.prepared(ctx, query)
	if err != nil {
		// the same query unprepared reports the same failure in the Row
		return tx.Tx.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// aad returns the place of a sealed value in this database.
func (db *DB) aad(table, row, column string, version int64) seal.AAD {
	return seal.AAD{Tenant: db.tenant, Table: table, Row: row, Column: column, Version: version}
}

// sealJSON seals v's JSON encoding for a place with key id kid.
func (db *DB) sealJSON(kid uint32, a seal.AAD, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("localdb: encode %s: %w", a, err)
	}
	return db.keys.SealWith(kid, a, b)
}

// openJSON opens a sealed value and decodes its JSON into v. A value that
// does not authenticate returns an error wrapping lane.ErrUnauthenticated
// that names the place (table, row id, column) but no data.
func (db *DB) openJSON(a seal.AAD, sealed []byte, v any) error {
	b, err := db.keys.Open(a, sealed)
	if err != nil {
		return fmt.Errorf("localdb: open %s: %w", a, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("localdb: decode %s: %v: %w", a, err, ErrCorrupt)
	}
	return nil
}

// checkActor refuses changes nobody is accountable for.
func checkActor(by lane.Actor) error {
	if by.User == "" {
		return lane.Invalidf("no acting user")
	}
	return nil
}

// notFound wraps lane.ErrNotFound with what was looked for.
func notFound(what, id string) error {
	return fmt.Errorf("%s %s: %w", what, id, lane.ErrNotFound)
}

func noRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
