package localdb

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzInspect feeds arbitrary bytes as a database file to the check Open
// runs before letting SQLite write: it must not panic and must never change
// the file.
func FuzzInspect(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("not a database\n"))
	hdr := make([]byte, 100)
	copy(hdr, "SQLite format 3\x00")
	f.Add(hdr)
	withID := bytes.Clone(hdr)
	withID[68], withID[69], withID[70], withID[71] = 'E', 'X', 'L', 'N'
	withID[63] = 99 // user_version 99: newer than this build
	f.Add(withID)
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "f.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		_, _ = inspect(path)
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(after, b) {
			t.Fatal("inspect changed the file")
		}
	})
}
