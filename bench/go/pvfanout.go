package main

import (
	"fmt"
	"strconv"
	"time"
)

// runLivePV is runLive against pathway-viz: the same widgets, clients, rate
// and duration, the publish time carried in every update and compared on
// receipt against the same clock. What differs is forced by pathway-viz:
// the publisher is its Python process (pv.send_json), so its thread's CPU is
// reported apart from the server's; there is no /healthz, so a client counts
// as subscribed once a sync message published after it connected reaches it.
func runLivePV(s *pvServer, cfg liveConfig) (*liveResult, error) {
	widgets := map[string]string{}
	for i := range cfg.stats {
		widgets["s"+strconv.Itoa(i)] = "stat"
	}
	for i := range cfg.charts {
		widgets["c"+strconv.Itoa(i)] = "metric"
	}
	if _, err := s.do(map[string]any{"cmd": "config", "widgets": widgets}, 10*time.Second); err != nil {
		return nil, err
	}
	out := map[string]any{"system": "pathwayviz", "pathwayviz_version": s.version, "clients": cfg.clients,
		"rate_target": cfg.rate, "duration_s": cfg.duration.Seconds(), "widgets_stat": cfg.stats, "widgets_chart": cfg.charts}

	var rss0 int64
	if cfg.measureIdle {
		rss0 = s.settledRSS()
	}
	logf("connecting %d clients", cfg.clients)
	clients, err := dialManyPV(s.HTTP, cfg.clients)
	if err != nil {
		return nil, err
	}
	defer closeAllPV(clients)
	for _, cl := range clients {
		go cl.run()
	}
	if err := syncPV(s, clients, 30*time.Second); err != nil {
		return nil, err
	}
	if cfg.measureIdle {
		time.Sleep(cfg.idleSettle)
		rssN := s.settledRSS()
		idleRSSFields(out, rss0, rssN, cfg.clients)
	}

	delivered := func() int64 { return sumOver(clients, func(c *pvClient) int64 { return c.events.Load() }) }
	start := time.Now()
	meter := s.meterCPU()
	stopSampling := make(chan struct{})
	samples := sampleLoop(s.server, start, cfg.sampleEvery, delivered, func() int64 { return -1 }, cfg.logSamples, stopSampling)

	logf("publishing %d updates/s for %v to %d widgets", cfg.rate, cfg.duration, len(widgets))
	r, err := s.do(map[string]any{"cmd": "publish", "rate": cfg.rate, "duration_s": cfg.duration.Seconds(),
		"stats": cfg.stats, "charts": cfg.charts, "base_us": pvBaseMicros}, cfg.duration+60*time.Second)
	if err != nil {
		return nil, fmt.Errorf("publishing: %w", err)
	}
	sent := int64(num(r, "sent"))
	expected := sent * int64(cfg.clients)
	drainStart := time.Now()
	got := drainPV(clients, sent, expected, cfg.drainTimeout, delivered)
	drainTime := time.Since(drainStart)
	p1 := s.proc()
	wall := time.Since(start).Seconds()
	meter.fields(out)
	close(stopSampling)
	ss := <-samples

	cutOff := 0
	for _, cl := range clients {
		if cl.readErr.Load() {
			cutOff++
		}
	}
	closeAllPV(clients)
	var all hist
	var gaps, bad, other int64
	short := 0
	for _, cl := range clients {
		all.merge(&cl.hist)
		gaps += cl.gaps
		bad += cl.bad
		other += cl.other
		if cl.events.Load() < sent {
			short++
		}
	}
	peak := int64(0)
	for _, smp := range ss {
		peak = max(peak, smp.RSSKB)
	}
	// The process's CPU includes the publishing thread (JSON encoding and
	// the send into the broadcast channel); the server's part is the rest.
	pubCPU := num(r, "publisher_cpu_s")
	procCPU := out["server_cpu_s"].(float64)
	out["process_cpu_s"] = procCPU
	out["process_cpu_pct"] = out["server_cpu_pct"]
	out["publisher_cpu_s"] = round(pubCPU, 2)
	out["publisher_cpu_pct"] = round(pubCPU/wall*100, 1)
	out["server_cpu_s"] = round(max(procCPU-pubCPU, 0), 2)
	out["server_cpu_pct"] = round(max(procCPU-pubCPU, 0)/wall*100, 1)
	out["published"] = sent
	out["publish_rate_achieved"] = round(float64(sent)/num(r, "elapsed_s"), 0)
	out["expected_deliveries"] = expected
	out["delivered"] = got
	out["lost"] = expected - got
	out["stat_values_superseded"] = 0 // pathway-viz sends every message to every socket
	out["clients_short"] = short
	// pathway-viz ends a socket without a close frame when its receiver
	// falls more than the broadcast channel's capacity behind.
	out["clients_cut_off"] = cutOff
	out["gap_events"] = gaps
	out["unparsed_events"] = bad
	out["other_messages"] = other
	out["frames"] = got // one WebSocket message per update
	out["drain_s"] = round(drainTime.Seconds(), 3)
	if got > 0 {
		out["server_cpu_us_per_delivery"] = round(out["server_cpu_s"].(float64)*1e6/float64(got), 3)
	}
	latencyFields(&all, "latency", out)
	out["server_rss_peak_kb"] = peak
	out["server_rss_end_kb"] = p1.RSS >> 10
	out["server_threads_end"] = p1.Threads
	return &liveResult{fields: out, samples: ss}, nil
}

// syncPV publishes sync messages until every client has received one.
func syncPV(s *pvServer, clients []*pvClient, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for k := 0; ; k++ {
		if _, err := s.do(map[string]any{"cmd": "sync", "n": k}, 10*time.Second); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
		waiting := 0
		for _, cl := range clients {
			if !cl.synced.Load() {
				waiting++
			}
		}
		if waiting == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %d of %d clients got no live message after %v", ErrPathwayViz, waiting, len(clients), timeout)
		}
	}
}

// drainPV waits until every client holds the last update or has been cut
// off, or delivery stops progressing for timeout.
func drainPV(clients []*pvClient, sent, expected int64, timeout time.Duration, delivered func() int64) int64 {
	finished := func() bool {
		for _, cl := range clients {
			if cl.last.Load() < sent-1 {
				select {
				case <-cl.done:
				default:
					return false
				}
			}
		}
		return true
	}
	last, lastChange := delivered(), time.Now()
	for last < expected && !finished() && time.Since(lastChange) < timeout {
		time.Sleep(20 * time.Millisecond)
		if n := delivered(); n != last {
			last, lastChange = n, time.Now()
		}
	}
	return delivered()
}
