package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
	"github.com/streamviz/streamviz/protocol"
)

// IngestQueue is the queue group of the gateways' subscriptions to sv.>:
// with several gateways on one bus, each update is taken by one of them.
const IngestQueue = protocol.IngestQueue

// msgOverhead is what a queued message costs beside its subject and payload
// (nats.go's Msg and our slot), so the queue bound tracks real memory.
const msgOverhead = 200

// maxBatchBytes bounds one stored batch below the bus's payload limit and
// the log's message size limit, leaving room for the headers.
func maxBatchBytes(nc *nats.Conn, streamMax int32) int {
	p := int(nc.MaxPayload())
	if streamMax > 0 {
		p = min(p, int(streamMax))
	}
	return max(p-4096, p/2)
}

// writer takes the updates publishers send to sv.> on core NATS, validates
// them, and stores them in the log in batches: while one batch is being
// stored (an fsync with --sync always), the next one collects everything that
// arrives, so a store costs one fsync per batch, not per update. A publisher
// that gave a reply subject gets a JetStream-style acknowledgement once the
// batch holding its update is stored, or an error saying why it is not.
// Nothing is dropped without being counted (docs/protocol.md §1, §5).
type writer struct {
	g        *Gateway
	log      *slog.Logger
	lanes    []*ingestLane // the subscriptions updates arrive on (ingest_lanes.go)
	maxBatch int
	prefix   string // batch ids: this writer's random prefix
	batches  atomic.Uint64

	mu       sync.Mutex
	prio     []*nats.Msg // with a reply subject: acknowledged publishers go first
	bulk     []*nats.Msg // core publishes
	bulkHead int
	queued   int // bytes waiting in prio and bulk
	wake     chan struct{}
	closing  bool

	ready chan *batch // validated, to be stored; the committer takes them in order
	done  chan struct{}

	// The reader's progress, so core publishes are stored no faster than
	// they are applied: bulkSeq is the log position of the last batch of
	// them stored (math.MaxUint64 while one is being stored), appliedSeq
	// the last position the reader applied.
	bulkSeq, appliedSeq atomic.Uint64
	// Batches of core publishes stored and applied, and the most of them
	// ever stored and not yet applied when an acknowledged batch was stored:
	// what an acknowledgement waited behind (at most 1; a test pins it).
	coreStored, coreApplied atomic.Uint64
	maxCoreBehind           atomic.Int64

	// replayed opens once the log stored before Start has been read back, so
	// the ids of updates stored before a restart are known to dedup: an
	// update resent because its acknowledgement was lost in a crash is
	// checked against them, not stored again. Until then updates only queue.
	replayed   chan struct{}
	replayOnce sync.Once

	dedup dedupMap

	// declared is who published the latest config the writer took, per
	// widget (producerWarning); the build goroutine's only.
	declared map[string]string

	// The decoded updates of batches being stored, by batch id, so the
	// reader applies this gateway's own batches without decoding them again.
	decMu   sync.Mutex
	decoded map[string]*pendingBatch

	// Counters (docs/protocol.md §4, /healthz and /metrics).
	waiting      atomic.Int64  // updates taken off the bus and not yet stored, refused or dropped
	lastProgress atomic.Int64  // unix ns: an update was resolved, or the first one of a backlog arrived
	stored       atomic.Uint64 // updates stored
	duplicates   atomic.Uint64 // resends of an update stored already (Nats-Msg-Id), not stored again
	dropped      [numDropReasons]atomic.Uint64
	problem      atomic.Pointer[string] // why updates are refused now (disk full, log full); nil when fine
	lastErr      atomic.Pointer[string] // the last failed attempt to store, for a stall's reason
	drops        dropLog
	clientLogged uint64 // nats.go's drops already logged; dropReporter's goroutine only
}

// Why an update that reached the bus was not stored and not refused as invalid.
const (
	dropOverloaded = iota // the ingest queue was at its bound
	dropNotStored         // the store refused the batch (disk or log full) and the publisher asked for no acknowledgement
	dropShutdown          // still queued when the gateway shut down
	dropBus               // the server dropped them on the way to the gateway (it closed the ingest connection as a slow consumer)
	numDropReasons
)

