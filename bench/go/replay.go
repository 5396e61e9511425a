package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// runReplay is workload 4: with W charts × P points and a T-row table
// retained, a fresh client dials and reads its first message (the snapshot);
// the time from dial until it is fully received and decoded is the time until
// the client holds the full state. Target ≤ 100 ms.
func runReplay(args []string) error {
	var c common
	q := isQuick(args)
	fs := newFlags("replay", &c, "streamviz")
	charts := fs.Int("charts", pick(q, 100, 10), "chart widgets")
	points := fs.Int("points", 1000, "points retained per chart")
	rows := fs.Int("rows", pick(q, 10000, 1000), "rows of the one table")
	reps := fs.Int("reps", 20, "fresh clients, one after another")
	system := fs.String("system", "streamviz", "system under test: streamviz or pathwayviz (0.3.1, from bench/.venv-pv)")
	pvPython := fs.String("pv-python", "", "Python with pathway-viz installed (default: bench/.venv-pv/bin/python)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	switch *system {
	case "pathwayviz":
		return runReplayPV(*pvPython, *charts, *points, *rows, *reps)
	case "streamviz":
	default:
		return fmt.Errorf("--system %q: want streamviz or pathwayviz", *system)
	}
	srv, err := startServer(&c)
	if err != nil {
		return err
	}
	defer srv.stop()
	start := time.Now()
	if err := retainState(srv, *charts, *points, *rows); err != nil {
		return err
	}
	logf("retained %d charts × %d points and %d rows in %.1fs", *charts, *points, *rows, time.Since(start).Seconds())

	prof := srv.startProfile(c.profileDir, "replay")
	meter := srv.meterCPU()
	var totals, dials, firsts, recvs, parses []float64
	var size int
	for rep := range *reps {
		r, err := replayOnce(srv.HTTP, *charts+1, *charts**points, *rows)
		if err != nil {
			return fmt.Errorf("rep %d: %w", rep, err)
		}
		size = r.bytes
		emit(map[string]any{"workload": "replay", "system": "streamviz", "rep": rep, "charts": *charts, "points": *points, "rows": *rows,
			"snapshot_bytes": r.bytes, "dial_ms": ms(r.dial), "first_byte_ms": ms(r.first), "received_ms": ms(r.received),
			"total_ms": ms(r.total), "parse_ms": ms(r.total - r.received)})
		totals = append(totals, ms(r.total))
		dials = append(dials, ms(r.dial))
		firsts = append(firsts, ms(r.first))
		recvs = append(recvs, ms(r.received))
		parses = append(parses, ms(r.total-r.received))
		time.Sleep(20 * time.Millisecond) // let the closed socket go before the next
	}
	prof.stop()
	sum := map[string]any{"workload": "replay", "system": "streamviz", "summary": true, "reps": *reps, "charts": *charts, "points": *points,
		"rows": *rows, "points_replayed": *charts * *points, "rows_replayed": *rows, "snapshot_bytes": size, "ms_median": round(median(totals), 3),
		"ms_p99": round(percentile(totals, 0.99), 3), "dial_ms_median": round(median(dials), 3),
		"first_byte_ms_median": round(median(firsts), 3), "received_ms_median": round(median(recvs), 3),
		"received_ms_p99": round(percentile(recvs, 0.99), 3), "parse_ms_median": round(median(parses), 3), "target_ms": 100}
	meter.fields(sum)
	emit(sum)
	logf("replay: %d charts × %d points + %d rows (%.1f MB snapshot): full state after %.1f ms median, %.1f ms p99 "+
		"(dial %.1f, first byte %.1f, fully received %.1f, decoding %.1f ms: medians)",
		*charts, *points, *rows, float64(size)/1e6, median(totals), percentile(totals, 0.99),
		median(dials), median(firsts), median(recvs), median(parses))
	return nil
}

