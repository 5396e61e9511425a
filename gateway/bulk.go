package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"sync"

	"github.com/streamviz/streamviz/protocol"
)

// Columnar chart updates (docs/protocol.md §1.7): producers with arrays
// (chart.extend in the Python SDK) send points as two little-endian float64
// columns behind a small JSON head, so the gateway reads a point in a few
// nanoseconds instead of parsing two numbers from text, stores the message
// as it came, and hands browsers the same bytes (base64 in the data event)
// instead of formatting every number again.

// columnsHeadLen is the fixed part before the JSON head: the magic and the
// head's length.
const columnsHeadLen = 8

// gapNaN is the NaN every encoder writes for a gap (numpy's and
// JavaScript's; Go's math.NaN() sets another bit), so events are the same
// bytes whoever made them.
var gapNaN = math.Float64frombits(0x7ff8_0000_0000_0000)

// columns is what a data event carries of a columnar update: the points'
// x and y columns as little-endian float64, y with every gap a NaN.
type columns struct {
	n    int
	x, y []byte
}

// point is the update's i-th point; a NaN or infinite y is a gap.
func (c *columns) point(i int) Point {
	x := math.Float64frombits(binary.LittleEndian.Uint64(c.x[8*i:]))
	y := math.Float64frombits(binary.LittleEndian.Uint64(c.y[8*i:]))
	return Point{X: Time(x), Y: Num{V: y, Valid: !math.IsNaN(y) && !math.IsInf(y, 0)}}
}

// count is how many points a chart update brings.
func (c *ChartUpdate) count() int {
	if c.cols != nil && c.Points == nil {
		return c.cols.n
	}
	return len(c.Points)
}

// points is the update's points, made from its columns when it came as
// columns (docs/protocol.md §1.7).
func (c *ChartUpdate) points() []Point {
	if c.cols == nil || c.Points != nil || c.category {
		return c.Points
	}
	pts := make([]Point, c.cols.n)
	for i := range pts {
		pts[i] = c.cols.point(i)
	}
	return pts
}

// appendBoundedCols is appendBounded of a columnar update's points, read
// straight from its columns into the series.
func appendBoundedCols(pts []Point, c *columns, n int) []Point {
	from := 0
	if c.n >= n {
		from, pts = c.n-n, make([]Point, 0, n)
	} else {
		pts = trimFront(pts, n-c.n)
		if cap(pts)-len(pts) < c.n {
			pts = append(make([]Point, 0, seriesCap(len(pts)+c.n)), pts...)
		}
	}
	for i := from; i < c.n; i++ {
		pts = append(pts, c.point(i))
	}
	return pts
}

// isColumns reports whether a data payload is a columnar update.
func isColumns(b []byte) bool { return bytes.HasPrefix(b, []byte(protocol.ColumnsMagic)) }

// columnsHead is the JSON head of a columnar update.
type columnsHead struct {
	N      *int64  `json:"n"`
	Series *string `json:"series"`
	Mode   *string `json:"mode"`
	AsOf   *Time   `json:"as_of"`
}

