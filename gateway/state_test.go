package gateway

import (
	"encoding/json"
	"sync/atomic"
	"testing"
)

// countingSink is the real resume log, counting the state's calls into it:
// each call takes the log's lock.
type countingSink struct {
	*resumeLog
	calls atomic.Int64
}

func (c *countingSink) append(e logEntry) bool {
	c.calls.Add(1)
	return c.resumeLog.append(e)
}

func (c *countingSink) head() (Position, uint64) {
	c.calls.Add(1)
	return c.resumeLog.head()
}

var _ eventSink = (*countingSink)(nil)

// Each update that makes an event takes the resume log's lock once: the state
// keeps the newest event's seq (the next one's "prev") itself instead of
// asking the log for it. The chain of prevs starts at the restored floor, and
// a replay below it changes state without logging an event again.
func TestEachEventTakesTheResumeLogOnceAndChainsFromTheFloor(t *testing.T) {
	limits := Limits{}
	limits.setDefaults()
	sink := &countingSink{resumeLog: newResumeLog(1 << 20)}
	st := newState(100, 100, limits, sink)
	const floor = 7 << posShift
	st.startAt(floor, 0)
	sink.start("e1", floor)

	updates := []struct{ subject, data string }{
		{"sv.s.config", `{"type": "stat"}`},
		{"sv.s.data", `{"value": 1}`},
		{"sv.c.data", `{"x": 1, "y": 2}`}, // creates the chart: a config event
		{"sv.$dashboard.config", `{"title": "T"}`},
		{"sv.r.rows", `{"k": 1, "diff": 1, "time": 2}`},
		{"sv.r.rows", `{"k": 2, "diff": 1, "time": 4}`}, // ends time 2
	}
	var want []uint64
	for i, u := range updates {
		seq := pos(uint64(8+i), 0)
		before := sink.calls.Load()
		if err := st.apply(message{seq: seq, subject: u.subject, data: []byte(u.data), ms: 1}); err != nil {
			t.Fatalf("%s %s: %v", u.subject, u.data, err)
		}
		calls := sink.calls.Load() - before
		logged := sink.resumeLog.lastEv == seq
		if logged {
			want = append(want, seq)
		}
		if logged && calls != 1 || !logged && calls != 0 {
			t.Errorf("%s %s: %d calls into the resume log, logged an event: %t; want one call per event", u.subject, u.data, calls, logged)
		}
	}
	if len(want) < 5 {
		t.Fatalf("only %d of %d updates made an event", len(want), len(updates))
	}
	evs, err := sink.log.since(floor, sink.lastEv)
	if err != nil {
		t.Fatal(err)
	}
	prev := uint64(floor)
	for i, e := range evs {
		var head struct{ Seq, Prev uint64 }
		if err := json.Unmarshal(e.ev, &head); err != nil {
			t.Fatalf("event %d is not JSON: %v: %s", i, err, e.ev)
		}
		if e.seq != want[i] || e.prev != prev || head.Seq != e.seq || head.Prev != prev {
			t.Errorf("event %d: seq %d prev %d (JSON %d, %d), want seq %d prev %d", i, e.seq, e.prev, head.Seq, head.Prev, want[i], prev)
		}
		prev = e.seq
	}

	// A replay of a position at or below the newest event logs nothing again.
	before, last := sink.calls.Load(), sink.lastEv
	if err := st.apply(message{seq: pos(3, 0), subject: "sv.s.data", data: []byte(`{"value": 2}`), ms: 1}); err != nil {
		t.Fatal(err)
	}
	if sink.calls.Load() != before || sink.lastEv != last {
		t.Errorf("a replay below the floor called the resume log %d times, head %d → %d", sink.calls.Load()-before, last, sink.lastEv)
	}
}
