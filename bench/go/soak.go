package main

import (
	"fmt"
	"time"
)

// runSoak is workload 7: a long run at a steady rate with many clients. It
// samples the server's RSS, threads and (on the prof server) goroutines, and
// reports their growth after warm-up (the first 20% of the run) and loss:
// every client must receive every update. Target: growth < 5%, nothing lost.
func runSoak(args []string) error {
	var c common
	q := isQuick(args)
	// The prof server is the only way to count goroutines without changing
	// the server: same broker and gateway, plus a /bench/goroutines endpoint.
	fs := newFlags("soak", &c, "prof")
	clients := fs.Int("clients", pick(q, 100, 20), "WebSocket clients")
	rate := fs.Int("rate", pick(q, 10000, 2000), "updates published per second")
	dur := fs.Duration("duration", pick(q, 10*time.Minute, 20*time.Second), "publishing time")
	every := fs.Duration("sample-every", pick(q, 5*time.Second, time.Second), "sampling interval")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	srv, err := startServer(&c)
	if err != nil {
		return err
	}
	res, err := runLive(&c, srv, liveConfig{
		clients: *clients, rate: *rate, duration: *dur, stats: 4, charts: 4,
		sampleEvery: *every, drainTimeout: 10 * time.Second, profileName: "soak", logSamples: true,
	})
	srv.stop()
	if err != nil {
		return err
	}
	f := res.fields
	f["workload"], f["rep"] = "soak", 0
	growth(res.samples, *dur, f)
	f["samples"] = res.samples
	emit(f)
	goroutines := "not measured (plain streamviz server; use --server prof)"
	if f["goroutines_growth_pct"] != nil {
		goroutines = formatPct(f["goroutines_growth_pct"]) + " (" + formatAny(f["goroutines_after_warmup"]) + " → " + formatAny(f["goroutines_end"]) + ")"
	}
	logf("soak: %d clients × %v/s for %v: delivered %v of %v (lost %v, clients short %v); latency p99 %v ms; "+
		"RSS growth after warm-up %s (%v → %v kB, peak %s), threads %s, goroutines %s",
		*clients, f["publish_rate_achieved"], *dur, f["delivered"], f["expected_deliveries"], f["lost"], f["clients_short"],
		f["latency_ms_p99"], formatPct(f["rss_growth_pct"]), f["rss_after_warmup_kb"], f["rss_end_kb"],
		formatPct(f["rss_peak_growth_pct"]), formatPct(f["threads_growth_pct"]), goroutines)
	return nil
}

// growth compares the end of the run with the first sample after warm-up
// (20% of the publishing time), for RSS, threads and goroutines. The last
// sample is taken after the drain, so it is excluded: it shows an idle server.
func growth(ss []sample, dur time.Duration, out map[string]any) {
	warm := 0.2 * dur.Seconds()
	var during []sample
	for _, s := range ss {
		if s.T >= warm && s.T <= dur.Seconds()+0.5 {
			during = append(during, s)
		}
	}
	if len(during) < 2 {
		out["growth_note"] = "too few samples after warm-up"
		return
	}
	first, last := during[0], during[len(during)-1]
	pct := func(a, b float64) float64 { return round((b-a)/a*100, 2) }
	peak := first.RSSKB
	for _, s := range during {
		peak = max(peak, s.RSSKB)
	}
	out["rss_after_warmup_kb"] = first.RSSKB
	out["rss_end_kb"] = last.RSSKB
	out["rss_growth_pct"] = pct(float64(first.RSSKB), float64(last.RSSKB))
	out["rss_peak_growth_pct"] = pct(float64(first.RSSKB), float64(peak))
	out["threads_growth_pct"] = pct(float64(first.Threads), float64(last.Threads))
	if first.Goroutines > 0 && last.Goroutines > 0 {
		out["goroutines_after_warmup"] = first.Goroutines
		out["goroutines_end"] = last.Goroutines
		out["goroutines_growth_pct"] = pct(float64(first.Goroutines), float64(last.Goroutines))
	}
	out["target_growth_pct"] = 5
}

func formatPct(v any) string { return formatAny(v) + "%" }

func formatAny(v any) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprint(v)
}
