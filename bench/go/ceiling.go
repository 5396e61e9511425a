package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// runCeiling is workload 6: what JetStream alone takes on this machine, and
// what StreamViz ingests through it.
//
//   - raw: 200-byte messages published with a bounded async window into a
//     stream configured like SV (file storage, limits, discard new), no
//     consumer, on a bare nats-server in this process (StreamViz's
//     publishers may not create streams); unit: messages stored per second.
//   - batched: the same publisher sending chart updates of --batch points per
//     message to sv.<w>.data, timed until the gateway has applied the last
//     one (/healthz seq); unit: updates (chart points) applied per second.
//   - single: one point per message, same timing; unit: messages (= updates)
//     applied per second, directly comparable with raw's messages per second.
//
// Target (issue 4): ours ≥ 50% of raw.
func runCeiling(args []string) error {
	var c common
	q := isQuick(args)
	fs := newFlags("ceiling", &c, "streamviz")
	n := fs.Int("n", pick(q, 1_000_000, 100_000), "messages of the raw phase, updates of the batched and single phases")
	batch := fs.Int("batch", 100, "chart points per message in the batched phase")
	size := fs.Int("size", 200, "raw message size in bytes")
	window := fs.Int("window", 4096, "async publish window (unacknowledged messages)")
	reps := fs.Int("reps", pick(q, 3, 1), "repetitions (one server for all)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	srv, err := startServer(&c)
	if err != nil {
		return err
	}
	defer srv.stop()
	pub, err := newPublisher(srv.NATS, *window)
	if err != nil {
		return err
	}
	defer pub.close()
	rawSrv, err := startRawServer(c.serveArgs)
	if err != nil {
		return err
	}
	defer rawSrv.stop()
	rawPub, err := newPublisher(rawSrv.url(), *window)
	if err != nil {
		return err
	}
	defer rawPub.close()

	var raws, batched, singles, ratioB, ratioS []float64
	for rep := range *reps {
		out := map[string]any{"workload": "ceiling", "rep": rep, "n": *n, "batch": *batch, "raw_size": *size, "window": *window}
		meter := srv.meterCPU()
		raw, err := rawPhase(rawPub, *n, *size)
		if err != nil {
			return fmt.Errorf("raw: %w", err)
		}
		out["raw_msgs_per_s"] = round(raw, 0)
		out["raw_mb_per_s"] = round(raw*float64(*size)/1e6, 1)

		prof := profileFirst(srv, &c, rep, "ceiling-batched")
		b, err := oursPhase(pub, srv, *n, *batch)
		prof.stop()
		if err != nil {
			return fmt.Errorf("batched: %w", err)
		}
		out["batched_updates_per_s"] = round(b.updatesPerSec, 0)
		out["batched_msgs_per_s"] = round(b.updatesPerSec/float64(*batch), 0)
		out["batched_stored_msgs_per_s"] = round(b.storedMsgsPerSec, 0)
		out["batched_mb_per_s"] = round(b.mbPerSec, 1)

		prof = profileFirst(srv, &c, rep, "ceiling-single")
		s, err := oursPhase(pub, srv, *n, 1)
		prof.stop()
		if err != nil {
			return fmt.Errorf("single: %w", err)
		}
		out["single_msgs_per_s"] = round(s.updatesPerSec, 0)
		out["single_stored_msgs_per_s"] = round(s.storedMsgsPerSec, 0)
		out["single_mb_per_s"] = round(s.mbPerSec, 1)
		out["ratio_batched_updates_to_raw_msgs"] = round(b.updatesPerSec/raw, 3)
		out["ratio_single_msgs_to_raw_msgs"] = round(s.updatesPerSec/raw, 3)
		// The headline ratio is the like-for-like one: messages/s through
		// JetStream and the gateway vs. messages/s into JetStream alone.
		out["ratio"] = out["ratio_single_msgs_to_raw_msgs"]
		meter.fields(out) // over the whole repetition: the three phases
		emit(out)
		logf("ceiling rep %d: raw JetStream %.0f msgs/s (%d B); ours batched %.0f updates/s (%d points/msg, %.0f msgs/s) = %.2f× raw msgs/s; "+
			"ours single %.0f msgs/s = %.2f× raw", rep, raw, *size, b.updatesPerSec, *batch, b.updatesPerSec/float64(*batch),
			b.updatesPerSec/raw, s.updatesPerSec, s.updatesPerSec/raw)
		raws, batched, singles = append(raws, raw), append(batched, b.updatesPerSec), append(singles, s.updatesPerSec)
		ratioB, ratioS = append(ratioB, b.updatesPerSec/raw), append(ratioS, s.updatesPerSec/raw)
	}
	emit(map[string]any{"workload": "ceiling", "summary": true, "reps": *reps, "n": *n, "batch": *batch,
		"raw_msgs_per_s_median": round(median(raws), 0), "batched_updates_per_s_median": round(median(batched), 0),
		"single_msgs_per_s_median": round(median(singles), 0),
		// Ratios are taken within each repetition (same minute, same noise), then the median.
		"ratio_batched_updates_to_raw_msgs_median": round(median(ratioB), 3),
		"ratio_single_msgs_to_raw_msgs_median":     round(median(ratioS), 3), "target_ratio": 0.5})
	return nil
}

// profileFirst profiles a phase of the first repetition only.
func profileFirst(srv *server, c *common, rep int, name string) *profiler {
	if rep > 0 {
		return nil
	}
	return srv.startProfile(c.profileDir, name)
}

// rawPhase publishes n messages of size bytes into a fresh stream shaped
// like SV and returns messages stored per second.
func rawPhase(pub *publisher, n, size int) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const name = "BENCH_RAW"
	_ = pub.js.DeleteStream(ctx, name)
	_, err := pub.js.CreateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{"benchraw.>"},
		Storage: jetstream.FileStorage, Retention: jetstream.LimitsPolicy, Discard: jetstream.DiscardNew,
		MaxBytes: 1 << 30, MaxMsgSize: 1 << 20, AllowDirect: true,
	})
	if err != nil {
		return 0, err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = pub.js.DeleteStream(ctx, name)
	}()
	payload := bytes.Repeat([]byte("x"), size)
	copy(payload, `{"x":1790000000000,"y":12.34,"pad":"`)
	payload[size-2], payload[size-1] = '"', '}'
	subjects := make([]string, 10) // a few subjects, as a few widgets would use
	for i := range subjects {
		subjects[i] = "benchraw.w" + strconv.Itoa(i)
	}
	pub.resetCounts()
	start := time.Now()
	for i := range n {
		if err := pub.send(subjects[i%len(subjects)], payload); err != nil {
			return 0, err
		}
	}
	if err := pub.complete(120 * time.Second); err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	if f := pub.failed.Load(); f > 0 {
		return 0, fmt.Errorf("%d of %d publishes failed: %s", f, n, pub.firstError())
	}
	return float64(n) / elapsed.Seconds(), nil
}

