package gateway

import (
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

// Random mixes of JSON ops and columnar updates (int64 and text keys that
// collide: 7 vs "7", "07", "-0", 2^53+1, MinInt64), at row and byte limits:
// the columnar table ends in the same state, bytes, refused counts, events
// and, after a restart from its state, the same state again, as a table fed
// the same rows as JSON ops. Every block a row still refers to counts those
// rows as live and holds at least a quarter of its rows live (compact): no
// block outlives most of its rows, even when the limits cut it short.
func TestColumnarUpdatesLeaveTheSameTableAsJSONOps(t *testing.T) {
	intPool := []int64{0, 1, 7, 8, -1, -7, 1 << 53, 1<<53 + 1, math.MaxInt64, math.MinInt64, 1023, 1024, 5000, 100000}
	textPool := []string{"7", "07", "-0", "+7", "0", "a", "8", "9007199254740993", "-9223372036854775808", "x\"y", "é", "1024", "5000"}
	for seed := int64(0); seed < 300; seed++ {
		rng := rand.New(rand.NewSource(seed))
		maxRows := 3 + rng.Intn(12)
		maxBytes := widgetCost + 200 + rng.Intn(2000)
		if rng.Intn(3) == 0 {
			maxBytes = 1 << 30
		}
		wc := newWidget(DefaultConfig("t", TypeTable, 10))
		wj := newWidget(DefaultConfig("t", TypeTable, 10))
		for step := 0; step < 30; step++ {
			var uc, uj *Update
			if rng.Intn(3) == 0 {
				// JSON ops to both
				var ops []string
				for k := 0; k < 1+rng.Intn(4); k++ {
					var key string
					if rng.Intn(2) == 0 {
						key = strconv.FormatInt(intPool[rng.Intn(len(intPool))], 10)
					} else {
						key = textPool[rng.Intn(len(textPool))]
					}
					if rng.Intn(3) == 0 {
						ops = append(ops, fmt.Sprintf(`{"key":%q,"delete":true}`, key))
					} else {
						ops = append(ops, fmt.Sprintf(`{"key":%q,"row":{"v":%d,"s":"%s"}}`, key, rng.Intn(100), strings.Repeat("z", rng.Intn(40))))
					}
				}
				b := []byte(`{"ops":[` + strings.Join(ops, ",") + `]}`)
				var err error
				if uc, err = DecodeUpdate(b, 0); err != nil {
					t.Fatal(err)
				}
				uj, _ = DecodeUpdate(b, 0)
			} else {
				n := rng.Intn(8)
				vs := make([]float64, n)
				ss := make([]string, n)
				for i := range vs {
					vs[i] = float64(rng.Intn(100)) / 4
					ss[i] = `"` + strings.Repeat("q", rng.Intn(40)) + `"`
				}
				cols := []TableColumn{{Name: "v", F64: vs}, {Name: "s", JSON: ss}}
				var msg []byte
				if rng.Intn(2) == 0 {
					keys := make([]int64, n)
					for i := range keys {
						keys[i] = intPool[rng.Intn(len(intPool))]
					}
					msg = EncodeTableColumnsIntKeys(keys, cols, nil)
				} else {
					keys := make([]string, n)
					for i := range keys {
						keys[i] = textPool[rng.Intn(len(textPool))]
					}
					msg = EncodeTableColumns(keys, cols, nil)
				}
				var err error
				if uc, err = DecodeUpdate(msg, 0); err != nil {
					t.Fatal(err)
				}
				u2, _ := DecodeUpdate(msg, 0)
				js := string(u2.encode(nil))
				if uj, err = DecodeUpdate([]byte(js), 0); err != nil {
					t.Fatalf("seed %d: %s: %v", seed, js, err)
				}
			}
			rc, dc, dlc, _ := wc.applyTable(uc, maxRows, maxBytes, 1<<30)
			wc.bytes += dlc
			rj, dj, dlj, _ := wj.applyTable(uj, maxRows, maxBytes, 1<<30)
			wj.bytes += dlj
			if rc != rj || dc != dj || wc.bytes != wj.bytes {
				t.Fatalf("seed %d step %d: columns refused/dropped/bytes %d/%d/%d, JSON %d/%d/%d", seed, step, rc, dc, wc.bytes, rj, dj, wj.bytes)
			}
			if a, b := string(wc.appendState(nil)), string(wj.appendState(nil)); a != b {
				t.Fatalf("seed %d step %d: state\n %s\nJSON\n %s", seed, step, a, b)
			}
			if a, b := string(uc.encode(nil)), string(uj.encode(nil)); a != b {
				t.Fatalf("seed %d step %d: event\n %s\nJSON\n %s", seed, step, a, b)
			}
			if wc.bytes != wc.measure() {
				t.Fatalf("seed %d step %d: bytes %d measure %d", seed, step, wc.bytes, wc.measure())
			}
			// dense / ints consistent with rows
			for k, r := range wc.rows {
				if v, ok := intKey(k); ok && wc.intRow(v) != r {
					t.Fatalf("seed %d step %d: int index of %q stale", seed, step, k)
				}
			}
			if len(wc.ints) > len(wc.rows) {
				t.Fatalf("ints has %d, rows %d", len(wc.ints), len(wc.rows))
			}
			for v, r := range wc.ints {
				if wc.rows[strconv.FormatInt(v, 10)] != r {
					t.Fatalf("seed %d: ints[%d] not a row", seed, v)
				}
			}
			for v, r := range wc.dense {
				if r != nil && wc.rows[strconv.Itoa(v)] != r {
					t.Fatalf("seed %d: dense[%d] stale", seed, v)
				}
			}
			checkBlocksLive(t, wc, fmt.Sprintf("seed %d step %d", seed, step))
			// restart: state reloaded equals
			if step%7 == 6 {
				st := wc.appendState(nil)
				w2 := newWidget(DefaultConfig("t", TypeTable, 10))
				if err := w2.loadState(st); err != nil {
					t.Fatal(err)
				}
				if a := string(w2.appendState(nil)); a != string(st) {
					t.Fatalf("seed %d: reloaded\n %s\nwas\n %s", seed, a, st)
				}
				w2.bytes = w2.measure()
				if w2.bytes != wc.bytes {
					t.Fatalf("seed %d: reloaded bytes %d, was %d", seed, w2.bytes, wc.bytes)
				}
			}
		}
	}
}

// checkBlocksLive fails unless each block w's rows refer to counts exactly
// those rows as live and holds at least a quarter of its rows live.
func checkBlocksLive(t *testing.T, w *widget, at string) {
	t.Helper()
	refs := map[*colBlock]int{}
	for _, r := range w.rows {
		if r.blk != nil {
			refs[r.blk]++
		}
	}
	for blk, n := range refs {
		if blk.live != n {
			t.Fatalf("%s: a block counts %d live rows, %d refer to it", at, blk.live, n)
		}
		if 4*n < blk.n {
			t.Fatalf("%s: %d rows keep a block of %d alive", at, n, blk.n)
		}
	}
}
