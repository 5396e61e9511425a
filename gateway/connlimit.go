package gateway

import (
	"container/list"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// connLimiter bounds open HTTP connections, in total and per client
// address. At a bound, the longest-waiting connection that is between
// requests (a keep-alive left idle, or one that has not sent a byte yet)
// of that address, or of anyone at the total bound, is closed to make
// room; when every connection is busy the new one is closed instead. So
// idle connections, however many, never keep anyone out, and never
// exhaust the file descriptors the process (and its NATS server) share.
type connLimiter struct {
	net.Listener
	max, perAddr int

	mu     sync.Mutex
	total  int
	byAddr map[string]int
	// waiting are the connections between requests, longest waiting
	// first, all of them and by address: the one to close to make room is
	// at a front, found at once however many there are (a scan of 10,000
	// per accepted connection held the accept loop, and /healthz behind it,
	// for seconds under a flood of connections).
	waiting     *list.List
	waitingAddr map[string]*list.List

	refusedTotal, refusedAddr, evicted atomic.Uint64
}

type limitedConn struct {
	net.Conn
	l    *connLimiter
	addr string
	once sync.Once
	// Its places in l.waiting and l.waitingAddr[addr] while it waits.
	inAll, inAddr *list.Element

	dmu       sync.Mutex
	wDeadline time.Time // the write deadline the connection has, when wSet
	wSet      bool
}

// SetWriteDeadline skips a deadline the connection already has. gorilla
// sets the deadline before every frame it writes, and a WebSocket writer
// hands it the same one for a tenth of its write wait (client.armWriteDeadline):
// re-arming the runtime's timer for each frame was a measurable part of
// fan-out's CPU at 1,000 sockets.
func (c *limitedConn) SetWriteDeadline(t time.Time) error {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if c.wSet && t.Equal(c.wDeadline) {
		return nil
	}
	c.wSet = false
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	c.wDeadline, c.wSet = t, true
	return nil
}

// SetDeadline sets both deadlines; the write one is remembered as above.
func (c *limitedConn) SetDeadline(t time.Time) error {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	c.wSet = false
	if err := c.Conn.SetDeadline(t); err != nil {
		return err
	}
	c.wDeadline, c.wSet = t, true
	return nil
}

func (c *limitedConn) Close() error {
	c.once.Do(c.l.release(c))
	return c.Conn.Close()
}

func newConnLimiter(ln net.Listener, lim Limits) *connLimiter {
	return &connLimiter{Listener: ln, max: lim.MaxConns, perAddr: lim.MaxConnsPerAddr,
		byAddr: map[string]int{}, waiting: list.New(), waitingAddr: map[string]*list.List{}}
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := c.RemoteAddr().String()
		if host, _, err := net.SplitHostPort(addr); err == nil {
			addr = host
		}
		lc := &limitedConn{Conn: c, l: l, addr: addr}
		admitted, victim := l.admit(lc)
		if victim != nil {
			l.evicted.Add(1)
			victim.Close()
		}
		if admitted {
			return lc, nil
		}
		c.Close()
	}
}

// admit registers c unless a bound is reached and nobody waiting can
// make room; it returns whom to close for it.
func (l *connLimiter) admit(c *limitedConn) (bool, *limitedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var victim *limitedConn
	switch {
	case l.byAddr[c.addr] >= l.perAddr:
		if victim = l.oldestWaiting(c.addr); victim == nil {
			l.refusedAddr.Add(1)
			return false, nil
		}
	case l.total >= l.max:
		if victim = l.oldestWaiting(""); victim == nil {
			l.refusedTotal.Add(1)
			return false, nil
		}
	}
	if victim != nil {
		// Not waiting any more: no one else picks it before it closes.
		l.unwait(victim)
	}
	l.total++
	l.byAddr[c.addr]++
	l.wait(c) // has not sent a byte yet
	return true, victim
}

// oldestWaiting is the connection of addr ("": of anyone) that has waited
// longest between requests, or nil.
func (l *connLimiter) oldestWaiting(addr string) *limitedConn {
	q := l.waiting
	if addr != "" {
		if q = l.waitingAddr[addr]; q == nil {
			return nil
		}
	}
	if e := q.Front(); e != nil {
		return e.Value.(*limitedConn)
	}
	return nil
}