type oursRate struct {
	updatesPerSec    float64 // applied by the gateway
	storedMsgsPerSec float64 // acknowledged by JetStream (the gateway consuming meanwhile)
	mbPerSec         float64
}

// oursPhase publishes updates chart points, perMsg points a message, over
// ten charts, and times them until the gateway has applied the last message.
func oursPhase(pub *publisher, srv *server, updates, perMsg int) (oursRate, error) {
	var r oursRate
	const charts = 10
	subjects, payloads := make([]string, charts), make([][]byte, charts)
	for w := range charts {
		subjects[w] = "sv.ceil" + strconv.Itoa(w) + ".data"
		payloads[w] = chartBatch(w, perMsg)
	}
	msgs := updates / perMsg
	pub.resetCounts()
	var sentBytes int
	start := time.Now()
	for i := range msgs {
		p := payloads[i%charts]
		sentBytes += len(p)
		if err := pub.send(subjects[i%charts], p); err != nil {
			return r, err
		}
	}
	if err := pub.complete(120 * time.Second); err != nil {
		return r, err
	}
	stored := time.Since(start)
	if f := pub.failed.Load(); f > 0 {
		return r, fmt.Errorf("%d of %d publishes failed: %s", f, msgs, pub.firstError())
	}
	if err := srv.waitApplied(pub.lastSeq(), 120*time.Second); err != nil {
		return r, err
	}
	applied := time.Since(start)
	r.updatesPerSec = float64(msgs*perMsg) / applied.Seconds()
	r.storedMsgsPerSec = float64(msgs) / stored.Seconds()
	r.mbPerSec = float64(sentBytes) / applied.Seconds() / 1e6
	return r, nil
}

// chartBatch is a chart update of n points (one point is {"x":…,"y":…}).
func chartBatch(w, n int) []byte {
	const x0 = 1_790_000_000_000
	if n == 1 {
		return fmt.Appendf(nil, `{"x":%d,"y":%.2f}`, x0+w, float64(w*7919%100000)/100)
	}
	b := []byte(`{"points":[`)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "[%d,%.2f]", x0+int64(i)*1000, float64((i*7919+w)%100000)/100)
	}
	return append(b, "]}"...)
}
