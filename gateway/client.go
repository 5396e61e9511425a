package gateway

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/streamviz/streamviz/protocol"
)

// CloseSlow cuts a socket that fell behind (docs/protocol.md §2.3).
const CloseSlow = protocol.CloseSlow

// Socket timing. Pings go out well inside the pong wait so one lost ping does
// not kill a healthy socket.
const (
	defaultPongWait   = 30 * time.Second
	defaultPingPeriod = 25 * time.Second
	defaultWriteWait  = 10 * time.Second
	maxReadBytes      = 4096
	// A browser has nothing to say; more than this many messages a second is abuse.
	maxReadsPerSecond = 20
	// writerIdle is the longest time between the pacer's sweeps, and a
	// writer goroutine with nothing to send for a whole sweep exits (after
	// one to two of them): an idle socket then costs one goroutine (its
	// reader), not two.
	writerIdle = time.Second
)

// client is one WebSocket. One reader goroutine handles pongs and notices the
// socket closing. Writing is done by at most one goroutine at a time: the
// handler sends the first message, then the pacer starts a writer when there
// is something to send, and the writer exits once idle. Nothing the fan-out
// does ever waits for a socket.
type client struct {
	f      *fanout
	conn   *websocket.Conn
	widget string // only this widget's events (embed mode)
	binary bool   // frames with columnar events go as binary frames (docs/protocol.md §2.4)

	sentSeq      atomic.Uint64 // the last event seq this socket was sent or skipped
	sentOff      atomic.Uint64 // log offset after it
	takenOff     atomic.Uint64 // log offset after what the writer has taken (written or being written): the queue bound is checked against it
	lastPing     atomic.Int64  // unix nanoseconds
	awaitingPong atomic.Bool   // a ping is out and unanswered
	sentFrame    *frame        // the shared frame last written; the writer's own
	deadline     time.Time     // the write deadline last given to conn; the writer's own
	busySweep    atomic.Uint64 // the pacer's sweep (fanout.sweeps) in which the writer last sent something
	joinOff      uint64        // log offset when it joined: a resume's catch-up before it is not backlog
	joinSeq      uint64        // the last event when it joined: what the log held then is sent uncoalesced

	mu        sync.Mutex
	first     []byte // snapshot or "resumed", sent before any event
	running   bool   // a writer (or the handler, for the first message) is writing
	pingDue   bool
	closing   bool
	finished  bool // the socket is closed; nothing may write any more
	closeCode int
	closeText string

	wake chan struct{}
	done chan struct{} // closed when the socket is finished
}

func newClient(f *fanout, conn *websocket.Conn, widget string, binary bool) *client {
	c := &client{f: f, conn: conn, widget: widget, binary: binary, running: true,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.lastPing.Store(time.Now().UnixNano())
	return c
}

// startAt sets where the socket starts reading the log. No other goroutine
// knows c yet, so its fields need no lock.
func (c *client) startAt(cur cursor) {
	c.sentSeq.Store(cur.seq)
	c.sentOff.Store(cur.off)
	c.joinOff, c.joinSeq = cur.joinOff, cur.joinSeq
}

// refuse makes a socket that cannot join (the gateway is closing) send only
// a close frame.
func (c *client) refuse() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.first = nil
	c.closing, c.closeCode, c.closeText = true, websocket.CloseGoingAway, "server shutting down"
}

// close asks the writer to send a close frame and stop. It reports whether
// this call is the one that started closing.
func (c *client) close(code int, text string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return false
	}
	c.closing, c.closeCode, c.closeText = true, code, text
	c.kickLocked()
	return true
}

func (c *client) requestPing() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pingDue = true
	c.kickLocked()
}

// kick makes sure a writer looks at the socket soon.
func (c *client) kick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kickLocked()
}

func (c *client) kickLocked() {
	switch {
	case c.finished:
	case c.running:
		select {
		case c.wake <- struct{}{}:
		default:
		}
	default:
		c.running = true
		go c.write()
	}
}

// nudge wakes the socket's writer, if it has one, to see whether it has
// been idle long enough to exit.
func (c *client) nudge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running && !c.finished {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// write sends whatever is due until there is nothing left, then waits for
// a kick. Once it has had nothing to send for a whole sweep of the pacer it
// gives the socket back; the sweep wakes it to look (fanout.sweep). It arms
// no timer of its own: with a socket woken every tick (25 ms at 1,000
// sockets), a timer reset and a two-way select per wait were a measurable
// part of fan-out's CPU.
func (c *client) write() {
	for {
		progress, stop := c.step()
		if stop {
			return
		}
		sweep := c.f.sweeps.Load()
		if progress {
			if c.busySweep.Load() != sweep {
				c.busySweep.Store(sweep)
			}
			continue
		}
		if sweep > c.busySweep.Load()+1 {
			if c.park() {
				return
			}
			continue
		}
		<-c.wake
	}
}

// park ends the writer's turn unless work arrived meanwhile; under c.mu, so
// a kick either sees the writer running or starts a new one.
func (c *client) park() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.pingDue || c.first != nil || c.sentSeq.Load() < c.f.frame.Load().to {
		return false
	}
	c.running = false
	return true
}