var dropReasons = [numDropReasons]string{"overloaded", "not stored", "shutdown", "bus"}

type batch struct {
	id      string
	core    bool // core publishes only: stored once the reader has caught up
	data    []byte
	single  string // set when one update too large to share a message is stored alone: its subject
	recs    []pendingRec
	decoded []decoded // the records as validated, handed to this gateway's reader
}

type pendingRec struct {
	subject string
	msgID   string
	reply   string
	warning string // for the acknowledgement: another producer declares this widget (§1.5)
}

func newWriter(g *Gateway) *writer {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	w := &writer{
		g: g, log: g.log,
		maxBatch: maxBatchBytes(g.nc, g.cfg.Streams.MaxMsgSize),
		prefix:   hex.EncodeToString(b) + "-",
		wake:     make(chan struct{}, 1),
		// Unbuffered: a batch is handed over only when the committer is
		// free, so an acknowledged batch never queues behind a full one.
		ready:    make(chan *batch),
		done:     make(chan struct{}),
		replayed: make(chan struct{}),
		declared: map[string]string{},
		dedup:    dedupMap{window: g.cfg.DedupWindow, m: map[string]*dedupEntry{}},
		decoded:  map[string]*pendingBatch{},
	}
	w.drops.last = map[string]uint64{}
	w.lastProgress.Store(time.Now().UnixNano())
	return w
}

// ingestConn opens another connection like nc (same server, credentials and
// in-process pipe) for the subscription to sv.>. The server queues what it
// sends one connection in one buffer, first in first out: on nc, a flood of
// core publishes would stand in front of JetStream's answers to the
// writer's own stores (and of the log the reader applies), so every
// acknowledgement would wait for the flood to drain (issue 10 finding 9).
// One connection per subject, never several in the queue group for one:
// the server spreads a group's messages over its members at random, which
// would reorder a publisher's updates (the lanes split by subject,
// ingest_lanes.go).
func ingestConn(nc *nats.Conn, handlers func(*nats.Options)) (*nats.Conn, error) {
	o := nc.Opts
	o.Name += "-ingest"
	// The owner's handlers are about its connection (the broker closes a
	// channel when nc closes): this one has its own.
	o.ClosedCB, o.ConnectedCB, o.ReconnectedCB, o.DisconnectedCB, o.DisconnectedErrCB, o.DiscoveredServersCB = nil, nil, nil, nil, nil, nil
	if o.InProcessServer != nil {
		// Updates published while it is away reach no subscriber and are
		// lost without a count: back at once from the embedded server's
		// slow-consumer close (no network to spare in process), not after
		// nc's 250 ms wait.
		o.ReconnectWait, o.ReconnectJitter, o.ReconnectJitterTLS = time.Millisecond, 0, 0
	}
	handlers(&o)
	ic, err := o.Connect()
	if err != nil {
		return nil, fmt.Errorf("ingest connection: %w", err)
	}
	return ic, nil
}

// start subscribes and runs the builder and the committer until close.
func (w *writer) start() error {
	for _, subject := range w.g.cfg.IngestSubjects {
		l, err := w.openLane(subject)
		if err != nil {
			for _, l := range w.lanes {
				l.conn.Close()
			}
			w.lanes = nil
			return err
		}
		w.lanes = append(w.lanes, l)
	}
	go w.build()
	go w.commitLoop()
	return nil
}

