// Package gateway folds the widget updates on the bus into bounded state,
// fans them out to browsers over WebSocket, replays state on connect and
// resume, and serves the dashboard. Mount Handler in any http.Server, or
// start the whole server (bus, gateway, HTTP) with StartServer.
//
// One update's way through, and who owns each step (each with its own lock;
// Gateway wires them and none writes another's fields):
//
//   - writer.go, ingest.go: updates taken off sv.>, validated (protocol.go,
//     config.go), stored in the log in batches and read back in order;
//   - state.go (the state owner): folds each into its widget (widget.go) and
//     turns it into an event; event.go is the one place events are encoded;
//     snapshot.go writes and restores the state;
//   - resume.go (the resume log): keeps recent events with their Position
//     (epoch, seq) and decides whether a reconnecting socket resumes;
//   - fanout.go, client.go (the fan-out): the sockets, the pacer that turns
//     the log's new events into shared frames, and the slow-socket policy.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
)

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("gateway: closed")

// ErrStarted is returned by a second call of Start: a Gateway starts once
// (after a failed Start, Close it and make a new one with New).
var ErrStarted = errors.New("gateway: already started")

// Config tunes a Gateway. The zero value is usable: a zero field takes its
// default. New refuses a negative size, count or duration with ErrBadConfig
// naming the field (MinFreeBytes excepted, where negative turns the check off).
type Config struct {
	// History is the default number of points a chart keeps. Default 1000.
	History int
	// MaxQueueBytes bounds what waits to be written to one socket; a socket
	// that falls further behind is cut off. Default 8 MiB.
	MaxQueueBytes int
	// MaxTableRows bounds the live rows of one table. Default 100000.
	MaxTableRows int
	// LogBytes bounds the recent events kept for resuming clients. Default 64 MiB.
	LogBytes int
	// MaxMessageBytes is the largest update accepted. Default 1 MiB.
	MaxMessageBytes int
	// CompactInterval is how often changed widgets are snapshotted and the
	// log they cover purged. Default 10s.
	CompactInterval time.Duration
	// CompactMessages triggers a compaction early after this many updates. Default 50000.
	CompactMessages uint64
	// Streams sizes the JetStream streams. Zero fields take
	// broker.StreamsConfig's defaults, except MaxMsgSize (default
	// MaxMessageBytes + 64 KiB, room for a batch's framing) and
	// SnapshotMaxBytes (default twice Limits.MaxStateBytes + 64 MiB).
	Streams broker.StreamsConfig
	// Limits bound what clients can make the server hold (limits.go).
	// Zero fields take their defaults, each documented on Limits.
	Limits Limits
	// IngestQueueBytes bounds the updates taken off the bus and waiting to
	// be validated and stored (counted with their memory overhead); beyond
	// it updates are dropped and counted. Default 512 MiB: a burst of a
	// million small core publishes fits.
	IngestQueueBytes int
	// IngestSubjects are the subjects updates are taken on, each on a NATS
	// connection of its own (the server queues each connection's messages
	// first in first out, so a flood on one never delays another's): sv.>,
	// or a prefix P.> under which an update arrives as P.<widget>.<kind>
	// and is taken as sv.<widget>.<kind>. Default: what the bus the
	// connection reaches gives (broker.IngestSubjectsOf: an embedded bus
	// of this process, sv.> and its 8 lanes or one per --nats-auth user;
	// any other server, sv.>). StartServer
	// sets what the embedded bus gives (broker.Broker.IngestSubjects: one
	// per --nats-auth user, svin.<n>.>; without it sv.> and 8 lanes by
	// widget, svin.anon.<lane>.>). The subscriptions share
	// IngestQueueBytes for what nats.go buffers before the ingest queue.
	IngestSubjects []string
	// DedupWindow is how long a publisher's Nats-Msg-Id is remembered, so a
	// resent update is stored once. Default 2 minutes, like JetStream's.
	DedupWindow time.Duration
	// StoreDir is the directory of the JetStream store, watched for free
	// space; "" watches nothing. StartServer sets it to the embedded
	// server's store (an external bus's disk is that deployment's).
	StoreDir string
	// RowsLinger is how long a widget fed by Pathway rows (sv.<widget>.rows)
	// waits for more rows of its pending time, after the last one, before
	// folding it (docs/protocol.md §1.6): a time with a successor is folded
	// when the successor's first row arrives, so this only delays the last
	// time of a run or of a pause. Longer keeps a slow or stalled writer's
	// time whole; shorter shows that last time sooner. Default 100 ms.
	RowsLinger time.Duration
	// MinFreeBytes is the free space kept on StoreDir's disk: below it
	// updates are refused (publishers get an error, /healthz 503) until
	// space is freed. Default 64 MiB; negative disables the check.
	MinFreeBytes int64
	// Logger receives operational logs. Default: slog.Default().
	Logger *slog.Logger

	// Socket keep-alive; tests shorten them. Defaults: pings every 25 s,
	// a socket whose pong is 30 s late is closed (docs/protocol.md §2).
	pingPeriod, pongWait time.Duration
	// writeWait bounds one write to a socket; a socket that takes no bytes
	// for that long is closed. Default 10 s; tests that stall a socket on
	// purpose lengthen it so that only the queue bound cuts it.
	writeWait time.Duration
	// beforeReplay, when set, runs in Start once the gateway takes updates
	// and before it reads the log back: tests publish into that window.
	beforeReplay func(*Gateway)
	// compactStep, when set, runs after each write of a compaction (a
	// widget's snapshot, all of them, the index): tests stop it there.
	compactStep func(step string)

	// Token, when set, guards every route but /healthz, /login and /static/:
	// a request needs "Authorization: Bearer <Token>", the session cookie the
	// login page sets, or a signed embed link (EmbedPath) for one widget.
	// Default "": everything is open, as on a trusted network.
	Token string
	// EmbedOrigins are the origins (scheme://host[:port], or "*" for any)
	// whose pages may open /ws and frame /embed/ pages, besides the
	// dashboard's own. Default: none, same-origin only.
	EmbedOrigins []string
	// BasePath is the path the server is reached under when a proxy
	// forwards requests without stripping it ("/streamviz/"): every route
	// moves below it, and /healthz answers at the root too. A handler
	// mounted with http.StripPrefix, or behind a proxy that strips, needs
	// none. Default "": the root.
	BasePath string
	// AllowedHosts are the host names (or host:port, or URLs like
	// --public-url) an open dashboard answers to besides IP addresses,
	// loopback names and the machine's host name; other Host headers get
	// 421, against DNS rebinding. Unused with a Token. Default: none.
	AllowedHosts []string
}

