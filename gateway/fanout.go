package gateway

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Fan-out reads the shared event log instead of copying each event into
// every socket's queue: ingest appends an event once (O(1) whatever the
// number of sockets), and a pacer, once per tick, encodes the tick's events
// into one frame that every caught-up socket writes as is. A socket that is
// behind, or filters one widget, builds its own frame from the log. How far
// a socket is behind is measured in log bytes, and past MaxQueueBytes it is
// cut off without anyone waiting for it.

// Frame pacing and bounds.
const (
	// minTick paces frames: it adds at most this much latency, and at high
	// rates it is what turns thousands of events into a few frames.
	minTick = 10 * time.Millisecond
	// maxTick caps the stretch below.
	maxTick = 80 * time.Millisecond
	// writesPerSecond is the frame writes a tick rate should cost at most.
	// Each write is a syscall that also runs the loopback receiver's TCP
	// path and wakes the reader: on this kind of machine about 11 µs
	// whatever its size plus 0.1–0.2 µs per KB copied (svbench lowrite).
	// With many sockets the writes are most of fan-out's CPU (about 60% of
	// the server's profile at 1,000 sockets × 10,000 updates/s). Yet fewer,
	// larger writes did not cost less on a quiet machine: at 1,000 sockets
	// budgets of 25,000 and 15,000 (40 and 66.7 ms ticks) spent as much CPU
	// per delivery as 40,000 (25 ms) or more, with higher latency
	// (docs/benchmarks.md, "Quiet rerun late on 2026-12-03"). So 400
	// sockets or fewer keep 10 ms and 1,000 tick every 25 ms.
	writesPerSecond = 40000
	// maxFrameBytes bounds the frames a socket builds for itself while it
	// catches up, so one write never holds a huge buffer.
	maxFrameBytes = 1 << 20
)

// frame is one tick's events (from, to] as a JSON array, prepared once for
// every socket that was sent everything up to from. Frames link to the next
// tick's, so a socket a few ticks behind still writes shared bytes; the
// garbage collector drops frames no socket holds any more.
type frame struct {
	from, to uint64
	end      uint64 // log offset after the event to
	size     int    // payload bytes
	pm       *websocket.PreparedMessage
	ids      map[string]struct{} // widgets with events in the frame (with pm), for embed sockets
	next     atomic.Pointer[frame]

	// With columnar events (cols), sockets that asked for binary frames
	// write pmBin instead (docs/protocol.md §2.4). Each is prepared only
	// when a socket of its kind was there at the tick; one that joins later
	// builds its own frame.
	cols    bool
	pmBin   *websocket.PreparedMessage
	sizeBin int
}

// prepared is the frame's message for a socket of the kind binary, nil
// when none was prepared for that kind, and its size.
func (fr *frame) prepared(binary bool) (*websocket.PreparedMessage, int) {
	if binary && fr.cols {
		return fr.pmBin, fr.sizeBin
	}
	return fr.pm, fr.size
}

// maxChain is how many ticks behind a socket still catches up frame by
// frame; further behind, one frame of its own costs less than the writes.
const maxChain = 8

// fanout owns the sockets: their registry, the pacer that turns the log's
// new events into shared frames, and the slow-socket policy. It reads the
// resume log and writes nothing but its own fields and its sockets.
type fanout struct {
	events               eventReader
	maxQueue             int // a socket further behind than this many log bytes is cut off
	pingPeriod, pongWait time.Duration
	writeWait            time.Duration         // bound on one write to a socket
	frame                atomic.Pointer[frame] // the last tick's events, shared by every caught-up socket
	ticks                chan struct{}         // log → pacer: there is something new
	sweeps               atomic.Uint64         // the pacer's sweeps so far (sweep)

	mu      sync.Mutex
	clients map[*client]struct{}
	list    []*client // the same clients, copied on change so the pacer reads it without the lock
	binary  int       // of them, sockets that take binary frames
	closed  bool      // Gateway.Close has begun: no more sockets join

	slow    atomic.Uint64
	dropped atomic.Uint64 // event bytes not sent to sockets cut off
	frames  atomic.Uint64
	bytes   atomic.Uint64
}

// eventReader is what the fan-out reads from the resume log.
type eventReader interface {
	tail(from uint64, scratch []logEntry) (_ []logEntry, head, end uint64, ok bool)
	collect(b []byte, widget string, seq, to uint64, first []byte, binary bool) (_ []byte, isBinary bool, last, end uint64, err error)
	end() uint64
}

var _ eventReader = (*resumeLog)(nil)

func newFanout(events eventReader, maxQueue int) *fanout {
	f := &fanout{
		events:     events,
		maxQueue:   maxQueue,
		pingPeriod: defaultPingPeriod,
		pongWait:   defaultPongWait,
		writeWait:  defaultWriteWait,
		ticks:      make(chan struct{}, 1),
		clients:    map[*client]struct{}{},
	}
	f.frame.Store(&frame{})
	return f
}

// startAt sets the frame chain's start after a (re)start: the log's head.
func (f *fanout) startAt(seq, end uint64) {
	f.frame.Store(&frame{from: seq, to: seq, end: end})
}

// wake tells the pacer the log has new events; it never blocks.
func (f *fanout) wake() {
	select {
	case f.ticks <- struct{}{}:
	default:
	}
}

// add registers c, or reports false when the gateway is closing.
func (f *fanout) add(c *client) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.clients[c] = struct{}{}
	f.list = append(f.list[:len(f.list):len(f.list)], c)
	if c.binary {
		f.binary++
	}
	return true
}

