package gateway

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkFloatLen fails the test unless floatLen(f) is the length of the
// text a float64 cell prints as.
func checkFloatLen(t *testing.T, f float64) {
	t.Helper()
	if g, w := floatLen(f), len(appendFloatFast(nil, f)); g != w {
		t.Fatalf("%v (bits %#x): counted %d bytes, prints %q (%d)", f, math.Float64bits(f), g, appendFloatFast(nil, f), w)
	}
}

// checkShortDecimalsNear checks f rounded to every number of decimals
// floatLen's search may stop at, and the float64s either side of each:
// those are the values where the search finds, or just misses, a short
// decimal.
func checkShortDecimalsNear(t *testing.T, f float64) {
	t.Helper()
	checkFloatLen(t, f)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return
	}
	for d := 0; d <= 18; d++ {
		r, err := strconv.ParseFloat(strconv.FormatFloat(f, 'f', d, 64), 64)
		if err != nil {
			continue
		}
		checkFloatLen(t, r)
		checkFloatLen(t, math.Nextafter(r, math.Inf(1)))
		checkFloatLen(t, math.Nextafter(r, math.Inf(-1)))
	}
}

// A float64 cell is counted, for the byte limits, as exactly as long as
// the JSON text it prints, whether that text is a whole number, a short
// decimal, a long one, exponent form or null.
func TestFloatCellLengthIsThatOfItsJSONText(t *testing.T) {
	for _, f := range []float64{
		0, math.Copysign(0, -1), 1, -1, 0.5, -0.5, 12.5, 0.25, 1234.56, -1234.56, 0.1, 0.2, 0.3, 0.1 + 0.2, 1.0 / 3, 2.0 / 3,
		1e-6, 9.99999e-7, 1e-7, 1.5e-6, 0.000001234, 123456.789, 99.99, 0.01, 0.001,
		1e14, 1e15, 1e15 + 0.5, 999999999999999.9, 1125899906842623.5, 4503599627370495.5, 4503599627370497, 1e20, 1e21, 9.999999999999999e20,
		5e-324, math.SmallestNonzeroFloat64, math.MaxFloat64, -math.MaxFloat64,
		math.NaN(), math.Inf(1), math.Inf(-1),
		float64(1<<50) / 10, float64(1<<50-1) / 1e16, 0.1234567890123456, 1.7976931348623157e10,
	} {
		checkShortDecimalsNear(t, f)
	}
}

// Every decimal of up to a few digits each side of the point, which is what
// prices and readings are, is counted at its printed length.
func TestShortDecimalLengthsAreThoseOfTheirJSONText(t *testing.T) {
	for d := 1; d <= 7; d++ {
		for _, base := range []int64{0, 1, 99, 1000, 99999, 1 << 20, 1e9, 1e12, 1<<50 - 5000} {
			for n := base - 2000; n <= base+2000; n++ {
				f, err := strconv.ParseFloat(strconv.FormatInt(n, 10)+"e-"+strconv.Itoa(d), 64)
				if err != nil {
					t.Fatal(err)
				}
				checkFloatLen(t, f)
				checkFloatLen(t, -f)
			}
		}
	}
}

// An int64 cell is counted at the length of its decimal text, at every
// change in the number of digits and at both ends of the range.
func TestIntCellLengthIsThatOfItsDecimalText(t *testing.T) {
	vs := []int64{0, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	for p := int64(1); p <= 1e18; p *= 10 {
		vs = append(vs, p-1, p, p+1)
	}
	for b := 0; b < 63; b++ {
		vs = append(vs, 1<<b-1, 1<<b, 1<<b+1)
	}
	for _, v := range vs {
		for _, v := range []int64{v, -v} {
			if g, w := intLen(v), len(strconv.FormatInt(v, 10)); g != w {
				t.Errorf("%d: counted %d bytes, prints %d", v, g, w)
			}
		}
	}
}

// Whatever float64 a cell holds, it is counted at the length it prints,
// and so are the short decimals nearest it (random bits are almost never
// short decimals, which floatLen finds without printing).
func FuzzFloatLenIsThatOfItsJSONText(f *testing.F) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1e-7, 1e-6, 1e20, 1e21, 0.1, 0.3, 1.0 / 3, 9.999999999999999e20, 5e-324, math.MaxFloat64, math.NaN(), math.Inf(-1), 12.5, 1234.56, 1125899906842623.5} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		checkShortDecimalsNear(t, math.Float64frombits(bits))
	})
}

// A text column's cells and text keys print, and are counted, as the
// compact JSON of each row's own cell, whether a cell repeats the one
// before it, was sent with spaces, or both, in any order.
func TestTextCellsPrintAsTheirOwnCompactJSON(t *testing.T) {
	for _, cells := range [][]string{
		{`"a"`, `"a"`, `"b"`, `"a"`},
		{` [1, 2] `, ` [1, 2] `, `"x"`, `"x"`, ` {"a" : 1}`, `[ 3 ]`, `[ 3 ]`, `"y z"`},
		{`{ }`, `"é"`, ` null`, ` null`, `true`, ` 1.5e3 `},
	} {
		keys := make([]string, len(cells))
		for i := range keys {
			keys[i] = strings.Repeat("k", i+1)
		}
		u, err := decodeTableColumns(EncodeTableColumns(keys, []TableColumn{{Name: "c", JSON: cells}}, nil))
		if err != nil {
			t.Fatal(err)
		}
		blk := u.Table.blk
		for i, cell := range cells {
			var want bytes.Buffer
			if err := json.Compact(&want, []byte(cell)); err != nil {
				t.Fatal(err)
			}
			row := `{"c":` + want.String() + `}`
			if g := string(blk.appendRow(nil, i)); g != row || int(blk.sizes[i]) != len(row) {
				t.Errorf("%q: row %d prints %s counted %d bytes, want %s (%d)", cells, i, g, blk.sizes[i], row, len(row))
			}
			if g := string(blk.keys.key(i)); g != keys[i] {
				t.Errorf("%q: row %d has key %q, want %q", cells, i, g, keys[i])
			}
		}
	}
}

// plainStringByBytes is plainCell's rule for a string, one byte at a time.
func plainStringByBytes(c []byte) bool {
	for _, ch := range c[1 : len(c)-1] {
		if ch < 0x20 || ch == '"' || ch == '\\' {
			return false
		}
	}
	return utf8.Valid(c)
}

// A string cell is plain, or not, whatever byte of it breaks the rule and
// wherever that byte is: the quick check reads eight bytes at a time, and
// each of them is one a JSON string cannot hold as it is, or holds only as
// part of valid UTF-8.
func TestPlainStringCellsAreFoundWhereverTheirBytesAre(t *testing.T) {
	for _, odd := range []string{"\x00", "\x1f", "\x20", "!", "\"", "#", "\\", "[", "]", "\x7f", "\x80", "\xff", "é", "\xe2\x82", "€", "\U0001F600"} {
		for n := 0; n <= 20; n++ {
			for at := 0; at <= n; at++ {
				c := []byte(`"` + strings.Repeat("a", at) + odd + strings.Repeat("b", n-at) + `"`)
				if g, w := plainCell(c), plainStringByBytes(c); g != w {
					t.Errorf("%q: plain %v, want %v", c, g, w)
				}
			}
		}
	}
}
