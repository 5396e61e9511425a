package gateway

import (
	"sync"
	"time"

	"github.com/streamviz/streamviz/protocol"
)

// hdrMsgID carries the publisher's Nats-Msg-Id on an update stored alone.
const hdrMsgID = protocol.HeaderMsgID

// maxDedupIDs bounds the ids remembered, whatever the window.
const maxDedupIDs = 1 << 20

// dedupMap remembers the Nats-Msg-Id of recent updates, as a JetStream
// stream does: a publisher that resends an update whose acknowledgement it
// lost (the Python SDK does, after a reconnect) gets the first copy's
// acknowledgement, marked duplicate, and the update is stored once. The ids
// of the updates still in the log are learnt again after a restart (and from
// other gateways' batches) as the log is read.
type dedupMap struct {
	window time.Duration

	mu    sync.Mutex
	m     map[string]*dedupEntry
	order []dedupKey // insertion order, for expiry
	head  int
}

type dedupEntry struct {
	pos     uint64 // 0 while the first copy is being stored
	at      time.Time
	waiters []string // reply subjects of copies that arrived meanwhile
}

type dedupKey struct {
	id string
	at time.Time
}

func (d *dedupMap) expire(now time.Time) {
	for d.head < len(d.order) {
		k := d.order[d.head]
		if now.Sub(k.at) < d.window && len(d.order)-d.head <= maxDedupIDs {
			break
		}
		if e := d.m[k.id]; e != nil && e.at.Equal(k.at) && e.pos != 0 {
			delete(d.m, k.id)
		}
		d.order[d.head] = dedupKey{}
		d.head++
	}
	if d.head > 1024 && d.head > len(d.order)/2 {
		n := copy(d.order, d.order[d.head:])
		d.order, d.head = d.order[:n], 0
	}
}

// seen reports whether id is a copy of an update stored or being stored; if
// so the copy's publisher is answered (now, or once the first is stored).
// Otherwise id is remembered as being stored.
func (d *dedupMap) seen(id, reply string, w *writer) bool {
	now := time.Now()
	d.mu.Lock()
	d.expire(now)
	e := d.m[id]
	if e == nil {
		d.m[id] = &dedupEntry{at: now}
		d.order = append(d.order, dedupKey{id, now})
		d.mu.Unlock()
		return false
	}
	p := e.pos
	if p == 0 && reply != "" {
		e.waiters = append(e.waiters, reply)
	}
	d.mu.Unlock()
	if p != 0 && reply != "" {
		w.reply(reply, appendPubAck(nil, p, true))
	}
	return true
}

// stored records where id's update is and answers the copies that waited.
func (d *dedupMap) stored(id string, p uint64, w *writer) {
	d.mu.Lock()
	e := d.m[id]
	if e == nil {
		d.mu.Unlock()
		return
	}
	e.pos = p
	waiters := e.waiters
	e.waiters = nil
	d.mu.Unlock()
	for _, r := range waiters {
		w.reply(r, appendPubAck(nil, p, true))
	}
}

// failed forgets id (a resend may try again) and tells the copies that waited.
func (d *dedupMap) failed(id string, code int, reason string, w *writer) {
	d.mu.Lock()
	e := d.m[id]
	if e != nil && e.pos == 0 {
		delete(d.m, id)
	}
	d.mu.Unlock()
	if e != nil {
		for _, r := range e.waiters {
			w.replyError(r, code, reason)
		}
	}
}

// learn records an id read from the log (after a restart, or another
// gateway's batch) unless it is known already or older than the window.
func (d *dedupMap) learn(id string, p uint64, at time.Time) {
	now := time.Now()
	if now.Sub(at) >= d.window {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.m[id]; ok {
		return
	}
	d.m[id] = &dedupEntry{pos: p, at: at}
	d.order = append(d.order, dedupKey{id, at})
	d.expire(now)
}
