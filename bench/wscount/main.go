// Command wscount is the benchmarks' WebSocket client: it connects to a
// dashboard's socket, counts chart points as they arrive, and prints one JSON
// line when it has seen the expected number (or its deadline passes). The same
// client measures StreamViz and pathway-viz, so their numbers compare.
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/streamviz/streamviz/protocol"
)

type result struct {
	Points     int     `json:"points"`
	Rows       int     `json:"rows"`        // table ops in data events (with -rows)
	ColsPoints int     `json:"cols_points"` // of them, in columnar events (docs/protocol.md §2.2 "cols")
	Messages   int     `json:"messages"`
	Bytes      int64   `json:"bytes"`
	Binary     int     `json:"binary_messages"` // of the messages, binary frames (docs/protocol.md §2.4)
	FirstAtMs  float64 `json:"first_at_ms"`     // since connect
	LastAtMs   float64 `json:"last_at_ms"`
	TimedOut   bool    `json:"timed_out"`
	ConnectErr string  `json:"connect_error,omitempty"`
	ReadErr    string  `json:"read_error,omitempty"` // why the socket ended early (a close frame's code and text)
	Resumes    int     `json:"resumes"`              // times the server cut the socket as slow (4000) and it resumed
}

func main() {
	url := flag.String("url", "", "WebSocket URL")
	format := flag.String("format", "streamviz", "streamviz or pathwayviz")
	want := flag.Int("points", 0, "stop after this many chart points")
	wantRows := flag.Int("rows", 0, "streamviz: stop after this many table row ops (upserts and deletes) in data events instead")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	bin := flag.Bool("binary", true, "streamviz: ask for binary frames (?binary=1), as the page does")
	flag.Parse()

	u := *url
	if *format == "streamviz" && *bin {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + protocol.BinaryParam + "=1"
	}
	res := run(u, *format, *want, *wantRows, *timeout)
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

func run(url, format string, want, wantRows int, timeout time.Duration) result {
	var res result
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		res.ConnectErr = err.Error()
		return res
	}
	defer func() { conn.Close() }()
	conn.SetReadLimit(1 << 30)
	fmt.Fprintln(os.Stderr, "wscount: connected") // the harness starts publishing after this line
	start := time.Now()
	deadline := start.Add(timeout)
	var epoch string
	var seq uint64
	for (wantRows == 0 && res.Points < want) || (wantRows > 0 && res.Rows < wantRows) {
		_ = conn.SetReadDeadline(deadline)
		kind, msg, err := conn.ReadMessage()
		if err != nil {
			// A socket that fell behind its queue bound is cut with 4000 and
			// resumes from its position, as the page does (docs/protocol.md
			// §2.3): every event after it arrives exactly once.
			if websocket.IsCloseError(err, protocol.CloseSlow) && epoch != "" && time.Now().Before(deadline) {
				sep := "?"
				if strings.Contains(url, "?") {
					sep = "&"
				}
				u := fmt.Sprintf("%s%sepoch=%s&seq=%d", url, sep, epoch, seq)
				if c, _, derr := websocket.DefaultDialer.Dial(u, nil); derr == nil {
					conn.Close()
					conn = c
					conn.SetReadLimit(1 << 30)
					res.Resumes++
					continue
				}
			}
			res.TimedOut = true
			res.ReadErr = err.Error()
			break
		}
		size := len(msg)
		if kind == websocket.BinaryMessage {
			// The JSON text says everything counted here; the columns after
			// it are not read (their "n" is in the JSON).
			res.Binary++
			if len(msg) < 8 || string(msg[:4]) != protocol.FrameMagic || int(binary.LittleEndian.Uint32(msg[4:8])) > len(msg)-8 {
				res.ReadErr = "a binary frame that is not " + protocol.FrameMagic
				break
			}
			msg = msg[8 : 8+binary.LittleEndian.Uint32(msg[4:8])]
		}
		if format == "streamviz" {
			if e := field(msg, `"epoch":"`); e != "" && epoch == "" {
				epoch = e
			}
			if bytes.HasPrefix(msg, []byte(`[{"type":"snapshot"`)) {
				if res.Resumes > 0 {
					res.ReadErr = "resuming got a snapshot: the position was no longer held, the count is not exact"
				}
				seq, _ = strconv.ParseUint(numberAfter(msg, `"seq":`), 10, 64)
			}
			seq = max(seq, lastSeq(msg))
		}
		n := count(format, msg)
		if format == "streamviz" {
			res.ColsPoints += countColumns(msg)
			if wantRows > 0 {
				n = countOps(msg)
				res.Rows += n
			}
		}
		if n > 0 && res.FirstAtMs == 0 {
			res.FirstAtMs = ms(time.Since(start))
		}
		res.Points += n
		res.Messages++
		res.Bytes += int64(size)
	}
	res.LastAtMs = ms(time.Since(start))
	return res
}

