package gateway

import (
	"fmt"
	"testing"
)

// A client that reconnects with the position it reached gets "resumed" and
// then exactly the events it missed, in order, then live events.
func TestReconnectWithPositionResumesExactlyTheMissedEvents(t *testing.T) {
	tests := []struct {
		name   string
		widget string // embed filter; "" sees the whole dashboard
	}{
		{"whole dashboard", ""},
		{"embed mode sees only its widget", "s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEnv(t, Config{})
			e.publish(t, "sv.s.config", `{"type": "stat"}`)
			e.publishAndWait(t, "sv.c.config", `{"type": "chart"}`)
			var filter []string
			if tt.widget != "" {
				filter = []string{"widget", tt.widget}
			}
			wants := func(id string) bool { return tt.widget == "" || tt.widget == id }

			// First session: read a few events, note the position, leave.
			c1 := e.dial(t, filter...)
			snap := c1.first(t, "snapshot")
			var seen uint64
			for i := range 3 {
				seen = e.publish(t, "sv.s.data", fmt.Sprintf(`{"value": %d, "ts": 1}`, i))
			}
			evs := c1.waitSeq(t, seen)
			pos := evs[len(evs)-1].Seq
			if pos != seen {
				t.Fatalf("first session ended at seq %d, want %d", pos, seen)
			}
			c1.close()

			// Missed while away.
			type pub struct {
				seq uint64
				id  string
			}
			var missed []pub
			for i := range 10 {
				id := []string{"s", "c"}[i%2]
				payload := fmt.Sprintf(`{"value": %d, "ts": 2}`, 100+i)
				if id == "c" {
					payload = fmt.Sprintf(`{"x": %d, "y": %d}`, i, i)
				}
				missed = append(missed, pub{e.publish(t, "sv."+id+"."+"data", payload), id})
			}
			e.waitSeq(t, missed[len(missed)-1].seq)

			c2 := e.dialAt(t, snap.Epoch, pos, filter...)
			res := c2.first(t, "resumed")
			if res.Epoch != snap.Epoch || res.Seq != pos {
				t.Fatalf("resumed at %s/%d, want %s/%d", res.Epoch, res.Seq, snap.Epoch, pos)
			}
			var want []uint64
			for _, m := range missed {
				if wants(m.id) {
					want = append(want, m.seq)
				}
			}
			evs = c2.waitSeq(t, want[len(want)-1])
			if got := seqs(evs[1:]); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("after resume got seqs %v, want exactly %v", got, want)
			}
			if tt.widget == "" {
				checkChain(t, evs)
			}

			// Live events continue the sequence.
			live := e.publish(t, "sv.s.data", `{"value": 7, "ts": 3}`)
			evs = c2.waitSeq(t, live)
			if got := seqs(evs[1:]); fmt.Sprint(got) != fmt.Sprint(append(want, live)) {
				t.Fatalf("after a live update got seqs %v, want %v", got, append(want, live))
			}
			if tt.widget == "" {
				checkChain(t, evs)
			}
			assertJSON(t, "last live event", evs[len(evs)-1].Data, `{"value": 7, "ts": 3, "prev": 108}`)
		})
	}
}

// A position the server can no longer resume from (the bounded log dropped
// it, another epoch, or a seq the server never reached) gets a snapshot with
// reset: true that equals what the HTTP API reports; a current position
// still resumes.
func TestUnresumablePositionGetsResetSnapshotEqualToAPIState(t *testing.T) {
	// A tiny resume log: a few dozen events push the oldest out.
	e := startEnv(t, Config{LogBytes: 1024})
	fx := publishFixture(t, e)
	early := e.publish(t, "sv.revenue.data", `{"value": 0, "ts": 0}`)
	var last uint64
	for i := range 60 {
		last = e.publish(t, "sv.regions.data", fmt.Sprintf(`{"key": "k%d", "row": {"n": %d}}`, i%7, i))
	}
	e.waitSeq(t, last)
	h := e.health(t)
	if h.Seq != last || last <= fx.lastSeq {
		t.Fatalf("gateway at seq %d, want %d", h.Seq, last)
	}

	tests := []struct {
		name      string
		epoch     string
		seq       uint64
		wantReset bool
	}{
		{"position older than the resume log", h.Epoch, early, true},
		{"position from another epoch", "0123456789abcdef", last, true},
		{"position ahead of the server", h.Epoch, last + 100<<posShift, true},
		{"current position resumes", h.Epoch, last, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := e.health(t).Seq
			c := e.dialAt(t, tt.epoch, tt.seq)
			if !tt.wantReset {
				ev := c.first(t, "resumed")
				if ev.Seq != last {
					t.Fatalf("resumed at %d, want %d", ev.Seq, last)
				}
				return
			}
			snap := c.first(t, "snapshot")
			if !snap.Reset || snap.Epoch != h.Epoch || snap.Seq != cur {
				t.Fatalf("got %v epoch %q, want a reset snapshot at %s/%d", snap, snap.Epoch, h.Epoch, cur)
			}
			api := e.allWidgets(t)
			if len(api) != len(snap.Widgets) {
				t.Fatalf("snapshot has %d widgets, /api/widgets %d", len(snap.Widgets), len(api))
			}
			for _, w := range snap.Widgets {
				a, ok := api[w.ID]
				if !ok {
					t.Fatalf("snapshot widget %q missing from /api/widgets", w.ID)
				}
				if !jsonEqual(t, w.Config, a.Config) || !jsonEqual(t, w.State, a.State) {
					t.Errorf("widget %s: snapshot config %s state %s\n/api config %s state %s", w.ID, w.Config, w.State, a.Config, a.State)
				}
			}
			if snap.Title != fx.title {
				t.Errorf("reset snapshot title %q, want %q", snap.Title, fx.title)
			}
			// And it continues live from there.
			live := e.publish(t, "sv.cpu.data", `{"value": 1, "ts": 1}`)
			evs := c.waitSeq(t, live)
			checkChain(t, evs)
		})
	}
}
