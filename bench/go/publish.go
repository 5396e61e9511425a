package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publisher is a nats.go JetStream async publisher, as a pipeline process
// would use (the Python SDK publishes the same way): every message is
// acknowledged once stored, and the acks are counted here.
type publisher struct {
	nc *nats.Conn
	js jetstream.JetStream

	acked  atomic.Int64
	failed atomic.Int64
	mu     sync.Mutex
	maxSeq uint64 // highest stream sequence acknowledged
	errMsg string // the first failure, for the report
}

func newPublisher(url string, maxPending int, opts ...nats.Option) (*publisher, error) {
	p := &publisher{}
	nc, err := nats.Connect(url, append([]nats.Option{nats.Name("svbench-publisher")}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", url, err)
	}
	p.nc = nc
	p.js, err = jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(maxPending),
		jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, _ *nats.Msg, ack *jetstream.PubAck) {
			p.acked.Add(1)
			p.mu.Lock()
			p.maxSeq = max(p.maxSeq, ack.Sequence)
			p.mu.Unlock()
		}),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, _ *nats.Msg, err error) {
			if p.failed.Add(1) == 1 {
				p.mu.Lock()
				p.errMsg = err.Error()
				p.mu.Unlock()
			}
		}))
	if err != nil {
		nc.Close()
		return nil, err
	}
	return p, nil
}

// send publishes one message asynchronously. It blocks while the window of
// unacknowledged messages is full, which is the publisher's backpressure.
func (p *publisher) send(subject string, data []byte) error {
	_, err := p.js.PublishAsync(subject, data, jetstream.WithStallWait(30*time.Second))
	return err
}

// sendSync publishes and waits for the acknowledgement (set-up messages).
func (p *publisher) sendSync(subject string, data []byte) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := p.js.Publish(ctx, subject, data)
	if err != nil {
		return 0, fmt.Errorf("publish %s: %w", subject, err)
	}
	p.mu.Lock()
	p.maxSeq = max(p.maxSeq, ack.Sequence)
	p.mu.Unlock()
	return ack.Sequence, nil
}

// complete waits until every async publish is acknowledged or has failed.
func (p *publisher) complete(timeout time.Duration) error {
	select {
	case <-p.js.PublishAsyncComplete():
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%d publishes still unacknowledged after %v", p.js.PublishAsyncPending(), timeout)
	}
}

// lastSeq is the highest stream sequence acknowledged so far.
func (p *publisher) lastSeq() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxSeq
}

func (p *publisher) firstError() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errMsg
}

func (p *publisher) close() { p.nc.Close() }

// resetCounts zeroes the ack counters between phases, including the
// highest sequence: each stream numbers its own messages.
func (p *publisher) resetCounts() {
	p.acked.Store(0)
	p.failed.Store(0)
	p.mu.Lock()
	p.maxSeq, p.errMsg = 0, ""
	p.mu.Unlock()
}

// pace calls send(i) for i = 0, 1, ... so that call i happens i/rate seconds
// after the start, for dur. Sleeps are about a millisecond, so it sends in
// small bursts and catches up when it falls behind: the long-run rate is
// exact unless send itself is slower. It stops early when stop is closed.
func pace(rate int, dur time.Duration, stop <-chan struct{}, send func(i int64) error) (sent int64, elapsed time.Duration, err error) {
	total := int64(float64(rate) * dur.Seconds())
	start := time.Now()
	for sent < total {
		due := min(total, int64(time.Since(start).Seconds()*float64(rate))+1)
		for ; sent < due; sent++ {
			if err := send(sent); err != nil {
				return sent, time.Since(start), err
			}
		}
		next := start.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
		select {
		case <-stop:
			return sent, time.Since(start), errors.New("stopped")
		case <-time.After(time.Until(next)):
		}
	}
	return sent, time.Since(start), nil
}
