package gateway

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/streamviz/streamviz/protocol"
)

// Columnar table updates (docs/protocol.md §1.8) fold exactly as the JSON
// ops of the same rows: the same state, the same events at a socket, the
// same rows left out and counted at the row limit; a malformed one is
// refused before it is stored, naming the problem, and changes nothing.
func TestTableColumnsFoldLikeJSONOpsThroughTheBusAndTheSocket(t *testing.T) {
	e := startEnv(t, Config{MaxTableRows: 3})
	for _, id := range []string{"cols", "ops"} {
		e.publishAndWait(t, "sv."+id+".config", `{"type": "table"}`)
	}
	c := e.dial(t)
	c.first(t, "snapshot")
	bin := e.dial(t, protocol.BinaryParam, "1")
	bin.first(t, "snapshot")
	steps := []struct {
		keys []string
		cols []TableColumn
		ops  string
	}{
		{[]string{"a", "b"}, []TableColumn{{Name: "v", I64: []int64{1, 2}}, {Name: "s", JSON: []string{`"x"`, `null`}}},
			`{"ops": [{"key": "a", "row": {"v": 1, "s": "x"}}, {"key": "b", "row": {"v": 2, "s": null}}]}`},
		{[]string{"a", "c", "d", "e"}, []TableColumn{{Name: "v", F64: []float64{1.5, 3, 4, 5}}},
			`{"ops": [{"key": "a", "row": {"v": 1.5}}, {"key": "c", "row": {"v": 3}}, {"key": "d", "row": {"v": 4}}, {"key": "e", "row": {"v": 5}}]}`},
	}
	var last, first uint64
	for _, s := range steps {
		seq := publishTo(t, e.js, "sv.cols.data", EncodeTableColumns(s.keys, s.cols, nil))
		if first == 0 {
			first = seq
		}
		last = e.publish(t, "sv.ops.data", s.ops)
	}
	bad := EncodeTableColumns([]string{"z"}, []TableColumn{{Name: "v", JSON: []string{`{`}}}, nil)
	if _, err := e.publishInput(t, "sv.cols.data", string(bad)); err == nil || !strings.Contains(err.Error(), `"v"[0]`) {
		t.Fatalf("a cell that is not JSON: %v", err)
	}
	e.waitSeq(t, last)

	var colsState, opsState any
	_ = json.Unmarshal(e.widgetState(t, "cols"), &colsState)
	_ = json.Unmarshal(e.widgetState(t, "ops"), &opsState)
	if !reflect.DeepEqual(colsState, opsState) {
		t.Fatalf("state from columns %v, from JSON ops %v", colsState, opsState)
	}
	if !strings.Contains(string(e.widgetState(t, "cols")), `"refused":2`) {
		t.Errorf("the row limit should have left two keys out (d, e): %s", e.widgetState(t, "cols"))
	}
	evs := c.waitSeq(t, last)
	byTable := map[string][]any{}
	for _, ev := range evs {
		if ev.Type == "data" {
			var d any
			_ = json.Unmarshal(ev.Data, &d)
			byTable[ev.ID] = append(byTable[ev.ID], d)
		}
	}
	if len(byTable["cols"]) != len(steps) || !reflect.DeepEqual(byTable["cols"], byTable["ops"]) {
		t.Fatalf("socket events from columns %v, from JSON ops %v", byTable["cols"], byTable["ops"])
	}

	// A binary socket (docs/protocol.md §2.4) gets the first update, which
	// applied whole, as its message in a binary frame ("tcols"), the
	// second, cut short by the row limit, as its ops: read back, the same
	// events as the text socket's, live and resumed.
	sameEvents := func(name string, c *wsClient, from uint64) {
		t.Helper()
		var want, got []wsEvent
		for _, ev := range evs {
			if ev.Seq > from {
				ev.frame = 0 // which server message it came in
				want = append(want, ev)
			}
		}
		for _, ev := range c.waitSeq(t, last) {
			if ev.Seq > from {
				ev.frame = 0
				got = append(got, ev)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s socket's events\n %+v\nthe text socket's\n %+v", name, got, want)
		}
		c.mu.Lock()
		n := c.binary
		c.mu.Unlock()
		if n != 1 {
			t.Errorf("%s socket: %d binary frames, want 1 (the update that applied whole)", name, n)
		}
	}
	sameEvents("binary", bin, 0)
	resumed := e.dialAt(t, e.health(t).Epoch, first-1, protocol.BinaryParam, "1")
	resumed.first(t, "resumed")
	sameEvents("resumed binary", resumed, first-1)
}
