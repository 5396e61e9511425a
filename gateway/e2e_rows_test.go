package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// rowsTestLinger is the RowsLinger of tests whose assertions need each
// Pathway time's rows folded together: far beyond any stall of a loaded
// machine between two rows of one time, so only a later time ends one.
// The last time of a run is folded after it, so waits for it use rowsWait.
const (
	rowsTestLinger = 3 * time.Second
	rowsWait       = rowsTestLinger + waitTimeout
)

// pathwayRow is a message as pw.io.nats.write(table, uri, topic, format="json")
// publishes it: the row's columns plus diff and time, and both as headers.
func pathwayRow(subject string, diff int, time int64, cols string) *nats.Msg {
	return &nats.Msg{
		Subject: subject,
		Data:    []byte(fmt.Sprintf(`{%s,"diff":%d,"time":%d}`, cols, diff, time)),
		Header:  nats.Header{"pathway_time": {strconv.FormatInt(time, 10)}, "pathway_diff": {strconv.Itoa(diff)}},
	}
}

// Two processes of one pipeline publish rows to one subject, one with core
// NATS (pw.io.nats.write without jetstream_stream_name) and one through
// JetStream (with it, acknowledged by the gateway); the table ends as
// Pathway's result and an update never reaches a browser as a delete.
func TestE2ERowsFromTwoPublishersCoreAndJetStreamFoldIntoOneTable(t *testing.T) {
	e := startEnv(t, Config{RowsLinger: rowsTestLinger})
	e.publishAndWait(t, "sv.orders.config", `{"type":"table","key":["region"],"title":"Orders"}`)
	ws := e.dial(t)
	ws.first(t, "snapshot")

	core, _ := connectPublisher(t, e.b.ClientURL(), "pathway-process-0")
	_, js := connectPublisher(t, e.b.ClientURL(), "pathway-process-1")
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	jsRow := func(diff int, time int64, cols string) {
		t.Helper()
		ack, err := js.PublishMsg(ctx, pathwayRow("sv.orders.rows", diff, time, cols))
		if err != nil {
			t.Fatalf("JetStream publish of a row: %v", err)
		}
		if ack.Stream != "SV" {
			t.Fatalf("the acknowledgement names stream %q, want SV", ack.Stream)
		}
	}
	coreRow := func(diff int, time int64, cols string) {
		t.Helper()
		if err := core.PublishMsg(pathwayRow("sv.orders.rows", diff, time, cols)); err != nil {
			t.Fatal(err)
		}
	}
	coreRow(1, 2, `"region":"eu","amount":10`)
	jsRow(1, 2, `"region":"us","amount":20`)
	coreRow(-1, 4, `"region":"eu","amount":10`)
	coreRow(1, 4, `"region":"eu","amount":12`)
	jsRow(1, 4, `"region":"apac","amount":5`)
	jsRow(-1, 6, `"region":"apac","amount":5`)
	jsRow(-1, 6, `"region":"us","amount":20`)
	jsRow(1, 6, `"region":"us","amount":21`)
	if err := core.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `{"rows":{"eu":{"region":"eu","amount":12},"us":{"region":"us","amount":21}},"as_of":6}`
	eventually(t, rowsWait, func() bool { return jsonEqual(t, e.widgetState(t, "orders"), []byte(want)) },
		"the table never became Pathway's result")
	evs := ws.waitUntil(t, "apac deleted", func(evs []wsEvent) bool {
		for _, ev := range evs {
			if ev.ID == "orders" && strings.Contains(string(ev.Data), `"key":"apac","delete":true`) {
				return true
			}
		}
		return false
	})
	checkChain(t, evs)
	for _, ev := range evs {
		if ev.ID == "orders" && (strings.Contains(string(ev.Data), `"key":"eu","delete"`) || strings.Contains(string(ev.Data), `"key":"us","delete"`)) {
			t.Errorf("an updated row reached the browser as a delete: %s", ev.Data)
		}
	}
}