// onMsg runs on the subscription's goroutine: it only queues, so it keeps up
// with any single publisher, and a flood of core publishes cannot stand in
// front of the acknowledged ones (they have their own lane, served first).
func (w *writer) onMsg(m *nats.Msg) {
	cost := len(m.Subject) + len(m.Data) + msgOverhead
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		w.drop(m.Subject, dropShutdown)
		w.replyError(m.Reply, 503, "the dashboard server is shutting down")
		return
	}
	// Core publishes may fill the queue but for an eighth kept for
	// acknowledged ones, so a flood of the former never gets the latter
	// refused as overloaded (issue 10 finding 9).
	limit := w.g.cfg.IngestQueueBytes
	if m.Reply == "" {
		limit -= limit / 8
	}
	if w.queued+cost > limit {
		w.mu.Unlock()
		w.drop(m.Subject, dropOverloaded)
		w.replyError(m.Reply, 503, "the dashboard server is overloaded: its ingest queue is full; retry later")
		return
	}
	w.queued += cost
	if m.Reply != "" {
		w.prio = append(w.prio, m)
	} else {
		w.bulk = append(w.bulk, m)
	}
	w.mu.Unlock()
	if w.waiting.Add(1) == 1 {
		w.lastProgress.Store(time.Now().UnixNano())
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// take returns up to n queued messages, acknowledged ones first, at most
// bulkMax of them core publishes, and whether the writer is closing; it
// does not wait.
func (w *writer) take(n, bulkMax int) ([]*nats.Msg, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*nats.Msg
	k := min(n, len(w.prio))
	if k > 0 {
		out = append(out, w.prio[:k]...)
		clear(w.prio[:k])
		w.prio = w.prio[k:]
		if len(w.prio) == 0 {
			w.prio = nil
		}
	}
	if rest := min(n-k, bulkMax); rest > 0 && w.bulkHead < len(w.bulk) {
		end := min(len(w.bulk), w.bulkHead+rest)
		out = append(out, w.bulk[w.bulkHead:end]...)
		clear(w.bulk[w.bulkHead:end])
		w.bulkHead = end
		if w.bulkHead == len(w.bulk) {
			w.bulk, w.bulkHead = w.bulk[:0], 0
		} else if w.bulkHead > 1<<16 && w.bulkHead > len(w.bulk)/2 {
			m := copy(w.bulk, w.bulk[w.bulkHead:])
			clear(w.bulk[m:])
			w.bulk, w.bulkHead = w.bulk[:m], 0
		}
	}
	for _, m := range out {
		w.queued -= len(m.Subject) + len(m.Data) + msgOverhead
	}
	return out, w.closing
}

// batchRecords bounds how many updates one pass validates before a batch
// can go out, so an acknowledged publisher waits behind at most that many.
const batchRecords = 256

// maxBulkRecords bounds a batch of core publishes: an acknowledged update
// stored after one waits for the reader to apply it (the log is applied in
// order), so its size is part of every acknowledgement's wait during a flood.
const maxBulkRecords = 2048

// build validates queued updates into batches and hands them to the
// committer, one at a time: while the committer stores one, the next keeps
// growing (the group commit). Updates with a reply subject collect in a
// batch of their own, handed over before the core publishes' batches, so an
// acknowledged publisher never waits for a flood's backlog to be validated
// or stored (issue 10 finding 9). A batch of core publishes is handed over
// only once the reader has applied the previous one, so the log never holds
// more than one stored and unapplied flood batch for an acknowledged one to
// wait behind; the rest of a flood waits in the queue, where acknowledged
// updates overtake it. It runs until close has emptied the queue.
func (w *writer) build() {
	defer close(w.ready)
	<-w.replayed
	acked, bulk := w.newBatch(), w.newBatch()
	var full *batch // core publishes that filled a batch, waiting for their turn
	for {
		bulkRoom := 0
		if full == nil {
			bulkRoom = maxBulkRecords - len(bulk.recs)
		}
		msgs, closing := w.take(batchRecords, bulkRoom)
		if len(msgs) > 0 {
			now := float64(time.Now().UnixNano()) / 1e6
			for _, m := range msgs {
				if m.Reply != "" {
					var done *batch
					if acked, done = w.accept(m, acked, now); done != nil {
						w.ready <- done
					}
					continue
				}
				var done *batch
				if bulk, done = w.accept(m, bulk, now); done != nil {
					if full != nil {
						// Rare (updates over maxBatch/batchRecords bytes each):
						// handed over without waiting for the reader.
						full.core = true
						w.ready <- full
					}
					full = done
				}
			}
		}
		// Which batch goes next: acknowledged updates first; core ones in
		// order, once the reader has applied the last of them stored.
		var next **batch
		switch {
		case len(acked.recs) > 0:
			next = &acked
		case !closing && !w.readerCaughtUp():
		case full != nil:
			next = &full
		case len(bulk.recs) > 0:
			next = &bulk
		}
		switch {
		case next != nil && len(msgs) > 0:
			// More may be queued: hand over only if the committer is free.
			if w.handOver(*next, false) {
				*next = w.nextBatch(next == &full)
			}
		case next != nil:
			// Nothing more queued: hand over when the committer is free,
			// or take what arrives meanwhile.
			if w.handOver(*next, true) {
				*next = w.nextBatch(next == &full)
			}
		case closing && len(msgs) == 0 && full == nil && len(bulk.recs) == 0:
			return
		case len(msgs) == 0:
			<-w.wake
		}
	}
}

// handOver gives b to the committer if it is free (or, with wait, once it
// is, unless an update arrives first) and reports whether it did.
func (w *writer) handOver(b *batch, wait bool) bool {
	b.core = len(b.recs) > 0 && b.recs[0].reply == ""
	var was uint64
	if b.core {
		// In flight: the next batch of core publishes waits for this one.
		was = w.bulkSeq.Swap(math.MaxUint64)
	}
	if wait {
		select {
		case w.ready <- b:
			return true
		case <-w.wake:
		}
	} else {
		select {
		case w.ready <- b:
			return true
		default:
		}
	}
	if b.core {
		w.bulkSeq.Store(was)
	}
	return false
}

// nextBatch replaces a batch handed to the committer: an empty one, or none
// in the slot of a full batch.
func (w *writer) nextBatch(wasFull bool) *batch {
	if wasFull {
		return nil
	}
	return w.newBatch()
}

// readerCaughtUp reports whether the reader has applied the last batch of
// core publishes this writer stored.
func (w *writer) readerCaughtUp() bool {
	return w.appliedSeq.Load() >= w.bulkSeq.Load()
}

// applied tells the writer the reader has applied the stored message seq,
// one of its own batches when own is set.
func (w *writer) applied(seq uint64, own *pendingBatch) {
	if own != nil && own.core {
		w.coreApplied.Add(1)
	}
	w.appliedSeq.Store(seq)
	if seq >= w.bulkSeq.Load() {
		w.poke()
	}
}

func (w *writer) newBatch() *batch {
	return &batch{id: w.prefix + strconv.FormatUint(w.batches.Add(1), 10)}
}

// accept validates one message and adds it to b, or to a new batch when b
// is full: then it returns the new one and b, to be handed over.
func (w *writer) accept(m *nats.Msg, b *batch, now float64) (cur, full *batch) {
	if len(m.Data) > w.g.cfg.MaxMessageBytes {
		err := fmt.Errorf("%s: %w: %d bytes, limit %d", m.Subject, ErrTooLarge, len(m.Data), w.g.cfg.MaxMessageBytes)
		w.refuse(m, err)
		return b, nil
	}
	d, err := decodeMessage(m.Subject, m.Data, now, w.g.cfg.History)
	if err == nil {
		err = checkAsOf(d, m.Subject, now)
	}
	if err != nil {
		w.refuse(m, err)
		return b, nil
	}
	var msgID string
	if m.Header != nil {
		msgID = m.Header.Get(jetstream.MsgIDHeader)
	}
	if len(msgID) > maxMsgIDBytes {
		w.refuse(m, fmt.Errorf("%s: %w: %s of %d bytes, limit %d", m.Subject, ErrTooLarge, jetstream.MsgIDHeader, len(msgID), maxMsgIDBytes))
		return b, nil
	}
	if msgID != "" && w.dedup.seen(dedupID(m.Subject, msgID), m.Reply, w) {
		w.duplicates.Add(1)
		w.resolved(1)
		return b, nil
	}
	// Every config is noted, answered or not, so the next one is judged
	// against the latest taken.
	warning := w.producerWarning(&d)
	if m.Reply == "" {
		warning = ""
	}
	rec := record{subject: m.Subject, msgID: msgID, data: m.Data}
	size := recordSize(rec.subject, rec.msgID, rec.data)
	if size > w.maxBatch {
		// Too large to share a message: stored alone, its subject carrying the widget.
		w.ready <- &batch{id: w.prefix + strconv.FormatUint(w.batches.Add(1), 10), single: m.Subject,
			data: m.Data, recs: []pendingRec{{subject: m.Subject, msgID: msgID, reply: m.Reply, warning: warning}}, decoded: []decoded{d}}
		return b, nil
	}
	if len(b.recs) >= maxBatchRecords || len(b.data)+size > w.maxBatch {
		full, b = b, w.newBatch()
	}
	b.data = appendRecord(b.data, rec)
	b.recs = append(b.recs, pendingRec{subject: m.Subject, msgID: msgID, reply: m.Reply, warning: warning})
	b.decoded = append(b.decoded, d)
	return b, full
}

// refuse answers an invalid update: counted, logged once a minute per widget
// and reason, and the publisher told why when it asked for an acknowledgement.
func (w *writer) refuse(m *nats.Msg, err error) {
	w.g.noteRejected(m.Subject, 0, err)
	w.g.state.countRejected()
	code := 400
	if errors.Is(err, ErrTooLarge) {
		code = 413
	}
	w.replyError(m.Reply, code, err.Error())
	w.resolved(1)
}

func (w *writer) commitLoop() {
	defer close(w.done)
	for b := range w.ready {
		w.commit(b)
	}
}

// jsStreamStoreFailed is nats-server's JSStreamStoreFailedF (the log is at
// its MaxBytes, among others), which nats.go does not name.
const jsStreamStoreFailed jetstream.ErrorCode = 10077

// storeTimeout bounds one attempt to store a batch.
const storeTimeout = 5 * time.Second

// commit stores one batch, retrying while the outcome is unknown (the bus
// away, a timeout: the batch's Nats-Msg-Id lets the stream drop a second
// copy), and answers every publisher in it.
func (w *writer) commit(b *batch) {
	if b.core {
		defer w.coreDone()
	}
	if reason := w.g.diskProblem(len(b.data)); reason != "" {
		w.setProblem(reason)
		w.fail(b, 507, reason)
		return
	}
	msg := &nats.Msg{Subject: broker.LogBatchSubject, Data: b.data, Header: nats.Header{}}
	opts := []jetstream.PublishOpt{jetstream.WithMsgID(b.id)}
	if b.single != "" {
		// An update stored alone may be as large as the bus allows with its
		// publisher's headers: it carries no more than those (its own
		// Nats-Msg-Id, renamed), so a retry may store it twice.
		msg.Subject, opts = broker.LogPrefix+b.single, nil
		if id := b.recs[0].msgID; id != "" {
			msg.Header.Set(hdrMsgID, id)
		}
	}
	if b.single == "" {
		w.decMu.Lock()
		w.decoded[b.id] = &pendingBatch{decoded: b.decoded, recs: b.recs, core: b.core}
		w.decMu.Unlock()
	}
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		ack, err := w.g.js.PublishMsg(ctx, msg, opts...)
		cancel()
		if err == nil {
			w.problem.Store(nil)
			w.storedBatch(b, ack.Sequence)
			return
		}
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) {
			// The store answered no: the log is full (compaction makes room) or
			// the disk is. Publishers hear it now rather than waiting.
			reason := "the update log refused the batch: " + apiErr.Description
			if apiErr.ErrorCode == jsStreamStoreFailed || strings.Contains(apiErr.Description, "bytes") {
				reason = "the update log is full (" + apiErr.Description + "); updates are refused until compaction or free disk space makes room"
			}
			w.setProblem(reason)
			w.fail(b, 507, reason)
			return
		}
		if errors.Is(err, nats.ErrMaxPayload) {
			w.fail(b, 413, "too large to store with its headers: "+err.Error())
			return
		}
		e := err.Error()
		w.lastErr.Store(&e)
		if w.isClosing() && attempt >= 2 {
			w.fail(b, 503, "the dashboard server shut down before storing this update")
			return
		}
		time.Sleep(min(50*time.Millisecond<<min(attempt, 5), time.Second))
	}
}

