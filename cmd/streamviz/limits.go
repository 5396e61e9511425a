package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/streamviz/streamviz/gateway"
)

// limitFlags are the bounds on what clients can make the server hold and
// the names it answers to (docs/reliability.md, "Limits").
type limitFlags struct {
	maxConns, maxConnsPerAddr int
	maxWidgets, maxSeries     int
	maxWidgetBytes            byteSize
	maxStateBytes             byteSize
	maxSnapshotBytes          byteSize
	ingestQueueBytes          byteSize
	publicURL                 string
	// HTTP timeouts (gateway.Limits).
	headerTimeout, readTimeout, writeTimeout, idleTimeout, loginTimeout time.Duration
}

func (l *limitFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&l.maxConns, "max-conns", 0, "open HTTP connections (WebSockets included) at most; idle ones are closed to make room (default 10000, or half the open-file limit if lower)")
	fs.IntVar(&l.maxConnsPerAddr, "max-conns-per-addr", 0, "open HTTP connections of one client address at most (default 1000; behind a proxy, raise it to --max-conns)")
	fs.IntVar(&l.maxWidgets, "max-widgets", 0, "widgets at most; a config or update that would create another is refused and counted (default 10000)")
	fs.IntVar(&l.maxSeries, "max-series", 0, "series of one chart at most; an update adding another is refused and counted (default 100)")
	fs.Var(&l.maxWidgetBytes, "max-widget-bytes", "state one widget may hold, such as 64MiB: chart points past it are refused, table rows (new or grown) left out, both counted (default 64MiB)")
	fs.Var(&l.maxStateBytes, "max-state-bytes", "state all widgets together may hold, such as 256MiB, refused the same way (default 256MiB)")
	fs.Var(&l.maxSnapshotBytes, "max-snapshot-bytes", "size of the snapshot stream SV_SNAP, such as 576MiB, at least 1MiB; when full a compaction fails loudly and is retried (default twice --max-state-bytes plus 64MiB)")
	fs.Var(&l.ingestQueueBytes, "ingest-queue-bytes", "updates taken off the bus and waiting to be stored, at most, such as 512MiB (memory included); core publishes beyond it are dropped and counted, acknowledged ones refused with 503 (default 512MiB)")
	fs.DurationVar(&l.headerTimeout, "header-timeout", gateway.DefaultHeaderTimeout, "an HTTP connection that has not sent a request's headers whole within this is closed")
	fs.DurationVar(&l.readTimeout, "read-timeout", gateway.DefaultReadTimeout, "an HTTP connection that has not sent a whole request, body included, within this is closed")
	fs.DurationVar(&l.writeTimeout, "write-timeout", gateway.DefaultWriteTimeout, "an HTTP response not written within this is cut (WebSockets keep their own deadlines)")
	fs.DurationVar(&l.idleTimeout, "idle-timeout", gateway.DefaultIdleTimeout, "a keep-alive HTTP connection unused this long is closed")
	fs.DurationVar(&l.loginTimeout, "login-timeout", gateway.DefaultLoginTimeout, "a POST /login body not sent whole within this is answered 400 and its connection closed (at most --read-timeout)")
	fs.StringVar(&l.publicURL, "public-url", "", "comma-separated absolute http(s) URLs (or host names) the dashboard is reached at (https://dash.example/): without a token, requests naming another host are refused (421), against DNS rebinding")
}