// The rows behind each point (a hidden row at an x, a pending time) live in
// the snapshot: after a compaction and a restart, retracting the shown row
// brings back the one under it.
func TestE2ERowsFoldSurvivesCompactionAndRestart(t *testing.T) {
	e := startEnv(t, Config{})
	e.publishAndWait(t, "sv.win.config", `{"type":"chart","x":"start","y":"total"}`)
	for _, r := range []struct {
		diff int
		time int64
		cols string
	}{{1, 2, `"start":0,"total":3`}, {1, 4, `"start":0,"total":9`}, {1, 4, `"start":10,"total":1`}} {
		msg := pathwayRow("sv.win.rows", r.diff, r.time, r.cols)
		if _, err := e.js.PublishMsg(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, waitTimeout, func() bool {
		return jsonEqual(t, e.widgetState(t, "win"), []byte(`{"points":[[0,9],[10,1]],"as_of":4}`))
	}, "the newest row at x=0 is shown")
	e.compactNow(t)
	e = e.restart(t)
	if _, err := e.js.PublishMsg(context.Background(), pathwayRow("sv.win.rows", -1, 6, `"start":0,"total":9`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitTimeout, func() bool {
		return jsonEqual(t, e.widgetState(t, "win"), []byte(`{"points":[[0,3],[10,1]],"as_of":6}`))
	}, "after the restart the retraction brings back the row under it")
	var cfg map[string]any
	if err := json.Unmarshal(e.widget(t, "win").Config, &cfg); err != nil || cfg["x"] != "start" || cfg["y"] != "total" {
		t.Errorf("the normalized config keeps x and y: %v %v", cfg, err)
	}
}

// A row that is not a Pathway row is refused at once with the reason.
func TestE2ERowsRefusesWhatIsNotARow(t *testing.T) {
	e := startEnv(t, Config{})
	_, err := e.publishInput(t, "sv.orders.rows", `{"region":"eu"}`)
	if err == nil || !strings.Contains(err.Error(), `a row needs \"diff\"`) && !strings.Contains(err.Error(), `a row needs "diff"`) {
		t.Fatalf("got %v", err)
	}
}

// A row is acknowledged for itself: an unreadable row of the time it ends
// (stored and acknowledged before) rides along as a warning, never as an
// error that would make Pathway's JetStream writer resend a row already folded.
func TestE2ERowsAckCarriesAnEarlierRowsProblemAsAWarning(t *testing.T) {
	// Time 2 must still be pending when the row of time 4 ends it.
	e := startEnv(t, Config{RowsLinger: rowsTestLinger})
	e.publishAndWait(t, "sv.c.config", `{"type":"chart","x":"x","y":"y"}`)
	ack := func(diff int, time int64, cols string) map[string]any {
		t.Helper()
		resp, err := e.nc.RequestMsg(pathwayRow("sv.c.rows", diff, time, cols), waitTimeout)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(resp.Data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if a := ack(1, 2, `"x":1,"y":"high"`); a["stream"] != "SV" || a["error"] != nil {
		t.Fatalf("the row itself is stored and held: %v", a)
	}
	b := ack(1, 4, `"x":2,"y":5`)
	if b["stream"] != "SV" || b["error"] != nil || !strings.Contains(fmt.Sprint(b["warning"]), `column "y" holds "high", not a number`) {
		t.Fatalf("the row that ended the time: %v", b)
	}
	eventually(t, rowsWait, func() bool {
		return jsonEqual(t, e.widgetState(t, "c"), []byte(`{"points":[[2,5]],"as_of":4}`))
	}, "the readable row is shown")
}

// Config.RowsLinger decides when a time with no successor is shown: with a
// linger of an hour a pending time is folded only by a later time's row
// (and that later time stays pending); with a short one the last time is
// folded on its own once the widget has had no rows for that long.
func TestE2ERowsLingerEndsATimeWithoutSuccessorOnlyOnceItPassed(t *testing.T) {
	row := func(t *testing.T, e *testEnv, time int64, region string, amount int) {
		t.Helper()
		if _, err := e.js.PublishMsg(context.Background(), pathwayRow("sv.orders.rows", 1, time, fmt.Sprintf(`"region":%q,"amount":%d`, region, amount))); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("an hour: only a later time ends one", func(t *testing.T) {
		e := startEnv(t, Config{RowsLinger: time.Hour})
		e.publishAndWait(t, "sv.orders.config", `{"type":"table","key":["region"]}`)
		row(t, e, 2, "eu", 10)
		// Acknowledged means applied: the row is held, and an hour is far off.
		if st := e.widgetState(t, "orders"); strings.Contains(string(st), "eu") {
			t.Fatalf("a time with no successor was shown before the linger passed: %s", st)
		}
		row(t, e, 4, "us", 20)
		want := `{"rows":{"eu":{"region":"eu","amount":10}},"as_of":2}`
		eventually(t, waitTimeout, func() bool { return jsonEqual(t, e.widgetState(t, "orders"), []byte(want)) },
			"the row of time 4 never ended time 2")
		if st := e.widgetState(t, "orders"); !jsonEqual(t, st, []byte(want)) {
			t.Fatalf("time 4 was shown before the linger passed or a later time came: %s", st)
		}
	})
	t.Run("10ms: the last time is shown on its own", func(t *testing.T) {
		e := startEnv(t, Config{RowsLinger: 10 * time.Millisecond})
		e.publishAndWait(t, "sv.orders.config", `{"type":"table","key":["region"]}`)
		row(t, e, 2, "eu", 10)
		row(t, e, 4, "us", 20)
		want := `{"rows":{"eu":{"region":"eu","amount":10},"us":{"region":"us","amount":20}},"as_of":4}`
		eventually(t, waitTimeout, func() bool { return jsonEqual(t, e.widgetState(t, "orders"), []byte(want)) },
			"the last time was never folded after the linger")
	})
}
