package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDBImportBundle(t *testing.T) {
	dbUseMockKeychain(t)
	dir := t.TempDir()
	bundle := filepath.Join("testdata", "import", "day.json")

	// Without --create an empty data directory is an error, not a new file.
	r := dbRun(t, 1, "--data-dir", dir, "db", "import", bundle)
	if !strings.Contains(r.stderr, "no lane database") {
		t.Fatalf("import without a database: %q", r.stderr)
	}
	r = dbRun(t, 0, "--data-dir", dir, "db", "import", "--create", bundle)
	var got struct {
		Imported map[string]int `json:"imported"`
		Total    int            `json:"total"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("output %q: %v", r.stdout, err)
	}
	want := map[string]int{"patients": 1, "appointments": 1, "encounters": 1, "measurements": 1, "spectacle_prescriptions": 1}
	for k, n := range want {
		if got.Imported[k] != n {
			t.Errorf("imported %s = %d, want %d (all: %v)", k, got.Imported[k], n, got.Imported)
		}
	}
	stats := dbRun(t, 0, "--data-dir", dir, "db", "stats")
	if !strings.Contains(stats.stdout, `"patients": 1`) {
		t.Errorf("stats after import: %s", stats.stdout)
	}
	// Sealed: the patient's name is nowhere in the database file.
	raw, err := os.ReadFile(filepath.Join(dir, "examlane.db"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "Importtest") {
		t.Error("patient name stored in the clear")
	}
	// A malformed bundle imports nothing and says which entry is wrong.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","birthDate":"not a date"}}]}`), 0o600)
	r = dbRun(t, 1, "--data-dir", dir, "db", "import", bad)
	if r.stderr == "" {
		t.Error("no message for a malformed bundle")
	}
	stats2 := dbRun(t, 0, "--data-dir", dir, "db", "stats")
	if !strings.Contains(stats2.stdout, `"patients": 1`) {
		t.Errorf("stats after failed import: %s", stats2.stdout)
	}
	dbRun(t, 2, "--data-dir", dir, "db", "import")
}