// retainState publishes the charts and the table and waits until the
// gateway has applied all of it.
func retainState(srv *server, charts, points, rows int) error {
	pub, err := newPublisher(srv.NATS, 256)
	if err != nil {
		return err
	}
	defer pub.close()
	const x0 = 1_790_000_000_000 // ms: points one second apart, like a real time axis
	for w := range charts {
		id := "chart" + strconv.Itoa(w)
		if err := pub.send("sv."+id+".config", fmt.Appendf(nil, `{"type":"chart","max_points":%d}`, points)); err != nil {
			return err
		}
		// At most 10,000 points a message keeps every message under 1 MiB.
		for from := 0; from < points; from += 10000 {
			b := []byte(`{"points":[`)
			for i := from; i < min(points, from+10000); i++ {
				if i > from {
					b = append(b, ',')
				}
				b = fmt.Appendf(b, "[%d,%.2f]", x0+int64(i)*1000, float64((i*7919+w*31)%100000)/100)
			}
			if err := pub.send("sv."+id+".data", append(b, "]}"...)); err != nil {
				return err
			}
		}
	}
	if err := pub.send("sv.orders.config", []byte(`{"type":"table","title":"Orders","max_rows":100}`)); err != nil {
		return err
	}
	for from := 0; from < rows; from += 1000 {
		b := []byte(`{"ops":[`)
		for i := from; i < min(rows, from+1000); i++ {
			if i > from {
				b = append(b, ',')
			}
			b = fmt.Appendf(b, `{"key":"order-%06d","row":{"id":%d,"region":"region-%d","customer":"customer %d","revenue":%.2f,"items":%d,"status":"shipped"}}`,
				i, i, i%17, i%1013, float64(i*7919%1000000)/100, i%23)
		}
		if err := pub.send("sv.orders.data", append(b, "]}"...)); err != nil {
			return err
		}
	}
	if err := pub.complete(60 * time.Second); err != nil {
		return err
	}
	if n := pub.failed.Load(); n > 0 {
		return fmt.Errorf("%d set-up publishes failed: %s", n, pub.firstError())
	}
	return srv.waitApplied(pub.lastSeq(), 60*time.Second)
}

// snapshotMsg is what a client decodes: the whole state, typed as a browser
// would use it (numbers as numbers, rows as objects).
type snapshotMsg []struct {
	Type    string `json:"type"`
	Epoch   string `json:"epoch"`
	Seq     uint64 `json:"seq"`
	Widgets []struct {
		ID     string         `json:"id"`
		Config map[string]any `json:"config"`
		State  struct {
			Value  *float64                  `json:"value"`
			Points [][2]float64              `json:"points"`
			Series map[string][][2]float64   `json:"series"`
			Rows   map[string]map[string]any `json:"rows"`
		} `json:"state"`
	} `json:"widgets"`
}

type replayTimes struct {
	dial, first, received, total time.Duration
	bytes                        int
}

// replayOnce times one fresh client from dial to holding the decoded state,
// and checks that the state is all there.
func replayOnce(httpAddr string, widgets, points, rows int) (replayTimes, error) {
	var r replayTimes
	start := time.Now()
	conn, _, err := dialer.Dial("ws://"+httpAddr+"/ws", nil)
	if err != nil {
		return r, err
	}
	defer conn.Close()
	r.dial = time.Since(start)
	_, rd, err := conn.NextReader()
	if err != nil {
		return r, err
	}
	r.first = time.Since(start)
	data, err := io.ReadAll(rd)
	if err != nil {
		return r, err
	}
	r.received = time.Since(start)
	var msg snapshotMsg
	if err := json.Unmarshal(data, &msg); err != nil {
		return r, fmt.Errorf("decoding the snapshot: %w", err)
	}
	r.total = time.Since(start)
	r.bytes = len(data)

	if len(msg) != 1 || msg[0].Type != "snapshot" {
		return r, fmt.Errorf("first message is not one snapshot event")
	}
	gotPoints, gotRows := 0, 0
	for _, w := range msg[0].Widgets {
		gotPoints += len(w.State.Points)
		gotRows += len(w.State.Rows)
	}
	if len(msg[0].Widgets) != widgets || gotPoints != points || gotRows != rows {
		return r, fmt.Errorf("snapshot holds %d widgets, %d points, %d rows; want %d, %d, %d",
			len(msg[0].Widgets), gotPoints, gotRows, widgets, points, rows)
	}
	return r, nil
}
