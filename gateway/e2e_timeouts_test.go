package gateway

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Issue 10, finding 8: every HTTP connection has header, read and idle
// timeouts (Limits, flags --header-timeout, --read-timeout, --idle-timeout,
// --login-timeout). Each test sets the timeout under test small and every
// other one to an hour, so only the one under test can end the connection;
// it asserts the outcome (the server closed the connection and released
// it), with a deadline far longer than the timeout, never a bound on how
// long the close took.

// cutWithin is how long a test waits for the server to close a connection
// whose timeout is a fraction of a second: generous, so that a loaded
// machine cannot fail it; a server that never closes fails it.
const cutWithin = 60 * time.Second

// longLimits are Limits whose timeouts are all an hour.
func longLimits() Limits {
	return Limits{HeaderTimeout: time.Hour, ReadTimeout: time.Hour, WriteTimeout: time.Hour, IdleTimeout: time.Hour, LoginTimeout: time.Hour}
}

// readUntilClosed reads c until the server closes it and returns what it
// sent; it fails the test if the server still holds c after cutWithin.
func readUntilClosed(t *testing.T, c net.Conn, what string) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(cutWithin))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the server still held the connection after %v (it sent %q)", what, cutWithin, b)
	}
	return string(b)
}

// released waits until the server's side of every connection is closed
// (the limiter counts a connection until its descriptor is closed).
func released(t *testing.T, e *testEnv, what string) {
	t.Helper()
	lim := e.g.limiter.Load()
	eventually(t, cutWithin, func() bool { return lim.open() == 0 }, func() string {
		return fmt.Sprintf("%s: the server still has %d connections open", what, lim.open())
	})
}

// A client that stops mid-request is cut by the timeout of where it
// stopped: in the headers (the slowloris: a request line and a header,
// never the blank line), in a body the handler does not read (answered,
// then closed: what is left must not be read as the next request), or in
// a login form's body (finding 8 of issue 10: held 75 s and more).
func TestAStalledRequestIsClosedByItsTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     func(*Limits)
		token   string
		request string
		// The answer begins with want and contains wantIn ("": no answer).
		want, wantIn string
	}{
		{"headers never finished", func(l *Limits) { l.HeaderTimeout = 200 * time.Millisecond }, "",
			"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", "", ""},
		{"a body that stops", func(l *Limits) { l.ReadTimeout = 200 * time.Millisecond }, "",
			"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nabc", "HTTP/1.1 200", "Connection: close"},
		{"a login body that stops", func(l *Limits) { l.LoginTimeout = 200 * time.Millisecond }, testToken,
			"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ntoken=",
			"HTTP/1.1 400", "unreadable login form"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lim := longLimits()
			tc.set(&lim)
			e := startEnv(t, Config{Token: tc.token, Limits: lim})
			c, err := net.Dial("tcp", serveLimited(t, e))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprint(c, tc.request)
			got := readUntilClosed(t, c, tc.name)
			if !strings.HasPrefix(got, tc.want) || !strings.Contains(got, tc.wantIn) || tc.want == "" && got != "" {
				t.Errorf("answered %q; want an answer beginning %q containing %q", got, tc.want, tc.wantIn)
			}
			released(t, e, tc.name)
		})
	}
}

func TestAKeepAliveConnectionLeftIdleIsClosedAfterTheIdleTimeout(t *testing.T) {
	lim := longLimits()
	lim.IdleTimeout = 200 * time.Millisecond
	e := startEnv(t, Config{Limits: lim})
	addr := serveLimited(t, e)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	// Kept alive across requests: the timeout is for a connection unused.
	// Both requests are sent at once (pipelined), so the second is there
	// before the first is answered: a client sending it after the answer
	// could be descheduled past the idle timeout on a loaded machine.
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	for i := range 2 {
		resp, err := http.ReadResponse(r, nil)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err != nil || resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("keep-alive GET /healthz %d: %v %v", i, resp, err)
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(cutWithin))
	if b, err := io.ReadAll(r); err != nil || len(b) != 0 {
		t.Fatalf("idle keep-alive connection: read %q, %v; want it closed by the server with nothing sent", b, err)
	}
	released(t, e, "idle keep-alive connection")
}

