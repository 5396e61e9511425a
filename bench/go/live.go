package main

// A live run, shared by fanout and soak: widgets, N connected clients, a
// paced publisher whose every update carries its publish time, then a drain
// until every client holds every update (or progress stops).

import (
	"fmt"
	"strconv"
	"time"
)

type liveConfig struct {
	clients      int
	rate         int // updates/s
	duration     time.Duration
	stats        int // stat widgets s0..; updates go round-robin over all widgets
	charts       int // chart widgets c0..
	sampleEvery  time.Duration
	drainTimeout time.Duration // give up when no delivery progress for this long
	measureIdle  bool          // RSS with 0 and with N idle clients
	idleSettle   time.Duration // wait this long before measuring idle RSS
	profileName  string
	logSamples   bool // print every sample on stderr as it is taken (long runs)
	stalled      int  // extra sockets that connect and then never read
	pad          int  // extra points in each chart update, so that queues fill faster
}

// sample is the server's state at one moment of the run.
type sample struct {
	T          float64 `json:"t_s"`
	RSSKB      int64   `json:"rss_kb"`
	Threads    int     `json:"threads"`
	Goroutines int     `json:"goroutines"` // -1: not measurable on this server
	CPU        float64 `json:"cpu_s"`
	Delivered  int64   `json:"delivered"`
	// ApplyLag is how many stored updates the gateway had not yet applied:
	// it tells a slow ingest (lag grows) from slow delivery (lag stays ~0).
	ApplyLag int64 `json:"apply_lag"`
}

type liveResult struct {
	fields  map[string]any
	samples []sample
}

// widgetSubjects creates the widgets with configs and returns their data subjects.
func widgetSubjects(pub *publisher, srv *server, stats, charts int) ([]string, error) {
	var subjects []string
	for i := range stats + charts {
		id, typ := "s"+strconv.Itoa(i), "stat"
		if i >= stats {
			id, typ = "c"+strconv.Itoa(i-stats), "chart"
		}
		if _, err := pub.sendSync("sv."+id+".config", fmt.Appendf(nil, `{"type":%q,"title":%q}`, typ, id)); err != nil {
			return nil, err
		}
		subjects = append(subjects, "sv."+id+".data")
	}
	return subjects, srv.waitApplied(pub.lastSeq(), 30*time.Second)
}

// stampedUpdate is update number i carrying its publish time in
// microseconds, as a stat value or as a chart point's y.
func stampedUpdate(i int64, isStat bool) []byte {
	b := make([]byte, 0, 48)
	if isStat {
		b = append(b, `{"value":`...)
		b = strconv.AppendInt(b, nowMicros(), 10)
	} else {
		b = append(b, `{"x":`...)
		b = strconv.AppendInt(b, i, 10)
		b = append(b, `,"y":`...)
		b = strconv.AppendInt(b, nowMicros(), 10)
	}
	return append(b, '}')
}

// paddedChartUpdate is a chart update whose first point carries the publish
// time (what the clients measure) followed by pad more points.
func paddedChartUpdate(i int64, pad int) []byte {
	b := make([]byte, 0, 32+pad*28)
	b = append(b, `{"points":[[`...)
	b = strconv.AppendInt(b, i, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, nowMicros(), 10)
	b = append(b, ']')
	for range pad {
		b = append(b, ",["...)
		b = strconv.AppendInt(b, i, 10)
		b = append(b, ",0.123456]"...)
	}
	return append(b, "]}"...)
}