// check refuses negative sizes, counts and durations, naming the field:
// zero takes the default, and a negative one used to be taken silently as
// zero, so a program meaning "unlimited" by -1 got the default instead.
// MinFreeBytes is the exception (negative disables the check), and
// Streams keeps JetStream's meaning of its values.
func (c *Config) check() error {
	l := &c.Limits
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"History", int64(c.History)}, {"MaxQueueBytes", int64(c.MaxQueueBytes)}, {"MaxTableRows", int64(c.MaxTableRows)},
		{"LogBytes", int64(c.LogBytes)}, {"MaxMessageBytes", int64(c.MaxMessageBytes)}, {"IngestQueueBytes", int64(c.IngestQueueBytes)},
		{"Limits.MaxConns", int64(l.MaxConns)}, {"Limits.MaxConnsPerAddr", int64(l.MaxConnsPerAddr)}, {"Limits.MaxWidgets", int64(l.MaxWidgets)},
		{"Limits.MaxSeries", int64(l.MaxSeries)}, {"Limits.MaxWidgetBytes", int64(l.MaxWidgetBytes)}, {"Limits.MaxStateBytes", int64(l.MaxStateBytes)},
	} {
		if f.v < 0 {
			return fmt.Errorf("%w: Config.%s %d: want a positive number, or 0 for the default", ErrBadConfig, f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"CompactInterval", c.CompactInterval}, {"DedupWindow", c.DedupWindow}, {"RowsLinger", c.RowsLinger},
		{"Limits.HeaderTimeout", l.HeaderTimeout}, {"Limits.ReadTimeout", l.ReadTimeout}, {"Limits.WriteTimeout", l.WriteTimeout},
		{"Limits.IdleTimeout", l.IdleTimeout}, {"Limits.LoginTimeout", l.LoginTimeout},
	} {
		if f.v < 0 {
			return fmt.Errorf("%w: Config.%s %s: want a positive duration, or 0 for the default", ErrBadConfig, f.name, f.v)
		}
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.History <= 0 {
		c.History = 1000
	}
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = 8 << 20
	}
	if c.MaxTableRows <= 0 {
		c.MaxTableRows = 100000
	}
	if c.LogBytes <= 0 {
		c.LogBytes = 64 << 20
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 1 << 20
	}
	if c.CompactInterval <= 0 {
		c.CompactInterval = 10 * time.Second
	}
	if c.CompactMessages == 0 {
		c.CompactMessages = 50000
	}
	if c.IngestQueueBytes <= 0 {
		c.IngestQueueBytes = 512 << 20
	}
	if c.DedupWindow <= 0 {
		c.DedupWindow = 2 * time.Minute
	}
	if c.RowsLinger <= 0 {
		c.RowsLinger = DefaultRowsLinger
	}
	if c.MinFreeBytes == 0 {
		c.MinFreeBytes = 64 << 20
	}
	if c.Streams.MaxMsgSize == 0 {
		// A stored message is a batch (or one update stored alone with its
		// headers): room for the largest update and its framing.
		c.Streams.MaxMsgSize = int32(min(c.MaxMessageBytes+64<<10, 1<<31-1))
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Limits.setDefaults()
	if c.Streams.SnapshotMaxBytes == 0 {
		// Room for every widget's snapshot twice (a new one is written
		// before the old is dropped), and the index.
		c.Streams.SnapshotMaxBytes = 2*int64(c.Limits.MaxStateBytes) + 64<<20
	}
	if c.pingPeriod <= 0 {
		c.pingPeriod = defaultPingPeriod
	}
	if c.pongWait <= 0 {
		c.pongWait = defaultPongWait
	}
	if c.writeWait <= 0 {
		c.writeWait = defaultWriteWait
	}
}

// Gateway is the NATS → WebSocket bridge and the dashboard's HTTP server.
type Gateway struct {
	cfg Config
	nc  *nats.Conn
	js  jetstream.JetStream
	// The three owners Gateway wires together: state folds updates into
	// widgets and produces events, events (the resume log) keeps them for
	// sockets, fanout delivers them (docs/protocol.md §2, §5).
	state    *state
	events   *resumeLog
	fanout   *fanout
	metrics  *metrics
	upgrader websocket.Upgrader
	log      *slog.Logger
	rejects  rejectLog

	mu       sync.Mutex
	closed   bool
	started  bool // Start was called: its goroutines must not run twice
	conns    sync.WaitGroup
	consume  jetstream.ConsumeContext
	logCons  jetstream.Consumer // the log's ordered consumer: its name changes when it is remade
	stop     chan struct{}
	bg       sync.WaitGroup
	compactN chan struct{}
	// compactMu makes compactions of this gateway take turns (the loop's,
	// Close's last one); lock makes those of every gateway on the bus.
	compactMu sync.Mutex
	lock      *compactLock

	// Derived from the config once: the cookie a login sets and each page's headers.
	session                          string
	cspDashboard, cspEmbed, cspLogin string
	xfoEmbed                         string

	limiter    atomic.Pointer[connLimiter] // set by HTTPServer
	handshakes atomic.Int64                // WebSocket handshakes under way (limitSockets)
	joins      joinBudget                  // first messages being sent (joinbudget.go)
	hosts      hostAllow
	logins     *loginLimiter

	logStream, snapStream jetstream.Stream
	ingested              uint64 // messages seen by ingest; its goroutine only

	w              *writer       // takes updates off the bus into the log
	refusedReplies atomic.Uint64 // reply subjects that were not inboxes
	hijackLogged   atomic.Bool   // a writer that cannot hijack was logged (hijack.go)
	// ready is set once Start has restored the state: before, the handler
	// would show an empty dashboard that Start never corrects (startgate.go).
	ready atomic.Bool
	// booting is set while Start rebuilds the state from the log: what it
	// applies again was accepted, refused and logged by an earlier run.
	booting atomic.Bool
}

// New prepares a gateway on an open NATS connection; Start brings it up.
func New(nc *nats.Conn, cfg Config) (*Gateway, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if len(cfg.IngestSubjects) == 0 {
		cfg.IngestSubjects = broker.IngestSubjectsOf(nc)
	}
	if err := checkIngestSubjects(cfg.IngestSubjects); err != nil {
		return nil, err
	}
	origins, err := normalizeOrigins(cfg.EmbedOrigins)
	if err != nil {
		return nil, err
	}
	cfg.EmbedOrigins = origins
	if cfg.BasePath, err = normalizeBasePath(cfg.BasePath); err != nil {
		return nil, err
	}
	hosts, err := newHostAllow(cfg.AllowedHosts)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("gateway: jetstream: %w", err)
	}
	g := &Gateway{
		cfg: cfg, nc: nc, js: js, log: cfg.Logger, hosts: hosts, logins: newLoginLimiter(),
		stop:     make(chan struct{}),
		compactN: make(chan struct{}, 1),
		lock:     newCompactLock(),
		rejects:  rejectLog{last: map[string]time.Time{}, log: cfg.Logger},
	}
	g.events = newResumeLog(cfg.LogBytes)
	g.state = newState(cfg.History, cfg.MaxTableRows, cfg.Limits, g.events)
	g.state.onConflict = g.logConflict
	g.fanout = newFanout(g.events, cfg.MaxQueueBytes)
	g.fanout.pingPeriod, g.fanout.pongWait, g.fanout.writeWait = cfg.pingPeriod, cfg.pongWait, cfg.writeWait
	g.events.appended = g.fanout.wake
	g.w = newWriter(g)
	g.metrics = newMetrics(g)
	// Idle sockets should cost little: write buffers come from a pool only
	// while a frame is written, and the read buffer is small because a
	// browser sends nothing but pongs.
	g.upgrader = websocket.Upgrader{ReadBufferSize: 512, WriteBufferSize: 32 << 10, WriteBufferPool: &sync.Pool{}, CheckOrigin: g.checkOrigin}
	if cfg.Token != "" {
		g.session = sessionValue(cfg.Token)
	}
	g.pageHeaders()
	return g, nil
}

