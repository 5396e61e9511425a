package gateway

import (
	"encoding/binary"
	"fmt"

	"github.com/streamviz/streamviz/protocol"
)

// Errors of the state limits (Limits), each a reason label of
// streamviz_updates_rejected_total.
var (
	ErrTooManyWidgets = protocol.ErrTooManyWidgets
	ErrTooManySeries  = protocol.ErrTooManySeries
	ErrWidgetBytes    = protocol.ErrWidgetBytes
	ErrStateBytes     = protocol.ErrStateBytes
	// ErrNoWidget refuses the removal of a widget that does not exist.
	ErrNoWidget = protocol.ErrNoWidget
)

// What state costs, counted as the bytes it takes in memory (and, about as
// much, in snapshots): a table row its key and JSON plus the map entry; a
// chart point its struct in a slice, a category's text besides.
const (
	widgetCost = 512 // config, maps, the cached encoding's header
	rowCost    = 64
	seriesCost = 96
	pointCost  = 24
)

func tableRowCost(key string, size int) int { return rowCost + len(key) + size }

// measure is the widget's whole state cost; it walks every row, so the hot
// path keeps w.bytes up to date by deltas instead (admitRowBytes, chartCost).
func (w *widget) measure() int {
	n := widgetCost + w.chartCost() + w.fold.size()
	for k, r := range w.rows {
		n += tableRowCost(k, int(r.size))
	}
	return n
}

func (w *widget) chartCost() int {
	n := 0
	for name, pts := range w.series {
		n += seriesCost + len(name) + len(pts)*pointCost
	}
	for name, pts := range w.cats {
		n += seriesCost + len(name) + len(pts)*pointCost
		for _, p := range pts {
			n += len(p.X)
		}
	}
	return n
}

// checkChart refuses a chart update that would add a series past
// maxSeries, or take the widget past maxBytes or all widgets' state past
// room more than it has: projected from the points it brings, as if none
// replaced another, so it errs on the safe side.
func (w *widget) checkChart(c *ChartUpdate, lim Limits, room int) error {
	if c == nil {
		return nil
	}
	var have, add int
	var exists bool
	if c.category {
		pts, ok := w.cats[c.Series]
		have, add, exists = len(pts), len(c.Cats), ok
	} else {
		pts, ok := w.series[c.Series]
		have, add, exists = len(pts), c.count(), ok
	}
	if !exists && add > 0 && len(w.series)+len(w.cats) >= lim.MaxSeries {
		return fmt.Errorf("%w: chart %q has %d series, the most a chart may have", ErrTooManySeries, w.cfg.ID, lim.MaxSeries)
	}
	grow := (min(have+add, *w.cfg.MaxPoints) - have) * pointCost
	if !exists {
		grow += seriesCost + len(c.Series)
	}
	for _, p := range c.Cats {
		grow += len(p.X)
	}
	if grow <= 0 {
		return nil
	}
	if w.bytes+grow > lim.MaxWidgetBytes {
		return fmt.Errorf("%w: chart %q would hold %d bytes, over %d", ErrWidgetBytes, w.cfg.ID, w.bytes+grow, lim.MaxWidgetBytes)
	}
	if grow > room {
		return fmt.Errorf("%w: the widgets' state would pass %d bytes", ErrStateBytes, lim.MaxStateBytes)
	}
	return nil
}

// applyTable applies a table update's ops in order, each checked against
// the row limit and the byte limits as the widget stands after the ops
// before it, with one lookup of its key: a new key beyond maxRows live rows
// is left out and remembered as refused (docs/protocol.md §1.3); an op that
// would take the widget past maxBytes, or the state past room more than it
// has (new rows, and updates that grow a row; deletes always fit), is left
// out and counted. The ops left out are taken out of u (its event carries
// the applied ones) and u.Table.Refused is set when the refused count
// changed. It returns how many keys the row limit refused, how many ops the
// byte limits dropped and why, and what the kept ops change the widget's
// cost by.
//
// One pass and no map per batch: a keyed table rewritten by columnar
// updates of 10,000 rows (docs/protocol.md §1.8) spent a third of the
// server's time in the separate admission passes' lookups and maps.
func (w *widget) applyTable(u *Update, maxRows, maxBytes, room int) (refused, dropped, delta int, why error) {
	w.encoded = nil
	if u.AsOf != nil {
		w.noteAsOf(*u.AsOf)
	}
	before := w.refused
	var touched []*colBlock // blocks to check for compaction (compact)
	if u.Table.blk != nil && u.Table.Ops == nil {
		refused, dropped, delta, touched, why = w.applyBlock(u, maxRows, maxBytes, room)
	} else {
		refused, dropped, delta, touched, why = w.applyOps(u, maxRows, maxBytes, room)
	}
	w.compact(touched)
	if w.refused != before {
		n := w.refused
		u.Table.Refused = &n
	}
	return refused, dropped, delta, why
}

