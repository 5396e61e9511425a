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

// A socket that stops reading is cut off once its queue passes
// MaxQueueBytes, without holding up anyone else: a reading client on the same
// dashboard receives every event, in order. The stalled socket, when it
// finally reads, gets a consistent prefix of the events and close code 4000.
func TestStalledSocketIsCutOffWithoutDelayingOthers(t *testing.T) {
	const (
		maxQueue = 512 << 10
		rowPad   = 16 << 10
		maxMsgs  = 4096 // 64 MiB: far beyond any socket buffer
	)
	// Only the queue bound may close the stalled socket. Its writer stays
	// blocked in a write until the test reads, after the cut and 20 more
	// updates: on a loaded machine that can outlast the default write
	// deadline (10 s), which would close the socket without code 4000 (or
	// before the bound is reached); unanswered pings likewise (55 s).
	e := startEnv(t, Config{MaxQueueBytes: maxQueue, writeWait: 10 * time.Minute, pingPeriod: 10 * time.Minute, pongWait: 10 * time.Minute})
	e.publishAndWait(t, "sv.big.config", `{"type": "table"}`)
	stalled := e.dialRaw(t) // never reads until the end
	reader := e.dial(t)
	reader.first(t, "snapshot")
	eventually(t, waitTimeout, func() bool { return e.counters(t).Clients == 2 }, "both sockets joined")

	pad := strings.Repeat("x", rowPad)
	var sent []uint64
	// Each update waits until the reading client has it: that client is never
	// behind, so the only socket that can reach the bound is the stalled one.
	publish := func(i int) {
		seq := e.publish(t, "sv.big.data", fmt.Sprintf(`{"key": "k%d", "row": {"i": %d, "pad": "%s"}}`, i%10, i, pad))
		sent = append(sent, seq)
		reader.waitSeq(t, seq)
	}
	i := 0
	for ; e.counters(t).Slow == 0; i++ {
		if i >= maxMsgs {
			t.Fatalf("no slow disconnect after %d MiB to a socket that never reads", i*rowPad>>20)
		}
		publish(i)
	}
	cutAfter := len(sent)
	for end := i + 20; i < end; i++ { // life goes on for the others
		publish(i)
	}
	t.Logf("stalled socket cut off after %d updates of %d KiB", cutAfter, rowPad>>10)

	evs := reader.waitSeq(t, sent[len(sent)-1])
	checkChain(t, evs)
	if got := seqs(evs[1:]); fmt.Sprint(got) != fmt.Sprint(sent) {
		t.Fatalf("reading client got %d events, want exactly the %d published, in order", len(got), len(sent))
	}
	if h := e.counters(t); h.Slow != 1 || h.Clients != 1 {
		t.Errorf("/healthz slow_disconnects %d clients %d, want 1 and 1 (only the stalled socket cut)", h.Slow, h.Clients)
	}

	// The stalled socket reads at last: whole frames of events in order, then 4000.
	if err := stalled.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	var last uint64
	got := 0
	for {
		_, msg, err := stalled.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != CloseSlow {
				t.Fatalf("stalled socket ended with %v after %d events, want close code %d", err, got, CloseSlow)
			}
			break
		}
		var frame []wsEvent
		if err := json.Unmarshal(msg, &frame); err != nil {
			t.Fatalf("stalled socket frame is not a JSON array of events: %v", err)
		}
		for _, ev := range frame {
			if got > 0 && (ev.Prev != last || ev.Seq <= last) {
				t.Fatalf("stalled socket event %v after seq %d", ev, last)
			}
			last = ev.Seq
			got++
		}
	}
	if got < 1 || last > sent[cutAfter-1] {
		t.Errorf("stalled socket read %d events up to seq %d; want a prefix ending by the cut at %d", got, last, sent[cutAfter-1])
	}
}
