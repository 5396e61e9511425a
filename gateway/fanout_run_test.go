package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// testTick is one tick's updates: widget ids, a stat (latest) when the id
// starts with "s".
type testTick []string

// sharedChain builds the shared frames of ticks after seq 0, linked as the
// pacer links them, and returns the start frame (nothing sent yet), the
// latest frame and every event in order.
func sharedChain(t *testing.T, ticks []testTick) (start, latest *frame, all []logEntry) {
	t.Helper()
	start = &frame{}
	prevFrame, seq, off := start, uint64(0), uint64(0)
	for _, tick := range ticks {
		var entries []logEntry
		for _, id := range tick {
			ev := dataEvent(seq+1, seq, id, &Update{Value: &ValueUpdate{Value: Num{V: float64(seq + 1), Valid: true}}})
			off += uint64(len(ev.b))
			entries = append(entries, logEntry{seq: seq + 1, prev: seq, end: off, latest: strings.HasPrefix(id, "s"), id: id, ev: ev.b, head: ev.head})
			seq++
		}
		all = append(all, entries...)
		b, _ := frameEvents(entries, prevFrame.to, false)
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
		if err != nil {
			t.Fatal(err)
		}
		fr := &frame{from: prevFrame.to, to: seq, end: off, pm: pm, json: b, size: len(b)}
		prevFrame.next.Store(fr)
		prevFrame = fr
	}
	return start, prevFrame, all
}

// socketPair returns both ends of a real WebSocket: the server's, for a
// client, and the browser's.
func socketPair(t *testing.T) (server, browser *websocket.Conn) {
	t.Helper()
	conns := make(chan *websocket.Conn, 1)
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		conns <- c
	}))
	t.Cleanup(srv.Close)
	browser, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	server = <-conns
	t.Cleanup(func() { browser.Close(); server.Close() })
	return server, browser
}

// A socket that is several ticks behind writes the shared frames it has not
// had as one message, not one write per tick: the events arrive whole, in
// order, with an unbroken prev chain, each stat's superseded values still
// left out within its tick, and the socket is then caught up.
func TestASocketSeveralTicksBehindGetsTheirSharedFramesInOneMessage(t *testing.T) {
	ticks := []testTick{{"c", "s", "c", "s"}, {"s", "c"}, {"c"}, {"s", "s", "c", "s"}}
	start, latest, all := sharedChain(t, ticks)
	// What the per-tick frames carry, joined: the events a socket must get.
	var want []uint64
	for fr := start.next.Load(); fr != nil; fr = fr.next.Load() {
		var evs []wsEvent
		if err := json.Unmarshal(fr.json, &evs); err != nil {
			t.Fatal(err)
		}
		want = append(want, seqs(evs)...)
	}

	f := newFanout(nil, 1<<20)
	f.frame.Store(latest)
	server, browser := socketPair(t)
	c := newClient(f, server, "", false)
	c.startAt(cursor{})
	c.sentFrame = start // it wrote the frame before these ticks
	if sent, err := c.flush(nil); !sent || err != nil {
		t.Fatalf("flush of a socket %d ticks behind: sent %v, err %v", len(ticks), sent, err)
	}
	if err := browser.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	kind, msg, err := browser.ReadMessage()
	if err != nil || kind != websocket.TextMessage {
		t.Fatalf("read: kind %d, err %v", kind, err)
	}
	var got []wsEvent
	if err := json.Unmarshal(msg, &got); err != nil {
		t.Fatalf("message %s is not one JSON array of events: %v", msg, err)
	}
	if fmt.Sprint(seqs(got)) != fmt.Sprint(want) {
		t.Errorf("one message carried %v, want every tick's events %v", seqs(got), want)
	}
	checkChain(t, append([]wsEvent{{Seq: 0}}, got...))
	for _, ev := range got {
		var d struct {
			Value uint64 `json:"value"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil || d.Value != ev.Seq || ev.ID != all[ev.Seq-1].id {
			t.Errorf("event %d arrived as %s %s, not as it was logged", ev.Seq, ev.ID, ev.Data)
		}
	}
	if c.sentSeq.Load() != latest.to || c.sentOff.Load() != latest.end || c.takenOff.Load() != latest.end {
		t.Errorf("after the message the socket is at seq %d offset %d (taken %d), want %d and %d",
			c.sentSeq.Load(), c.sentOff.Load(), c.takenOff.Load(), latest.to, latest.end)
	}
	if sent, err := c.flush(nil); sent || err != nil {
		t.Errorf("a caught-up socket flushed again: sent %v, err %v", sent, err)
	}
	if frames := f.frames.Load(); frames != 1 {
		t.Errorf("frames_sent %d, want 1", frames)
	}
}

// One write carries the run of shared frames up to the latest tick, but
// never more than maxFrameBytes, and never past a tick without a shared
// frame (whose events the socket must collect from the log), and for a socket
// taking binary frames, at a tick with columnar events (written alone).
func TestASharedRunStopsAtTheLatestTickTheByteBoundOrAFrameNotShared(t *testing.T) {
	cases := []struct {
		name   string
		sizes  []int // payload bytes of each frame after the start; 0: not shared
		cols   []int // frames with columnar events
		binary bool  // the socket takes binary frames
		latest int   // index of the pacer's latest frame
		want   int   // index of the run's last frame, from frame 0
	}{
		{"caught up but for one", []int{100}, nil, false, 0, 0},
		{"three behind", []int{100, 100, 100}, nil, false, 2, 2},
		{"stops at the latest", []int{100, 100, 100}, nil, false, 1, 1},
		{"byte bound", []int{maxFrameBytes / 2, maxFrameBytes / 2, 1}, nil, false, 2, 1},
		{"one frame larger than the bound goes alone", []int{2 * maxFrameBytes, 10}, nil, false, 1, 0},
		{"not shared", []int{100, 100, 0, 100}, nil, false, 3, 1},
		{"columnar events in text", []int{100, 100, 100}, []int{1}, false, 2, 2},
		{"a binary socket stops before columnar events", []int{100, 100, 100}, []int{2}, true, 2, 1},
		{"a binary socket writes columnar events alone", []int{100, 100, 100}, []int{0}, true, 2, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			frames := make([]*frame, len(tc.sizes))
			for i, n := range tc.sizes {
				frames[i] = &frame{from: uint64(i), to: uint64(i + 1), size: n}
				if n > 0 {
					frames[i].json = []byte("[]")
				}
				frames[i].cols = slices.Contains(tc.cols, i)
				if i > 0 {
					frames[i-1].next.Store(frames[i])
				}
			}
			if got := sharedRun(frames[0], frames[tc.latest], tc.binary); got != frames[tc.want] {
				t.Errorf("run ends at frame %d, want %d", got.from, tc.want)
			}
		})
	}
}

// Ticks stretch with the number of sockets so that their frame writes stay
// within writesPerSecond (25,000 a second): up to 250 sockets tick every
// 10 ms, 1,000 every 40 ms, and no socket count waits longer than maxTick.
func TestTicksStretchSoThatFrameWritesStayWithinTheirBudget(t *testing.T) {
	for _, tc := range []struct {
		sockets int
		want    time.Duration
	}{
		{0, 10 * time.Millisecond},
		{100, 10 * time.Millisecond},
		{250, 10 * time.Millisecond},
		{500, 20 * time.Millisecond},
		{1000, 40 * time.Millisecond},
		{10000, 40 * time.Millisecond},
	} {
		if got := tickInterval(tc.sockets); got != tc.want {
			t.Errorf("%d sockets: tick every %v, want %v", tc.sockets, got, tc.want)
		}
	}
}
