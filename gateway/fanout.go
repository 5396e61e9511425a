package gateway

import (
	"bytes"
	"sort"
	"strconv"
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
	maxTick = 40 * time.Millisecond
	// writesPerSecond is the frame writes a tick rate should cost at most.
	// Each write is a syscall that also wakes the reader, and with many
	// sockets they are most of fan-out's CPU: a busy dashboard with 1,000
	// sockets gets 25 ms ticks instead of 10.
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
}

// maxChain is how many ticks behind a socket still catches up frame by
// frame; further behind, one frame of its own costs less than the writes.
const maxChain = 8

// pace runs the ticks until stop is closed.
func (h *hub) pace(stop <-chan struct{}) {
	// Sockets due a ping are looked for often enough that pings go out
	// at most a second late.
	pings := time.NewTicker(min(h.pingPeriod/10, time.Second))
	defer pings.Stop()
	wait := time.NewTimer(0)
	<-wait.C
	var scratch []logEntry
	var last time.Time
	interval := minTick
	for {
		select {
		case <-stop:
			return
		case <-pings.C:
			h.pingDue()
		case <-h.ticks:
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
			scratch, n = h.tick(scratch[:0])
			interval = min(max(minTick, time.Duration(n)*time.Second/writesPerSecond), maxTick)
		}
	}
}

// tick publishes the frame of the events since the last tick and wakes the
// sockets that need it; the ones too far behind are cut off.
func (h *hub) tick(scratch []logEntry) ([]logEntry, int) {
	prev := h.frame.Load()
	h.mu.Lock()
	head, end, clients := h.lastSeq, h.log.total, h.list
	shared := false
	if head > prev.to && len(clients) > 0 {
		if evs, err := h.log.since(prev.to, head); err == nil {
			// Event bytes never change once logged, so copying the entries
			// is enough to encode them after the lock is released.
			scratch = append(scratch, evs...)
			shared = true
		}
	}
	h.mu.Unlock()
	if head <= prev.to {
		return scratch, 0
	}
	f := &frame{from: prev.to, to: head, end: end}
	if shared {
		b := frameEvents(scratch, prev.to)
		f.ids = make(map[string]struct{}, 8)
		for _, e := range scratch {
			f.ids[e.id] = struct{}{}
		}
		// Only compression could make this fail, and it is off.
		f.pm, _ = websocket.NewPreparedMessage(websocket.TextMessage, b)
		f.size = len(b)
	}
	prev.next.Store(f)
	h.frame.Store(f)
	clear(scratch) // let the event bytes go with the log
	for _, c := range clients {
		// Behind is what the socket has had a tick to take and has not: a
		// burst that arrived in this tick, or the frame being written, does
		// not count, so a healthy reader is never cut for a large tick.
		if taken := max(c.takenOff.Load(), c.joinOff); prev.end > taken && prev.end-taken > uint64(h.maxQueue) {
			h.cutSlow(c, "slow consumer: queue bound exceeded")
			continue
		}
		if c.sentSeq.Load() < head {
			c.kick()
		}
	}
	return scratch, len(clients)
}

// frameEvents encodes one tick's events (the log's entries after from) as
// the shared frame. A stat or gauge value that a later value of the same
// widget in this frame supersedes is left out: the browser would draw only
// the last, and with many sockets parsing is what the clients spend their
// time on. The event after a left-out one gets "prev" rewritten to the last
// event sent, so the chain stays whole. Sockets that build frames of their
// own (catching up, resuming, embed) get every event.
func frameEvents(evs []logEntry, from uint64) []byte {
	var last map[string]int // index of each widget's last "latest" event
	for i, e := range evs {
		if e.latest {
			if last == nil {
				last = map[string]int{}
			}
			last[e.id] = i
		}
	}
	size := 1
	for _, e := range evs {
		size += len(e.ev) + 1
	}
	b := make([]byte, 0, size)
	sent := from
	for i, e := range evs {
		if e.latest && last[e.id] != i {
			continue
		}
		if len(b) == 0 {
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		if e.prev == sent {
			b = append(b, e.ev...)
		} else {
			b = appendWithPrev(b, e.ev, sent)
		}
		sent = e.seq
	}
	return append(b, ']')
}

var prevKey = []byte(`,"prev":`)

// appendWithPrev appends ev with its "prev" replaced. Every event starts
// {"type":…,"seq":N,"prev":M (eventHead), so the first ,"prev": is the head's.
func appendWithPrev(b, ev []byte, prev uint64) []byte {
	i := bytes.Index(ev, prevKey) + len(prevKey)
	j := i
	for j < len(ev) && ev[j] >= '0' && ev[j] <= '9' {
		j++
	}
	b = append(b, ev[:i]...)
	b = strconv.AppendUint(b, prev, 10)
	return append(b, ev[j:]...)
}

// cutSlow closes a socket that fell too far behind and unregisters it at
// once: its writer may be stuck in a write until the deadline.
func (h *hub) cutSlow(c *client, reason string) {
	if c.close(CloseSlow, reason) {
		h.counters.slow.Add(1)
		h.mu.Lock()
		end := h.log.total
		h.mu.Unlock()
		if off := max(c.sentOff.Load(), c.joinOff); off < end {
			h.counters.dropped.Add(end - off)
		}
		h.leave(c)
	}
}

// pingDue asks the sockets whose last ping is a ping period old for one.
func (h *hub) pingDue() {
	h.mu.Lock()
	clients := h.list
	h.mu.Unlock()
	now := time.Now().UnixNano()
	for _, c := range clients {
		if now-c.lastPing.Load() >= int64(h.pingPeriod) {
			c.requestPing()
		}
	}
}

// collect encodes, as one frame, first (if any) followed by the events of
// widget (all when empty) after seq up to to, stopping early past
// maxFrameBytes. It returns the frame (nil when there is nothing to send)
// and the position the socket reaches with it.
func (h *hub) collect(b []byte, widget string, seq, to uint64, first []byte) (_ []byte, last, end uint64, err error) {
	b = b[:0]
	h.mu.Lock()
	defer h.mu.Unlock()
	last = seq
	end, err = h.log.offsetAfter(seq, h.lastSeq)
	if err != nil {
		return nil, 0, 0, err
	}
	if first != nil {
		b = append(append(b, '['), first...)
	}
	evs, _ := h.log.since(seq, h.lastSeq)
	n := sort.Search(len(evs), func(i int) bool { return evs[i].seq > to })
	for _, e := range evs[:n] {
		if len(b) > maxFrameBytes {
			break
		}
		last, end = e.seq, e.end
		if widget != "" && e.id != widget {
			continue
		}
		if len(b) == 0 {
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		b = append(b, e.ev...)
	}
	if len(b) > 0 {
		b = append(b, ']')
	}
	return b, last, end, nil
}

// framePool holds the buffers of frames sockets build for themselves; the
// bytes are copied into the socket's write buffer, so they can go back at once.
var framePool = sync.Pool{New: func() any { return new([]byte) }}
