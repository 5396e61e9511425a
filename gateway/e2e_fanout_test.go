package gateway

import (
	"encoding/json"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/streamviz/streamviz/broker"
)

// An idle socket holds one goroutine on the server (its reader): the handler
// returns after the first message and a writer exits once it has nothing to
// send. Goroutines are counted in this process, which also runs the test's
// own clients (one reader each), so N sockets may add at most 2N.
func TestIdleSocketsHoldOnlyTheirReaderGoroutine(t *testing.T) {
	const n = 40
	e := startEnv(t, Config{})
	e.publishAndWait(t, "sv.s.data", `{"value": 1}`)
	settle := func() int {
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	before := settle()
	clients := make([]*wsClient, n)
	for i := range clients {
		clients[i] = e.dial(t)
		clients[i].first(t, "snapshot")
	}
	// Every socket gets one live event, so every socket has had a writer.
	seq := e.publish(t, "sv.s.data", `{"value": 2}`)
	for _, c := range clients {
		c.waitSeq(t, seq)
	}
	eventually(t, waitTimeout, func() bool { return e.g.fanout.runningWriters() == 0 }, "writers exit after %v idle", writerIdle)
	if grown := settle() - before; grown > 2*n+5 {
		t.Errorf("%d idle sockets grew the process by %d goroutines; want at most %d (one server reader and one test reader each)", n, grown, 2*n+5)
	}
}

// runningWriters counts the sockets with a writer goroutine.
func (f *fanout) runningWriters() int {
	n := 0
	for _, c := range f.sockets() {
		c.mu.Lock()
		if c.running {
			n++
		}
		c.mu.Unlock()
	}
	return n
}

// The server pings every socket, busy or idle, and a socket that answers
// stays open; one that never answers is closed once its pong is late.
func TestPingsKeepAnsweringSocketsOpenAndCloseSilentOnes(t *testing.T) {
	// A pong wait of seconds: an answer late by a loaded machine's
	// scheduling must not make the answering socket look dead.
	const ping, pong = 200 * time.Millisecond, 2 * time.Second
	e := startEnv(t, Config{pingPeriod: ping, pongWait: pong})
	e.publishAndWait(t, "sv.s.data", `{"value": 1}`)

	var pings atomic.Int64
	answering := e.dialRaw(t)
	answering.SetPingHandler(func(data string) error {
		pings.Add(1)
		return answering.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	silent := e.dialRaw(t)
	silent.SetPingHandler(func(string) error { return nil })

	answered := make(chan error, 1)
	go func() {
		_ = answering.SetReadDeadline(time.Now().Add(5 * pong))
		for {
			if _, _, err := answering.ReadMessage(); err != nil {
				answered <- err
				return
			}
		}
	}()
	_ = silent.SetReadDeadline(time.Now().Add(cutWithin)) // only a server that never closes it reaches this
	start := time.Now()
	var silentErr error
	for silentErr == nil {
		_, _, silentErr = silent.ReadMessage()
	}
	if !websocket.IsCloseError(silentErr, websocket.CloseNormalClosure) && !strings.Contains(silentErr.Error(), "EOF") &&
		!strings.Contains(silentErr.Error(), "reset") {
		t.Errorf("silent socket ended with %v, want the server to close it", silentErr)
	}
	// Not before its pong wait; how long after is the machine's load (the
	// deadline above bounds it), so it is not asserted.
	if took := time.Since(start); took < pong {
		t.Errorf("silent socket closed after %v, before the pong wait %v", took, pong)
	}
	// The answering socket outlives the silent one by the read deadline above.
	err := <-answered
	if ne, ok := err.(interface{ Timeout() bool }); !ok || !ne.Timeout() {
		t.Errorf("answering socket ended with %v before the test's own deadline", err)
	}
	if p := pings.Load(); p < int64(3*pong/ping)/2 {
		t.Errorf("answering socket got %d pings in %v, want about one per %v", p, 5*pong, ping)
	}
}

// A socket that reads slowly falls several ticks behind without reaching its
// bound: it catches up through shared and own frames and gets every event
// exactly once, in order, like a fast one and an embed socket beside it.
func TestSocketsBehindByManyTicksGetEveryEventOnce(t *testing.T) {
	e := startEnv(t, Config{MaxQueueBytes: 256 << 20})
	e.publishAndWait(t, "sv.big.config", `{"type": "table"}`)
	fast := e.dial(t)
	fast.first(t, "snapshot")
	embed := e.dial(t, "widget", "big")
	embed.first(t, "snapshot")

	slow := e.dialRaw(t)
	var (
		mu         sync.Mutex
		slowEvents []wsEvent
	)
	go func() {
		for {
			_, msg, err := slow.ReadMessage()
			if err != nil {
				return
			}
			var evs []wsEvent
			if err := json.Unmarshal(msg, &evs); err != nil {
				t.Errorf("slow socket frame: %v", err)
				return
			}
			mu.Lock()
			slowEvents = append(slowEvents, evs...)
			mu.Unlock()
			time.Sleep(3 * time.Millisecond) // a busy browser
		}
	}()

	pad := strings.Repeat("y", 8<<10)
	var sent []uint64
	for i := range 1500 { // 12 MiB: more than the socket buffers hold
		id := "big"
		if i%3 == 0 {
			id = "other"
		}
		sent = append(sent, e.publish(t, fmt.Sprintf("sv.%s.data", id), fmt.Sprintf(`{"key": "k%d", "row": {"pad": %q}}`, i%50, pad)))
	}
	last := sent[len(sent)-1]
	fastEvs := fast.waitSeq(t, last)
	checkChain(t, fastEvs)
	if got := len(fastEvs) - 1; got != len(sent) {
		t.Errorf("fast socket got %d events, want %d", got, len(sent))
	}
	eventually(t, waitTimeout, func() bool {
		evs, _ := embed.snapshotEvents()
		return len(evs) > 0 && evs[len(evs)-1].Seq == last
	}, "embed socket reaches the last event of its widget")
	embedEvs, _ := embed.snapshotEvents()
	for _, ev := range embedEvs[1:] {
		if ev.ID != "big" {
			t.Fatalf("embed socket for big got an event of %q", ev.ID)
		}
	}
	if want := 1000; len(embedEvs)-1 != want {
		t.Errorf("embed socket got %d events, want %d", len(embedEvs)-1, want)
	}
	eventually(t, 2*waitTimeout, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(slowEvents) > 0 && slowEvents[len(slowEvents)-1].Seq == last
	}, "slow socket catches up")
	mu.Lock()
	defer mu.Unlock()
	checkChain(t, slowEvents)
	if got := len(slowEvents) - 1; got != len(sent) {
		t.Errorf("slow socket got %d events, want %d", got, len(sent))
	}
	if h := e.health(t); h.Slow != 0 {
		t.Errorf("slow_disconnects %d, want 0: no socket passed its bound", h.Slow)
	}
}

// A pong may queue behind frames the browser is still reading: a socket
// counts as dead only when a ping goes unanswered for the whole pong wait,
// however late after the previous pong that is.
func TestPingsAnsweredLateButWithinThePongWaitKeepTheSocketOpen(t *testing.T) {
	// Each pong comes after the next ping was sent (late > ping) and with
	// seconds to spare before the pong wait, which a loaded machine's
	// scheduling cannot eat up.
	const ping, pong, late = time.Second, 4 * time.Second, 1500 * time.Millisecond
	e := startEnv(t, Config{pingPeriod: ping, pongWait: pong})
	conn := e.dialRaw(t)
	var answered atomic.Int64
	conn.SetPingHandler(func(data string) error {
		go func() {
			time.Sleep(late)
			if conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second)) == nil {
				answered.Add(1)
			}
		}()
		return nil
	})
	_ = conn.SetReadDeadline(time.Now().Add(4 * pong))
	var err error
	for err == nil {
		_, _, err = conn.ReadMessage()
	}
	if ne, ok := err.(interface{ Timeout() bool }); !ok || !ne.Timeout() {
		t.Fatalf("socket answering each ping after %v ended with %v before the test's deadline (pong wait %v)", late, err, pong)
	}
	if answered.Load() < 3 {
		t.Errorf("answered %d pings in %v, want several", answered.Load(), 4*pong)
	}
}

