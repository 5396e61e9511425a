// Package broker gives StreamViz its bus: a NATS server with JetStream
// embedded in the process, or a connection to an existing NATS deployment,
// plus the JetStream streams the gateway keeps its state in.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/streamviz/streamviz/internal/ratelog"
	"github.com/streamviz/streamviz/protocol"
)

// Errors callers can match with errors.Is.
var (
	ErrConfig      = errors.New("broker: bad configuration")
	ErrUnreachable = errors.New("broker: NATS unreachable")
	ErrStart       = errors.New("broker: embedded NATS failed to start")
)

// Config chooses between embedding a server and using an external one.
type Config struct {
	// URL of an existing NATS server or cluster. Empty (the default) embeds one.
	URL string
	// Addr is the embedded server's client listener, host:port. Default
	// "127.0.0.1:4222"; port 0 picks a free port.
	Addr string
	// DataDir is the embedded JetStream store. Default: a private temporary
	// directory removed by Close.
	DataDir string
	// Name of the connection as the server sees it. Default "streamviz".
	Name string
	// SyncInterval is how often the embedded JetStream fsyncs its files in the
	// background, at least MinSyncInterval. Default 0: fsync every write before acknowledging it, so an
	// acknowledged update survives a power loss, not only a process crash.
	SyncInterval time.Duration
	// MaxPayload is the largest message the embedded server takes (payload
	// and headers), raised to leave headers room above it. Default and
	// minimum: NATS's 1 MiB.
	MaxPayload int32
	// MaxConns bounds the embedded server's client connections over its
	// listener; the gateway's own in-process ones (its connection and one
	// per ingest lane, IngestSubjects) use no descriptor and come on top. Default: a
	// quarter of the process's open-file limit (NATS's own default is
	// 65,536): the process's HTTP side takes up to half of it
	// (gateway.Limits.MaxConns), and NATS connections past the rest would
	// exhaust the descriptors both share.
	MaxConns int
	// MaxPending bounds what the embedded server holds for one client
	// connection that reads slower than it is sent to (NATS's max_pending).
	// Past three quarters of it the server stalls the publishers sending to
	// that connection; past all of it, it closes the connection as a slow
	// consumer, and what publishers send until the connection is back is
	// lost with no count. Default: NATS's own 64 MiB (DefaultMaxPending).
	// A smaller bound holds a flood back sooner (issue 10 finding 9) but
	// was measured to close the gateway's ingest connection on a quiet
	// machine under the SDK's ~900 KiB columnar messages (docs/protocol.md §5).
	MaxPending int64
	// ConnectTimeout bounds the first connection. Default 5s.
	ConnectTimeout time.Duration
	// Logger receives the embedded server's messages (notices at debug
	// level; its warnings and errors, such as a stream it could not
	// recover, at warning and error level) and the connection's
	// asynchronous errors. Default: none.
	Logger *slog.Logger
	// logNow is the clock of Logger's rate limits (nil: time.Now); tests
	// stop it so that what they count never depends on the machine's speed.
	logNow func() time.Time
	// RecoverStore, when the store in DataDir is damaged, moves it aside
	// (DataDir/damaged-<time>/jetstream) and starts with an empty one,
	// saying so in the log. Default false: refuse to start (ErrDamagedStore).
	RecoverStore bool

	// Users are the publishers the embedded server admits (ReadAuthFile
	// reads them from a --nats-auth file), each in a NATS account of its
	// own (accounts.go). Default none: anyone who reaches the listener may
	// publish, anonymously, with the default rights (sv.> and its own
	// inbox; never the JetStream API or svsnap.>), all in one account. The
	// gateway always connects as GatewayUser, alone in its account, which
	// can read the log but not publish to it.
	Users []AuthUser
	// TLSCert and TLSKey are PEM files; with them the embedded listener
	// accepts only TLS clients. Default: plain TCP.
	TLSCert, TLSKey string
	// CredsFile authenticates the connection to URL (a NATS .creds file).
	// Default: none (user and password may also be given in the URL).
	CredsFile string
	// CAFile holds the PEM certificates that verify URL's TLS certificate.
	// Default: the system's roots.
	CAFile string
}

