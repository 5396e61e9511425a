package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// A browser that stops reading is cut off at its queue bound (close 4000)
// while ingest and every other socket go on; when it reads again it
// reconnects with the position it reached and gets exactly the events it
// missed, then live ones: no gap, no duplicate (docs/reliability.md).
//
// Nothing here depends on how fast the test's goroutines are scheduled or
// how large the kernel's socket buffers grow: the reading client is never
// more than the queue bound behind (it waits for each update before the
// cut, and the burst after the cut is smaller than the bound), and the
// stalled socket's write deadline and pings are out of reach, so the queue
// bound is the only thing that can close it (with 4000).
func TestStalledSocketResumesFromItsPositionWithoutGapAfterTheCut(t *testing.T) {
	const (
		maxQueue = 256 << 10
		rowPad   = 16 << 10
		maxMsgs  = 4096
		// burst updates are published without waiting for anyone: their bytes
		// stay below maxQueue, so the reading client cannot be cut for them
		// however late it is scheduled.
		burst = maxQueue / (2 * rowPad)
	)
	// Only the queue bound may close the stalled socket: on a loaded machine
	// the updates that push it past the bound can take longer than the
	// default write deadline (10 s) or ping timeout (55 s), which would close
	// it without code 4000 (or before the bound is ever reached).
	e := startEnv(t, Config{MaxQueueBytes: maxQueue, writeWait: 10 * time.Minute, pingPeriod: 10 * time.Minute, pongWait: 10 * time.Minute})
	e.publishAndWait(t, "sv.big.config", `{"type": "table"}`)
	stalled := e.dialRaw(t)
	reader := e.dial(t)
	reader.first(t, "snapshot")
	eventually(t, waitTimeout, func() bool { return e.health(t).Clients == 2 }, "both sockets joined")

	pad := strings.Repeat("x", rowPad)
	var sent []uint64
	publish := func(i int) uint64 {
		seq := e.publish(t, "sv.big.data", fmt.Sprintf(`{"key": "k%d", "row": {"i": %d, "pad": "%s"}}`, i%10, i, pad))
		sent = append(sent, seq)
		return seq
	}
	i := 0
	for ; e.health(t).Slow == 0; i++ {
		if i >= maxMsgs {
			t.Fatalf("no slow disconnect after %d MiB to a socket that never reads", i*rowPad>>20)
		}
		reader.waitSeq(t, publish(i))
	}
	// The stalled page reads at last: a prefix of the events, then close 4000.
	epoch, pos := readUntilCut(t, stalled)
	if pos == 0 || pos >= sent[len(sent)-1] {
		t.Fatalf("stalled socket reached seq %d; want a prefix that ends before the last published %d", pos, sent[len(sent)-1])
	}

	// Ingest goes on after the cut: a burst published without waiting is applied and delivered.
	for end := i + burst; i < end; i++ {
		publish(i)
	}
	e.waitSeq(t, sent[len(sent)-1])
	evs := reader.waitSeq(t, sent[len(sent)-1])
	checkChain(t, evs)
	if got := seqs(evs[1:]); fmt.Sprint(got) != fmt.Sprint(sent) {
		t.Fatalf("reading client got %d events, want exactly the %d published, in order", len(got), len(sent))
	}

	// It reconnects with its position, as the page does after 4000, and
	// catches up from the log: exactly the events it missed, then live ones.
	back := e.dialAt(t, epoch, pos)
	if res := back.first(t, "resumed"); res.Seq != pos {
		t.Fatalf("resumed at %d, want %d", res.Seq, pos)
	}
	var want []uint64
	for _, s := range sent {
		if s > pos {
			want = append(want, s)
		}
	}
	live := publish(i)
	want = append(want, live)
	evs = back.waitSeq(t, live)
	checkChain(t, evs)
	if got := seqs(evs[1:]); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after resuming from %d got %d events, want exactly the %d it missed and the live one", pos, len(got), len(want))
	}
	if h := e.health(t); h.Slow != 1 {
		t.Fatalf("slow_disconnects %d: only the stalled socket may be cut", h.Slow)
	}
}

// readUntilCut reads a socket that was cut off until its close frame, checks
// the events chain and the close code is 4000, and returns the epoch and the
// last seq it held.
func readUntilCut(t *testing.T, conn *websocket.Conn) (epoch string, last uint64) {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	for n := 0; ; n++ {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != CloseSlow {
				t.Fatalf("stalled socket ended with %v after seq %d, want close code %d", err, last, CloseSlow)
			}
			return epoch, last
		}
		var frame []wsEvent
		if err := json.Unmarshal(msg, &frame); err != nil {
			t.Fatalf("stalled socket frame is not a JSON array of events: %v", err)
		}
		for _, ev := range frame {
			switch {
			case ev.Type == "snapshot" && epoch == "":
				epoch = ev.Epoch
			case ev.Prev != last || ev.Seq <= last:
				t.Fatalf("stalled socket event %v after seq %d", ev, last)
			}
			last = ev.Seq
		}
	}
}
