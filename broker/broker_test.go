package broker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The embedded JetStream fsyncs every write before acknowledging it unless a
// background interval is chosen: nats-server's own default (every 2 minutes)
// can lose acknowledged updates to a power loss.
func TestEmbeddedServerSyncSetting(t *testing.T) {
	for _, tt := range []struct {
		name         string
		interval     time.Duration
		wantAlways   bool
		wantInterval time.Duration
	}{
		{"default is always", 0, true, 2 * time.Minute},
		{"an interval", time.Second, false, time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), SyncInterval: tt.interval})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			js := b.srv.JetStreamConfig()
			if js == nil {
				t.Fatal("JetStream is not enabled")
			}
			// With SyncAlways the interval only paces an extra background sync.
			if js.SyncAlways != tt.wantAlways || js.SyncInterval != tt.wantInterval {
				t.Errorf("JetStream sync_always=%v sync_interval=%v, want %v and %v", js.SyncAlways, js.SyncInterval, tt.wantAlways, tt.wantInterval)
			}
		})
	}
}

func TestSyncIntervalBelongsToTheEmbeddedServer(t *testing.T) {
	_, err := Start(context.Background(), Config{URL: "nats://127.0.0.1:1", SyncInterval: time.Second})
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("Start with URL and SyncInterval = %v, want ErrConfig", err)
	}
}

// A Go program (or `serve --sync`) handing Start a value no default stands
// for gets ErrConfig naming the field, before anything starts: a negative
// or sub-2ns SyncInterval made nats-server panic the whole process as soon
// as the gateway created its streams.
func TestStartRefusesAConfigValueNoDefaultStandsForNamingTheField(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"negative sync interval", Config{SyncInterval: -time.Second}, "SyncInterval"},
		{"a sync interval too short to time", Config{SyncInterval: time.Nanosecond}, "SyncInterval"},
		{"negative max payload", Config{MaxPayload: -1}, "MaxPayload"},
		{"negative max conns", Config{MaxConns: -1}, "MaxConns"},
		{"negative max pending", Config{MaxPending: -1}, "MaxPending"},
		{"negative connect timeout", Config{ConnectTimeout: -time.Second}, "ConnectTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Addr, tc.cfg.DataDir = "127.0.0.1:0", t.TempDir()
			b, err := Start(context.Background(), tc.cfg)
			if err == nil {
				t.Cleanup(func() { b.Close() })
				// What the gateway does first: a stream on the store.
				js, jerr := jetstream.New(b.Conn())
				if jerr == nil {
					_, jerr = EnsureStreams(context.Background(), js, StreamsConfig{})
				}
				t.Fatalf("Start took it (the store then said: %v); want ErrConfig naming %s", jerr, tc.field)
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "Config."+tc.field) {
				t.Errorf("Start: %v, want ErrConfig naming Config.%s", err, tc.field)
			}
		})
	}
}
