package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func rejectedFor(t *testing.T, e *testEnv, reason string) float64 {
	t.Helper()
	return e.metrics(t)[`streamviz_updates_rejected_total{reason="`+reason+`"}`]
}

// Finding 6 of issue 10: 200,000 distinct widget ids were all kept (RSS
// 22 MB → 577 MB, compaction failing every 30 s).
func TestWidgetsPastTheLimitAreRefusedAndCounted(t *testing.T) {
	e := startEnv(t, Config{Limits: Limits{MaxWidgets: 5}})
	for i := range 5 {
		e.publish(t, fmt.Sprintf("sv.w%d.data", i), `{"value": 1}`)
	}
	for _, m := range []struct{ subject, payload string }{
		{"sv.extra1.data", `{"value": 1}`},
		{"sv.extra2.config", `{"type": "stat"}`},
		{"sv.extra3.data", `{"key": "k", "row": {"a": 1}}`},
	} {
		e.publishRefused(t, m.subject, m.payload, "widget limit reached")
	}
	// Widgets that exist still take data and configs.
	e.publish(t, "sv.w0.config", `{"type": "stat", "title": "still configurable"}`)
	e.publishAndWait(t, "sv.w0.data", `{"value": 2}`)
	if h := e.health(t); h.Widgets != 5 || h.Rejected != 3 {
		t.Fatalf("/healthz widgets %d rejected %d, want 5 and 3", h.Widgets, h.Rejected)
	}
	if code, _, _ := get(t, e.url("/api/widgets/extra2")); code != http.StatusNotFound {
		t.Fatalf("a widget past the limit exists: %d", code)
	}
	var w0 struct{ Value, Prev float64 }
	if err := json.Unmarshal(e.widgetState(t, "w0"), &w0); err != nil || w0.Value != 2 || w0.Prev != 1 {
		t.Fatalf("w0 state %+v (%v), want value 2 after 1", w0, err)
	}
	if got := rejectedFor(t, e, "widget limit reached"); got != 3 {
		t.Fatalf(`rejected{reason="widget limit reached"} = %v, want 3`, got)
	}
}

// A dashboard at --max-widgets looked whole while every new widget a
// publisher sent was refused: /healthz said only "rejected", which every
// reason counts. It names the limit and the updates it refused, for the
// page's banner and for an operator's probe; updates to widgets that exist
// are not counted there.
func TestHealthzNamesTheWidgetLimitAndTheUpdatesItRefused(t *testing.T) {
	e := startEnv(t, Config{Limits: Limits{MaxWidgets: 2}})
	e.publish(t, "sv.a.data", `{"value": 1}`)
	e.publishAndWait(t, "sv.b.config", `{"type": "table"}`)
	if h := e.health(t); h.Limit == nil || *h.Limit != (WidgetLimitStatus{Max: 2}) {
		t.Fatalf("/healthz widget_limit %+v below the limit, want max 2 and nothing refused", h.Limit)
	}
	for i, m := range []struct{ subject, payload string }{
		{"sv.new1.data", `{"value": 1}`},
		{"sv.new2.config", `{"type": "chart"}`},
		{"sv.new3.data", `{"key": "k", "row": {"a": 1}}`},
		{"sv.new1.data", `{"value": 2}`}, // the same refused id again counts again
	} {
		e.publishRefused(t, m.subject, m.payload, "widget limit reached")
		e.publishAndWait(t, "sv.a.data", fmt.Sprintf(`{"value": %d}`, i+2))
		if h := e.health(t); h.Limit == nil || *h.Limit != (WidgetLimitStatus{Max: 2, Refused: uint64(i + 1)}) {
			t.Fatalf("after %s: /healthz widget_limit %+v, want max 2, refused %d", m.subject, h.Limit, i+1)
		}
	}
}

// Finding 13 of issue 10: 100,000 series on one chart made the page
// unresponsive for 22 s (Chromium at 3 GB).
func TestChartSeriesPastTheLimitAreRefusedAndCounted(t *testing.T) {
	e := startEnv(t, Config{Limits: Limits{MaxSeries: 3}})
	for _, s := range []string{"a", "b", "c"} {
		e.publish(t, "sv.c.data", fmt.Sprintf(`{"series": %q, "x": 1, "y": 1}`, s))
	}
	e.publishRefused(t, "sv.c.data", `{"series": "d", "x": 1, "y": 1}`, "series limit reached")
	e.publishAndWait(t, "sv.c.data", `{"series": "a", "x": 2, "y": 2}`)
	var st struct {
		Series map[string]json.RawMessage `json:"series"`
	}
	if err := json.Unmarshal(e.widgetState(t, "c"), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Series) != 3 || st.Series["d"] != nil {
		t.Fatalf("series %v, want a, b, c", st.Series)
	}
	if got := rejectedFor(t, e, "series limit reached"); got != 1 {
		t.Fatalf(`rejected{reason="series limit reached"} = %v, want 1`, got)
	}
}

