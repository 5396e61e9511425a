package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// runSync measures what JetStream's sync setting costs (docs/reliability.md):
// for each --sync value, a fresh server, then
//
//   - async: chart updates (one point per message) published to sv.<w>.data
//     with an async window of --window unacknowledged messages, timed until
//     every one is acknowledged (the gateway consuming meanwhile); unit:
//     acknowledged messages/s. A bulk publisher sees this.
//   - serial: one message at a time, each waiting for its acknowledgement,
//     which is how the Python SDK publishes per widget (one message in flight
//     a widget); unit: acknowledged messages/s, and the ack latency.
func runSync(args []string) error {
	var c common
	q := isQuick(args)
	fs := newFlags("sync", &c, "streamviz")
	n := fs.Int("n", pick(q, 50_000, 5_000), "messages of the async phase")
	serialN := fs.Int("serial", pick(q, 5_000, 500), "messages of the serial phase")
	window := fs.Int("window", 4096, "async publish window (unacknowledged messages)")
	reps := fs.Int("reps", pick(q, 3, 1), "repetitions of every setting (a fresh server each)")
	settings := fs.String("settings", "always,1s,2m", "comma-separated --sync values to compare")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if c.server != "streamviz" {
		return fmt.Errorf("sync needs --server streamviz: the setting is a serve flag")
	}
	names := strings.Split(*settings, ",")
	async, serial, p99 := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
	for rep := range *reps {
		// Settings alternate within a repetition, so a noisy minute hits each.
		for _, setting := range names {
			c.serveArgs = []string{"--sync", setting}
			srv, err := startServer(&c)
			if err != nil {
				return err
			}
			out, err := syncPhases(srv, *n, *serialN, *window)
			srv.stop()
			if err != nil {
				return fmt.Errorf("--sync %s: %w", setting, err)
			}
			out["workload"], out["rep"], out["sync"] = "sync", rep, setting
			emit(out)
			logf("sync %s rep %d: async %v acked msgs/s; serial %v msgs/s, ack p50 %v ms p99 %v ms",
				setting, rep, out["async_acked_msgs_per_s"], out["serial_msgs_per_s"], out["serial_ack_ms_p50"], out["serial_ack_ms_p99"])
			async[setting] = append(async[setting], out["async_acked_msgs_per_s"].(float64))
			serial[setting] = append(serial[setting], out["serial_msgs_per_s"].(float64))
			p99[setting] = append(p99[setting], out["serial_ack_ms_p99"].(float64))
		}
	}
	summary := map[string]any{"workload": "sync", "summary": true, "reps": *reps, "n": *n, "serial": *serialN, "window": *window}
	for _, s := range names {
		summary["async_acked_msgs_per_s_median_"+s] = round(median(async[s]), 0)
		summary["serial_msgs_per_s_median_"+s] = round(median(serial[s]), 0)
		summary["serial_ack_ms_p99_median_"+s] = round(median(p99[s]), 2)
	}
	emit(summary)
	return nil
}

func syncPhases(srv *server, n, serialN, window int) (map[string]any, error) {
	pub, err := newPublisher(srv.NATS, window)
	if err != nil {
		return nil, err
	}
	defer pub.close()
	const charts = 10
	subjects := make([]string, charts)
	for w := range charts {
		subjects[w] = "sv.sync" + strconv.Itoa(w) + ".data"
	}
	out := map[string]any{"n": n, "serial": serialN, "window": window}
	meter := srv.meterCPU()
	start := time.Now()
	for i := range n {
		if err := pub.send(subjects[i%charts], chartPoint(i)); err != nil {
			return nil, err
		}
	}
	if err := pub.complete(300 * time.Second); err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	if f := pub.failed.Load(); f > 0 {
		return nil, fmt.Errorf("%d of %d publishes failed: %s", f, n, pub.firstError())
	}
	out["async_acked_msgs_per_s"] = round(float64(n)/elapsed.Seconds(), 0)
	meter.fields(out)

	var h hist
	start = time.Now()
	for i := range serialN {
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := pub.js.Publish(ctx, subjects[i%charts], chartPoint(n+i))
		cancel()
		if err != nil {
			return nil, fmt.Errorf("serial publish %d: %w", i, err)
		}
		h.add(time.Since(t0).Microseconds())
	}
	elapsed = time.Since(start)
	out["serial_msgs_per_s"] = round(float64(serialN)/elapsed.Seconds(), 0)
	out["serial_ack_ms_p50"] = round(float64(h.quantile(0.5))/1000, 3)
	out["serial_ack_ms_p99"] = round(float64(h.quantile(0.99))/1000, 3)
	return out, nil
}

func chartPoint(i int) []byte {
	return fmt.Appendf(nil, `{"x":%d,"y":%d.5}`, 1_790_000_000_000+i, i%1000)
}

// runStall measures what one client that stops reading costs the others
// (docs/reliability.md): the fan-out run (N reading clients, a publisher at
// R updates/s), alternately without and with one extra socket that never
// reads, each on a fresh server. The stalled socket is cut off (close 4000)
// once its queue passes the gateway's bound; slow_disconnects counts it.
func runStall(args []string) error {
	var c common
	q := isQuick(args)
	fs := newFlags("stall", &c, "streamviz")
	clients := fs.Int("clients", pick(q, 50, 20), "reading WebSocket clients")
	rate := fs.Int("rate", 2000, "updates published per second")
	dur := fs.Duration("duration", pick(q, 30*time.Second, 3*time.Second), "publishing time")
	reps := fs.Int("reps", pick(q, 3, 1), "repetitions of the pair (without, with)")
	pad := fs.Int("pad", 40, "extra points in each chart update (the stalled socket's queue fills sooner)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	p99 := map[int][]float64{}
	for rep := range *reps {
		for _, stalled := range []int{0, 1} {
			srv, err := startServer(&c)
			if err != nil {
				return err
			}
			res, err := runLive(&c, srv, liveConfig{
				clients: *clients, rate: *rate, duration: *dur, stats: 4, charts: 4, stalled: stalled, pad: *pad,
				sampleEvery: time.Second, drainTimeout: 10 * time.Second, profileName: fmt.Sprintf("stall-%d-%d", rep, stalled),
			})
			srv.stop()
			if err != nil {
				return err
			}
			f := res.fields
			f["workload"], f["rep"], f["stalled"] = "stall", rep, stalled
			emit(f)
			logf("stall rep %d, %d stalled: latency p50 %v ms, p99 %v ms; lost %v; slow disconnects %v; CPU other %v%%",
				rep, stalled, f["latency_ms_p50"], f["latency_ms_p99"], f["lost"], f["slow_disconnects"], f["other_cpu_pct"])
			p99[stalled] = append(p99[stalled], f["latency_ms_p99"].(float64))
		}
	}
	without, with := median(p99[0]), median(p99[1])
	emit(map[string]any{"workload": "stall", "summary": true, "reps": *reps, "clients": *clients, "rate": *rate,
		"latency_ms_p99_median_without": without, "latency_ms_p99_median_with": with,
		"ratio_with_to_without": round(with/without, 3), "target_ratio_max": 1.1})
	return nil
}
