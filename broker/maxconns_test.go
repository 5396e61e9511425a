package broker

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// Issue 10 finding 8, the bus's side: the HTTP connections are bounded,
// but the embedded NATS server took up to 65,536 clients, so anyone who
// reaches its port could exhaust the descriptors the process shares. Past
// its bound a new client is refused at once; the connections it has
// (the gateway's among them) go on, and a freed place is taken again. The
// gateway's in-process connections (its own and one per ingest lane) use no
// descriptor and take none of the places.
func TestEmbeddedServerRefusesClientsPastItsConnectionBound(t *testing.T) {
	const bound = 8
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Start(ctx, Config{Addr: "127.0.0.1:0", MaxConns: bound})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	var conns []*nats.Conn
	t.Cleanup(func() {
		for _, nc := range conns {
			nc.Close()
		}
	})
	var refused error
	for i := 0; i < 2*bound+len(b.IngestSubjects()) && refused == nil; i++ {
		nc, err := nats.Connect(b.ClientURL(), nats.NoReconnect())
		if err != nil {
			refused = err
			break
		}
		conns = append(conns, nc)
	}
	// Only the gateway's own connection is open of its in-process ones
	// (no gateway runs here to open the ingest lanes): their places stay
	// free, so clients get the bound and those places. The refusal reaches
	// the client as "maximum connections exceeded", or as the connection
	// closing under its handshake.
	if want := bound + len(b.IngestSubjects()); refused == nil || len(conns) != want {
		t.Fatalf("%d clients connected, then %v; want %d (the bound, and the places of %d ingest lanes not open), then a refusal", len(conns), refused, want, len(b.IngestSubjects()))
	}
	if !b.Conn().IsConnected() {
		t.Fatal("the gateway's connection was dropped")
	}
	if err := conns[0].Publish("sv.x.data", []byte(`{"value": 1}`)); err != nil || conns[0].Flush() != nil {
		t.Fatalf("a connected client at the bound: %v", err)
	}
	conns[0].Close()
	conns = conns[1:]
	deadline := time.Now().Add(10 * time.Second)
	for {
		nc, err := nats.Connect(b.ClientURL(), nats.NoReconnect())
		if err == nil {
			conns = append(conns, nc)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a client after one left: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestEmbeddedServerConnectionBoundDefaultsToAQuarterOfTheOpenFileLimit(t *testing.T) {
	if got := maxConns(123); got != 123 {
		t.Fatalf("123 = %d", got)
	}
	if got := maxConns(0); got < 64 || got > 65536 {
		t.Fatalf("default %d, want a quarter of the open-file limit within [64, 65536]", got)
	}
}
