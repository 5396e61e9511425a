package main

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// pvClient is one WebSocket reader on pathway-viz's /ws. pathway-viz sends
// every published message as its own WebSocket message, unchanged: for the
// harness's publisher {"type": "data", "widget": …, "value": STAMP, …,
// "timestamp": N}, where STAMP is the publish time in µs of the wall clock
// minus pvBaseMicros and N numbers the messages 0, 1, … (pv_server.py).
type pvClient struct {
	conn    *websocket.Conn
	hist    hist
	events  atomic.Int64 // data messages received
	last    atomic.Int64 // the last N received, -1 before the first
	synced  atomic.Bool  // a sync message arrived: the socket gets live data
	gaps    int64        // data messages whose N is not the last + 1
	bad     int64        // data messages the scanner did not recognize
	other   int64        // config, history and sync messages
	closed  error
	done    chan struct{}
	readErr atomic.Bool // the read loop ended before the harness closed the socket
	closing atomic.Bool
}

// pvBaseMicros is subtracted from the wall clock in µs by the publisher
// process and by the clients here: both read CLOCK_REALTIME of this machine,
// so the difference is publish→receive time (the stamps stay small numbers).
var pvBaseMicros = time.Now().UnixMicro()

func pvNowMicros() int64 { return time.Now().UnixMicro() - pvBaseMicros }

// dialPV connects and reads the first message, the dashboard config the
// server replays (the harness sends one before any client connects).
func dialPV(httpAddr string) (*pvClient, error) {
	conn, _, err := dialer.Dial("ws://"+httpAddr+"/ws", nil)
	if err != nil {
		return nil, err
	}
	_, first, err := conn.ReadMessage()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("first message: %w", err)
	}
	if !bytes.Contains(first, []byte(`"type": "config"`)) {
		conn.Close()
		return nil, fmt.Errorf("first message is not a config: %.200s", first)
	}
	c := &pvClient{conn: conn, done: make(chan struct{})}
	c.last.Store(-1)
	return c, nil
}

// dialManyPV connects n clients, a few at a time.
func dialManyPV(httpAddr string, n int) ([]*pvClient, error) {
	return dialAll(n, func() (*pvClient, error) { return dialPV(httpAddr) }, func(c *pvClient) { c.conn.Close() })
}

func closeAllPV(clients []*pvClient) {
	for _, c := range clients {
		c.closing.Store(true)
		c.conn.Close()
	}
	for _, c := range clients {
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
		}
	}
}

func (c *pvClient) run() {
	defer close(c.done)
	var buf bytes.Buffer
	for {
		_, r, err := c.conn.NextReader()
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			c.closed = err
			if !c.closing.Load() {
				c.readErr.Store(true)
			}
			return
		}
		c.scan(buf.Bytes(), pvNowMicros())
	}
}

var (
	pvData      = []byte(`{"type": "data", `)
	pvSync      = []byte(`{"type": "sync"`)
	pvValue     = []byte(`"value": `)
	pvTimestamp = []byte(`"timestamp": `)
)

// scan handles one message. The layout is Python's json.dumps of the
// publisher's dicts, which keeps their key order.
func (c *pvClient) scan(msg []byte, now int64) {
	if !bytes.HasPrefix(msg, pvData) {
		if bytes.HasPrefix(msg, pvSync) {
			c.synced.Store(true)
		}
		c.other++
		return
	}
	stamp, ok1 := numberAfter(msg, pvValue)
	n, ok2 := numberAfter(msg, pvTimestamp)
	if !ok1 || !ok2 {
		c.bad++
		return
	}
	if n != c.last.Load()+1 {
		c.gaps++
	}
	c.last.Store(n)
	c.hist.add(now - stamp)
	c.events.Add(1)
}
