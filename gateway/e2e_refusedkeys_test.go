package gateway

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// A table at its row limit remembered up to 100,000 of the new keys it
// refused (for its "showing n of m rows"), and no byte limit counted them:
// 10 tables of 10 rows offered 100,000 new keys of 200 bytes each took the
// heap to 650 MB while streamviz_state_bytes said 32 KB (found by the soak
// of a dashboard whose tables churn keys). What a table remembers of its
// refused keys now takes at most the bytes its state is counted at; every
// refusal is still counted in /metrics, and the count shown saturates.
func TestATableRemembersRefusedKeysOnlyWithinItsOwnCountedBytes(t *testing.T) {
	for _, c := range []struct {
		name string
		ops  func(batch, n int) string
	}{
		{"JSON ops", func(batch, n int) string {
			ops := make([]string, n)
			for i := range ops {
				ops[i] = fmt.Sprintf(`{"key": "%d-%d-%s", "row": {"v": 1}}`, batch, i, strings.Repeat("k", 200))
			}
			return `{"ops": [` + strings.Join(ops, ",") + `]}`
		}},
		{"single upserts", func(batch, n int) string {
			return fmt.Sprintf(`{"key": "%d-%s", "row": {"v": 1}}`, batch, strings.Repeat("k", 200))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := startEnv(t, Config{MaxTableRows: 2})
			e.publish(t, "sv.t.config", `{"type": "table"}`)
			e.publish(t, "sv.t.data", `{"ops": [{"key": "a", "row": {"v": 1}}, {"key": "b", "row": {"v": 2}}]}`)
			const batches, per = 20, 100
			offered := 0
			var last uint64
			for b := range batches {
				payload := c.ops(b, per)
				n := strings.Count(payload, `"key"`)
				offered += n
				if _, err := e.publishInput(t, "sv.t.data", payload); err != nil {
					t.Fatal(err)
				}
				last = e.publish(t, "sv.t.data", `{"key": "a", "row": {"v": 3}}`)
			}
			e.waitSeq(t, last)
			e.g.state.mu.Lock()
			w := e.g.state.widgets["t"]
			held, counted, shown := 0, w.bytes, w.refused
			for k := range w.refusedSet {
				held += len(k) + 48
			}
			e.g.state.mu.Unlock()
			if held > counted {
				t.Fatalf("the table's refused keys take %d bytes, over the %d its state is counted at", held, counted)
			}
			if got := rejectedFor(t, e, "table row limit reached"); got != float64(offered) {
				t.Fatalf(`rejected{reason="table row limit reached"} = %v, want every one of the %d new keys`, got, offered)
			}
			var st struct {
				Rows    map[string]json.RawMessage `json:"rows"`
				Refused int                        `json:"refused"`
			}
			if err := json.Unmarshal(e.widgetState(t, "t"), &st); err != nil {
				t.Fatal(err)
			}
			if len(st.Rows) != 2 || st.Refused != shown || shown < 1 || shown > offered {
				t.Fatalf("state %d rows, %d refused (remembered %d of %d offered); want the 2 rows and the count remembered", len(st.Rows), st.Refused, shown, offered)
			}
		})
	}
}