// A client that asks for a large answer and never reads it does not hold
// its connection past the write timeout.
func TestAnAnswerTheClientNeverReadsIsCutAfterTheWriteTimeout(t *testing.T) {
	lim := longLimits()
	lim.WriteTimeout = 200 * time.Millisecond
	e := startEnv(t, Config{Limits: lim})
	addr := serveLimited(t, e)
	// A table of 10 rows of 900 KB: its answer is about twice what the
	// kernel's socket buffers hold (4 MiB at most to send, the client's
	// shrunk to a few KiB), so the server's write must wait for the client.
	e.publish(t, "sv.big.config", `{"type": "table"}`)
	var last uint64
	for i := range 10 {
		last = e.publish(t, "sv.big.data", fmt.Sprintf(`{"key": "k%02d", "row": {"pad": %q}}`, i, strings.Repeat("p", 900_000)))
	}
	e.waitSeq(t, last)
	l := e.g.limiter.Load()
	before := l.open() // the test's own keep-alive connections, idle for an hour
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The connection is taken and counted. (Not proved by a first request:
	// its answer, /healthz's checks included, must be written within the
	// 200 ms write timeout, which a loaded machine can miss.)
	eventually(t, cutWithin, func() bool { return l.open() == before+1 }, func() string {
		return fmt.Sprintf("%d connections open, want %d", l.open(), before+1)
	})
	// The client reads nothing of the second answer.
	fmt.Fprintf(c, "GET /api/widgets/big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	// An answer written whole would leave the connection open (idle for
	// an hour); the server's side must close by itself.
	eventually(t, cutWithin, func() bool { return l.open() == before }, func() string {
		return fmt.Sprintf("an answer never read: the server still has %d connections open, want %d", l.open(), before)
	})
}

// The login's own bound never outlasts the whole request's.
func TestTheLoginTimeoutIsAtMostTheReadTimeout(t *testing.T) {
	for _, tc := range []struct {
		in   Limits
		want time.Duration
	}{
		{Limits{}, DefaultLoginTimeout},
		{Limits{ReadTimeout: time.Second}, time.Second},
		{Limits{ReadTimeout: time.Minute, LoginTimeout: 2 * time.Second}, 2 * time.Second},
		{Limits{ReadTimeout: time.Second, LoginTimeout: time.Minute}, time.Second},
	} {
		l := tc.in
		l.setDefaults()
		if l.LoginTimeout != tc.want {
			t.Errorf("%+v: login timeout %v, want %v", tc.in, l.LoginTimeout, tc.want)
		}
	}
}

// waiting is how many connections are between requests (closed first to
// make room at a limit).
func waiting(l *connLimiter) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waiting.Len()
}

// dialFrom opens a connection to addr from the loopback address ip (all of
// 127/8 is this machine), so one test can be many clients.
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The total bound holds across client addresses: at --max-conns, an idle
// connection of any address is closed to make room; when all are busy a
// new one, from an address under its own bound, is refused and counted.
func TestTheTotalConnectionLimitHoldsAcrossAddresses(t *testing.T) {
	lim := longLimits()
	lim.MaxConns, lim.MaxConnsPerAddr = 10, 5
	e := startEnv(t, Config{Limits: lim})
	addr := serveLimited(t, e)
	l := e.g.limiter.Load()
	// Nine busy sockets (all but a tenth) from two addresses.
	for i := range lim.MaxConns - 1 {
		ip := fmt.Sprintf("127.0.0.%d", 2+i/lim.MaxConnsPerAddr)
		d := websocket.Dialer{NetDial: func(network, a string) (net.Conn, error) {
			return (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).Dial(network, a)
		}}
		ws, _, err := d.Dial("ws://"+addr+"/ws", nil)
		if err != nil {
			t.Fatalf("socket %d from %s: %v", i, ip, err)
		}
		t.Cleanup(func() { ws.Close() })
		// A handshake counts against the sockets' share until its first
		// message is written (limitSockets): let it finish before the next.
		eventually(t, cutWithin, func() bool { return e.g.handshakes.Load() == 0 }, "the handshake finished")
	}
	eventually(t, cutWithin, func() bool { return e.g.fanout.count() == lim.MaxConns-1 }, "the sockets joined")
	// The tenth, from a third address, idle between requests.
	idle := dialFrom(t, "127.0.0.4", addr)
	if resp, err := rawGet(idle, bufio.NewReader(idle), "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /healthz on the tenth connection: %v %v", resp, err)
	}
	// The server marks it idle after writing the answer the client already has.
	eventually(t, cutWithin, func() bool { return waiting(l) == 1 }, "the tenth connection idle")
	// An eleventh, from a fourth address: the idle one is closed for it.
	busy := dialFrom(t, "127.0.0.5", addr)
	readUntilClosed(t, idle, "the idle connection at the total limit")
	if n := l.evicted.Load(); n != 1 {
		t.Fatalf("%d connections closed to make room, want 1", n)
	}
	// It stays busy: its request's body never comes (the read timeout is an hour).
	fmt.Fprintf(busy, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n")
	eventually(t, cutWithin, func() bool { return waiting(l) == 0 }, "the eleventh connection busy")
	// All ten busy: a connection from a fifth address is refused at once.
	refused := dialFrom(t, "127.0.0.6", addr)
	if got := readUntilClosed(t, refused, "a connection past the total limit"); got != "" {
		t.Fatalf("a connection past the total limit was answered %q", got)
	}
	if n := l.refusedTotal.Load(); n != 1 {
		t.Fatalf("refused at the total limit: %d, want 1", n)
	}
	if n := l.refusedAddr.Load(); n != 0 {
		t.Fatalf("refused per address: %d, want 0 (no address is at its bound)", n)
	}
	// Once the busy one ends, the next connection is served.
	busy.Close()
	eventually(t, cutWithin, func() bool { return l.open() < lim.MaxConns }, "the busy connection still counted")
	c := dialFrom(t, "127.0.0.6", addr)
	if resp, err := rawGet(c, bufio.NewReader(c), "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /healthz after a connection closed: %v %v", resp, err)
	}
	// The counters say the same (with room for the request that reads them).
	c.Close()
	eventually(t, cutWithin, func() bool { return l.open() < lim.MaxConns }, "the last connection still counted")
	m := e.metrics(t)
	for series, want := range map[string]float64{
		`streamviz_http_connections_refused_total{limit="total"}`:       1,
		`streamviz_http_connections_refused_total{limit="per_address"}`: 0,
		`streamviz_http_connections_evicted_total`:                      1,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("/metrics %s = %v (present %v), want %v", series, got, ok, want)
		}
	}
}
