package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/streamviz/streamviz/broker"
	"github.com/streamviz/streamviz/gateway"
)

type serveFlags struct {
	addr, natsAddr, natsURL, dataDir string
	history                          int
	maxMessageBytes                  byteSize
	maxTableRows                     int
	sync                             syncFlag
	exitWithStdin, recoverStore      bool
	sec                              natsSecurity
	auth                             authFlags
	limits                           limitFlags
	embedOrigins                     string
	basePath                         string
	tlsCert, tlsKey                  string
	rowsLinger                       time.Duration
	set                              map[string]bool // given on the command line or in the environment
}

// parseServeFlags reads flags, each defaulting to STREAMVIZ_<FLAG> from env.
func parseServeFlags(name string, args []string, stderr io.Writer, env func(string) string) (*serveFlags, error) {
	f := &serveFlags{set: map[string]bool{}}
	fs := flag.NewFlagSet("streamviz "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:3000", "HTTP listen address (dashboard, /ws, /api)")
	fs.StringVar(&f.natsAddr, "nats-addr", "127.0.0.1:4222", "embedded NATS listener for publishers (port 0 picks a free port)")
	fs.StringVar(&f.natsURL, "nats-url", "", "use this NATS server or cluster instead of embedding one: comma-separated nats://, tls://, ws:// or wss:// URLs (host:port alone is nats://)")
	fs.StringVar(&f.dataDir, "data-dir", "", "JetStream storage directory (default: a temporary directory removed at exit)")
	fs.Var(&f.sync, "sync", "when JetStream fsyncs: always (the default: before acknowledging each update) or an interval such as 1s (faster; a power loss may lose that much)")
	fs.IntVar(&f.history, "history", 1000, "default number of points a chart keeps")
	f.maxMessageBytes = 1 << 20
	fs.Var(&f.maxMessageBytes, "max-message-bytes", "largest update accepted, such as 1MiB or 1048576 (1KiB to 64MiB; default 1MiB)")
	fs.IntVar(&f.maxTableRows, "max-table-rows", 100000, "live rows a table holds; new keys beyond are left out and counted (1 to 10000000)")
	fs.DurationVar(&f.rowsLinger, "rows-linger", gateway.DefaultRowsLinger, "how long a widget fed by Pathway rows (sv.<widget>.rows) waits, after its last row, for more rows of that Pathway time before showing it; a later time shows it at once (1ms to 1m: longer keeps a stalled writer's time whole, shorter shows a run's last time sooner)")
	fs.BoolVar(&f.recoverStore, "recover-store", false, "when --data-dir's store is damaged, move it aside (to <data-dir>/damaged-<time>/) and start empty instead of refusing to start")
	fs.BoolVar(&f.exitWithStdin, "exit-with-stdin", false, "shut down when standard input closes (a parent that dies, even by SIGKILL, takes the server with it)")
	f.sec.register(fs)
	f.auth.register(fs)
	f.limits.register(fs)
	fs.StringVar(&f.embedOrigins, "embed-origins", "", "comma-separated origins (https://a.example) whose pages may frame /embed/ pages and open /ws; default: same origin only")
	fs.StringVar(&f.basePath, "base-path", "", "serve everything under this path (like /streamviz/) for a reverse proxy that forwards it unstripped; /healthz also answers at the root")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate (needs --tls-key)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "the PEM private key of --tls-cert")
	hintParseErrors(fs)
	if err := applyEnv(fs, env, f.set); err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	// An empty --token-file is refused; so is --token "$UNSET", which would
	// otherwise serve an open dashboard without a word on loopback.
	if f.set["token"] && f.auth.value == "" {
		return nil, fmt.Errorf("%w: --token is empty: give the token, or leave --token out for a dashboard open to whoever reaches it", errUsage)
	}
	if f.history < 1 || f.history > 100000 {
		return nil, fmt.Errorf("%w: --history %d: want 1 to 100000", errUsage, f.history)
	}
	if f.maxMessageBytes < 1024 || f.maxMessageBytes > 64<<20 {
		return nil, fmt.Errorf("%w: --max-message-bytes %d: want 1KiB to 64MiB (1024 to %d)", errUsage, f.maxMessageBytes, 64<<20)
	}
	if f.maxTableRows < 1 || f.maxTableRows > 10_000_000 {
		return nil, fmt.Errorf("%w: --max-table-rows %d: want 1 to 10000000", errUsage, f.maxTableRows)
	}
	if f.rowsLinger < minRowsLinger || f.rowsLinger > maxRowsLinger {
		return nil, fmt.Errorf("%w: --rows-linger %s: want %s to %s (such as 100ms or 3s)", errUsage, f.rowsLinger, minRowsLinger, maxRowsLinger)
	}
	if err := f.limits.check(); err != nil {
		return nil, err
	}
	if err := checkNATSURL(f.natsURL); err != nil {
		return nil, err
	}
	if err := f.sec.check(name, f.natsURL != ""); err != nil {
		return nil, err
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return nil, fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
	}
	if f.natsURL != "" {
		for _, n := range []string{"nats-addr", "data-dir", "sync", "recover-store"} {
			if f.set[n] {
				return nil, fmt.Errorf("%w: --%s configures the embedded NATS server and cannot be used with --nats-url", errUsage, n)
			}
		}
	}
	return f, nil
}

