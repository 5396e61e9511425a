package broker_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/streamviz/streamviz/broker"
)

// A gateway given only a connection (gateway.Config naming no ingest
// subjects) takes what the bus behind it gives: an embedded bus of this
// process, its own subjects (the anonymous lanes, or one per --nats-auth
// user); any other server, sv.> alone, not eight lanes nobody maps to.
func TestIngestSubjectsOfAConnectionAreThoseOfTheBusItReaches(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name string
		cfg  broker.Config
	}{
		{"anonymous", broker.Config{Addr: "127.0.0.1:0"}},
		{"nats-auth users", broker.Config{Addr: "127.0.0.1:0", Users: []broker.AuthUser{{User: "a", Password: "pa"}, {User: "b", Password: "pb"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.DataDir = t.TempDir()
			b, err := broker.Start(ctx, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = b.Close() })
			got, want := broker.IngestSubjectsOf(b.Conn()), b.IngestSubjects()
			if len(want) < 2 || !slices.Equal(got, want) {
				t.Errorf("IngestSubjectsOf = %v, want the bus's own %v", got, want)
			}
		})
	}

	plain, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go plain.Start()
	t.Cleanup(plain.Shutdown)
	if !plain.ReadyForConnections(10 * time.Second) {
		t.Fatal("plain server not ready")
	}
	nc, err := nats.Connect(plain.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if got := broker.IngestSubjectsOf(nc); !slices.Equal(got, []string{"sv.>"}) {
		t.Errorf("IngestSubjectsOf(another server) = %v, want [sv.>]", got)
	}
}
