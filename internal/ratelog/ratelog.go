// Package ratelog bounds the log lines that other parties can cause: a
// client that reconnects with a wrong password in a loop, or a scanner
// that opens connection after connection, must not fill the operator's
// disk or bury the lines that matter. Lines are grouped by a key naming
// their kind (never the peer), and each kind gets a few lines a window.
package ratelog

import (
	"sync"
	"time"
)

// Decision says what to do with one line.
type Decision int

const (
	// Drop: the kind's (or the window's) budget is spent.
	Drop Decision = iota
	// Log the line as it is.
	Log
	// LogLast: log it, saying that further lines like it are held back
	// until Until().
	LogLast
)

// Limiter lets PerKey lines of each key, and Total lines in all, through
// per Window. The zero value is not usable: use New.
type Limiter struct {
	perKey, total int
	window        time.Duration
	now           func() time.Time

	mu    sync.Mutex
	start time.Time
	seen  map[string]int // lines of each key let through in this window
	lines int
}

// New returns a limiter; now is the clock (nil: time.Now), which tests
// replace so that no assertion depends on how fast the machine is.
func New(perKey, total int, window time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{perKey: perKey, total: total, window: window, now: now, seen: map[string]int{}}
}

// Allow decides about one line of kind key.
func (l *Limiter) Allow(key string) Decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.start) >= l.window || now.Before(l.start) {
		// A new window forgets the last one's keys, so the map holds at most
		// Total keys however many kinds a peer can make up.
		l.start, l.lines = now, 0
		clear(l.seen)
	}
	if l.lines >= l.total {
		return Drop
	}
	n := l.seen[key]
	if n >= l.perKey {
		return Drop
	}
	l.seen[key] = n + 1
	l.lines++
	if n+1 == l.perKey || l.lines == l.total {
		return LogLast
	}
	return Log
}

// Until is when the current window ends: lines held back now may show
// again from then on.
func (l *Limiter) Until() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.start.Add(l.window)
}