// natsSchemes are the schemes nats.go connects with; it dials any other
// as plain NATS, so "bogus://x" failed later as a DNS or connection error
// instead of naming the scheme.
var natsSchemes = map[string]bool{"nats": true, "tls": true, "ws": true, "wss": true}

// checkNATSURL checks --nats-url as nats.go reads it: comma-separated
// URLs, each nats://, tls://, ws:// or wss://, or host:port alone (which
// nats.go takes as nats://).
func checkNATSURL(list string) error {
	if list == "" {
		return nil
	}
	n := 0
	for _, e := range strings.Split(list, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		n++
		full := e
		if !strings.Contains(e, "://") {
			full = "nats://" + e
		}
		u, err := url.Parse(full)
		if err != nil {
			return fmt.Errorf("%w: --nats-url %q: not a URL (%v): want nats://host:port, tls://, ws:// or wss://, comma-separated", errUsage, broker.RedactURLs(e), err)
		}
		if !natsSchemes[u.Scheme] {
			return fmt.Errorf("%w: --nats-url %q: scheme %q is not one NATS speaks: want nats://, tls://, ws:// or wss:// (such as nats://bus:4222)", errUsage, broker.RedactURLs(e), u.Scheme)
		}
		if u.Hostname() == "" {
			return fmt.Errorf("%w: --nats-url %q: no host: want such as nats://bus:4222", errUsage, broker.RedactURLs(e))
		}
	}
	if n == 0 {
		return fmt.Errorf("%w: --nats-url %q: no URL in it: want nats://host:port, tls://, ws:// or wss://, comma-separated", errUsage, broker.RedactURLs(list))
	}
	return nil
}

// --rows-linger's range: below a millisecond a scheduler hiccup splits
// nearly every time; past a minute a run's last time is shown so late
// that it looks lost.
const (
	minRowsLinger = time.Millisecond
	maxRowsLinger = time.Minute
)

// hintParseErrors makes each int, duration and bool flag of fs say what it
// wants when a value does not parse: the flag package's own error is only
// "parse error", which leaves STREAMVIZ_HEADER_TIMEOUT=10 (no unit) a riddle.
func hintParseErrors(fs *flag.FlagSet) {
	// The help names a flag's kind (duration, int) by its Value's type, so
	// it is printed with the flag package's own Values back in place.
	fs.Usage = func() {
		fs.VisitAll(func(fl *flag.Flag) {
			if u, ok := fl.Value.(interface{ unwrap() flag.Value }); ok {
				fl.Value = u.unwrap()
			}
		})
		fmt.Fprintf(fs.Output(), "Usage of %s:\n", fs.Name())
		fs.PrintDefaults()
	}
	fs.VisitAll(func(fl *flag.Flag) {
		g, ok := fl.Value.(flag.Getter)
		if !ok {
			return
		}
		switch g.Get().(type) {
		case time.Duration:
			fl.Value = &hintedDuration{fl.Value}
		case int:
			fl.Value = &hintedInt{fl.Value}
		case bool:
			fl.Value = &hintedBool{fl.Value}
		}
	})
}

// One type per kind, each as a zero Value the wrapped kind's zero, should
// anything print defaults while they are in place.
type (
	hintedDuration struct{ flag.Value }
	hintedInt      struct{ flag.Value }
	hintedBool     struct{ flag.Value }
)

func hintSet(v flag.Value, s, want string) error {
	if err := v.Set(s); err != nil {
		return fmt.Errorf("%v: %s", err, want)
	}
	return nil
}

func hintString(v flag.Value, zero string) string {
	if v == nil {
		return zero
	}
	return v.String()
}

func (h *hintedDuration) Set(s string) error {
	return hintSet(h.Value, s, "want a duration with its unit, such as 100ms, 10s or 1m")
}
func (h *hintedDuration) String() string { return hintString(h.Value, "0s") }
func (h *hintedInt) Set(s string) error  { return hintSet(h.Value, s, "want a whole number") }
func (h *hintedInt) String() string      { return hintString(h.Value, "0") }
func (h *hintedBool) Set(s string) error { return hintSet(h.Value, s, "want true or false") }
func (h *hintedBool) String() string     { return hintString(h.Value, "false") }

func (h *hintedDuration) unwrap() flag.Value { return h.Value }
func (h *hintedInt) unwrap() flag.Value      { return h.Value }
func (h *hintedBool) unwrap() flag.Value     { return h.Value }