// The queue bound counts what a socket has had a tick to take and has not:
// a reader that keeps up is never cut off because one tick brought more
// than the bound (here every update is larger than it).
func TestAReaderIsNotCutOffByATickLargerThanItsBound(t *testing.T) {
	const bound = 64 << 10
	e := startEnv(t, Config{MaxQueueBytes: bound})
	e.publishAndWait(t, "sv.big.config", `{"type": "table"}`)
	reader := e.dial(t)
	reader.first(t, "snapshot")
	pad := strings.Repeat("z", 3*bound)
	var last uint64
	for i := range 5 {
		last = e.publish(t, "sv.big.data", fmt.Sprintf(`{"key": "k%d", "row": {"pad": %q}}`, i, pad))
	}
	evs := reader.waitSeq(t, last)
	checkChain(t, evs)
	if got := len(evs) - 1; got != 5 {
		t.Errorf("reader got %d of the 5 updates", got)
	}
	if h := e.health(t); h.Slow != 0 {
		t.Errorf("slow_disconnects %d: a reader that keeps up was cut off", h.Slow)
	}
}

// Every frame a socket is written has a write deadline no further than the
// write wait, yet the connection's deadline is set only when it moves (once
// per tenth of the write wait), not before every frame: gorilla sets it
// before each write, and re-arming the runtime's timer per frame was a
// measurable part of fan-out's CPU (docs/benchmarks.md, workload 3).
func TestFrameWritesKeepADeadlineWithoutReArmingItPerFrame(t *testing.T) {
	// A write wait of minutes: the deadline moves once a tenth of it has
	// passed, which this test never waits for.
	const writeWait = 10 * time.Minute
	var mu sync.Mutex
	var conns []*deadlineConn
	e := startEnvWrapped(t, t.TempDir(), Config{writeWait: writeWait, pingPeriod: writeWait, pongWait: 2 * writeWait}, broker.Config{},
		func(ln net.Listener) net.Listener {
			return &deadlineListener{Listener: ln, writeWait: writeWait, accepted: func(c *deadlineConn) {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}}
		})
	e.publishAndWait(t, "sv.s.data", `{"value": 0}`)
	c := e.dial(t)
	c.first(t, "snapshot")
	const updates = 50
	for i := range updates {
		// One at a time: each update is a tick of its own, a frame of its own.
		c.waitSeq(t, e.publish(t, "sv.s.data", fmt.Sprintf(`{"value": %d}`, i+1)))
	}
	mu.Lock()
	defer mu.Unlock()
	var frames, sets int
	for _, dc := range conns {
		dc.mu.Lock()
		if dc.frames > 0 {
			frames, sets = frames+dc.frames, sets+dc.sets
			for _, p := range dc.problems {
				t.Error(p)
			}
		}
		dc.mu.Unlock()
	}
	if frames < updates+1 {
		t.Fatalf("the socket was written %d frames; want at least %d (the snapshot and one per update)", frames, updates+1)
	}
	if sets > 5 {
		t.Errorf("the write deadline was set %d times for %d frames; want it kept while it is far enough away (at most 5 times)", sets, frames)
	}
}

