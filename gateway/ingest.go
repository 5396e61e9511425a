package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
	"github.com/streamviz/streamviz/protocol"
)

// startIngest consumes the log from its first retained message and returns
// once the message at lastSeq (the log's end when Start began) is applied.
func (g *Gateway) startIngest(ctx context.Context, lastSeq uint64) error {
	// An ordered consumer redelivers from where it stopped if the server
	// restarts or a message goes missing, so ingest never skips an update.
	// Each pull asks for at most about one largest message's bytes (a pull
	// of fewer bytes than a message would stall): the server closes a
	// connection it holds more than max_pending for (broker.DefaultMaxPending)
	// as a slow consumer, and a replay must never come near it.
	cons, err := g.js.OrderedConsumer(ctx, broker.LogStream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("log consumer: %w", err)
	}
	caughtUp := make(chan struct{})
	var once sync.Once
	// The log up to lastSeq was counted (and its refusals logged) by the run
	// that stored it: this one counts from there on (docs/protocol.md §4).
	g.booting.Store(lastSeq > 0)
	if lastSeq == 0 {
		once.Do(func() { close(caughtUp) })
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		meta, err := msg.Metadata()
		if err != nil {
			return
		}
		seq := meta.Sequence.Stream
		var msgID string
		var own *pendingBatch // a batch this gateway stored: its publishers wait for the outcome
		if h := msg.Headers(); h != nil {
			msgID = h.Get(hdrMsgID)
			batchID := h.Get(jetstream.MsgIDHeader)
			if msgID == "" && !strings.HasPrefix(msg.Subject(), broker.LogPrefix) {
				msgID = batchID // a log from before batches: the publisher's id
			}
			own = g.w.takeDecoded(batchID)
		}
		recs, err := storedRecords(msg.Subject(), msgID, msg.Data())
		if own != nil && len(own.decoded) != len(recs) {
			own = nil
		}
		if err != nil {
			if !g.booting.Load() {
				g.noteRejected(msg.Subject(), pos(seq, 0), err)
			}
			g.state.reject(pos(seq, 0))
		}
		ms := float64(meta.Timestamp.UnixNano()) / 1e6
		for i, r := range recs {
			p := pos(seq, i)
			var d *decoded
			if own != nil {
				d = &own.decoded[i]
			}
			err := g.ingest(message{seq: p, subject: r.subject, data: r.data, ms: ms}, d)
			var warning string
			if own != nil {
				warning = own.recs[i].warning
			}
			a := newDedupAnswer(err, warning)
			if msg.Subject() != broker.LogBatchSubject {
				// Stored alone (or by a publisher, in an old log): its
				// publisher was acknowledged once it was stored.
				a = answeredApplied
			}
			if own != nil {
				g.w.answer(own.recs[i], p, a)
			}
			if r.msgID != "" {
				// Resends get this answer too; after a restart it is
				// learnt again by applying the log anew.
				g.w.dedup.settle(dedupID(r.subject, r.msgID), p, meta.Timestamp, a, g.w)
			}
		}
		g.state.msgDone(seq)
		g.w.applied(seq, own)
		if seq >= lastSeq {
			once.Do(func() {
				g.state.resetCounters()
				g.booting.Store(false)
				close(caughtUp)
			})
		}
	}, jetstream.PullMaxMessagesWithBytesLimit(256, broker.LogPullBytes(g.nc.MaxPayload())), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if !errors.Is(err, jetstream.ErrNoHeartbeat) {
			g.log.Warn("log consumer", "err", err)
		}
	}))
	if err != nil {
		return fmt.Errorf("consume log: %w", err)
	}
	g.mu.Lock()
	g.consume, g.logCons = cc, cons
	g.mu.Unlock()
	select {
	case <-caughtUp:
		return nil
	case <-ctx.Done():
		cc.Stop()
		return fmt.Errorf("replaying the log: %w", ctx.Err())
	}
}

// ingest applies one stored message and returns why (some of) it was
// refused; it runs on the consumer's goroutine. d, when set, is the update
// as this gateway's writer decoded it before storing it, which spares
// decoding it again.
func (g *Gateway) ingest(m message, d *decoded) error {
	var err error
	switch {
	case d != nil:
		if u := d.upd; u != nil && u.Value != nil && u.Value.Arrival {
			// The writer stamped the time it took the update; the log's
			// time is what a replay stamps, so the state is the same after.
			u.Value.TS = m.ms
		}
		err = g.state.applyDecoded(m, *d)
	case len(m.data) > g.cfg.MaxMessageBytes:
		g.state.reject(m.seq)
		err = fmt.Errorf("%s: %w: %d bytes, limit %d", m.subject, ErrTooLarge, len(m.data), g.cfg.MaxMessageBytes)
	default:
		err = g.state.apply(m)
	}
	if err != nil && !g.booting.Load() {
		g.noteRejected(m.subject, m.seq, err)
	}
	// Looking at the state's counters takes its lock: checking every few messages
	// (a quarter of the threshold, at most 256) is often enough.
	g.ingested++
	if g.ingested%max(1, min(256, g.cfg.CompactMessages/4)) == 0 && g.state.sinceCompact() >= g.cfg.CompactMessages {
		select {
		case g.compactN <- struct{}{}:
		default:
		}
	}
	return err
}

// noteRejected counts a refused update and logs it once a minute per widget and reason.
func (g *Gateway) noteRejected(subject string, seq uint64, err error) {
	g.countRejected(err)
	if g.rejects.allow(subject + rejectReason(err)) {
		args := []any{"err", err}
		if seq != 0 {
			args = append(args, "seq", seq)
		}
		g.log.Warn("rejected update (further rejections like it are counted, logged once a minute)", args...)
	}
}

func rejectReason(err error) string { return protocol.RejectReason(err) }
