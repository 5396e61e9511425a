package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

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
