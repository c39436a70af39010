package synce2e_test

import (
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// proxy forwards TCP connections from its own 127.0.0.1 port to practiced.
// Offline, it drops every open connection and resets new ones at once (a
// network gone away); it counts the connections it refused.
type proxy struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	offline bool
	conns   map[net.Conn]struct{}
	refused atomic.Int64
	wg      sync.WaitGroup
}

func newProxy(t testing.TB, targetURL string) *proxy {
	t.Helper()
	u, err := url.Parse(targetURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	px := &proxy{ln: ln, target: u.Host, conns: map[net.Conn]struct{}{}}
	px.wg.Add(1)
	go px.serve()
	t.Cleanup(px.close)
	return px
}

// URL is the proxy's origin.
func (px *proxy) URL() string { return "https://" + px.ln.Addr().String() }

// SetOffline takes the path to the server down (dropping open connections)
// or brings it back.
func (px *proxy) SetOffline(off bool) {
	px.mu.Lock()
	px.offline = off
	var drop []net.Conn
	if off {
		for c := range px.conns {
			drop = append(drop, c)
		}
	}
	px.mu.Unlock()
	for _, c := range drop {
		c.Close()
	}
}

func (px *proxy) serve() {
	defer px.wg.Done()
	for {
		c, err := px.ln.Accept()
		if err != nil {
			return
		}
		px.mu.Lock()
		off := px.offline
		px.mu.Unlock()
		if off {
			px.refused.Add(1)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0) // reset, as a host that is not there
			}
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", px.target)
		if err != nil {
			c.Close()
			continue
		}
		if !px.track(c, up) {
			continue
		}
		px.wg.Add(2)
		go px.pipe(c, up)
		go px.pipe(up, c)
	}
}

// track registers a connection pair unless the proxy went offline
// meanwhile.
func (px *proxy) track(a, b net.Conn) bool {
	px.mu.Lock()
	defer px.mu.Unlock()
	if px.offline {
		a.Close()
		b.Close()
		return false
	}
	px.conns[a], px.conns[b] = struct{}{}, struct{}{}
	return true
}

func (px *proxy) pipe(dst, src net.Conn) {
	defer px.wg.Done()
	io.Copy(dst, src)
	dst.Close()
	src.Close()
	px.mu.Lock()
	delete(px.conns, dst)
	delete(px.conns, src)
	px.mu.Unlock()
}

func (px *proxy) close() {
	px.ln.Close()
	px.SetOffline(true)
	px.wg.Wait()
}
