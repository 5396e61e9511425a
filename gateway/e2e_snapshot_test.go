package gateway

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// fixture is a dashboard with one widget of each type, described by the
// documented subjects and JSON, and the exact normalized config and state
// the gateway must hold once all of it is applied.
type fixture struct {
	lastSeq uint64
	title   string
	configs map[string]string // id -> normalized config
	states  map[string]string // id -> state
}

// publishFixture publishes the fixture and waits until the gateway applied it.
func publishFixture(t *testing.T, e *testEnv) fixture {
	t.Helper()
	msgs := []struct{ subject, payload string }{
		{"sv.$dashboard.config", `{"title": "Order Analytics"}`},
		{"sv.revenue.config", `{"type": "stat", "title": "Revenue", "unit": "$", "format": ",.0f", "order": 1}`},
		{"sv.revenue.data", `{"value": 40.1, "ts": 1732713600000}`},
		{"sv.revenue.data", `{"value": 42.5, "ts": "2026-11-27T10:00:00Z"}`},
		{"sv.cpu.config", `{"type": "gauge", "title": "CPU", "min": 0, "max": 200, "unit": "%", "thresholds": [[50, "green"], [150, "red"]]}`},
		{"sv.cpu.data", `{"value": 73, "ts": 1000}`},
		{"sv.latency.config", `{"type": "chart", "title": "Latency", "unit": "ms", "chart_type": "area", "max_points": 100}`},
		{"sv.latency.data", `{"x": "2026-11-27T10:00:00Z", "y": 1.5}`},
		{"sv.latency.data", `{"x": "2026-11-27T10:00:01.250+01:00", "y": 2}`},
		{"sv.latency.data", `{"series": "p99", "points": [[1732713600000, 9.5], ["2026-11-27T10:00:02Z", null]]}`},
		{"sv.regions.config", `{"type": "table", "title": "Regions", "columns": ["region", "revenue"], "sort_by": "revenue", "dashboard": "sales"}`},
		{"sv.regions.data", `{"key": "eu", "row": {"region": "eu", "revenue": 10}}`},
		{"sv.regions.data", `{"ops": [{"key": "us", "row": {"region": "us", "revenue": 20}}, {"key": "eu", "row": {"region": "eu", "revenue": 11}}]}`},
	}
	var last uint64
	for _, m := range msgs {
		last = e.publish(t, m.subject, m.payload)
	}
	e.waitSeq(t, last)
	return fixture{
		lastSeq: last,
		title:   "Order Analytics",
		configs: map[string]string{
			"revenue": `{"id": "revenue", "type": "stat", "title": "Revenue", "dashboard": "", "order": 1,
				"unit": "$", "format": ",.0f", "color": null, "delta": true}`,
			"cpu": `{"id": "cpu", "type": "gauge", "title": "CPU", "dashboard": "", "order": 0,
				"unit": "%", "format": null, "color": null, "min": 0, "max": 200, "thresholds": [[50, "green"], [150, "red"]]}`,
			"latency": `{"id": "latency", "type": "chart", "title": "Latency", "dashboard": "", "order": 0,
				"unit": "ms", "format": null, "color": null, "chart_type": "area", "max_points": 100, "x_type": "number", "label": null}`,
			"regions": `{"id": "regions", "type": "table", "title": "Regions", "dashboard": "sales", "order": 0,
				"columns": ["region", "revenue"], "column_labels": {}, "column_format": {}, "max_rows": 100,
				"sort_by": "revenue", "sort_desc": true}`,
		},
		states: map[string]string{
			"revenue": fmt.Sprintf(`{"value": 42.5, "prev": 40.1, "ts": %d}`, isoMS(t, "2026-11-27T10:00:00Z")),
			"cpu":     `{"value": 73, "prev": null, "ts": 1000}`,
			"latency": fmt.Sprintf(`{"points": [[%d, 1.5], [%d, 2]], "series": {"p99": [[1732713600000, 9.5], [%d, null]]}}`,
				isoMS(t, "2026-11-27T10:00:00Z"), isoMS(t, "2026-11-27T09:00:01.250Z"), isoMS(t, "2026-11-27T10:00:02Z")),
			"regions": `{"rows": {"eu": {"region": "eu", "revenue": 11}, "us": {"region": "us", "revenue": 20}}}`,
		},
	}
}

