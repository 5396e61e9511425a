package gateway

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/streamviz/streamviz/protocol"
)

// maxMsgIDBytes bounds a Nats-Msg-Id: each is remembered for the dedup
// window (up to 2^20 of them) and kept in the log with its update, and the
// bus would carry one of up to its payload limit (~1 MiB), so without a bound
// a publisher could hold gigabytes of the server's memory with ids alone. A
// UUID is 36 bytes; the Python SDK's ids are shorter still.
const maxMsgIDBytes = 256

// hdrMsgID carries the publisher's Nats-Msg-Id on an update stored alone.
const hdrMsgID = protocol.HeaderMsgID

// dedupID is what dedupMap remembers for a publisher's Nats-Msg-Id: the id
// within the subject it was sent to. A resend goes to the same subject, and
// an id is the publisher's own choice (a counter, a name), so on a bus shared
// by publishers with rights to different widgets the id alone would let one
// of them, reusing another's id, get that one's update to a widget it may
// not write taken for a resend: acknowledged as stored, and dropped.
func dedupID(subject, msgID string) string {
	return subject + "\x00" + msgID
}

// maxDedupIDs bounds the ids remembered, whatever the window.
const maxDedupIDs = 1 << 20

// dedupMap remembers the Nats-Msg-Id of recent updates, as a JetStream
// stream does: a publisher that resends an update whose acknowledgement it
// lost (the Python SDK does, after a reconnect) gets the first copy's
// answer and the update is stored once. The answer, not only the position:
// a resend of an update refused when applied must hear the same refusal,
// not an acknowledgement saying it was stored. The ids and answers of the
// updates still in the log are learnt again after a restart (and from other
// gateways' batches) as the log is read and applied.
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
	ans     *dedupAnswer // nil until the first copy is applied
	waiters []string     // reply subjects of copies that arrived meanwhile
}

// dedupAnswer is what the first copy's publisher was told, kept small: the
// answers of updates applied whole share answeredApplied, and the others
// keep one string.
type dedupAnswer struct {
	refusedWhole bool   // answered 400 (404: notFound) with text as the description
	notFound     bool   // a removal of a widget that does not exist (§1.2)
	refused      int    // ops left out (a PubAck's "refused")
	text         string // the 400's description, or the PubAck's "warning"
}

// answeredApplied is the answer of every update applied whole.
var answeredApplied = &dedupAnswer{}

// newDedupAnswer is the answer to an update applied with the outcome
// err (and a producer warning, §1.5), as writer.answer gives it.
func newDedupAnswer(err error, warning string) *dedupAnswer {
	if err == nil {
		if warning == "" {
			return answeredApplied
		}
		return &dedupAnswer{text: warning}
	}
	var rows *RowsRefusedError
	var bytes *BytesRefusedError
	var fold *RowsFoldError // rows of an earlier Pathway time (rowshub.go)
	a := &dedupAnswer{text: err.Error()}
	switch {
	case errors.As(err, &rows) || errors.As(err, &bytes) || errors.As(err, &fold):
		if rows != nil {
			a.refused += rows.Refused
		}
		if bytes != nil {
			a.refused += bytes.Dropped
		}
	default:
		a.refusedWhole = true
		a.notFound = errors.Is(err, ErrNoWidget)
	}
	return a
}

// appendTo writes the answer to an update stored at p: a PubAck (marked
// duplicate for a resend) or, for one refused whole, the error.
func (a *dedupAnswer) appendTo(b []byte, p uint64, duplicate bool) []byte {
	if a.refusedWhole {
		code := 400
		if a.notFound {
			// Like HTTP: a publisher can tell "already gone" from a bad request.
			code = 404
		}
		return appendPubAckError(b, code, a.text)
	}
	b = appendPubAck(b, p, duplicate)
	if a.refused > 0 {
		b = append(b[:len(b)-1], `,"refused":`...)
		b = strconv.AppendInt(b, int64(a.refused), 10)
		b = append(b, '}')
	}
	if a.text != "" {
		b = append(b[:len(b)-1], `,"warning":`...)
		b = appendString(b, a.text)
		b = append(b, '}')
	}
	return b
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
		if e := d.m[k.id]; e != nil && e.at.Equal(k.at) && e.ans != nil {
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
// so the copy's publisher is answered (now, or once the first is applied).
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
	p, a := e.pos, e.ans
	if a == nil && reply != "" {
		e.waiters = append(e.waiters, reply)
	}
	d.mu.Unlock()
	if a != nil && reply != "" {
		w.reply(reply, a.appendTo(nil, p, true))
	}
	return true
}

// stored records where id's update is; its copies are answered once it is
// applied (settled).
func (d *dedupMap) stored(id string, p uint64) {
	d.mu.Lock()
	if e := d.m[id]; e != nil && e.pos == 0 {
		e.pos = p
	}
	d.mu.Unlock()
}

// failed forgets id (a resend may try again) and tells the copies that waited.
func (d *dedupMap) failed(id string, code int, reason string, w *writer) {
	d.mu.Lock()
	e := d.m[id]
	if e != nil && e.ans == nil {
		delete(d.m, id)
	}
	d.mu.Unlock()
	if e != nil && e.ans == nil {
		for _, r := range e.waiters {
			w.replyError(r, code, reason)
		}
	}
}

// settle records what id's update, stored at p at time at, was answered
// (a, as it was applied) and answers the copies that waited. It learns ids
// read from the log too (after a restart, or another gateway's batch)
// unless they are older than the window. The first answer stays.
func (d *dedupMap) settle(id string, p uint64, at time.Time, a *dedupAnswer, w *writer) {
	now := time.Now()
	d.mu.Lock()
	e := d.m[id]
	if e == nil {
		if now.Sub(at) < d.window {
			d.m[id] = &dedupEntry{pos: p, at: at, ans: a}
			d.order = append(d.order, dedupKey{id, at})
			d.expire(now)
		}
		d.mu.Unlock()
		return
	}
	if e.ans != nil {
		d.mu.Unlock()
		return
	}
	if e.pos == 0 {
		e.pos = p
	}
	e.ans, p = a, e.pos
	waiters := e.waiters
	e.waiters = nil
	d.mu.Unlock()
	for _, r := range waiters {
		w.reply(r, a.appendTo(nil, p, true))
	}
}
