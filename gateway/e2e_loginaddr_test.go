package gateway

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamviz/streamviz/broker"
)

// Issue 10, finding 12: wrong tokens are throttled per client address. A
// guesser that used up its tries gets 429 even with the right token, while
// another address still logs in, and still gets its own free tries.
func TestLoginThrottlingIsPerClientAddress(t *testing.T) {
	e := startEnv(t, Config{Token: testToken})
	addr := serveLimited(t, e)
	from := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		return &http.Client{
			Transport:     &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	login := func(c *http.Client, token string) int {
		t.Helper()
		resp, err := c.PostForm("http://"+addr+"/login", url.Values{"token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	user := from("127.0.0.3")
	// The first wait after the free tries is a second: a right token that
	// reaches the server later is let in, rightly. When the machine was
	// that slow (the answer came a second or more after the last guess was
	// sent), the guesses are made again from another address.
	for attempt := 0; ; attempt++ {
		guesser := from(fmt.Sprintf("127.0.1.%d", 2+attempt))
		var last time.Time
		for i := range loginFreeTries {
			last = time.Now()
			if code := login(guesser, "guess-"+strings.Repeat("x", i)); code != http.StatusUnauthorized {
				t.Fatalf("guess %d: %d, want 401", i, code)
			}
		}
		code := login(guesser, testToken)
		if code == http.StatusTooManyRequests {
			break
		}
		if took := time.Since(last); took < time.Second || attempt == 9 {
			t.Fatalf("the guesser's address after %d misses, with the right token %v after the last: %d, want 429", loginFreeTries, took, code)
		}
	}
	if code := login(user, "typo"); code != http.StatusUnauthorized {
		t.Fatalf("another address's first miss: %d, want 401 (its own free tries)", code)
	}
	if code := login(user, testToken); code != http.StatusSeeOther {
		t.Fatalf("another address with the right token: %d, want 303 (logged in)", code)
	}
}

// v6Listener hands out connections as if from IPv6 clients: each from its
// own address (a host counter) in the /64 the test names, the way a
// guesser with a routed /64 (what an ISP gives one customer) can pick a new
// source address for every try.
type v6Listener struct {
	net.Listener
	subnet, host *atomic.Uint32
}

type v6Conn struct {
	net.Conn
	from *net.TCPAddr
}

func (c v6Conn) RemoteAddr() net.Addr { return c.from }

func (l v6Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(fmt.Sprintf("2001:db8:%x::%x", l.subnet.Load(), l.host.Add(1)))
	return v6Conn{Conn: c, from: &net.TCPAddr{IP: ip, Port: 40000}}, nil
}

// Counting misses per IPv6 address would give a guesser with a /64 2^64
// addresses of five free tries each: an IPv6 client is counted by its /64.
func TestLoginThrottlingCountsAnIPv6ClientByItsSlash64(t *testing.T) {
	var subnet, host atomic.Uint32
	e := startEnvWrapped(t, t.TempDir(), Config{Token: testToken}, broker.Config{}, func(ln net.Listener) net.Listener {
		return v6Listener{Listener: ln, subnet: &subnet, host: &host}
	})
	c := &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true}, // a new connection, so a new address, per try
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	login := func(token string) int {
		t.Helper()
		resp, err := c.PostForm(e.srv.URL+"/login", url.Values{"token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// As in TestLoginThrottlingIsPerClientAddress: when the machine took a
	// second or more between the last guess and the right token, the wait
	// had rightly passed, and the guesses are made again from another /64.
	for attempt := 0; ; attempt++ {
		subnet.Store(uint32(attempt + 1))
		var last time.Time
		for i := range loginFreeTries {
			last = time.Now()
			if code := login("guess-" + strings.Repeat("x", i)); code != http.StatusUnauthorized {
				t.Fatalf("guess %d: %d, want 401", i, code)
			}
		}
		code := login(testToken)
		if code == http.StatusTooManyRequests {
			break
		}
		if took := time.Since(last); took < time.Second || attempt == 9 {
			t.Fatalf("after %d misses from as many addresses of one /64, the right token from another %v after the last: %d, want 429", loginFreeTries, took, code)
		}
	}
	// Another /64 is another client, with tries of its own.
	subnet.Store(0xffff)
	if code := login(testToken); code != http.StatusSeeOther {
		t.Fatalf("a client of another /64 with the right token: %d, want 303", code)
	}
}
