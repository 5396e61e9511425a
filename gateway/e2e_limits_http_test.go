package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"
)

// serveLimited returns the address of e's HTTP server, which StartServer
// composed as streamviz serve does: through HTTPServer, with its limits.
func serveLimited(t *testing.T, e *testEnv) string {
	t.Helper()
	return strings.TrimPrefix(e.srv.URL, "http://")
}

// rawGet sends a GET on an open connection and reads the answer, leaving
// the connection open (keep-alive).
func rawGet(c net.Conn, r *bufio.Reader, path string) (*http.Response, error) {
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, err
}

func healthCode(t *testing.T, addr string) int {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: waitTimeout}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Finding 8 of issue 10: 20,000 idle keep-alive connections (one GET
// /healthz each, no credentials needed) exhausted the process's file
// descriptors; /healthz and the NATS publishers sharing the process died.
func TestIdleConnectionsCannotCrowdOutHealthzOrExhaustDescriptors(t *testing.T) {
	const perAddr, idle = 30, 300
	e := startEnv(t, Config{Limits: Limits{MaxConns: 40, MaxConnsPerAddr: perAddr}})
	addr := serveLimited(t, e)
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := range idle {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, c)
		if i%2 == 0 {
			continue // half never send a byte
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if resp, err := rawGet(c, bufio.NewReader(c), "/healthz"); err == nil && resp.StatusCode != 200 {
			t.Fatalf("keep-alive GET /healthz %d: %d", i, resp.StatusCode)
		}
	}
	if code := healthCode(t, addr); code != 200 {
		t.Fatalf("GET /healthz after %d idle connections: %d", idle, code)
	}
	lim := e.g.limiter.Load()
	eventually(t, waitTimeout, func() bool { return lim.open() <= perAddr }, func() string {
		return fmt.Sprintf("%d connections open, want at most %d", lim.open(), perAddr)
	})
	if ev := lim.evicted.Load(); ev < idle-perAddr {
		t.Fatalf("%d idle connections closed to make room, want at least %d", ev, idle-perAddr)
	}
	// The publishers' bus, sharing the process, still takes updates.
	e.publishAndWait(t, "sv.after.data", `{"value": 1}`)
}

// When every connection of an address is busy (open WebSockets), a new one
// is refused at once and counted, and taken again once one closes.
func TestBusyConnectionsAtTheLimitRefuseNewOnesUntilOneCloses(t *testing.T) {
	const perAddr = 4
	e := startEnv(t, Config{Limits: Limits{MaxConns: 100, MaxConnsPerAddr: perAddr}})
	addr := serveLimited(t, e)
	var sockets []*websocket.Conn
	for range perAddr {
		ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.Close() })
		sockets = append(sockets, ws)
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: waitTimeout}
	if resp, err := c.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("a connection beyond the limit was served: %d", resp.StatusCode)
	}
	if n := e.g.limiter.Load().refusedAddr.Load(); n != 1 {
		t.Fatalf("refused per address: %d, want 1", n)
	}
	sockets[0].Close()
	eventually(t, waitTimeout, func() bool { return e.g.limiter.Load().open() < perAddr }, "the closed socket is still counted")
	if code := healthCode(t, addr); code != 200 {
		t.Fatalf("after a socket closed: %d", code)
	}
}