// assertFixtureSnapshot checks a snapshot event holds exactly the fixture.
func assertFixtureSnapshot(t *testing.T, snap wsEvent, fx fixture) {
	t.Helper()
	if snap.Title != fx.title {
		t.Errorf("snapshot title %q, want %q", snap.Title, fx.title)
	}
	var ids []string
	for _, w := range snap.Widgets {
		ids = append(ids, w.ID)
		want, ok := fx.configs[w.ID]
		if !ok {
			t.Errorf("snapshot has unexpected widget %q", w.ID)
			continue
		}
		assertJSON(t, "config of "+w.ID, w.Config, want)
		assertJSON(t, "state of "+w.ID, w.State, fx.states[w.ID])
	}
	if len(ids) != len(fx.configs) {
		t.Errorf("snapshot widgets %v, want the %d of the fixture", ids, len(fx.configs))
	}
}

// A browser that connects after config and data were published gets, as its
// first message, a snapshot with every widget's normalized config and exact
// state; what is published afterwards follows as data events without gap.
func TestFirstConnectGetsSnapshotOfEveryWidgetThenLiveEventsWithoutGap(t *testing.T) {
	e := startEnv(t, Config{})
	fx := publishFixture(t, e)
	epoch := e.health(t).Epoch

	c := e.dial(t)
	snap := c.first(t, "snapshot")
	if snap.frame != 0 || snap.Reset || snap.Epoch != epoch || snap.Seq != fx.lastSeq {
		t.Fatalf("first event %v (frame %d, epoch %q): want a non-reset snapshot in the first message at epoch %q seq %d",
			snap, snap.frame, snap.Epoch, epoch, fx.lastSeq)
	}
	assertFixtureSnapshot(t, snap, fx)

	s1 := e.publish(t, "sv.revenue.data", `{"value": 43, "ts": 5}`)
	s2 := e.publish(t, "sv.latency.data", `{"x": 1732713605000, "y": 3}`)
	evs := c.waitSeq(t, s2)
	checkChain(t, evs)
	if len(evs) != 3 {
		t.Fatalf("events %v: want the snapshot and two data events", evs)
	}
	want := []struct {
		seq, prev uint64
		id, data  string
	}{
		{s1, snap.Seq, "revenue", `{"value": 43, "ts": 5, "prev": 42.5}`},
		{s2, s1, "latency", `{"series": "", "points": [[1732713605000, 3]], "mode": "append"}`},
	}
	for i, w := range want {
		ev := evs[i+1]
		if ev.Type != "data" || ev.Seq != w.seq || ev.Prev != w.prev || ev.ID != w.id {
			t.Errorf("event %d is %v, want data(seq=%d prev=%d id=%s)", i+1, ev, w.seq, w.prev, w.id)
		}
		assertJSON(t, fmt.Sprintf("data of event %d", i+1), ev.Data, w.data)
	}
	assertJSON(t, "revenue state after the live update", e.widgetState(t, "revenue"),
		`{"value": 43, "prev": 42.5, "ts": 5}`)
}

// Embed mode (?widget=) gets a snapshot of that widget alone and only its events.
func TestEmbedModeSnapshotAndEventsCoverOnlyThatWidget(t *testing.T) {
	e := startEnv(t, Config{})
	fx := publishFixture(t, e)

	c := e.dial(t, "widget", "cpu")
	snap := c.first(t, "snapshot")
	if len(snap.Widgets) != 1 || snap.Widgets[0].ID != "cpu" {
		t.Fatalf("embed snapshot widgets %+v, want only cpu", snap.Widgets)
	}
	assertJSON(t, "cpu config", snap.Widgets[0].Config, fx.configs["cpu"])
	assertJSON(t, "cpu state", snap.Widgets[0].State, fx.states["cpu"])

	e.publish(t, "sv.revenue.data", `{"value": 1}`)
	s := e.publish(t, "sv.cpu.data", `{"value": 99, "ts": 7}`)
	e.publish(t, "sv.latency.data", `{"x": 1, "y": 1}`)
	last := e.publish(t, "sv.cpu.data", `{"value": 100, "ts": 8}`)
	evs := c.waitSeq(t, last)
	var got []uint64
	for _, ev := range evs[1:] {
		if ev.ID != "cpu" {
			t.Errorf("embed client for cpu got %v", ev)
		}
		got = append(got, ev.Seq)
	}
	if fmt.Sprint(got) != fmt.Sprint([]uint64{s, last}) {
		t.Errorf("embed client seqs %v, want %v", got, []uint64{s, last})
	}
}

