package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cleanupTemp()
	os.Exit(code)
}

func TestPVClientScanRecordsLatencyAndGapsOfPathwayVizMessages(t *testing.T) {
	// The layouts are Python's json.dumps of what bench/py/pv_server.py sends.
	tests := []struct {
		name                      string
		msgs                      []string
		wantEvents, wantGaps, bad int64
		wantOther                 int64
		wantSynced                bool
		wantMin, wantMax          int64
	}{
		{
			name: "stat then chart, in order",
			msgs: []string{
				`{"type": "data", "widget": "s0", "value": 1000, "delta": 1000, "timestamp": 0}`,
				`{"type": "data", "widget": "c0", "value": 1500, "timestamp": 1}`,
			},
			wantEvents: 2, wantMin: 500, wantMax: 1000,
		},
		{
			name: "a skipped number is a gap",
			msgs: []string{
				`{"type": "data", "widget": "c0", "value": 1000, "timestamp": 0}`,
				`{"type": "data", "widget": "c1", "value": 1000, "timestamp": 2}`,
			},
			wantEvents: 2, wantGaps: 1, wantMin: 1000, wantMax: 1000,
		},
		{
			name:      "config and sync are not data",
			msgs:      []string{`{"type": "config", "widgets": {}}`, `{"type": "sync", "n": 0}`},
			wantOther: 2, wantSynced: true,
		},
		{
			name: "data without a numeric stamp is counted as unparsed",
			msgs: []string{`{"type": "data", "widget": "t", "op": "upsert", "key": "k", "row": {}}`},
			bad:  1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &pvClient{}
			c.last.Store(-1)
			for _, m := range tt.msgs {
				c.scan([]byte(m), 2000)
			}
			if got := c.events.Load(); got != tt.wantEvents {
				t.Errorf("events = %d, want %d", got, tt.wantEvents)
			}
			if c.gaps != tt.wantGaps || c.bad != tt.bad || c.other != tt.wantOther {
				t.Errorf("gaps, unparsed, other = %d, %d, %d; want %d, %d, %d", c.gaps, c.bad, c.other, tt.wantGaps, tt.bad, tt.wantOther)
			}
			if c.synced.Load() != tt.wantSynced {
				t.Errorf("synced = %v, want %v", c.synced.Load(), tt.wantSynced)
			}
			if tt.wantEvents > 0 {
				if got := c.hist.quantile(0); got != tt.wantMin {
					t.Errorf("min latency = %d µs, want %d", got, tt.wantMin)
				}
				if c.hist.max != tt.wantMax {
					t.Errorf("max latency = %d µs, want %d", c.hist.max, tt.wantMax)
				}
			}
		})
	}
}

// pvPythonOrSkip returns pathway-viz's venv Python, or skips the test when
// it is not installed (python bench/run.py creates it).
func pvPythonOrSkip(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts pathway-viz (imports Pathway: seconds)")
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	py := filepath.Join(root, "bench", ".venv-pv", "bin", "python")
	if _, err := os.Stat(py); err != nil {
		t.Skipf("pathway-viz venv not installed: %v", err)
	}
	return py
}

func TestPathwayVizDeliversEveryStampedUpdateToEveryClient(t *testing.T) {
	py := pvPythonOrSkip(t)
	s, err := startPathwayViz(py)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	res, err := runLivePV(s, liveConfig{clients: 3, rate: 200, duration: time.Second, stats: 1, charts: 1,
		sampleEvery: time.Second, drainTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f := res.fields
	if f["published"] != int64(200) || f["lost"] != int64(0) || f["gap_events"] != int64(0) || f["unparsed_events"] != int64(0) {
		t.Errorf("published %v, lost %v, gaps %v, unparsed %v; want 200 published and nothing lost, skipped or unparsed",
			f["published"], f["lost"], f["gap_events"], f["unparsed_events"])
	}
	if f["latency_samples"] != uint64(600) {
		t.Errorf("latency samples = %v, want one per delivery (600)", f["latency_samples"])
	}
}

func TestPathwayVizReplaysChartPointsButNoTableRows(t *testing.T) {
	py := pvPythonOrSkip(t)
	s, err := startPathwayViz(py)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	if err := retainPV(s, 3, 50, 20); err != nil {
		t.Fatal(err)
	}
	// replayOncePV fails unless the history holds exactly the 3 charts' 50
	// points each: a stored table would be a fourth widget.
	r, cfgWidgets, err := replayOncePV(s.HTTP, 3, 50)
	if err != nil {
		t.Fatal(err)
	}
	if cfgWidgets != 4 {
		t.Errorf("config replayed %d widgets, want 3 charts + 1 table", cfgWidgets)
	}
	if r.bytes == 0 || r.total < r.received || r.received < r.first {
		t.Errorf("times out of order or nothing received: %+v", r)
	}
}