func hostRequest(t *testing.T, addr, host, path string, header ...string) int {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for _, h := range header {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Host %s): %v", path, host, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Finding 11 of issue 10: without a token the Host header was never
// checked; a page on a rebinding domain got /api/widgets and the socket.
func TestOpenDashboardAnswersOnlyItsOwnHostNames(t *testing.T) {
	e := startEnv(t, Config{AllowedHosts: []string{"https://dash.example/streamviz/", "intranet:8080"}})
	e.publishAndWait(t, "sv.secret.data", `{"value": 1}`)
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	_, port, _ := net.SplitHostPort(addr)
	for _, tc := range []struct {
		host string
		want int
	}{
		{"rebind.evil.example:" + port, http.StatusMisdirectedRequest},
		{"rebind.evil.example", http.StatusMisdirectedRequest},
		{"localhost.evil.example:" + port, http.StatusMisdirectedRequest},
		{"127.0.0.1:" + port, 200},
		{"[::1]:" + port, 200},
		{"localhost:" + port, 200},
		{"app.localhost:" + port, 200},
		{"dash.example", 200},
		{"DASH.example:443", 200},
		{"intranet:" + port, 200},
	} {
		if got := hostRequest(t, addr, tc.host, "/api/widgets"); got != tc.want {
			t.Errorf("Host %s: /api/widgets answered %d, want %d", tc.host, got, tc.want)
		}
	}
	evil := "rebind.evil.example:" + port
	if got := hostRequest(t, addr, evil, "/ws", "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Origin: http://"+evil); got != http.StatusMisdirectedRequest {
		t.Errorf("the socket under a rebinding name answered %d, want 421", got)
	}
	if got := hostRequest(t, addr, evil, "/healthz"); got != 200 {
		t.Errorf("/healthz under any name: %d, want 200", got)
	}
}

// Finding 12 of issue 10: the login form's action came from an
// absolute-form request line (GET http://evil.example/x → action
// "http://evil.example/login").
func TestLoginFormIgnoresTheHostOfAnAbsoluteFormRequestLine(t *testing.T) {
	e := startEnv(t, Config{Token: testToken})
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	for _, path := range []string{"/x", "/embed/revenue", "/login"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET http://evil.example%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\nConnection: close\r\n\r\n", path)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		c.Close()
		if !strings.Contains(string(body), `method="post" action="`) || strings.Contains(string(body), "evil") {
			t.Fatalf("login form for an absolute-form request of %s names the request's host:\n%s", path, body)
		}
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET http://evil.example/?token=%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", url.QueryEscape(testToken))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if loc, cookie := resp.Header.Get("Location"), resp.Header.Get("Set-Cookie"); strings.Contains(loc, "evil") || strings.Contains(cookie, "evil") || !strings.Contains(cookie, "Path=/;") && !strings.HasSuffix(cookie, "Path=/") {
		t.Fatalf("?token= on an absolute-form request: Location %q, Set-Cookie %q", loc, cookie)
	}
}

// Finding 12 of issue 10: 3,000 wrong POST /login in 1.1 s, no slowdown.
func TestWrongTokensFromOneAddressAreAnswered429AfterFiveTries(t *testing.T) {
	e := startEnv(t, Config{Token: testToken})
	throttled := func() float64 {
		t.Helper()
		var m dto.Metric
		if err := e.g.metrics.loginThrottled.Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	// The first wait after the free tries is a second: a request that
	// reaches the server later is let through, rightly. When the machine
	// was that slow (the last answer came a second or more after the last
	// guess was sent), everything is done again from another address.
	for attempt := 0; ; attempt++ {
		ip := fmt.Sprintf("127.0.2.%d", 2+attempt)
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		post := func(token string) *http.Response {
			t.Helper()
			resp, _ := do(t, c, "POST", e.url("/login"), strings.NewReader(url.Values{"token": {token}}.Encode()),
				"Content-Type: application/x-www-form-urlencoded")
			return resp
		}
		before := throttled()
		var last time.Time
		for i := range loginFreeTries {
			last = time.Now()
			if resp := post(fmt.Sprintf("guess-%d", i)); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("wrong token %d: %d, want 401", i, resp.StatusCode)
			}
		}
		var codes []int
		var retryAfter []string
		for _, token := range []string{"guess-x", testToken} {
			resp := post(token)
			codes, retryAfter = append(codes, resp.StatusCode), append(retryAfter, resp.Header.Get("Retry-After"))
		}
		resp, _ := do(t, c, "GET", e.url("/api/widgets"), nil, "Authorization: Bearer "+testToken)
		codes = append(codes, resp.StatusCode)
		c.CloseIdleConnections()
		took := time.Since(last)
		if codes[0] != http.StatusTooManyRequests || codes[1] != http.StatusTooManyRequests || codes[2] != http.StatusTooManyRequests {
			if took < time.Second || attempt == 9 {
				t.Fatalf("another guess, the right token, a bearer token after %d misses (%v after the last): %v, want 429 each", loginFreeTries, took, codes)
			}
			continue
		}
		if retryAfter[0] == "" || retryAfter[1] == "" {
			t.Fatalf("429 without Retry-After: %q", retryAfter)
		}
		// /metrics itself is behind the token, and this address is throttled.
		if got := throttled() - before; got != 3 {
			t.Fatalf("streamviz_login_throttled_total grew by %v, want 3", got)
		}
		return
	}
}

func TestLoginBackoffDoublesAfterTheFreeTriesAndSuccessClearsIt(t *testing.T) {
	l := newLoginLimiter()
	t0 := time.Unix(1_800_000_000, 0)
	now := t0
	for range loginFreeTries - 1 {
		l.miss("a", now)
	}
	if w := l.wait("a", now); w != 0 {
		t.Fatalf("wait after %d misses: %v, want none", loginFreeTries-1, w)
	}
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		l.miss("a", now)
		if w := l.wait("a", now); w != want {
			t.Fatalf("wait after a miss at %v: %v, want %v", now.Sub(t0), w, want)
		}
		if w := l.wait("b", now); w != 0 {
			t.Fatalf("another address waits %v", w)
		}
		now = now.Add(want)
	}
	for range 30 {
		l.miss("a", now)
	}
	if w := l.wait("a", now); w != loginMaxWait {
		t.Fatalf("wait after many misses: %v, want the cap %v", w, loginMaxWait)
	}
	l.success("a")
	if w := l.wait("a", now); w != 0 {
		t.Fatalf("wait after a success: %v", w)
	}
	l.miss("c", now)
	if w := l.wait("c", now.Add(loginForget+time.Second)); w != 0 {
		t.Fatalf("a single old miss still counts: %v", w)
	}
}

