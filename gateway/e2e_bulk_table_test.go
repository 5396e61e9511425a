package gateway

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
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
	var last uint64
	for _, s := range steps {
		publishTo(t, e.js, "sv.cols.data", EncodeTableColumns(s.keys, s.cols, nil))
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
}
