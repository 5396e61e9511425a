package gateway

import (
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// busLoss accounts for what the server dropped on the way to the ingest
// connection. A NATS server closes a connection whose unsent messages pass
// its max_pending (a slow consumer) and discards them; nats.go reconnects
// and subscribes again, and nothing on the client tells how many were lost.
// With the embedded server the gateway asks it: the closed connection's
// count of messages sent to it, less those this gateway received on it, is
// what was dropped (counted under reason "bus"). With an external server
// only the disconnection is known: counted, logged and in /healthz.
type busLoss struct {
	mu      sync.Mutex
	cid     uint64 // the server's id of the ingest connection now
	inBase  uint64 // its InMsgs when it connected
	pending []closedConn

	disconnects atomic.Uint64
}

type closedConn struct {
	cid, received uint64
	err           string
	tries         int
}

// connected notes the connection the server now knows ic by.
func (b *busLoss) connected(ic *nats.Conn) {
	cid, _ := ic.GetClientID()
	b.mu.Lock()
	b.cid, b.inBase = cid, ic.Stats().InMsgs
	b.mu.Unlock()
}

// disconnected notes a lost ingest connection and what it had received.
func (b *busLoss) disconnected(ic *nats.Conn, err error) {
	b.disconnects.Add(1)
	c := closedConn{received: ic.Stats().InMsgs}
	if err != nil {
		c.err = err.Error()
	}
	b.mu.Lock()
	c.cid, c.received = b.cid, c.received-b.inBase
	b.pending = append(b.pending, c)
	b.mu.Unlock()
}

// resolve asks the embedded server what it sent each lost connection and
// counts the difference as dropped; it runs once a second (dropReporter).
func (w *writer) resolveBusLoss() {
	for _, l := range w.lanes {
		w.resolveLaneLoss(&l.bus)
	}
}

func (w *writer) resolveLaneLoss(b *busLoss) {
	b.mu.Lock()
	pending := b.pending
	b.pending = nil
	b.mu.Unlock()
	if len(pending) == 0 {
		return
	}
	srv, _ := w.g.nc.Opts.InProcessServer.(*server.Server)
	var keep []closedConn
	for _, c := range pending {
		if srv == nil {
			w.log.Error("the ingest connection to the bus was lost; updates published until it was back may be lost, and the bus does not say how many",
				"err", c.err)
			continue
		}
		cz, err := srv.Connz(&server.ConnzOptions{CID: c.cid, State: server.ConnClosed})
		if err != nil || len(cz.Conns) != 1 {
			// The server records a closed connection as it finishes closing it.
			if c.tries++; c.tries < 30 {
				keep = append(keep, c)
			} else {
				w.log.Error("the ingest connection to the bus was lost and the server keeps no record of it; what it dropped is not known", "cid", c.cid, "err", c.err)
			}
			continue
		}
		ci := cz.Conns[0]
		lost := uint64(max(0, ci.OutMsgs-int64(c.received)))
		w.dropped[dropBus].Add(lost)
		w.log.Error("the bus closed the gateway's ingest connection and dropped what it held for it (counted as dropped, reason bus)",
			"reason", ci.Reason, "dropped", lost, "sent", ci.OutMsgs, "received", c.received)
	}
	if len(keep) > 0 {
		b.mu.Lock()
		b.pending = append(keep, b.pending...)
		b.mu.Unlock()
	}
}

// busHandlers are an ingest connection's own disconnect and reconnect
// handlers, accounting in b.
func (w *writer) busHandlers(b *busLoss) func(*nats.Options) {
	return func(o *nats.Options) {
		o.DisconnectedErrCB = func(ic *nats.Conn, err error) {
			if ic.IsClosed() {
				return // closed by the gateway
			}
			b.disconnected(ic, err)
			w.log.Warn("the ingest connection to the bus was lost; reconnecting", "err", err)
		}
		o.ReconnectedCB = func(ic *nats.Conn) {
			b.connected(ic)
			w.log.Info("the ingest connection to the bus is back")
		}
	}
}
