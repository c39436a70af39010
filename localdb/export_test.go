package localdb

import (
	"context"
	"strconv"
)

// SetMaxPageCount limits the database size on the writer connection, so
// tests can make SQLite report a full disk without filling one.
func (db *DB) SetMaxPageCount(ctx context.Context, pages int) error {
	_, err := db.w.ExecContext(ctx, "PRAGMA max_page_count = "+strconv.Itoa(pages))
	return err
}
