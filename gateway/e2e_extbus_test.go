package gateway

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/streamviz/streamviz/broker"
	"github.com/streamviz/streamviz/internal/natstest"
)

// startOperatorBus runs an operator's own nats-server with JetStream on
// loopback, in-process, as serve --nats-url would join it.
func startOperatorBus(t testing.TB, maxPayload int32) *server.Server {
	t.Helper()
	return natstest.Start(t, server.Options{JetStream: true, MaxPayload: maxPayload})
}

// A bus taking smaller messages than a snapshot chunk (an operator's
// max_payload) must still get every widget's snapshot: each compaction, and
// the last snapshot at shutdown, failed with "maximum payload exceeded", so the
// log was never compacted and the next start replayed all of it.
func TestSnapshotsFitABusWithASmallPayloadLimit(t *testing.T) {
	for _, maxPayload := range []int32{8 << 10, 300 << 10} {
		t.Run(fmt.Sprint(maxPayload), func(t *testing.T) {
			bus := startOperatorBus(t, maxPayload)
			cfg := noAutoCompaction
			e := startEnvBus(t, "", cfg, broker.Config{URL: bus.ClientURL()})
			e.publish(t, "sv.big.config", `{"type": "table", "key": "k", "max_rows": 1000}`)
			// Rows well under the bus's limit whose table is several times it.
			cell := strings.Repeat("x", int(maxPayload)/8)
			var last uint64
			for i := range 40 {
				last = e.publish(t, "sv.big.data", fmt.Sprintf(`{"key": "r%d", "row": {"k": "r%d", "v": %q}}`, i, i, cell))
			}
			e.waitSeq(t, last)
			want := string(e.widgetState(t, "big"))
			e.compactNow(t)
			if err := e.stop(); err != nil {
				t.Fatalf("stop (the last snapshot): %v", err)
			}
			again := startEnvBus(t, "", cfg, broker.Config{URL: bus.ClientURL()})
			if got := string(again.widgetState(t, "big")); got != want {
				t.Fatalf("after a restart the table holds %d bytes, want the %d before", len(got), len(want))
			}
			if snaps := again.streamInfo(t, broker.SnapshotStream).State.Msgs; snaps < 2 {
				t.Errorf("SV_SNAP holds %d messages: the table's snapshot was not written in chunks", snaps)
			}
		})
	}
}

// Two gateways share one bus and its log. One that lags (busy, paused,
// reconnecting) while the other compacts must still apply every update: the
// other's purge skipped it past the updates purged, so its dashboard missed
// them for good, with nothing said.
func TestALaggingGatewayMissesNoUpdateAnotherGatewayCompacted(t *testing.T) {
	bus := startOperatorBus(t, 0)
	a := startEnvBus(t, "", noAutoCompaction, broker.Config{URL: bus.ClientURL()})
	b := startEnvBus(t, "", noAutoCompaction, broker.Config{URL: bus.ClientURL()})
	a.publish(t, "sv.rows.config", `{"type": "table", "key": "k", "max_rows": 2000}`)

	// b stops applying the log where it is (its consumer holds at most one
	// pull of messages it has not applied).
	b.g.state.mu.Lock()
	locked := true
	t.Cleanup(func() {
		if locked {
			b.g.state.mu.Unlock()
		}
	})
	// Updates stored one per log message, more than a pull, straight into
	// the log so that neither gateway's ingest (b's would wait) is involved.
	const n = 3 * logPrefetch
	var last uint64
	for i := range n {
		batch := appendRecord(nil, record{subject: "sv.rows.data", data: fmt.Appendf(nil, `{"key": "r%d", "row": {"k": "r%d"}}`, i, i)})
		ack, err := a.js.Publish(t.Context(), broker.LogBatchSubject, batch)
		if err != nil {
			t.Fatal(err)
		}
		last = ack.Sequence
	}
	a.waitSeq(t, pos(last, 0))
	want := string(a.widgetState(t, "rows"))
	a.compactNow(t)

	b.g.state.mu.Unlock()
	locked = false
	b.waitSeq(t, pos(last, 0))
	if got := string(b.widgetState(t, "rows")); got != want {
		t.Fatalf("the gateway that lagged shows %d bytes of rows, the other %d: it skipped updates", len(got), len(want))
	}
}

// An operator's bus that takes smaller messages than the gateway accepts
// refuses the larger updates itself, before the gateway sees them: the
// operator must hear it at start, naming both limits.
func TestStartWarnsWhenTheBusTakesLessThanMaxMessageBytes(t *testing.T) {
	for _, tt := range []struct {
		maxPayload int32
		warn       bool
	}{{8 << 10, true}, {2 << 20, false}} {
		t.Run(fmt.Sprint(tt.maxPayload), func(t *testing.T) {
			var logs logBuffer
			bus := startOperatorBus(t, tt.maxPayload)
			startEnvBus(t, "", Config{Logger: logs.logger()}, broker.Config{URL: bus.ClientURL()})
			got := logs.String()
			warned := strings.Contains(got, "max_payload="+fmt.Sprint(tt.maxPayload)) && strings.Contains(got, "--max-message-bytes")
			if warned != tt.warn {
				t.Errorf("warned %v, want %v; log:\n%s", warned, tt.warn, got)
			}
		})
	}
}
