package gateway

import (
	"fmt"
	"testing"
)

// A series of one point in a chart of max_points 100,000 reserved an array
// of 200,000 points (4.8 MB) that the state byte limits, which count the
// points held, never saw: 100 such series took 480 MB while
// streamviz_state_bytes said 60 KB (found by the soak of a dashboard left
// running). A series now holds at most about twice the points it keeps,
// however it was fed, so the byte limits bound the memory.
func TestAChartSeriesReservesMemoryForThePointsItHoldsNotForItsMaxPoints(t *testing.T) {
	const maxPoints = 100000
	for _, c := range []struct {
		name    string
		publish func(e *testEnv, i int) uint64 // the i-th point of the series
		points  int
	}{
		{"one JSON point", func(e *testEnv, i int) uint64 {
			return e.publish(t, "sv.c.data", fmt.Sprintf(`{"series": "s", "x": %d, "y": 1}`, i))
		}, 1},
		{"JSON points one at a time", func(e *testEnv, i int) uint64 {
			return e.publish(t, "sv.c.data", fmt.Sprintf(`{"series": "s", "x": %d, "y": 1}`, i))
		}, 100},
		{"a columnar point", func(e *testEnv, i int) uint64 {
			return publishTo(t, e.js, "sv.c.data", columnsMsg(`{"n": 1, "series": "s"}`, f64s(float64(i), 1)))
		}, 1},
		{"columnar points one at a time", func(e *testEnv, i int) uint64 {
			return publishTo(t, e.js, "sv.c.data", columnsMsg(`{"n": 1, "series": "s"}`, f64s(float64(i), 1)))
		}, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := startEnv(t, Config{})
			e.publish(t, "sv.c.config", fmt.Sprintf(`{"type": "chart", "max_points": %d}`, maxPoints))
			var last uint64
			for i := range c.points {
				last = c.publish(e, i)
			}
			e.waitSeq(t, last)
			e.g.state.mu.Lock()
			pts := e.g.state.widgets["c"].series["s"]
			e.g.state.mu.Unlock()
			if len(pts) != c.points || cap(pts) > max(2*c.points, 8) {
				t.Fatalf("series of %d points (want %d) holds an array of %d", len(pts), c.points, cap(pts))
			}
		})
	}
}
