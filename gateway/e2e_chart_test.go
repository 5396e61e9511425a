package gateway

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// pointsJSON renders [[x, y], ...] for x in [from, to] with y = 10*x.
func pointsJSON(from, to int) string {
	var b strings.Builder
	b.WriteByte('[')
	for x := from; x <= to; x++ {
		if x > from {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%d,%d]", x, 10*x)
	}
	b.WriteByte(']')
	return b.String()
}

// Each chart series keeps only its last max_points points; a config without
// max_points (or no config at all) gets Config.History.
func TestChartKeepsExactlyTheLastMaxPoints(t *testing.T) {
	const history = 7
	e := startEnv(t, Config{History: history})
	tests := []struct {
		name          string
		config        string // "" publishes no config
		batch         bool
		n             int
		wantMaxPoints int
	}{
		{"max_points 5, 50 single points", `{"type": "chart", "max_points": 5}`, false, 50, 5},
		{"max_points 5, one batch of 50", `{"type": "chart", "max_points": 5}`, true, 50, 5},
		{"config without max_points gets History", `{"type": "chart"}`, false, 20, history},
		{"chart implied by data gets History", "", true, 20, history},
		{"fewer points than the bound are all kept", `{"type": "chart", "max_points": 100}`, false, 9, 100},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("chart%d", i)
			if tt.config != "" {
				e.publish(t, "sv."+id+".config", tt.config)
			}
			var last uint64
			if tt.batch {
				last = e.publish(t, "sv."+id+".data", `{"points": `+pointsJSON(1, tt.n)+`}`)
			} else {
				for x := 1; x <= tt.n; x++ {
					last = e.publish(t, "sv."+id+".data", fmt.Sprintf(`{"x": %d, "y": %d}`, x, 10*x))
				}
			}
			e.waitSeq(t, last)
			w := e.widget(t, id)
			var cfg struct {
				MaxPoints int `json:"max_points"`
			}
			if err := json.Unmarshal(w.Config, &cfg); err != nil || cfg.MaxPoints != tt.wantMaxPoints {
				t.Errorf("config %s: max_points %d, want %d", w.Config, cfg.MaxPoints, tt.wantMaxPoints)
			}
			keep := min(tt.n, tt.wantMaxPoints)
			assertJSON(t, "state", w.State, `{"points": `+pointsJSON(tt.n-keep+1, tt.n)+`}`)
		})
	}
}

// Upsert mode replaces the point with the same x (or inserts it in x order),
// remove drops points by x before new points apply, a named series that loses
// its last point disappears, and a smaller max_points trims the chart.
func TestChartUpsertReplacesSameXAndRemoveDeletesIt(t *testing.T) {
	e := startEnv(t, Config{})
	e.publishAndWait(t, "sv.ch.config", `{"type": "chart"}`)
	c := e.dial(t)
	c.first(t, "snapshot")
	steps := []struct {
		name, payload, wantData, wantState string
	}{
		{"append",
			`{"points": [[1, 10], [2, 20], [3, 30]]}`,
			`{"series": "", "points": [[1, 10], [2, 20], [3, 30]], "mode": "append"}`,
			`{"points": [[1, 10], [2, 20], [3, 30]]}`},
		{"upsert replaces the same x",
			`{"x": 2, "y": 99, "mode": "upsert"}`,
			`{"series": "", "points": [[2, 99]], "mode": "upsert"}`,
			`{"points": [[1, 10], [2, 99], [3, 30]]}`},
		{"upsert inserts new x in order",
			`{"points": [[2.5, 5], [0, 1], [4, null]], "mode": "upsert"}`,
			`{"series": "", "points": [[2.5, 5], [0, 1], [4, null]], "mode": "upsert"}`,
			`{"points": [[0, 1], [1, 10], [2, 99], [2.5, 5], [3, 30], [4, null]]}`},
		{"remove drops points by x",
			`{"remove": [1, 3]}`,
			`{"series": "", "points": [], "mode": "append", "remove": [1, 3]}`,
			`{"points": [[0, 1], [2, 99], [2.5, 5], [4, null]]}`},
		{"remove applies before points",
			`{"remove": [4], "points": [[4, 44]], "mode": "upsert"}`,
			`{"series": "", "points": [[4, 44]], "mode": "upsert", "remove": [4]}`,
			`{"points": [[0, 1], [2, 99], [2.5, 5], [4, 44]]}`},
		{"named series",
			`{"series": "p99", "points": [[1, 1], [2, 2]]}`,
			`{"series": "p99", "points": [[1, 1], [2, 2]], "mode": "append"}`,
			`{"points": [[0, 1], [2, 99], [2.5, 5], [4, 44]], "series": {"p99": [[1, 1], [2, 2]]}}`},
		{"upsert in a named series leaves the default alone",
			`{"series": "p99", "x": 2, "y": 3, "mode": "upsert"}`,
			`{"series": "p99", "points": [[2, 3]], "mode": "upsert"}`,
			`{"points": [[0, 1], [2, 99], [2.5, 5], [4, 44]], "series": {"p99": [[1, 1], [2, 3]]}}`},
		{"named series emptied by remove disappears",
			`{"series": "p99", "remove": [1, 2]}`,
			`{"series": "p99", "points": [], "mode": "append", "remove": [1, 2]}`,
			`{"points": [[0, 1], [2, 99], [2.5, 5], [4, 44]]}`},
	}
	last := c.waitEvents(t, 1)[0].Seq
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			seq := e.publish(t, "sv.ch.data", st.payload)
			evs := c.waitSeq(t, seq)
			ev := evs[len(evs)-1]
			if ev.Type != "data" || ev.Seq != seq || ev.Prev != last {
				t.Fatalf("event %v, want data at %d after %d", ev, seq, last)
			}
			last = seq
			assertJSON(t, "data event", ev.Data, st.wantData)
			assertJSON(t, "state", e.widgetState(t, "ch"), st.wantState)
		})
	}

	// A smaller max_points trims, and the config event carries the trimmed state.
	seq := e.publish(t, "sv.ch.config", `{"type": "chart", "max_points": 2}`)
	evs := c.waitSeq(t, seq)
	ev := evs[len(evs)-1]
	if ev.Type != "config" || ev.ID != "ch" {
		t.Fatalf("event %v, want a config event for ch", ev)
	}
	want := `{"points": [[2.5, 5], [4, 44]]}`
	assertJSON(t, "state in the config event", ev.State, want)
	assertJSON(t, "state after trimming", e.widgetState(t, "ch"), want)
}