func (l *limitFlags) check() error {
	for _, v := range []struct {
		name string
		n    int
	}{{"max-conns", l.maxConns}, {"max-conns-per-addr", l.maxConnsPerAddr}, {"max-widgets", l.maxWidgets}, {"max-series", l.maxSeries}} {
		if v.n < 0 {
			return fmt.Errorf("%w: --%s %d: want a positive number (0: the default)", errUsage, v.name, v.n)
		}
	}
	// The snapshot stream takes messages of up to 1MiB (snapshot chunks of
	// 512KiB and their index): a smaller stream fits no snapshot of a sizable
	// widget, so compaction would fail and retry forever while the log fills.
	if l.maxSnapshotBytes != 0 && l.maxSnapshotBytes < minSnapshotBytes {
		return fmt.Errorf("%w: --max-snapshot-bytes %d: want at least 1MiB (%d bytes), the largest snapshot message; leave it out for twice --max-state-bytes plus 64MiB", errUsage, int64(l.maxSnapshotBytes), minSnapshotBytes)
	}
	if err := checkPublicURLs(l.publicURL); err != nil {
		return err
	}
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"header-timeout", l.headerTimeout}, {"read-timeout", l.readTimeout}, {"write-timeout", l.writeTimeout}, {"idle-timeout", l.idleTimeout}, {"login-timeout", l.loginTimeout}} {
		if v.d <= 0 {
			return fmt.Errorf("%w: --%s %s: want a positive duration such as 10s", errUsage, v.name, v.d)
		}
	}
	return nil
}

const minSnapshotBytes = 1 << 20

// checkPublicURLs refuses a --public-url entry that is neither an absolute
// http(s) URL nor a bare host name (host[:port], which the gateway has
// always taken too): "not a url" or a typo such as "http//dash.example"
// was taken as a host name, so the dashboard answered a name nobody uses
// and refused (421) the one meant.
func checkPublicURLs(list string) error {
	for _, e := range strings.Split(list, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		if !strings.Contains(e, "://") && hostName(e) {
			continue
		}
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Opaque != "" {
			return fmt.Errorf("%w: --public-url %q: want absolute http:// or https:// URLs (or host names), comma-separated, such as https://dash.example/", errUsage, e)
		}
	}
	return nil
}

// hostName reports whether e is host or host:port, the host a DNS name
// (letters, digits, dots and hyphens) or an IP literal.
func hostName(e string) bool {
	if h, _, err := net.SplitHostPort(e); err == nil {
		e = h
	}
	if net.ParseIP(strings.Trim(e, "[]")) != nil {
		return true
	}
	if e == "" || len(e) > 253 {
		return false
	}
	for _, r := range e {
		if !(r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// apply fills cfg; addr is --addr, whose host is a served name too.
func (l *limitFlags) apply(cfg *gateway.Config, addr string) {
	cfg.Limits.MaxConns, cfg.Limits.MaxConnsPerAddr = l.maxConns, l.maxConnsPerAddr
	cfg.Limits.MaxWidgets, cfg.Limits.MaxSeries = l.maxWidgets, l.maxSeries
	cfg.Limits.MaxWidgetBytes, cfg.Limits.MaxStateBytes = int(l.maxWidgetBytes), int(l.maxStateBytes)
	cfg.Streams.SnapshotMaxBytes = int64(l.maxSnapshotBytes)
	cfg.Limits.HeaderTimeout, cfg.Limits.ReadTimeout, cfg.Limits.WriteTimeout = l.headerTimeout, l.readTimeout, l.writeTimeout
	cfg.Limits.IdleTimeout, cfg.Limits.LoginTimeout = l.idleTimeout, l.loginTimeout
	cfg.IngestQueueBytes = int(l.ingestQueueBytes)
	if host, _, err := net.SplitHostPort(addr); err == nil && host != "" {
		cfg.AllowedHosts = append(cfg.AllowedHosts, host)
	}
	for _, u := range strings.Split(l.publicURL, ",") {
		if u = strings.TrimSpace(u); u != "" {
			cfg.AllowedHosts = append(cfg.AllowedHosts, u)
		}
	}
}

// byteSize is a flag of bytes: a number, or one with a unit (KiB, MiB,
// GiB, or KB, MB, GB in powers of 1000).
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(v string) error {
	v = strings.TrimSpace(v)
	i := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	num, unit := v, ""
	if i >= 0 {
		num, unit = v[:i], strings.TrimSpace(v[i:])
	}
	mult, ok := map[string]int64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "KB": 1e3, "MB": 1e6, "GB": 1e9}[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n <= 0 || n > (1<<46)/mult {
		return fmt.Errorf("want a positive size such as 65536, 64MiB or 1GiB")
	}
	*b = byteSize(n * mult)
	return nil
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