// pendingBatch is what the reader needs of a batch this writer stores: the
// updates as validated, and whom to answer once each is applied.
type pendingBatch struct {
	decoded []decoded
	recs    []pendingRec
	core    bool // core publishes only (batch.core)
}

// takeDecoded returns (and forgets) what this writer decoded of batch id.
func (w *writer) takeDecoded(id string) *pendingBatch {
	if id == "" {
		return nil
	}
	w.decMu.Lock()
	defer w.decMu.Unlock()
	d, ok := w.decoded[id]
	if ok {
		delete(w.decoded, id)
	}
	return d
}

func (w *writer) isClosing() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closing
}

func (w *writer) setProblem(reason string) {
	if old := w.problem.Swap(&reason); old == nil || *old != reason {
		w.log.Error("updates are being refused", "reason", reason)
	}
}

// storedBatch records where a stored batch's updates are. Their publishers
// are answered by the reader once each update is applied (answer), so an
// acknowledgement says what was applied; only an update stored alone, which
// the reader cannot match to its publisher, is acknowledged here.
func (w *writer) storedBatch(b *batch, seq uint64) {
	for i, r := range b.recs {
		p := pos(seq, i)
		if b.single != "" {
			if r.msgID != "" {
				w.dedup.settle(dedupID(r.subject, r.msgID), p, time.Now(), answeredApplied, w)
			}
			w.answer(r, p, answeredApplied)
		} else if r.msgID != "" {
			w.dedup.stored(dedupID(r.subject, r.msgID), p)
		}
	}
	w.stored.Add(uint64(len(b.recs)))
	w.resolved(len(b.recs))
	if b.core {
		w.coreStored.Add(1)
		w.bulkSeq.Store(seq)
		w.poke()
	} else if b.single == "" {
		behind := int64(w.coreStored.Load()) - int64(w.coreApplied.Load())
		for m := w.maxCoreBehind.Load(); behind > m && !w.maxCoreBehind.CompareAndSwap(m, behind); m = w.maxCoreBehind.Load() {
		}
	}
}

