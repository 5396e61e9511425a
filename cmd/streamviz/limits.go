package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/streamviz/streamviz/gateway"
)

// limitFlags are the bounds on what clients can make the server hold and
// the names it answers to (docs/reliability.md, "Limits").
type limitFlags struct {
	maxConns, maxConnsPerAddr int
	publicURL                 string
}

func (l *limitFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&l.maxConns, "max-conns", 0, "open HTTP connections (WebSockets included) at most; idle ones are closed to make room (default 10000, or half the open-file limit if lower)")
	fs.IntVar(&l.maxConnsPerAddr, "max-conns-per-addr", 0, "open HTTP connections of one client address at most (default 1000; behind a proxy, raise it to --max-conns)")
	fs.StringVar(&l.publicURL, "public-url", "", "comma-separated URLs the dashboard is reached at (https://dash.example/): without a token, requests naming another host are refused (421), against DNS rebinding")
}

func (l *limitFlags) check() error {
	for _, v := range []struct {
		name string
		n    int
	}{{"max-conns", l.maxConns}, {"max-conns-per-addr", l.maxConnsPerAddr}} {
		if v.n < 0 {
			return fmt.Errorf("%w: --%s %d: want a positive number (0: the default)", errUsage, v.name, v.n)
		}
	}
	return nil
}

// apply fills cfg; addr is --addr, whose host is a served name too.
func (l *limitFlags) apply(cfg *gateway.Config, addr string) {
	cfg.Limits.MaxConns, cfg.Limits.MaxConnsPerAddr = l.maxConns, l.maxConnsPerAddr
	if host, _, err := net.SplitHostPort(addr); err == nil && host != "" {
		cfg.AllowedHosts = append(cfg.AllowedHosts, host)
	}
	for _, u := range strings.Split(l.publicURL, ",") {
		if u = strings.TrimSpace(u); u != "" {
			cfg.AllowedHosts = append(cfg.AllowedHosts, u)
		}
	}
}

// minTokenLen is the shortest token that does not get a warning: 16
// random characters are beyond guessing at the login's rate limit.
const minTokenLen = 16

// warnExposure says at start what makes the dashboard easy to reach or
// guess: a short token; a listener beyond loopback that takes anyone.
func warnExposure(log *slog.Logger, token, httpAddr, natsAddr string, natsAuth, external bool) {
	if token != "" && len(token) < minTokenLen {
		log.Warn(fmt.Sprintf("the token is %d characters long: use at least %d random ones (streamviz serve prints none; e.g. openssl rand -hex 16)", len(token), minTokenLen))
	}
	if token == "" && !isLoopback(httpAddr) {
		log.Warn("the dashboard listens beyond this machine without a token: anyone who reaches "+httpAddr+" sees every widget (set --token-file or STREAMVIZ_TOKEN)", "addr", httpAddr)
	}
	if !external && !natsAuth && !isLoopback(natsAddr) {
		log.Warn("the embedded NATS listens beyond this machine without --nats-auth: anyone who reaches "+natsAddr+" can publish to every widget", "nats_addr", natsAddr)
	}
}

// isLoopback reports whether the listen address host:port only takes
// connections from this machine.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
