package gateway

import (
	"strconv"

	"github.com/streamviz/streamviz/protocol"
)

// This file is where an update becomes an event: every message a socket is
// sent (docs/protocol.md §2: snapshot, resumed, config, data, title, and the
// frames that carry them) is encoded here and nowhere else.

// event is one encoded event and the length of its head, which ends with
// the "prev" number: a frame that leaves out a superseded event rewrites
// the next one's "prev" there, without searching the bytes.
type event struct {
	b    []byte
	head int32
	cols *eventCols // a columnar update's points, written per frame (bulk.go)
}

// appendEventHead starts an event: {"type":typ,"seq":seq,"prev":prev.
// It runs for every event on the ingest path, hence strconv rather than fmt.
func appendEventHead(b []byte, typ string, seq, prev uint64) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"prev":`...)
	return strconv.AppendUint(b, prev, 10)
}

// dataEvent is a widget's update, normalized (docs/protocol.md §2.2).
func dataEvent(seq, prev uint64, id string, u *Update) event {
	size := 128
	if u.Table != nil && u.Table.cols == nil {
		size += u.textSize() // a columnar one's ops are printed only for a text socket (eventCols)
	}
	b := appendEventHead(make([]byte, 0, size), "data", seq, prev)
	head := int32(len(b))
	b = append(b, `,"id":`...)
	b = appendString(b, id)
	b = append(b, `,"data":`...)
	b, at, end := u.encodeAt(b, true)
	ev := event{b: append(b, '}'), head: head}
	switch {
	case end >= 0:
		ev.cols = newTableEventCols(u.Table, at)
	case at >= 0:
		ev.cols = newEventCols(u.Chart.cols, at)
	}
	return ev
}

// textSize is about what a table update's ops take as JSON (0 for other
// updates): an event of 10,000 rows is then made in one allocation, not
// grown by doubling through a dozen.
func (u *Update) textSize() int {
	if u.Table == nil {
		return 0
	}
	n := 16
	for i := range u.Table.Ops {
		n += len(u.Table.Ops[i].Key) + len(u.Table.Ops[i].Row) + 20
	}
	return n
}

// configEvent is a widget's config with its whole state after the change.
func configEvent(seq, prev uint64, w *widget) event {
	b := appendEventHead(make([]byte, 0, 256), "config", seq, prev)
	head := int32(len(b))
	b = append(b, `,"id":`...)
	b = appendString(b, w.cfg.ID)
	b = append(b, ',')
	b = appendConfigState(b, w)
	return event{b: append(b, '}'), head: head}
}

// removeEvent drops a widget from the page (docs/protocol.md §2.2).
func removeEvent(seq, prev uint64, id string) event {
	b := appendEventHead(make([]byte, 0, 64+len(id)), protocol.EventRemove, seq, prev)
	head := int32(len(b))
	b = append(b, `,"id":`...)
	b = appendString(b, id)
	return event{b: append(b, '}'), head: head}
}

// titleEvent is the dashboard's title and theme after a dashboard config.
func titleEvent(seq, prev uint64, title string, theme []byte) event {
	b := appendEventHead(nil, "title", seq, prev)
	head := int32(len(b))
	b = append(b, `,"title":`...)
	b = appendString(b, title)
	b = appendTheme(b, theme)
	return event{b: append(b, '}'), head: head}
}

// appendTheme appends `,"theme":` and a normalized theme, or null.
func appendTheme(b, theme []byte) []byte {
	b = append(b, `,"theme":`...)
	if theme == nil {
		return append(b, "null"...)
	}
	return append(b, theme...)
}

// snapshotMessage is a socket's first message when it cannot resume: the
// position it reflects and the full state of ws.
func snapshotMessage(pos Position, reset bool, title string, theme []byte, ws []*widget) []byte {
	b := append([]byte(nil), `{"type":"snapshot","epoch":`...)
	b = appendString(b, pos.Epoch)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, pos.Seq, 10)
	b = append(b, `,"reset":`...)
	b = strconv.AppendBool(b, reset)
	b = append(b, `,"title":`...)
	b = appendString(b, title)
	b = appendTheme(b, theme)
	b = append(b, `,"widgets":[`...)
	for i, w := range ws {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendWidget(b, w)
	}
	return append(b, "]}"...)
}

// resumedMessage is a socket's first message when the log holds every event
// after its position: the events follow.
func resumedMessage(pos Position) []byte {
	b := append([]byte(nil), `{"type":"resumed","epoch":`...)
	b = appendString(b, pos.Epoch)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, pos.Seq, 10)
	return append(b, '}')
}

// titleSnapshot is the dashboard's title and theme as kept in SV_SNAP.
func titleSnapshot(title string, theme []byte) []byte {
	b := append([]byte(`{"title":`), appendString(nil, title)...)
	return append(appendTheme(b, theme), '}')
}

// appendConfigState writes `"config":{...},"state":{...}`, the pair every
// widget view shares: config events, snapshots, snapshots on disk, the API.
//
// The encoding is cached until the widget changes: connects (snapshots) and
// compactions then copy bytes instead of formatting thousands of floats
// while holding the state's lock.
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

// appendWidget writes {"id":…,"config":…,"state":…}: a widget in a snapshot.
func appendWidget(b []byte, w *widget) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, w.cfg.ID)
	b = append(b, ',')
	b = appendConfigState(b, w)
	return append(b, '}')
}

// widgetObject is {"config":…,"state":…} of one widget (/api/widgets/{id}).
func widgetObject(w *widget) []byte {
	b := appendConfigState([]byte{'{'}, w)
	return append(b, '}')
}

// appendConfigs writes the widgets' configs as a JSON array (/api/widgets).
func appendConfigs(b []byte, ws []*widget) []byte {
	b = append(b, '[')
	for i, w := range ws {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendConfig(b, w.cfg)
	}
	return append(b, ']')
}

// frameEvents encodes one tick's events (the log's entries after from) as
// the shared frame. A stat or gauge value that a later value of the same
// widget in this frame supersedes is left out: the browser would draw only
// the last, and with many sockets parsing is what the clients spend their
// time on. The event after a left-out one gets "prev" rewritten to the last
// event sent, so the chain stays whole. Sockets that build frames of their
// own (catching up, resuming, embed) get every event. With binary, columnar
// events carry their columns raw in a binary frame (isBinary) instead of
// base64 (docs/protocol.md §2.4).
func frameEvents(evs []logEntry, from uint64, binary bool) (_ []byte, isBinary bool) {
	var last map[string]int // index of each widget's last "latest" event
	for i, e := range evs {
		if e.latest {
			if last == nil {
				last = map[string]int{}
			}
			last[e.id] = i
		}
	}
	var bin *binCols
	if binary {
		bin = &binCols{}
	}
	size := 1
	for _, e := range evs {
		size += len(e.ev) + 1
		if e.cols != nil && !binary {
			size += e.cols.textSize()
		}
	}
	b := make([]byte, 0, size)
	sent := from
	for i, e := range evs {
		if e.latest && last[e.id] != i {
			continue
		}
		if len(b) == 0 {
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		b = appendWithPrev(b, e, sent, bin)
		sent = e.seq
	}
	return finishFrame(append(b, ']'), bin)
}

// appendWithPrev appends e's event with its "prev" set to prev: the head
// ends with e.prev's digits, which are replaced when prev differs. A
// columnar event's "cols" goes in where it belongs (eventCols.appendTo).
func appendWithPrev(b []byte, e logEntry, prev uint64, bin *binCols) []byte {
	ev, skipped := e.ev, 0
	if e.prev != prev {
		digits := int32(1)
		for n := e.prev; n >= 10; n /= 10 {
			digits++
		}
		b = append(b, e.ev[:e.head-digits]...)
		b = strconv.AppendUint(b, prev, 10)
		ev, skipped = e.ev[e.head:], int(e.head)
	}
	if e.cols == nil {
		return append(b, ev...)
	}
	at := e.cols.at - skipped
	b = append(b, ev[:at]...)
	b = e.cols.appendTo(b, bin)
	return append(b, ev[at:]...)
}
