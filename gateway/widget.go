package gateway

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"
)

// widget is one widget's config and bounded state (docs/protocol.md §3).
// The state's lock guards it (state.go).
type widget struct {
	cfg *WidgetConfig

	// stat and gauge: the latest value and the one before it, for the delta.
	value, prev Num
	ts          *float64

	// chart: each series keeps its last max_points in arrival (or x) order;
	// a category chart (x_type "category") keeps cats instead.
	series map[string][]Point
	cats   map[string][]CatPoint

	// table: every live row by key (its JSON, or a row of a columnar
	// update's block: tableRow).
	rows map[string]*tableRow
	// table: the same rows again for each key that is the decimal text of
	// an int64 ("7", "-3"; not "07" or "-0"), by that number, so that a
	// columnar update's int64 keys (§1.8 key_type "i64") are looked up
	// without making their text. Changed only with rows (putRow, delRow).
	ints map[int64]*tableRow
	// dense holds the rows of ints whose number is below its length, by
	// number: small whole-number keys (ids, positions) are then found
	// without a map's cache misses. It grows (doubling) only while it stays
	// within twice the rows plus denseMin (denseSlots) and shrinks when the
	// rows fall below a quarter of it, so it never takes more than 4 slots
	// a row plus denseMin (32 bytes a row, within rowCost, and 128): a
	// sparse or small table keeps its int keys in ints only.
	dense []*tableRow
	// table: keys upserted while the table was full and not deleted since,
	// which hold no row (docs/protocol.md §1.3). refused counts them; the
	// set remembers at most maxRefusedKeys of them, taking at most the bytes
	// the table's state is counted at (after a restart only the count is
	// known), so the count saturates there. refusedBytes is what the set takes.
	refused      int
	refusedSet   map[string]struct{}
	refusedBytes int

	// asOf is the latest producer time of its data (Update.AsOf), nil before any.
	asOf *float64

	// encoded caches appendConfigState's output; nil after any change.
	encoded []byte
	// bytes is what the state costs (statebytes.go), kept up to date by the state.
	bytes int

	fold *rowFold // the Pathway rows that feed it (rowsfold.go); nil when none came
}

// tableRow is a table's row: its JSON, or (raw nil) row i of a columnar
// update's block, printed when a snapshot or the HTTP API needs it. size is
// its JSON's length either way, what the byte limits count.
type tableRow struct {
	raw  json.RawMessage
	blk  *colBlock
	i    int32
	size int32
}

// putRow adds a row under a key the table does not hold.
func (w *widget) putRow(k string, r *tableRow) {
	w.rows[k] = r
	if v, ok := intKey(k); ok {
		w.ints[v] = r
		if v >= int64(len(w.dense)) {
			w.growDense(v)
		}
		if v >= 0 && v < int64(len(w.dense)) {
			w.dense[v] = r
		}
	}
}

// delRow removes the key's row, if any.
func (w *widget) delRow(k string) {
	delete(w.rows, k)
	if v, ok := intKey(k); ok {
		delete(w.ints, v)
		if v >= 0 && v < int64(len(w.dense)) {
			w.dense[v] = nil
		}
		if len(w.dense) > 4*len(w.rows)+denseMin {
			w.shrinkDense()
		}
	}
}

// clearRows removes every row.
func (w *widget) clearRows() {
	clear(w.rows)
	clear(w.ints)
	w.dense = nil
}

// intRow is the row of the key that is v's decimal text, or nil.
func (w *widget) intRow(v int64) *tableRow {
	if v >= 0 && v < int64(len(w.dense)) {
		return w.dense[v]
	}
	return w.ints[v]
}

// denseMin is dense's shortest length.
const denseMin = 16

// denseSlots is how long dense may grow for a table of n rows.
func denseSlots(n int) int64 { return int64(2*n + denseMin) }

// growDense makes dense hold number v, filled from ints, if it can at
// least double (so that growing costs O(1) a row) within denseSlots.
func (w *widget) growDense(v int64) {
	n := max(2*int64(len(w.dense)), v+1, denseMin)
	if n > denseSlots(len(w.rows)) {
		return
	}
	d := make([]*tableRow, n)
	for k, r := range w.ints {
		if k >= 0 && k < n {
			d[k] = r
		}
	}
	w.dense = d
}

// shrinkDense cuts dense to denseSlots of the rows left (none when the
// table is empty): the rows past it stay in ints.
func (w *widget) shrinkDense() {
	if len(w.rows) == 0 {
		w.dense = nil
		return
	}
	w.dense = slices.Clone(w.dense[:denseSlots(len(w.rows))])
}

