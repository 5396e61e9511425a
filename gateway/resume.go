package gateway

import (
	"errors"
	"sort"
	"sync"
)

// This file is where resume is decided: the resume log keeps the most recent
// events after a floor, and a socket that brings a position (epoch, seq)
// resumes when the log holds every event after it, like centrifuge's
// recovery (docs/protocol.md §2.1); otherwise it gets the full state.

// Position is a place in the event stream: the store's epoch and the seq of
// the last event applied (docs/protocol.md §5).
type Position struct {
	Epoch string
	Seq   uint64
}

// resumeLog owns the recent events: what sockets read their frames from and
// what a reconnecting socket resumes from. Its lock is its own; the state
// appends under the state's lock (lock order: state, then log), taking this
// one once per event.
type resumeLog struct {
	mu     sync.Mutex
	epoch  string
	lastEv uint64 // seq of the last event (the position clients hold)
	log    eventLog
	// appended tells the fan-out there is something new; it must not block.
	appended func()
}

var errNotResumable = errors.New("position not resumable")

func newResumeLog(maxBytes int) *resumeLog {
	return &resumeLog{log: eventLog{max: maxBytes}, appended: func() {}}
}

// start sets the position the log starts from after a (re)start: events
// after floor are rebuilt from the stored log, the ones before it are gone.
// It returns the log offset there.
func (r *resumeLog) start(epoch string, floor uint64) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.epoch, r.lastEv, r.log.floor = epoch, floor, floor
	return r.log.total
}

func (r *resumeLog) append(e logEntry) bool {
	r.mu.Lock()
	if e.seq <= r.lastEv {
		r.mu.Unlock()
		return false
	}
	r.log.append(e)
	r.lastEv = e.seq
	r.mu.Unlock()
	r.appended()
	return true
}

func (r *resumeLog) head() (Position, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Position{Epoch: r.epoch, Seq: r.lastEv}, r.log.total
}

// cursor is where a socket stands in the log: the last event it was sent
// (or skipped) and the offset after it, and the log's head when it joined.
type cursor struct {
	seq, off         uint64
	joinSeq, joinOff uint64
}

// resume decides whether a socket holding pos can resume: the same epoch,
// and the log still holds every event after pos. The socket then reads them
// from the log like any live event.
func (r *resumeLog) resume(pos Position) (cursor, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if pos.Epoch != r.epoch {
		return cursor{}, false
	}
	off, err := r.log.offsetAfter(pos.Seq, r.lastEv)
	if err != nil {
		return cursor{}, false
	}
	return cursor{seq: pos.Seq, off: off, joinSeq: r.lastEv, joinOff: r.log.total}, true
}

// tail copies the events after from into scratch, when the log still holds
// them (ok), and returns the head's seq and offset. Event bytes never change
// once logged, so the copies may be read after the lock is released.
func (r *resumeLog) tail(from uint64, scratch []logEntry) (_ []logEntry, head, end uint64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	head, end = r.lastEv, r.log.total
	if head > from {
		if evs, err := r.log.since(from, head); err == nil {
			return append(scratch, evs...), head, end, true
		}
	}
	return scratch, head, end, false
}

// end is the offset after the last event.
func (r *resumeLog) end() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.total
}

// memBytes is what the kept events cost in memory.
func (r *resumeLog) memBytes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.bytes
}

