package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/streamviz/streamviz/broker"
	"github.com/streamviz/streamviz/internal/ratelog"
)

// ServerConfig composes a whole StreamViz server: the bus (embedded or
// external), the gateway on it and the HTTP server in front. `streamviz
// serve` and `demo`, the benchmarks' profiling server and the tests start
// it the same way, through StartServer.
type ServerConfig struct {
	// Listener is where HTTP is served; required (claim it first, so a busy
	// port fails before anything starts). Server.Close closes it.
	Listener net.Listener
	// Broker starts or connects the bus. Its Logger defaults to Gateway's.
	Broker broker.Config
	// Gateway configures the gateway.
	Gateway Config
	// TLS, when set, serves HTTPS. Default nil: plain HTTP.
	TLS *tls.Config
	// Wrap, when set, wraps the gateway's handler (the benchmarks add
	// profiling endpoints beside it). Default nil: the gateway's handler.
	Wrap func(http.Handler) http.Handler
	// StartTimeout bounds the gateway's start (reading the stored state
	// back). Default 60 s.
	StartTimeout time.Duration
	// logNow is the clock of the HTTP server's log rate limit (nil:
	// time.Now); tests stop it so that what they count never depends on
	// the machine's speed.
	logNow func() time.Time
}

// Budgets of the HTTP server's own lines (net/http's ErrorLog): each is
// about one connection (a TLS handshake that failed: a scanner, or a plain
// HTTP request to the HTTPS port), which anyone reaching the port can cause
// once per connection.
const (
	peerLinesPerKind   = 5
	peerLinesPerMinute = 100
)

// peerDetail is what varies between lines of one kind: addresses, ports,
// lengths.
var peerDetail = regexp.MustCompile(`[\[\]0-9a-fA-F:.]*[0-9][\[\]0-9a-fA-F:.]*`)

// httpErrorLog puts net/http's lines in the log at warning level, a few of
// each kind a minute.
type httpErrorLog struct {
	log   *slog.Logger
	limit *ratelog.Limiter
}

func (h *httpErrorLog) Write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\n")
	switch h.limit.Allow(peerDetail.ReplaceAllString(line, "#")) {
	case ratelog.Drop:
	case ratelog.LogLast:
		h.log.Warn(line+" (further lines like it, from any connection, are not logged until the time given)",
			"until", h.limit.Until().UTC().Format(time.RFC3339))
	default:
		h.log.Warn(line)
	}
	return len(p), nil
}

// Server is a running composition: Close stops it.
type Server struct {
	Broker  *broker.Broker
	Gateway *Gateway
	http    *http.Server
	ln      net.Listener
	url     string
	served  chan error
}

// StartServer starts the bus, the gateway (which returns once every stored
// update is applied) and the HTTP server, in that order; on an error it
// undoes what it started. A bad gateway config wraps ErrBadConfig. ctx
// bounds the start alone: cancelling it later stops nothing; Close does.
func StartServer(ctx context.Context, cfg ServerConfig) (*Server, error) {
	if cfg.Listener == nil {
		return nil, fmt.Errorf("%w: ServerConfig.Listener is required", ErrBadConfig)
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	if cfg.Broker.Logger == nil {
		cfg.Broker.Logger = cfg.Gateway.Logger
	}
	b, err := broker.Start(ctx, cfg.Broker)
	if err != nil {
		return nil, err
	}
	if cfg.Gateway.StoreDir == "" {
		// The disk-full guard watches the store it protects (issue 10
		// finding 4); without this, serve never checked its disk.
		cfg.Gateway.StoreDir = b.StoreDir()
	}
	if len(cfg.Gateway.IngestSubjects) == 0 {
		cfg.Gateway.IngestSubjects = b.IngestSubjects()
	}
	g, err := New(b.Conn(), cfg.Gateway)
	if err != nil {
		return nil, errors.Join(err, b.Close())
	}
	startCtx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	err = g.Start(startCtx)
	cancel()
	if err != nil {
		// Closing the bus stops what Start began; Gateway.Close would write
		// a final snapshot of a state that was never whole.
		return nil, errors.Join(err, b.Close())
	}
	srv, ln := g.HTTPServer(cfg.Listener)
	srv.ErrorLog = log.New(&httpErrorLog{log: g.log, limit: ratelog.New(peerLinesPerKind, peerLinesPerMinute, time.Minute, cfg.logNow)}, "", 0)
	if cfg.Wrap != nil {
		srv.Handler = cfg.Wrap(srv.Handler)
	}
	scheme := "http"
	if cfg.TLS != nil {
		scheme, ln = "https", tls.NewListener(ln, cfg.TLS)
	}
	s := &Server{Broker: b, Gateway: g, http: srv, ln: ln, served: make(chan error, 1),
		url: scheme + "://" + cfg.Listener.Addr().String() + "/" + strings.TrimPrefix(g.BasePath(), "/")}
	go func() { s.served <- srv.Serve(ln) }()
	return s, nil
}

// URL is the dashboard's address (with the base path).
func (s *Server) URL() string { return s.url }

// Served reports the HTTP server stopping on its own (an accept error).
func (s *Server) Served() <-chan error { return s.served }

// Close cuts every socket with a close frame, stops HTTP, writes the final
// snapshot, drains NATS and flushes the store, within ctx. Calling it again
// is safe.
func (s *Server) Close(ctx context.Context) error {
	gerr := s.Gateway.Close(ctx)
	herr := s.http.Shutdown(ctx)
	berr := s.Broker.Close()
	return errors.Join(gerr, herr, berr)
}
