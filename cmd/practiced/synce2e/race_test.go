//go:build race

package synce2e_test

// The race detector makes SQLite (transpiled C) many times slower, so the
// fault tests' short request timeout and the delays set against it grow.
func init() { slowdown = 8 }
