package localdb

import (
	"context"
	"database/sql"
	"sync"
)

// readStmts keeps the read pool's hot lookups prepared (LocalID and
// ServerRef run a few times per pulled record; modernc.org/sqlite parses
// a statement given as text on every call). database/sql prepares each on
// a pool connection the first time that connection runs it.
type readStmts struct {
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	closed bool
}

// queryRow runs query on the read pool through its prepared statement.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := db.rs.get(ctx, db.r, query)
	if err != nil {
		// the query unprepared reports the same failure in its Row
		return db.r.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (c *readStmts) get(ctx context.Context, pool *sql.DB, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	if c.closed {
		return nil, ErrClosed
	}
	st, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = make(map[string]*sql.Stmt)
	}
	c.m[query] = st
	return st, nil
}

// close closes the prepared statements; later lookups run unprepared.
func (c *readStmts) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m, c.closed = nil, true
}
