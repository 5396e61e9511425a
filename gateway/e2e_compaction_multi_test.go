package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
)

// twoGatewaysOnOneBus starts two gateways on an operator's bus whose small
// payload limit splits each table's snapshot into several chunks; each
// gateway's compactStep hook calls the step function the test sets.
func twoGatewaysOnOneBus(t *testing.T) (url string, a, b *testEnv, hooks *stepHooks) {
	t.Helper()
	bus := startOperatorBus(t, 8<<10)
	hooks = &stepHooks{}
	cfgA, cfgB := noAutoCompaction, noAutoCompaction
	cfgA.compactStep = func(step string) { hooks.run("a", step) }
	cfgB.compactStep = func(step string) { hooks.run("b", step) }
	a = startEnvBus(t, "", cfgA, broker.Config{URL: bus.ClientURL()})
	b = startEnvBus(t, "", cfgB, broker.Config{URL: bus.ClientURL()})
	return bus.ClientURL(), a, b, hooks
}

type stepHooks struct {
	mu sync.Mutex
	fn func(gw, step string)
}

func (h *stepHooks) set(fn func(gw, step string)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fn = fn
}

func (h *stepHooks) run(gw, step string) {
	h.mu.Lock()
	fn := h.fn
	h.mu.Unlock()
	if fn != nil {
		fn(gw, step)
	}
}

// publishRound upserts a few rows of tables t0..t2 (each several chunks of
// snapshot), then more stat updates than a gateway's consumer pulls at once
// (so that a compaction purges past them), each one log message, straight
// into the log as a gateway stores them; and waits until both gateways
// applied all of it.
func publishRound(t *testing.T, a, b *testEnv, round int) {
	t.Helper()
	cell := strings.Repeat("x", 3000)
	var last uint64
	store := func(subject, data string) {
		ack, err := a.js.Publish(t.Context(), broker.LogBatchSubject, appendRecord(nil, record{subject: subject, data: []byte(data)}))
		if err != nil {
			t.Fatal(err)
		}
		last = ack.Sequence
	}
	for w := range 3 {
		for k := range 3 {
			store(fmt.Sprintf("sv.t%d.data", w), fmt.Sprintf(`{"key": "k%d", "row": {"k": "k%d", "round": %d, "pad": %q}}`, k, k, round, cell))
		}
	}
	for i := range logPrefetch + 20 {
		store("sv.tick.data", fmt.Sprintf(`{"value": %d, "ts": %d}`, i, round))
	}
	a.waitSeq(t, pos(last, 0))
	b.waitSeq(t, pos(last, 0))
}

// sameState fails unless every gateway given shows the same widgets as want.
func sameState(t *testing.T, what string, want map[string]apiWidget, got map[string]apiWidget) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d widgets, want %d", what, len(got), len(want))
	}
	for id, w := range want {
		if !jsonEqual(t, got[id].State, w.State) {
			t.Errorf("%s: widget %s holds %.200s…, the gateways show %.200s…", what, id, got[id].State, w.State)
		}
	}
}

func compactBoth(t *testing.T, a, b *testEnv) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, e := range []*testEnv{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			errs[i] = e.g.compact(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, errCompactionBusy) {
			t.Fatalf("compaction of gateway %d: %v", i, err)
		}
	}
}

// compactOrBusy compacts e, or finds another gateway compacting.
func compactOrBusy(t *testing.T, e *testEnv) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := e.g.compact(ctx); err != nil && !errors.Is(err, errCompactionBusy) {
		t.Fatalf("compact: %v", err)
	}
}

// Two gateways on one bus compact the same widgets at the same moment, over
// and over, and one of them behind the other: a gateway started afterwards
// on that bus restores exactly the state both show. Before, the one behind
// overwrote the other's newer snapshot with its older one after the other
// had purged the log past it, and the updates in between were gone for every
// later start; chunks of two snapshots written at once could also mix.
func TestGatewaysCompactingAtOnceLeaveTheStateBothShow(t *testing.T) {
	url, a, b, hooks := twoGatewaysOnOneBus(t)
	for w := range 3 {
		a.publish(t, fmt.Sprintf("sv.t%d.config", w), `{"type": "table", "key": "k"}`)
	}
	a.publish(t, "sv.tick.config", `{"type": "stat"}`)
	const rounds = 12
	for round := range rounds {
		publishRound(t, a, b, round)
		if round%2 == 0 {
			compactBoth(t, a, b)
			continue
		}
		// b captures its state, then waits while more updates arrive and a
		// compacts; only then does b write what it captured.
		aDone := make(chan struct{})
		bWaiting := make(chan struct{})
		hooks.set(func(gw, step string) {
			if gw == "b" && step == "intent" {
				close(bWaiting)
				<-aDone
			}
		})
		errB := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			errB <- b.g.compact(ctx)
		}()
		<-bWaiting
		hooks.set(nil)
		publishRound(t, a, b, 1000+round)
		compactOrBusy(t, a)
		close(aDone)
		if err := <-errB; err != nil {
			t.Fatalf("compaction of b: %v", err)
		}
	}
	want := a.allWidgets(t)
	sameState(t, "gateway b", want, b.allWidgets(t))
	fresh := startEnvBus(t, "", noAutoCompaction, broker.Config{URL: url})
	sameState(t, "a gateway started afterwards", want, fresh.allWidgets(t))
}

