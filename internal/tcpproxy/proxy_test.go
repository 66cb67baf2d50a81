package tcpproxy_test

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/internal/tcpproxy"
)

// echo serves a line echo on 127.0.0.1 until the test ends.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					_, _ = c.Write([]byte(line))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends a line and reports whether it came back within wait.
func roundTrip(c net.Conn, r *bufio.Reader, wait time.Duration) bool {
	_ = c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return false
	}
	line, err := r.ReadString('\n')
	return err == nil && line == "ping\n"
}

func TestHangHoldsDataAndRestoreDeliversIt(t *testing.T) {
	p, err := tcpproxy.New(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if !roundTrip(c, r, 5*time.Second) {
		t.Fatal("no echo through the proxy")
	}

	p.Hang()
	if roundTrip(c, r, 200*time.Millisecond) {
		t.Fatal("an open connection carried data during the hang")
	}
	fresh, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatalf("a hung server still accepts connections: %v", err)
	}
	defer fresh.Close()
	fr := bufio.NewReader(fresh)
	if roundTrip(fresh, fr, 200*time.Millisecond) {
		t.Fatal("a new connection was answered during the hang")
	}

	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	if !roundTrip(fresh, fr, 5*time.Second) {
		t.Fatal("the new connection is not served after the hang")
	}
}

func TestCutRefusesAndRestoreListensAgain(t *testing.T) {
	p, err := tcpproxy.New(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Cut()
	if c, err := net.Dial("tcp", p.Addr); err == nil {
		c.Close()
		t.Fatal("a cut proxy accepted a connection")
	}
	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !roundTrip(c, bufio.NewReader(c), 5*time.Second) {
		t.Fatal("no echo after Restore")
	}
}
