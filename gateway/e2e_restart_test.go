package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
)

// noAutoCompaction keeps compaction under the test's control.
var noAutoCompaction = Config{CompactInterval: time.Hour, CompactMessages: 1 << 40}

// publishMore publishes one update of each widget of the fixture (and a
// table delete) and returns their seqs and the fixture's states after them.
func publishMore(t *testing.T, e *testEnv, fx fixture) ([]uint64, map[string]string) {
	t.Helper()
	msgs := []struct{ subject, payload string }{
		{"sv.revenue.data", `{"value": 50, "ts": 10}`},
		{"sv.latency.data", `{"x": 1732713610000, "y": 4}`},
		{"sv.regions.data", `{"key": "apac", "row": {"region": "apac", "revenue": 5}}`},
		{"sv.cpu.data", `{"value": 80, "ts": 20}`},
		{"sv.latency.data", `{"series": "p99", "x": 1732713611000, "y": 5}`},
		{"sv.regions.data", `{"key": "us", "delete": true}`},
		{"sv.revenue.data", `{"value": 51, "ts": 11}`},
	}
	var out []uint64
	for _, m := range msgs {
		out = append(out, e.publish(t, m.subject, m.payload))
	}
	e.waitSeq(t, out[len(out)-1])
	states := maps.Clone(fx.states)
	states["revenue"] = `{"value": 51, "prev": 50, "ts": 11}`
	states["cpu"] = `{"value": 80, "prev": 73, "ts": 20}`
	states["latency"] = fmt.Sprintf(`{"points": [[%d, 1.5], [%d, 2], [1732713610000, 4]],
		"series": {"p99": [[1732713600000, 9.5], [%d, null], [1732713611000, 5]]}}`,
		isoMS(t, "2026-11-27T10:00:00Z"), isoMS(t, "2026-11-27T09:00:01.250Z"), isoMS(t, "2026-11-27T10:00:02Z"))
	states["regions"] = `{"rows": {"eu": {"region": "eu", "revenue": 11}, "apac": {"region": "apac", "revenue": 5}}}`
	return out, states
}

// assertAPIState checks /api/widgets lists exactly the fixture's widgets with
// its configs and the given states.
func assertAPIState(t *testing.T, e *testEnv, fx fixture, states map[string]string) {
	t.Helper()
	all := e.allWidgets(t)
	if len(all) != len(fx.configs) {
		t.Errorf("/api/widgets lists %d widgets, want %d", len(all), len(fx.configs))
	}
	for id, cfg := range fx.configs {
		w, ok := all[id]
		if !ok {
			t.Errorf("widget %s missing", id)
			continue
		}
		assertJSON(t, "config of "+id, w.Config, cfg)
		assertJSON(t, "state of "+id, w.State, states[id])
	}
}

// logStream reports the SV stream's first and last seq and message count.
func logStream(t *testing.T, e *testEnv) (first, last, msgs uint64) {
	t.Helper()
	st := e.streamInfo(t, broker.LogStream).State
	return st.FirstSeq, st.LastSeq, st.Msgs
}

// Stopping the gateway and the bus and starting both again on the same data
// dir gives back exactly the same widgets: configs, stat value and prev, chart
// points (not duplicated by replay), table rows, the title, epoch and position.
func TestRestartOnSameDataDirKeepsExactState(t *testing.T) {
	e := startEnv(t, noAutoCompaction)
	fx := publishFixture(t, e)
	before := e.health(t)

	e2 := e.restart(t)
	assertAPIState(t, e2, fx, fx.states)
	after := e2.health(t)
	if after.Epoch != before.Epoch || after.Seq != before.Seq || after.Widgets != before.Widgets {
		t.Errorf("after restart /healthz epoch %s seq %d widgets %d, want %s %d %d",
			after.Epoch, after.Seq, after.Widgets, before.Epoch, before.Seq, before.Widgets)
	}
	snap := e2.dial(t).first(t, "snapshot")
	assertFixtureSnapshot(t, snap, fx)

	// A second restart must not apply anything twice either.
	e3 := e2.restart(t)
	assertAPIState(t, e3, fx, fx.states)

	// And the dashboard keeps going from the same position.
	c := e3.dial(t)
	s0 := c.first(t, "snapshot").Seq
	s := e3.publish(t, "sv.revenue.data", `{"value": 1, "ts": 1}`)
	evs := c.waitSeq(t, s)
	checkChain(t, evs)
	if s0 != before.Seq || evs[1].Prev != before.Seq {
		t.Errorf("after restarts: snapshot seq %d, first event %v; want both to continue from %d", s0, evs[1], before.Seq)
	}
}

