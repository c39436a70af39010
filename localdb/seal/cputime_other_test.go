//go:build !unix

package seal_test

import "time"

// cpuTime is not measured on this system; the cpu-ms/op metric reads 0.
func cpuTime() time.Duration { return 0 }
