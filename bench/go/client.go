package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// The live workloads publish updates whose payload carries the publish time:
// a stat's value, or a chart point's y, is microseconds since benchBase.
// Clients run in this process, so publisher and clients read the same clock.
var benchBase = time.Now()

func nowMicros() int64 { return time.Since(benchBase).Microseconds() }

var dialer = &websocket.Dialer{
	HandshakeTimeout: 30 * time.Second,
	// Large enough that a burst frame is read in a few syscalls.
	ReadBufferSize: 64 << 10,
	Proxy:          func(*http.Request) (*url.URL, error) { return nil, nil },
}

// liveClient is one WebSocket reader that records, for every data event,
// publish→receive latency, and checks the prev/seq chain for gaps. It scans
// the frames instead of decoding them: at 1,000 clients × 10,000 updates/s
// full JSON decoding would cost more CPU than the server under test has.
type liveClient struct {
	conn    *websocket.Conn
	hist    hist
	events  atomic.Int64  // data events received
	charts  atomic.Int64  // of which chart points: every one must arrive (stat values may be superseded)
	last    atomic.Uint64 // the last seq received
	frames  atomic.Int64  // WebSocket messages received after the snapshot
	gaps    int64         // events whose prev is not the last seq seen
	bad     int64         // data events whose layout the scanner did not recognize
	lastSeq uint64
	closed  error // why the read loop ended
	done    chan struct{}
}

// dialLive connects and reads the first message (the snapshot), which sets
// the position the event chain continues from.
func dialLive(httpAddr string) (*liveClient, error) {
	conn, _, err := dialer.Dial("ws://"+httpAddr+"/ws", nil)
	if err != nil {
		return nil, err
	}
	_, first, err := conn.ReadMessage()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("first message: %w", err)
	}
	seq, ok := numberAfter(first, []byte(`"seq":`))
	if !bytes.Contains(first, []byte(`"type":"snapshot"`)) || !ok {
		conn.Close()
		return nil, fmt.Errorf("first message is not a snapshot: %.200s", first)
	}
	return &liveClient{conn: conn, lastSeq: uint64(seq), done: make(chan struct{})}, nil
}

// dialMany connects n clients.
func dialMany(httpAddr string, n int) ([]*liveClient, error) {
	return dialAll(n, func() (*liveClient, error) { return dialLive(httpAddr) }, func(c *liveClient) { c.conn.Close() })
}

// dialAll connects n clients with dial, a few at a time so the server's
// accept backlog never overflows; on a failure it closes those connected.
func dialAll[C comparable](n int, dial func() (C, error), closeConn func(C)) ([]C, error) {
	clients := make([]C, n)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		zero     C
	)
	sem := make(chan struct{}, 32)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dial()
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("client %d: %w", i, err)
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	if firstErr != nil {
		for _, c := range clients {
			if c != zero {
				closeConn(c) // no read loop runs yet
			}
		}
		return nil, firstErr
	}
	return clients, nil
}

// closeAll closes every socket and waits for the read loops to end.
func closeAll(clients []*liveClient) {
	for _, c := range clients {
		if c != nil {
			c.conn.Close()
		}
	}
	for _, c := range clients {
		if c != nil && c.done != nil {
			select {
			case <-c.done:
			case <-time.After(5 * time.Second):
			}
		}
	}
}

// run reads frames until the socket closes.
func (c *liveClient) run() {
	defer close(c.done)
	var buf bytes.Buffer
	for {
		_, r, err := c.conn.NextReader()
		if err != nil {
			c.closed = err
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			c.closed = err
			return
		}
		c.scan(buf.Bytes(), nowMicros())
	}
}

var (
	typeMarker  = []byte(`{"type":"`)
	dataPrefix  = []byte(`data","seq":`)
	prevPrefix  = []byte(`,"prev":`)
	idPrefix    = []byte(`,"id":"`)
	dataObject  = []byte(`,"data":{`)
	valuePrefix = []byte(`"value":`)
	seriesStart = []byte(`"series":"`)
	pointsStart = []byte(`,"points":[[`)
)

// scan walks one server message (a JSON array of events, docs/protocol.md
// §2) and records every data event. It follows the exact layout the gateway
// writes (gateway/hub.go dataEvent, protocol.go encode) with prefix checks
// rather than searches, because searching for markers that start with a
// quote or a brace cost the harness most of its CPU.
func (c *liveClient) scan(msg []byte, now int64) {
	var n, nc int64
	for {
		i := bytes.Index(msg, typeMarker)
		if i < 0 {
			break
		}
		msg = msg[i+len(typeMarker):]
		if !bytes.HasPrefix(msg, dataPrefix) {
			// config or title: not published during a run, but keep the chain.
			seq, _ := numberAfter(msg, []byte(`"seq":`))
			c.lastSeq = uint64(seq)
			continue
		}
		rest, seq, prev, stamp, chart, ok := parseDataEvent(msg[len(dataPrefix):])
		if !ok {
			c.bad++
			continue
		}
		msg = rest
		if uint64(prev) != c.lastSeq {
			c.gaps++
		}
		c.lastSeq = uint64(seq)
		c.hist.add(now - stamp)
		n++
		if chart {
			nc++
		}
	}
	c.frames.Add(1)
	c.charts.Add(nc)
	c.events.Add(n)
	c.last.Store(c.lastSeq)
}

// parseDataEvent reads `N,"prev":M,"id":"…","data":{…` up to the stamp: a
// stat's value, or the y of a chart's first point.
func parseDataEvent(b []byte) (rest []byte, seq, prev, stamp int64, chart, ok bool) {
	var n int
	if seq, n = parseInt(b); n == 0 || !bytes.HasPrefix(b[n:], prevPrefix) {
		return b, 0, 0, 0, false, false
	}
	b = b[n+len(prevPrefix):]
	if prev, n = parseInt(b); n == 0 || !bytes.HasPrefix(b[n:], idPrefix) {
		return b, 0, 0, 0, false, false
	}
	b = b[n+len(idPrefix):]
	if n = bytes.IndexByte(b, '"'); n < 0 || !bytes.HasPrefix(b[n+1:], dataObject) {
		return b, 0, 0, 0, false, false
	}
	b = b[n+1+len(dataObject):]
	switch {
	case bytes.HasPrefix(b, valuePrefix):
		b = b[len(valuePrefix):]
	case bytes.HasPrefix(b, seriesStart):
		b = b[len(seriesStart):]
		if n = bytes.IndexByte(b, '"'); n < 0 || !bytes.HasPrefix(b[n+1:], pointsStart) {
			return b, 0, 0, 0, false, false
		}
		b = b[n+1+len(pointsStart):]
		if n = bytes.IndexByte(b, ','); n < 0 {
			return b, 0, 0, 0, false, false
		}
		b = b[n+1:]
		chart = true
	default:
		return b, 0, 0, 0, false, false
	}
	if stamp, n = parseInt(b); n == 0 {
		return b, 0, 0, 0, false, false
	}
	return b[n:], seq, prev, stamp, chart, true
}

// numberAfter parses the integer that follows the first marker in b.
func numberAfter(b, marker []byte) (int64, bool) {
	i := bytes.Index(b, marker)
	if i < 0 {
		return 0, false
	}
	v, n := parseInt(b[i+len(marker):])
	return v, n > 0
}

// parseInt reads leading decimal digits and says how many (the server
// writes these numbers whole, without a fraction or exponent).
func parseInt(b []byte) (int64, int) {
	var v int64
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		v = v*10 + int64(b[n]-'0')
		n++
	}
	return v, n
}

// closeCode is the WebSocket close code that ended the client, or 0.
func closeCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}