// After a compaction mid-way the log holds only the updates that came after
// it, the snapshot stream one snapshot per widget, and a restart still ends
// with the exact state: snapshot plus the later updates, each applied once.
func TestRestartAfterMidwayCompactionKeepsExactStateAndLogHoldsOnlyLaterUpdates(t *testing.T) {
	e := startEnv(t, noAutoCompaction)
	fx := publishFixture(t, e)
	e.waitHandled(t, fx.lastSeq)
	e.compactNow(t)

	// The last stored message stays (compact keeps it to mark the position).
	if first, last, msgs := logStream(t, e); msgs != 1 || first != fx.lastSeq>>posShift || last != fx.lastSeq>>posShift {
		t.Fatalf("after compaction SV holds %d messages (first %d, last %d), want only the one holding position %d", msgs, first, last, fx.lastSeq)
	}
	snaps := e.streamInfo(t, broker.SnapshotStream, jetstream.WithSubjectFilter("svsnap.>")).State
	wantSnaps := map[string]uint64{"svsnap.revenue.0": 1, "svsnap.cpu.0": 1, "svsnap.latency.0": 1, "svsnap.regions.0": 1, "svsnap.$dashboard.0": 1, "svsnap.$index.0": 1,
		"svsnap.$lock.0": 1} // the compaction lock, free (compactlock.go)
	if !maps.Equal(snaps.Subjects, wantSnaps) {
		t.Errorf("SV_SNAP subjects %v, want %v", snaps.Subjects, wantSnaps)
	}

	later, states := publishMore(t, e, fx)
	first, last, msgs := logStream(t, e)
	if msgs != uint64(len(later))+1 || first != fx.lastSeq>>posShift || last != later[len(later)-1]>>posShift {
		t.Fatalf("SV holds %d messages %d..%d, want exactly the %d after the compaction and the one it kept, %d..%d",
			msgs, first, last, len(later), fx.lastSeq>>posShift, later[len(later)-1]>>posShift)
	}
	assertAPIState(t, e, fx, states)

	e2 := e.restart(t)
	assertAPIState(t, e2, fx, states)
	// Close wrote a final snapshot, so the log holds only the last message.
	if first, _, msgs := logStream(t, e2); msgs != 1 || first != later[len(later)-1]>>posShift {
		t.Errorf("after a graceful restart SV holds %d messages from %d, want only the last", msgs, first)
	}
}

// A client holding a position from before a restart either resumes with
// exactly the events after it, or gets a reset snapshot equal to the API;
// either way it ends with the right state.
func TestClientPositionFromBeforeRestartEndsWithExactState(t *testing.T) {
	tests := []struct {
		name   string
		missed int // updates published after the client left, before the restart
	}{
		{"client was up to date", 0},
		{"client missed updates before the restart", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEnv(t, noAutoCompaction)
			publishFixture(t, e)
			c := e.dial(t)
			snap := c.first(t, "snapshot")
			s := e.publish(t, "sv.cpu.data", `{"value": 1, "ts": 1}`)
			pos := c.waitSeq(t, s)[1].Seq
			c.close()

			var afterPos []uint64
			for i := range tt.missed {
				afterPos = append(afterPos, e.publish(t, "sv.cpu.data", fmt.Sprintf(`{"value": %d, "ts": 2}`, 10+i)))
			}
			if len(afterPos) > 0 {
				e.waitSeq(t, afterPos[len(afterPos)-1])
			}
			e2 := e.restart(t)
			for i := range 3 {
				afterPos = append(afterPos, e2.publish(t, "sv.cpu.data", fmt.Sprintf(`{"value": %d, "ts": 3}`, 20+i)))
			}
			e2.waitSeq(t, afterPos[len(afterPos)-1])
			wantState := `{"value": 22, "prev": 21, "ts": 3}`

			c2 := e2.dialAt(t, snap.Epoch, pos)
			first := c2.waitEvents(t, 1)[0]
			switch {
			case first.Type == "resumed" && first.Seq == pos:
				evs := c2.waitSeq(t, afterPos[len(afterPos)-1])
				checkChain(t, evs)
				if got := seqs(evs[1:]); fmt.Sprint(got) != fmt.Sprint(afterPos) {
					t.Fatalf("resumed at %d across the restart: got seqs %v, want exactly %v", pos, got, afterPos)
				}
				assertJSON(t, "last resumed event", evs[len(evs)-1].Data, `{"value": 22, "ts": 3, "prev": 21}`)
				t.Logf("resumed at %d with %d events", pos, len(afterPos))
			case first.Type == "snapshot" && first.Reset:
				if first.Seq != afterPos[len(afterPos)-1] {
					t.Errorf("reset snapshot at seq %d, want %d", first.Seq, afterPos[len(afterPos)-1])
				}
				for _, w := range first.Widgets {
					if !jsonEqual(t, w.State, e2.widgetState(t, w.ID)) {
						t.Errorf("reset snapshot state of %s %s differs from /api", w.ID, w.State)
					}
				}
				t.Logf("position %d not resumable after restart: reset snapshot", pos)
			default:
				t.Fatalf("first event after restart %v, want resumed at %d or a reset snapshot", first, pos)
			}
			assertJSON(t, "cpu state", e2.widgetState(t, "cpu"), wantState)
		})
	}
}

