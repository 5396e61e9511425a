package gateway

import (
	"fmt"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// TestUpdatesTheBusDropsOnTheWayToTheGatewayAreCounted pins that what the
// server discards when it closes the gateway's ingest connection (as it does
// a slow consumer) is counted, never silent: every update published before
// the close is stored or counted as dropped (reason "bus"), the close is in
// /healthz and /metrics, and ingest goes on over the new connection.
func TestUpdatesTheBusDropsOnTheWayToTheGatewayAreCounted(t *testing.T) {
	e := startEnv(t, Config{})
	e.publishAndWait(t, "sv.c.config", `{"type":"chart","max_points":10}`)
	srv, ok := e.b.Conn().Opts.InProcessServer.(*server.Server)
	if !ok {
		t.Fatal("the test needs the embedded server")
	}
	base := e.g.w.stored.Load()
	// Fewer than the server holds for one connection (1.7 MB of the 64 MiB
	// of broker.DefaultMaxPending), so only the test closes the connection
	// however slowly a loaded machine lets the gateway read.
	const n = 50_000
	for range n {
		if err := e.nc.Publish("sv.c.data", []byte(`{"x":1,"y":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	// Once the publisher's connection is flushed the server has routed every
	// update to the gateway's connection (sent, or queued there).
	if err := e.nc.FlushTimeout(4 * startTimeout); err != nil {
		t.Fatal(err)
	}
	lane := e.laneOf(t, "c")
	lane.bus.mu.Lock()
	cid := lane.bus.cid
	lane.bus.mu.Unlock()
	if err := srv.DisconnectClientByID(cid); err != nil {
		t.Fatalf("closing the ingest connection %d: %v", cid, err)
	}
	eventually(t, 4*startTimeout, func() bool {
		// Reconnected too: when the gateway had taken everything before the
		// cut, the count is right at once, and /healthz is 503 until then.
		return e.g.w.busDisconnects() == 1 && e.g.w.waiting.Load() == 0 &&
			e.g.w.stored.Load()-base+e.g.w.dropped[dropBus].Load() == n && e.g.w.laneDown() == ""
	}, func() string {
		return fmt.Sprintf("stored %d + dropped by the bus %d, want the %d published (disconnects %d)",
			e.g.w.stored.Load()-base, e.g.w.dropped[dropBus].Load(), n, e.g.w.busDisconnects())
	})
	t.Logf("%d stored, %d dropped by the bus and counted", e.g.w.stored.Load()-base, e.g.w.dropped[dropBus].Load())
	h := e.health(t)
	if h.Ingest.BusDisconnects != 1 || h.Ingest.Dropped != e.g.w.dropped[dropBus].Load() {
		t.Fatalf("/healthz ingest %+v, want 1 bus disconnect and the bus's drops", h.Ingest)
	}
	m := e.metrics(t)
	if m["streamviz_ingest_bus_disconnects_total"] != 1 || m[`streamviz_updates_dropped_total{reason="bus"}`] != float64(e.g.w.dropped[dropBus].Load()) {
		t.Fatalf("/metrics: disconnects %v, dropped by the bus %v", m["streamviz_ingest_bus_disconnects_total"], m[`streamviz_updates_dropped_total{reason="bus"}`])
	}
	// Ingest goes on over the new connection.
	e.publishAndWait(t, "sv.c.data", `{"x":2,"y":2}`)
}
