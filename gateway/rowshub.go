package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// rowsHooks is the state's link to the rows flusher; the state's lock guards it.
type rowsHooks struct {
	// due asks for an end marker of id's pending time t (nil until the log is replayed).
	due func(id string, t int64)
}

// applyRows folds one message of sv.<widget>.rows (a row change or the end
// marker) into the widget, creating it as a table keyed by row content when
// it has no config yet, and fans out what changed: a data event, or a config
// event with the whole state when the fold touched several series.
func (s *state) applyRows(m message, id string, c *rowChange) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handled = m.seq
	s.records++
	if m.seq <= s.skip[id] {
		return nil // the widget's snapshot holds it
	}
	w := s.widgets[id]
	created := false
	if w == nil {
		if c.end {
			return nil // the widget went away meanwhile
		}
		if err := s.roomForWidget(id); err != nil {
			s.rejected.Add(1)
			return fmt.Errorf("%s: %w", m.subject, err)
		}
		w = newWidget(DefaultConfig(id, TypeTable, s.history))
		s.widgets[id] = w
		s.stateBytes += w.bytes
		created = true
	}
	if w.fold == nil {
		w.fold = newRowFold(s.maxTableRows)
		w.fold.setView(w.cfg)
	}
	f := w.fold
	var ups []*Update
	var foldErr, bytesErr error
	before := f.bytes
	switch {
	case c.end:
		if len(f.pending) > 0 && f.pendMax <= c.time {
			ups, foldErr = f.flush(m.ms)
		}
	default:
		// A later time ends the one pending: fold it first.
		if len(f.pending) > 0 && c.time > f.pendMax {
			ups, foldErr = f.flush(m.ms)
		}
		// An insertion must fit the byte limits (a retraction frees, so it always goes in).
		if grow := c.row.cost() + f.bytes - before; c.diff > 0 && grow > 0 {
			bytesErr = s.roomForRow(w, grow)
		}
		if bytesErr == nil {
			f.add(c)
		}
		if s.rows.due != nil && len(f.pending) > 0 {
			s.rows.due(id, f.pendMax)
		}
	}
	// The fold is part of the widget's cost, kept before its updates apply
	// (a chart's cost is recounted whole there).
	w.bytes += f.bytes - before
	s.stateBytes += f.bytes - before
	s.dirty[id] = struct{}{} // the fold is part of the snapshot
	// Problems of the time folded here concern rows stored (and acknowledged)
	// before this message, which was applied: its acknowledgement carries
	// them as a warning. So does this row's own refusal at a byte limit (it
	// is left out, counted, like a table op at one): a resend cannot help.
	foldErrs := []error{foldErr}
	var last *Update
	applied := 0
	for _, u := range ups {
		if err := s.checkData(w, u); err != nil {
			foldErrs = append(foldErrs, err)
			continue
		}
		n, err := s.applyData(m.subject, w, u)
		if n > 0 {
			foldErrs = append(foldErrs, &RowsRefusedError{Subject: m.subject, Widget: id, Refused: n, Limit: s.maxTableRows})
		}
		foldErrs = append(foldErrs, err)
		last = u
		applied++
	}
	var ev event
	prev := s.lastEvent
	switch {
	case created || applied > 1:
		ev = configEvent(m.seq, prev, w)
	case applied == 1:
		ev = dataEvent(m.seq, prev, id, last)
	}
	if ev.b != nil {
		s.publish(m.seq, prev, id, ev, applied == 1 && !created && (w.cfg.Type == TypeStat || w.cfg.Type == TypeGauge))
	}
	s.accepted.Add(1)
	var errs []error
	if bytesErr != nil {
		errs = append(errs, &BytesRefusedError{Subject: m.subject, Widget: id, Dropped: 1, Reason: bytesErr})
	}
	if err := errors.Join(foldErrs...); err != nil {
		errs = append(errs, &RowsFoldError{Subject: m.subject, Widget: id, Err: err})
	}
	return errors.Join(errs...)
}

// RowsFoldError reports rows of a Pathway time that the fold left out or
// could not read (Err says which and why); the message that ended the time
// was applied, so its acknowledgement carries this as a warning.
type RowsFoldError struct {
	Subject, Widget string
	Err             error
}

func (e *RowsFoldError) Error() string {
	return fmt.Sprintf("%s: rows of widget %q not shown (the rest applied): %v", e.Subject, e.Widget, e.Err)
}

func (e *RowsFoldError) Unwrap() error { return e.Err }

// foldJSON is a fold as a snapshot keeps it: every live row with its count
// and time, and the changes not folded yet.
type foldJSON struct {
	Live    [][3]json.RawMessage `json:"live"`
	Pending [][3]json.RawMessage `json:"pending"`
}

// appendWidgetSnapshot is appendWidget plus, for a widget fed by rows, its
// fold: what a snapshot on disk holds (browsers never get the fold).
func appendWidgetSnapshot(b []byte, w *widget) []byte {
	b = appendWidget(b, w)
	if w.fold == nil {
		return b
	}
	b = append(b[:len(b)-1], `,"fold":{"live":[`...)
	texts := make([]string, 0, len(w.fold.live))
	for t := range w.fold.live {
		texts = append(texts, t)
	}
	sort.Strings(texts)
	for i, t := range texts {
		r := w.fold.live[t]
		b = appendFoldEntry(b, i, r.raw, r.count, r.time)
	}
	b = append(b, `],"pending":[`...)
	for i, c := range w.fold.pending {
		b = appendFoldEntry(b, i, c.row.raw, c.diff, c.time)
	}
	return append(b, "]}}"...)
}

