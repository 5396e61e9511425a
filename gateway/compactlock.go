package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
	"github.com/streamviz/streamviz/protocol"
)

// Several gateways on one bus share SV_SNAP and the log. Two compacting at
// once, or one lagging behind another, could replace a widget's newer
// snapshot with an older one after the other had purged the log past it,
// and mix the chunks of two snapshots: the state a later start restores
// would lack updates both gateways show. So one gateway compacts at a time:
// it takes a lock, a message on svsnap.$lock.0 published with JetStream's
// expected last subject sequence (only one publisher of a given sequence
// succeeds), and, when another gateway compacted since its own last
// compaction, reads which snapshots are stored before writing, never
// replacing one with an older.

// lockID names the compaction lock's subject in SV_SNAP (svsnap.$lock.0).
// It carries no Sv-Pos, so loading the snapshots passes it by.
const lockID = "$lock"

// compactLease is how long a lock held by another gateway must stay
// unchanged before it is taken over (its holder was killed mid-compaction).
// A compaction gives up after half of it (compact), so a holder that was
// only slow has stopped writing by the time its lock is taken.
const compactLease = 2 * time.Minute

const (
	hdrLock       = "Sv-Lock"          // "held" or "free"
	hdrLockHolder = "Sv-Lock-Holder"   // the gateway's id
	hdrLockCons   = "Sv-Lock-Consumer" // the holder's consumer on the log
)

// errCompactionBusy says another gateway on the bus is compacting: this
// compaction is skipped, and the next one tries again.
var errCompactionBusy = errors.New("another gateway on this bus is compacting")

// compactLock is one gateway's side of the lock. Only compact uses it,
// under Gateway.compactMu.
type compactLock struct {
	id    string
	lease time.Duration
	// deadline bounds one compaction: half the lease, so that a holder
	// paused past it stops writing before its lock can be taken over.
	deadline time.Duration
	// last is the lock's sequence when this gateway released it, or 0;
	// mine says nothing was written to the lock since (no other gateway
	// compacted, so this gateway knows what SV_SNAP holds).
	last uint64
	mine bool
	held uint64 // the lock's sequence while this gateway holds it
	// stale is another holder's lock sequence and when it was first seen.
	stale      uint64
	staleSince time.Time
}

func newCompactLock() *compactLock {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &compactLock{id: hex.EncodeToString(b), lease: compactLease, deadline: compactLease / 2}
}

func lockSubject() string { return protocol.SnapshotPrefix + lockID + ".0" }

func (g *Gateway) lockMsg(state string) *nats.Msg {
	h := nats.Header{hdrLock: []string{state}, hdrLockHolder: []string{g.lock.id}}
	g.mu.Lock()
	if g.logCons != nil {
		h.Set(hdrLockCons, g.logCons.CachedInfo().Name)
	}
	g.mu.Unlock()
	return &nats.Msg{Subject: lockSubject(), Header: h}
}

func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// acquireCompactLock takes the lock, or returns errCompactionBusy. others
// says another gateway may have written snapshots since this one last did.
func (g *Gateway) acquireCompactLock(ctx context.Context) (others bool, err error) {
	l := g.lock
	ack, err := g.js.PublishMsg(ctx, g.lockMsg("held"), jetstream.WithExpectLastSequencePerSubject(l.last))
	if err == nil {
		l.held = ack.Sequence
		return !l.mine, nil
	}
	if !isWrongLastSequence(err) {
		return false, fmt.Errorf("take the compaction lock: %w", err)
	}
	seq, state, holder, cons, err := g.readCompactLock(ctx)
	if err != nil {
		return false, err
	}
	if state == "held" && holder != l.id && !g.logConsumerGone(ctx, cons) {
		if seq != l.stale {
			l.stale, l.staleSince = seq, time.Now()
			return false, errCompactionBusy
		}
		if time.Since(l.staleSince) < l.lease {
			return false, errCompactionBusy
		}
		g.log.Warn("taking over the compaction lock from a gateway that held it too long (killed while compacting?)",
			"holder", holder, "held_for_at_least", l.lease)
	}
	ack, err = g.js.PublishMsg(ctx, g.lockMsg("held"), jetstream.WithExpectLastSequencePerSubject(seq))
	if isWrongLastSequence(err) {
		return false, errCompactionBusy
	}
	if err != nil {
		return false, fmt.Errorf("take the compaction lock: %w", err)
	}
	l.held, l.mine = ack.Sequence, false
	return true, nil
}

// releaseCompactLock frees the lock if this gateway still holds it, and
// drops the lock's older messages.
func (g *Gateway) releaseCompactLock() {
	l := g.lock
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := g.js.PublishMsg(ctx, g.lockMsg("free"), jetstream.WithExpectLastSequencePerSubject(l.held))
	if err != nil {
		// Taken over, or the bus is away: another gateway takes it once
		// the lease has run out.
		l.last, l.mine = 0, false
		if !isWrongLastSequence(err) {
			g.log.Warn("cannot release the compaction lock; other gateways on this bus wait for its lease to run out before they compact", "err", err, "lease", l.lease)
		}
		return
	}
	l.last, l.mine = ack.Sequence, true
	if err := g.snapStream.Purge(ctx, jetstream.WithPurgeSubject(lockSubject()), jetstream.WithPurgeSequence(ack.Sequence)); err != nil {
		g.log.Debug("cannot drop the compaction lock's older messages", "err", err)
	}
}

