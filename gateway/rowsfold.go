package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// rowFold turns a widget's Pathway rows into its ordinary updates, with the
// same rules as the Python SDK's Pathway bindings (docs/protocol.md §1.6):
//
//   - The live rows are a multiset by content, with the Pathway time of each
//     row's latest insertion; the changes of one Pathway time are held
//     (pending) and folded together, so an update (a retraction and an
//     insertion at one time) moves a row or point in place and a bare
//     retraction deletes.
//   - A point (table key, chart (series, x), a stat's one value) shows its
//     most recently inserted live row, ties to the greater row text; its
//     retraction brings back the next one; the last one's removes it.
//
// What is shown is a function of the live multiset alone, never of the
// order rows arrived in, so the processes of a `pathway spawn` may
// interleave on the bus, and replaying the log rebuilds the same state.
type rowFold struct {
	max     int                 // distinct rows held at most (the table row limit)
	live    map[string]*foldRow // by text; count != 0
	pending []rowChange
	pendMax int64 // the latest time pending
	shown   int64 // the latest time folded but endOfStream: that time's as_of and time chart x
	view    *foldView
	bytes   int // what the live and pending rows cost (foldRow.cost), part of the widget's
}

// size is what the fold adds to its widget's state cost (statebytes.go); 0 without one.
func (f *rowFold) size() int {
	if f == nil {
		return 0
	}
	return f.bytes
}

func newRowFold(max int) *rowFold {
	return &rowFold{max: max, live: map[string]*foldRow{}}
}

// How a config reads rows.
const (
	viewNone   = iota // the config does not say (a chart without y, a stat without column)
	viewTable         // one row per key
	viewPoints        // a chart with x: one point per (series, x)
	viewTimes         // a chart without x: each insertion is a point at its time
	viewValue         // a stat or gauge: one value
)

type foldView struct {
	cfg    *WidgetConfig
	kind   int
	groups map[string]*foldGroup
}

// foldGroup is one point: the live rows that map to it and what it shows.
type foldGroup struct {
	series  string
	x       Time
	cat     string
	key     string
	members map[*foldRow]foldVal
	shown   *foldVal
}

// foldVal is what a row puts at a point: a y (chart, value) or a row (table).
type foldVal struct {
	y   Num
	row json.RawMessage
}

func (a foldVal) equal(b foldVal) bool {
	return a.y == b.y && bytes.Equal(a.row, b.row)
}

type member struct {
	key    string
	series string
	x      Time
	cat    string
	val    foldVal
}

// setView reads the live rows with cfg's rules, each point showing its
// winner (what the widget then holds: refold writes it).
func (f *rowFold) setView(cfg *WidgetConfig) {
	v := &foldView{cfg: cfg, kind: viewKind(cfg), groups: map[string]*foldGroup{}}
	f.view = v
	if v.kind == viewNone || v.kind == viewTimes {
		return
	}
	for _, r := range f.live {
		if r.count <= 0 {
			continue
		}
		ms, _ := v.members(r)
		for _, m := range ms {
			v.group(m).members[r] = m.val
		}
	}
	for _, g := range v.groups {
		if w := g.winner(); w != nil {
			val := g.members[w]
			g.shown = &val
		}
	}
}

func viewKind(cfg *WidgetConfig) int {
	rc := cfg.RowsConfig
	switch cfg.Type {
	case TypeTable:
		return viewTable
	case TypeChart:
		switch {
		case rc == nil || rc.Y == nil:
			return viewNone
		case rc.X == "":
			return viewTimes
		default:
			return viewPoints
		}
	default:
		if rc == nil || rc.Column == "" {
			return viewNone
		}
		return viewValue
	}
}

func (v *foldView) group(m member) *foldGroup {
	g := v.groups[m.key]
	if g == nil {
		g = &foldGroup{series: m.series, x: m.x, cat: m.cat, key: m.key, members: map[*foldRow]foldVal{}}
		v.groups[m.key] = g
	}
	return g
}

func (g *foldGroup) winner() *foldRow {
	var best *foldRow
	for r := range g.members {
		if best == nil || r.newer(best) {
			best = r
		}
	}
	return best
}

// add holds one change until its time is folded.
func (f *rowFold) add(c *rowChange) {
	if len(f.pending) == 0 || c.time > f.pendMax {
		f.pendMax = c.time
	}
	f.pending = append(f.pending, *c)
	f.bytes += c.row.cost()
}