// byteLimit reports whether growing the widget by d (after delta so far)
// passes maxBytes or room, and why.
func (w *widget) byteLimit(d, delta, maxBytes, room int, why error) (bool, error) {
	if d <= 0 || (w.bytes+delta+d <= maxBytes && delta+d <= room) {
		return false, why
	}
	if w.bytes+delta+d > maxBytes {
		return true, fmt.Errorf("%w: table %q would hold more than %d bytes", ErrWidgetBytes, w.cfg.ID, maxBytes)
	}
	if why == nil {
		why = ErrStateBytes
	}
	return true, why
}

// release notes that r no longer holds a row of its block (if it did).
func release(r *tableRow, touched []*colBlock) []*colBlock {
	if r.blk == nil {
		return touched
	}
	r.blk.live--
	if n := len(touched); n == 0 || touched[n-1] != r.blk {
		touched = append(touched, r.blk)
	}
	return touched
}

// applyOps is applyTable of JSON ops.
func (w *widget) applyOps(u *Update, maxRows, maxBytes, room int) (refused, dropped, delta int, touched []*colBlock, why error) {
	ops := u.Table.Ops
	var kept []TableOp // nil while every op so far applies
	for i := range ops {
		op := &ops[i]
		k := string(op.Key)
		old, exists := w.rows[k]
		keep := true
		switch {
		case op.Delete:
			w.unrefuse(k)
			if exists {
				touched = release(old, touched)
				w.delRow(k)
				delta -= tableRowCost(k, int(old.size))
			}
		case !exists && len(w.rows) >= maxRows:
			w.refuse(k)
			refused++
			keep = false
		default:
			if !exists {
				w.unrefuse(k)
			}
			d := tableRowCost(k, len(op.Row))
			if exists {
				d -= tableRowCost(k, int(old.size))
			}
			var over bool
			if over, why = w.byteLimit(d, delta, maxBytes, room, why); over {
				dropped++
				keep = false
				break
			}
			if exists {
				touched = release(old, touched)
				old.raw, old.blk, old.size = op.Row, nil, int32(len(op.Row))
			} else {
				w.putRow(k, &tableRow{raw: op.Row, size: int32(len(op.Row))})
			}
			delta += d
		}
		switch {
		case !keep && kept == nil:
			kept = append(make([]TableOp, 0, len(ops)-1), ops[:i]...)
		case keep && kept != nil:
			kept = append(kept, *op)
		}
	}
	if kept != nil {
		// A binary frame forwards the message only when it is what applied.
		u.Table.Ops, u.Table.cols = kept, nil
	}
	return refused, dropped, delta, touched, why
}

// applyBlock is applyTable of a columnar update's rows (docs/protocol.md
// §1.8), with the rules of applyOps: each row's key is looked up once (its
// text made on the stack) and a live key's row is replaced in place, by a
// reference to the block; no row's JSON is printed and no key is allocated
// but a new one.
func (w *widget) applyBlock(u *Update, maxRows, maxBytes, room int) (refused, dropped, delta int, touched []*colBlock, why error) {
	blk := u.Table.blk
	var kept []int32 // nil while every row so far applies
	var buf [24]byte
	for i := 0; i < blk.n; i++ {
		var kb []byte
		var r *tableRow
		var exists bool
		if blk.keys.ints != nil {
			// Looked up by its number; its text is made only when needed.
			r = w.intRow(int64(binary.LittleEndian.Uint64(blk.keys.ints[8*i:])))
			exists = r != nil
		} else {
			kb = blk.keys.texts.cell(i)
			r, exists = w.rows[string(kb)]
		}
		keep := true
		klen := len(kb)
		if blk.keys.ints != nil {
			klen = intLen(int64(binary.LittleEndian.Uint64(blk.keys.ints[8*i:])))
			if !exists {
				kb = blk.appendKey(buf[:0], i)
			}
		}
		size := int(blk.sizes[i])
		if !exists && len(w.rows) >= maxRows {
			w.refuse(string(kb))
			refused++
			keep = false
		} else {
			if !exists {
				w.unrefuse(string(kb))
			}
			d := rowCost + klen + size
			if exists {
				d -= rowCost + klen + int(r.size)
			}
			var over bool
			if over, why = w.byteLimit(d, delta, maxBytes, room, why); over {
				dropped++
				keep = false
			} else {
				if exists {
					touched = release(r, touched)
					r.raw, r.blk, r.i, r.size = nil, blk, int32(i), int32(size)
				} else {
					w.putRow(string(kb), &tableRow{blk: blk, i: int32(i), size: int32(size)})
				}
				blk.live++
				delta += d
			}
		}
		switch {
		case !keep && kept == nil:
			kept = make([]int32, i, blk.n)
			for j := range kept {
				kept[j] = int32(j)
			}
		case keep && kept != nil:
			kept = append(kept, int32(i))
		}
	}
	if kept != nil {
		// Events carry the ops that applied (a binary frame too): made of
		// the block's rows here, as the JSON update's would be.
		ops := make([]TableOp, len(kept))
		for j, i := range kept {
			ops[j] = TableOp{Key: blk.keys.key(int(i)), Row: blk.appendRow(make([]byte, 0, blk.sizes[i]), int(i))}
		}
		u.Table.Ops, u.Table.cols = ops, nil
		// The rows that applied still refer to the whole message: compact
		// checks it like a block whose rows were replaced, so that a few
		// rows left in never keep a message of refused ones alive.
		if n := len(touched); n == 0 || touched[n-1] != blk {
			touched = append(touched, blk)
		}
	}
	return refused, dropped, delta, touched, why
}