// When the process dies without its final snapshot, the next start replays
// the log kept since the last compaction: the state is exact, and clients
// holding a position inside that log resume with exactly the events after it.
func TestRestartAfterCrashRebuildsStateAndResumeLogFromTheStream(t *testing.T) {
	e := startEnv(t, noAutoCompaction)
	fx := publishFixture(t, e)
	e.waitHandled(t, fx.lastSeq)
	e.compactNow(t)
	c := e.dial(t)
	epoch := c.first(t, "snapshot").Epoch
	later, states := publishMore(t, e, fx)
	pos := later[2]
	c.waitSeq(t, pos)
	c.close()
	e.crash(t)

	e2 := startEnvAt(t, e.dir, e.cfg)
	// The compaction kept the fixture's last message; each later update was
	// published on its own, so it is a message of its own.
	if first, last, msgs := logStream(t, e2); msgs != uint64(len(later))+1 || first != fx.lastSeq>>posShift || last != later[len(later)-1]>>posShift {
		t.Fatalf("after the crash SV holds %d messages %d..%d, want the %d since the compaction and the one before", msgs, first, last, len(later))
	}
	assertAPIState(t, e2, fx, states)
	if h := e2.health(t); h.Epoch != epoch || h.Seq != later[len(later)-1] {
		t.Errorf("after the crash /healthz at %s/%d, want %s/%d", h.Epoch, h.Seq, epoch, later[len(later)-1])
	}

	tests := []struct {
		name string
		pos  uint64
		want []uint64
	}{
		{"position at the compaction point", fx.lastSeq, later},
		{"position inside the replayed log", pos, later[3:]},
		{"position at the end", later[len(later)-1], nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e2.dialAt(t, epoch, tt.pos)
			if ev := c.first(t, "resumed"); ev.Seq != tt.pos {
				t.Fatalf("resumed at %d, want %d", ev.Seq, tt.pos)
			}
			evs := c.waitEvents(t, 1+len(tt.want))
			if got := seqs(evs[1:]); fmt.Sprint(got) != fmt.Sprint(tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Fatalf("resumed from %d: got seqs %v, want %v", tt.pos, got, tt.want)
			}
			checkChain(t, evs)
			for _, ev := range evs[1:] {
				if ev.Type != "data" {
					t.Errorf("replayed event %v, want data", ev)
				}
			}
		})
	}

	// Live updates continue after the replayed ones.
	c2 := e2.dial(t)
	s0 := c2.first(t, "snapshot").Seq
	s := e2.publish(t, "sv.cpu.data", `{"value": 81, "ts": 21}`)
	evs := c2.waitSeq(t, s)
	checkChain(t, evs)
	if s0 != later[len(later)-1] {
		t.Errorf("snapshot after the crash at %d, want %d", s0, later[len(later)-1])
	}
}

// Restarting with snapshots in SV_SNAP takes about as long as starting fresh:
// reading a handful of snapshots must not wait out a fetch timeout.
func TestRestartWithSnapshotsStartsPromptly(t *testing.T) {
	e := startEnv(t, noAutoCompaction)
	fx := publishFixture(t, e)
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e2 := startEnvAt(t, e.dir, e.cfg)
	took := time.Since(start)
	assertAPIState(t, e2, fx, fx.states)
	if took > 2*time.Second {
		t.Errorf("restart with %d snapshots took %v, want under 2s", len(fx.configs)+1, took)
	}
}

