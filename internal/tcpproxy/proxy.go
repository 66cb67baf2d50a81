// Package tcpproxy is a TCP proxy on 127.0.0.1 that tests put between the
// audit trail and its PostgreSQL server to make the server unreachable or
// hung for one trail while the real server keeps serving everyone else.
package tcpproxy

import (
	"errors"
	"net"
	"sync"
)

// Proxy forwards connections from Addr to a target. Cut makes the target
// unreachable the way a crashed server or a broken network does; Hang makes
// it hang the way a stopped (SIGSTOP) or overloaded server does; Restore
// brings it back in both cases.
type Proxy struct {
	Addr   string // 127.0.0.1:port, stable across Cut and Restore
	target string

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	hung   bool
	resume chan struct{} // closed when a hang ends
	wg     sync.WaitGroup
}

// New listens on a free 127.0.0.1 port and forwards to target.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	return p, nil
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		delete(p.conns, c)
	}
}

// waitResumed blocks while the proxy is hung. It returns false when the
// connection was closed meanwhile (by Cut).
func (p *Proxy) waitResumed(c net.Conn) bool {
	p.mu.Lock()
	hung, resume := p.hung, p.resume
	p.mu.Unlock()
	if !hung {
		return true
	}
	<-resume
	p.mu.Lock()
	defer p.mu.Unlock()
	_, open := p.conns[c]
	return open
}

func (p *Proxy) pipe(client net.Conn) {
	if !p.track(client) {
		client.Close()
		return
	}
	defer p.untrack(client)
	// A hung server accepts the connection (the kernel does) and answers
	// nothing.
	if !p.waitResumed(client) {
		client.Close()
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(server) {
		client.Close()
		server.Close()
		return
	}
	defer p.untrack(server)
	done := make(chan struct{}, 2)
	go func() { p.copy(server, client); done <- struct{}{} }()
	go func() { p.copy(client, server); done <- struct{}{} }()
	<-done
	client.Close()
	server.Close()
	<-done
}

// copy forwards src to dst; while the proxy is hung, what src sends is read
// (the kernel's buffers take it) but held back.
func (p *Proxy) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitResumed(src) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Cut closes the listener (new connections are refused) and resets every
// proxied connection. It ends a hang.
func (p *Proxy) Cut() {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, like a dead peer
		}
		c.Close()
	}
	clear(p.conns)
	p.endHangLocked()
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	p.wg.Wait()
}

// Hang stops forwarding: new connections are accepted and get no answer,
// and open connections stop carrying data both ways, like a server that
// was sent SIGSTOP. Restore resumes them.
func (p *Proxy) Hang() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.hung {
		p.hung, p.resume = true, make(chan struct{})
	}
}

func (p *Proxy) endHangLocked() {
	if p.hung {
		p.hung = false
		close(p.resume)
	}
}

// Restore ends a Hang (held data flows on) or a Cut (the proxy listens on
// the same address again).
func (p *Proxy) Restore() error {
	p.mu.Lock()
	if p.hung {
		p.endHangLocked()
		p.mu.Unlock()
		return nil
	}
	if p.ln != nil {
		p.mu.Unlock()
		return errors.New("tcpproxy: neither cut nor hung")
	}
	p.mu.Unlock()
	ln, err := net.Listen("tcp", p.Addr)
	if err != nil {
		return err
	}
	p.serve(ln)
	return nil
}

// Close stops the proxy for good and resets every connection.
func (p *Proxy) Close() { p.Cut() }
