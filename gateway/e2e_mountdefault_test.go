package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/streamviz/streamviz/broker"
)

// A Go program that starts the embedded bus and mounts a gateway with a
// Config naming no ingest subjects (what the README showed before the
// lanes) takes anonymous updates to widgets of every lane: the default is
// what the embedded bus maps them to, not sv.> alone, where an update
// mapped to a lane found no responder.
func TestAGatewayWithDefaultConfigOnTheEmbeddedBusTakesUpdatesOfEveryLane(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	g, err := New(b.Conn(), Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	_, js := connectPublisher(t, b.ClientURL(), "pipeline")

	// One widget per lane, found by the bus's own hash.
	widgets := map[int]string{}
	for i := 0; len(widgets) < broker.AnonymousLanes; i++ {
		w := fmt.Sprintf("w%d", i)
		if _, ok := widgets[broker.AnonymousLane(w)]; !ok {
			widgets[broker.AnonymousLane(w)] = w
		}
	}
	for lane, w := range widgets {
		if _, err := js.Publish(ctx, "sv."+w+".data", []byte(`{"x": 1, "y": 2}`)); err != nil {
			t.Errorf("update to %s (lane %d): %v", w, lane, err)
		}
	}
}
