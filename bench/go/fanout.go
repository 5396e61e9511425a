package main

import (
	"fmt"
	"time"
)

// runFanout is workload 3: N WebSocket clients on one gateway, a publisher at
// R updates/s; publish→receive latency over every delivery, loss, the server
// process's CPU and RSS, and RSS per idle connection. Targets: p99 ≤ 50 ms,
// ≤ 20 KB per idle connection.
func runFanout(args []string) error {
	var c common
	q := isQuick(args)
	fs := newFlags("fanout", &c, "streamviz")
	clients := fs.Int("clients", pick(q, 1000, 50), "WebSocket clients")
	rate := fs.Int("rate", pick(q, 10000, 1000), "updates published per second")
	dur := fs.Duration("duration", pick(q, 20*time.Second, 3*time.Second), "publishing time")
	stats := fs.Int("stats", 4, "stat widgets (updates go round-robin over stats and charts)")
	charts := fs.Int("charts", 4, "chart widgets")
	reps := fs.Int("reps", 1, "repetitions, each on a fresh server")
	settle := fs.Duration("idle-settle", 2*time.Second, "wait after the clients connect before measuring idle RSS")
	system := fs.String("system", "streamviz", "system under test: streamviz or pathwayviz (0.3.1, from bench/.venv-pv)")
	pvPython := fs.String("pv-python", "", "Python with pathway-viz installed (default: bench/.venv-pv/bin/python)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if *system != "streamviz" && *system != "pathwayviz" {
		return fmt.Errorf("--system %q: want streamviz or pathwayviz", *system)
	}
	var p50s, p99s, perConn []float64
	for rep := range *reps {
		cfg := liveConfig{
			clients: *clients, rate: *rate, duration: *dur, stats: *stats, charts: *charts,
			sampleEvery: time.Second, drainTimeout: 10 * time.Second, measureIdle: true, idleSettle: *settle,
			profileName: fmt.Sprintf("fanout-%d", rep),
		}
		var res *liveResult
		if *system == "pathwayviz" {
			srv, err := startPathwayViz(*pvPython)
			if err != nil {
				return err
			}
			res, err = runLivePV(srv, cfg)
			srv.stop()
			if err != nil {
				return err
			}
		} else {
			srv, err := startServer(&c)
			if err != nil {
				return err
			}
			res, err = runLive(&c, srv, cfg)
			srv.stop()
			if err != nil {
				return err
			}
			res.fields["system"] = "streamviz"
		}
		f := res.fields
		f["workload"], f["rep"] = "fanout", rep
		f["samples"] = res.samples
		emit(f)
		logf("fanout %s rep %d: %d clients × %v/s for %v: latency p50 %v ms, p99 %v ms, max %v ms; delivered %v of %v (lost %v, stat values superseded %v); "+
			"CPU in %% of one core: server %v, harness %v, other processes %v; RSS peak %v kB; %v kB per idle connection",
			*system, rep, *clients, f["publish_rate_achieved"], *dur, f["latency_ms_p50"], f["latency_ms_p99"], f["latency_ms_max"],
			f["delivered"], f["expected_deliveries"], f["lost"], f["stat_values_superseded"], f["server_cpu_pct"], f["harness_cpu_pct"], f["other_cpu_pct"],
			f["server_rss_peak_kb"], f["rss_kb_per_idle_conn"])
		p50s = append(p50s, f["latency_ms_p50"].(float64))
		p99s = append(p99s, f["latency_ms_p99"].(float64))
		perConn = append(perConn, f["rss_kb_per_idle_conn"].(float64))
	}
	emit(map[string]any{"workload": "fanout", "system": *system, "summary": true, "reps": *reps, "clients": *clients, "rate_target": *rate,
		"summary_latency_ms_p50_median": median(p50s), "summary_latency_ms_p99_median": median(p99s),
		"summary_latency_ms_p99_worst": percentile(p99s, 1), "summary_rss_kb_per_idle_conn_median": median(perConn), "target_p99_ms": 50, "target_rss_per_conn_kb": 20})
	return nil
}
