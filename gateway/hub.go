package gateway

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// hub holds every widget's state, the log of recent events for resuming
// clients, and the set of connected clients. One goroutine (ingest) applies
// messages; clients join under the same lock, so the state a client gets and
// the live events after it meet exactly, with no gap and no duplicate.
type hub struct {
	history      int
	maxTableRows int
	limits       Limits // widgets, series and state bytes (Config.Limits)
	stateBytes   int    // the widgets' state cost, summed (statebytes.go)

	mu      sync.Mutex
	epoch   string
	widgets map[string]*widget
	title   string
	theme   []byte // normalized theme JSON (theme.go); nil is the default
	lastSeq uint64 // seq of the last event (the position clients hold)
	handled uint64 // last position handled, events or rejections
	doneMsg uint64 // the last stored message (stream seq) whose every record is handled
	// Updates handled since start, and their count at the last capture and
	// compaction: what triggers the next one (Config.CompactMessages).
	records, recordsCaptured, recordsCompacted uint64
	compactedAt                                uint64            // the log is purged up to here (a position)
	skip                                       map[string]uint64 // snapshot generation per widget while rebuilding at boot
	snapGen                                    map[string]uint64 // position of each widget's newest snapshot in SV_SNAP
	log                                        eventLog
	clients                                    map[*client]struct{}
	list                                       []*client // the same clients, copied on change so the pacer reads it without the lock
	closed                                     bool      // Gateway.Close has begun: no more sockets join
	dirty                                      map[string]struct{}
	counters                                   counters

	// producers holds who published each widget's (and the title's) latest
	// config; onConflict hears of a config from another producer (§1.5).
	producers  map[string]string
	onConflict func(id, was, now string)

	rows rowsHooks // Pathway rows (rowshub.go)

	maxQueue             int // a client further behind than this many log bytes is cut off
	pingPeriod, pongWait time.Duration
	writeWait            time.Duration         // bound on one write to a socket
	frame                atomic.Pointer[frame] // the last tick's events, shared by every caught-up socket
	ticks                chan struct{}         // publish → pacer: there is something new
}

type counters struct {
	accepted atomic.Uint64
	rejected atomic.Uint64
	slow     atomic.Uint64
	dropped  atomic.Uint64 // event bytes not sent to sockets cut off
	frames   atomic.Uint64
	bytes    atomic.Uint64
	conflict atomic.Uint64 // configs of a widget or the title from a second producer
}

func newHub(history, maxTableRows, logBytes, maxQueue int) *hub {
	h := &hub{
		history:      history,
		maxTableRows: maxTableRows,
		widgets:      map[string]*widget{},
		clients:      map[*client]struct{}{},
		dirty:        map[string]struct{}{},
		skip:         map[string]uint64{},
		producers:    map[string]string{},
		snapGen:      map[string]uint64{},
		log:          eventLog{max: logBytes},
		maxQueue:     maxQueue,
		ticks:        make(chan struct{}, 1),
		pingPeriod:   defaultPingPeriod,
		pongWait:     defaultPongWait,
		writeWait:    defaultWriteWait,
	}
	h.frame.Store(&frame{})
	return h
}

// startAt sets the position the hub starts from after a (re)start: events
// after floor are rebuilt from the log, the ones before it are gone; the log
// is already purged up to compacted.
func (h *hub) startAt(epoch string, floor, compacted uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.epoch, h.compactedAt = epoch, compacted
	h.lastSeq, h.handled, h.log.floor = floor, floor, floor
	h.frame.Store(&frame{from: floor, to: floor, end: h.log.total})
}

// message is what ingest hands the hub: one stored NATS message.
type message struct {
	seq     uint64
	subject string
	data    []byte
	ms      float64 // stream timestamp, milliseconds
}

// apply folds one message into the state and fans its event out. A message
// that fails validation changes nothing and returns the reason.
func (h *hub) apply(m message) error {
	// Decode outside the lock: it is the expensive part and needs no state.
	d, err := decodeMessage(m.subject, m.data, m.ms, h.history)
	if err != nil {
		h.reject(m.seq)
		return err
	}
	return h.applyDecoded(m, d)
}