// collect encodes, as one frame, first (if any) followed by the events of
// widget (all when empty) after seq up to to, stopping early past
// maxFrameBytes. It returns the frame (nil when there is nothing to send)
// and the position the socket reaches with it, or errNotResumable when the
// log no longer holds the events after seq. With binary, a frame holding
// columnar events is a binary frame (isBinary; docs/protocol.md §2.4).
func (r *resumeLog) collect(b []byte, widget string, seq, to uint64, first []byte, binary bool) (_ []byte, isBinary bool, last, end uint64, err error) {
	b = b[:0]
	var bin *binCols
	if binary {
		bin = &binCols{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	last = seq
	end, err = r.log.offsetAfter(seq, r.lastEv)
	if err != nil {
		return nil, false, 0, 0, err
	}
	if first != nil {
		b = append(append(b, '['), first...)
	}
	evs, _ := r.log.since(seq, r.lastEv)
	n := sort.Search(len(evs), func(i int) bool { return evs[i].seq > to })
	for _, e := range evs[:n] {
		if len(b)+bin.bytes() > maxFrameBytes {
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
		b = appendWithPrev(b, e, e.prev, bin)
	}
	if len(b) > 0 {
		b = append(b, ']')
	}
	b, isBinary = finishFrame(b, bin)
	return b, isBinary, last, end, nil
}

// join picks a socket's first message and registers it with the fan-out:
// "resumed" when the log holds every event after the position it brings,
// else the full state ("reset" when it brought a position, "snapshot" when
// not). What a resume has to catch up on does not count against the socket's
// queue bound, only what arrives after it joined: a socket cut off for
// being slow resumes without gap when it reconnects. It returns "" when the
// gateway is closing and c is only sent a close frame.
func (g *Gateway) join(c *client, pos Position, hasPos bool) string {
	if g.fanout.isClosed() {
		c.refuse()
		return ""
	}
	kind := "resumed"
	cur, ok := cursor{}, false
	if hasPos {
		cur, ok = g.events.resume(pos)
	}
	if ok {
		c.first = resumedMessage(pos)
	} else {
		var head Position
		var end uint64
		c.first, head, end = g.state.snapshot(c.widget, hasPos)
		cur = cursor{seq: head.Seq, off: end, joinSeq: head.Seq, joinOff: end}
		kind = "snapshot"
		if hasPos {
			kind = "reset"
		}
	}
	c.startAt(cur)
	if !g.fanout.add(c) {
		c.refuse()
		return ""
	}
	return kind
}

// eventLog keeps the events after floor, bounded in bytes; dropping the
// oldest raises floor, and clients behind it get a snapshot instead.
//
// Offsets count event bytes ever appended: a socket remembers the offset
// after the last event it was sent, and the log's total minus that is how
// far behind it is, whatever it filters.
type eventLog struct {
	entries  []logEntry
	bytes    int
	max      int
	floor    uint64
	floorOff uint64 // offset after the last dropped event
	total    uint64 // offset after the last event
}

type logEntry struct {
	seq    uint64
	prev   uint64 // the event before it, as its "prev" says
	end    uint64 // offset after this event
	latest bool   // only the latest value matters (stat, gauge): see frameEvents
	head   int32  // where the event's head ends, just after its "prev" (event.go)
	id     string
	ev     []byte
	cols   *eventCols // a columnar event's points (event.cols)
}

// size is what the event counts for in log offsets (a socket's queue
// bound): its bytes and its columns'.
func (e *logEntry) size() int {
	if e.cols != nil {
		return len(e.ev) + e.cols.size()
	}
	return len(e.ev)
}

// entryOverhead is what a log entry costs beside its event bytes (the entry
// itself and the allocation's slack), so the bound tracks real memory.
const entryOverhead = 72

func entryCost(e logEntry) int {
	n := cap(e.ev) + len(e.id) + entryOverhead
	if e.cols != nil {
		n += e.cols.cost() + entryOverhead
	}
	return n
}

func (l *eventLog) append(e logEntry) {
	l.total += uint64(e.size())
	e.end = l.total
	l.entries = append(l.entries, e)
	l.bytes += entryCost(e)
	if l.bytes <= l.max {
		return
	}
	// Drop down to three quarters of the bound so the copy below runs once
	// per many appends, not on every one.
	drop := 0
	for l.bytes > l.max-l.max/4 && drop < len(l.entries) {
		l.bytes -= entryCost(l.entries[drop])
		l.floor, l.floorOff = l.entries[drop].seq, l.entries[drop].end
		drop++
	}
	// Copy down rather than reslice so the dropped events can be freed.
	n := copy(l.entries, l.entries[drop:])
	clear(l.entries[n:])
	l.entries = l.entries[:n]
}

// since returns the events after seq, or errNotResumable when seq is older
// than the log or newer than the last event. The slice is the log's own:
// read it under the resume log's lock.
func (l *eventLog) since(seq, last uint64) ([]logEntry, error) {
	if seq < l.floor || seq > last {
		return nil, errNotResumable
	}
	i := sort.Search(len(l.entries), func(i int) bool { return l.entries[i].seq > seq })
	return l.entries[i:], nil
}

// offsetAfter is the offset just after the event seq (or where it would be).
func (l *eventLog) offsetAfter(seq, last uint64) (uint64, error) {
	evs, err := l.since(seq, last)
	if err != nil {
		return 0, err
	}
	if len(evs) == len(l.entries) {
		return l.floorOff, nil
	}
	return l.entries[len(l.entries)-len(evs)-1].end, nil
}
