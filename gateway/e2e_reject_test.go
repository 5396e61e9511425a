package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/streamviz/streamviz/broker"
)

// Every malformed message is dropped and counted once in /healthz
// "rejected" (its publisher told why at once when no widget state is needed
// to tell); it creates no widget, changes no config, and a valid widget
// updated between the bad messages keeps updating with an unbroken chain.
func TestMalformedInputIsCountedExactlyAndLeavesOtherWidgetsAlone(t *testing.T) {
	const maxBytes = 4096
	// The log accepts larger messages than the gateway, so the oversize one
	// is stored and reaches the gateway's own check.
	e := startEnv(t, Config{MaxMessageBytes: maxBytes, Streams: broker.StreamsConfig{MaxMsgSize: 64 << 10}})
	e.publish(t, "sv.ok.config", `{"type": "stat", "title": "OK"}`)
	e.publish(t, "sv.g.config", `{"type": "gauge", "min": 0, "max": 10}`)
	e.publishAndWait(t, "sv.tbl.config", `{"type": "table"}`)
	before := e.allWidgets(t)
	c := e.dial(t)
	c.first(t, "snapshot")

	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	corpus := []struct{ name, subject, payload string }{
		{"bad JSON", "sv.ok.data", `{"value": }`},
		{"truncated JSON", "sv.ok.data", `{"value": 1`},
		{"empty payload", "sv.ok.data", ``},
		{"array, not an object", "sv.ok.data", `[1, 2]`},
		{"string, not an object", "sv.ok.data", `"hello"`},
		{"number, not an object", "sv.ok.data", `42`},
		{"null, not an object", "sv.ok.data", `null`},
		{"no known field", "sv.ok.data", `{"hello": 1}`},
		{"value not a number", "sv.ok.data", `{"value": "high"}`},
		{"two shapes at once", "sv.ok.data", `{"value": 1, "x": 2, "y": 3}`},
		{"x without y for a new widget", "sv.newchart.data", `{"x": 1}`},
		{"unparseable time", "sv.newchart.data", `{"x": "yesterday", "y": 1}`},
		{"point not a pair", "sv.newchart.data", `{"points": [[1, 2, 3]]}`},
		{"bad id in subject", "sv.bad!id.data", `{"value": 1}`},
		{"id with an illegal character", "sv.a@b.config", `{"type": "stat"}`},
		{"id longer than 64", "sv." + strings.Repeat("x", 65) + ".data", `{"value": 1}`},
		{"unknown subject kind", "sv.w.other", `{"value": 1}`},
		{"extra subject token", "sv.w.data.extra", `{"value": 1}`},
		{"dashboard takes no data", "sv.$dashboard.data", `{"title": "x"}`},
		{"dashboard config without title", "sv.$dashboard.config", `{"name": "x"}`},
		{"oversize", "sv.ok.data", `{"value": 1, "pad": "` + strings.Repeat("p", maxBytes) + `"}`},
		{"100-deep data", "sv.ok.data", `{"value": 1, "deep": ` + deep + `}`},
		{"100-deep config", "sv.deepcfg.config", `{"type": "stat", "deep": ` + deep + `}`},
		{"chart data for a gauge", "sv.g.data", `{"x": 1, "y": 2}`},
		{"table data for a stat", "sv.ok.data", `{"key": "a", "row": {}}`},
		{"value data for a table", "sv.tbl.data", `{"value": 1}`},
		{"unknown config type", "sv.pie.config", `{"type": "pie"}`},
		{"config without type", "sv.notype.config", `{"title": "x"}`},
		{"gauge min equal to max", "sv.g.config", `{"type": "gauge", "min": 10, "max": 10}`},
		{"gauge min above max", "sv.g.config", `{"type": "gauge", "min": 5, "max": 1}`},
		{"unknown chart_type", "sv.g.config", `{"type": "chart", "chart_type": "pie"}`},
		{"max_points 0", "sv.g.config", `{"type": "chart", "max_points": 0}`},
		{"table key too long", "sv.tbl.data", `{"key": "` + strings.Repeat("k", 257) + `", "row": {}}`},
		{"table row not an object", "sv.tbl.data", `{"key": "a", "row": [1]}`},
	}

	valid := []uint64{c.waitEvents(t, 1)[0].Seq}
	for i, bad := range corpus {
		t.Run(bad.name, func(t *testing.T) {
			_, err := e.publishInput(t, bad.subject, bad.payload)
			// What needs the widget's state (a text x is a category unless
			// the chart's axis is numbers) is stored, rejected when applied,
			// and its publisher told then; everything else is refused at
			// once. Either way the publisher hears why.
			if err == nil {
				t.Fatalf("publish: acknowledged; want an error naming the problem")
			}
			e.waitRejected(t, uint64(i+1))
			valid = append(valid, e.publish(t, "sv.ok.data", fmt.Sprintf(`{"value": %d, "ts": %d}`, i, i)))
			e.waitSeq(t, valid[len(valid)-1])
			if h := e.health(t); h.Rejected != uint64(i+1) {
				t.Fatalf("/healthz rejected %d after %d bad messages", h.Rejected, i+1)
			}
			prev := "null"
			if i > 0 {
				prev = fmt.Sprint(i - 1)
			}
			assertJSON(t, "ok's state", e.widgetState(t, "ok"), fmt.Sprintf(`{"value": %d, "prev": %s, "ts": %d}`, i, prev, i))
		})
	}

	// The browser saw exactly the valid updates, chained over the rejected seqs.
	evs := c.waitSeq(t, valid[len(valid)-1])
	checkChain(t, evs)
	okSeqs := map[uint64]string{}
	for _, s := range valid[1:] {
		okSeqs[s] = "ok"
	}
	checkLiveUpdates(t, seqs(evs[1:]), valid[1:], okSeqs, map[string]bool{"ok": true})
	for _, ev := range evs[1:] {
		if ev.ID != "ok" {
			t.Errorf("a rejected message produced %v", ev)
		}
	}
	// No widget created, no config changed.
	after := e.allWidgets(t)
	if len(after) != len(before) {
		t.Errorf("widgets after the corpus: %d, want the %d from before", len(after), len(before))
	}
	for _, id := range []string{"g", "tbl"} {
		if !jsonEqual(t, after[id].Config, before[id].Config) || !jsonEqual(t, after[id].State, before[id].State) {
			t.Errorf("widget %s changed: %s %s, was %s %s", id, after[id].Config, after[id].State, before[id].Config, before[id].State)
		}
	}
	for _, id := range []string{"newchart", "deepcfg", "pie", "notype", "w"} {
		var body map[string]string
		if code := getJSON(t, e.url("/api/widgets/"+id), &body); code != http.StatusNotFound {
			t.Errorf("a rejected message created widget %s (status %d)", id, code)
		}
	}
	if h := e.health(t); h.Rejected != uint64(len(corpus)) {
		t.Errorf("/healthz rejected %d, want exactly %d", h.Rejected, len(corpus))
	}
}

