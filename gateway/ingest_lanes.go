package gateway

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/nats-io/nats.go"

	"github.com/streamviz/streamviz/protocol"
)

// ingestLane is one subscription the writer takes updates on, on a
// connection of its own (Config.IngestSubjects). The server queues what it
// sends a connection in one buffer, first in first out: updates arriving on
// different lanes never wait behind each other there. The embedded bus
// gives each --nats-auth user's account a lane, and without it spreads the
// anonymous publishers' widgets over 8 lanes (broker.AnonymousLanes), so a
// flood does not stand in front of another user's or another lane's
// acknowledged publishes (issue 10 finding 9); within a lane a publisher's
// updates keep their order.
type ingestLane struct {
	subject string // sv.>, or <prefix>.> whose updates arrive as <prefix>.<widget>.<kind>
	prefix  string // what stands for sv. in the lane's subjects; "" when it is sv. itself
	conn    *nats.Conn
	sub     *nats.Subscription
	bus     busLoss       // what the server dropped on the way to sub
	drops   atomic.Uint64 // the last count of nats.go's drops read from sub
}

// checkIngestSubjects accepts sv.> and prefixes ending in ".>".
func checkIngestSubjects(subjects []string) error {
	seen := map[string]bool{}
	for _, s := range subjects {
		p, ok := strings.CutSuffix(s, ">")
		if !ok || !strings.HasSuffix(p, ".") || len(p) < 2 || strings.ContainsAny(p, "*> \t\r\n") || strings.Contains(p, "..") {
			return fmt.Errorf("%w: IngestSubjects: %q is not a subject prefix ending in .>", ErrBadConfig, s)
		}
		if seen[s] {
			return fmt.Errorf("%w: IngestSubjects: %q listed twice", ErrBadConfig, s)
		}
		seen[s] = true
	}
	return nil
}

// openLane subscribes to subject on a connection of its own.
func (w *writer) openLane(subject string) (*ingestLane, error) {
	l := &ingestLane{subject: subject}
	if p := strings.TrimSuffix(subject, ">"); p != protocol.SubjectPrefix {
		l.prefix = p
	}
	ic, err := ingestConn(w.g.nc, w.busHandlers(&l.bus))
	if err != nil {
		return nil, err
	}
	l.bus.connected(ic)
	handler := w.onMsg
	if l.prefix != "" {
		handler = func(m *nats.Msg) {
			m.Subject = protocol.SubjectPrefix + m.Subject[len(l.prefix):]
			w.onMsg(m)
		}
	}
	sub, err := ic.QueueSubscribe(subject, IngestQueue, handler)
	if err == nil {
		// The handler only queues, so nats.go's own buffer stays short; it is
		// bounded anyway, and what it drops is counted (sub.Dropped). The
		// lanes share IngestQueueBytes, so more lanes hold no more memory,
		// but each may buffer at least one largest update.
		n := len(w.g.cfg.IngestSubjects)
		err = sub.SetPendingLimits(4_000_000/n, max(w.g.cfg.IngestQueueBytes/n, min(w.g.cfg.IngestQueueBytes, w.g.cfg.MaxMessageBytes+64<<10)))
	}
	if err == nil {
		// The subscription is on the server once this returns, so an update
		// published after Start is taken.
		err = ic.Flush()
	}
	if err != nil {
		ic.Close()
		return nil, fmt.Errorf("subscribe %s: %w", subject, err)
	}
	l.conn, l.sub = ic, sub
	return l, nil
}

// laneDown names a lane whose connection is not up, or returns "".
func (w *writer) laneDown() string {
	for _, l := range w.lanes {
		if !l.conn.IsConnected() {
			return fmt.Sprintf("NATS ingest connection (%s) %s", l.subject, l.conn.Status())
		}
	}
	return ""
}

// busDisconnects is how often the bus closed an ingest connection.
func (w *writer) busDisconnects() uint64 {
	var n uint64
	for _, l := range w.lanes {
		n += l.bus.disconnects.Load()
	}
	return n
}
