package gateway

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
)

// state is the owner of every widget's state and the dashboard's title: the
// pure fold of stored updates into bounded widgets (widget.go), the events
// that fold produces (built by event.go, handed to the resume log), and the
// snapshots of it (snapshot.go). It does no I/O and knows no clients.
//
// One goroutine (ingest) applies messages. Events go to the log while the
// state's lock is held, so a snapshot taken under that lock and the log's
// head at that moment meet exactly: a socket joining with the snapshot reads
// the log after it with no gap and no duplicate.
type state struct {
	history      int
	maxTableRows int
	limits       Limits    // widgets, series and state bytes (Config.Limits)
	events       eventSink // where events go: the resume log

	mu         sync.Mutex
	lastEvent  uint64 // seq of the newest event handed to events: the next one's "prev"
	stateBytes int    // the widgets' state cost, summed (statebytes.go)
	widgets    map[string]*widget
	title      string
	theme      []byte // normalized theme JSON (theme.go); nil is the default
	handled    uint64 // last position handled, events or rejections
	// capturedEvent is lastEvent when the last capture took handled: no
	// event lies between the two (the snapshot index keeps it).
	capturedEvent uint64
	doneMsg       uint64 // the last stored message (stream seq) whose every record is handled
	// Updates handled since start, and their count at the last capture and
	// compaction: what triggers the next one (Config.CompactMessages).
	records, recordsCaptured, recordsCompacted uint64
	compactedTo                                uint64            // the log is purged up to here (a position)
	skip                                       map[string]uint64 // snapshot generation per widget while rebuilding at boot
	snapGen                                    map[string]uint64 // position of each widget's newest snapshot in SV_SNAP
	dirty                                      map[string]struct{}

	// producers holds who published each widget's (and the title's) latest
	// config; onConflict hears of a config from another producer (§1.5).
	producers  map[string]string
	onConflict func(id, was, now string)

	rows rowsHooks // Pathway rows (rowshub.go)

	accepted atomic.Uint64
	rejected atomic.Uint64
	conflict atomic.Uint64 // configs of a widget or the title from a second producer
	// widgetsRefused counts updates refused for naming a new widget past
	// Limits.MaxWidgets: /healthz carries it so the page can say why widgets
	// a publisher sends never appear (the total above does not say which limit).
	widgetsRefused atomic.Uint64
}

// eventSink takes the events the state produces, in order: the resume log.
// The state calls it with its own lock held (the lock order is state, then
// log), once per event: the state keeps the newest event's seq itself (each
// event's "prev"), so an update takes the log's lock once, to append.
type eventSink interface {
	// append logs an event; one at or below the newest is refused (false).
	append(e logEntry) bool
	// head is the position of the newest event and the log offset after it.
	head() (Position, uint64)
}

var _ eventSink = (*resumeLog)(nil)

func newState(history, maxTableRows int, limits Limits, events eventSink) *state {
	return &state{
		history:      history,
		maxTableRows: maxTableRows,
		limits:       limits,
		events:       events,
		widgets:      map[string]*widget{},
		dirty:        map[string]struct{}{},
		skip:         map[string]uint64{},
		producers:    map[string]string{},
		snapGen:      map[string]uint64{},
	}
}

// startAt sets where the state starts after a (re)start: updates up to
// floor are handled (in the snapshots); the log is purged up to compacted.
func (s *state) startAt(floor, compacted uint64) {
	s.startEventsAt(floor, floor, compacted)
}

// startEventsAt is startAt where the last event before floor is known to be
// lastEvent (no event lies between them): the next event's prev.
func (s *state) startEventsAt(floor, lastEvent, compacted uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handled, s.compactedTo, s.lastEvent = floor, compacted, lastEvent
}

// message is what ingest hands the state: one stored update.
type message struct {
	seq     uint64
	subject string
	data    []byte
	ms      float64 // stream timestamp, milliseconds
}

// apply folds one message into the state and publishes its event. A message
// that fails validation changes nothing and returns the reason.
func (s *state) apply(m message) error {
	// Decode outside the lock: it is the expensive part and needs no state.
	d, err := decodeMessage(m.subject, m.data, m.ms, s.history)
	if err != nil {
		s.reject(m.seq)
		return err
	}
	if checkAsOf(d, m.subject, m.ms) != nil {
		// Stored before such an as_of was refused: its data still applies,
		// its as_of would freeze the widget's.
		d.upd.AsOf = nil
	}
	return s.applyDecoded(m, d)
}