// With the default stream limits, a message over MaxMessageBytes is refused
// by the log at publish time: the publisher gets an error and nothing changes.
func TestOversizeMessageIsRefusedToItsPublisher(t *testing.T) {
	const maxBytes = 4096
	e := startEnv(t, Config{MaxMessageBytes: maxBytes})
	seq := e.publishAndWait(t, "sv.ok.data", `{"value": 1, "ts": 1}`)

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	big := `{"value": 2, "pad": "` + strings.Repeat("p", maxBytes) + `"}`
	if _, err := e.js.Publish(ctx, "sv.ok.data", []byte(big)); err == nil {
		t.Fatalf("publishing %d bytes with MaxMessageBytes %d was acknowledged", len(big), maxBytes)
	}
	next := e.publishAndWait(t, "sv.ok.data", `{"value": 3, "ts": 3}`)
	if next>>posShift != seq>>posShift+1 {
		t.Errorf("the oversize message was stored: next valid one at %d, want %d", next, pos(seq>>posShift+1, 0))
	}
	assertJSON(t, "state", e.widgetState(t, "ok"), `{"value": 3, "prev": 1, "ts": 3}`)
}

// A flood of bad updates cannot flood the server's log, however many
// distinct widgets, subjects or reply subjects it names: every refusal is
// counted, but at most rejectLogLines rejection lines a minute are written,
// then one line saying the rest are only counted. Before, the once-a-minute
// limit was per widget and reason (and per reply subject), so a publisher
// naming a new id in each message got one log line per message.
func TestAFloodOfDistinctBadUpdatesCannotFloodTheLog(t *testing.T) {
	const n = 3 * rejectLogLines
	logs := &logBuffer{}
	e := startEnv(t, Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	for i := range n {
		if err := e.nc.Publish(fmt.Sprintf("sv.bad.%d.data", i), []byte(`{"value": 1}`)); err != nil {
			t.Fatal(err)
		}
		if err := e.nc.Publish(fmt.Sprintf("sv.w%d.data", i), []byte(`{"value": "high"}`)); err != nil {
			t.Fatal(err)
		}
		msg := &nats.Msg{Subject: "sv.ok.data", Reply: fmt.Sprintf("sv.victim%d.data", i), Data: []byte(`{"value": 1}`)}
		if err := e.nc.PublishMsg(msg); err != nil {
			t.Fatal(err)
		}
	}
	e.waitRejected(t, 2*n)
	eventually(t, waitTimeout, func() bool { return e.metrics(t)["streamviz_ingest_refused_replies_total"] == n },
		"every refused reply subject counted")
	lines := strings.Count(logs.String(), "\n")
	if lines > rejectLogLines+10 {
		t.Errorf("%d refusals wrote %d log lines, want at most about %d:\n%.2000s", 3*n, lines, rejectLogLines, logs.String())
	}
	if !strings.Contains(logs.String(), "not logged") {
		t.Errorf("the log does not say that further refusals are only counted:\n%.2000s", logs.String())
	}
}
