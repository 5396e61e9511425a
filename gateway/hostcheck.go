package gateway

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// DNS rebinding: a page on an attacker's domain whose name then resolves
// to 127.0.0.1 is same-origin with itself, so the browser lets it read an
// open dashboard. Its requests carry the attacker's name in Host, which is
// what checkHost refuses. An IP literal cannot be rebound, so any is
// accepted; names must be the machine's own, a loopback name, or listed.

// hostAllow is the set of host names an open dashboard answers to.
type hostAllow map[string]bool

// newHostAllow builds it from Config.AllowedHosts (host names, host:port,
// or URLs such as --public-url values) plus the loopback names and this
// machine's host name.
func newHostAllow(extra []string) (hostAllow, error) {
	a := hostAllow{"localhost": true}
	if h, err := os.Hostname(); err == nil && h != "" {
		a[strings.ToLower(h)] = true
	}
	for _, e := range extra {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		host := e
		if strings.Contains(e, "://") {
			u, err := url.Parse(e)
			if err != nil || u.Hostname() == "" {
				return nil, fmt.Errorf("%w: public URL %q: want scheme://host[:port][/path]", ErrBadConfig, e)
			}
			host = u.Hostname()
		} else if h, _, err := net.SplitHostPort(e); err == nil {
			host = h
		}
		a[strings.ToLower(strings.Trim(host, "[]"))] = true
	}
	return a, nil
}

func (a hostAllow) allows(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "" {
		return true // HTTP/1.0 without Host: not a browser
	}
	if net.ParseIP(host) != nil || a[host] || strings.HasSuffix(host, ".localhost") {
		return true
	}
	return false
}

// checkHost refuses, on an open dashboard (no token), requests whose Host
// names none of the served names: 421 Misdirected Request. /healthz stays
// open to any name: it holds no data, and probes use all kinds.
func (g *Gateway) checkHost(next http.Handler) http.Handler {
	if g.cfg.Token != "" {
		return next // a rebinding page has no session: the token guards
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.hosts.allows(r.Host) || r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		httpError(w, http.StatusMisdirectedRequest, fmt.Sprintf("host %q is not a name this dashboard is served under; "+
			"add it with --public-url (or Config.AllowedHosts), or set a token", r.Host))
	})
}