// flush folds the pending changes into the live rows and returns the
// updates that bring the widget from what it showed to what it shows now;
// ms stamps a value. The error says which rows could not be shown (and
// why); the rest is folded all the same.
func (f *rowFold) flush(ms float64) ([]*Update, error) {
	v := f.view
	was := map[*foldRow]bool{}
	var order []*foldRow
	type insertion struct {
		t int64
		r *foldRow
	}
	var inserted []insertion
	var errs errList
	refused := 0
	latest := f.pendMax
	if latest != endOfStream {
		f.shown = latest
	}
	for _, c := range f.pending {
		r := f.live[c.row.text]
		switch {
		case r != nil:
			f.bytes -= c.row.cost() // a copy of a row held already
		case len(f.live) >= f.max:
			f.bytes -= c.row.cost()
			refused++
			continue
		default:
			r = c.row // its cost moves from pending to live
			r.count, r.time = 0, 0
			f.live[r.text] = r
		}
		if _, ok := was[r]; !ok {
			was[r] = r.count > 0
			order = append(order, r)
		}
		r.count += c.diff
		if c.diff > 0 {
			r.time = max(r.time, c.time)
			if v.kind == viewTimes {
				inserted = append(inserted, insertion{c.time, r})
			}
		}
	}
	clear(f.pending)
	f.pending = f.pending[:0]
	if refused > 0 {
		errs.add(fmt.Errorf("%w: %d distinct live rows are held, the most there may be; %d rows left out", ErrTableFull, f.max, refused))
	}
	if v.kind == viewNone && len(order) > 0 {
		need := `"column"`
		if v.cfg.Type == TypeChart {
			need = `"y"`
		}
		errs.add(fmt.Errorf("%w: %s %q has no %s in its config to read rows by: its rows are held until a config names it", ErrBadShape, v.cfg.Type, v.cfg.ID, need))
	}
	touched := map[string]*foldGroup{}
	for _, r := range order {
		now := r.count > 0
		if r.count == 0 {
			delete(f.live, r.text)
			f.bytes -= r.cost()
		}
		if (v.kind == viewNone || v.kind == viewTimes) || !was[r] && !now {
			continue
		}
		ms, err := v.members(r)
		if err != nil && now {
			errs.add(err)
		}
		for _, m := range ms {
			g := v.groups[m.key]
			if g == nil && !now {
				continue
			}
			if g == nil {
				g = v.group(m)
			}
			if now {
				g.members[r] = m.val
			} else {
				delete(g.members, r)
			}
			touched[m.key] = g
		}
	}
	var ups []*Update
	switch v.kind {
	case viewTimes:
		per := map[string][]Point{}
		var names []string
		for _, in := range inserted {
			if in.r.count <= 0 {
				continue // inserted and retracted within the time: never live
			}
			for _, m := range v.timeMembers(in.r, &errs) {
				if _, ok := per[m.series]; !ok {
					names = append(names, m.series)
				}
				x := in.t
				if x == endOfStream {
					x = f.shown
				}
				per[m.series] = append(per[m.series], Point{X: Time(x), Y: m.val.y})
			}
		}
		sort.Strings(names)
		for _, s := range names {
			ups = append(ups, &Update{Chart: &ChartUpdate{Series: s, Points: per[s], numX: true}})
		}
	case viewTable, viewPoints, viewValue:
		ups = v.changes(touched, ms)
	}
	// Like the SDK, every folded time reaches the dashboard as the data's
	// as_of, even when it changed nothing shown (a stat has no empty update).
	if len(ups) == 0 {
		switch v.kind {
		case viewTable:
			ups = []*Update{{Table: &TableUpdate{}}}
		case viewPoints, viewTimes:
			ups = []*Update{{Chart: &ChartUpdate{Upsert: v.kind == viewPoints, numX: !v.cfg.category()}}}
		}
	}
	// A time further ahead of the server's clock than an update's as_of may
	// be (a producer whose clock or times are wrong, checkAsOf) would hold
	// the widget's as_of there for good: its rows apply, its time is not
	// taken as the data's as_of.
	if asOf := float64(f.shown); asOf <= ms+float64(maxAsOfAhead.Milliseconds()) {
		for _, u := range ups {
			u.AsOf = &asOf
		}
	}
	return ups, errs.err()
}

