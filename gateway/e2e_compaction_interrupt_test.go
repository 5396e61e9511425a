package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/streamviz/streamviz/broker"
)

// warningsOfLoss are the start's warnings that snapshots were lost: each
// must appear only when state really was lost.
var warningsOfLoss = []string{
	"snapshots lost from SV_SNAP",
	"older than the log's compaction point",
	"holds no snapshot index although the log was compacted",
}

// A compaction stopped partway (the process killed, or the bus gone,
// between any two of its writes) loses nothing: the next start shows
// exactly the state before, and says nothing was lost. The index used to be
// written before the snapshots it names, so a compaction cut short after it
// left an index claiming snapshots that were never written; a widget whose
// stored snapshot was older than the log's purge point (unchanged for a
// while) was then reported lost at every start.
func TestACompactionCutShortLosesNoStateAndWarnsOfNoLoss(t *testing.T) {
	for _, stopAfter := range []string{
		"intent",     // nothing written but what the compaction is about to do
		"snapshot a", // one widget's snapshot written, the other's not
		"snapshots",  // every snapshot written, not the index
		"index",      // the index written, the log not purged
	} {
		t.Run(strings.ReplaceAll(stopAfter, " ", "_"), func(t *testing.T) {
			cfg := noAutoCompaction
			armed := false
			var e *testEnv
			cfg.compactStep = func(step string) {
				if armed && step == stopAfter {
					armed = false
					// What a kill leaves: the store as written so far.
					if err := e.b.Close(); err != nil {
						t.Logf("bus close: %v", err)
					}
				}
			}
			e = startEnv(t, cfg)
			want := unchangedWidgetBehindThePurge(t, e)

			armed = true
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			if err := e.g.compact(ctx); err == nil {
				t.Fatalf("the compaction stopped after %q reported no error", stopAfter)
			}
			e.crash(t)

			again := restartLosingNothing(t, e.dir, cfg, want, "the restart")
			// The next compaction finishes what this one began.
			again.compactNow(t)
		})
	}
}

// restartLosingNothing starts a gateway on dir (left by a crash) and checks
// that it restores every widget of want as it was, and that the start warned
// of no lost snapshots.
func restartLosingNothing(t *testing.T, dir string, cfg Config, want map[string]apiWidget, after string) *testEnv {
	t.Helper()
	var logs logBuffer
	again := startEnvAt(t, dir, Config{CompactInterval: cfg.CompactInterval, CompactMessages: cfg.CompactMessages, Logger: logs.logger()})
	got := again.allWidgets(t)
	for id, w := range want {
		if !jsonEqual(t, got[id].State, w.State) || !jsonEqual(t, got[id].Config, w.Config) {
			t.Errorf("after %s %s is %s %s, before it was %s %s", after, id, got[id].Config, got[id].State, w.Config, w.State)
		}
	}
	if len(got) != len(want) {
		t.Errorf("after %s %d widgets, before %d", after, len(got), len(want))
	}
	for _, warning := range warningsOfLoss {
		if strings.Contains(logs.String(), warning) {
			t.Errorf("nothing was lost, yet the start warned %q:\n%s", warning, logs.String())
		}
	}
	return again
}

// unchangedWidgetBehindThePurge gives e two stat widgets, a and z, and
// compacts while only a changes, so the log is purged past z's snapshot;
// then changes both, uncompacted. It returns the state the widgets show.
func unchangedWidgetBehindThePurge(t *testing.T, e *testEnv) map[string]apiWidget {
	t.Helper()
	e.publish(t, "sv.a.config", `{"type": "stat"}`)
	e.publish(t, "sv.z.config", `{"type": "stat"}`)
	e.publish(t, "sv.z.data", `{"value": 1, "ts": 1}`)
	e.waitSeq(t, e.publish(t, "sv.a.data", `{"value": 1, "ts": 1}`))
	e.compactNow(t)
	for i := range 5 {
		e.waitSeq(t, e.publish(t, "sv.a.data", fmt.Sprintf(`{"value": %d, "ts": %d}`, 10+i, 10+i)))
		e.compactNow(t)
	}
	e.publish(t, "sv.z.data", `{"value": 2, "ts": 2}`)
	e.waitSeq(t, e.publish(t, "sv.a.data", `{"value": 20, "ts": 20}`))
	if first := e.streamInfo(t, broker.LogStream).State.FirstSeq; first < 4 {
		t.Fatalf("the log starts at %d: not purged past z's snapshot, the case is not set up", first)
	}
	return e.allWidgets(t)
}