func runLive(c *common, srv *server, cfg liveConfig) (*liveResult, error) {
	pub, err := newPublisher(srv.NATS, 4096)
	if err != nil {
		return nil, err
	}
	defer pub.close()
	subjects, err := widgetSubjects(pub, srv, cfg.stats, cfg.charts)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"clients": cfg.clients, "rate_target": cfg.rate, "duration_s": cfg.duration.Seconds(),
		"widgets_stat": cfg.stats, "widgets_chart": cfg.charts, "server": srv.kind}

	var rss0 int64
	var mem0 map[string]int64
	if cfg.measureIdle {
		rss0 = srv.settledRSS()
		mem0 = srv.memStats()
	}
	logf("connecting %d clients", cfg.clients)
	clients, err := dialMany(srv.HTTP, cfg.clients)
	if err != nil {
		return nil, err
	}
	defer closeAll(clients)
	for _, cl := range clients {
		go cl.run()
	}
	if _, err := srv.waitFor("clients", 60*time.Second, 50*time.Millisecond, func(h health) bool { return h.Clients == cfg.clients }); err != nil {
		return nil, err
	}
	if cfg.stalled > 0 {
		for range cfg.stalled {
			conn, _, err := dialer.Dial("ws://"+srv.HTTP+"/ws", nil)
			if err != nil {
				return nil, fmt.Errorf("stalled client: %w", err)
			}
			defer conn.Close()
		}
		if _, err := srv.waitFor("stalled clients", 60*time.Second, 50*time.Millisecond, func(h health) bool { return h.Clients == cfg.clients+cfg.stalled }); err != nil {
			return nil, err
		}
	}
	if cfg.measureIdle {
		// Memory freed after the connections' first writes goes back to the
		// OS only as Go's scavenger gets to it; the wait lets RSS settle.
		time.Sleep(cfg.idleSettle)
		rssN := srv.settledRSS()
		srv.saveHeap(c.profileDir, cfg.profileName+"-idle")
		if mem0 != nil {
			// Where the idle connections' memory is, per connection (prof server only).
			memN := srv.memStats()
			for _, k := range []string{"heap_inuse", "stack_inuse", "goroutines"} {
				out["idle_conn_"+k] = round(float64(memN[k]-mem0[k])/float64(cfg.clients), 2)
			}
			logf("per idle connection: heap in use %.0f B, stacks %.0f B, goroutines %.1f",
				out["idle_conn_heap_inuse"], out["idle_conn_stack_inuse"], out["idle_conn_goroutines"])
		}
		idleRSSFields(out, rss0, rssN, cfg.clients)
	}

	delivered := func() int64 { return sumOver(clients, func(c *liveClient) int64 { return c.events.Load() }) }
	chartsDelivered := func() int64 { return sumOver(clients, func(c *liveClient) int64 { return c.charts.Load() }) }
	start := time.Now()
	meter := srv.meterCPU()
	stopSampling := make(chan struct{})
	applyLag := func() int64 {
		h, err := srv.health()
		if err != nil {
			return -1
		}
		// The ack may be counted after the gateway has applied the update.
		return max(int64(pub.lastSeq())-int64(h.Seq), 0)
	}
	samples := sampleLoop(srv, start, cfg.sampleEvery, delivered, applyLag, cfg.logSamples, stopSampling)
	prof := srv.startProfile(c.profileDir, cfg.profileName)

	logf("publishing %d updates/s for %v to %d widgets", cfg.rate, cfg.duration, len(subjects))
	sent, pubElapsed, err := pace(cfg.rate, cfg.duration, nil, func(i int64) error {
		w := int(i % int64(len(subjects)))
		if cfg.pad > 0 && w >= cfg.stats {
			return pub.send(subjects[w], paddedChartUpdate(i, cfg.pad))
		}
		return pub.send(subjects[w], stampedUpdate(i, w < cfg.stats))
	})
	if err != nil {
		return nil, fmt.Errorf("publishing: %w", err)
	}
	if err := pub.complete(60 * time.Second); err != nil {
		return nil, err
	}
	acked := pub.acked.Load()
	expected := acked * int64(cfg.clients)
	// Every chart point must reach every client; a stat value may be left out
	// of a frame that carries a later value of the same stat (docs/protocol.md
	// §2.2), so stats count as delivered once each client holds the last event.
	var chartsSent int64
	for i := range sent {
		if int(i%int64(len(subjects))) >= cfg.stats {
			chartsSent++
		}
	}
	finalSeq := pub.lastSeq()
	allAtEnd := func() bool {
		for _, cl := range clients {
			if cl.last.Load() < finalSeq {
				return false
			}
		}
		return true
	}
	expectedCharts := chartsSent * int64(cfg.clients)
	drainStart := time.Now()
	drain(expectedCharts, cfg.drainTimeout, chartsDelivered)
	for end := time.Now().Add(cfg.drainTimeout); !allAtEnd() && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	got := delivered()
	drainTime := time.Since(drainStart)
	p1 := srv.proc()
	meter.fields(out)
	prof.stop()
	close(stopSampling)
	ss := <-samples

	// Sockets the server closed (e.g. 4000, too slow) before we close the rest.
	closeCodes := map[string]int{}
	for _, cl := range clients {
		select {
		case <-cl.done:
			closeCodes[strconv.Itoa(closeCode(cl.closed))]++
		default:
		}
	}
	closeAll(clients) // the read loops end, so their counters can be read
	var all hist
	var gaps, bad, frames int64
	short := 0
	for _, cl := range clients {
		all.merge(&cl.hist)
		gaps += cl.gaps
		bad += cl.bad
		frames += cl.frames.Load()
		if cl.charts.Load() < chartsSent || cl.last.Load() < finalSeq {
			short++
		}
	}
	peak, maxLag := int64(0), int64(0)
	for _, s := range ss {
		peak = max(peak, s.RSSKB)
		maxLag = max(maxLag, s.ApplyLag)
	}
	out["apply_lag_max"] = maxLag
	if h, err := srv.health(); err == nil {
		out["slow_disconnects"] = h.Slow
	}
	out["published"] = sent
	out["acked"] = acked
	out["publish_failed"] = pub.failed.Load()
	if e := pub.firstError(); e != "" {
		out["publish_first_error"] = e
	}
	out["publish_rate_achieved"] = round(float64(sent)/pubElapsed.Seconds(), 0)
	out["expected_deliveries"] = expected
	out["delivered"] = got
	gotCharts := chartsDelivered()
	// Lost: chart points that never arrived, and clients that never got the
	// last event (their stats would be stale). Superseded: stat values left
	// out of frames that carried a later value.
	out["lost"] = expectedCharts - gotCharts + int64(short-countShortCharts(clients, chartsSent))
	out["chart_deliveries_expected"] = expectedCharts
	out["chart_deliveries"] = gotCharts
	out["stat_values_superseded"] = (expected - expectedCharts) - (got - gotCharts)
	out["clients_short"] = short
	out["gap_events"] = gaps
	out["unparsed_events"] = bad
	out["frames"] = frames
	if frames > 0 {
		// How much the server batched: events per WebSocket message.
		out["events_per_frame"] = round(float64(got)/float64(frames), 2)
	}
	out["clients_closed_by_server"] = closeCodes
	out["drain_s"] = round(drainTime.Seconds(), 3)
	if got > 0 {
		// The server's cost per delivered event: steadier than latency on a shared machine.
		out["server_cpu_us_per_delivery"] = round(out["server_cpu_s"].(float64)*1e6/float64(got), 3)
	}
	latencyFields(&all, "latency", out)
	out["server_rss_peak_kb"] = peak
	out["server_rss_end_kb"] = p1.RSS >> 10
	out["server_threads_end"] = p1.Threads
	return &liveResult{fields: out, samples: ss}, nil
}