// decodeColumns validates a columnar update: "SVC1", uint32 LE length of the
// JSON head, the head, then n x values and n y values as float64 LE. Every
// x must be finite (it is a position on the axis); a y that is NaN or
// infinite is a gap, as null is in JSON. The columns must fill the payload
// exactly, so a truncated or padded message is refused, never misread.
func decodeColumns(b []byte) (*Update, error) {
	if len(b) < columnsHeadLen {
		return nil, fmt.Errorf("%w: columns: %d bytes, shorter than the %d-byte start (%q and the head's length)", ErrBadShape, len(b), columnsHeadLen, protocol.ColumnsMagic)
	}
	h := uint64(binary.LittleEndian.Uint32(b[4:8]))
	if h > uint64(len(b)-columnsHeadLen) {
		return nil, fmt.Errorf("%w: columns: a head of %d bytes, but only %d bytes follow", ErrBadShape, h, len(b)-columnsHeadLen)
	}
	var hd columnsHead
	if err := decodeObject(b[columnsHeadLen:columnsHeadLen+h], &hd); err != nil {
		return nil, fmt.Errorf("columns head: %w", err)
	}
	if hd.N == nil || *hd.N < 0 {
		return nil, fmt.Errorf("%w: columns head needs \"n\", the number of points (0 or more)", ErrBadShape)
	}
	if hd.Mode != nil && *hd.Mode != "append" {
		return nil, fmt.Errorf("%w: columns mode %q: columns only append (send upserts as {\"points\": …, \"mode\": \"upsert\"})", ErrBadShape, truncate(*hd.Mode, 20))
	}
	if hd.Series != nil && len(*hd.Series) > maxTextLen {
		return nil, fmt.Errorf("%w: series name longer than %d", ErrBadShape, maxTextLen)
	}
	body := b[columnsHeadLen+h:]
	// Compared without multiplying n first: a hostile n cannot overflow.
	if n := uint64(*hd.N); n > uint64(len(body))/16 || uint64(len(body)) != 16*n {
		return nil, fmt.Errorf("%w: columns: n=%d points need %s bytes of x and y (8 each), got %d", ErrBadShape, n, columnBytes(n), len(body))
	}
	n := int(*hd.N)
	xs, ys := body[:8*n], body[8*n:]
	// The points stay in their columns: the chart's series reads them from
	// there (appendBoundedCols), so no slice of n points is made per message.
	c := &ChartUpdate{numX: n > 0, cols: &columns{n: n, x: xs, y: ys}}
	gaps := false
	for i := range n {
		x := math.Float64frombits(binary.LittleEndian.Uint64(xs[8*i:]))
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%w: columns: x[%d] is %v: every x is a finite number (ms or any axis)", ErrBadShape, i, x)
		}
		gaps = gaps || math.IsInf(math.Float64frombits(binary.LittleEndian.Uint64(ys[8*i:])), 0)
	}
	if gaps {
		// Browsers get every gap as NaN, as the state has it (null).
		y := make([]byte, len(ys))
		for i := range n {
			v := math.Float64frombits(binary.LittleEndian.Uint64(ys[8*i:]))
			if math.IsNaN(v) || math.IsInf(v, 0) {
				v = gapNaN
			}
			binary.LittleEndian.PutUint64(y[8*i:], math.Float64bits(v))
		}
		c.cols.y = y
	}
	if hd.Series != nil {
		c.Series = *hd.Series
	}
	u := &Update{Chart: c}
	if hd.AsOf != nil {
		t := float64(*hd.AsOf)
		u.AsOf = &t
	}
	return u, nil
}

func columnBytes(n uint64) string {
	if n > math.MaxUint64/16 {
		return "more than 2^64"
	}
	return strconv.FormatUint(16*n, 10)
}

// appendBase64 writes the update's points as a text frame's data event
// carries them: "cols":{"n":n,"x":base64,"y":base64}.
func (c *columns) appendBase64(b []byte) []byte { return appendColsBase64(b, c.n, c.x, c.y) }