// Finding 12 of issue 10: the pages' CSP allowed sockets to any host
// (connect-src 'self' ws: wss:).
func TestPagesMayConnectOnlyToTheirOwnOrigin(t *testing.T) {
	e := startEnv(t, Config{})
	for _, p := range []string{"/", "/embed/x", "/static/app.js"} {
		resp, _ := do(t, noRedirect, "GET", e.url(p), nil)
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "connect-src 'self';") || strings.Contains(csp, "ws:") || strings.Contains(csp, "wss:") {
			t.Errorf("%s: CSP %q, want connect-src 'self' alone", p, csp)
		}
	}
}

// Finding 8 of issue 10: 21,000 WebSockets on an open server exhausted the
// descriptors. Sockets, never idle, may take all connections but a tenth.
func TestWebSocketsLeaveATenthOfTheConnectionsToPlainRequests(t *testing.T) {
	e := startEnv(t, Config{Limits: Limits{MaxConns: 10, MaxConnsPerAddr: 10}})
	addr := serveLimited(t, e)
	var sockets []*websocket.Conn
	for range 9 {
		ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.Close() })
		sockets = append(sockets, ws)
		// A handshake counts against the share until its first message
		// is written (limitSockets): let it finish before the next, or
		// the ninth could find the eighth counted twice.
		eventually(t, waitTimeout, func() bool { return e.g.handshakes.Load() == 0 }, "the handshake finished")
	}
	eventually(t, waitTimeout, func() bool { return e.g.fanout.count() == 9 }, "9 sockets joined")
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a 10th socket: %v (%v), want 503 with Retry-After", err, resp)
	}
	// The refused handshake's connection held the one plain slot until the
	// client closed it.
	lim := e.g.limiter.Load()
	eventually(t, waitTimeout, func() bool { return lim.open() == 9 }, func() string {
		return fmt.Sprintf("%d connections open after the refused handshake, want the 9 sockets", lim.open())
	})
	if code := healthCode(t, addr); code != 200 {
		t.Fatalf("/healthz with the sockets' share taken: %d", code)
	}
	sockets[0].Close()
	eventually(t, waitTimeout, func() bool { return e.g.fanout.count() == 8 }, "the closed socket left")
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatalf("a socket after one closed: %v", err)
	}
	ws.Close()
}

// Finding 8 of issue 10, the 21k WebSockets, handshakes arriving together:
// the tenth of the connections kept for plain requests was checked against
// the sockets already joined, so handshakes in flight all passed the check
// and took every connection (9,999 sockets of 10,000 measured). However
// they arrive, no more than the sockets' share open.
func TestConcurrentHandshakesStillLeaveATenthOfTheConnections(t *testing.T) {
	const maxConns = 200
	e := startEnv(t, Config{Limits: Limits{MaxConns: maxConns, MaxConnsPerAddr: maxConns}})
	addr := serveLimited(t, e)
	share := e.g.cfg.Limits.maxSockets()
	// Every connection open first, its handshake not sent yet; then every
	// handshake at once, as a client that opened thousands does.
	conns := make([]net.Conn, maxConns)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	req := []byte("GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	start := make(chan struct{})
	codes := make(chan int, maxConns)
	for _, c := range conns {
		go func() {
			<-start
			if _, err := c.Write(req); err != nil {
				codes <- 0
				return
			}
			_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				codes <- 0
				return
			}
			codes <- resp.StatusCode
		}()
	}
	close(start)
	got := map[int]int{}
	for range conns {
		got[<-codes]++
	}
	if got[http.StatusSwitchingProtocols] > share || got[http.StatusSwitchingProtocols] == 0 {
		t.Fatalf("answers to %d handshakes at once: %v; want at most %d sockets (all connections but a tenth), the rest 503", maxConns, got, share)
	}
	if got[http.StatusServiceUnavailable] != maxConns-got[http.StatusSwitchingProtocols] {
		t.Fatalf("answers to %d handshakes at once: %v; want every one past the share answered 503", maxConns, got)
	}
	for _, c := range conns[:1] {
		c.Close() // a refused or open one: either way a slot for the check below
	}
	if code := healthCode(t, addr); code != 200 {
		t.Fatalf("/healthz with the sockets' share taken: %d", code)
	}
}