// idleRSSFields records the server's RSS with no client and with n idle ones.
func idleRSSFields(out map[string]any, rss0, rssN int64, n int) {
	perConn := float64(rssN-rss0) / float64(n) / 1024
	out["rss_idle_0_kb"] = rss0 >> 10
	out["rss_idle_n_kb"] = rssN >> 10
	out["rss_kb_per_idle_conn"] = round(perConn, 2)
	logf("idle RSS: %d kB with 0 clients, %d kB with %d: %.1f kB per connection", rss0>>10, rssN>>10, n, perConn)
}

// sumOver adds up one counter over every client.
func sumOver[C any](clients []C, f func(C) int64) int64 {
	var n int64
	for _, c := range clients {
		n += f(c)
	}
	return n
}

// countShortCharts counts the clients missing chart points (already counted
// point by point in "lost").
func countShortCharts(clients []*liveClient, chartsSent int64) int {
	n := 0
	for _, cl := range clients {
		if cl.charts.Load() < chartsSent {
			n++
		}
	}
	return n
}

// drain waits until the clients hold expected events in total, or delivery
// stops progressing for timeout (a client cut off, or updates lost).
func drain(expected int64, timeout time.Duration, delivered func() int64) int64 {
	last, lastChange := delivered(), time.Now()
	for last < expected && time.Since(lastChange) < timeout {
		time.Sleep(20 * time.Millisecond)
		if n := delivered(); n != last {
			last, lastChange = n, time.Now()
		}
	}
	return last
}

// sampleLoop records the server's RSS, threads, goroutines and CPU every
// interval until stop is closed, then sends what it saw.
func sampleLoop(srv *server, start time.Time, every time.Duration, delivered, applyLag func() int64, verbose bool, stop <-chan struct{}) <-chan []sample {
	out := make(chan []sample, 1)
	go func() {
		var ss []sample
		take := func() {
			p := srv.proc()
			ss = append(ss, sample{T: round(time.Since(start).Seconds(), 2), RSSKB: p.RSS >> 10, Threads: p.Threads,
				Goroutines: srv.goroutines(), CPU: round(p.CPU, 2), Delivered: delivered(), ApplyLag: applyLag()})
			if s := ss[len(ss)-1]; verbose {
				logf("t=%5.0fs RSS %6d kB, threads %d, goroutines %d, server CPU %.1fs, delivered %d, apply lag %d",
					s.T, s.RSSKB, s.Threads, s.Goroutines, s.CPU, s.Delivered, s.ApplyLag)
			}
		}
		t := time.NewTicker(every)
		defer t.Stop()
		take()
		for {
			select {
			case <-t.C:
				take()
			case <-stop:
				take()
				out <- ss
				return
			}
		}
	}()
	return out
}
