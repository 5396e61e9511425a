package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
)

// startIngest consumes the log from its first retained message and returns
// once the message at lastSeq (the log's end when Start began) is applied.
func (g *Gateway) startIngest(ctx context.Context, lastSeq uint64) error {
	// An ordered consumer redelivers from where it stopped if the server
	// restarts or a message goes missing, so ingest never skips an update.
	cons, err := g.js.OrderedConsumer(ctx, broker.LogStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"sv.>"},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("log consumer: %w", err)
	}
	caughtUp := make(chan struct{})
	var once sync.Once
	if lastSeq == 0 {
		once.Do(func() { close(caughtUp) })
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		meta, err := msg.Metadata()
		if err != nil {
			return
		}
		seq := meta.Sequence.Stream
		g.ingest(message{seq: seq, subject: msg.Subject(), data: msg.Data(),
			ms: float64(meta.Timestamp.UnixNano()) / 1e6})
		if seq >= lastSeq {
			once.Do(func() { close(caughtUp) })
		}
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if !errors.Is(err, jetstream.ErrNoHeartbeat) {
			g.log.Warn("log consumer", "err", err)
		}
	}))
	if err != nil {
		return fmt.Errorf("consume log: %w", err)
	}
	g.mu.Lock()
	g.consume = cc
	g.mu.Unlock()
	select {
	case <-caughtUp:
		return nil
	case <-ctx.Done():
		cc.Stop()
		return fmt.Errorf("replaying the log: %w", ctx.Err())
	}
}

// ingest applies one stored message; it runs on the consumer's goroutine.
func (g *Gateway) ingest(m message) {
	var err error
	if len(m.data) > g.cfg.MaxMessageBytes {
		g.hub.reject(m.seq)
		err = fmt.Errorf("%s: %w: %d bytes, limit %d", m.subject, ErrTooLarge, len(m.data), g.cfg.MaxMessageBytes)
	} else {
		err = g.hub.apply(m)
	}
	if err != nil {
		g.countRejected(err)
		if g.rejects.allow(m.subject + rejectReason(err)) {
			g.log.Warn("rejected update (further rejections like it are counted, logged once a minute)", "seq", m.seq, "err", err)
		}
	}
	// Looking at the hub's counters takes its lock: checking every few messages
	// (a quarter of the threshold, at most 256) is often enough.
	g.ingested++
	if g.ingested%max(1, min(256, g.cfg.CompactMessages/4)) == 0 && g.hub.sinceCompact() >= g.cfg.CompactMessages {
		select {
		case g.compactN <- struct{}{}:
		default:
		}
	}
}

func rejectReason(err error) string {
	for _, e := range append([]error{ErrBadSubject, ErrBadID, ErrBadJSON, ErrTooLarge, ErrTooDeep, ErrBadShape, ErrWrongType, ErrTableFull}, limitErrors...) {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "other"
}