// Start ensures the streams, restores the state kept in them and returns
// once every update stored before the call has been applied, so the first
// browser sees everything. Updates keep flowing until Close.
//
// ctx bounds the start alone: cancelling it later stops nothing, Close
// does. Start runs once per Gateway; another call returns ErrStarted
// (ErrClosed after Close).
func (g *Gateway) Start(ctx context.Context) error {
	g.mu.Lock()
	closed, started := g.closed, g.started
	g.started = true
	g.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if started {
		// A second run would start the writer's and the fan-out's
		// goroutines again, and the first Close would panic the process.
		return ErrStarted
	}
	st, err := broker.EnsureStreams(ctx, g.js, g.cfg.Streams)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	// Handles are opened once: each lookup is a round trip to the server.
	if g.logStream, err = g.js.Stream(ctx, broker.LogStream); err != nil {
		return fmt.Errorf("gateway: open %s: %w", broker.LogStream, err)
	}
	if g.snapStream, err = g.js.Stream(ctx, broker.SnapshotStream); err != nil {
		return fmt.Errorf("gateway: open %s: %w", broker.SnapshotStream, err)
	}
	if st.Migrated {
		g.log.Warn("the update log was written by an older version (publishers stored into it directly); it now takes batches from the gateway, keeps its updates, and has a new epoch (open pages reload their state once)",
			"stream", broker.LogStream, "epoch", st.Epoch)
	}
	if mp := g.nc.MaxPayload(); mp > 0 && mp < int64(g.cfg.MaxMessageBytes) {
		// An external bus set smaller than --max-message-bytes: updates
		// between the two never reach the gateway, whatever it accepts.
		g.log.Warn("the bus takes messages of at most its max_payload, less than --max-message-bytes: larger updates cannot be published (clients are refused by the bus); raise max_payload in the NATS server's configuration, or lower --max-message-bytes",
			"max_payload", mp, "max_message_bytes", g.cfg.MaxMessageBytes)
	}
	// Take updates from now on, so none published while the log replays is
	// lost; they queue until it has been read (dedup needs its ids), then
	// are stored behind it.
	if err := g.w.start(); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	if g.cfg.beforeReplay != nil {
		g.cfg.beforeReplay(g)
	}
	// Positions (logformat.go): the log is purged up to compacted, and no
	// record lies past the last stored message.
	compacted := posBefore(st.FirstSeq)
	maxGen, idx, err := g.loadSnapshots(ctx, pos(st.LastSeq, maxBatchRecords), compacted)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	// Events after floor can be rebuilt from the log, so clients holding a
	// position at or above it resume across this restart.
	floor := max(maxGen, compacted)
	lastEvent := floor
	if idx != nil && idx.Event != nil && idx.Gen >= floor && *idx.Event <= floor {
		// No event lay between the last one and the newest compaction's
		// position (what came after it was refused, or is folding): a
		// client holding the last event has missed nothing, and the next
		// event follows it.
		lastEvent = *idx.Event
	}
	g.state.startEventsAt(floor, lastEvent, compacted)
	g.fanout.startAt(lastEvent, g.events.start(st.Epoch, lastEvent))
	waitFor := st.LastSeq
	if st.Msgs == 0 {
		waitFor = 0 // compacted away: nothing to replay
	}
	if err := g.startIngest(ctx, waitFor); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	g.w.replayDone()
	g.startRows()
	g.bg.Add(3)
	go g.compactLoop()
	go func() {
		defer g.bg.Done()
		g.w.dropReporter(g.stop)
	}()
	go func() {
		defer g.bg.Done()
		g.fanout.pace(g.stop)
	}()
	g.ready.Store(true)
	return nil
}