// coreDone ends a batch of core publishes' turn if it was not stored (the
// store refused it): the next one need not wait for the reader.
func (w *writer) coreDone() {
	if w.bulkSeq.CompareAndSwap(math.MaxUint64, w.appliedSeq.Load()) {
		w.poke()
	}
}

func (w *writer) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// answer tells an update's publisher what became of it once it is stored
// at p and applied with the outcome a (newDedupAnswer, docs/protocol.md
// §1): applied whole, a JetStream acknowledgement; a table update applied
// op by op with some rows left out at a limit, the acknowledgement with
// "refused" (how many ops) and "warning" (which limit); not applied at all
// (the widget's type, a widget, series or byte limit), an error naming why,
// though it is stored: resending it cannot help.
func (w *writer) answer(r pendingRec, p uint64, a *dedupAnswer) {
	if r.reply == "" {
		return
	}
	w.reply(r.reply, a.appendTo(nil, p, false))
}

// fail tells every publisher of b that its update was not stored; those
// that asked for no acknowledgement cannot be told, so they are counted.
func (w *writer) fail(b *batch, code int, reason string) {
	w.takeDecoded(b.id)
	for _, r := range b.recs {
		if r.msgID != "" {
			w.dedup.failed(dedupID(r.subject, r.msgID), code, reason, w)
		}
		if r.reply != "" {
			w.replyError(r.reply, code, reason)
		} else {
			w.drop(r.subject, dropNotStored)
		}
	}
	w.resolved(len(b.recs))
}

