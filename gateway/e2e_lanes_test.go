package gateway

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/streamviz/streamviz/broker"
)

// The embedded server's connection bound protects the descriptors the
// process shares (issue 10 finding 8); the gateway's in-process connections,
// its own and one per ingest lane (finding 9), use none and take none of the
// publishers' places: with a bound of 8 and the gateway running, 8 publishers
// connect (the test's own among them) and the 9th is refused.
func TestTheGatewaysIngestLanesTakeNoneOfThePublishersConnectionPlaces(t *testing.T) {
	const bound = 8
	e := startEnvBus(t, t.TempDir(), Config{}, broker.Config{MaxConns: bound})
	if len(e.g.w.lanes) < 2 {
		t.Fatalf("%d ingest lanes, want several", len(e.g.w.lanes))
	}
	connected := 1 // startEnv's publisher
	var refused error
	for connected <= bound && refused == nil {
		nc, err := nats.Connect(e.b.ClientURL(), nats.NoReconnect())
		if err != nil {
			refused = err
			break
		}
		t.Cleanup(nc.Close)
		connected++
	}
	if refused == nil || connected != bound {
		t.Fatalf("%d publishers connected, then %v; want %d, then a refusal", connected, refused, bound)
	}
	e.publishAndWait(t, "sv.x.config", `{"type": "stat"}`)
}