// changes compares each touched point's winner with what it showed.
func (v *foldView) changes(touched map[string]*foldGroup, ms float64) []*Update {
	keys := make([]string, 0, len(touched))
	for k := range touched {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var table []TableOp
	series := map[string]*ChartUpdate{}
	var names []string
	var value *ValueUpdate
	category := v.cfg.category()
	for _, k := range keys {
		g := touched[k]
		w := g.winner()
		var now *foldVal
		if w != nil {
			val := g.members[w]
			now = &val
		} else {
			delete(v.groups, k)
		}
		if now == nil && g.shown == nil || now != nil && g.shown != nil && now.equal(*g.shown) {
			continue
		}
		g.shown = now
		switch v.kind {
		case viewTable:
			if now == nil {
				table = append(table, TableOp{Key: Key(g.key), Delete: true})
			} else {
				table = append(table, TableOp{Key: Key(g.key), Row: now.row})
			}
		case viewValue:
			value = &ValueUpdate{TS: ms}
			if now != nil {
				value.Value = now.y
			}
		case viewPoints:
			c := series[g.series]
			if c == nil {
				c = &ChartUpdate{Series: g.series, Upsert: true, numX: !category}
				series[g.series] = c
				names = append(names, g.series)
			}
			switch {
			case category && now == nil:
				c.RemoveCats = append(c.RemoveCats, g.cat)
			case category:
				c.Cats = append(c.Cats, CatPoint{X: g.cat, Y: now.y})
			case now == nil:
				c.Remove = append(c.Remove, g.x)
			default:
				c.Points = append(c.Points, Point{X: g.x, Y: now.y})
			}
		}
	}
	switch {
	case len(table) > 0:
		return []*Update{{Table: &TableUpdate{Ops: table}}}
	case value != nil:
		return []*Update{{Value: value}}
	}
	sort.Strings(names)
	ups := make([]*Update, 0, len(names))
	for _, s := range names {
		c := series[s]
		sort.Slice(c.Points, func(i, j int) bool { return c.Points[i].X < c.Points[j].X })
		ups = append(ups, &Update{Chart: c})
	}
	return ups
}

// members maps a live row to the points it feeds. A row the config cannot
// read (a missing column, an x that is no time) feeds none, and the error says why.
func (v *foldView) members(r *foldRow) ([]member, error) {
	cfg, rc := v.cfg, v.cfg.RowsConfig
	switch v.kind {
	case viewTable:
		key, err := rowKey(r, rc)
		if err != nil {
			return nil, err
		}
		return []member{{key: key, val: foldVal{row: shownRow(r, cfg.Columns)}}}, nil
	case viewValue:
		y, err := rowNum(r, rc.Column)
		if err != nil {
			return nil, err
		}
		return []member{{val: foldVal{y: y}}}, nil
	case viewPoints:
		raw, ok := r.cols[rc.X]
		if !ok {
			return nil, missingColumn("x", rc.X, r)
		}
		if string(raw) == "null" {
			return nil, nil // no x: not shown, like the SDK
		}
		m := member{}
		if cfg.category() {
			m.cat = cellText(raw)
			if len(m.cat) == 0 || len(m.cat) > maxTextLen {
				return nil, fmt.Errorf("%w: x %s: a category is 1 to %d bytes", ErrBadShape, truncate(m.cat, 40), maxTextLen)
			}
			m.key = m.cat
		} else {
			t, err := rowTime(raw)
			if err != nil {
				return nil, fmt.Errorf("%w: x column %q: %v", ErrBadShape, rc.X, err)
			}
			m.x, m.key = t, strconv.FormatFloat(float64(t), 'g', -1, 64)
		}
		var errs errList
		out := v.pairs(r, m, &errs)
		return out, errs.err()
	}
	return nil, nil
}

// timeMembers is members for a chart without x: each series' y.
func (v *foldView) timeMembers(r *foldRow, errs *errList) []member {
	return v.pairs(r, member{}, errs)
}

// pairs gives one member per (series, y) a row carries, at base's x.
func (v *foldView) pairs(r *foldRow, base member, errs *errList) []member {
	rc := v.cfg.RowsConfig
	var out []member
	for _, col := range rc.Y.cols {
		y, err := rowNum(r, col)
		if err != nil {
			errs.add(err)
			continue
		}
		m := base
		switch {
		case rc.Series != "":
			raw, ok := r.cols[rc.Series]
			if !ok {
				errs.add(missingColumn("series", rc.Series, r))
				continue
			}
			m.series = cellText(raw)
			if len(m.series) > maxTextLen {
				errs.add(fmt.Errorf("%w: series %s of column %q is longer than %d bytes", ErrBadShape, truncate(m.series, 40), rc.Series, maxTextLen))
				continue
			}
		case rc.Y.list:
			m.series = col
		}
		m.key = m.series + "\x00" + base.key
		m.val = foldVal{y: y}
		out = append(out, m)
	}
	return out
}

// rowKey is a table row's key: the key column's text (several: their JSON
// array), or without key columns the row itself; a hash when that text is
// longer than a key may be, or empty (a key column of free text holds both).
func rowKey(r *foldRow, rc *RowsConfig) (string, error) {
	var key string
	switch {
	case rc == nil || len(rc.Key) == 0:
		key = r.text
	case len(rc.Key) == 1:
		raw, ok := r.cols[rc.Key[0]]
		if !ok {
			return "", missingColumn("key", rc.Key[0], r)
		}
		key = cellText(raw)
	default:
		b := []byte{'['}
		for i, col := range rc.Key {
			raw, ok := r.cols[col]
			if !ok {
				return "", missingColumn("key", col, r)
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, raw...)
		}
		key = string(append(b, ']'))
	}
	if len(key) == 0 || len(key) > maxKeyBytes {
		sum := sha256.Sum256([]byte(key))
		key = "sha256:" + hex.EncodeToString(sum[:16])
	}
	return key, nil
}

// shownRow is the row a table shows: its columns as sent, or the config's columns in their order.
func shownRow(r *foldRow, columns *[]string) json.RawMessage {
	if columns == nil {
		return r.raw
	}
	return appendColumns(nil, *columns, r.cols)
}

// cellText is a value as a key, category or series name: text as is, anything else its JSON.
func cellText(raw json.RawMessage) string {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

func rowNum(r *foldRow, col string) (Num, error) {
	raw, ok := r.cols[col]
	if !ok {
		return Num{}, missingColumn("y", col, r)
	}
	switch string(raw) {
	case "true":
		return Num{V: 1, Valid: true}, nil
	case "false":
		return Num{V: 0, Valid: true}, nil
	}
	var n Num
	if err := n.UnmarshalJSON(raw); err != nil {
		return Num{}, fmt.Errorf("%w: column %q holds %s, not a number", ErrBadShape, col, truncate(string(raw), 40))
	}
	return n, nil
}

// rowTime reads an x: a number, or a time as Pathway writes it
// (DateTimeUtc "2026-01-01T00:00:00.000000000+0000", DateTimeNaive without
// a zone, taken as UTC like the SDK does) or as RFC 3339.
func rowTime(raw json.RawMessage) (Time, error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700", "2006-01-02T15:04:05.999999999"} {
			if t, err := time.Parse(layout, s); err == nil {
				return Time(float64(t.UnixMilli()) + float64(t.Nanosecond()%1e6)/1e6), nil
			}
		}
		return 0, fmt.Errorf("%q is not a time", truncate(s, 40))
	}
	t, ok := parseMSTime(raw)
	if !ok {
		return 0, fmt.Errorf("%s is not a number or a time", truncate(string(raw), 40))
	}
	return t, nil
}

