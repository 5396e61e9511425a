package gateway

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
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
