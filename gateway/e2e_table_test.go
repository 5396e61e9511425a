package gateway

import (
	"testing"
)

// tableStep is one table update, the event a browser must get for it (or
// none when it is rejected) and the table's state afterwards.
type tableStep struct {
	name      string
	payload   string
	wantData  string // "" when the update must be rejected
	wantState string
}

// runSteps publishes each step to sv.<id>.data and checks the client sees
// exactly one event per accepted step, none for a rejected one, and that
// /api reports the state after each step.
func runSteps(t *testing.T, e *testEnv, c *wsClient, id string, steps []tableStep) {
	t.Helper()
	evs := c.waitEvents(t, 1)
	lastSeq := evs[len(evs)-1].Seq
	rejected := e.health(t).Rejected
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			n := len(c.waitEvents(t, 1))
			seq, err := e.publishInput(t, "sv."+id+".data", st.payload)
			if err != nil && st.wantData != "" {
				t.Fatalf("a valid update was refused: %v", err)
			}
			if st.wantData == "" {
				rejected++
				e.waitRejected(t, rejected)
				// The next accepted event follows the previous one directly.
				probe := e.publish(t, "sv.probe.data", `{"value": 0}`)
				evs := c.waitSeq(t, probe)
				if len(evs) != n+1 || evs[n].ID != "probe" || evs[n].Prev != lastSeq {
					t.Fatalf("after a rejected update the client got %v, want only the probe's event after seq %d", evs[n:], lastSeq)
				}
				lastSeq = probe
			} else {
				evs := c.waitSeq(t, seq)
				if len(evs) != n+1 {
					t.Fatalf("one update gave %d events: %v", len(evs)-n, evs[n:])
				}
				ev := evs[n]
				if ev.Type != "data" || ev.ID != id || ev.Seq != seq || ev.Prev != lastSeq {
					t.Fatalf("event %v, want data for %s at seq %d prev %d", ev, id, seq, lastSeq)
				}
				assertJSON(t, "data event", ev.Data, st.wantData)
				lastSeq = seq
			}
			if h := e.health(t); h.Rejected != rejected {
				t.Errorf("/healthz rejected %d, want %d", h.Rejected, rejected)
			}
			assertJSON(t, "state", e.widgetState(t, id), st.wantState)
		})
	}
}

// Table upserts and deletes apply by key, numeric keys become their decimal
// text, and a batch of ops is one event applied whole, or rejected whole.
func TestTableUpsertDeleteAndBatchOpsApplyAtomically(t *testing.T) {
	e := startEnv(t, Config{})
	e.publishAndWait(t, "sv.orders.config", `{"type": "table"}`)
	c := e.dial(t)
	c.first(t, "snapshot")
	runSteps(t, e, c, "orders", []tableStep{
		{"upsert new key",
			`{"key": "eu", "row": {"region": "eu",  "revenue": 10}}`,
			`{"ops": [{"key": "eu", "row": {"region": "eu", "revenue": 10}}]}`,
			`{"rows": {"eu": {"region": "eu", "revenue": 10}}}`},
		{"upsert replaces the row",
			`{"key": "eu", "row": {"region": "eu", "revenue": 12, "tags": ["a", {"b": null}]}}`,
			`{"ops": [{"key": "eu", "row": {"region": "eu", "revenue": 12, "tags": ["a", {"b": null}]}}]}`,
			`{"rows": {"eu": {"region": "eu", "revenue": 12, "tags": ["a", {"b": null}]}}}`},
		{"integer key becomes text",
			`{"key": 7, "row": {"n": 7}}`,
			`{"ops": [{"key": "7", "row": {"n": 7}}]}`,
			`{"rows": {"eu": {"region": "eu", "revenue": 12, "tags": ["a", {"b": null}]}, "7": {"n": 7}}}`},
		{"decimal key becomes text",
			`{"key": 2.5, "row": {"n": 2.5}}`,
			`{"ops": [{"key": "2.5", "row": {"n": 2.5}}]}`,
			`{"rows": {"eu": {"region": "eu", "revenue": 12, "tags": ["a", {"b": null}]}, "7": {"n": 7}, "2.5": {"n": 2.5}}}`},
		{"delete by key",
			`{"key": "eu", "delete": true}`,
			`{"ops": [{"key": "eu", "delete": true}]}`,
			`{"rows": {"7": {"n": 7}, "2.5": {"n": 2.5}}}`},
		{"numeric delete matches the text key",
			`{"key": 7, "delete": true}`,
			`{"ops": [{"key": "7", "delete": true}]}`,
			`{"rows": {"2.5": {"n": 2.5}}}`},
		{"delete of a missing key is a no-op",
			`{"key": "nope", "delete": true}`,
			`{"ops": [{"key": "nope", "delete": true}]}`,
			`{"rows": {"2.5": {"n": 2.5}}}`},
		{"batch applies in order as one event",
			`{"ops": [{"key": "a", "row": {"v": 1}}, {"key": "b", "row": {"v": 2}}, {"key": "a", "delete": true},
				{"key": 3, "row": {"v": 3}}, {"key": "b", "row": {"v": 22}}, {"key": "2.5", "delete": true}]}`,
			`{"ops": [{"key": "a", "row": {"v": 1}}, {"key": "b", "row": {"v": 2}}, {"key": "a", "delete": true},
				{"key": "3", "row": {"v": 3}}, {"key": "b", "row": {"v": 22}}, {"key": "2.5", "delete": true}]}`,
			`{"rows": {"b": {"v": 22}, "3": {"v": 3}}}`},
		{"batch with one bad op is rejected whole",
			`{"ops": [{"key": "c", "row": {"v": 1}}, {"key": "b", "delete": true}, {"key": "d", "row": [1]}]}`,
			"",
			`{"rows": {"b": {"v": 22}, "3": {"v": 3}}}`},
		{"key and ops together are rejected",
			`{"key": "x", "row": {}, "ops": []}`,
			"",
			`{"rows": {"b": {"v": 22}, "3": {"v": 3}}}`},
	})
}

