package gateway

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Guessing the token: each client address gets loginFreeTries wrong
// tokens, then waits before the next try, twice as long after each
// further miss (1 s, 2 s, 4 s … up to loginMaxWait), answered 429 with
// Retry-After meanwhile, even with the right token. A success clears it;
// so does loginForget without a miss.
const (
	loginFreeTries = 5
	loginMaxWait   = 5 * time.Minute
	loginForget    = 15 * time.Minute
	loginMaxAddrs  = 10000 // addresses remembered; beyond, the oldest quiet ones are forgotten
)

type loginLimiter struct {
	mu    sync.Mutex
	addrs map[string]*loginState
}

type loginState struct {
	misses int
	until  time.Time // no try before this
	last   time.Time // last miss
}

func newLoginLimiter() *loginLimiter { return &loginLimiter{addrs: map[string]*loginState{}} }

func clientAddr(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	// An IPv6 client is counted by its /64: one customer's network is
	// routed a /64 at least, and picking a new source address in it for
	// every try would otherwise give a guesser 2^64 times the free tries.
	if ip := net.ParseIP(h); ip != nil && ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return h
}

// wait is how long addr must still wait before its next try (0: go ahead).
func (l *loginLimiter) wait(addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.addrs[addr]
	if s == nil || !now.Before(s.until) {
		return 0
	}
	return s.until.Sub(now)
}

func (l *loginLimiter) miss(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.addrs[addr]
	if s == nil || now.Sub(s.last) > loginForget {
		if len(l.addrs) >= loginMaxAddrs {
			for a, o := range l.addrs {
				if now.Sub(o.last) > loginForget || now.After(o.until) {
					delete(l.addrs, a)
				}
			}
			// Still full (guesses from that many addresses at once): forget
			// any one, so memory stays bounded whoever asks.
			for a := range l.addrs {
				if len(l.addrs) < loginMaxAddrs {
					break
				}
				delete(l.addrs, a)
			}
		}
		s = &loginState{}
		l.addrs[addr] = s
	}
	s.misses++
	s.last = now
	if n := s.misses - loginFreeTries; n >= 0 {
		s.until = now.Add(min(loginMaxWait, time.Second<<min(n, 20)))
	}
}

func (l *loginLimiter) success(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.addrs, addr)
}

// throttled answers 429 when r's address must wait, and reports whether it did.
func (g *Gateway) throttled(w http.ResponseWriter, r *http.Request) bool {
	d := g.logins.wait(clientAddr(r), time.Now())
	if d <= 0 {
		return false
	}
	g.metrics.loginThrottled.Inc()
	w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	httpError(w, http.StatusTooManyRequests, "too many wrong tokens from this address: try again in "+d.Round(time.Second).String())
	return true
}
