package gateway

import (
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

func tableRowCost(key string, row []byte) int { return rowCost + len(key) + len(row) }

// measure is the widget's whole state cost; it walks every row, so the hot
// path keeps w.bytes up to date by deltas instead (admitRowBytes, chartCost).
func (w *widget) measure() int {
	n := widgetCost + w.chartCost() + w.fold.size()
	for k, row := range w.rows {
		n += tableRowCost(k, row)
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
				delete(w.rows, k)
				delta -= tableRowCost(k, old)
			}
		case !exists && len(w.rows) >= maxRows:
			w.refuse(k)
			refused++
			keep = false
		default:
			if !exists {
				w.unrefuse(k)
			}
			d := tableRowCost(k, op.Row)
			if exists {
				d -= tableRowCost(k, old)
			}
			if d > 0 && (w.bytes+delta+d > maxBytes || delta+d > room) {
				if w.bytes+delta+d > maxBytes {
					why = fmt.Errorf("%w: table %q would hold more than %d bytes", ErrWidgetBytes, w.cfg.ID, maxBytes)
				} else if why == nil {
					why = ErrStateBytes
				}
				dropped++
				keep = false
				break
			}
			w.rows[k] = op.Row
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
	if w.refused != before {
		n := w.refused
		u.Table.Refused = &n
	}
	return refused, dropped, delta, why
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