func (f *fanout) leave(c *client) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.clients[c]; !ok {
		return
	}
	delete(f.clients, c)
	if c.binary {
		f.binary--
	}
	list := make([]*client, 0, len(f.clients))
	for _, o := range f.list {
		if o != c {
			list = append(list, o)
		}
	}
	f.list = list
}

func (f *fanout) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// close cuts every socket with "going away"; none joins after it.
func (f *fanout) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for c := range f.clients {
		c.close(websocket.CloseGoingAway, "server shutting down")
	}
}

func (f *fanout) sockets() []*client {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.list
}

func (f *fanout) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.clients)
}

// kinds counts the sockets that take text frames and binary frames.
func (f *fanout) kinds() (text, binary int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.clients) - f.binary, f.binary
}

// queuedBytes sums how far behind the log's end each socket is.
func (f *fanout) queuedBytes() uint64 {
	list, end := f.sockets(), f.events.end()
	var n uint64
	for _, c := range list {
		if off := c.sentOff.Load(); off < end {
			n += end - off // a resume's catch-up included: it is queued too
		}
	}
	return n
}

// pace runs the ticks until stop is closed.
func (f *fanout) pace(stop <-chan struct{}) {
	// Sockets due a ping, and writers idle since the last sweep, are
	// looked for often enough that pings go out at most a second late.
	sweeps := time.NewTicker(min(f.pingPeriod/10, writerIdle))
	defer sweeps.Stop()
	wait := time.NewTimer(0)
	<-wait.C
	var scratch []logEntry
	var last time.Time
	interval := minTick
	for {
		select {
		case <-stop:
			return
		case <-sweeps.C:
			f.sweep()
		case <-f.ticks:
			if d := interval - time.Since(last); d > 0 {
				wait.Reset(d)
				select {
				case <-wait.C:
				case <-stop:
					return
				}
			}
			last = time.Now()
			var n int
			scratch, n = f.tick(scratch[:0])
			interval = tickInterval(n)
		}
	}
}

// tickInterval is the time between ticks with n sockets: long enough that
// their writes stay within writesPerSecond (rounded up to the nanosecond,
// so never over it), within [minTick, maxTick].
func tickInterval(n int) time.Duration {
	d := (time.Duration(n)*time.Second + writesPerSecond - 1) / writesPerSecond
	return min(max(minTick, d), maxTick)
}

// tick publishes the frame of the events since the last tick and wakes the
// sockets that need it; the ones too far behind are cut off.
func (f *fanout) tick(scratch []logEntry) ([]logEntry, int) {
	prev := f.frame.Load()
	var head, end uint64
	shared := false
	texts, binaries := f.kinds()
	if texts+binaries > 0 {
		scratch, head, end, shared = f.events.tail(prev.to, scratch)
	} else {
		_, head, end, _ = f.events.tail(^uint64(0), nil)
	}
	if head <= prev.to {
		return scratch, 0
	}
	fr := &frame{from: prev.to, to: head, end: end}
	if shared {
		fr.ids = make(map[string]struct{}, 8)
		for _, e := range scratch {
			fr.ids[e.id] = struct{}{}
			fr.cols = fr.cols || e.cols != nil
		}
		// Only compression could make NewPreparedMessage fail, and it is off.
		if texts > 0 || !fr.cols {
			b, _ := frameEvents(scratch, prev.to, false)
			fr.pm, _ = websocket.NewPreparedMessage(websocket.TextMessage, b)
			fr.size = len(b)
		}
		if binaries > 0 && fr.cols {
			b, _ := frameEvents(scratch, prev.to, true)
			fr.pmBin, _ = websocket.NewPreparedMessage(websocket.BinaryMessage, b)
			fr.sizeBin = len(b)
		}
	}
	prev.next.Store(fr)
	f.frame.Store(fr)
	clear(scratch) // let the event bytes go with the log
	// The sockets are read after the frame is out: one that joins later
	// sees it when it first looks (client.writeFirst), so none is missed.
	clients := f.sockets()
	for _, c := range clients {
		// Behind is what the socket has had a tick to take and has not: a
		// burst that arrived in this tick, or the frame being written, does
		// not count, so a healthy reader is never cut for a large tick.
		if taken := max(c.takenOff.Load(), c.joinOff); prev.end > taken && prev.end-taken > uint64(f.maxQueue) {
			f.cutSlow(c, "slow consumer: queue bound exceeded")
			continue
		}
		if c.sentSeq.Load() < head {
			c.kick()
		}
	}
	return scratch, len(clients)
}

// cutSlow closes a socket that fell too far behind and unregisters it at
// once: its writer may be stuck in a write until the deadline.
func (f *fanout) cutSlow(c *client, reason string) {
	if c.close(CloseSlow, reason) {
		f.slow.Add(1)
		end := f.events.end()
		if off := max(c.sentOff.Load(), c.joinOff); off < end {
			f.dropped.Add(end - off)
		}
		f.leave(c)
	}
}

// sweep asks the sockets whose last ping is a ping period old for one, and
// wakes the writers that have sent nothing since the sweep before this one,
// so that they exit (client.write).
func (f *fanout) sweep() {
	n := f.sweeps.Add(1)
	now := time.Now().UnixNano()
	for _, c := range f.sockets() {
		if now-c.lastPing.Load() >= int64(f.pingPeriod) {
			c.requestPing()
		} else if c.busySweep.Load()+1 < n {
			c.nudge()
		}
	}
}

// framePool holds the buffers of frames sockets build for themselves; the
// bytes are copied into the socket's write buffer, so they can go back at once.
var framePool = sync.Pool{New: func() any { return new([]byte) }}
