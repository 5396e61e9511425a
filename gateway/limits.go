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
}

// HTTP timeouts of HTTPServer. A WebSocket keeps its own deadlines once
// upgraded (gorilla/websocket clears the server's).
const (
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout = 30 * time.Second
	// WriteTimeout bounds writing a response (the largest is a full
	// /api/widgets/{widget} of a big table).
	WriteTimeout = 60 * time.Second
	// IdleTimeout closes a keep-alive connection left unused this long.
	IdleTimeout = 60 * time.Second
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes = 64 << 10
	// loginReadTimeout bounds reading a POST /login body: a form of a few
	// hundred bytes needs no more, and a slow one must not hold a
	// connection for ReadTimeout.
	loginReadTimeout = 5 * time.Second
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
}