// compact gives the rows that still refer to a block holding less than a
// quarter of live rows their own JSON, so that a few rows never keep a whole
// message alive (the byte limits count a row as its JSON). A block whose
// rows were all replaced is simply dropped; each block is compacted at most
// once. The touched blocks are those whose rows this update replaced or
// deleted, and the update's own block when some of its rows were left out.
func (w *widget) compact(touched []*colBlock) {
	for _, blk := range touched {
		if blk.live <= 0 || 4*blk.live >= blk.n {
			continue
		}
		for i := 0; i < blk.n && blk.live > 0; i++ {
			var r *tableRow
			if blk.keys.ints != nil {
				r = w.intRow(int64(binary.LittleEndian.Uint64(blk.keys.ints[8*i:])))
			} else {
				r = w.rows[string(blk.keys.texts.cell(i))]
			}
			if r != nil && r.blk == blk && int(r.i) == i {
				r.raw, r.blk = blk.appendRow(make([]byte, 0, r.size), i), nil
				blk.live--
			}
		}
	}
}

// BytesRefusedError reports a table update applied except for Dropped ops
// that did not fit a byte limit (Reason: ErrWidgetBytes or ErrStateBytes).
type BytesRefusedError struct {
	Subject, Widget string
	Dropped         int
	Reason          error
}

func (e *BytesRefusedError) Error() string {
	return fmt.Sprintf("%s: %v: %d ops of table %q left out, the rest applied", e.Subject, e.Reason, e.Dropped, e.Widget)
}

func (e *BytesRefusedError) Unwrap() error { return e.Reason }

// roomForWidget refuses a new widget past Limits.MaxWidgets. The state's
// lock is held.
func (s *state) roomForWidget(id string) error {
	if len(s.widgets) >= s.limits.MaxWidgets {
		s.widgetsRefused.Add(1)
		return fmt.Errorf("%w: %d widgets exist, the most there may be; %q is not created", ErrTooManyWidgets, s.limits.MaxWidgets, id)
	}
	return nil
}

// checkData is widget.check plus the chart limits. The state's lock is held.
func (s *state) checkData(w *widget, u *Update) error {
	if err := w.check(u); err != nil {
		return err
	}
	return w.checkChart(u.Chart, s.limits, s.limits.MaxStateBytes-s.stateBytes)
}

// applyData applies u (checked) within the row limit (tables) and the byte
// limits and keeps the costs up to date; it reports the new table keys the
// row limit left out and, as an error, the ops a byte limit left out. The
// state's lock is held.
func (s *state) applyData(subject string, w *widget, u *Update) (refused int, err error) {
	before := w.bytes
	if u.Table != nil {
		var dropped, delta int
		var why error
		refused, dropped, delta, why = w.applyTable(u, s.maxTableRows, s.limits.MaxWidgetBytes, s.limits.MaxStateBytes-s.stateBytes)
		w.bytes += delta
		s.stateBytes += delta
		if dropped > 0 {
			err = &BytesRefusedError{Subject: subject, Widget: w.cfg.ID, Dropped: dropped, Reason: why}
		}
		return refused, err
	}
	w.apply(u)
	if u.Chart != nil {
		w.bytes = widgetCost + w.chartCost() + w.fold.size()
	}
	s.stateBytes += w.bytes - before
	return 0, nil
}

// stateTotal and widgetBytes read the costs, for tests and metrics.
func (s *state) stateTotal() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stateBytes
}

func (s *state) widgetBytes(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.widgets[id]; w != nil {
		return w.bytes
	}
	return 0
}