// deadlineListener hands out connections that record their write deadlines.
type deadlineListener struct {
	net.Listener
	writeWait time.Duration
	accepted  func(*deadlineConn)
}

func (l *deadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	dc := &deadlineConn{Conn: c, writeWait: l.writeWait}
	l.accepted(dc)
	return dc, nil
}

// deadlineConn counts the write deadlines set on it and checks, for every
// WebSocket data frame written, that one is set and at most writeWait away.
type deadlineConn struct {
	net.Conn
	writeWait time.Duration

	mu       sync.Mutex
	deadline time.Time
	sets     int // SetWriteDeadline and SetDeadline calls since the first frame
	frames   int
	problems []string
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.noteDeadline(t)
	return c.Conn.SetWriteDeadline(t)
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.noteDeadline(t)
	return c.Conn.SetDeadline(t)
}

func (c *deadlineConn) noteDeadline(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	if c.frames > 0 {
		c.sets++
	}
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	// A server's text or binary frame with FIN: the handshake's HTTP
	// response and control frames are not counted.
	if len(b) > 0 && (b[0] == 0x81 || b[0] == 0x82) {
		c.mu.Lock()
		now := time.Now()
		switch {
		case c.deadline.IsZero():
			c.problems = append(c.problems, fmt.Sprintf("frame %d written with no write deadline", c.frames+1))
		case c.deadline.Sub(now) > c.writeWait:
			c.problems = append(c.problems, fmt.Sprintf("frame %d written with a deadline %v away, beyond the write wait %v", c.frames+1, c.deadline.Sub(now), c.writeWait))
		case c.deadline.Sub(now) < c.writeWait/2:
			c.problems = append(c.problems, fmt.Sprintf("frame %d written with a deadline only %v away (write wait %v)", c.frames+1, c.deadline.Sub(now), c.writeWait))
		}
		if c.frames == 0 {
			c.sets = 0 // the ones before the first frame belong to the handshake
		}
		c.frames++
		c.mu.Unlock()
	}
	return c.Conn.Write(b)
}