// Close cuts every socket with a "going away" close frame, stops ingesting,
// and writes a last snapshot. It does not close the NATS connection (close
// the broker after it). Calling it again, or before Start, is safe.
func (g *Gateway) Close(ctx context.Context) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	consume := g.consume
	g.mu.Unlock()
	// Store what publishers sent before the consumer stops, so it is applied
	// (and acknowledged) now rather than at the next start.
	g.w.close(ctx)
	close(g.stop)
	if consume != nil {
		consume.Stop()
		select {
		case <-consume.Closed():
		case <-ctx.Done():
		}
	}
	g.fanout.close()
	done := make(chan struct{})
	go func() { g.conns.Wait(); g.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		if n := g.w.waiting.Load(); n > 0 {
			// Say what the deadline cost: updates taken off the bus and never
			// stored; none of them was acknowledged to its publisher.
			return fmt.Errorf("gateway: close: %d updates from publishers were not stored: %w", n, ctx.Err())
		}
		return fmt.Errorf("gateway: close: %w", ctx.Err())
	}
	if err := g.compact(ctx); errors.Is(err, errCompactionBusy) {
		// The log is purged only as far as stored snapshots cover, so what
		// this gateway would have written is still in it: nothing is lost,
		// the next start only replays more.
		g.log.Info("no last snapshot: another gateway on the bus is compacting", "err", err)
	} else if err != nil {
		return fmt.Errorf("gateway: final snapshot: %w", err)
	}
	return nil
}