// A gateway killed while it compacts leaves the lock held: the others
// take it over, at once when its consumer on the log is gone (the server
// dropped it), otherwise once the lock has stayed unchanged for the lease,
// and their compactions then store the state both showed.
func TestALockLeftByAGatewayKilledMidCompactionIsTakenOver(t *testing.T) {
	for _, tc := range []struct {
		name         string
		lease        time.Duration
		dropConsumer bool // as the server does once the killed gateway's consumer is inactive
		busy         int  // compactions of b that find the lock held first
	}{
		{name: "its_consumer_gone", lease: time.Hour, dropConsumer: true, busy: 0},
		{name: "lease_run_out", lease: 0, busy: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, a, b, hooks := twoGatewaysOnOneBus(t)
			a.publish(t, "sv.t0.config", `{"type": "table", "key": "k"}`)
			publishRound(t, a, b, 1)
			hooks.set(func(gw, step string) {
				if gw == "a" && step == "intent" {
					hooks.set(nil)
					// What a kill leaves: the lock held, nothing released.
					if err := a.b.Close(); err != nil {
						t.Logf("close a's bus connection: %v", err)
					}
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			consName := a.g.logCons.CachedInfo().Name
			if err := a.g.compact(ctx); err == nil {
				t.Fatal("the compaction of a, whose bus connection closed, reported no error")
			}
			if tc.dropConsumer {
				logStream, err := b.js.Stream(ctx, broker.LogStream)
				if err == nil {
					err = logStream.DeleteConsumer(ctx, consName)
				}
				if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
					t.Fatal(err)
				}
			}
			b.g.compactMu.Lock()
			b.g.lock.lease = tc.lease
			b.g.compactMu.Unlock()
			publishRound(t, b, b, 2)
			for i := range tc.busy {
				if err := b.g.compact(ctx); !errors.Is(err, errCompactionBusy) {
					t.Fatalf("compaction %d of b while a's lock is fresh: %v, want busy", i, err)
				}
			}
			b.compactNow(t)
			if first := b.streamInfo(t, broker.LogStream).State.FirstSeq; first <= 1 {
				t.Fatalf("b's compaction did not purge the log (it starts at %d)", first)
			}
			want := b.allWidgets(t)
			fresh := startEnvBus(t, "", noAutoCompaction, broker.Config{URL: url})
			sameState(t, "a gateway started afterwards", want, fresh.allWidgets(t))
		})
	}
}

// A gateway stopped while another on the bus compacts stops cleanly: its
// last snapshot waits (the log still holds what it would have written), and
// a gateway started afterwards restores the state.
func TestAGatewayStoppedWhileAnotherCompactsStopsCleanly(t *testing.T) {
	url, a, b, hooks := twoGatewaysOnOneBus(t)
	a.publish(t, "sv.t0.config", `{"type": "table", "key": "k"}`)
	publishRound(t, a, b, 1)
	aWaiting, release := make(chan struct{}), make(chan struct{})
	hooks.set(func(gw, step string) {
		if gw == "a" && step == "intent" {
			close(aWaiting)
			<-release
		}
	})
	errA := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		errA <- a.g.compact(ctx)
	}()
	<-aWaiting
	hooks.set(nil)
	want := b.allWidgets(t)
	if err := b.stop(); err != nil {
		t.Errorf("stopping b while a compacts: %v", err)
	}
	close(release)
	if err := <-errA; err != nil {
		t.Fatalf("compaction of a: %v", err)
	}
	fresh := startEnvBus(t, "", noAutoCompaction, broker.Config{URL: url})
	sameState(t, "a gateway started afterwards", want, fresh.allWidgets(t))
}