func (w *writer) resolved(n int) {
	w.waiting.Add(-int64(n))
	w.lastProgress.Store(time.Now().UnixNano())
}

func (w *writer) drop(subject string, reason int) {
	w.dropped[reason].Add(1)
	w.drops.note(subject)
}

// replyAllowed reports whether the gateway may answer on subject: only an
// inbox, which a publisher may subscribe to, never a subject of the
// dashboard, its log or snapshots, the JetStream API or the system account,
// where an answer would be a write the publisher has no right to make. A
// request from a publisher in another account (the embedded bus, or an
// external one set up like docs/protocol.md §7) arrives with a reply
// subject the server made, _R_.<...>, which carries the answer back into
// the publisher's account alone.
func replyAllowed(subject string) bool {
	prefix := protocol.InboxPrefix
	if strings.HasPrefix(subject, protocol.ResponsePrefix) {
		prefix = protocol.ResponsePrefix
	}
	if !strings.HasPrefix(subject, prefix) || len(subject) == len(prefix) {
		return false
	}
	for _, tok := range strings.Split(subject[len(prefix):], ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n") {
			return false
		}
	}
	return true
}

func (w *writer) reply(subject string, body []byte) {
	if subject == "" {
		return
	}
	if !replyAllowed(subject) {
		w.g.refusedReplies.Add(1)
		if w.g.rejects.allow("reply refused") {
			w.log.Warn("not answering on a reply subject that is not an inbox (_INBOX.>); the update itself was handled (further ones are counted in /metrics, logged once a minute)", "reply", subject)
		}
		return
	}
	if err := w.g.nc.Publish(subject, body); err != nil && w.g.rejects.allow("reply error") {
		w.log.Warn("acknowledging a publisher failed", "err", err)
	}
}