// applyDecoded is apply for a message decodeMessage has decoded already.
func (h *hub) applyDecoded(m message, d decoded) error {
	if d.dash {
		return h.setTitle(m.seq, d.title, d.themeSet, d.theme, d.producer)
	}
	if d.rows != nil {
		return h.applyRows(m, d.id, d.rows)
	}
	id, cfg, upd := d.id, d.cfg, d.upd

	h.mu.Lock()
	defer h.mu.Unlock()
	h.handled = m.seq
	h.records++
	replaying := m.seq <= h.skip[id]
	w := h.widgets[id]
	var (
		ev       []byte
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
			if err := h.roomForWidget(id); err != nil {
				h.counters.rejected.Add(1)
				return fmt.Errorf("%s: %w", m.subject, err)
			}
		}
		h.noteProducer(id, cfg.Producer)
		if w == nil {
			w = newWidget(cfg)
			h.widgets[id] = w
			h.stateBytes += w.bytes
		} else {
			before := w.bytes
			w.setConfig(cfg)
			h.stateBytes += w.bytes - before
		}
		ev = h.configEvent(m.seq, w)
	case w == nil:
		if err := h.roomForWidget(id); err != nil {
			h.counters.rejected.Add(1)
			return fmt.Errorf("%s: %w", m.subject, err)
		}
		w = newWidget(DefaultConfig(id, upd.impliedType(), h.history))
		if err := h.checkData(w, upd); err != nil {
			h.counters.rejected.Add(1)
			return fmt.Errorf("%s: %w", m.subject, err)
		}
		h.widgets[id] = w
		h.stateBytes += w.bytes
		refused = w.admit(upd, h.maxTableRows)
		bytesErr = h.applyData(m.subject, w, upd)
		ev = h.configEvent(m.seq, w)
	default:
		if err := h.checkData(w, upd); err != nil {
			h.counters.rejected.Add(1)
			return fmt.Errorf("%s: %w", m.subject, err)
		}
		if replaying {
			break
		}
		refused = w.admit(upd, h.maxTableRows)
		bytesErr = h.applyData(m.subject, w, upd)
		ev = h.dataEvent(m.seq, id, upd)
		latest = w.cfg.Type == "stat" || w.cfg.Type == "gauge"
	}
	if ev != nil {
		h.dirty[id] = struct{}{}
		h.publish(m.seq, id, ev, latest)
	}
	h.counters.accepted.Add(1)
	if refused > 0 {
		return errors.Join(&RowsRefusedError{Subject: m.subject, Widget: id, Refused: refused, Limit: h.maxTableRows}, bytesErr)
	}
	return bytesErr
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
// the same widget, which then shows whichever wrote last. Call with h.mu held.
func (h *hub) noteProducer(id, producer string) {
	if producer == "" {
		return
	}
	was := h.producers[id]
	h.producers[id] = producer
	if was == "" || was == producer {
		return
	}
	h.counters.conflict.Add(1)
	if h.onConflict != nil {
		h.onConflict(id, was, producer)
	}
}

// producerOf is who published id's latest config, "" when unknown.
func (h *hub) producerOf(id string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.producers[id]
}

// msgDone records that every record of the stored message seq is handled.
func (h *hub) msgDone(seq uint64) {
	h.mu.Lock()
	h.doneMsg = seq
	h.mu.Unlock()
}

func (h *hub) reject(seq uint64) {
	h.counters.rejected.Add(1)
	h.mu.Lock()
	h.handled = seq
	h.records++
	h.mu.Unlock()
}

// setTitle applies a dashboard config: a field it carries replaces the current one, a field
// it leaves out keeps it (a theme of JSON null is the default theme).
func (h *hub) setTitle(seq uint64, title *string, hasTheme bool, theme []byte, producer string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.handled = seq
	h.records++
	if seq <= h.skip[dashboardID] {
		return nil // replaying what the title's snapshot already holds
	}
	h.noteProducer(dashboardID, producer)
	if title != nil {
		h.title = *title
	}
	if hasTheme {
		h.theme = theme
	}
	b := h.eventHead(nil, "title", seq)
	b = append(b, `,"title":`...)
	b = appendString(b, h.title)
	b = h.appendTheme(b)
	b = append(b, '}')
	h.dirty[dashboardID] = struct{}{}
	h.publish(seq, "", b, false)
	h.counters.accepted.Add(1)
	return nil
}

// appendTheme appends `,"theme":` and the dashboard's normalized theme, or null.
func (h *hub) appendTheme(b []byte) []byte {
	b = append(b, `,"theme":`...)
	if h.theme == nil {
		return append(b, "null"...)
	}
	return append(b, h.theme...)
}