// applyDecoded is apply for a message decodeMessage has decoded already.
func (s *state) applyDecoded(m message, d decoded) error {
	if d.dash {
		return s.setTitle(m.seq, d.title, d.themeSet, d.theme, d.producer)
	}
	if d.rows != nil {
		return s.applyRows(m, d.id, d.rows)
	}
	if d.remove {
		return s.remove(m, d.id)
	}
	id, cfg, upd := d.id, d.cfg, d.upd

	s.mu.Lock()
	defer s.mu.Unlock()
	s.handled = m.seq
	s.records++
	replaying := m.seq <= s.skip[id]
	w := s.widgets[id]
	prev := s.lastEvent
	var (
		ev       event
		latest   bool  // a stat or gauge value: a later one in the same frame supersedes it
		refused  int   // new table keys beyond the row limit, left out
		bytesErr error // table ops beyond a byte limit, left out
	)
	switch {
	case cfg != nil:
		if replaying {
			break
		}
		if w == nil {
			if err := s.roomForWidget(id); err != nil {
				s.rejected.Add(1)
				return fmt.Errorf("%s: %w", m.subject, err)
			}
		}
		s.noteProducer(id, cfg.Producer)
		if w == nil {
			w = newWidget(cfg)
			s.widgets[id] = w
			s.stateBytes += w.bytes
		} else {
			before := w.bytes
			w.setConfig(cfg)
			s.stateBytes += w.bytes - before
		}
		ev = configEvent(m.seq, prev, w)
	case w == nil:
		if err := s.roomForWidget(id); err != nil {
			s.rejected.Add(1)
			return fmt.Errorf("%s: %w", m.subject, err)
		}
		w = newWidget(DefaultConfig(id, upd.impliedType(), s.history))
		if err := s.checkData(w, upd); err != nil {
			s.rejected.Add(1)
			return fmt.Errorf("%s: %w", m.subject, err)
		}
		s.widgets[id] = w
		s.stateBytes += w.bytes
		refused, bytesErr = s.applyData(m.subject, w, upd)
		ev = configEvent(m.seq, prev, w)
	default:
		if err := s.checkData(w, upd); err != nil {
			s.rejected.Add(1)
			return fmt.Errorf("%s: %w", m.subject, err)
		}
		if replaying {
			break
		}
		refused, bytesErr = s.applyData(m.subject, w, upd)
		ev = dataEvent(m.seq, prev, id, upd)
		latest = w.cfg.Type == TypeStat || w.cfg.Type == TypeGauge
	}
	if ev.b != nil {
		s.dirty[id] = struct{}{}
		s.publish(m.seq, prev, id, ev, latest)
	}
	s.accepted.Add(1)
	if refused > 0 {
		return errors.Join(&RowsRefusedError{Subject: m.subject, Widget: id, Refused: refused, Limit: s.maxTableRows}, bytesErr)
	}
	return bytesErr
}

// remove applies a removal (docs/protocol.md §1.2): the widget, its
// history and its producer go, it no longer counts against the limits, and
// the next capture drops its snapshot (captureDirty), so neither a restart
// nor a later config brings the old state back.
func (s *state) remove(m message, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handled = m.seq
	s.records++
	if m.seq <= s.skip[id] {
		return nil // the widget's snapshot is newer: it was created again since
	}
	w := s.widgets[id]
	if w == nil {
		s.rejected.Add(1)
		return fmt.Errorf("%s: %w: %q does not exist (never created, or removed already); nothing removed", m.subject, ErrNoWidget, id)
	}
	delete(s.widgets, id)
	s.stateBytes -= w.bytes
	delete(s.producers, id)
	s.dirty[id] = struct{}{}
	prev := s.lastEvent
	s.publish(m.seq, prev, id, removeEvent(m.seq, prev, id), false)
	s.accepted.Add(1)
	return nil
}

// publish hands an event to the log. Only a replay below the restored floor
// can carry a position the log already passed: it changes state but sends
// nothing, as positions never go backwards. Call with s.mu held.
func (s *state) publish(seq, prev uint64, id string, ev event, latest bool) {
	if seq <= s.lastEvent {
		return
	}
	s.lastEvent = seq
	s.events.append(logEntry{seq: seq, prev: prev, latest: latest, id: id, ev: ev.b, head: ev.head, cols: ev.cols})
}

// RowsRefusedError reports a table update that was applied except for
// Refused new keys, which did not fit the table's row limit.
type RowsRefusedError struct {
	Subject, Widget string
	Refused, Limit  int
}

func (e *RowsRefusedError) Error() string {
	return fmt.Sprintf("%s: %v: table %q holds %d rows: %d new keys left out, the rest applied",
		e.Subject, ErrTableFull, e.Widget, e.Limit, e.Refused)
}