// IsBoolFlag keeps a bool flag one that takes no value (--recover-store).
func (h *hintedBool) IsBoolFlag() bool { return true }

// applyEnv sets each flag of fs from STREAMVIZ_<FLAG> when that is set; the
// command line, parsed afterwards, overrides it.
func applyEnv(fs *flag.FlagSet, env func(string) string, set map[string]bool) error {
	var envErr error
	fs.VisitAll(func(fl *flag.Flag) {
		key := "STREAMVIZ_" + strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_"))
		if v := env(key); v != "" {
			if err := fl.Value.Set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%w: %s=%q: %v", errUsage, key, v, err)
			}
			set[fl.Name] = true
		}
	})
	return envErr
}

// syncFlag is --sync: 0 for "always", else the background fsync interval.
type syncFlag time.Duration

func (s *syncFlag) String() string {
	if *s == 0 {
		return "always"
	}
	return time.Duration(*s).String()
}

func (s *syncFlag) Set(v string) error {
	if v == "always" {
		*s = 0
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("want always or a positive duration such as 1s")
	}
	if d < broker.MinSyncInterval {
		// nats-server panicked on such an interval once the streams were made.
		return fmt.Errorf("want always or a duration of at least %s such as 1s", broker.MinSyncInterval)
	}
	*s = syncFlag(d)
	return nil
}

// stdin is watched by --exit-with-stdin; tests replace it.
var stdin io.Reader = os.Stdin

// feedFunc publishes to the bus at url until ctx ends (the demo's feed).
type feedFunc func(ctx context.Context, url string, log *slog.Logger) error

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, feed feedFunc) error {
	name := "serve"
	if feed != nil {
		name = "demo"
	}
	f, err := parseServeFlags(name, args, stderr, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	token, err := f.auth.token()
	if err != nil {
		return err
	}
	var tlsCfg *tls.Config
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return fmt.Errorf("--tls-cert %s / --tls-key %s: %w", f.tlsCert, f.tlsKey, err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if f.exitWithStdin {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			// The parent never writes; EOF or an error means it is gone.
			_, _ = io.Copy(io.Discard, stdin)
			log.Info("standard input closed: shutting down")
			cancel()
		}()
	}

	// Claim the HTTP address first: a busy port fails before anything starts.
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", f.addr, err)
	}
	defer ln.Close()

	bcfg := broker.Config{URL: f.natsURL, Logger: log,
		MaxPayload: int32(f.maxMessageBytes)}
	if f.natsURL == "" {
		bcfg.Addr, bcfg.DataDir, bcfg.SyncInterval, bcfg.RecoverStore = f.natsAddr, f.dataDir, time.Duration(f.sync), f.recoverStore
	}
	if err := f.sec.apply(&bcfg); err != nil {
		return err
	}
	gcfg := gateway.Config{History: f.history, Logger: log,
		MaxMessageBytes: int(f.maxMessageBytes), MaxTableRows: f.maxTableRows,
		Token: token, EmbedOrigins: strings.Split(f.embedOrigins, ","), BasePath: f.basePath,
		RowsLinger: f.rowsLinger}
	f.limits.apply(&gcfg, ln.Addr().String())
	s, err := gateway.StartServer(ctx, gateway.ServerConfig{Listener: ln, Broker: bcfg, Gateway: gcfg, TLS: tlsCfg})
	if errors.Is(err, gateway.ErrBadConfig) {
		return fmt.Errorf("%w: --embed-origins, --public-url or --base-path: %w", errUsage, err)
	}
	if err != nil {
		return err
	}
	b := s.Broker
	dashURL := s.URL()
	ready, _ := json.Marshal(map[string]string{"event": "ready", "http": ln.Addr().String(), "url": dashURL, "nats": b.DisplayURL()})
	fmt.Fprintln(stdout, string(ready))
	log.Info("serving", "dashboard", dashURL, "nats", b.DisplayURL(), "embedded", b.Embedded(), "token", token != "")
	warnExposure(log, token, ln.Addr().String(), f.natsAddr, f.sec.auth != "", !b.Embedded())

	feedErr := make(chan error, 1)
	feedCtx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	if feed != nil {
		go func() { feedErr <- feed(feedCtx, b.ClientURL(), log) }()
	}
	procsCtx, stopProcs := context.WithCancel(ctx)
	procsDone := make(chan struct{})
	go func() {
		defer close(procsDone)
		governProcs(procsCtx, os.Getenv, s.Gateway, log)
	}()

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-s.Served():
		runErr = fmt.Errorf("http server: %w", err)
	case err := <-feedErr:
		if err != nil {
			runErr = fmt.Errorf("demo feed: %w", err)
		}
	}
	stopFeed()
	stopProcs()
	<-procsDone
	// Sockets get a close frame, HTTP stops, the final snapshot is written,
	// NATS drains and the store is flushed, within a bounded time.
	closeCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return errors.Join(runErr, s.Close(closeCtx))
}
