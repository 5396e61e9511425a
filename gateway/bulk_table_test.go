package gateway

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

// A columnar table update (docs/protocol.md §1.8) becomes exactly the
// update its rows would be as JSON ops: same keys, same rows, same as_of.
func TestTableColumnsDecodeToTheOpsOfTheSameRowsAsJSON(t *testing.T) {
	asOf := 42.0
	msg := EncodeTableColumns([]string{"eu", "7", "us"}, []TableColumn{
		{Name: "region", JSON: []string{`"eu"`, `"asia"`, ` "us" `}},
		{Name: "n", I64: []int64{1, -9007199254740993, 0}},
		{Name: "revenue", F64: []float64{10.5, math.NaN(), math.Inf(-1)}},
		{Name: "tags", JSON: []string{`[1, {"a": null}]`, `null`, `true`}},
	}, &asOf)
	got, err := DecodeUpdate(msg, 0)
	if err != nil {
		t.Fatal(err)
	}
	want, err := DecodeUpdate([]byte(`{"ops": [
		{"key": "eu", "row": {"region": "eu", "n": 1, "revenue": 10.5, "tags": [1, {"a": null}]}},
		{"key": 7, "row": {"region": "asia", "n": -9007199254740993, "revenue": null, "tags": null}},
		{"key": "us", "row": {"region": "us", "n": 0, "revenue": null, "tags": true}}], "as_of": 42}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := string(got.encode(nil)), string(want.encode(nil)); g != w {
		t.Fatalf("columns decode to\n %s\nJSON ops to\n %s", g, w)
	}
	empty, err := DecodeUpdate(EncodeTableColumns(nil, []TableColumn{{Name: "a", F64: []float64{}}}, nil), 0)
	if err != nil || empty.Table == nil || len(empty.Table.Ops) != 0 {
		t.Fatalf("no rows: %v, %+v", err, empty)
	}
}

func TestTableColumnsThatDoNotHoldTogetherAreRefusedNamingTheProblem(t *testing.T) {
	good := EncodeTableColumns([]string{"a", "b"}, []TableColumn{{Name: "v", F64: []float64{1, 2}}}, nil)
	head := func(h string, rest []byte) []byte {
		b := append([]byte("SVT1"), binary.LittleEndian.AppendUint32(nil, uint32(len(h)))...)
		return append(append(b, h...), rest...)
	}
	keysAB := []byte{1, 0, 0, 0, 1, 0, 0, 0, 'a', 'b'}
	f64s2 := f64s(1, 2)
	cases := []struct {
		name string
		msg  []byte
		want string
	}{
		{"truncated", good[:len(good)-1], `column "v" needs 16 bytes, 15 left`},
		{"padded", append(append([]byte(nil), good...), 0), "1 bytes after the last column"},
		{"short", []byte("SVT1"), "shorter than the 8-byte start"},
		{"head past the end", head(`{"n":2}`, nil)[:10], "the head needs 7 bytes"},
		{"no n", head(`{"columns":["v"],"types":["f64"]}`, nil), `needs "n"`},
		{"n beyond the message", head(`{"n":1000,"columns":["v"],"types":["f64"]}`, nil), `needs "n"`},
		{"types missing", head(`{"n":2,"columns":["v"]}`, append(keysAB, f64s2...)), `and as many "types", got 1 and 0`},
		{"unknown type", head(`{"n":2,"columns":["v"],"types":["f32"]}`, append(keysAB, f64s2...)), `type "f32": want f64, i64 or json`},
		{"a column twice", head(`{"n":2,"columns":["v","v"],"types":["f64","f64"]}`, append(append(keysAB, f64s2...), f64s2...)), `column "v" given twice`},
		{"empty key", head(`{"n":1,"columns":["v"],"types":["f64"]}`, append([]byte{0, 0, 0, 0}, f64s(1)...)), "keys[0]: want 1 to 256 bytes"},
		{"long key", EncodeTableColumns([]string{strings.Repeat("k", 257)}, []TableColumn{{Name: "v", F64: []float64{1}}}, nil), "keys[0]: want 1 to 256 bytes"},
		{"key not UTF-8", EncodeTableColumns([]string{"\xff"}, []TableColumn{{Name: "v", F64: []float64{1}}}, nil), "keys[0]: not valid UTF-8"},
		{"cell not JSON", EncodeTableColumns([]string{"a"}, []TableColumn{{Name: "s", JSON: []string{`{"a":`}}}, nil), `column "s"[0]`},
		{"two values in a cell", EncodeTableColumns([]string{"a"}, []TableColumn{{Name: "s", JSON: []string{`1 2`}}}, nil), "is not one JSON value"},
		{"cell not UTF-8", EncodeTableColumns([]string{"a"}, []TableColumn{{Name: "s", JSON: []string{"\"\xff\""}}}, nil), "not valid UTF-8"},
		{"cell too deep", EncodeTableColumns([]string{"a"}, []TableColumn{{Name: "s", JSON: []string{strings.Repeat("[", 40) + strings.Repeat("]", 40)}}}, nil), "deep"},
		{"cell length past the end", head(`{"n":1,"columns":["s"],"types":["json"]}`, append([]byte{1, 0, 0, 0, 'a'}, 9, 0, 0, 0, '1')), `column "s"[0] needs 9 bytes, 1 left`},
		// One long column name over many one-byte rows: as JSON every row
		// repeats the name, which would ask for n × the name's bytes.
		{"rows far larger than the message", manyRowsLongName(2000, 20000), "more than 64 times the message"},
		{"unknown key type", head(`{"n":2,"columns":["v"],"types":["f64"],"key_type":"u8"}`, append(keysAB, f64s2...)), `key_type "u8": want text or i64`},
		{"int keys short", head(`{"n":2,"columns":["v"],"types":["f64"],"key_type":"i64"}`, append(make([]byte, 12), f64s2...)), "table columns: column \"v\" needs 16 bytes, 12 left"},
		{"a repeated cell that is not JSON", EncodeTableColumns([]string{"a", "b", "c"}, []TableColumn{{Name: "s", JSON: []string{`"x"`, `{"a":`, `{"a":`}}}, nil), `column "s"[1]`},
		{"a number cell with a leading zero", EncodeTableColumns([]string{"a"}, []TableColumn{{Name: "s", JSON: []string{`01`}}}, nil), `column "s"[0]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeUpdate(tc.msg, 0)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if !errors.Is(err, ErrBadShape) && !errors.Is(err, ErrBadJSON) && !errors.Is(err, ErrTooDeep) {
				t.Errorf("%v is not bad shape, bad JSON or too deep", err)
			}
		})
	}
}

// manyRowsLongName is a columnar table update of n rows with one-byte keys
// and cells under one column whose name is nameBytes long.
func manyRowsLongName(n, nameBytes int) []byte {
	keys := make([]string, n)
	cells := make([]string, n)
	for i := range keys {
		keys[i], cells[i] = "k", "0"
	}
	return EncodeTableColumns(keys, []TableColumn{{Name: strings.Repeat("a", nameBytes), JSON: cells}}, nil)
}

// A key column of whole numbers may go as int64 keys (key_type "i64"): each
// row is keyed by its number's decimal text, as .send() keys it.
func TestTableColumnsWithIntKeysAreKeyedByTheirDecimalText(t *testing.T) {
	msg := EncodeTableColumnsIntKeys([]int64{7, -3, 0, math.MaxInt64, math.MinInt64}, []TableColumn{
		{Name: "v", F64: []float64{1, 2, 3, 4, 5}},
	}, nil)
	got, err := DecodeUpdate(msg, 0)
	if err != nil {
		t.Fatal(err)
	}
	want, err := DecodeUpdate([]byte(`{"ops": [{"key": 7, "row": {"v": 1}}, {"key": -3, "row": {"v": 2}}, {"key": 0, "row": {"v": 3}},
		{"key": "9223372036854775807", "row": {"v": 4}}, {"key": "-9223372036854775808", "row": {"v": 5}}]}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := string(got.encode(nil)), string(want.encode(nil)); g != w {
		t.Fatalf("int keys decode to\n %s\nJSON ops to\n %s", g, w)
	}
}

// Cells that need no parsing (plain strings, numbers, literals) and cells
// that do (escapes, spaces, objects, repeats of either) make the rows the
// JSON ops of the same values make.
func TestTableCellsOfEveryFormMakeTheRowsOfTheSameJSON(t *testing.T) {
	cells := []string{`"plain"`, `"plain"`, `"café \"q\""`, `"café"`, `-0.5e+3`, `0`, `12`, `true`, `false`, `null`,
		` 1 `, `{"a": [1, 2]}`, `{"a": [1, 2]}`, `"tab\there"`, `1E400`, `-0`}
	keys := make([]string, len(cells))
	ops := make([]string, len(cells))
	for i, c := range cells {
		keys[i] = strconv.Itoa(i)
		ops[i] = `{"key":"` + keys[i] + `","row":{"c":` + c + `}}`
	}
	got, err := DecodeUpdate(EncodeTableColumns(keys, []TableColumn{{Name: "c", JSON: cells}}, nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	want, err := DecodeUpdate([]byte(`{"ops":[`+strings.Join(ops, ",")+`]}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := string(got.encode(nil)), string(want.encode(nil)); g != w {
		t.Fatalf("cells decode to\n %s\nJSON ops to\n %s", g, w)
	}
}

// The quick check of a cell accepts only what the full one accepts, and
// only text the full one would leave as it is.
func TestPlainCellsAreExactlyCellsThatNeedNoCompacting(t *testing.T) {
	for _, c := range []string{`"x"`, `""`, `"é"`, "\"\xff\"", `"a\"b"`, `"a"b"`, `"\u0000"`, "\"\x01\"", `0`, `-0`, `01`, `1.`, `.5`,
		`1e`, `1e+`, `1.5E-7`, `-`, `+1`, `tru`, `true `, `nul`, `null`, `[1]`, `{}`, ` "x"`, `"x" `, `NaN`, `Infinity`} {
		plain := plainCell([]byte(c))
		full := checkCell([]byte(c)) == nil && string(compactCell([]byte(c))) == c
		if plain && !full {
			t.Errorf("%q: the quick check accepts what the full check refuses or compacts", c)
		}
	}
}

// Floats that are whole numbers print as the same text either way.
func TestWholeFloatsPrintAsAppendFloatPrintsThem(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 2.5, 1e14, 999999999999999, 1e15, -1e15, 1e21, 1e-7, 123456789.0, math.NaN(), math.Inf(1), 4503599627370497} {
		if g, w := string(appendFloatFast(nil, f)), string(appendFloat(nil, f)); g != w {
			t.Errorf("%v: %s, want %s", f, g, w)
		}
	}
}

// A columnar table update's event prints its rows' ops only when a text
// frame first needs them (docs/protocol.md §2.4): a binary socket gets the
// message, and the text frame, printed later, is the event the JSON ops of
// the same rows make, refused count and as_of included.
func TestAColumnarTableEventPrintsItsOpsOnlyForATextFrame(t *testing.T) {
	asOf := 7.0
	refused := 3
	cols := EncodeTableColumnsIntKeys([]int64{1, -2}, []TableColumn{{Name: "v", F64: []float64{0.5, 2}}, {Name: "s", JSON: []string{`"a"`, `"a"`}}}, &asOf)
	u, err := DecodeUpdate(cols, 0)
	if err != nil {
		t.Fatal(err)
	}
	u.Table.Refused = &refused
	ev := dataEvent(5, 4, "t", u)
	e := logEntry{seq: 5, prev: 4, id: "t", ev: ev.b, head: ev.head, cols: ev.cols}
	if _, isBinary := frameEvents([]logEntry{e}, 4, true); !isBinary {
		t.Fatal("a binary socket's frame is not binary")
	}
	if ev.cols == nil || ev.cols.table == nil || ev.cols.table.text != nil {
		t.Fatalf("after a binary frame the ops are printed already: %+v", ev.cols)
	}
	text, _ := frameEvents([]logEntry{e}, 4, false)
	ops, err := DecodeUpdate([]byte(`{"ops": [{"key": "1", "row": {"v": 0.5, "s": "a"}}, {"key": "-2", "row": {"v": 2, "s": "a"}}], "as_of": 7}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	ops.Table.Refused = &refused
	want, _ := frameEvents([]logEntry{{seq: 5, prev: 4, id: "t", ev: dataEvent(5, 4, "t", ops).b, head: ev.head}}, 4, false)
	if string(text) != string(want) {
		t.Errorf("text frame\n %s\nwant\n %s", text, want)
	}
}

// A keyed table fed columnar updates keeps their rows in the updates'
// blocks (colBlock) and counts each row as its JSON: the same state, the
// same bytes, the same rows left out at the row and byte limits as the JSON
// ops of the same rows, with floats whole and not, NaN, -0 and big ints.
func TestColumnarRowsCountAndLimitLikeTheirJSONOps(t *testing.T) {
	keys := []int64{1, 2, 3, 4, 5, 6}
	cols := []TableColumn{
		{Name: "f", F64: []float64{0.1, 2, math.NaN(), math.Copysign(0, -1), 1e21, -123.456}},
		{Name: "i", I64: []int64{0, -1, 9007199254740993, math.MinInt64, 10, 99}},
		{Name: "s", JSON: []string{`"a"`, `"a"`, ` [1, 2] `, `null`, `{"x": "y"}`, `"ü"`}},
	}
	msg := EncodeTableColumnsIntKeys(keys, cols, nil)
	for _, lim := range []struct{ rows, bytes int }{{100, 1 << 20}, {4, 1 << 20}, {100, widgetCost + 4*100}, {3, widgetCost + 2*100}} {
		name := fmt.Sprintf("rows %d, bytes %d", lim.rows, lim.bytes)
		colsU, err := DecodeUpdate(msg, 0)
		if err != nil {
			t.Fatal(err)
		}
		opsU, err := DecodeUpdate([]byte(`{"ops":`+strings.TrimPrefix(string(colsU.encode(nil)), `{"ops":`)), 0)
		if err != nil {
			t.Fatal(err)
		}
		var ws [2]*widget
		var res [2][3]int
		for k, u := range []*Update{colsU, opsU} {
			w := newWidget(DefaultConfig("t", TypeTable, 10))
			refused, dropped, delta, _ := w.applyTable(u, lim.rows, lim.bytes, 1<<30)
			w.bytes += delta
			ws[k], res[k] = w, [3]int{refused, dropped, w.bytes}
		}
		if res[0] != res[1] {
			t.Errorf("%s: columns refused, dropped, bytes %v; JSON ops %v", name, res[0], res[1])
		}
		if ws[0].bytes != ws[0].measure() {
			t.Errorf("%s: counted %d bytes, the rows measure %d", name, ws[0].bytes, ws[0].measure())
		}
		if a, b := string(ws[0].appendState(nil)), string(ws[1].appendState(nil)); a != b {
			t.Errorf("%s: state from columns\n %s\nfrom JSON ops\n %s", name, a, b)
		}
		if a, b := string(colsU.encode(nil)), string(opsU.encode(nil)); a != b {
			t.Errorf("%s: the applied update from columns\n %s\nfrom JSON ops\n %s", name, a, b)
		}
	}
}

// Rows of a columnar update that later updates mostly replaced get their
// own JSON, so a few rows never keep a whole message alive; rows of an
// update wholly replaced leave nothing of it behind. The state is the same
// either way.
func TestABlockMostlyReplacedGivesItsLastRowsTheirOwnJSON(t *testing.T) {
	w := newWidget(DefaultConfig("t", TypeTable, 10))
	apply := func(u *Update) { t.Helper(); applyUnlimited(t, w, u) }
	keys := make([]int64, 100)
	vals := make([]float64, 100)
	for i := range keys {
		keys[i], vals[i] = int64(i), float64(i)+0.5
	}
	first, _ := DecodeUpdate(EncodeTableColumnsIntKeys(keys, []TableColumn{{Name: "v", F64: vals}}, nil), 0)
	apply(first)
	blk := first.Table.blk
	if blk.live != 100 || w.rows["7"].blk != blk {
		t.Fatalf("the rows should refer to their block: live %d, row 7 %+v", blk.live, w.rows["7"])
	}
	before := string(w.appendState(nil))
	// 70 of them replaced by the same rows as JSON: 30 left, no compaction.
	var ops []string
	for i := range 70 {
		ops = append(ops, fmt.Sprintf(`{"key":"%d","row":{"v":%v}}`, i, vals[i]))
	}
	u, err := DecodeUpdate([]byte(`{"ops":[`+strings.Join(ops, ",")+`]}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	apply(u)
	if blk.live != 30 || w.rows["99"].blk != blk {
		t.Fatalf("with 30 of 100 rows live the block stays: live %d", blk.live)
	}
	// Ten more: 20 of 100, under a quarter, so the rest get their own JSON.
	u, _ = DecodeUpdate([]byte(`{"ops":[`+strings.Join(ops[:0], ",")+`{"key":"70","delete":true},{"key":"71","delete":true},{"key":"72","delete":true},{"key":"73","delete":true},{"key":"74","delete":true},{"key":"75","delete":true},{"key":"76","delete":true},{"key":"77","delete":true},{"key":"78","delete":true},{"key":"79","delete":true}]}`), 0)
	apply(u)
	if blk.live != 0 {
		t.Fatalf("block still referred to by %d rows", blk.live)
	}
	for k, r := range w.rows {
		if r.blk != nil || r.raw == nil {
			t.Fatalf("row %s still in a block: %+v", k, r)
		}
	}
	want := before
	for i := 70; i < 80; i++ {
		want = strings.Replace(want, fmt.Sprintf(`"%d":{"v":%v},`, i, vals[i]), "", 1)
	}
	if got := string(w.appendState(nil)); got != want {
		t.Errorf("state after compaction\n %s\nwant\n %s", got, want)
	}
	if w.bytes != w.measure() {
		t.Errorf("counted %d bytes, the rows measure %d", w.bytes, w.measure())
	}
}

// Int64 keys (key_type "i64") find the rows of the keys that are their
// decimal text, however those rows came, and only those: "07", "+7" and
// "-0" are other keys.
func TestInt64KeysFindExactlyTheRowsKeyedByTheirDecimalText(t *testing.T) {
	w := newWidget(DefaultConfig("t", TypeTable, 10))
	apply := func(u *Update) { t.Helper(); applyUnlimited(t, w, u) }
	u, err := DecodeUpdate([]byte(`{"ops":[{"key":"7","row":{"v":"json"}},{"key":"07","row":{"v":"zero-seven"}},{"key":"+7","row":{"v":"plus"}},{"key":"-0","row":{"v":"minus zero"}},{"key":"-9223372036854775808","row":{"v":"min"}},{"key":"x","row":{"v":"x"}}]}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	apply(u)
	cols, _ := DecodeUpdate(EncodeTableColumnsIntKeys([]int64{7, 0, math.MinInt64}, []TableColumn{{Name: "v", JSON: []string{`"seven"`, `"zero"`, `"MIN"`}}}, nil), 0)
	apply(cols)
	want := `{"rows":{"+7":{"v":"plus"},"-0":{"v":"minus zero"},"-9223372036854775808":{"v":"MIN"},"0":{"v":"zero"},"07":{"v":"zero-seven"},"7":{"v":"seven"},"x":{"v":"x"}}}`
	if got := string(w.appendState(nil)); got != want {
		t.Errorf("state\n %s\nwant\n %s", got, want)
	}
	// Deleted as text, the row is gone for int64 keys too: 7 comes back new.
	del, _ := DecodeUpdate([]byte(`{"ops":[{"key":"7","delete":true}]}`), 0)
	apply(del)
	again, _ := DecodeUpdate(EncodeTableColumnsIntKeys([]int64{7}, []TableColumn{{Name: "v", JSON: []string{`"back"`}}}, nil), 0)
	apply(again)
	if got := string(w.appendState(nil)); !strings.Contains(got, `"7":{"v":"back"}`) || len(w.rows) != 7 || len(w.ints) != 3 {
		t.Errorf("after a delete and an upsert of 7: %s (%d rows, %d by number)", got, len(w.rows), len(w.ints))
	}
	if w.bytes != w.measure() {
		t.Errorf("counted %d bytes, the rows measure %d", w.bytes, w.measure())
	}
}

// However its rows came and went (columns with int64 keys, small and
// large, negative; JSON upserts and deletes of the same keys as text), a
// table holds exactly what the JSON ops alone make of them.
func TestIntKeyedRowsComeAndGoAsTheirJSONOpsWould(t *testing.T) {
	var ws [2]*widget
	for k := range ws {
		ws[k] = newWidget(DefaultConfig("t", TypeTable, 10))
	}
	apply := func(k int, u *Update) { t.Helper(); applyUnlimited(t, ws[k], u) }
	step := 0
	both := func(keys []int64) {
		t.Helper()
		step++
		vals := make([]int64, len(keys))
		ops := make([]string, len(keys))
		for i, k := range keys {
			vals[i] = int64(step)
			ops[i] = fmt.Sprintf(`{"key":"%d","row":{"v":%d}}`, k, step)
		}
		cols, err := DecodeUpdate(EncodeTableColumnsIntKeys(keys, []TableColumn{{Name: "v", I64: vals}}, nil), 0)
		if err != nil {
			t.Fatal(err)
		}
		apply(0, cols)
		u, err := DecodeUpdate([]byte(`{"ops":[`+strings.Join(ops, ",")+`]}`), 0)
		if err != nil {
			t.Fatal(err)
		}
		apply(1, u)
	}
	json := func(ops string) {
		t.Helper()
		for k := range ws {
			u, err := DecodeUpdate([]byte(ops), 0)
			if err != nil {
				t.Fatal(err)
			}
			apply(k, u)
		}
	}
	var keys []int64
	for k := int64(0); k < 3000; k++ {
		keys = append(keys, k)
	}
	both(keys) // dense grows past 1,024
	json(`{"ops":[{"key":"5","delete":true},{"key":"2999","delete":true},{"key":"0","row":{"v":"text"}}]}`)
	both([]int64{5, 2999, 1 << 40, -1, 12000, 3}) // back, beyond dense, negative
	json(`{"ops":[{"key":"12000","delete":true},{"key":"-1","delete":true},{"key":"1099511627776","row":{"v":"t"}}]}`)
	both([]int64{12000, -1, 1 << 40, 7})
	if a, b := string(ws[0].appendState(nil)), string(ws[1].appendState(nil)); a != b {
		t.Fatalf("state from columns and JSON differs from JSON alone:\n %.300s\n %.300s", a, b)
	}
	if ws[0].bytes != ws[1].bytes || ws[0].bytes != ws[0].measure() {
		t.Errorf("bytes %d (measured %d), JSON alone %d", ws[0].bytes, ws[0].measure(), ws[1].bytes)
	}
	if len(ws[0].dense) <= 1024 {
		t.Errorf("3,000 small keys should be found by number: dense holds %d", len(ws[0].dense))
	}
}

// Whatever a columnar table update decodes to holds together: each row's
// counted size is the length of the JSON it prints, every row is one JSON
// object, and the ops it stands for decode as a JSON update to the same
// ops.
func FuzzDecodeTableColumns(f *testing.F) {
	f.Add(EncodeTableColumns([]string{"a", "b"}, []TableColumn{{Name: "v", F64: []float64{1.5, math.NaN()}}, {Name: "s", JSON: []string{`"x"`, ` [1, {"a": null}] `}}}, nil))
	f.Add(EncodeTableColumnsIntKeys([]int64{-7, 0, math.MaxInt64}, []TableColumn{{Name: "i", I64: []int64{1, 2, math.MinInt64}}}, nil))
	f.Add([]byte("SVT1\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := decodeTableColumns(b)
		if err != nil {
			return
		}
		blk := u.Table.blk
		for i := 0; i < blk.n; i++ {
			row := blk.appendRow(nil, i)
			if int(blk.sizes[i]) != len(row) {
				t.Fatalf("row %d: counted %d bytes, prints %d: %s", i, blk.sizes[i], len(row), row)
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(row, &obj); err != nil {
				t.Fatalf("row %d is not a JSON object: %s: %v", i, row, err)
			}
		}
		text := u.encode(nil)
		again, err := DecodeUpdate(text, 0)
		if err != nil {
			t.Fatalf("the ops %s do not decode: %v", text, err)
		}
		if got := again.encode(nil); string(got) != string(text) {
			t.Fatalf("the ops decode to\n %s\nnot\n %s", got, text)
		}
	})
}

// applyUnlimited applies a table update far from every limit.
func applyUnlimited(t *testing.T, w *widget, u *Update) {
	t.Helper()
	_, _, delta, err := w.applyTable(u, 100000, 1<<30, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	w.bytes += delta
}