// field returns the text of the first string field that key (`"name":"`)
// starts, or "".
func field(msg []byte, key string) string {
	i := bytes.Index(msg, []byte(key))
	if i < 0 {
		return ""
	}
	rest := msg[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// numberAfter returns the digits after the first key in msg.
func numberAfter(msg []byte, key string) string {
	i := bytes.Index(msg, []byte(key))
	if i < 0 {
		return ""
	}
	rest := msg[i+len(key):]
	k := 0
	for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
		k++
	}
	return string(rest[:k])
}

// lastSeq is the seq of a frame's last event, read where the server writes
// it ({"type":"…","seq":N) without parsing the frame. (A table row that
// starts with a "type" key could mislead it: the benchmarks' charts have none.)
func lastSeq(msg []byte) uint64 {
	i := bytes.LastIndex(msg, []byte(`{"type":"`))
	if i < 0 {
		return 0
	}
	rest := msg[i:]
	j := bytes.Index(rest, []byte(`","seq":`))
	if j < 0 || j > 40 {
		return 0
	}
	v, _ := strconv.ParseUint(numberAfter(rest, `","seq":`), 10, 64)
	return v
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// count returns the chart points one message carries: StreamViz frames are
// arrays of events (docs/protocol.md §2); pathway-viz sends one point per
// {"type":"data", ...} message.
func count(format string, msg []byte) int {
	if format == "pathwayviz" {
		var m struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(msg, &m) == nil && m.Type == "data" {
			return 1
		}
		return 0
	}
	n := countColumns(msg)
	if !bytes.Contains(msg, []byte(`"points":[[`)) {
		return n // nothing else carries points: no need to parse the frame
	}
	var evs []struct {
		Type string `json:"type"`
		Data struct {
			Points [][2]json.RawMessage `json:"points"`
		} `json:"data"`
	}
	if json.Unmarshal(msg, &evs) != nil {
		return n
	}
	for _, e := range evs {
		if e.Type == "data" {
			n += len(e.Data.Points)
		}
	}
	return n
}

// colsKey starts a columnar data event's points (docs/protocol.md §2.2
// "cols"): its "n" says how many points follow (as base64, or raw after a
// binary frame's JSON), which is counted without decoding. The server writes it without spaces, and inside a JSON
// string its quotes would be escaped, so it cannot appear anywhere else.
var colsKey = []byte(`"cols":{"n":`)

func countColumns(msg []byte) int { return countAfter(msg, colsKey) }

// countAfter sums the numbers that follow each key in msg.
func countAfter(msg, key []byte) int {
	n := 0
	for {
		i := bytes.Index(msg, key)
		if i < 0 {
			return n
		}
		msg = msg[i+len(key):]
		k := 0
		for k < len(msg) && msg[k] >= '0' && msg[k] <= '9' {
			k++
		}
		v, _ := strconv.Atoi(string(msg[:k]))
		n += v
	}
}

// countOps counts the table ops of a frame's data events: each starts
// `[{"key":` or `,{"key":` in an "ops" array (a row is `"row":{...}`, so
// its columns never start that way unless a row holds an array of objects
// keyed "key": the benchmarks' rows hold none), and a binary frame's
// columnar table update (docs/protocol.md §2.4 "tcols") holds "n" rows,
// counted without reading them.
func countOps(msg []byte) int {
	return bytes.Count(msg, []byte(`[{"key":`)) + bytes.Count(msg, []byte(`,{"key":`)) + countAfter(msg, tcolsKey)
}

// tcolsKey starts a binary frame's columnar table update (§2.4), written
// without spaces by the server; inside a JSON string its quotes would be
// escaped, so it appears nowhere else.
var tcolsKey = []byte(`"tcols":{"n":`)
