package retina

import (
	"runtime"
	"sync"
)

// parallelRows calls fn on bands of [0,h) on up to GOMAXPROCS goroutines and
// waits for all of them. Small jobs run on the calling goroutine.
func parallelRows(h, work int, fn func(y0, y1 int)) {
	n := runtime.GOMAXPROCS(0)
	if n == 1 || work < 64*1024 || h < 2 {
		fn(0, h)
		return
	}
	n = min(n*2, h)
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		y0, y1 := h*i/n, h*(i+1)/n
		wg.Go(func() { fn(y0, y1) })
	}
	fn(0, h/n)
	wg.Wait()
}