// intKey reports whether k is the decimal text of an int64, and which:
// what strconv.FormatInt makes, nothing else ("07", "+7", "-0" are not).
func intKey(k string) (int64, bool) {
	if len(k) == 0 || len(k) > 20 || (k[0] != '-' && (k[0] < '0' || k[0] > '9')) {
		return 0, false
	}
	v, err := strconv.ParseInt(k, 10, 64)
	if err != nil || k[len(k)-1] < '0' || k[len(k)-1] > '9' {
		return 0, false
	}
	var buf [24]byte
	return v, string(strconv.AppendInt(buf[:0], v, 10)) == k
}

func (r *tableRow) appendTo(b []byte) []byte {
	if r.blk != nil {
		return r.blk.appendRow(b, int(r.i))
	}
	return append(b, r.raw...)
}

func newWidget(cfg *WidgetConfig) *widget {
	w := &widget{}
	w.setConfig(cfg)
	return w
}

// setConfig replaces the config; a new type drops the state, a smaller
// max_points trims it.
func (w *widget) setConfig(cfg *WidgetConfig) {
	w.encoded = nil
	if w.cfg == nil || w.cfg.Type != cfg.Type || w.cfg.category() != cfg.category() {
		w.value, w.prev, w.ts, w.asOf = Num{}, Num{}, nil, nil
		w.series, w.cats, w.rows, w.ints, w.dense = nil, nil, nil, nil, nil
		w.forgetRefused()
		switch {
		case cfg.category():
			w.cats = map[string][]CatPoint{}
		case cfg.Type == TypeChart:
			w.series = map[string][]Point{}
		case cfg.Type == TypeTable:
			w.rows, w.ints = map[string]*tableRow{}, map[int64]*tableRow{}
		}
	}
	w.cfg = cfg
	if cfg.Type == TypeChart {
		for name, pts := range w.series {
			w.series[name] = trimFront(pts, *cfg.MaxPoints)
		}
		for name, pts := range w.cats {
			w.cats[name] = trimFront(pts, *cfg.MaxPoints)
		}
	}
	w.refold()
	w.bytes = w.measure()
}

// check reports whether u fits the widget's type (and a chart update its x
// axis), without changing the widget.
func (w *widget) check(u *Update) error {
	if !u.fits(w.cfg.Type) {
		return fmt.Errorf("%w: %s widget %q got a %s update", ErrWrongType, w.cfg.Type, w.cfg.ID, u.impliedType())
	}
	if u.Chart != nil {
		return u.Chart.forAxis(w.cfg.category())
	}
	return nil
}

// maxRefusedKeys bounds the refused keys a table remembers.
const maxRefusedKeys = 100000

// refusedKeyCost is what remembering a refused key takes: its text and
// the map's entry.
func refusedKeyCost(k string) int { return len(k) + 48 }

func (w *widget) refuse(k string) {
	if _, ok := w.refusedSet[k]; ok {
		return
	}
	// Saturated: counted no further. The keys are bounded by the table's
	// own counted bytes, not only by their number: no byte limit counts
	// them, and 10 tables of 10 rows offered 100,000 new keys of 200 bytes
	// each took 650 MB while state_bytes said 32 KB.
	if len(w.refusedSet) >= maxRefusedKeys || w.refusedBytes+refusedKeyCost(k) > w.bytes {
		return
	}
	if w.refusedSet == nil {
		w.refusedSet = map[string]struct{}{}
	}
	w.refusedSet[k] = struct{}{}
	w.refusedBytes += refusedKeyCost(k)
	w.refused++
}

func (w *widget) unrefuse(k string) {
	if _, ok := w.refusedSet[k]; ok {
		delete(w.refusedSet, k)
		w.refusedBytes -= refusedKeyCost(k)
		w.refused--
	}
}

// forgetRefused drops the refused keys with the rows they were refused by.
func (w *widget) forgetRefused() { w.refused, w.refusedSet, w.refusedBytes = 0, nil, 0 }

