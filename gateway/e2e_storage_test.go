package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
)

// The log discards new messages when full, so nothing acknowledged is ever
// dropped: publishers get an error instead, and compaction makes room again.
func TestFullLogRefusesNewUpdatesUntilCompactionFreesIt(t *testing.T) {
	cfg := noAutoCompaction
	cfg.Streams = broker.StreamsConfig{MaxBytes: 16 << 10}
	e := startEnv(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()

	var acked []int
	var lastSeq uint64
	for i := 0; ; i++ {
		if i > 2000 {
			t.Fatalf("a 16 KiB log accepted %d updates", i)
		}
		ack, err := e.js.Publish(ctx, "sv.n.data", []byte(fmt.Sprintf(`{"value": %d, "ts": %d}`, i, i)))
		if err != nil {
			t.Logf("log full after %d updates: %v", len(acked), err)
			break
		}
		acked = append(acked, i)
		lastSeq = ack.Sequence
	}
	e.waitSeq(t, lastSeq)
	// While the log is full, /healthz says so.
	if code, h := e.healthz(t); code != http.StatusServiceUnavailable || !strings.Contains(h.Ingest.Problem, "log is full") {
		t.Errorf("/healthz with a full log: %d %+v; want 503 saying the log is full", code, h)
	}
	n := acked[len(acked)-1]
	assertJSON(t, "state holds the last acknowledged update", e.widgetState(t, "n"),
		fmt.Sprintf(`{"value": %d, "prev": %d, "ts": %d}`, n, n-1, n))
	if first, _, msgs := logStream(t, e); first != 1 || msgs != uint64(len(acked)) { // one message per update: each was acknowledged before the next
		t.Errorf("SV holds %d messages from %d, want all %d acknowledged from 1", msgs, first, len(acked))
	}

	e.compactNow(t)
	s := e.publishAndWait(t, "sv.n.data", `{"value": -1, "ts": 0}`)
	// The refused attempt stored nothing: the next update is the next message.
	if s != pos(lastSeq>>posShift+1, 0) {
		t.Errorf("after compaction the next update is at position %d, want %d", s, pos(lastSeq>>posShift+1, 0))
	}
	assertJSON(t, "state after compaction", e.widgetState(t, "n"), fmt.Sprintf(`{"value": -1, "prev": %d, "ts": 0}`, n))
}

// Finding 7 of issue 10: SV_SNAP grew to 1.37 GB with no limit. It is
// bounded (--max-snapshot-bytes) and refuses what does not fit (discard
// new): a compaction that would pass the bound fails, saying why, and
// purges nothing, so the older snapshot and the log after it still hold
// every update; the next start shows them all.
func TestSnapshotStreamIsBoundedAndAFullOneLosesNothing(t *testing.T) {
	const bound = 256 << 10
	cfg := noAutoCompaction
	cfg.Streams = broker.StreamsConfig{SnapshotMaxBytes: bound}
	e := startEnv(t, cfg)
	if got := e.streamInfo(t, broker.SnapshotStream).Config; got.MaxBytes != bound || got.Discard != jetstream.DiscardNew {
		t.Fatalf("SV_SNAP max bytes %d, discard %v; want %d, discard new", got.MaxBytes, got.Discard, bound)
	}
	e.publishAndWait(t, "sv.t.config", `{"type": "table", "key": "k"}`)
	row := strings.Repeat("x", 40_000)
	e.publishAndWait(t, "sv.t.data", fmt.Sprintf(`{"key": "r0", "row": {"v": %q}}`, row))
	e.compactNow(t) // a snapshot of one row fits

	for i := 1; i < 10; i++ { // ten rows of 40 kB do not
		e.publishAndWait(t, "sv.t.data", fmt.Sprintf(`{"key": "r%d", "row": {"v": %q}}`, i, row))
	}
	want := e.widgetState(t, "t")
	logBefore := e.streamInfo(t, broker.LogStream).State
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	err := e.g.compact(ctx)
	if err == nil || !strings.Contains(err.Error(), "snapshot t") {
		t.Fatalf("compaction past SV_SNAP's bound: %v; want an error naming the widget", err)
	}
	if st := e.streamInfo(t, broker.SnapshotStream).State; st.Bytes > bound {
		t.Fatalf("SV_SNAP holds %d bytes, over its bound of %d", st.Bytes, bound)
	}
	if st := e.streamInfo(t, broker.LogStream).State; st.FirstSeq != logBefore.FirstSeq || st.Msgs != logBefore.Msgs {
		t.Fatalf("the log was purged after a failed compaction: %+v, before %+v", st, logBefore)
	}
	// The last snapshot at shutdown does not fit either: stop says so.
	if err := e.stop(); err == nil || !strings.Contains(err.Error(), "maximum bytes exceeded") {
		t.Fatalf("stop with a full SV_SNAP: %v; want the final snapshot's error", err)
	}
	e = startEnvAt(t, e.dir, e.cfg)
	assertJSON(t, "the table after a restart", e.widgetState(t, "t"), string(want))
}