func appendColsBase64(b []byte, n int, x, y []byte) []byte {
	b = append(b, `"cols":{"n":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `,"x":"`...)
	b = base64.StdEncoding.AppendEncode(b, x)
	b = append(b, `","y":"`...)
	b = base64.StdEncoding.AppendEncode(b, y)
	return append(b, `"}`...)
}

// eventCols is what a columnar data event keeps of its update, copied out
// of the stored batch (which the resume log must not hold on to), and where
// in the event's JSON it goes. Each frame writes it for its socket
// (docs/protocol.md §2.2, §2.4): a chart's points (xy) as base64 "cols" in a
// text frame and raw after the JSON in a binary one; a table's update
// (table set, xy holding its message padded to a multiple of 8 bytes) as its
// "ops" in a text frame, printed when a text frame first needs them, and as
// "tcols", the message raw after the JSON, in a binary one.
type eventCols struct {
	at int    // offset in the event's bytes where "cols" (or a table's "ops") goes
	n  int    // points, or a table's rows
	xy []byte // the n x values then the n y values, float64 LE; or a table's message

	table *tableText // a table's; nil for a chart
}

// tableText is a columnar table event's ops, printed as JSON once a text
// frame needs them: a page that asked for binary frames never does (printing
// them for every event was ~5% of the server's samples in perf, send_many of
// 4M rows with a binary client).
type tableText struct {
	size int // the message's length (xy without the padding)
	est  int // what the ops take as JSON, about (counted before they are printed)
	once sync.Once
	blk  *colBlock // its rows, until printed
	text []byte    // "ops":[...], once printed
}

func newEventCols(c *columns, at int) *eventCols {
	xy := make([]byte, 16*c.n)
	copy(xy, c.x)
	copy(xy[8*c.n:], c.y)
	return &eventCols{at: at, n: c.n, xy: xy}
}

// newTableEventCols keeps a columnar table update (§1.8) that applied
// whole: its message (the gateway's copy, already padded to a multiple of 8
// bytes, shared with the table's state) and its rows, whose ops go in at at.
func newTableEventCols(t *TableUpdate, at int) *eventCols {
	blk := t.blk
	est := 16
	for i := 0; i < blk.n; i++ {
		est += int(blk.sizes[i]) + 20
	}
	if blk.keys.ints != nil {
		est += 20 * blk.n
	} else {
		for _, s := range blk.keys.texts.spans {
			est += spanLen(s)
		}
	}
	return &eventCols{at: at, n: blk.n, xy: t.cols[:(len(t.cols)+7)&^7], table: &tableText{size: len(t.cols), est: est, blk: blk}}
}

// opsText is the table's "ops":[...], printed on first use.
func (t *tableText) opsText() []byte {
	t.once.Do(func() {
		t.text = (&TableUpdate{blk: t.blk}).appendOps(make([]byte, 0, t.est))
		t.blk = nil
	})
	return t.text
}

// size is what the event's columns count for in log offsets (a socket's
// queue bound): a chart's points, or a table's message and its ops as a
// text frame carries them (estimated, so that it is fixed when the event
// is logged).
func (e *eventCols) size() int {
	if e.table != nil {
		return len(e.xy) + e.table.est
	}
	return len(e.xy)
}

// cost is what they keep in memory, fixed when the event is logged: the
// ops (or their text, about as long) besides a table's message.
func (e *eventCols) cost() int {
	if e.table != nil {
		return cap(e.xy) + e.table.est + 48*e.n
	}
	return cap(e.xy)
}

// textSize is about what a text frame adds to the event for it.
func (e *eventCols) textSize() int {
	if e.table != nil {
		return e.table.est
	}
	return 64 + base64.StdEncoding.EncodedLen(len(e.xy))
}

// binCols gathers a binary frame's columns while its JSON is written.
type binCols struct {
	parts [][]byte
	size  int
}

// bytes is the size of the columns gathered so far (0 for a text frame).
func (bin *binCols) bytes() int {
	if bin == nil {
		return 0
	}
	return bin.size
}

// appendTo writes the event's "cols": base64 when bin is nil (a text
// frame), else {"n":n,"at":offset} with the bytes queued in bin. A table's
// event writes its "ops" in a text frame and in a binary one
// "tcols":{"n":n,"at":offset,"len":bytes}.
func (e *eventCols) appendTo(b []byte, bin *binCols) []byte {
	if e.table != nil {
		if bin == nil {
			return append(b, e.table.opsText()...)
		}
		b = append(b, `"tcols":{"n":`...)
		b = strconv.AppendInt(b, int64(e.n), 10)
		b = append(b, `,"at":`...)
		b = strconv.AppendInt(b, int64(bin.size), 10)
		b = append(b, `,"len":`...)
		b = strconv.AppendInt(b, int64(e.table.size), 10)
		bin.parts = append(bin.parts, e.xy)
		bin.size += len(e.xy)
		return append(b, '}')
	}
	if bin == nil {
		return appendColsBase64(b, e.n, e.xy[:8*e.n], e.xy[8*e.n:])
	}
	b = append(b, `"cols":{"n":`...)
	b = strconv.AppendInt(b, int64(e.n), 10)
	b = append(b, `,"at":`...)
	b = strconv.AppendInt(b, int64(bin.size), 10)
	bin.parts = append(bin.parts, e.xy)
	bin.size += len(e.xy)
	return append(b, '}')
}

// binaryFrame wraps a frame's JSON text and the columns its events point at
// into one binary message (docs/protocol.md §2.4): FrameMagic, the JSON's
// length (uint32 LE), the JSON, zeros up to a multiple of 8 bytes (so a
// page can view the columns as a Float64Array in place), then the columns.
func binaryFrame(js []byte, bin *binCols) []byte {
	pad := (8 - (columnsHeadLen+len(js))%8) % 8
	out := make([]byte, 0, columnsHeadLen+len(js)+pad+bin.size)
	out = append(out, protocol.FrameMagic...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(js)))
	out = append(out, js...)
	out = append(out, make([]byte, pad)...)
	for _, p := range bin.parts {
		out = append(out, p...)
	}
	return out
}

// finishFrame makes a frame's JSON text the message a socket is sent: the
// text itself, or with columns gathered in bin, a binary frame of both.
func finishFrame(js []byte, bin *binCols) (_ []byte, isBinary bool) {
	if bin == nil || len(bin.parts) == 0 {
		return js, false
	}
	return binaryFrame(js, bin), true
}

// EncodeColumns builds a columnar update (docs/protocol.md §1.7) of the
// points (xs[i], ys[i]) for series (""  the default); asOf is left out when
// nil. NaN or an infinity in ys is a gap. Tests and Go producers use it.
func EncodeColumns(series string, xs, ys []float64, asOf *float64) []byte {
	head := []byte(`{"n":`)
	head = strconv.AppendInt(head, int64(len(xs)), 10)
	if series != "" {
		head = append(head, `,"series":`...)
		head = appendString(head, series)
	}
	if asOf != nil {
		head = append(head, `,"as_of":`...)
		head = appendFloat(head, *asOf)
	}
	head = append(head, '}')
	b := make([]byte, 0, columnsHeadLen+len(head)+16*len(xs))
	b = append(b, protocol.ColumnsMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(head)))
	b = append(b, head...)
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	for _, y := range ys {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(y))
	}
	return b
}