// logConsumerGone says the lock's holder no longer reads the log: its
// consumer, named in the lock, is gone (the gateway was killed and the
// server dropped it, or restarted), so the lock is taken over at once
// rather than after the lease.
func (g *Gateway) logConsumerGone(ctx context.Context, name string) bool {
	if name == "" {
		return false
	}
	_, err := g.logStream.Consumer(ctx, name)
	return errors.Is(err, jetstream.ErrConsumerNotFound)
}

// readCompactLock reads the lock's newest message: its sequence (0 when
// there is none), state, holder and the holder's consumer on the log.
func (g *Gateway) readCompactLock(ctx context.Context) (seq uint64, state, holder, cons string, err error) {
	info, err := g.snapStream.Info(ctx, jetstream.WithSubjectFilter(lockSubject()))
	if err != nil {
		return 0, "", "", "", fmt.Errorf("read the compaction lock: %w", err)
	}
	if info.State.Subjects[lockSubject()] == 0 {
		return 0, "", "", "", nil
	}
	msgs, err := g.lastPerSubject(ctx, lockSubject(), 1)
	if err != nil || len(msgs) == 0 {
		return 0, "", "", "", fmt.Errorf("read the compaction lock: %w", errors.Join(err, errors.New("no message")))
	}
	m := msgs[0]
	return m.seq, m.h.Get(hdrLock), m.h.Get(hdrLockHolder), m.h.Get(hdrLockCons), nil
}

type storedHeader struct {
	subject string
	seq     uint64
	h       nats.Header
}

// lastPerSubject reads the headers of the newest message of each of the n
// subjects of SV_SNAP matching filter.
func (g *Gateway) lastPerSubject(ctx context.Context, filter string, n int) ([]storedHeader, error) {
	cons, err := g.js.OrderedConsumer(ctx, broker.SnapshotStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy, HeadersOnly: true,
	})
	if err != nil {
		return nil, err
	}
	var out []storedHeader
	for len(out) < n {
		batch, err := cons.Fetch(min(256, n-len(out)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, err
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			md, err := msg.Metadata()
			if err != nil {
				return nil, err
			}
			out = append(out, storedHeader{subject: msg.Subject(), seq: md.Sequence.Stream, h: msg.Headers()})
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, err
		}
		if got == 0 {
			break
		}
	}
	return out, nil
}

// storedSnapshots is the position of each widget's newest snapshot in
// SV_SNAP when it is complete, or 0 when its writer was cut short (the
// snapshots are written whole, one compaction at a time).
func (g *Gateway) storedSnapshots(ctx context.Context) (map[string]uint64, error) {
	info, err := g.snapStream.Info(ctx, jetstream.WithSubjectFilter(protocol.SnapshotWildcard))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", broker.SnapshotStream, err)
	}
	last, err := g.lastPerSubject(ctx, protocol.SnapshotWildcard, len(info.State.Subjects))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", broker.SnapshotStream, err)
	}
	type chunk struct {
		gen, seq uint64
		parts    int
	}
	byID := map[string]map[int]chunk{}
	for _, m := range last {
		rest := strings.TrimPrefix(m.subject, protocol.SnapshotPrefix)
		dot := strings.LastIndexByte(rest, '.')
		if dot <= 0 {
			continue
		}
		part, err1 := strconv.Atoi(rest[dot+1:])
		gen, err2 := strconv.ParseUint(m.h.Get(hdrPos), 10, 64)
		parts, err3 := strconv.Atoi(m.h.Get(hdrParts))
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		id := rest[:dot]
		if id == indexID || id == intentID || id == lockID {
			continue
		}
		if byID[id] == nil {
			byID[id] = map[int]chunk{}
		}
		byID[id][part] = chunk{gen: gen, seq: m.seq, parts: parts}
	}
	stored := make(map[string]uint64, len(byID))
	for id, chunks := range byID {
		first, ok := chunks[0]
		if !ok {
			continue
		}
		complete := true
		for i := 1; i < first.parts; i++ {
			if c, ok := chunks[i]; !ok || c.gen != first.gen || c.seq < first.seq {
				complete = false
			}
		}
		if complete {
			stored[id] = first.gen
		} else {
			stored[id] = 0
		}
	}
	return stored, nil
}

// reconcile brings what this gateway believes SV_SNAP holds in line with
// what it does hold, now that another gateway compacted: a widget whose
// stored snapshot is older than the one this gateway wrote (or is gone, or
// cut short) is written again; a newer one counts as this gateway's.
func (s *state) reconcile(stored map[string]uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, mine := range s.snapGen {
		switch got := stored[id]; {
		case got < mine:
			s.dirty[id] = struct{}{}
			delete(s.snapGen, id)
		case got > mine:
			s.snapGen[id] = got
		}
	}
}
