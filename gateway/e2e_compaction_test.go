package gateway

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
)

// Compaction, triggered every CompactMessages updates, keeps the SV log down
// to what arrived since the last compaction, SV_SNAP down to one snapshot per
// widget, and changes nothing a browser or the API sees.
func TestCompactionBoundsStorageAndKeepsStateIntact(t *testing.T) {
	const (
		every   = 40
		updates = 300
		keep    = 10
	)
	e := startEnv(t, Config{CompactMessages: every, CompactInterval: time.Hour})
	e.publish(t, "sv.n.config", `{"type": "stat"}`)
	e.publish(t, "sv.pts.config", fmt.Sprintf(`{"type": "chart", "max_points": %d}`, keep))
	e.publishAndWait(t, "sv.rows.config", `{"type": "table"}`)
	c := e.dial(t)
	c.first(t, "snapshot")

	var sent []uint64
	widgetOf := map[uint64]string{}
	rows := map[string]string{}
	var points []string
	value, prev := -1, -1
	for i := range updates {
		switch i % 3 {
		case 0:
			sent = append(sent, e.publish(t, "sv.n.data", fmt.Sprintf(`{"value": %d, "ts": %d}`, i, i)))
			widgetOf[sent[len(sent)-1]] = "n"
			value, prev = i, value
		case 1:
			sent = append(sent, e.publish(t, "sv.pts.data", fmt.Sprintf(`{"x": %d, "y": %d}`, i, i*i)))
			points = append(points, fmt.Sprintf("[%d, %d]", i, i*i))
		case 2:
			key := fmt.Sprintf("k%d", i%5)
			sent = append(sent, e.publish(t, "sv.rows.data", fmt.Sprintf(`{"key": %q, "row": {"i": %d}}`, key, i)))
			rows[key] = fmt.Sprintf(`{"i": %d}`, i)
		}
	}
	last := sent[len(sent)-1]
	e.waitSeq(t, last)

	// Storage: the log holds only a contiguous tail shorter than two
	// compaction periods (one is due after `every` updates, looked for every
	// every/4, and runs beside ingest while more arrive); SV_SNAP one
	// snapshot per widget, plus the index of them and the compaction lock.
	wantSnaps := map[string]uint64{"svsnap.n.0": 1, "svsnap.pts.0": 1, "svsnap.rows.0": 1, "svsnap.$index.0": 1, "svsnap.$lock.0": 1}
	var logState, snapState jetstream.StreamState
	eventually(t, waitTimeout, func() bool {
		logState = e.streamInfo(t, broker.LogStream).State
		snapState = e.streamInfo(t, broker.SnapshotStream, jetstream.WithSubjectFilter("svsnap.>")).State
		return logState.Msgs < 2*every && logState.LastSeq == last>>posShift &&
			logState.Msgs == logState.LastSeq-logState.FirstSeq+1 &&
			maps.Equal(snapState.Subjects, wantSnaps) && snapState.Msgs == uint64(len(wantSnaps))
	}, func() string {
		return fmt.Sprintf("after %d updates with CompactMessages %d: SV holds %d messages (%d..%d), SV_SNAP %v",
			updates, every, logState.Msgs, logState.FirstSeq, logState.LastSeq, snapState.Subjects)
	})

	// State: exactly what the updates imply.
	var rowParts []string
	for k, v := range rows {
		rowParts = append(rowParts, fmt.Sprintf("%q: %s", k, v))
	}
	want := map[string]string{
		"n":    fmt.Sprintf(`{"value": %d, "prev": %d, "ts": %d}`, value, prev, value),
		"pts":  `{"points": [` + strings.Join(points[len(points)-keep:], ",") + `]}`,
		"rows": `{"rows": {` + strings.Join(rowParts, ",") + `}}`,
	}
	for id, w := range want {
		assertJSON(t, "state of "+id, e.widgetState(t, id), w)
	}
	// A browser connected throughout saw every update once, in order (but
	// stat values superseded within a frame).
	evs := c.waitSeq(t, last)
	checkChain(t, evs)
	checkLiveUpdates(t, seqs(evs[1:]), sent, widgetOf, map[string]bool{"n": true})
	// A browser connecting now gets the same state.
	snap := e.dial(t).first(t, "snapshot")
	for _, w := range snap.Widgets {
		assertJSON(t, "snapshot state of "+w.ID, w.State, want[w.ID])
	}
}

// A widget's state may outgrow MaxMessageBytes (the bound on one update):
// compaction must still snapshot it, chunked to fit the snapshot stream, purge
// the log, and restore it exactly on restart.
func TestCompactionSnapshotsWidgetsLargerThanMaxMessageBytes(t *testing.T) {
	tests := []struct {
		name     string
		maxBytes int
		rows     int
		pad      int
	}{
		{"state over a small MaxMessageBytes", 8 << 10, 40, 1 << 10},
		{"state over the 512 KiB chunk with default limits", 0, 48, 30 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := noAutoCompaction
			cfg.MaxMessageBytes = tt.maxBytes
			e := startEnv(t, cfg)
			pad := strings.Repeat("p", tt.pad)
			var last uint64
			rows := map[string]string{}
			for i := range tt.rows {
				key := fmt.Sprintf("r%03d", i)
				last = e.publish(t, "sv.big.data", fmt.Sprintf(`{"key": %q, "row": {"i": %d, "pad": %q}}`, key, i, pad))
				rows[key] = fmt.Sprintf(`{"i": %d, "pad": %q}`, i, pad)
			}
			e.waitSeq(t, last)
			var parts []string
			for k, v := range rows {
				parts = append(parts, fmt.Sprintf("%q: %s", k, v))
			}
			want := `{"rows": {` + strings.Join(parts, ",") + `}}`
			assertJSON(t, "state before compaction", e.widgetState(t, "big"), want)

			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			if err := e.g.compact(ctx); err != nil {
				t.Fatalf("compaction of a %d KiB table failed: %v", len(want)>>10, err)
			}
			if _, _, msgs := logStream(t, e); msgs != 1 {
				t.Errorf("SV holds %d messages after compaction, want 1 (the last, kept to mark the position)", msgs)
			}
			snap := e.streamInfo(t, broker.SnapshotStream, jetstream.WithSubjectFilter("svsnap.big.>")).State
			var msgs uint64 // Msgs counts the whole stream, the index too
			for _, n := range snap.Subjects {
				msgs += n
			}
			if minParts := uint64(len(want)>>20) + 1; msgs < minParts || uint64(len(snap.Subjects)) != msgs {
				t.Errorf("a %d KiB snapshot is stored as %d messages on %v, want at least %d chunks of at most 1 MiB, one per part",
					len(want)>>10, msgs, snap.Subjects, minParts)
			}
			e2 := e.restart(t)
			assertJSON(t, "state after restart", e2.widgetState(t, "big"), want)
		})
	}
}