// A crash after the snapshots were written but before the log was purged
// leaves both; the next start must skip the log messages the snapshots
// already hold: no chart point or table op applied twice, no stat prev
// overwritten, and the position (healthz, snapshot seq, prev) never goes back.
func TestRestartAfterCrashBetweenSnapshotAndPurgeAppliesNothingTwice(t *testing.T) {
	e := startEnv(t, noAutoCompaction)
	fx := publishFixture(t, e)
	// The first half of a compaction: snapshots written, log not purged.
	gen, _, snaps := e.g.state.captureDirty()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for _, s := range snaps {
		if err := e.g.writeSnapshot(ctx, gen, s); err != nil {
			t.Fatalf("writeSnapshot %s: %v", s.id, err)
		}
	}
	e.crash(t)

	e2 := startEnvAt(t, e.dir, e.cfg)
	if _, _, msgs := logStream(t, e2); msgs != fx.lastSeq>>posShift {
		t.Fatalf("SV holds %d messages, want all %d (never purged)", msgs, fx.lastSeq>>posShift)
	}
	assertAPIState(t, e2, fx, fx.states)
	if h := e2.health(t); h.Seq != fx.lastSeq {
		t.Errorf("/healthz seq %d after the restart, want %d: the position went back", h.Seq, fx.lastSeq)
	}
	c := e2.dial(t)
	snap := c.first(t, "snapshot")
	assertFixtureSnapshot(t, snap, fx)
	s := e2.publish(t, "sv.cpu.data", `{"value": 1, "ts": 1}`)
	evs := c.waitSeq(t, s)
	checkChain(t, evs)
	if snap.Seq != fx.lastSeq {
		t.Errorf("snapshot at seq %d, want %d", snap.Seq, fx.lastSeq)
	}
}

// A client that has every event when the server stops resumes after the
// restart, even when the last updates stored were refused when applied (no
// event), and the events after the restart continue its chain: their prev is
// its position. Before, the restart took the last stored update's position
// for the last event's, so such a client got a reset snapshot (a graceful
// stop, whose last snapshot covers the refused update, or a crash after a
// compaction that did), and the next event's prev was no event the client
// had seen.
func TestACaughtUpClientResumesAfterARestartWhoseLastUpdatesWereRefused(t *testing.T) {
	restarts := append(restartWays(), restartWay{
		"restart after a compaction and a later refused update", func(t *testing.T, e *testEnv) *testEnv {
			e.compactNow(t)
			if _, err := e.publishInput(t, "sv.c.data", `{"key": "k", "row": {}}`); err == nil {
				t.Fatal("a table op to a chart was acknowledged")
			}
			return e.restart(t)
		}})
	for _, tc := range restarts {
		t.Run(tc.name, func(t *testing.T) {
			e := startEnv(t, noAutoCompaction)
			e.publish(t, "sv.c.config", `{"type": "chart"}`)
			last := e.publishAndWait(t, "sv.c.data", `{"x": 1, "y": 1}`)
			for _, bad := range []string{`{"value": 3}`, `{"value": 4}`} {
				if _, err := e.publishInput(t, "sv.c.data", bad); err == nil || !strings.Contains(err.Error(), "does not fit") {
					t.Fatalf("a stat update to a chart: %v, want it refused as not fitting", err)
				}
			}
			c := e.dial(t)
			snap := c.first(t, "snapshot")
			if snap.Seq != last {
				t.Fatalf("snapshot at %d, want the last event's position %d", snap.Seq, last)
			}
			c.close()

			e2 := tc.restart(t, e)
			if h := e2.health(t); h.Seq != last {
				t.Errorf("after the restart /healthz seq %d, want the last event's position %d", h.Seq, last)
			}
			c2 := e2.dialAt(t, snap.Epoch, snap.Seq)
			if first := c2.waitEvents(t, 1)[0]; first.Type != "resumed" || first.Seq != last {
				t.Fatalf("a client at the last event %d got %v after the restart, want resumed", last, first)
			}
			next := e2.publish(t, "sv.c.data", `{"x": 2, "y": 2}`)
			evs := c2.waitSeq(t, next)
			checkChain(t, evs)
			if got := seqs(evs[1:]); fmt.Sprint(got) != fmt.Sprint([]uint64{next}) {
				t.Errorf("resumed client got %v, want exactly [%d]", got, next)
			}
			// A new client's snapshot continues the same chain.
			fresh := e2.dial(t)
			if s := fresh.first(t, "snapshot"); s.Seq != next {
				t.Errorf("a new client's snapshot at %d, want %d", s.Seq, next)
			}
		})
	}
}

