package gateway

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// /metrics speaks Prometheus text format and its series follow what
// happened: updates accepted and rejected by reason, sockets open and how
// they joined, frames and bytes written, replay time, slow cut-offs and the
// bytes they dropped.
func TestMetricsCountWhatTheGatewayDid(t *testing.T) {
	// The stalled socket below must be cut by the queue bound only, not by a
	// write deadline (10 s) or an unanswered ping (55 s) on a loaded machine.
	e := startEnv(t, Config{MaxQueueBytes: 256 << 10, writeWait: 10 * time.Minute, pingPeriod: 10 * time.Minute, pongWait: 10 * time.Minute})
	e.publish(t, "sv.s.data", `{"value": 1}`)
	for _, bad := range [][2]string{
		{"sv.s.data", `{"value": }`},       // bad JSON
		{"sv.bad!id.data", `{"value": 1}`}, // bad widget id
		{"sv.s.data", `{"value": "x"}`},    // bad shape
	} {
		if _, err := e.publishInput(t, bad[0], bad[1]); err == nil {
			t.Fatalf("%s %s was acknowledged", bad[0], bad[1])
		}
	}
	seq := e.publishAndWait(t, "sv.s.data", `{"value": 2}`)
	e.waitRejected(t, 3)

	fresh := e.dial(t)
	fresh.first(t, "snapshot")
	h := e.health(t)
	resumed := e.dialAt(t, h.Epoch, seq-1)
	resumed.first(t, "resumed")
	reset := e.dialAt(t, "another-epoch", 1)
	reset.first(t, "snapshot")
	eventually(t, waitTimeout, func() bool { return e.health(t).Clients == 3 }, "three sockets joined")

	m := e.metrics(t)
	want := map[string]float64{
		`streamviz_updates_accepted_total`:                                   2,
		`streamviz_updates_rejected_total{reason="bad JSON"}`:                1,
		`streamviz_updates_rejected_total{reason="bad widget id"}`:           1,
		`streamviz_updates_rejected_total{reason="bad shape"}`:               1,
		`streamviz_updates_rejected_total{reason="table row limit reached"}`: 0,
		`streamviz_ws_connections`:                                           3,
		`streamviz_ws_connections_total`:                                     3,
		`streamviz_ws_joins_total{kind="snapshot"}`:                          1,
		`streamviz_ws_joins_total{kind="resumed"}`:                           1,
		`streamviz_ws_joins_total{kind="reset"}`:                             1,
		`streamviz_ws_replay_seconds_count`:                                  3,
		`streamviz_ws_slow_disconnects_total`:                                0,
		`streamviz_widgets`:                                                  1,
		`streamviz_bus_connected`:                                            1,
	}
	for name, v := range want {
		if got, ok := m[name]; !ok || got != v {
			t.Errorf("%s = %v (present %t), want %v", name, got, ok, v)
		}
	}
	if m["streamviz_ws_frames_sent_total"] < 3 || m["streamviz_ws_bytes_sent_total"] < 100 {
		t.Errorf("frames %v and bytes %v sent: want at least the three first messages", m["streamviz_ws_frames_sent_total"], m["streamviz_ws_bytes_sent_total"])
	}
	if m["process_resident_memory_bytes"] <= 0 || m["go_goroutines"] <= 0 {
		t.Errorf("process and Go runtime series missing: rss %v goroutines %v", m["process_resident_memory_bytes"], m["go_goroutines"])
	}

	// Live events reach caught-up sockets as shared frames: they are counted too.
	before := m
	var last uint64
	for i := range 20 {
		last = e.publish(t, "sv.c.data", fmt.Sprintf(`{"x": %d, "y": %d}`, i, i))
	}
	fresh.waitSeq(t, last)
	m = e.metrics(t)
	if d := m["streamviz_ws_frames_sent_total"] - before["streamviz_ws_frames_sent_total"]; d < 1 {
		t.Errorf("frames sent grew by %v while 20 events reached three sockets", d)
	}
	if d := m["streamviz_ws_bytes_sent_total"] - before["streamviz_ws_bytes_sent_total"]; d < 3*20*50 {
		t.Errorf("bytes sent grew by %v while 20 events of 50+ bytes reached three sockets", d)
	}

	// A socket that never reads is cut off; the bytes it missed are counted.
	stalled := e.dialRaw(t)
	_ = stalled
	eventually(t, waitTimeout, func() bool { return e.health(t).Clients == 4 }, "stalled socket joined")
	pad := strings.Repeat("z", 16<<10)
	for i := 0; e.health(t).Slow == 0; i++ {
		if i > 4096 {
			t.Fatal("the stalled socket was never cut off")
		}
		e.publish(t, "sv.t.data", `{"key": "k", "row": {"pad": "`+pad+`"}}`)
		if i%16 == 0 {
			time.Sleep(20 * time.Millisecond) // let the readers keep up
		}
	}
	m = e.metrics(t)
	if m["streamviz_ws_slow_disconnects_total"] != 1 {
		t.Errorf("slow disconnects %v, want 1", m["streamviz_ws_slow_disconnects_total"])
	}
	if d := m["streamviz_ws_dropped_bytes_total"]; d < 256<<10 {
		t.Errorf("dropped bytes %v, want at least the queue bound %d", d, 256<<10)
	}
}

// metrics scrapes /metrics into name{labels} → value.
func (e *testEnv) metrics(t testing.TB) map[string]float64 {
	t.Helper()
	code, ctype, body := get(t, e.url("/metrics"))
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("GET /metrics: status %d, content type %q", code, ctype)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("/metrics line %q is not `series value`", line)
		}
		out[line[:i]] = v
	}
	return out
}