func (w *widget) apply(u *Update) {
	w.encoded = nil
	if u.AsOf != nil {
		w.noteAsOf(*u.AsOf)
	}
	switch {
	case u.Value != nil:
		u.Value.Prev, u.Value.applied = w.value, true
		w.prev, w.value = w.value, u.Value.Value
		ts := u.Value.TS
		w.ts = &ts
	case u.Chart != nil && w.cats != nil:
		w.applyCats(u.Chart)
	case u.Chart != nil:
		w.applyChart(u.Chart)
	case u.Table != nil:
		// The rows replaced or deleted leave their blocks (release), as
		// in applyTable, so that a block's live count stays true.
		var touched []*colBlock
		for _, op := range u.Table.Ops {
			if r := w.rows[string(op.Key)]; r != nil {
				touched = release(r, touched)
				if !op.Delete {
					r.raw, r.blk, r.size = op.Row, nil, int32(len(op.Row))
					continue
				}
			}
			if op.Delete {
				w.delRow(string(op.Key))
			} else {
				w.putRow(string(op.Key), &tableRow{raw: op.Row, size: int32(len(op.Row))})
			}
		}
		w.compact(touched)
	}
}

func (w *widget) applyChart(c *ChartUpdate) {
	pts := w.series[c.Series]
	if len(c.Remove) > 0 {
		gone := make(map[Time]bool, len(c.Remove))
		for _, x := range c.Remove {
			gone[x] = true
		}
		pts = slices.DeleteFunc(pts, func(p Point) bool { return gone[p.X] })
	}
	if c.Upsert {
		for _, p := range c.Points {
			pts = upsertPoint(pts, p)
		}
	} else if c.cols != nil && c.Points == nil {
		pts = appendBoundedCols(pts, c.cols, *w.cfg.MaxPoints)
	} else {
		pts = appendBounded(pts, c.Points, *w.cfg.MaxPoints)
	}
	pts = trimFront(pts, *w.cfg.MaxPoints)
	if len(pts) == 0 && c.Series != "" {
		delete(w.series, c.Series)
		return
	}
	w.series[c.Series] = pts
}

func (w *widget) applyCats(c *ChartUpdate) {
	pts := w.cats[c.Series]
	if len(c.RemoveCats) > 0 {
		gone := make(map[string]bool, len(c.RemoveCats))
		for _, x := range c.RemoveCats {
			gone[x] = true
		}
		pts = slices.DeleteFunc(pts, func(p CatPoint) bool { return gone[p.X] })
	}
	for _, p := range c.Cats {
		if !c.Upsert {
			pts = append(pts, p)
			continue
		}
		// The newest point of the category, else a new category after the others.
		i := len(pts) - 1
		for i >= 0 && pts[i].X != p.X {
			i--
		}
		if i >= 0 {
			pts[i] = p
		} else {
			pts = append(pts, p)
		}
	}
	pts = trimFront(pts, *w.cfg.MaxPoints)
	if len(pts) == 0 && c.Series != "" {
		delete(w.cats, c.Series)
		return
	}
	w.cats[c.Series] = pts
}

// noteAsOf records that the widget's data is as of producer time t (a
// Pathway commit's time). The latest wins: a commit replayed or arriving late
// never moves it back.
func (w *widget) noteAsOf(t float64) {
	if w.asOf == nil || t > *w.asOf {
		w.asOf = &t
		w.encoded = nil
	}
}

// upsertPoint replaces the newest point at p.X, or inserts p after the last
// point with an x not above it. It scans from the end: Pathway's late updates
// touch recent windows.
func upsertPoint(pts []Point, p Point) []Point {
	for i := len(pts) - 1; i >= 0; i-- {
		if pts[i].X == p.X {
			pts[i] = p
			return pts
		}
	}
	i := len(pts)
	for i > 0 && pts[i-1].X > p.X {
		i--
	}
	return slices.Insert(pts, i, p)
}

// appendBounded appends add to pts and keeps the last n points. When pts's
// array has no room it moves to a new one of twice the points it then holds
// (at most twice n), so a chart that takes large batches (columnar updates
// of 50,000 points into a 100,000-point chart) copies each kept point about
// once, instead of regrowing by a quarter and copying everything on every
// batch. Twice what it holds, not twice n: the state byte limits count the
// points a series holds, and a series of one point in a chart of max_points
// 100,000 reserved 4.8 MB that no limit saw (100 such series: 480 MB).
func appendBounded(pts, add []Point, n int) []Point {
	if len(add) >= n {
		return append(make([]Point, 0, n), add[len(add)-n:]...)
	}
	pts = trimFront(pts, n-len(add))
	if cap(pts)-len(pts) >= len(add) {
		return append(pts, add...)
	}
	out := make([]Point, 0, seriesCap(len(pts)+len(add)))
	return append(append(out, pts...), add...)
}

// seriesCap is the array a series holding need points moves to: twice
// need, so appends cost one copy a point over time while the memory stays
// within twice what the byte limits count (need is at most max_points).
func seriesCap(need int) int { return max(2*need, 8) }

