package gateway

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Close codes of docs/protocol.md §2.3.
const (
	CloseSlow = 4000
)

// Socket timing. Pings go out well inside the pong wait so one lost ping does
// not kill a healthy socket.
const (
	pongWait     = 30 * time.Second
	pingPeriod   = 25 * time.Second
	writeWait    = 10 * time.Second
	maxReadBytes = 4096
	// A browser has nothing to say; more than this many messages a second is abuse.
	maxReadsPerSecond = 20
	// minFrameInterval paces frames per socket; it adds at most this much latency.
	minFrameInterval = 10 * time.Millisecond
)

// client is one WebSocket. The hub enqueues events from its own goroutine
// without blocking; one writer goroutine drains the queue into frames and one
// reader goroutine handles pongs and notices the socket closing.
type client struct {
	conn     *websocket.Conn
	widget   string // only this widget's events (embed mode)
	maxQueue int

	mu        sync.Mutex
	queue     [][]byte
	queued    int
	closing   bool
	closeCode int
	closeText string

	wake chan struct{}
	done chan struct{} // closed when the writer has exited
}

func newClient(conn *websocket.Conn, widget string, maxQueue int) *client {
	return &client{conn: conn, widget: widget, maxQueue: maxQueue,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// enqueue adds one event. It returns false when the queue would exceed its
// bound: the client is then cut off (it resumes when it reconnects). The
// first message (snapshot or resume) is exempt, since it may be large.
func (c *client) enqueue(ev []byte, first bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return true
	}
	if !first && c.queued+len(ev) > c.maxQueue {
		c.closing, c.closeCode, c.closeText = true, CloseSlow, "slow consumer: queue bound exceeded"
		c.queue, c.queued = nil, 0
		c.signal()
		return false
	}
	c.queue = append(c.queue, ev)
	c.queued += len(ev)
	if len(c.queue) == 1 {
		// Only the first event wakes the writer; later ones ride in the same frame.
		c.signal()
	}
	return true
}

// close asks the writer to send a close frame and stop.
func (c *client) close(code int, text string) {
	c.mu.Lock()
	if !c.closing {
		c.closing, c.closeCode, c.closeText = true, code, text
	}
	c.signal()
	c.mu.Unlock()
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *client) take() (batch [][]byte, closing bool, code int, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	batch, c.queue, c.queued = c.queue, nil, 0
	return batch, c.closing, c.closeCode, c.closeText
}

// writeLoop sends every queued event of one wake-up as one frame: a JSON
// array, so a burst costs one frame instead of one per event.
func (c *client) writeLoop() {
	defer close(c.done)
	defer c.conn.Close()
	ticker := time.NewTicker(pingPeriod)
	defer ticker.Stop()
	var lastFrame time.Time
	for {
		select {
		case <-c.wake:
			// At high rates, waiting out a short interval puts many events in
			// one frame: one write per socket per interval instead of one per
			// event, which is what bounds fan-out cost with many sockets.
			if wait := minFrameInterval - time.Since(lastFrame); wait > 0 {
				time.Sleep(wait)
			}
			lastFrame = time.Now()
			batch, closing, code, text := c.take()
			if len(batch) > 0 {
				if err := c.writeFrame(batch); err != nil {
					return
				}
			}
			if closing {
				msg := websocket.FormatCloseMessage(code, text)
				_ = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeWait))
				return
			}
		case <-ticker.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				return
			}
		}
	}
}

func (c *client) writeFrame(batch [][]byte) error {
	if err := c.conn.SetWriteDeadline(time.Now().Add(writeWait)); err != nil {
		return err
	}
	w, err := c.conn.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	sep := []byte{'['}
	for _, ev := range batch {
		if _, err := w.Write(sep); err != nil {
			return err
		}
		if _, err := w.Write(ev); err != nil {
			return err
		}
		sep[0] = ','
	}
	if _, err := w.Write([]byte{']'}); err != nil {
		return err
	}
	return w.Close()
}

// readLoop keeps the read deadline moving with pongs and returns when the
// socket dies, the peer closes it, or the peer talks too much.
func (c *client) readLoop() {
	c.conn.SetReadLimit(maxReadBytes)
	_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(pongWait))
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
	defer g.untrack()
	conn, err := g.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the request.
	}
	c := newClient(conn, widget, g.cfg.MaxQueueBytes)
	g.hub.join(c, epoch, seq, hasPos)
	go c.writeLoop()
	go c.readLoop()
	<-c.done
	g.hub.leave(c)
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
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(writeWait))
	conn.Close()
}
