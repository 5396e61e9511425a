package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/streamviz/streamviz/broker"
)

// runIngest measures what each kind of NATS publisher gets from the default
// server (issue 11; docs/benchmarks.md "Ingest by publisher kind"), each phase
// on a fresh server, every update counted end to end: published, stored (the
// gateway's /healthz ingest.stored), counted as dropped (ingest.dropped),
// applied (accepted) and received as a chart point by a WebSocket client.
//
//   - burst: --burst one-update core publishes (nc.Publish, no reply) from one
//     nats.go connection as fast as it goes, then a flush;
//   - rate: core publishes paced at --rate for --duration;
//   - acked: --acked JetStream async publishes with --window in flight;
//   - fair: a steady acknowledged publisher (one at a time, --fair-rate/s)
//     alone, then while another connection floods core publishes as fast as
//     it can; its ack latency p50/p99/max in both;
//   - fair-auth: the same on a server with --nats-auth, user "pipeline"
//     publishing steadily while user "sales" floods its own widget.
//
// "lost" is published − stored − dropped − rejected: updates gone without a
// counter. The goal is 0 everywhere.
func runIngest(args []string) error {
	var c common
	q := isQuick(args)
	fs := newFlags("ingest", &c, "streamviz")
	burst := fs.Int("burst", pick(q, 1_000_000, 100_000), "messages of the core burst")
	rate := fs.Int("rate", 150_000, "core publishes/s of the sustained phase")
	dur := fs.Duration("duration", pick(q, 10*time.Second, 2*time.Second), "length of the sustained and fairness phases")
	acked := fs.Int("acked", pick(q, 500_000, 50_000), "messages of the acknowledged phase")
	window := fs.Int("window", 4096, "acknowledged phase: publishes in flight")
	fairRate := fs.Int("fair-rate", 200, "fairness phase: the steady publisher's acknowledged publishes/s")
	sameLane := fs.Bool("fair-same-lane", false, "fair phase: flood a widget of the steady widget's own ingest lane (broker.AnonymousLane) instead of another lane's")
	child := fs.Bool("fair-flood-child", false, "fair phases: flood from a child process (this binary's ingest-flood) instead of a goroutine of this process")
	phases := fs.String("phases", "burst,rate,acked,fair,fair-auth", "comma-separated phases to run")
	reps := fs.Int("reps", pick(q, 3, 1), "repetitions of every phase (a fresh server each)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	for rep := range *reps {
		for _, phase := range strings.Split(*phases, ",") {
			pc := c
			var steadyAuth, floodAuth []nats.Option
			if phase == "fair-auth" {
				file, err := writeBenchAuth()
				if err != nil {
					return err
				}
				pc.serveArgs = append(slices.Clone(c.serveArgs), "--nats-auth", file)
				steadyAuth = []nats.Option{nats.UserInfo("pipeline", benchPipelinePassword)}
				floodAuth = []nats.Option{nats.UserInfo("sales", benchSalesPassword)}
			}
			srv, err := startServer(&pc)
			if err != nil {
				return err
			}
			var out map[string]any
			switch phase {
			case "burst":
				out, err = corePhase(srv, *burst, 0, 0)
			case "rate":
				out, err = corePhase(srv, int(float64(*rate)*dur.Seconds()), *rate, *dur)
			case "acked":
				out, err = ackedPhase(srv, *acked, *window)
			case "fair", "fair-auth":
				out, err = fairPhase(srv, *fairRate, *dur, steadyAuth, floodAuth, *sameLane, *child)
			default:
				err = fmt.Errorf("unknown phase %q", phase)
			}
			srv.stop()
			if err != nil {
				return fmt.Errorf("%s: %w", phase, err)
			}
			out["workload"], out["phase"], out["rep"] = "ingest", phase, rep
			if len(c.serverEnv) > 0 {
				out["server_env"] = c.serverEnv
			}
			emit(out)
			logf("ingest %s rep %d: %v", phase, rep, out)
		}
	}
	return nil
}

// ingestHealth is the part of /healthz these phases read.
type ingestHealth struct {
	Accepted uint64 `json:"accepted"`
	Rejected uint64 `json:"rejected"`
	Ingest   struct {
		Queued         int64  `json:"queued"`
		Stored         uint64 `json:"stored"`
		Dropped        uint64 `json:"dropped"`
		BusDisconnects uint64 `json:"bus_disconnects"`
		Problem        string `json:"problem"`
	} `json:"ingest"`
}