// trimFront keeps the last n points by reslicing; append copies only the
// kept part when it next grows, so memory stays within a small multiple of n.
func trimFront[P any](pts []P, n int) []P {
	if len(pts) > n {
		return pts[len(pts)-n:]
	}
	return pts
}

// appendState writes the state object of docs/protocol.md §3.
func (w *widget) appendState(b []byte) []byte {
	b = w.appendShapeState(b)
	if w.asOf == nil {
		return b
	}
	b = append(b[:len(b)-1], `,"as_of":`...)
	b = appendFloat(b, *w.asOf)
	return append(b, '}')
}

func (w *widget) appendShapeState(b []byte) []byte {
	switch w.cfg.Type {
	case TypeStat, TypeGauge:
		b = append(b, `{"value":`...)
		b = appendNum(b, w.value)
		b = append(b, `,"prev":`...)
		b = appendNum(b, w.prev)
		b = append(b, `,"ts":`...)
		if w.ts == nil {
			b = append(b, "null"...)
		} else {
			b = appendFloat(b, *w.ts)
		}
		return append(b, '}')
	case TypeChart:
		if w.cats != nil {
			return appendSeries(b, w.cats, appendCatPoints)
		}
		return appendSeries(b, w.series, appendPoints)
	default:
		keys := make([]string, 0, len(w.rows))
		for k := range w.rows {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, `{"rows":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = w.rows[k].appendTo(b)
		}
		b = append(b, '}')
		if w.refused > 0 {
			b = append(b, `,"refused":`...)
			b = strconv.AppendInt(b, int64(w.refused), 10)
		}
		return append(b, '}')
	}
}

// appendSeries writes a chart's state: the default series' points, and the
// named series by name.
func appendSeries[P any](b []byte, series map[string][]P, points func([]byte, []P) []byte) []byte {
	b = append(b, `{"points":`...)
	b = points(b, series[""])
	names := make([]string, 0, len(series))
	for name := range series {
		if name != "" {
			names = append(names, name)
		}
	}
	if len(names) > 0 {
		sort.Strings(names)
		b = append(b, `,"series":{`...)
		for i, name := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, name)
			b = append(b, ':')
			b = points(b, series[name])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// stateIn is the union of the state shapes, for loading snapshots.
type stateIn struct {
	Value   Num                        `json:"value"`
	Prev    Num                        `json:"prev"`
	TS      *float64                   `json:"ts"`
	Points  []Point                    `json:"points"`
	Series  map[string][]Point         `json:"series"`
	Rows    map[string]json.RawMessage `json:"rows"`
	Refused int                        `json:"refused"`
	AsOf    *float64                   `json:"as_of"`
}

// catStateIn is a category chart's state, for loading snapshots.
type catStateIn struct {
	Points []CatPoint            `json:"points"`
	Series map[string][]CatPoint `json:"series"`
	AsOf   *float64              `json:"as_of"`
}

func (w *widget) loadState(b []byte) error {
	w.encoded = nil
	if w.cats != nil {
		var s catStateIn
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("widget %q state: %w", w.cfg.ID, err)
		}
		if len(s.Points) > 0 {
			w.cats[""] = s.Points
		}
		for name, pts := range s.Series {
			w.cats[name] = pts
		}
		w.asOf = restoredAsOf(s.AsOf, time.Now())
		return nil
	}
	var s stateIn
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("widget %q state: %w", w.cfg.ID, err)
	}
	switch w.cfg.Type {
	case TypeStat, TypeGauge:
		w.value, w.prev, w.ts = s.Value, s.Prev, s.TS
	case TypeChart:
		if len(s.Points) > 0 {
			w.series[""] = s.Points
		}
		for name, pts := range s.Series {
			w.series[name] = pts
		}
	case TypeTable:
		var touched []*colBlock
		for k, row := range s.Rows {
			if r := w.rows[k]; r != nil {
				touched = release(r, touched)
				w.delRow(k)
			}
			w.putRow(k, &tableRow{raw: row, size: int32(len(row))})
		}
		w.compact(touched)
		// Which keys were refused is not kept, only how many.
		w.refused = max(0, s.Refused)
	}
	w.asOf = restoredAsOf(s.AsOf, time.Now())
	return nil
}

// restoredAsOf is a snapshot's as_of, or nil when it is further ahead of now
// than an update's as_of may be (checkAsOf): a server from before that bound
// may have saved one, and it would hold the widget's as_of there for good.
func restoredAsOf(a *float64, now time.Time) *float64 {
	if a != nil && *a > float64(now.Add(maxAsOfAhead).UnixMilli()) {
		return nil
	}
	return a
}