// Broker is a running bus and the gateway's connection to it.
type Broker struct {
	srv     *server.Server // nil when external
	lock    *dirLock       // the data dir's, while embedded
	nc      *nats.Conn
	closed  chan struct{} // closed when nc has closed
	tempDir string
	dir     string // the embedded store's directory; "" when external
	url     string
	ingest  []string // embedded: where each publisher account's updates reach the gateway
}

// Start embeds a NATS server with JetStream (or connects to cfg.URL) and
// returns once a connection is up. ctx bounds the start alone (its
// deadline shortens ConnectTimeout): cancelling it later stops nothing;
// Close does, and calling it again is safe.
func Start(ctx context.Context, cfg Config) (*Broker, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = "streamviz"
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.URL != "" {
		if cfg.Addr != "" || cfg.DataDir != "" || len(cfg.Users) > 0 || cfg.TLSCert != "" || cfg.TLSKey != "" || cfg.SyncInterval != 0 {
			return nil, fmt.Errorf("%w: --nats-addr, --data-dir, --sync, --nats-auth and --nats-tls-* configure the embedded server; they cannot be used with --nats-url", ErrConfig)
		}
		return connectExternal(ctx, cfg)
	}
	if cfg.CredsFile != "" || cfg.CAFile != "" {
		return nil, fmt.Errorf("%w: --nats-creds and --nats-ca are for connecting to --nats-url; the embedded server uses --nats-auth and --nats-tls-*", ErrConfig)
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:4222"
	}
	return startEmbedded(ctx, cfg)
}

// check refuses the values no default can stand for, naming the field (and
// the flag that sets it, for serve's users): a negative SyncInterval, or
// one under 2ns, made nats-server panic the whole process when it created
// a stream (its timer draws a random start in [interval/2, interval)).
func (cfg *Config) check() error {
	if cfg.SyncInterval < 0 || cfg.SyncInterval > 0 && cfg.SyncInterval < MinSyncInterval {
		return fmt.Errorf("%w: Config.SyncInterval (--sync) %s: want 0, an fsync before each acknowledgement, or an interval of at least %s such as 1s", ErrConfig, cfg.SyncInterval, MinSyncInterval)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxPayload", int64(cfg.MaxPayload)}, {"MaxConns", int64(cfg.MaxConns)}, {"MaxPending", cfg.MaxPending}, {"ConnectTimeout", int64(cfg.ConnectTimeout)},
	} {
		if f.v < 0 {
			return fmt.Errorf("%w: Config.%s %d: want a positive value, or 0 for the default", ErrConfig, f.name, f.v)
		}
	}
	return nil
}

// MinSyncInterval is the shortest Config.SyncInterval the embedded
// JetStream can time (its background fsync starts at a random point in the
// interval's second half, which must not be empty).
const MinSyncInterval = 2 * time.Nanosecond

func connectExternal(ctx context.Context, cfg Config) (*Broker, error) {
	// Replies to the gateway (JetStream API answers, the log's and the
	// snapshots' messages its consumers fetch) arrive under a prefix of its
	// own, as on the embedded bus: publishers may subscribe to _INBOX.> for
	// their acknowledgements and would read the whole log there.
	extra := []nats.Option{nats.CustomInboxPrefix(gatewayInbox)}
	for _, f := range []struct{ flag, path string }{{"--nats-creds", cfg.CredsFile}, {"--nats-ca", cfg.CAFile}} {
		if f.path == "" {
			continue
		}
		// nats.go reads these lazily, at each connect; an unreadable one
		// should fail now, named, not as a connection error.
		if _, err := os.ReadFile(f.path); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrConfig, f.flag, err)
		}
	}
	if cfg.CredsFile != "" {
		extra = append(extra, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.CAFile != "" {
		extra = append(extra, nats.RootCAs(cfg.CAFile))
	}
	b := &Broker{url: cfg.URL, closed: make(chan struct{})}
	nc, err := connect(ctx, cfg.URL, cfg, b.closed, extra)
	if err != nil {
		return nil, err
	}
	b.nc = nc
	return b, nil
}

// embeddedIngest maps each embedded server running in this process (its
// ID) to the subjects its publishers' updates reach the gateway on, so a
// gateway given only a connection takes the right ones (IngestSubjectsOf).
var embeddedIngest sync.Map

// IngestSubjectsOf are the subjects a gateway on nc takes updates on when
// its config names none: those of the embedded bus nc is connected to, if
// that bus runs in this process (sv.> and the anonymous lanes, or one per
// --nats-auth user), else sv.> (an external server, where the deployment
// routes publishers to sv.> in the gateway's account).
func IngestSubjectsOf(nc *nats.Conn) []string {
	if v, ok := embeddedIngest.Load(nc.ConnectedServerId()); ok {
		return slices.Clone(v.([]string))
	}
	return []string{protocol.SubjectWildcard}
}

func connect(ctx context.Context, url string, cfg Config, closed chan struct{}, extra []nats.Option) (*nats.Conn, error) {
	timeout := cfg.ConnectTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	opts := append([]nats.Option{
		nats.Name(cfg.Name),
		nats.Timeout(timeout),
		// Keep trying forever once connected: a dashboard outlives bus restarts.
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
		// Async errors (a permissions violation, a slow consumer) go to the
		// server's log rather than nats.go's default of printing to stderr.
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if cfg.Logger != nil {
				cfg.Logger.Warn("nats connection error", "err", err)
			}
		}),
	}, extra...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		// Both wrapped: callers can tell an authorization failure (nats.ErrAuthorization) apart.
		return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, RedactURLs(url), err)
	}
	return nc, nil
}