func (s *server) ingestHealth() (ingestHealth, error) {
	var h ingestHealth
	err := s.healthz(&h)
	return h, err
}

// settle waits until every one of n published updates (after base applied
// ones) is stored, dropped or rejected, and applied, and returns /healthz and
// when that was.
func settle(srv *server, base uint64, n int, timeout time.Duration) (ingestHealth, time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		h, err := srv.ingestHealth()
		if err == nil && h.Ingest.Queued == 0 && h.Ingest.Stored+h.Ingest.Dropped+h.Rejected >= uint64(n)+base &&
			h.Accepted+h.Rejected >= h.Ingest.Stored {
			return h, time.Now(), nil
		}
		if time.Now().After(deadline) {
			return h, time.Now(), fmt.Errorf("not settled after %v: %+v (err %v)", timeout, h, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// corePhase publishes n core messages to one chart, as fast as one nats.go
// connection goes (rate 0) or paced at rate for dur.
func corePhase(srv *server, n, rate int, dur time.Duration) (map[string]any, error) {
	setup, err := newPublisher(srv.NATS, 256)
	if err != nil {
		return nil, err
	}
	defer setup.close()
	if _, err := setup.sendSync("sv.c.config", []byte(`{"type":"chart","max_points":1000}`)); err != nil {
		return nil, err
	}
	if err := srv.waitApplied(setup.lastSeq(), 30*time.Second); err != nil {
		return nil, err
	}
	base, err := srv.ingestHealth()
	if err != nil {
		return nil, err
	}
	ws, err := dialLive(srv.HTTP)
	if err != nil {
		return nil, err
	}
	go ws.run()
	defer closeAll([]*liveClient{ws})
	nc, err := nats.Connect(srv.NATS, nats.Name("svbench-core"))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	meter := srv.meterCPU()
	start := time.Now()
	var sent int64
	if rate == 0 {
		for i := range n {
			if err := nc.Publish("sv.c.data", stampedUpdate(int64(i), false)); err != nil {
				return nil, err
			}
		}
		sent = int64(n)
	} else {
		sent, _, err = pace(rate, dur, nil, func(i int64) error { return nc.Publish("sv.c.data", stampedUpdate(i, false)) })
		if err != nil {
			return nil, err
		}
	}
	if err := nc.FlushTimeout(60 * time.Second); err != nil {
		return nil, err
	}
	pubTime := time.Since(start)
	h, end, err := settle(srv, base.Ingest.Stored+base.Ingest.Dropped, int(sent), 300*time.Second)
	if err != nil {
		return nil, err
	}
	stored := h.Ingest.Stored - base.Ingest.Stored
	dropped := h.Ingest.Dropped - base.Ingest.Dropped
	applied := h.Accepted - base.Accepted
	received := drain(int64(applied), 30*time.Second, ws.charts.Load)
	out := map[string]any{
		"published":            sent,
		"publish_msgs_per_s":   round(float64(sent)/pubTime.Seconds(), 0),
		"stored":               stored,
		"dropped_counted":      dropped,
		"rejected":             h.Rejected - base.Rejected,
		"lost_uncounted":       int64(sent) - int64(stored) - int64(dropped) - int64(h.Rejected-base.Rejected),
		"applied":              applied,
		"ws_points":            received,
		"ws_gaps":              ws.gaps,
		"stored_msgs_per_s":    round(float64(stored)/end.Sub(start).Seconds(), 0),
		"publish_to_stored_ms": ms(end.Sub(start)),
	}
	if rate > 0 {
		out["rate"] = rate
	}
	meter.fields(out)
	return out, nil
}

// ackedPhase publishes n JetStream async publishes with window in flight.
func ackedPhase(srv *server, n, window int) (map[string]any, error) {
	pub, err := newPublisher(srv.NATS, window)
	if err != nil {
		return nil, err
	}
	defer pub.close()
	if _, err := pub.sendSync("sv.c.config", []byte(`{"type":"chart","max_points":1000}`)); err != nil {
		return nil, err
	}
	if err := srv.waitApplied(pub.lastSeq(), 30*time.Second); err != nil {
		return nil, err
	}
	pub.resetCounts()
	base, err := srv.ingestHealth()
	if err != nil {
		return nil, err
	}
	ws, err := dialLive(srv.HTTP)
	if err != nil {
		return nil, err
	}
	go ws.run()
	defer closeAll([]*liveClient{ws})
	meter := srv.meterCPU()
	start := time.Now()
	for i := range n {
		if err := pub.send("sv.c.data", stampedUpdate(int64(i), false)); err != nil {
			return nil, err
		}
	}
	if err := pub.complete(300 * time.Second); err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	h, _, err := settle(srv, base.Ingest.Stored+base.Ingest.Dropped, n, 120*time.Second)
	if err != nil {
		return nil, err
	}
	applied := h.Accepted - base.Accepted
	out := map[string]any{
		"published":          n,
		"window":             window,
		"acked":              pub.acked.Load(),
		"failed":             pub.failed.Load(),
		"first_error":        pub.firstError(),
		"acked_msgs_per_s":   round(float64(pub.acked.Load())/elapsed.Seconds(), 0),
		"stored":             h.Ingest.Stored - base.Ingest.Stored,
		"applied":            applied,
		"ws_points":          drain(int64(applied), 30*time.Second, ws.charts.Load),
		"acked_not_received": 0,
	}
	out["acked_not_received"] = pub.acked.Load() - out["ws_points"].(int64)
	meter.fields(out)
	return out, nil
}

// fairPhase measures a steady acknowledged publisher's latency alone, then
// while another connection floods core publishes on another widget: one of
// another ingest lane than the steady widget's (broker.AnonymousLane), or
// of the same lane with sameLane. With --nats-auth, steadyAuth and
// floodAuth are the two users' credentials: the flood goes to
// sv.sales.data, the one widget its user may publish.
//
// The flood runs in a goroutine of this process, or with child in a child
// process (startFloodProcess), as a publisher elsewhere on the machine
// would: a goroutine publishing as fast as it goes rarely blocks, and Go
// lets it run 10 ms before switching, so here it also delays the steady
// publisher's own goroutines (docs/benchmarks.md, "Fairness: more Go
// threads than cores during a flood").
func fairPhase(srv *server, rate int, dur time.Duration, steadyAuth, floodAuth []nats.Option, sameLane, child bool) (map[string]any, error) {
	steady, err := newPublisher(srv.NATS, 16, steadyAuth...)
	if err != nil {
		return nil, err
	}
	defer steady.close()
	floodID := "flood"
	for i := 2; (broker.AnonymousLane(floodID) == broker.AnonymousLane("steady")) != sameLane; i++ {
		floodID = "flood" + strconv.Itoa(i)
	}
	if floodAuth != nil {
		floodID = "sales"
	}
	for _, id := range []string{"steady", floodID} {
		if _, err := steady.sendSync("sv."+id+".config", []byte(`{"type":"chart","max_points":1000}`)); err != nil {
			return nil, err
		}
	}
	// Each publish waits at most ackWait (a timeout counts as that long and
	// as failed), and a phase ends after dur whatever was sent, so a
	// publisher starved by the flood cannot stretch the run.
	const ackWait = 2 * time.Second
	var sentSteady atomic.Int64
	measure := func() (hist, int, error) {
		var h hist
		failed := 0
		stop := make(chan struct{})
		timer := time.AfterFunc(dur, func() { close(stop) })
		defer timer.Stop()
		_, _, err := pace(rate, dur, stop, func(i int64) error {
			select {
			case <-stop:
				return errors.New("stopped")
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), ackWait)
			defer cancel()
			t0 := time.Now()
			sentSteady.Add(1)
			if _, err := steady.js.Publish(ctx, "sv.steady.data", stampedUpdate(i, false)); err != nil {
				failed++
			}
			h.add(time.Since(t0).Microseconds())
			return nil
		})
		if err != nil && err.Error() == "stopped" {
			err = nil
		}
		return h, failed, err
	}
	load := loadAvg()
	base, err := srv.ingestHealth()
	if err != nil {
		return nil, err
	}
	alone, failedAlone, err := measure()
	if err != nil {
		return nil, err
	}
	var fl flooder
	if child {
		fl, err = startFloodProcess(srv.NATS, "sv."+floodID+".data", floodAuth != nil)
	} else {
		fl, err = startFloodHere(srv.NATS, "sv."+floodID+".data", floodAuth)
	}
	if err != nil {
		return nil, err
	}
	time.Sleep(200 * time.Millisecond) // the flood is under way before measuring
	during, failedDuring, err := measure()
	flooded, ferr := fl.stop()
	if err == nil {
		err = ferr
	}
	if err != nil {
		return nil, err
	}
	// Every update published is stored, counted as dropped or rejected,
	// unless the server closed the gateway's ingest connection as a slow
	// consumer: what was published until it was back reached no one.
	published := uint64(flooded + sentSteady.Load())
	h, err := settleAll(srv, base, published, 120*time.Second)
	if err != nil {
		return nil, err
	}
	accounted := (h.Ingest.Stored - base.Ingest.Stored) + (h.Ingest.Dropped - base.Ingest.Dropped) + (h.Rejected - base.Rejected)
	out := map[string]any{
		"loadavg_before":        load,
		"loadavg_after":         loadAvg(),
		"bus_disconnects":       h.Ingest.BusDisconnects - base.Ingest.BusDisconnects,
		"flood_stored":          h.Ingest.Stored - base.Ingest.Stored,
		"flood_dropped_counted": h.Ingest.Dropped - base.Ingest.Dropped,
		"lost_uncounted":        int64(published) - int64(accounted),
		"steady_rate":           rate,
		"nats_auth":             floodAuth != nil,
		"flood_widget":          floodID,
		"same_lane":             floodAuth == nil && broker.AnonymousLane(floodID) == broker.AnonymousLane("steady"),
		"alone_ack_ms_p50":      round(float64(alone.quantile(0.5))/1000, 2),
		"alone_ack_ms_p99":      round(float64(alone.quantile(0.99))/1000, 2),
		"alone_ack_ms_max":      round(float64(alone.quantile(1))/1000, 2),
		"alone_failed":          failedAlone,
		"flood_ack_ms_p50":      round(float64(during.quantile(0.5))/1000, 2),
		"flood_ack_ms_p99":      round(float64(during.quantile(0.99))/1000, 2),
		"flood_ack_ms_max":      round(float64(during.quantile(1))/1000, 2),
		"flood_failed":          failedDuring,
		"flood_published":       flooded,
		"flood_msgs_per_s":      round(float64(flooded)/(dur.Seconds()+0.2), 0),
		"flood_process":         map[bool]string{true: "child", false: "harness"}[child],
	}
	return out, nil
}

// settleAll waits until published updates after base are all stored,
// dropped or rejected, or until nothing has moved for 3 s with none queued
// (some were lost on the way without a count), and returns /healthz.
func settleAll(srv *server, base ingestHealth, published uint64, timeout time.Duration) (ingestHealth, error) {
	deadline := time.Now().Add(timeout)
	var last uint64
	still := time.Now()
	for {
		h, err := srv.ingestHealth()
		if err == nil {
			n := (h.Ingest.Stored - base.Ingest.Stored) + (h.Ingest.Dropped - base.Ingest.Dropped) + (h.Rejected - base.Rejected)
			if n != last {
				last, still = n, time.Now()
			}
			if h.Ingest.Queued == 0 && (n >= published || time.Since(still) > 3*time.Second) {
				return h, nil
			}
		}
		if time.Now().After(deadline) {
			return h, fmt.Errorf("not settled after %v: %+v (err %v)", timeout, h, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loadAvg is the machine's 1-minute load average (/proc/loadavg), "" where
// there is none: the fairness figures depend on it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

const (
	benchPipelinePassword = "pipeline-bench-password"
	benchSalesPassword    = "sales-bench-password"
)

// writeBenchAuth writes a --nats-auth file for fair-auth: "pipeline" may
// publish to every widget, "sales" only to its own (the README's example).
func writeBenchAuth() (string, error) {
	dir, err := benchTemp()
	if err != nil {
		return "", err
	}
	f := filepath.Join(dir, "auth.json")
	body := `{"users": [{"user": "pipeline", "password": "` + benchPipelinePassword + `"},
  {"user": "sales", "password": "` + benchSalesPassword + `", "publish": ["sv.sales.>"]}]}`
	return f, os.WriteFile(f, []byte(body), 0o600)
}
