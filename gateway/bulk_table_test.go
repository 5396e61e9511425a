package gateway

import (
	"encoding/binary"
	"errors"
	"math"
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
		{"key not UTF-8", EncodeTableColumns([]string{"\xff"}, []TableColumn{{Name: "v", F64: []float64{1}}}, nil), "keys[0]: want 1 to 256 bytes of UTF-8"},
		{"cell not JSON", EncodeTableColumns([]string{"a"}, []TableColumn{{Name: "s", JSON: []string{`{"a":`}}}, nil), `column "s"[0]`},
		{"two values in a cell", EncodeTableColumns([]string{"a"}, []TableColumn{{Name: "s", JSON: []string{`1 2`}}}, nil), "is not one JSON value"},
		{"cell not UTF-8", EncodeTableColumns([]string{"a"}, []TableColumn{{Name: "s", JSON: []string{"\"\xff\""}}}, nil), "not valid UTF-8"},
		{"cell too deep", EncodeTableColumns([]string{"a"}, []TableColumn{{Name: "s", JSON: []string{strings.Repeat("[", 40) + strings.Repeat("]", 40)}}}, nil), "deep"},
		{"cell length past the end", head(`{"n":1,"columns":["s"],"types":["json"]}`, append([]byte{1, 0, 0, 0, 'a'}, 9, 0, 0, 0, '1')), `column "s"[0] needs 9 bytes, 1 left`},
		// One long column name over many one-byte rows: as JSON every row
		// repeats the name, which would ask for n × the name's bytes.
		{"rows far larger than the message", manyRowsLongName(2000, 20000), "more than 64 times the message"},
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
