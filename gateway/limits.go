package gateway

import (
	"syscall"
	"time"
)

// Limits bound what any client can make the server hold (docs/reliability.md
// lists each with its flag). Zero fields take their defaults.
type Limits struct {
	// MaxConns bounds open HTTP connections, WebSockets included. Default
	// 10000, or half the process's open-file limit when that is lower:
	// the embedded NATS server shares the process's file descriptors.
	MaxConns int
	// MaxConnsPerAddr bounds the open HTTP connections of one client
	// address. Default 1000. Behind a reverse proxy every client has the
	// proxy's address: raise it to MaxConns there.
	MaxConnsPerAddr int

	// MaxWidgets bounds the widgets that exist; a config or update that
	// would create another is refused (ErrTooManyWidgets). Default 10000.
	MaxWidgets int
	// MaxSeries bounds the series of one chart; an update that would add
	// another is refused (ErrTooManySeries). Default 100.
	MaxSeries int
	// MaxWidgetBytes bounds what one widget's state costs (statebytes.go:
	// about its bytes in memory). A chart update past it is refused; table
	// ops past it (new rows, and updates that grow a row) are left out and
	// counted (ErrWidgetBytes). Default 64 MiB.
	MaxWidgetBytes int
	// MaxStateBytes bounds all widgets' state together, the same way
	// (ErrStateBytes). Default 256 MiB.
	MaxStateBytes int

	// HeaderTimeout bounds reading a request's headers: a connection that
	// has not sent them whole by then is closed. Default 10 s.
	HeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included. Default 30 s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response (the largest is a full
	// /api/widgets/{widget} of a big table). Default 60 s.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection left unused this long.
	// Default 60 s.
	IdleTimeout time.Duration
	// LoginTimeout bounds reading a POST /login body: a form of a few
	// hundred bytes needs no more, and a slow one must not hold a
	// connection for ReadTimeout. Default 5 s, and at most ReadTimeout.
	LoginTimeout time.Duration
}

// Defaults of the HTTP timeouts in Limits (HTTPServer). A WebSocket keeps
// its own deadlines once upgraded (gorilla/websocket clears the server's).
const (
	DefaultHeaderTimeout = 10 * time.Second
	DefaultReadTimeout   = 30 * time.Second
	DefaultWriteTimeout  = 60 * time.Second
	DefaultIdleTimeout   = 60 * time.Second
	DefaultLoginTimeout  = 5 * time.Second
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes = 64 << 10
)

func (l *Limits) setDefaults() {
	if l.MaxConns <= 0 {
		l.MaxConns = 10000
		var rl syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 0 && rl.Cur/2 < uint64(l.MaxConns) {
			l.MaxConns = max(16, int(rl.Cur/2))
		}
	}
	if l.MaxConnsPerAddr <= 0 {
		l.MaxConnsPerAddr = min(1000, l.MaxConns)
	}
	if l.MaxWidgets <= 0 {
		l.MaxWidgets = 10000
	}
	if l.MaxSeries <= 0 {
		l.MaxSeries = 100
	}
	if l.MaxStateBytes <= 0 {
		l.MaxStateBytes = 256 << 20
	}
	if l.MaxWidgetBytes <= 0 {
		l.MaxWidgetBytes = min(64<<20, l.MaxStateBytes)
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&l.HeaderTimeout, DefaultHeaderTimeout}, {&l.ReadTimeout, DefaultReadTimeout}, {&l.WriteTimeout, DefaultWriteTimeout},
		{&l.IdleTimeout, DefaultIdleTimeout}, {&l.LoginTimeout, DefaultLoginTimeout}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	l.LoginTimeout = min(l.LoginTimeout, l.ReadTimeout)
}
