package gateway

import (
	"context"
	"strings"
	"testing"
)

// A store left by the previous release, whose compaction wrote the snapshot
// index before the snapshots it names, and which was killed between the two:
// the index claims snapshots that were never written, and the log was not
// purged, so nothing was lost. The release that writes the index after its
// snapshots took such a claim for a lost snapshot and warned of it at every
// start on the upgraded store (a widget unchanged since an earlier
// compaction, whose stored snapshot is older than the log's purge point).
func TestAStoreLeftByAnOlderReleaseMidCompactionStartsWithItsStateAndWarnsOfNoLoss(t *testing.T) {
	cfg := noAutoCompaction
	e := startEnv(t, cfg)
	want := unchangedWidgetBehindThePurge(t, e)

	// The older release's compaction up to its first write: the index as it
	// would be once the snapshots are stored, then the kill.
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	gen, _, snaps := e.g.state.captureDirty()
	if len(snaps) == 0 {
		t.Fatal("no widget changed since the last compaction: the case is not set up")
	}
	if err := e.g.writeSnapshot(ctx, gen, widgetSnapshot{id: indexID, body: e.g.state.snapshotIntent(gen, snaps)}); err != nil {
		t.Fatalf("writing the older release's index: %v", err)
	}
	e.crash(t)

	again := restartLosingNothing(t, e.dir, cfg, want, "the upgrade")
	// The next compaction, in the new order, and a restart keep the state.
	again.compactNow(t)
	again.crash(t)
	var logs2 logBuffer
	third := startEnvAt(t, again.dir, Config{CompactInterval: cfg.CompactInterval, CompactMessages: cfg.CompactMessages, Logger: logs2.logger()})
	got := third.allWidgets(t)
	for id, w := range want {
		if !jsonEqual(t, got[id].State, w.State) {
			t.Errorf("after the next compaction and a restart %s is %s, before it was %s", id, got[id].State, w.State)
		}
	}
	for _, warning := range warningsOfLoss {
		if strings.Contains(logs2.String(), warning) {
			t.Errorf("nothing was lost, yet the second start warned %q:\n%s", warning, logs2.String())
		}
	}
}
