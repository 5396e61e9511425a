package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/streamviz/streamviz/protocol"
)

// columnsMsg builds a columnar message by hand: head is the JSON head as
// given, body the bytes after it.
func columnsMsg(head string, body []byte) []byte {
	b := append([]byte("SVC1"), binary.LittleEndian.AppendUint32(nil, uint32(len(head)))...)
	return append(append(b, head...), body...)
}

func f64s(vs ...float64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

func TestColumnarUpdatesAreRefusedNamingTheProblem(t *testing.T) {
	good := f64s(1, 2, 10, 20)
	cases := []struct {
		name string
		msg  []byte
		want string // in the error
	}{
		{"shorter than the start", []byte("SVC1\x03"), "shorter than the 8-byte start"},
		{"head longer than the message", columnsMsg(`{"n":2}`, good)[:10], "a head of 7 bytes, but only 2 bytes follow"},
		{"head length near 4 GiB", append([]byte("SVC1\xff\xff\xff\xff"), `{"n":0}`...), "a head of 4294967295 bytes"},
		{"head not JSON", columnsMsg(`{"n":`, good), "columns head: bad JSON"},
		{"head not an object", columnsMsg(`[2]`, good), "want a JSON object"},
		{"no n", columnsMsg(`{"series":"a"}`, good), `needs "n"`},
		{"negative n", columnsMsg(`{"n":-1}`, nil), `needs "n"`},
		{"n a string", columnsMsg(`{"n":"2"}`, good), "bad shape"},
		{"truncated columns", columnsMsg(`{"n":2}`, good[:31]), "n=2 points need 32 bytes of x and y (8 each), got 31"},
		{"padded columns", columnsMsg(`{"n":2}`, append(good, 0)), "n=2 points need 32 bytes of x and y (8 each), got 33"},
		{"x and y of different lengths (n counts x)", columnsMsg(`{"n":2}`, f64s(1, 2, 10)), "need 32 bytes"},
		{"huge n", columnsMsg(`{"n":576460752303423488}`, good), "n=576460752303423488 points need 9223372036854775808 bytes"},
		{"n past 2^64/16", columnsMsg(`{"n":9223372036854775807}`, good), "more than 2^64"},
		{"NaN x", columnsMsg(`{"n":2}`, f64s(1, math.NaN(), 10, 20)), "x[1] is NaN: every x is a finite number"},
		{"infinite x", columnsMsg(`{"n":2}`, f64s(math.Inf(-1), 2, 10, 20)), "x[0] is -Inf"},
		{"upsert mode", columnsMsg(`{"n":2,"mode":"upsert"}`, good), `columns mode "upsert": columns only append`},
		{"series name too long", columnsMsg(`{"n":2,"series":"`+strings.Repeat("s", 201)+`"}`, good), "series name longer than 200"},
		{"as_of not a time", columnsMsg(`{"n":2,"as_of":"soon"}`, good), "bad shape"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeUpdate(c.msg, 0)
			if err == nil {
				t.Fatalf("accepted %q", c.msg)
			}
			if !errors.Is(err, ErrBadShape) && !errors.Is(err, ErrBadJSON) {
				t.Errorf("error %v wraps neither bad shape nor bad JSON", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestColumnarUpdateDecodesToPointsWithNonFiniteYAsGaps(t *testing.T) {
	nan := math.NaN()
	xs := []float64{1e12, 1e12 + 1, -5, 0}
	ys := []float64{1.5, nan, math.Inf(1), math.Inf(-1)}
	asOf := 7.0
	u, err := DecodeUpdate(EncodeColumns("s1", xs, ys, &asOf), 0)
	if err != nil {
		t.Fatal(err)
	}
	c := u.Chart
	if c == nil || c.Series != "s1" || c.Upsert || u.AsOf == nil || *u.AsOf != 7 {
		t.Fatalf("decoded %+v (as_of %v)", c, u.AsOf)
	}
	want := []Point{{1e12, Num{1.5, true}}, {1e12 + 1, Num{}}, {-5, Num{}}, {0, Num{}}}
	got := c.points()
	if len(got) != len(want) || c.count() != len(want) {
		t.Fatalf("points %v (count %d), want %v", got, c.count(), want)
	}
	for i := range want {
		if got[i].X != want[i].X || got[i].Y.Valid != want[i].Y.Valid || want[i].Y.Valid && got[i].Y.V != want[i].Y.V {
			t.Errorf("point %d: %v, want %v", i, got[i], want[i])
		}
	}
	// The series reads them from the columns as appendBounded would from the points.
	for _, tc := range []struct{ have, max int }{{0, 10}, {3, 10}, {8, 10}, {0, 2}, {5, 3}} {
		have := make([]Point, tc.have)
		for i := range have {
			have[i] = Point{X: Time(-100 - i)}
		}
		if a, b := appendBoundedCols(append([]Point(nil), have...), c.cols, tc.max), appendBounded(append([]Point(nil), have...), got, tc.max); fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("have %d, max %d: from columns %v, from points %v", tc.have, tc.max, a, b)
		}
	}
	// The event carries the columns as they came, each gap a NaN.
	ev := string(u.encode(nil))
	wantEv := `{"series":"s1","cols":{"n":4,"x":"` + base64.StdEncoding.EncodeToString(f64s(xs...)) +
		`","y":"` + base64.StdEncoding.EncodeToString(f64s(1.5, gapNaN, gapNaN, gapNaN)) + `"},"mode":"append","as_of":7}`
	if ev != wantEv {
		t.Errorf("event data\n got %s\nwant %s", ev, wantEv)
	}
}

func TestColumnarUpdateOfNoPointsIsValid(t *testing.T) {
	u, err := DecodeUpdate(EncodeColumns("", nil, nil, nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	if u.Chart == nil || len(u.Chart.points()) != 0 {
		t.Fatalf("decoded %+v", u.Chart)
	}
}

// FuzzDecodeColumns: whatever the bytes, decoding never panics, and what it
// accepts has exactly n finite x.
func FuzzDecodeColumns(f *testing.F) {
	f.Add(EncodeColumns("a", []float64{1, 2}, []float64{3, math.NaN()}, nil))
	f.Add(columnsMsg(`{"n":1}`, f64s(1)))
	f.Add([]byte("SVC1\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := decodeColumns(b)
		if err != nil {
			return
		}
		for _, p := range u.Chart.points() {
			if math.IsNaN(float64(p.X)) || math.IsInf(float64(p.X), 0) {
				t.Fatalf("accepted x %v", p.X)
			}
		}
		if u.Chart.cols.n != len(u.Chart.points()) || len(u.Chart.cols.x) != 8*u.Chart.cols.n || len(u.Chart.cols.y) != 8*u.Chart.cols.n {
			t.Fatalf("columns %d/%d/%d for %d points", u.Chart.cols.n, len(u.Chart.cols.x), len(u.Chart.cols.y), len(u.Chart.points()))
		}
	})
}

func TestAppendBoundedKeepsTheLastNPointsInOrder(t *testing.T) {
	mk := func(from, n int) []Point {
		out := make([]Point, n)
		for i := range out {
			out[i] = Point{X: Time(from + i), Y: Num{V: float64(from + i), Valid: true}}
		}
		return out
	}
	cases := []struct {
		name          string
		have, add, n  int
		wantFirst, wl int
	}{
		{"fits", 3, 2, 10, 0, 5},
		{"trims the oldest", 8, 5, 10, 3, 10},
		{"a batch larger than n keeps its newest n", 4, 25, 10, 19, 10},
		{"a batch of exactly n replaces everything", 7, 10, 10, 7, 10},
		{"nothing added", 5, 0, 3, 2, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := trimFront(appendBounded(mk(0, c.have), mk(c.have, c.add), c.n), c.n)
			if len(got) != c.wl || len(got) > 0 && got[0].X != Time(c.wantFirst) {
				t.Fatalf("got %d points from %v, want %d from %d", len(got), got, c.wl, c.wantFirst)
			}
			for i := 1; i < len(got); i++ {
				if got[i].X != got[i-1].X+1 {
					t.Fatalf("out of order at %d: %v", i, got)
				}
			}
		})
	}
	// Many batches: still the last n, and the array stays within twice n.
	var pts []Point
	for k := range 40 {
		pts = trimFront(appendBounded(pts, mk(k*7, 7), 30), 30)
	}
	if len(pts) != 30 || pts[0].X != Time(40*7-30) || cap(pts) > 60 {
		t.Fatalf("after 40 batches: %d points from %v, cap %d", len(pts), pts[0].X, cap(pts))
	}
}

// binaryFrameAsText reads a binary frame (docs/protocol.md §2.4) as a
// client does and writes it back as the text frame it stands for: each
// "cols":{"n":n,"at":o} becomes "cols":{"n":n,"x":base64,"y":base64} of the
// bytes at o in the columns section, each "tcols":{"n":n,"at":o,"len":l} the
// "ops" of the columnar table update at o. A text frame is returned as it is.
func binaryFrameAsText(t *testing.T, msg []byte, isBinary bool) string {
	t.Helper()
	if !isBinary {
		return string(msg)
	}
	text, err := readBinaryFrame(msg)
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

var colsRefRe = regexp.MustCompile(`"cols":\{"n":(\d+),"at":(\d+)\}|"tcols":\{"n":(\d+),"at":(\d+),"len":(\d+)\}`)

func readBinaryFrame(msg []byte) ([]byte, error) {
	if len(msg) < 8 || string(msg[:4]) != protocol.FrameMagic {
		return nil, fmt.Errorf("binary frame starts %q, want %q and a length", msg[:min(8, len(msg))], protocol.FrameMagic)
	}
	j := int(binary.LittleEndian.Uint32(msg[4:8]))
	if j > len(msg)-8 {
		return nil, fmt.Errorf("binary frame: JSON of %d bytes in %d", j, len(msg))
	}
	js := msg[8 : 8+j]
	base := 8 + j
	base += (8 - base%8) % 8
	if len(msg) < base {
		return nil, fmt.Errorf("binary frame: columns start at %d of %d bytes", base, len(msg))
	}
	for _, b := range msg[8+j : base] {
		if b != 0 {
			return nil, fmt.Errorf("binary frame: padding is not zeros")
		}
	}
	cols := msg[base:]
	end := 0
	var bad error
	out := colsRefRe.ReplaceAllFunc(js, func(m []byte) []byte {
		sub := colsRefRe.FindSubmatch(m)
		if sub[3] != nil {
			n, _ := strconv.Atoi(string(sub[3]))
			at, _ := strconv.Atoi(string(sub[4]))
			l, _ := strconv.Atoi(string(sub[5]))
			padded := (l + 7) &^ 7
			if at != end || at+padded > len(cols) {
				bad = fmt.Errorf("binary frame: tcols at %d (len %d): want the next %d bytes after %d of %d", at, l, padded, end, len(cols))
				return m
			}
			end = at + padded
			u, err := decodeTableColumns(cols[at : at+l])
			if err != nil || u.Table.count() != n {
				bad = fmt.Errorf("binary frame: tcols at %d: %v (n=%d)", at, err, n)
				return m
			}
			if !bytes.Equal(cols[at+l:end], make([]byte, end-at-l)) {
				bad = fmt.Errorf("binary frame: tcols at %d: padding is not zeros", at)
			}
			ops := u.encode(nil) // {"ops":[...]}
			return ops[1 : bytes.LastIndexByte(ops, ']')+1]
		}
		n, _ := strconv.Atoi(string(sub[1]))
		at, _ := strconv.Atoi(string(sub[2]))
		if at != end || at+16*n > len(cols) {
			bad = fmt.Errorf("binary frame: cols at %d (n=%d): want the next %d bytes after %d of %d", at, n, 16*n, end, len(cols))
			return m
		}
		end = at + 16*n
		return appendColsBase64(nil, n, cols[at:at+8*n], cols[at+8*n:end])
	})
	if bad == nil && end != len(cols) {
		bad = fmt.Errorf("binary frame: the columns section has %d bytes, the events use %d", len(cols), end)
	}
	if bad == nil && !colsRefRe.Match(js) {
		bad = fmt.Errorf("binary frame without columnar events: it should have been a text frame")
	}
	return out, bad
}
