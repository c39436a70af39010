//go:build race

package synce2e_test

// The race detector makes SQLite (transpiled C) many times slower, so the
// lanes' request timeouts (and the fault delays set against them) grow.
func init() { slowdown = 8 }
