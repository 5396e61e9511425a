package gateway

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/streamviz/streamviz/broker"
)

// startOperatorBus runs an operator's own nats-server with JetStream on
// loopback, in-process, as serve --nats-url would join it.
func startOperatorBus(t testing.TB, maxPayload int32) *server.Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(), MaxPayload: maxPayload})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
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