// The counters of /healthz and /metrics count what this run of the server
// did: rebuilding the state from the log at a restart applies updates again
// but accepts, refuses and conflicts nothing anew, and logs none of it again.
// Before, a restart after a crash counted every update still in the log once
// more (accepted with nothing stored, old refusals and producer conflicts
// again, each logged again), a graceful one only the last stored message's:
// the same history gave different counts by how the server had stopped.
func TestARestartCountsAndLogsOnlyWhatItsOwnRunDid(t *testing.T) {
	restarts := []struct {
		name    string
		restart func(t *testing.T, e *testEnv, cfg Config) *testEnv
	}{
		{"graceful restart", func(t *testing.T, e *testEnv, cfg Config) *testEnv {
			if err := e.stop(); err != nil {
				t.Fatal(err)
			}
			return startEnvAt(t, e.dir, cfg)
		}},
		{"crash", func(t *testing.T, e *testEnv, cfg Config) *testEnv {
			e.crash(t)
			return startEnvAt(t, e.dir, cfg)
		}},
	}
	for _, tc := range restarts {
		t.Run(tc.name, func(t *testing.T) {
			e := startEnv(t, noAutoCompaction)
			e.publish(t, "sv.w.config", `{"type": "chart", "producer": "host-a:/a.py"}`)
			e.publish(t, "sv.w.config", `{"type": "chart", "producer": "host-b:/b.py"}`)
			e.publish(t, "sv.w.data", `{"x": 1, "y": 1}`)
			if _, err := e.publishInput(t, "sv.w.data", `{"value": 1}`); err == nil {
				t.Fatal("a stat update to a chart was acknowledged")
			}
			if h := e.health(t); h.Accepted != 3 || h.Rejected != 1 {
				t.Fatalf("before the restart /healthz accepted %d rejected %d, want 3 and 1", h.Accepted, h.Rejected)
			}
			logs := &logBuffer{}
			cfg := noAutoCompaction
			cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
			e2 := tc.restart(t, e, cfg)
			h, m := e2.health(t), e2.metrics(t)
			if h.Accepted != 0 || h.Rejected != 0 || m["streamviz_producer_conflicts_total"] != 0 ||
				m[`streamviz_updates_rejected_total{reason="data does not fit the widget's type"}`] != 0 {
				t.Errorf("after the restart, before any publish: accepted %d, rejected %d, conflicts %v, refused as not fitting %v; want all 0",
					h.Accepted, h.Rejected, m["streamviz_producer_conflicts_total"], m[`streamviz_updates_rejected_total{reason="data does not fit the widget's type"}`])
			}
			for _, old := range []string{"declared by two producers", "rejected update"} {
				if strings.Contains(logs.String(), old) {
					t.Errorf("the restart logged the old %q again:\n%s", old, logs.String())
				}
			}
			assertJSON(t, "the chart after the restart", e2.widgetState(t, "w"), `{"points": [[1, 1]]}`)
			e2.publishAndWait(t, "sv.w.data", `{"x": 2, "y": 2}`)
			if _, err := e2.publishInput(t, "sv.w.data", `{"value": 2}`); err == nil {
				t.Fatal("a stat update to a chart was acknowledged")
			}
			if h := e2.health(t); h.Accepted != 1 || h.Rejected != 1 {
				t.Errorf("after the restart /healthz accepted %d rejected %d, want 1 and 1 (this run's)", h.Accepted, h.Rejected)
			}
		})
	}
}

// restartWay is one way a server comes back with its data dir.
type restartWay struct {
	name    string
	restart func(t *testing.T, e *testEnv) *testEnv
}

// restartWays are the restarts after which what a server remembers must be
// what it had: a graceful one (its last snapshot purges the log) and a crash
// after a compaction (what was compacted comes back from snapshots only).
func restartWays() []restartWay {
	return []restartWay{
		{"graceful restart", func(t *testing.T, e *testEnv) *testEnv { return e.restart(t) }},
		{"crash after a compaction", func(t *testing.T, e *testEnv) *testEnv {
			e.compactNow(t)
			e.crash(t)
			return startEnvAt(t, e.dir, e.cfg)
		}},
	}
}