// wait puts c at the back of the waiting lines (it starts waiting now).
func (l *connLimiter) wait(c *limitedConn) {
	l.unwait(c)
	q := l.waitingAddr[c.addr]
	if q == nil {
		q = list.New()
		l.waitingAddr[c.addr] = q
	}
	c.inAll, c.inAddr = l.waiting.PushBack(c), q.PushBack(c)
}

// unwait takes c out of the waiting lines, if it is in them.
func (l *connLimiter) unwait(c *limitedConn) {
	if c.inAll == nil {
		return
	}
	l.waiting.Remove(c.inAll)
	if q := l.waitingAddr[c.addr]; q != nil {
		q.Remove(c.inAddr)
		if q.Len() == 0 {
			delete(l.waitingAddr, c.addr)
		}
	}
	c.inAll, c.inAddr = nil, nil
}

func (l *connLimiter) release(c *limitedConn) func() {
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.total--
		if l.byAddr[c.addr]--; l.byAddr[c.addr] <= 0 {
			delete(l.byAddr, c.addr)
		}
		l.unwait(c)
	}
}

// connState is http.Server.ConnState: it tracks which connections are
// between requests.
func (l *connLimiter) connState(nc net.Conn, s http.ConnState) {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	c, ok := nc.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s {
	case http.StateIdle:
		l.wait(c)
	case http.StateActive, http.StateHijacked, http.StateClosed:
		l.unwait(c)
	}
}

func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// HTTPServer is an http.Server for Handler with the timeouts and the
// connection limits of Config.Limits applied to ln, which it returns
// wrapped: serve with srv.Serve(ln) (or wrap that in TLS first).
func (g *Gateway) HTTPServer(ln net.Listener) (*http.Server, net.Listener) {
	lim := newConnLimiter(ln, g.cfg.Limits)
	g.limiter.Store(lim)
	return &http.Server{
		Handler:           g.Handler(),
		ReadHeaderTimeout: g.cfg.Limits.HeaderTimeout,
		ReadTimeout:       g.cfg.Limits.ReadTimeout,
		WriteTimeout:      g.cfg.Limits.WriteTimeout,
		IdleTimeout:       g.cfg.Limits.IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ConnState:         lim.connState,
	}, lim
}

// maxSockets is how many WebSockets may be open: all connections but a
// tenth, kept for plain requests, so that sockets, which are never idle,
// cannot take every connection and shut out /healthz and the API.
func (l Limits) maxSockets() int { return max(1, l.MaxConns-max(1, l.MaxConns/10)) }

// limitSockets answers 503 to a WebSocket handshake past maxSockets.
// Handshakes under way count too, each until next has returned (by then
// its socket has joined the fan-out or is gone): checked against the joined
// sockets alone, handshakes arriving together all passed and took every
// connection. A socket is counted twice while its first message is being
// written, so at the edge of the share a handshake may be refused a moment
// early (503; the page retries); none is ever let past it.
func (g *Gateway) limitSockets(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pending := g.handshakes.Add(1) - 1
		defer g.handshakes.Add(-1)
		if n := g.fanout.count() + int(pending); n >= g.cfg.Limits.maxSockets() {
			g.metrics.wsRefused.Inc()
			w.Header().Set("Retry-After", "5")
			httpError(w, http.StatusServiceUnavailable, "too many open sockets ("+strconv.Itoa(n)+"): try again later")
			return
		}
		q := r.URL.Query()
		cost := g.joinCost(q.Get("widget"), q.Get("epoch") != "" && q.Get("seq") != "")
		if !g.joins.take(cost, g.cfg.Limits.joinBudgetBytes()) {
			g.metrics.wsRefused.Inc()
			w.Header().Set("Retry-After", "1")
			httpError(w, http.StatusServiceUnavailable, "too many snapshots being sent ("+strconv.Itoa(g.joins.held()>>20)+" MiB): try again later")
			return
		}
		// serveWS returns once the first message is written (or the
		// socket is gone): its bytes are free again.
		defer g.joins.give(cost)
		next(w, r)
	}
}