// eventHead starts an event: {"type":typ,"seq":seq,"prev":<the last event's seq>.
// It runs for every event on the ingest path, hence strconv rather than fmt.
func (h *hub) eventHead(b []byte, typ string, seq uint64) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"prev":`...)
	return strconv.AppendUint(b, h.lastSeq, 10)
}

func (h *hub) dataEvent(seq uint64, id string, u *Update) []byte {
	b := h.eventHead(make([]byte, 0, 128), "data", seq)
	b = append(b, `,"id":`...)
	b = appendString(b, id)
	b = append(b, `,"data":`...)
	b = u.encode(b)
	return append(b, '}')
}

func (h *hub) configEvent(seq uint64, w *widget) []byte {
	b := h.eventHead(make([]byte, 0, 256), "config", seq)
	b = append(b, `,"id":`...)
	b = appendString(b, w.cfg.ID)
	b = append(b, ',')
	b = appendConfigState(b, w)
	return append(b, '}')
}

// appendConfigState writes `"config":{...},"state":{...}`, the pair every
// widget view shares: config events, snapshots, snapshots on disk, the API.
//
// The encoding is cached until the widget changes: connects (snapshots) and
// compactions then copy bytes instead of formatting thousands of floats
// while holding the hub lock.
func appendConfigState(b []byte, w *widget) []byte {
	if w.encoded == nil {
		e := append([]byte(nil), `"config":`...)
		e = appendConfig(e, w.cfg)
		e = append(e, `,"state":`...)
		w.encoded = w.appendState(e)
	}
	return append(b, w.encoded...)
}

func appendConfig(b []byte, c *WidgetConfig) []byte {
	enc, err := c.MarshalJSON()
	if err != nil {
		// Only a NaN order could fail, and decoding refuses those.
		panic(err)
	}
	return append(b, enc...)
}

// publish logs an event and tells the pacer. It costs the same with one
// socket or thousands: sockets read the log themselves (fanout.go).
func (h *hub) publish(seq uint64, id string, ev []byte, latest bool) {
	if seq <= h.lastSeq {
		// Only a replay below the restored floor can get here; positions
		// must never go backwards, so it changes state but sends nothing.
		return
	}
	h.log.append(logEntry{seq: seq, prev: h.lastSeq, latest: latest, id: id, ev: ev})
	h.lastSeq = seq
	select {
	case h.ticks <- struct{}{}:
	default:
	}
}

// errNotResumable is internal: the position is outside what the log holds.
var errNotResumable = errors.New("position not resumable")

// join registers c and sets its first message: "resumed" when the log still
// holds the events after its position (the socket then reads them from the
// log like any live event), the full state otherwise. What a resume has to
// catch up on does not count against the socket's queue bound, only what
// arrives after it joined: a socket cut off for being slow resumes without
// gap when it reconnects.
// It returns which first message it chose: "resumed", "reset" or "snapshot"
// ("" when the gateway is closing and c is only sent a close frame).
func (h *hub) join(c *client, epoch string, seq uint64, hasPos bool) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		// Close has already cut every socket it knew of: this one is cut too
		// (no other goroutine knows c yet, so its fields need no lock).
		c.closing, c.closeCode, c.closeText = true, websocket.CloseGoingAway, "server shutting down"
		return ""
	}
	if hasPos && epoch == h.epoch {
		if off, err := h.log.offsetAfter(seq, h.lastSeq); err == nil {
			c.first = fmt.Appendf(nil, `{"type":"resumed","epoch":%q,"seq":%d}`, h.epoch, seq)
			c.sentSeq.Store(seq)
			c.sentOff.Store(off)
			c.joinOff, c.joinSeq = h.log.total, h.lastSeq
			h.addClient(c)
			return "resumed"
		}
	}
	c.first = h.snapshot(c.widget, hasPos)
	c.sentSeq.Store(h.lastSeq)
	c.sentOff.Store(h.log.total)
	c.joinOff, c.joinSeq = h.log.total, h.lastSeq
	h.addClient(c)
	if hasPos {
		return "reset"
	}
	return "snapshot"
}

func (h *hub) addClient(c *client) {
	h.clients[c] = struct{}{}
	h.list = append(h.list[:len(h.list):len(h.list)], c)
}

func (h *hub) leave(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; !ok {
		return
	}
	delete(h.clients, c)
	list := make([]*client, 0, len(h.clients))
	for _, o := range h.list {
		if o != c {
			list = append(list, o)
		}
	}
	h.list = list
}

// snapshot encodes the full state (of one widget when only is set).
func (h *hub) snapshot(only string, reset bool) []byte {
	b := fmt.Appendf(nil, `{"type":"snapshot","epoch":%q,"seq":%d,"reset":%t,"title":`, h.epoch, h.lastSeq, reset)
	title := h.title
	if only != "" {
		title = "" // an embed socket is shown one widget and nothing else
	}
	b = appendString(b, title)
	b = h.appendTheme(b) // an embed takes the dashboard's colours too
	b = append(b, `,"widgets":[`...)
	for i, w := range h.sortedWidgets(only) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendWidget(b, w)
	}
	return append(b, "]}"...)
}

func appendWidget(b []byte, w *widget) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, w.cfg.ID)
	b = append(b, ',')
	b = appendConfigState(b, w)
	return append(b, '}')
}

// sortedWidgets orders widgets as the dashboard shows them: by order, then id.
func (h *hub) sortedWidgets(only string) []*widget {
	ws := make([]*widget, 0, len(h.widgets))
	for id, w := range h.widgets {
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
func (h *hub) configs() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := []byte{'['}
	for i, w := range h.sortedWidgets("") {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendConfig(b, w.cfg)
	}
	return append(b, ']')
}

// widgetJSON returns {"config","state"} of one widget, or false.
func (h *hub) widgetJSON(id string) ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w, ok := h.widgets[id]
	if !ok {
		return nil, false
	}
	b := appendConfigState([]byte{'{'}, w)
	return append(b, '}'), true
}

type hubStatus struct {
	Epoch    string `json:"epoch"`
	Seq      uint64 `json:"seq"`
	Widgets  int    `json:"widgets"`
	Clients  int    `json:"clients"`
	Accepted uint64 `json:"accepted"`
	Rejected uint64 `json:"rejected"`
	Slow     uint64 `json:"slow_disconnects"`
	// Compacted is where the log is purged up to: what came before is in
	// the snapshots. Publishers cannot read the stream, so this says it.
	Compacted uint64 `json:"compacted"`
}

func (h *hub) status() hubStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return hubStatus{
		Epoch: h.epoch, Seq: h.lastSeq, Widgets: len(h.widgets), Clients: len(h.clients),
		Accepted: h.counters.accepted.Load(), Rejected: h.counters.rejected.Load(), Slow: h.counters.slow.Load(),
		Compacted: h.compactedAt,
	}
}

// eventLog keeps the events after floor, bounded in bytes; dropping the
// oldest raises floor, and clients behind it get a snapshot instead.
//
// Offsets count event bytes ever appended: a socket remembers the offset
// after the last event it was sent, and the log's total minus that is how
// far behind it is, whatever it filters.
type eventLog struct {
	entries  []logEntry
	bytes    int
	max      int
	floor    uint64
	floorOff uint64 // offset after the last dropped event
	total    uint64 // offset after the last event
}

type logEntry struct {
	seq    uint64
	prev   uint64 // the event before it, as its "prev" says
	end    uint64 // offset after this event
	latest bool   // only the latest value matters (stat, gauge): see frameEvents
	id     string
	ev     []byte
}

// entryOverhead is what a log entry costs beside its event bytes (the entry
// itself and the allocation's slack), so the bound tracks real memory.
const entryOverhead = 72

func entryCost(e logEntry) int { return cap(e.ev) + len(e.id) + entryOverhead }

func (l *eventLog) append(e logEntry) {
	l.total += uint64(len(e.ev))
	e.end = l.total
	l.entries = append(l.entries, e)
	l.bytes += entryCost(e)
	if l.bytes <= l.max {
		return
	}
	// Drop down to three quarters of the bound so the copy below runs once
	// per many appends, not on every one.
	drop := 0
	for l.bytes > l.max-l.max/4 && drop < len(l.entries) {
		l.bytes -= entryCost(l.entries[drop])
		l.floor, l.floorOff = l.entries[drop].seq, l.entries[drop].end
		drop++
	}
	// Copy down rather than reslice so the dropped events can be freed.
	n := copy(l.entries, l.entries[drop:])
	clear(l.entries[n:])
	l.entries = l.entries[:n]
}

// since returns the events after seq, or errNotResumable when seq is older
// than the log or newer than the last event. The slice is the log's own:
// read it under the hub's lock.
func (l *eventLog) since(seq, last uint64) ([]logEntry, error) {
	if seq < l.floor || seq > last {
		return nil, errNotResumable
	}
	i := sort.Search(len(l.entries), func(i int) bool { return l.entries[i].seq > seq })
	return l.entries[i:], nil
}

// offsetAfter is the offset just after the event seq (or where it would be).
func (l *eventLog) offsetAfter(seq, last uint64) (uint64, error) {
	evs, err := l.since(seq, last)
	if err != nil {
		return 0, err
	}
	if len(evs) == len(l.entries) {
		return l.floorOff, nil
	}
	return l.entries[len(l.entries)-len(evs)-1].end, nil
}