func (w *writer) replyError(subject string, code int, description string) {
	if subject == "" {
		return
	}
	w.reply(subject, appendPubAckError(nil, code, description))
}

// appendPubAck writes what a JetStream stream answers a publish, so
// nats.go, nats-py, `nats req` and every JetStream client read it as such.
func appendPubAck(b []byte, seq uint64, duplicate bool) []byte {
	b = append(b, `{"stream":"`+broker.LogStream+`","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	if duplicate {
		b = append(b, `,"duplicate":true`...)
	}
	return append(b, '}')
}

func appendPubAckError(b []byte, code int, description string) []byte {
	b = append(b, `{"error":{"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"description":`...)
	b = appendString(b, description)
	return append(b, "}}"...)
}

// close stops taking updates, stores what is queued (bounded by ctx) and
// stops the writer.
// replayDone lets queued updates through to dedup and storage: the log
// before Start has been read (or Start gave up and the writer is closing).
func (w *writer) replayDone() { w.replayOnce.Do(func() { close(w.replayed) }) }

func (w *writer) close(ctx context.Context) {
	if len(w.lanes) == 0 {
		return // never started
	}
	w.replayDone()
	// Drain delivers what nats.go already holds to onMsg, then stops.
	for _, l := range w.lanes {
		_ = l.sub.Drain()
	}
	for _, l := range w.lanes {
		for l.sub.IsValid() && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	select {
	case <-w.done:
	case <-ctx.Done():
	}
	w.clientDropped() // remembered: the count goes with the connection
	for _, l := range w.lanes {
		l.conn.Close()
	}
}

// dropTotal is every update that reached the gateway's subscription and was
// neither stored nor refused as invalid: its own drops plus nats.go's.
func (w *writer) dropTotal() uint64 {
	var n uint64
	for i := range w.dropped {
		n += w.dropped[i].Load()
	}
	return n + w.clientDropped()
}

// clientDropped is what nats.go dropped from the subscriptions' buffers.
func (w *writer) clientDropped() uint64 {
	var n uint64
	for _, l := range w.lanes {
		if d, err := l.sub.Dropped(); err == nil && d > 0 {
			l.drops.Store(uint64(d))
		}
		n += l.drops.Load()
	}
	return n
}