func (e *RowsRefusedError) Unwrap() error { return ErrTableFull }

// noteProducer records who published id's config; a config from another
// producer than the last one means two pipelines (or two scripts) declare
// the same widget, which then shows whichever wrote last. Call with s.mu held.
func (s *state) noteProducer(id, producer string) {
	if producer == "" {
		return
	}
	was := s.producers[id]
	s.producers[id] = producer
	if was == "" || was == producer {
		return
	}
	s.conflict.Add(1)
	if s.onConflict != nil {
		s.onConflict(id, was, producer)
	}
}

// resetCounters starts the counts of /healthz and /metrics over once the
// log an earlier run stored is applied again: they count what this run did.
// It runs on the log's consumer, which is what increments them meanwhile.
func (s *state) resetCounters() {
	s.accepted.Store(0)
	s.rejected.Store(0)
	s.conflict.Store(0)
	s.widgetsRefused.Store(0)
}

// producerOf is who published id's latest config, "" when unknown.
func (s *state) producerOf(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.producers[id]
}

// msgDone records that every record of the stored message seq is handled.
func (s *state) msgDone(seq uint64) {
	s.mu.Lock()
	s.doneMsg = seq
	s.mu.Unlock()
}

// reject counts an update that was stored but cannot be applied at all.
func (s *state) reject(seq uint64) {
	s.rejected.Add(1)
	s.mu.Lock()
	s.handled = seq
	s.records++
	s.mu.Unlock()
}

// countRejected counts an update refused before it was stored.
func (s *state) countRejected() { s.rejected.Add(1) }

// setTitle applies a dashboard config: a field it carries replaces the current one, a field
// it leaves out keeps it (a theme of JSON null is the default theme).
func (s *state) setTitle(seq uint64, title *string, hasTheme bool, theme []byte, producer string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handled = seq
	s.records++
	if seq <= s.skip[dashboardID] {
		return nil // replaying what the title's snapshot already holds
	}
	s.noteProducer(dashboardID, producer)
	if title != nil {
		s.title = *title
	}
	if hasTheme {
		s.theme = theme
	}
	s.dirty[dashboardID] = struct{}{}
	prev := s.lastEvent
	s.publish(seq, prev, "", titleEvent(seq, prev, s.title, s.theme), false)
	s.accepted.Add(1)
	return nil
}

// snapshot encodes the full state (of one widget when only is set) as a
// socket's first message, with the position it reflects: the log's head,
// read under the state's lock so that no event falls between the two.
func (s *state) snapshot(only string, reset bool) ([]byte, Position, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pos, end := s.events.head()
	title := s.title
	if only != "" {
		title = "" // an embed socket is shown one widget and nothing else
	}
	// An embed takes the dashboard's colours too.
	return snapshotMessage(pos, reset, title, s.theme, s.sortedWidgets(only)), pos, end
}

// sortedWidgets orders widgets as the dashboard shows them: by order, then id.
func (s *state) sortedWidgets(only string) []*widget {
	ws := make([]*widget, 0, len(s.widgets))
	for id, w := range s.widgets {
		if only == "" || only == id {
			ws = append(ws, w)
		}
	}
	sort.Slice(ws, func(i, j int) bool {
		if ws[i].cfg.Order != ws[j].cfg.Order {
			return ws[i].cfg.Order < ws[j].cfg.Order
		}
		return ws[i].cfg.ID < ws[j].cfg.ID
	})
	return ws
}

// configs returns every widget's config, for /api/widgets.
func (s *state) configs() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return appendConfigs(nil, s.sortedWidgets(""))
}

// widgetJSON returns {"config","state"} of one widget, or false.
func (s *state) widgetJSON(id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.widgets[id]
	if !ok {
		return nil, false
	}
	return widgetObject(w), true
}

// export is the whole dashboard as the snapshot a fresh browser gets
// (docs/protocol.md §2.1).
func (s *state) export() []byte {
	b, _, _ := s.snapshot("", false)
	return b
}

func (s *state) widgetCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.widgets)
}

// stateStatus is the state's part of /healthz.
type stateStatus struct {
	widgets            int
	accepted, rejected uint64
	compacted          uint64
	maxWidgets         int
	widgetsRefused     uint64
}

func (s *state) status() stateStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return stateStatus{widgets: len(s.widgets), accepted: s.accepted.Load(), rejected: s.rejected.Load(), compacted: s.compactedTo,
		maxWidgets: s.limits.MaxWidgets, widgetsRefused: s.widgetsRefused.Load()}
}
