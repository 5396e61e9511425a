package gateway

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Finding 1 of issue 10: a snapshot on svsnap.<id>.0 claiming position
// 18446744073709551000 made /healthz report that position and held every
// live event below it, across restarts.
func TestSnapshotPositionedPastTheLogsEndIsIgnoredAndLiveEventsFlow(t *testing.T) {
	var logs logBuffer
	e := startEnv(t, Config{Logger: logs.logger()})
	e.publishAndWait(t, "sv.real.data", `{"value": 1}`)

	// Only the gateway's own connection may write snapshots; a store
	// damaged or written by something else is what this stands for.
	gw, err := jetstream.New(e.b.Conn())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	const huge = "18446744073709551000"
	_, err = gw.PublishMsg(ctx, &nats.Msg{
		Subject: "svsnap.forged.0",
		Data:    []byte(`{"id":"forged","config":{"type":"stat"},"state":{"value":1,"prev":null,"ts":null}}`),
		Header:  nats.Header{hdrPos: {huge}, hdrPart: {"0"}, hdrParts: {"1"}},
	})
	if err != nil {
		t.Fatal(err)
	}

	e = e.restart(t)
	h := e.health(t)
	if h.Seq > pos(1000, 0) { // one update was stored: the position of stored message 1
		t.Fatalf("after restart /healthz seq = %d: the forged snapshot's position was adopted", h.Seq)
	}
	if code, _, _ := get(t, e.url("/api/widgets/forged")); code != http.StatusNotFound {
		t.Fatalf("GET /api/widgets/forged: %d, want 404: the forged snapshot was restored", code)
	}
	if !strings.Contains(logs.String(), "past the end of the log") || !strings.Contains(logs.String(), huge) {
		t.Fatalf("no warning about the forged snapshot in the log:\n%s", logs.String())
	}
	c := e.dial(t)
	c.first(t, "snapshot")
	seq := e.publish(t, "sv.real.data", `{"value": 2}`)
	c.waitSeq(t, seq)
}