func appendFoldEntry(b []byte, i int, raw json.RawMessage, n int, t int64) []byte {
	if i > 0 {
		b = append(b, ',')
	}
	b = append(b, '[')
	b = append(b, raw...)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, t, 10)
	return append(b, ']')
}

// loadFold restores a widget's fold from its snapshot body (restore's hook);
// a snapshot without one leaves the widget as it was.
func (w *widget) loadFold(body []byte, maxRows int) error {
	var s struct {
		Fold *foldJSON `json:"fold"`
	}
	if err := json.Unmarshal(body, &s); err != nil || s.Fold == nil {
		return err
	}
	f := newRowFold(maxRows)
	entry := func(e [3]json.RawMessage) (*foldRow, int, int64, error) {
		cols, err := decodeOrdered(e[0])
		if err != nil {
			return nil, 0, 0, err
		}
		n, err1 := rowInt(e[1])
		t, err2 := rowInt(e[2])
		if err := errors.Join(err1, err2); err != nil {
			return nil, 0, 0, err
		}
		return newFoldRow(cols), int(n), t, nil
	}
	for _, e := range s.Fold.Live {
		r, n, t, err := entry(e)
		if err != nil {
			return fmt.Errorf("widget %q rows: %w", w.cfg.ID, err)
		}
		r.count, r.time = n, t
		f.live[r.text] = r
		f.bytes += r.cost()
	}
	for _, e := range s.Fold.Pending {
		r, n, t, err := entry(e)
		if err != nil {
			return fmt.Errorf("widget %q rows: %w", w.cfg.ID, err)
		}
		f.add(&rowChange{time: t, diff: n, row: r})
	}
	f.setView(w.cfg)
	w.fold = f
	return nil
}

// DefaultRowsLinger is Config.RowsLinger's default: how long a widget's
// pending time waits for more of its rows before an end marker folds it.
// The last time of a pipeline (or of a pause) has no later time to end it.
// Rows of one time come from one Pathway flush, microseconds apart, unless
// the writer stalls; a later time folds it at once.
const DefaultRowsLinger = 100 * time.Millisecond

// rowsFlusher ends pending times: it publishes the marker {"$end": t} on
// sv.<widget>.rows through this gateway's own writer, so the marker is
// stored in the log where it happened and a replay folds exactly there.
type rowsFlusher struct {
	linger time.Duration    // Config.RowsLinger
	now    func() time.Time // time.Now; tests step a clock
	mu     sync.Mutex
	due    map[string]rowsDue
	wake   chan struct{}
}

func newRowsFlusher(linger time.Duration, now func() time.Time) *rowsFlusher {
	return &rowsFlusher{linger: linger, now: now, due: map[string]rowsDue{}, wake: make(chan struct{}, 1)}
}

type rowsDue struct {
	t  int64
	at time.Time
}

func (fl *rowsFlusher) schedule(id string, t int64) {
	fl.mu.Lock()
	d, ok := fl.due[id]
	if !ok || t > d.t {
		d.t = t
	}
	d.at = fl.now().Add(fl.linger)
	fl.due[id] = d
	fl.mu.Unlock()
	if !ok {
		select {
		case fl.wake <- struct{}{}:
		default:
		}
	}
}

// take removes and returns the markers due by now, and when the next is due.
func (fl *rowsFlusher) take(now time.Time) (map[string]int64, time.Duration) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	var out map[string]int64
	next := time.Duration(-1)
	for id, d := range fl.due {
		if wait := d.at.Sub(now); wait > 0 {
			if next < 0 || wait < next {
				next = wait
			}
			continue
		}
		if out == nil {
			out = map[string]int64{}
		}
		out[id] = d.t
		delete(fl.due, id)
	}
	return out, next
}

func (fl *rowsFlusher) run(stop <-chan struct{}, send func(id string, t int64)) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		due, next := fl.take(fl.now())
		for id, t := range due {
			send(id, t)
		}
		if next < 0 {
			next = time.Hour
		}
		timer.Reset(next)
		select {
		case <-stop:
			return
		case <-fl.wake:
		case <-timer.C:
		}
	}
}

// startRows hands the state the flusher's schedule, and schedules every
// widget still holding a pending time (from its snapshot or the log).
func (s *state) startRows(due func(id string, t int64)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows.due = due
	for id, w := range s.widgets {
		if w.fold != nil && len(w.fold.pending) > 0 {
			due(id, w.fold.pendMax)
		}
	}
}

// startRows starts ending pending times, once the log is replayed: every
// widget still holding a pending time (from its snapshot or the log) gets
// its marker too.
func (g *Gateway) startRows() {
	fl := newRowsFlusher(g.cfg.RowsLinger, time.Now)
	g.state.startRows(fl.schedule)
	g.bg.Add(1)
	go func() {
		defer g.bg.Done()
		fl.run(g.stop, func(id string, t int64) {
			if g.w.isClosing() {
				return // the last snapshot keeps the pending rows; the next start ends them
			}
			g.w.onMsg(&nats.Msg{Subject: SubjectPrefix + id + ".rows", Data: fmt.Appendf(nil, `{%q:%d}`, rowsEndField, t)})
		})
	}()
}

// roomForRow refuses a row that would take w past the widget byte limit or
// the widgets past the state byte limit.
func (s *state) roomForRow(w *widget, grow int) error {
	switch {
	case w.bytes+grow > s.limits.MaxWidgetBytes:
		return fmt.Errorf("%w: widget %q would hold more than %d bytes with this row; row left out", ErrWidgetBytes, w.cfg.ID, s.limits.MaxWidgetBytes)
	case s.stateBytes+grow > s.limits.MaxStateBytes:
		return fmt.Errorf("%w: the widgets' state would pass %d bytes with this row; row left out", ErrStateBytes, s.limits.MaxStateBytes)
	}
	return nil
}
