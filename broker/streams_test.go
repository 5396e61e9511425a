package broker_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
	"github.com/streamviz/streamviz/internal/natstest"
)

// operatorBus is an operator's own nats-server (what serve --nats-url joins),
// run in-process on loopback, and a JetStream handle on it.
func operatorBus(t *testing.T, withJetStream bool) jetstream.JetStream {
	t.Helper()
	srv := natstest.Start(t, server.Options{JetStream: withJetStream})
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// A bus StreamViz cannot use must be refused with the reason, and a stream
// of StreamViz's name that belongs to something else left exactly as it was:
// updating it would rewrite its subjects and read its messages as updates.
func TestEnsureStreamsRefusesABusItCannotUseNamingWhy(t *testing.T) {
	for _, tt := range []struct {
		name     string
		js       bool
		existing *jetstream.StreamConfig
		want     []string
	}{
		{name: "server without JetStream", js: false,
			want: []string{"no JetStream", "-js"}},
		{name: "another application's stream named SV", js: true,
			existing: &jetstream.StreamConfig{Name: broker.LogStream, Subjects: []string{"orders.>"}},
			want:     []string{"stream named SV already exists", "orders.>", "svlog.>", "refusing"}},
		{name: "another application's stream named SV_SNAP", js: true,
			existing: &jetstream.StreamConfig{Name: broker.SnapshotStream, Subjects: []string{"cache.>"}},
			want:     []string{"stream named SV_SNAP already exists", "cache.>", "svsnap.>", "refusing"}},
		{name: "StreamViz's log in memory where it keeps files", js: true,
			existing: &jetstream.StreamConfig{Name: broker.LogStream, Subjects: []string{broker.LogPrefix + ">"}, Storage: jetstream.MemoryStorage},
			want:     []string{"stream named SV already exists", "Memory storage", "refusing"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			js := operatorBus(t, tt.js)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if tt.existing != nil {
				if _, err := js.CreateStream(ctx, *tt.existing); err != nil {
					t.Fatal(err)
				}
			}
			_, err := broker.EnsureStreams(ctx, js, broker.StreamsConfig{})
			if err == nil {
				t.Fatal("EnsureStreams took the bus")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if tt.existing != nil {
				s, err := js.Stream(ctx, tt.existing.Name)
				if err != nil {
					t.Fatal(err)
				}
				if got := s.CachedInfo().Config.Subjects; !slices.Equal(got, tt.existing.Subjects) {
					t.Errorf("stream %s now captures %q, was %q", tt.existing.Name, got, tt.existing.Subjects)
				}
			}
		})
	}
}

// StreamViz's own streams, and the log of the version whose publishers wrote
// into it (subjects sv.>), are adopted as before.
func TestEnsureStreamsAdoptsItsOwnStreams(t *testing.T) {
	for _, subjects := range [][]string{{broker.LogPrefix + ">"}, {"sv.>"}} {
		t.Run(subjects[0], func(t *testing.T) {
			js := operatorBus(t, true)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: broker.LogStream, Subjects: subjects}); err != nil {
				t.Fatal(err)
			}
			if _, err := broker.EnsureStreams(ctx, js, broker.StreamsConfig{}); err != nil {
				t.Fatal(err)
			}
			if _, err := broker.EnsureStreams(ctx, js, broker.StreamsConfig{}); err != nil {
				t.Fatalf("a second start: %v", err)
			}
		})
	}
}
