package gateway

import (
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkIngestCorePublishes is one core publisher's updates to one chart,
// taken, stored and applied in process (a profile of the whole ingest path).
func BenchmarkIngestCorePublishes(b *testing.B) {
	e := startEnv(b, Config{})
	e.publishAndWait(b, "sv.c.config", `{"type":"chart","max_points":1000}`)
	base := e.g.w.stored.Load()
	batches0 := e.g.w.batches.Load()
	start := time.Now()
	b.ResetTimer()
	for i := range b.N {
		if err := e.nc.Publish("sv.c.data", []byte(`{"x":`+strconv.Itoa(i)+`,"y":1.5}`)); err != nil {
			b.Fatal(err)
		}
	}
	_ = e.nc.Flush()
	published := time.Since(start)
	eventually(b, startTimeout*4, func() bool { return e.g.w.stored.Load()-base+e.g.w.dropTotal() >= uint64(b.N) }, "not all stored")
	stored := time.Since(start)
	eventually(b, startTimeout*4, func() bool { return e.g.state.accepted.Load() >= uint64(b.N) }, "not all applied")
	b.ReportMetric(float64(b.N)/published.Seconds(), "published/s")
	b.ReportMetric(float64(b.N)/stored.Seconds(), "stored/s")
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "applied/s")
	b.ReportMetric(float64(b.N)/float64(e.g.w.batches.Load()-batches0), "updates/batch")
}

// BenchmarkIngestAckedPublishes is one JetStream async publisher with 4,096
// updates in flight, each acknowledged by the gateway once stored.
func BenchmarkIngestAckedPublishes(b *testing.B) {
	e := startEnv(b, Config{})
	e.publishAndWait(b, "sv.c.config", `{"type":"chart","max_points":1000}`)
	js, err := jetstream.New(e.nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		b.Fatal(err)
	}
	batches0 := e.g.w.batches.Load()
	start := time.Now()
	b.ResetTimer()
	for i := range b.N {
		if _, err := js.PublishAsync("sv.c.data", []byte(`{"x":`+strconv.Itoa(i)+`,"y":1.5}`), jetstream.WithStallWait(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("acks missing")
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "acked/s")
	b.ReportMetric(float64(b.N)/float64(e.g.w.batches.Load()-batches0), "updates/batch")
}