// step does one thing: close, ping, or send one frame. It reports whether
// it did anything, and stop when the socket is finished.
func (c *client) step() (progress, stop bool) {
	c.mu.Lock()
	closing, code, text, ping, first := c.closing, c.closeCode, c.closeText, c.pingDue, c.first
	c.pingDue, c.first = false, nil
	c.mu.Unlock()
	if closing {
		msg := websocket.FormatCloseMessage(code, text)
		_ = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.f.writeWait))
		c.finish()
		return true, true
	}
	if ping {
		now := time.Now()
		c.lastPing.Store(now.UnixNano())
		if !c.awaitingPong.Swap(true) {
			// The oldest unanswered ping sets the deadline.
			_ = c.conn.SetReadDeadline(now.Add(c.f.pongWait))
		}
		if err := c.conn.WriteControl(websocket.PingMessage, nil, now.Add(c.f.writeWait)); err != nil {
			c.finish()
			return true, true
		}
	}
	sent, err := c.flush(first)
	if err != nil {
		c.finish()
		return true, true
	}
	return ping || sent, false
}

// finish closes the socket for good: the reader then fails and the handler
// unregisters the client.
func (c *client) finish() {
	c.mu.Lock()
	c.finished, c.closing, c.running = true, true, false
	c.sentFrame = nil // the frames after it can go
	c.mu.Unlock()
	c.conn.Close()
	close(c.done)
}

// flush sends the first message and the events the socket has not had, up
// to the last tick: the ticks' shared frames when the socket has the events
// before them and sees every widget, a frame of its own otherwise.
func (c *client) flush(first []byte) (bool, error) {
	f := c.f.frame.Load()
	seq := c.sentSeq.Load()
	if first == nil && seq >= f.to {
		return false, nil
	}
	if first == nil && c.widget != "" && seq == f.from && f.ids != nil {
		if _, ok := f.ids[c.widget]; !ok {
			// Nothing for this embed socket in the tick: move on without
			// the log's lock or a write.
			c.sentSeq.Store(f.to)
			c.sentOff.Store(f.end)
			c.takenOff.Store(f.end)
			return true, nil
		}
	}
	if err := c.armWriteDeadline(); err != nil {
		return false, err
	}
	if first == nil && c.widget == "" && seq >= c.joinSeq {
		if nf := c.nextShared(seq, f); nf != nil {
			c.takenOff.Store(nf.end)
			pm, size := nf.prepared(c.binary)
			err := c.conn.WritePreparedMessage(pm)
			c.sent(size)
			c.sentFrame = nf
			c.sentSeq.Store(nf.to)
			c.sentOff.Store(nf.end)
			return true, err
		}
	}
	// What the log held when the socket joined is sent whole (a resume gets
	// every event after its position); only later ticks may be coalesced.
	to := f.to
	if seq < c.joinSeq {
		to = max(to, c.joinSeq)
	}
	bp := framePool.Get().(*[]byte)
	defer framePool.Put(bp)
	b, isBinary, last, end, err := c.f.events.collect(*bp, c.widget, seq, to, first, c.binary)
	*bp = b
	if err != nil {
		// The log no longer holds what this socket needs: it reconnects
		// with its position and gets a snapshot.
		c.f.cutSlow(c, "slow consumer: fell behind the resume log")
		return true, nil
	}
	c.takenOff.Store(end)
	if len(b) > 0 {
		kind := websocket.TextMessage
		if isBinary {
			kind = websocket.BinaryMessage
		}
		err = c.conn.WriteMessage(kind, b)
		c.sent(len(b))
	}
	c.sentFrame = nil
	if last == f.to && c.widget == "" {
		c.sentFrame = f
	}
	c.sentSeq.Store(last)
	c.sentOff.Store(end)
	return true, err
}

// armWriteDeadline gives the next write a deadline 0.9 to 1 times
// writeWait away. It moves the deadline only once a tenth of writeWait has
// passed: gorilla sets it on the connection before every write, and the
// connection skips a deadline it already has (limitedConn), so most frame
// writes re-arm no runtime timer (that was a measurable part of fan-out's
// CPU at 1,000 sockets).
func (c *client) armWriteDeadline() error {
	now := time.Now()
	if c.deadline.Sub(now) >= c.f.writeWait-c.f.writeWait/10 {
		return nil
	}
	c.deadline = now.Add(c.f.writeWait)
	return c.conn.SetWriteDeadline(c.deadline)
}

