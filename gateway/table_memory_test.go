package gateway

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// intKeysUpdate is a columnar update of the given int64 keys, each row
// {"s": a 200-byte string}.
func intKeysUpdate(t *testing.T, keys []int64) *Update {
	t.Helper()
	vals := make([]string, len(keys))
	for i := range vals {
		vals[i] = `"` + strings.Repeat("p", 200) + `"`
	}
	u, err := DecodeUpdate(EncodeTableColumnsIntKeys(keys, []TableColumn{{Name: "s", JSON: vals}}, nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func seqKeys(lo, n int) []int64 {
	keys := make([]int64, n)
	for i := range keys {
		keys[i] = int64(lo + i)
	}
	return keys
}

// A columnar update the row limit or a byte limit cuts short: the few rows
// that apply get their own JSON, so that they do not keep the whole message
// (and its size table) alive while counting only as their JSON.
func TestColumnarUpdateCutShortByALimitKeepsNoReferenceToItsMessage(t *testing.T) {
	for _, tc := range []struct {
		name              string
		maxRows, maxBytes int
	}{
		{"row limit", 10, 1 << 30},
		{"byte limit", 1 << 20, widgetCost + 9*tableRowCost("x0", 7) + 3*tableRowCost("1000", 208)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWidget(DefaultConfig("t", TypeTable, 10))
			w.bytes = widgetCost
			var ops []string
			for i := 0; i < 9; i++ {
				ops = append(ops, fmt.Sprintf(`{"key":"x%d","row":{"v":1}}`, i))
			}
			u0, err := DecodeUpdate([]byte(`{"ops":[`+strings.Join(ops, ",")+`]}`), 0)
			if err != nil {
				t.Fatal(err)
			}
			_, _, d, _ := w.applyTable(u0, tc.maxRows, tc.maxBytes, 1<<30)
			w.bytes += d

			u := intKeysUpdate(t, seqKeys(1000, 100))
			blk := u.Table.blk
			refused, dropped, d, _ := w.applyTable(u, tc.maxRows, tc.maxBytes, 1<<30)
			w.bytes += d
			applied := len(w.rows) - 9
			if applied == 0 || applied >= 25 || refused+dropped != 100-applied {
				t.Fatalf("%d rows applied, %d refused, %d dropped: want a few applied, the rest left out", applied, refused, dropped)
			}
			for k, r := range w.rows {
				if r.blk != nil {
					t.Errorf("row %q still refers to the message (block live %d of %d)", k, blk.live, blk.n)
				}
			}
			if blk.live != 0 {
				t.Errorf("block counts %d live rows", blk.live)
			}
			if w.bytes != w.measure() {
				t.Errorf("bytes %d, measured %d", w.bytes, w.measure())
			}
			want := `{"s":"` + strings.Repeat("p", 200) + `"}`
			if r := w.rows["1000"]; r == nil || string(r.appendTo(nil)) != want {
				t.Errorf("row 1000 lost its JSON")
			}
		})
	}
}

// checkIntIndex fails unless every int key's row is found by number and
// dense is within its bounds for the table's rows.
func checkIntIndex(t *testing.T, w *widget, at string) {
	t.Helper()
	for k, r := range w.rows {
		if v, ok := intKey(k); ok && w.intRow(v) != r {
			t.Fatalf("%s: key %q not found by number", at, k)
		}
	}
	if len(w.dense) > 4*len(w.rows)+denseMin {
		t.Fatalf("%s: dense has %d slots for %d rows", at, len(w.dense), len(w.rows))
	}
}

// The index of small whole-number keys (dense) takes memory in proportion
// to the rows, which is what the byte limits count: a small or sparse table
// does not get a slice of 1,024 slots, and a table whose rows are deleted
// gives its slice back, while a dense table keeps it (the fast path).
func TestIntKeyIndexTakesMemoryInProportionToTheRows(t *testing.T) {
	w := newWidget(DefaultConfig("t", TypeTable, 10))
	applyUnlimited(t, w, intKeysUpdate(t, []int64{5}))
	checkIntIndex(t, w, "one row keyed 5")

	w = newWidget(DefaultConfig("t", TypeTable, 10))
	applyUnlimited(t, w, intKeysUpdate(t, seqKeys(1000, 100)))
	checkIntIndex(t, w, "100 rows keyed 1000..1099")

	const n = 10000
	w = newWidget(DefaultConfig("t", TypeTable, 10))
	applyUnlimited(t, w, intKeysUpdate(t, seqKeys(0, n)))
	checkIntIndex(t, w, "rows 0..9999")
	if len(w.dense) < n {
		t.Fatalf("a table keyed 0..%d holds only %d of them in dense", n-1, len(w.dense))
	}
	// Delete all but every 100th row, then every row.
	var del []string
	for i := 0; i < n; i++ {
		if i%100 != 0 {
			del = append(del, fmt.Sprintf(`{"key":"%d","delete":true}`, i))
		}
	}
	u, err := DecodeUpdate([]byte(`{"ops":[`+strings.Join(del, ",")+`]}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	applyUnlimited(t, w, u)
	checkIntIndex(t, w, "every 100th row left")
	if len(w.rows) != n/100 {
		t.Fatalf("%d rows", len(w.rows))
	}
	// Rows put back are found again, in dense or ints.
	applyUnlimited(t, w, intKeysUpdate(t, seqKeys(0, 300)))
	checkIntIndex(t, w, "rows 0..299 put back")
	del = del[:0]
	for k := range w.rows {
		del = append(del, `{"key":`+strconv.Quote(k)+`,"delete":true}`)
	}
	u, err = DecodeUpdate([]byte(`{"ops":[`+strings.Join(del, ",")+`]}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	applyUnlimited(t, w, u)
	if len(w.rows) != 0 || w.dense != nil {
		t.Fatalf("empty table: %d rows, dense %d slots", len(w.rows), len(w.dense))
	}
}

// widget.apply (no limits) and loadState replace and delete rows that refer
// to a columnar update's block: the block's live count drops with them, and
// a block left with under a quarter of its rows is compacted, as applyTable
// does.
func TestApplyAndLoadStateReleaseTheBlockRowsTheyReplace(t *testing.T) {
	w := newWidget(DefaultConfig("t", TypeTable, 10))
	u := intKeysUpdate(t, seqKeys(0, 8))
	blk := u.Table.blk
	applyUnlimited(t, w, u)
	if blk.live != 8 {
		t.Fatalf("live %d", blk.live)
	}
	j, err := DecodeUpdate([]byte(`{"ops":[{"key":"0","row":{"v":1}},{"key":"1","delete":true}]}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	w.apply(j)
	checkBlocksLive(t, w, "after apply")
	if blk.live != 6 {
		t.Fatalf("apply: block live %d, want 6", blk.live)
	}

	src := newWidget(DefaultConfig("t", TypeTable, 10))
	var ops []string
	for i := 2; i < 7; i++ {
		ops = append(ops, fmt.Sprintf(`{"key":"%d","row":{"v":%d}}`, i, i))
	}
	s, err := DecodeUpdate([]byte(`{"ops":[`+strings.Join(ops, ",")+`]}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	applyUnlimited(t, src, s)
	if err := w.loadState(src.appendState(nil)); err != nil {
		t.Fatal(err)
	}
	checkBlocksLive(t, w, "after loadState")
	if blk.live != 0 {
		t.Fatalf("loadState: block live %d, want 0 (1 of 8 left: compacted)", blk.live)
	}
	for k, r := range w.rows {
		if r.blk != nil {
			t.Errorf("row %q still refers to the block", k)
		}
	}
}
