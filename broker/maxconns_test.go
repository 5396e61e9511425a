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
// (the gateway's among them) go on, and a freed place is taken again.
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
	for i := 0; i < 2*bound && refused == nil; i++ {
		nc, err := nats.Connect(b.ClientURL(), nats.NoReconnect())
		if err != nil {
			refused = err
			break
		}
		conns = append(conns, nc)
	}
	// The gateway's in-process connection is one of the bound's. The
	// refusal reaches the client as "maximum connections exceeded", or as
	// the connection closing under its handshake.
	if refused == nil || len(conns) != bound-1 {
		t.Fatalf("%d clients connected, then %v; want %d (the gateway's connection is the %dth), then a refusal", len(conns), refused, bound-1, bound)
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