func (c *client) sent(n int) {
	c.f.frames.Add(1)
	c.f.bytes.Add(uint64(n))
}

// nextShared returns the shared frame that continues at seq, if the socket
// is close enough behind the latest tick f to walk the chain to it.
func (c *client) nextShared(seq uint64, f *frame) *frame {
	var nf *frame
	switch {
	case c.sentFrame != nil && c.sentFrame.to == seq:
		nf = c.sentFrame.next.Load()
	case f.from == seq:
		nf = f
	}
	if nf == nil || nf.from != seq {
		return nil
	}
	if pm, _ := nf.prepared(c.binary); pm == nil {
		return nil
	}
	// Far behind, one frame of its own beats a write per tick.
	behind := 0
	for x := nf; x != f && x != nil && behind <= maxChain; x = x.next.Load() {
		behind++
	}
	if behind > maxChain {
		return nil
	}
	return nf
}

// readLoop keeps the read deadline moving with pongs and returns when the
// socket dies, the peer closes it, or the peer talks too much.
func (c *client) readLoop() {
	c.conn.SetReadLimit(maxReadBytes)
	// Each ping must be answered within the pong wait of being sent (the
	// writer sets that deadline when it pings). A pong only lifts it to
	// past the next ping's answer: timing it from the pong instead would
	// close a healthy socket whose pong queued behind a backlog of frames.
	f := c.f
	_ = c.conn.SetReadDeadline(time.Now().Add(f.pingPeriod + f.pongWait))
	c.conn.SetPongHandler(func(string) error {
		c.awaitingPong.Store(false)
		return c.conn.SetReadDeadline(time.Now().Add(f.pingPeriod + f.pongWait))
	})
	windowStart, count := time.Now(), 0
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			c.close(websocket.CloseNormalClosure, "")
			return
		}
		if time.Since(windowStart) > time.Second {
			windowStart, count = time.Now(), 0
		}
		count++
		if count > maxReadsPerSecond {
			c.close(websocket.ClosePolicyViolation, "too many messages")
			return
		}
	}
}

// serveWS upgrades the request and runs the client until its socket closes.
func (g *Gateway) serveWS(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	widget := q.Get("widget")
	epoch, seqText := q.Get("epoch"), q.Get("seq")
	var seq uint64
	hasPos := epoch != "" && seqText != ""
	var bad string
	if widget != "" && !ValidID(widget) {
		bad = "bad ?widget=: letters, digits, - and _, 1 to 64 characters"
	} else if hasPos {
		var err error
		if seq, err = strconv.ParseUint(seqText, 10, 64); err != nil {
			bad = "bad ?seq=: want a non-negative integer"
		}
	}
	if bad != "" {
		// A browser cannot read the status of a failed handshake, but it
		// does get a close frame's code and reason.
		g.refuseWS(w, r, websocket.ClosePolicyViolation, bad)
		return
	}
	if !g.track() {
		g.refuseWS(w, r, websocket.CloseGoingAway, "server shutting down")
		return
	}
	start := time.Now()
	conn, err := g.upgrader.Upgrade(w, r, nil)
	if err != nil {
		g.untrack()
		return // Upgrade has answered the request.
	}
	g.metrics.connects.Inc()
	c := newClient(g.fanout, conn, widget, q.Get(protocol.BinaryParam) == "1")
	stopExpiry := closeAtExpiry(r, c)
	kind := g.join(c, Position{Epoch: epoch, Seq: seq}, hasPos)
	go func() {
		defer g.untrack()
		c.readLoop()
		<-c.done
		stopExpiry()
		g.fanout.leave(c)
	}()
	// The handler writes the first message itself and then returns, so an
	// idle socket holds neither this goroutine (with the server's buffers)
	// nor a writer: only its reader.
	c.writeFirst()
	if kind != "" {
		g.metrics.observeJoin(kind, start)
	}
}

// writeFirst sends the first message from the handler, then hands what is
// left (a resume's catch-up, a close) to a writer goroutine.
func (c *client) writeFirst() {
	if _, stop := c.step(); stop {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.pingDue || c.first != nil || c.sentSeq.Load() < c.f.frame.Load().to {
		go c.write() // c.running stays true: this writer takes over
		return
	}
	c.running = false
}

// refuseWS completes the handshake only to close the socket with a reason;
// a request that is not a WebSocket handshake gets the reason as an HTTP error.
func (g *Gateway) refuseWS(w http.ResponseWriter, r *http.Request, code int, reason string) {
	if !websocket.IsWebSocketUpgrade(r) {
		httpError(w, http.StatusBadRequest, reason)
		return
	}
	conn, err := g.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(defaultWriteWait))
	conn.Close()
}