// track counts a handler that holds a socket, so Close can wait for it.
func (g *Gateway) track() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.conns.Add(1)
	return true
}

func (g *Gateway) untrack() { g.conns.Done() }

// rejectLogLines bounds the lines rejectLog lets through a minute, whatever
// their keys: a publisher naming a new widget (or reply subject) in every
// message would otherwise get one line per message.
const rejectLogLines = 100

// rejectLog rate-limits rejection logs to one per widget and reason a minute,
// and to rejectLogLines a minute in all, so a flood of bad input cannot
// flood the log; what it holds back is still counted by the callers.
type rejectLog struct {
	mu     sync.Mutex
	last   map[string]time.Time
	window time.Time // when the current minute of the overall budget began
	lines  int       // lines let through in it
	log    *slog.Logger
}

func (r *rejectLog) allow(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if t, ok := r.last[key]; ok && now.Sub(t) < time.Minute {
		return false
	}
	if now.Sub(r.window) >= time.Minute {
		r.window, r.lines = now, 0
	}
	if r.lines >= rejectLogLines {
		if r.lines == rejectLogLines && r.log != nil {
			r.log.Warn(fmt.Sprintf("more than %d distinct refusals this minute: further ones are counted (/healthz, /metrics) but not logged", rejectLogLines),
				"until", r.window.Add(time.Minute).Format(time.RFC3339))
		}
		r.lines = rejectLogLines + 1
		return false
	}
	r.lines++
	if len(r.last) > 10000 {
		clear(r.last)
	}
	r.last[key] = now
	return true
}

// streamStatus is the event stream's part of /healthz, read from its owners.
type streamStatus struct {
	Epoch    string `json:"epoch"`
	Seq      uint64 `json:"seq"`
	Widgets  int    `json:"widgets"`
	Clients  int    `json:"clients"`
	Accepted uint64 `json:"accepted"`
	Rejected uint64 `json:"rejected"`
	Slow     uint64 `json:"slow_disconnects"`
	// Compacted is where the log is purged up to: what came before is in
	// the snapshots. Publishers cannot read the stream, so this says it.
	Compacted uint64 `json:"compacted"`
	// WidgetLimit is --max-widgets and the updates it refused: without it a
	// dashboard at the limit looks whole while new widgets never appear.
	WidgetLimit WidgetLimitStatus `json:"widget_limit"`
}

// WidgetLimitStatus is /healthz's "widget_limit".
type WidgetLimitStatus struct {
	Max     int    `json:"max"`
	Refused uint64 `json:"refused"` // updates (configs or data) naming a widget past Max
}

func (g *Gateway) status() streamStatus {
	st := g.state.status()
	head, _ := g.events.head()
	return streamStatus{
		Epoch: head.Epoch, Seq: head.Seq, Widgets: st.widgets, Clients: g.fanout.count(),
		Accepted: st.accepted, Rejected: st.rejected, Slow: g.fanout.slow.Load(), Compacted: st.compacted,
		WidgetLimit: WidgetLimitStatus{Max: st.maxWidgets, Refused: st.widgetsRefused},
	}
}