func startEmbedded(ctx context.Context, cfg Config) (*Broker, error) {
	host, portText, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w: --nats-addr %q: %v", ErrConfig, cfg.Addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("%w: --nats-addr %q: bad port", ErrConfig, cfg.Addr)
	}
	if len(cfg.Users) > 0 {
		if err := validateUsers(cfg.Users); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	tlsConfig, err := loadServerTLS(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, err
	}
	if port == 0 {
		// The server's own "random port" is -1; 0 would mean its default 4222.
		port = server.RANDOM_PORT
	} else {
		// The server only logs a failed listen and then never becomes ready;
		// trying the address first turns "in use" into a clear, quick error.
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("%w: --nats-addr %s: %v", ErrStart, cfg.Addr, err)
		}
		ln.Close()
	}
	b := &Broker{closed: make(chan struct{})}
	dir := cfg.DataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "streamviz-*"); err != nil {
			return nil, fmt.Errorf("%w: temporary data dir: %v", ErrStart, err)
		}
		b.tempDir = dir
	} else if err := checkWritableDir(dir); err != nil {
		return nil, err
	}
	b.dir = dir
	if b.lock, err = lockDir(dir); err != nil {
		b.cleanup()
		return nil, err
	}
	if problems := checkStore(dir); len(problems) > 0 {
		if !cfg.RecoverStore {
			b.cleanup()
			return nil, fmt.Errorf("%w in --data-dir %s:\n  %s\nnothing was changed; restore the files, or start with --recover-store to move the store aside and begin with an empty one",
				ErrDamagedStore, dir, strings.Join(problems, "\n  "))
		}
		to, err := moveStoreAside(dir, time.Now())
		if err != nil {
			b.cleanup()
			return nil, fmt.Errorf("%w: --recover-store: moving the store aside: %v", ErrDamagedStore, err)
		}
		if cfg.Logger != nil {
			cfg.Logger.Warn("damaged store moved aside (--recover-store); starting with an empty store: every widget starts empty and a new epoch begins",
				"problems", strings.Join(problems, "; "), "moved_to", to)
		}
	}
	opts := &server.Options{
		ServerName: cfg.Name,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		TLSConfig:  tlsConfig,
		// nats-server's own default is a background fsync every 2 minutes.
		SyncAlways:   cfg.SyncInterval == 0,
		SyncInterval: cfg.SyncInterval,
		MaxPayload:   max(1<<20, cfg.MaxPayload+64<<10),
		MaxConn:      maxConns(cfg.MaxConns),
	}
	opts.MaxPending = cfg.MaxPending
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending(opts.MaxPayload)
	}
	gwPassword, ingest, err := applyAuth(opts, cfg.Users)
	if err != nil {
		b.cleanup()
		return nil, err
	}
	// The gateway's in-process connections are not the publishers' to lose.
	opts.MaxConn += 1 + len(ingest)
	srv, err := server.NewServer(opts)
	if err != nil {
		b.cleanup()
		return nil, fmt.Errorf("%w: %v", ErrStart, err)
	}
	if cfg.Logger != nil {
		srv.SetLoggerV2(newLogAdapter(cfg.Logger, cfg.logNow), false, false, false)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		b.cleanup()
		return nil, fmt.Errorf("%w: not ready (is %s already in use?)", ErrStart, cfg.Addr)
	}
	if err := enableJetStream(srv); err != nil {
		srv.Shutdown()
		b.cleanup()
		return nil, err
	}
	b.srv = srv
	b.ingest = ingest
	b.url = srv.ClientURL()
	// The gateway's connection is in-process: it never touches the listener,
	// and the server lets it skip TLS.
	gwOpts := []nats.Option{nats.InProcessServer(srv), nats.UserInfo(GatewayUser, gwPassword), nats.CustomInboxPrefix(gatewayInbox)}
	// A tls:// URL would make the client insist on TLS, which an in-process
	// pipe does not need.
	nc, err := connect(ctx, "nats://"+strings.TrimPrefix(strings.TrimPrefix(b.url, "tls://"), "nats://"), cfg, b.closed, gwOpts)
	if err != nil {
		b.Close()
		return nil, err
	}
	b.nc = nc
	embeddedIngest.Store(srv.ID(), slices.Clone(ingest))
	return b, nil
}

func checkWritableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%w: --data-dir %q: %v", ErrConfig, dir, err)
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("%w: --data-dir %q is not writable: %v", ErrConfig, dir, err)
	}
	defer os.Remove(f.Name())
	// An empty file fits on a full disk; a block written and synced does not.
	_, err = f.Write(make([]byte, 4096))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%w: --data-dir %q is not writable (disk full?): %v", ErrConfig, dir, err)
	}
	return nil
}

// Conn is the broker's connection, shared by the gateway.
func (b *Broker) Conn() *nats.Conn { return b.nc }

// ClientURL is where publishers connect: the embedded listener's real
// address, or the external URL.
func (b *Broker) ClientURL() string { return b.url }

// DisplayURL is ClientURL as it may be logged or printed: a password or
// token in a URL (nats://user:password@host, nats://token@host) replaced by
// "redacted", so the ready line and the logs, which operators ship to log
// stores, never carry the bus's credentials.
func (b *Broker) DisplayURL() string { return RedactURLs(b.url) }

// RedactURLs replaces the secrets in a comma-separated list of NATS URLs:
// a URL's password, or its user when it has no password (NATS reads a lone
// user as a token). What does not parse as a URL with credentials is kept
// up to its last "@", which is replaced by "redacted@".
func RedactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		parts[i] = redactURL(p)
	}
	return strings.Join(parts, ",")
}

func redactURL(s string) string {
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return s
	}
	if u, err := url.Parse(strings.TrimSpace(s)); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "redacted")
		} else {
			u.User = url.User("redacted")
		}
		return u.String()
	}
	start := strings.Index(s, "://")
	if start < 0 {
		start = 0
	} else {
		start += 3
	}
	if start > at {
		return s
	}
	return s[:start] + "redacted" + s[at:]
}

// StoreDir is the embedded JetStream store's directory (the data dir, or
// the private temporary one); "" with an external bus.
func (b *Broker) StoreDir() string { return b.dir }

// IngestSubjects are the subjects the gateway takes updates on, each on a
// connection of its own (gateway.Config.IngestSubjects): on the embedded
// bus, one per publisher account (sv.> for the anonymous one, svin.<n>.>
// for --nats-auth user n); nil for an external bus, where the gateway takes
// sv.> in its account, however the deployment routes publishers there.
func (b *Broker) IngestSubjects() []string { return slices.Clone(b.ingest) }

// Embedded reports whether the server runs in this process.
func (b *Broker) Embedded() bool { return b.srv != nil }