// A table holds at most MaxTableRows live rows. At the limit every op of a
// batch that fits is applied (updates of live keys, deletes, new keys while
// deletes made room) and only new keys beyond it are left out; the table's
// state and the event carry how many keys it refused, and /metrics counts
// each refused key under "table row limit reached". Nothing is rejected whole.
func TestTableRowLimitAppliesEveryOpThatFitsAndCountsRefusedKeys(t *testing.T) {
	e := startEnv(t, Config{MaxTableRows: 3})
	e.publishAndWait(t, "sv.t.config", `{"type": "table"}`)
	c := e.dial(t)
	c.first(t, "snapshot")
	full := `{"rows": {"a": {"v": 1}, "b": {"v": 1}, "c": {"v": 1}}}`
	runSteps(t, e, c, "t", []tableStep{
		{"fill to the limit",
			`{"ops": [{"key": "a", "row": {"v": 1}}, {"key": "b", "row": {"v": 1}}, {"key": "c", "row": {"v": 1}}]}`,
			`{"ops": [{"key": "a", "row": {"v": 1}}, {"key": "b", "row": {"v": 1}}, {"key": "c", "row": {"v": 1}}]}`,
			full},
		{"a new key beyond the limit is left out and counted",
			`{"key": "d", "row": {"v": 1}}`,
			`{"ops": [], "refused": 1}`,
			`{"rows": {"a": {"v": 1}, "b": {"v": 1}, "c": {"v": 1}}, "refused": 1}`},
		{"a batch that updates a live row and adds a new one applies the update",
			`{"ops": [{"key": "a", "row": {"v": 2}}, {"key": "e", "row": {"v": 1}}]}`,
			`{"ops": [{"key": "a", "row": {"v": 2}}], "refused": 2}`,
			`{"rows": {"a": {"v": 2}, "b": {"v": 1}, "c": {"v": 1}}, "refused": 2}`},
		{"a batch that deletes first makes room for a refused key",
			`{"ops": [{"key": "b", "delete": true}, {"key": "d", "row": {"v": 4}}]}`,
			`{"ops": [{"key": "b", "delete": true}, {"key": "d", "row": {"v": 4}}], "refused": 1}`,
			`{"rows": {"a": {"v": 2}, "c": {"v": 1}, "d": {"v": 4}}, "refused": 1}`},
	})
	if got := e.health(t).Rejected; got != 0 {
		t.Errorf("/healthz rejected %d, want 0: nothing was rejected whole", got)
	}
	if got := e.metrics(t)[`streamviz_updates_rejected_total{reason="table row limit reached"}`]; got != 2 {
		t.Errorf("refused keys counted %v, want 2 (d and e)", got)
	}
}
