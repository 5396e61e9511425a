package gateway

import "testing"

// Data for a widget nobody configured creates it with the type its shape
// implies and its id as title; browsers get it as a config event with state.
func TestDataWithoutConfigCreatesWidgetOfImpliedType(t *testing.T) {
	e := startEnv(t, Config{History: 50})
	c := e.dial(t)
	c.first(t, "snapshot")
	tests := []struct {
		id, payload, wantConfig, wantState string
	}{
		{"auto-stat", `{"value": 3, "ts": 9}`,
			`{"id": "auto-stat", "type": "stat", "title": "auto-stat", "dashboard": "", "order": 0, "unit": "", "format": null, "color": null, "delta": true}`,
			`{"value": 3, "prev": null, "ts": 9}`},
		{"auto_point", `{"x": 1, "y": 2}`,
			`{"id": "auto_point", "type": "chart", "title": "auto_point", "dashboard": "", "order": 0, "unit": "", "format": null, "color": null, "chart_type": "line", "max_points": 50, "x_type": "number", "label": null}`,
			`{"points": [[1, 2]]}`},
		{"autoPoints", `{"points": [[1, 2], [2, 3]], "series": "s"}`,
			`{"id": "autoPoints", "type": "chart", "title": "autoPoints", "dashboard": "", "order": 0, "unit": "", "format": null, "color": null, "chart_type": "line", "max_points": 50, "x_type": "number", "label": null}`,
			`{"points": [], "series": {"s": [[1, 2], [2, 3]]}}`},
		{"auto-row", `{"key": 1, "row": {"a": 1}}`,
			`{"id": "auto-row", "type": "table", "title": "auto-row", "dashboard": "", "order": 0, "columns": null, "column_labels": {}, "column_format": {}, "max_rows": 100, "sort_by": null, "sort_desc": true}`,
			`{"rows": {"1": {"a": 1}}}`},
		{"auto-ops", `{"ops": [{"key": "k", "row": {"b": 2}}]}`,
			`{"id": "auto-ops", "type": "table", "title": "auto-ops", "dashboard": "", "order": 0, "columns": null, "column_labels": {}, "column_format": {}, "max_rows": 100, "sort_by": null, "sort_desc": true}`,
			`{"rows": {"k": {"b": 2}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			n := len(c.waitEvents(t, 1))
			seq := e.publish(t, "sv."+tt.id+".data", tt.payload)
			evs := c.waitSeq(t, seq)
			ev := evs[len(evs)-1]
			if len(evs) != n+1 || ev.Type != "config" || ev.ID != tt.id || ev.Seq != seq {
				t.Fatalf("got %v, want one config event for %s at %d", evs[n:], tt.id, seq)
			}
			assertJSON(t, "config event config", ev.Config, tt.wantConfig)
			assertJSON(t, "config event state", ev.State, tt.wantState)
			w := e.widget(t, tt.id)
			assertJSON(t, "api config", w.Config, tt.wantConfig)
			assertJSON(t, "api state", w.State, tt.wantState)
		})
	}
	checkChain(t, c.waitEvents(t, 1+len(tests)))
}

// A config of another type resets the widget's state; the same type keeps it.
func TestConfigOfAnotherTypeResetsStateAndSameTypeKeepsIt(t *testing.T) {
	e := startEnv(t, Config{})
	e.publish(t, "sv.w.data", `{"value": 5, "ts": 1}`)
	e.publishAndWait(t, "sv.w.config", `{"type": "stat", "title": "Kept"}`)
	assertJSON(t, "state after a same-type config", e.widgetState(t, "w"), `{"value": 5, "prev": null, "ts": 1}`)
	e.publishAndWait(t, "sv.w.config", `{"type": "gauge", "title": "Reset"}`)
	w := e.widget(t, "w")
	assertJSON(t, "state after a new type", w.State, `{"value": null, "prev": null, "ts": null}`)
	assertJSON(t, "config after a new type", w.Config,
		`{"id": "w", "type": "gauge", "title": "Reset", "dashboard": "", "order": 0, "unit": "", "format": null, "color": null, "min": 0, "max": 100, "thresholds": []}`)
	e.publishAndWait(t, "sv.w.config", `{"type": "table"}`)
	assertJSON(t, "state after becoming a table", e.widgetState(t, "w"), `{"rows": {}}`)
}

// Two pipelines, each with its own NATS connection, publishing to the same
// bus feed one dashboard.
func TestSecondPipelineConnectionAddsWidgetsToTheSameDashboard(t *testing.T) {
	e := startEnv(t, Config{})
	_, js2 := connectPublisher(t, e.b.ClientURL(), "pipeline-2")
	c := e.dial(t)
	c.first(t, "snapshot")

	a := e.publish(t, "sv.orders.config", `{"type": "stat", "title": "Orders"}`)
	b := publishTo(t, js2, "sv.latency.config", []byte(`{"type": "chart", "title": "Latency"}`))
	a2 := e.publish(t, "sv.orders.data", `{"value": 10, "ts": 1}`)
	b2 := publishTo(t, js2, "sv.latency.data", []byte(`{"x": 1, "y": 7}`))
	b3 := publishTo(t, js2, "sv.errors.data", []byte(`{"value": 2, "ts": 2}`))
	last := max(a, b, a2, b2, b3)
	evs := c.waitSeq(t, last)
	checkChain(t, evs)
	if len(evs) != 6 {
		t.Fatalf("events %v, want the snapshot and 5 events", evs)
	}
	ids := map[string]bool{}
	for _, ev := range evs[1:] {
		ids[ev.ID] = true
	}
	if len(ids) != 3 || !ids["orders"] || !ids["latency"] || !ids["errors"] {
		t.Errorf("events cover widgets %v, want orders, latency and errors", ids)
	}
	all := e.allWidgets(t)
	assertJSON(t, "orders", all["orders"].State, `{"value": 10, "prev": null, "ts": 1}`)
	assertJSON(t, "latency", all["latency"].State, `{"points": [[1, 7]]}`)
	assertJSON(t, "errors", all["errors"].State, `{"value": 2, "prev": null, "ts": 2}`)
	if len(all) != 3 {
		t.Errorf("/api/widgets has %d widgets, want 3", len(all))
	}
	snap := e.dial(t).first(t, "snapshot")
	if len(snap.Widgets) != 3 || snap.Seq != last {
		t.Errorf("a new browser's snapshot has %d widgets at seq %d, want 3 at %d", len(snap.Widgets), snap.Seq, last)
	}
}
