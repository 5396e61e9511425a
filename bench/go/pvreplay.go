package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// What pathway-viz 0.3.1 replays to a fresh socket, in two messages: the
// last dashboard config, then {"type": "history", "widgets": [{"widget": id,
// "data": [[timestamp, value], …]}, …]} with the last 1,000 points of every
// widget whose messages carry a numeric "value" and "timestamp". Table
// upserts carry neither, so no table row is replayed.
type pvConfigMsg struct {
	Type    string                    `json:"type"`
	Widgets map[string]map[string]any `json:"widgets"`
	Layout  []string                  `json:"layout"`
}

type pvHistoryMsg struct {
	Type    string `json:"type"`
	Widgets []struct {
		Widget string       `json:"widget"`
		Data   [][2]float64 `json:"data"`
	} `json:"widgets"`
}

// retainPV sends the same state as retainState: the charts' points as
// pv.Chart sends them and the table's rows as pv.Table sends them.
func retainPV(s *pvServer, charts, points, rows int) error {
	widgets := map[string]string{"orders": "pathway_table"}
	for w := range charts {
		widgets["chart"+strconv.Itoa(w)] = "metric"
	}
	if _, err := s.do(map[string]any{"cmd": "config", "widgets": widgets}, 10*time.Second); err != nil {
		return err
	}
	// 100 messages per 2 ms: pathway-viz's store task reads the same bounded
	// broadcast channel as the sockets and stops for good when it falls
	// behind, so the load must not outrun it.
	_, err := s.do(map[string]any{"cmd": "retain", "charts": charts, "points": points, "rows": rows,
		"batch": 100, "pause_ms": 2}, 10*time.Minute)
	return err
}

// replayOncePV times one fresh client from dial until it holds the config
// and the history, both decoded, and checks that the history is all there.
func replayOncePV(httpAddr string, charts, points int) (replayTimes, int, error) {
	var r replayTimes
	start := time.Now()
	conn, _, err := dialer.Dial("ws://"+httpAddr+"/ws", nil)
	if err != nil {
		return r, 0, err
	}
	defer conn.Close()
	r.dial = time.Since(start)
	var raw [2][]byte
	for i := range raw {
		_, rd, err := conn.NextReader()
		if err != nil {
			return r, 0, fmt.Errorf("message %d: %w", i, err)
		}
		if i == 0 {
			r.first = time.Since(start)
		}
		if raw[i], err = io.ReadAll(rd); err != nil {
			return r, 0, err
		}
	}
	r.received = time.Since(start)
	var cfg pvConfigMsg
	var hist pvHistoryMsg
	if err := json.Unmarshal(raw[0], &cfg); err != nil {
		return r, 0, fmt.Errorf("decoding the config: %w", err)
	}
	if err := json.Unmarshal(raw[1], &hist); err != nil {
		return r, 0, fmt.Errorf("decoding the history: %w", err)
	}
	r.total = time.Since(start)
	r.bytes = len(raw[0]) + len(raw[1])

	if cfg.Type != "config" || hist.Type != "history" {
		return r, 0, fmt.Errorf("%w: replayed %q then %q, want config then history", ErrPathwayViz, cfg.Type, hist.Type)
	}
	got := 0
	for _, w := range hist.Widgets {
		got += len(w.Data)
	}
	if len(hist.Widgets) != charts || got != charts*points {
		return r, 0, fmt.Errorf("%w: history holds %d widgets, %d points; want %d, %d (its store task stops when it lags)",
			ErrPathwayViz, len(hist.Widgets), got, charts, charts*points)
	}
	return r, len(cfg.Widgets), nil
}

// runReplayPV is workload 4 against pathway-viz.
func runReplayPV(python string, charts, points, rows, reps int) error {
	if points > 1000 {
		return fmt.Errorf("--points %d: pathway-viz 0.3.1 keeps 1,000 points per widget", points)
	}
	s, err := startPathwayViz(python)
	if err != nil {
		return err
	}
	defer s.stop()
	start := time.Now()
	if err := retainPV(s, charts, points, rows); err != nil {
		return err
	}
	logf("pathway-viz: sent %d charts × %d points and %d table rows in %.1fs", charts, points, rows, time.Since(start).Seconds())
	meter := s.meterCPU()
	var totals, dials, firsts, recvs, parses []float64
	var size, cfgWidgets int
	for rep := range reps {
		r, nw, err := replayOncePV(s.HTTP, charts, points)
		if err != nil {
			return fmt.Errorf("rep %d: %w", rep, err)
		}
		size, cfgWidgets = r.bytes, nw
		emit(map[string]any{"workload": "replay", "system": "pathwayviz", "rep": rep, "charts": charts, "points": points,
			"rows": rows, "snapshot_bytes": r.bytes, "dial_ms": ms(r.dial), "first_byte_ms": ms(r.first),
			"received_ms": ms(r.received), "total_ms": ms(r.total), "parse_ms": ms(r.total - r.received)})
		totals = append(totals, ms(r.total))
		dials = append(dials, ms(r.dial))
		firsts = append(firsts, ms(r.first))
		recvs = append(recvs, ms(r.received))
		parses = append(parses, ms(r.total-r.received))
		time.Sleep(20 * time.Millisecond)
	}
	sum := map[string]any{"workload": "replay", "system": "pathwayviz", "pathwayviz_version": s.version, "summary": true,
		"reps": reps, "charts": charts, "points": points, "rows": rows,
		"points_replayed": charts * points, "rows_replayed": 0, "config_widgets_replayed": cfgWidgets,
		"snapshot_bytes": size, "ms_median": round(median(totals), 3),
		"ms_p99": round(percentile(totals, 0.99), 3), "dial_ms_median": round(median(dials), 3),
		"first_byte_ms_median": round(median(firsts), 3), "received_ms_median": round(median(recvs), 3),
		"received_ms_p99": round(percentile(recvs, 0.99), 3), "parse_ms_median": round(median(parses), 3), "target_ms": 100}
	meter.fields(sum)
	emit(sum)
	logf("replay pathway-viz: %d charts × %d points retained, %d table rows sent and not retained (%.1f MB replayed): "+
		"config+history held after %.1f ms median, %.1f ms p99 (dial %.1f, first byte %.1f, fully received %.1f, decoding %.1f ms: medians)",
		charts, points, rows, float64(size)/1e6, median(totals), percentile(totals, 0.99),
		median(dials), median(firsts), median(recvs), median(parses))
	return nil
}