// The snapshot lists widgets by order, then id (docs/protocol.md §1.2).
func TestSnapshotListsWidgetsByOrderThenID(t *testing.T) {
	e := startEnv(t, Config{})
	var last uint64
	for _, m := range []struct{ id, order string }{{"b", "0"}, {"a", "2"}, {"c", "-1"}, {"d", "0"}} {
		last = e.publish(t, "sv."+m.id+".config", `{"type": "stat", "order": `+m.order+`}`)
	}
	e.waitSeq(t, last)
	snap := e.dial(t).first(t, "snapshot")
	var ids []string
	for _, w := range snap.Widgets {
		ids = append(ids, w.ID)
	}
	if fmt.Sprint(ids) != "[c b d a]" {
		t.Errorf("snapshot widget order %v, want [c b d a]", ids)
	}
	var list []struct {
		ID string `json:"id"`
	}
	getJSON(t, e.url("/api/widgets"), &list)
	apiIDs := make([]string, 0, len(list))
	for _, w := range list {
		apiIDs = append(apiIDs, w.ID)
	}
	if fmt.Sprint(apiIDs) != "[c b d a]" {
		t.Errorf("/api/widgets order %v, want [c b d a]", apiIDs)
	}
}

// A dashboard title published while browsers are connected arrives as a
// title event in the sequence; later browsers get it in the snapshot.
func TestDashboardTitleArrivesAsTitleEventAndInLaterSnapshots(t *testing.T) {
	e := startEnv(t, Config{})
	c := e.dial(t)
	snap := c.first(t, "snapshot")
	if snap.Title != "" {
		t.Errorf("title before any dashboard config: %q, want empty", snap.Title)
	}
	s := e.publish(t, "sv.$dashboard.config", `{"title": "Ops <live>"}`)
	evs := c.waitSeq(t, s)
	checkChain(t, evs)
	if ev := evs[len(evs)-1]; ev.Type != "title" || ev.Title != "Ops <live>" || ev.Seq != s {
		t.Fatalf("event %v title %q, want a title event at %d", ev, ev.Title, s)
	}
	if got := e.dial(t).first(t, "snapshot").Title; got != "Ops <live>" {
		t.Errorf("later snapshot title %q", got)
	}
	// An embed page shows one widget and gets no title events.
	emb := e.dial(t, "widget", "w")
	emb.first(t, "snapshot")
	e.publish(t, "sv.$dashboard.config", `{"title": "Other"}`)
	w := e.publish(t, "sv.w.data", `{"value": 1}`)
	evs = emb.waitSeq(t, w)
	for _, ev := range evs[1:] {
		if ev.ID != "w" {
			t.Errorf("embed client for w got %v", ev)
		}
	}
}

// A value without ts is stamped with the time the bus stored it.
func TestValueWithoutTsIsStampedWithArrivalTime(t *testing.T) {
	e := startEnv(t, Config{})
	before := time.Now().UnixMilli()
	e.publishAndWait(t, "sv.v.data", `{"value": 1}`)
	after := time.Now().UnixMilli()
	var st struct {
		TS float64 `json:"ts"`
	}
	if err := json.Unmarshal(e.widgetState(t, "v"), &st); err != nil {
		t.Fatal(err)
	}
	if int64(st.TS) < before-1 || int64(st.TS) > after+1 {
		t.Errorf("ts %v, want between %d and %d", st.TS, before, after)
	}
}

// A stat or gauge value sent without ts is stamped with its arrival: the
// time the log stored it, which is what applying the log again after a crash
// reads, so the widget is the same after the restart as before, and a client
// that resumes across it holds what /api/widgets says. Before, the live
// server stamped the time it validated the update, a little earlier than
// the stored time the restart used: every such value's ts moved by tens of
// microseconds across a crash.
func TestAValueStampedOnArrivalIsTheSameAfterACrash(t *testing.T) {
	e := startEnv(t, noAutoCompaction)
	c := e.dial(t)
	c.first(t, "snapshot")
	last := e.publish(t, "sv.v.data", `{"value": 1}`)
	last = max(last, e.publish(t, "sv.g.config", `{"type": "gauge"}`))
	last = max(last, e.publish(t, "sv.g.data", `{"value": 2}`))
	e.waitSeq(t, last)
	evs := c.waitSeq(t, last)
	live := map[string]json.RawMessage{}
	for _, ev := range evs[1:] {
		if ev.Type == "data" {
			live[ev.ID] = ev.Data
		} else if ev.Type == "config" {
			var s struct {
				Value *float64 `json:"value"`
			}
			if json.Unmarshal(ev.State, &s) == nil && s.Value != nil {
				live[ev.ID] = ev.State
			}
		}
	}
	before := map[string]json.RawMessage{"v": e.widgetState(t, "v"), "g": e.widgetState(t, "g")}
	e.crash(t)
	e2 := startEnvAt(t, e.dir, e.cfg)
	for id, b := range before {
		assertJSON(t, "the state of "+id+" after the crash", e2.widgetState(t, id), string(b))
		var sent, held struct {
			TS float64 `json:"ts"`
		}
		if json.Unmarshal(live[id], &sent) != nil || json.Unmarshal(b, &held) != nil || sent.TS != held.TS {
			t.Errorf("%s: the live event carried %s, the state holds %s: want the same ts", id, live[id], b)
		}
	}
}