func missingColumn(field, col string, r *foldRow) error {
	names := make([]string, 0, len(r.cols))
	for n := range r.cols {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Errorf("%w: the config's %s column %q is not in the row (its columns: %s)", ErrBadShape, field, col, truncate(strings.Join(names, ", "), 200))
}

// errList keeps the first error and counts the rest.
type errList struct {
	first error
	more  int
}

func (e *errList) add(err error) {
	if err == nil {
		return
	}
	if e.first == nil {
		e.first = err
		return
	}
	e.more++
}

func (e *errList) err() error {
	if e.first == nil || e.more == 0 {
		return e.first
	}
	return fmt.Errorf("%w (and %d more like it)", e.first, e.more)
}

// writeState makes w hold what the view shows (after a config changed how
// rows are read): every point's winner, sorted by x.
func (v *foldView) writeState(w *widget) {
	switch v.kind {
	case viewTable:
		w.clearRows()
		w.forgetRefused()
		for _, g := range v.groups {
			if g.shown != nil {
				w.putRow(g.key, &tableRow{raw: g.shown.row, size: int32(len(g.shown.row))})
			}
		}
	case viewValue:
		for _, g := range v.groups {
			if g.shown != nil {
				w.value = g.shown.y
			}
		}
	case viewPoints:
		if w.cats != nil {
			clear(w.cats)
		} else {
			clear(w.series)
		}
		for _, g := range v.groups {
			if g.shown == nil {
				continue
			}
			if w.cats != nil {
				w.cats[g.series] = append(w.cats[g.series], CatPoint{X: g.cat, Y: g.shown.y})
			} else {
				w.series[g.series] = append(w.series[g.series], Point{X: g.x, Y: g.shown.y})
			}
		}
		for s, pts := range w.series {
			sort.Slice(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
			w.series[s] = trimFront(pts, *w.cfg.MaxPoints)
		}
		for s, pts := range w.cats {
			sort.Slice(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
			w.cats[s] = trimFront(pts, *w.cfg.MaxPoints)
		}
	}
}

// refold is setConfig's hook: a config that reads rows otherwise than the
// last one rebuilds the widget's state from the live rows.
func (w *widget) refold() {
	f := w.fold
	if f == nil {
		return
	}
	if f.view != nil && sameRowsView(f.view.cfg, w.cfg) {
		f.view.cfg = w.cfg
		return
	}
	f.setView(w.cfg)
	f.view.writeState(w)
}
