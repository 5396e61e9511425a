package broker

import (
	"context"
	"errors"
	"testing"
	"time"
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