// Finding 7 of issue 10: 1,332 rows of about 1 MB took the server to 9.1
// GB and SV_SNAP to 1.37 GB.
func TestTableRowsPastTheByteLimitAreLeftOutAndCounted(t *testing.T) {
	const limit = 40 << 10
	e := startEnv(t, Config{Limits: Limits{MaxWidgetBytes: limit, MaxStateBytes: 100 << 10}})
	row := func(n int) string { return fmt.Sprintf(`{"pad": %q}`, strings.Repeat("p", n)) }
	e.publish(t, "sv.t.config", `{"type": "table"}`)
	for i := range 60 { // 60 rows of 1 KiB: about 38 fit in 40 KiB
		e.publish(t, "sv.t.data", fmt.Sprintf(`{"key": "k%02d", "row": %s}`, i, row(1000)))
	}
	e.publishAndWait(t, "sv.t.data", `{"key": "k00", "row": {"pad": "small"}}`)
	var st struct {
		Rows map[string]json.RawMessage `json:"rows"`
	}
	if err := json.Unmarshal(e.widgetState(t, "t"), &st); err != nil {
		t.Fatal(err)
	}
	kept := len(st.Rows)
	left := rejectedFor(t, e, "widget byte limit reached")
	if kept < 30 || kept >= 60 || int(left) != 60-kept {
		t.Fatalf("%d rows kept, %v counted as left out; want some of 60 kept and the rest counted", kept, left)
	}
	if string(st.Rows["k00"]) != `{"pad":"small"}` {
		t.Fatalf("a shrinking update of a live row was not applied: %s", st.Rows["k00"])
	}
	// Growing a live row past the limit is left out too; the old row stays.
	e.publishAndWait(t, "sv.t.data", fmt.Sprintf(`{"key": "k01", "row": %s}`, row(20000)))
	if err := json.Unmarshal(e.widgetState(t, "t"), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Rows["k01"]) > 2000 || rejectedFor(t, e, "widget byte limit reached") != left+1 {
		t.Fatalf("a live row grown past the limit: %d bytes, left out %v (was %v)", len(st.Rows["k01"]), rejectedFor(t, e, "widget byte limit reached"), left)
	}

	// The total: a second and third table share what is left of 100 KiB.
	for _, id := range []string{"u", "v"} {
		for i := range 40 {
			e.publish(t, "sv."+id+".data", fmt.Sprintf(`{"key": "k%02d", "row": %s}`, i, row(1000)))
		}
	}
	e.publishAndWait(t, "sv.v.data", `{"key": "last", "row": {}}`)
	if got := rejectedFor(t, e, "state byte limit reached"); got == 0 {
		t.Fatal("three tables past the total limit: nothing counted as state byte limit reached")
	}
	if got := e.g.state.stateTotal(); got > 100<<10 || float64(got) != e.metrics(t)["streamviz_state_bytes"] {
		t.Fatalf("state costs %d bytes (/metrics says %v), want at most the total limit %d", got, e.metrics(t)["streamviz_state_bytes"], 100<<10)
	}
}

// A chart's points past the byte limit are refused whole; its series and
// points below the limit stay.
func TestChartPointsPastTheByteLimitAreRefused(t *testing.T) {
	e := startEnv(t, Config{Limits: Limits{MaxWidgetBytes: 8 << 10}})
	e.publish(t, "sv.c.config", `{"type": "chart", "max_points": 100000}`)
	var pts []string
	for i := range 200 {
		pts = append(pts, fmt.Sprintf("[%d, 1]", i))
	}
	batch := `{"points": [` + strings.Join(pts, ",") + `]}`
	for range 3 {
		// Stored either way; the publisher is told when it is refused.
		if _, err := e.publishInput(t, "sv.c.data", batch); err != nil && !strings.Contains(err.Error(), "widget byte limit reached") {
			t.Fatalf("a batch of points: %v", err)
		}
	}
	e.publishAndWait(t, "sv.c.data", `{"x": 1000, "y": 1}`)
	if got := rejectedFor(t, e, "widget byte limit reached"); got < 1 {
		t.Fatalf(`rejected{reason="widget byte limit reached"} = %v, want the batches past 8 KiB refused`, got)
	}
	if got := e.g.state.widgetBytes("c"); got > 8<<10 {
		t.Fatalf("chart costs %d bytes, over its limit", got)
	}
}
