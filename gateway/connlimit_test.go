package gateway

import (
	"net"
	"net/http"
	"testing"
)

// The connection closed to make room is the one that has waited longest
// between requests, of the address at its bound or of anyone at the total
// bound; one that went back to waiting queues again at the end, and a busy
// one is never picked.
func TestEvictionPicksTheConnectionWaitingLongest(t *testing.T) {
	l := newConnLimiter(nil, Limits{MaxConns: 4, MaxConnsPerAddr: 2})
	conn := func(addr string) *limitedConn {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		return &limitedConn{Conn: a, l: l, addr: addr}
	}
	admit := func(c *limitedConn) *limitedConn {
		t.Helper()
		ok, victim := l.admit(c)
		if !ok {
			t.Fatalf("%s refused", c.addr)
		}
		if victim != nil {
			victim.Close() // as Accept does: it leaves the counts
		}
		return victim
	}
	a1, a2, b1, c1 := conn("a"), conn("a"), conn("b"), conn("c")
	for _, c := range []*limitedConn{a1, a2, b1, c1} {
		if v := admit(c); v != nil {
			t.Fatalf("room for %s, yet %s was closed", c.addr, v.addr)
		}
	}
	l.connState(a1, http.StateActive) // a1 busy
	l.connState(a1, http.StateIdle)   // and waiting again: now the newest
	// Address a at its bound: its longest waiting is a2.
	if v := admit(conn("a")); v != a2 {
		t.Fatalf("closed %v for a third connection of a, want a2", v)
	}
	// Total bound: the longest waiting of anyone is b1.
	if v := admit(conn("d")); v != b1 {
		t.Fatalf("closed %v at the total bound, want b1", v)
	}
	// Busy connections are never picked.
	l.connState(c1, http.StateHijacked)
	if v := admit(conn("e")); v != a1 {
		t.Fatalf("closed %v, want a1 (c1 is busy)", v)
	}
	if l.open() != 4 || l.waiting.Len() != 3 {
		t.Fatalf("%d open, %d waiting; want 4 and 3", l.open(), l.waiting.Len())
	}
}