// Close drains the connection, shuts the embedded server down (flushing the
// store), releases the data dir's lock and removes a temporary data dir.
// Calling it again is safe. Close the gateway on the connection first: its
// last snapshot needs the bus.
func (b *Broker) Close() error {
	var err error
	if b.nc != nil {
		if derr := b.nc.Drain(); derr != nil && !errors.Is(derr, nats.ErrConnectionClosed) {
			err = derr
		}
		// Drain is asynchronous: wait for the connection to close, but not forever.
		select {
		case <-b.closed:
		case <-time.After(5 * time.Second):
		}
		b.nc.Close()
	}
	if b.srv != nil {
		embeddedIngest.Delete(b.srv.ID())
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
	b.cleanup()
	return err
}

// cleanup releases the data dir's lock and removes a temporary one.
func (b *Broker) cleanup() {
	b.lock.release()
	b.lock = nil
	if b.tempDir != "" {
		os.RemoveAll(b.tempDir)
		b.tempDir = ""
	}
}

// logAdapter puts nats-server's messages in our log at their own level:
// its warnings are how a damaged store first shows, so they must not hide
// among debug lines. A warning or error about one connection (nats-server
// prefixes it with the peer: "127.0.0.1:5000 - cid:7 - ") is one that
// anyone reaching the port can cause once per connection, a wrong password
// in a reconnect loop say: those are rate-limited by kind, the peer left
// out of the kind, so such a loop costs a few lines a minute.
type logAdapter struct {
	log   *slog.Logger
	limit *ratelog.Limiter
}

// Budgets of peer lines: enough to see who keeps failing and how, few
// enough that a loop of thousands of connections a second is a handful of
// lines a minute.
const (
	peerLinesPerKind   = 5
	peerLinesPerMinute = 100
)

func newLogAdapter(log *slog.Logger, now func() time.Time) *logAdapter {
	return &logAdapter{log: log, limit: ratelog.New(peerLinesPerKind, peerLinesPerMinute, time.Minute, now)}
}

// peerPrefix matches what nats-server puts before a message about one
// connection: its address, kind and id, and the client's name and account
// when it gave them (quoted by nats-server).
var peerPrefix = regexp.MustCompile(`^\S+ - (?:cid|wid|rid|gid|mid\S*|lid\S*):\d+(?: - "(?:[^"\\]|\\.)*")* - `)

func (l *logAdapter) logf(level slog.Level, f string, a ...any) {
	msg := "nats: " + fmt.Sprintf(f, a...)
	loc := peerPrefix.FindStringIndex(f)
	if loc == nil {
		l.log.Log(context.Background(), level, msg)
		return
	}
	switch l.limit.Allow(level.String() + " " + f[loc[1]:]) {
	case ratelog.Drop:
	case ratelog.LogLast:
		l.log.Log(context.Background(), level, msg+" (further lines like it, from any connection, are not logged until the time given)",
			"until", l.limit.Until().UTC().Format(time.RFC3339))
	default:
		l.log.Log(context.Background(), level, msg)
	}
}

func (l *logAdapter) Noticef(f string, a ...any) { l.log.Debug("nats: " + fmt.Sprintf(f, a...)) }
func (l *logAdapter) Warnf(f string, a ...any)   { l.logf(slog.LevelWarn, f, a...) }
func (l *logAdapter) Fatalf(f string, a ...any)  { l.log.Error("nats fatal: " + fmt.Sprintf(f, a...)) }
func (l *logAdapter) Errorf(f string, a ...any)  { l.logf(slog.LevelError, f, a...) }
func (l *logAdapter) Debugf(string, ...any)      {}
func (l *logAdapter) Tracef(string, ...any)      {}

// DefaultMaxPending is the embedded server's max_pending for a server
// whose max_payload is maxPayload: NATS's default of 64 MiB, and never less
// than four largest messages, so the stall (at three quarters) always comes
// before one more message can close a connection. 4 × max payload (4.25 MiB)
// was tried for fairness: on a quiet machine 10M points of chart.extend in
// ~900 KiB messages had the ingest connection closed and 300,000 points lost
// (bench/results/sdk-quiet-end-20261203.jsonl), so the bound stays NATS's.
func DefaultMaxPending(maxPayload int32) int64 { return max(64<<20, 4*int64(maxPayload)) }

// LogPullBytes bounds what the gateway asks the server to send for one pull
// when it reads a stream: the largest message the server takes, with room
// for its subject and headers (a pull must fit any one message). Reading
// more at once could pass max_pending (DefaultMaxPending) and have the
// server close the gateway's connection.
func LogPullBytes(maxPayload int64) int { return int(maxPayload) + 4096 }

// maxConns is the embedded server's connection bound: n, or by default a
// quarter of the open-file limit (at least 64, at most NATS's 65,536).
func maxConns(n int) int {
	if n > 0 {
		return n
	}
	n = server.DEFAULT_MAX_CONNECTIONS
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 0 && rl.Cur/4 < uint64(n) {
		n = max(64, int(rl.Cur/4))
	}
	return n
}
