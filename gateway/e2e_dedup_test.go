package gateway

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestDuplicateGetsTheAnswerTheFirstCopyGot pins that a resend with the
// same Nats-Msg-Id (a publisher retrying after a lost answer) is told what
// the first copy was told, not only where it is stored: the same 400 for an
// update refused whole when applied, the same "refused" and "warning" for a
// table update with rows left out (marked duplicate, as JetStream marks a
// resend), and the same again after a crash, when the answers are learnt by
// applying the log anew. Before, every resend got a plain duplicate
// acknowledgement, telling a publisher its refused update was stored.
func TestDuplicateGetsTheAnswerTheFirstCopyGot(t *testing.T) {
	cfg := noAutoCompaction
	cfg.MaxTableRows = 2
	e := startEnv(t, cfg)
	e.publishAndWait(t, "sv.t.config", `{"type": "table"}`)

	type answer struct {
		Seq       uint64 `json:"seq"`
		Refused   int    `json:"refused"`
		Warning   string `json:"warning"`
		Duplicate bool   `json:"duplicate"`
		Error     *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	decode := func(t *testing.T, m *nats.Msg) (string, answer) {
		t.Helper()
		var a answer
		if err := json.Unmarshal(m.Data, &a); err != nil {
			t.Fatalf("answer %q: %v", m.Data, err)
		}
		return string(m.Data), a
	}
	newMsg := func(id, payload string) *nats.Msg {
		msg := nats.NewMsg("sv.t.data")
		msg.Data = []byte(payload)
		msg.Header.Set(jetstream.MsgIDHeader, id)
		return msg
	}
	send := func(t *testing.T, nc *nats.Conn, id, payload string) (string, answer) {
		t.Helper()
		m, err := nc.RequestMsg(newMsg(id, payload), waitTimeout)
		if err != nil {
			t.Fatalf("request %s %s: %v", id, payload, err)
		}
		t.Logf("%s %s -> %s", id, payload, m.Data)
		return decode(t, m)
	}
	// sendTwiceAtOnce sends two copies before either is answered, so the
	// second may reach the gateway while the first is being stored (it then
	// waits for the first's answer) or after (answered at once): the same
	// answer either way.
	sendTwiceAtOnce := func(t *testing.T, id, payload string) (string, answer, string, answer) {
		t.Helper()
		var subs [2]*nats.Subscription
		for i := range subs {
			msg := newMsg(id, payload)
			msg.Reply = e.nc.NewRespInbox()
			sub, err := e.nc.SubscribeSync(msg.Reply)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sub.Unsubscribe() })
			subs[i] = sub
			if err := e.nc.PublishMsg(msg); err != nil {
				t.Fatal(err)
			}
		}
		var raws [2]string
		var as [2]answer
		for i, sub := range subs {
			m, err := sub.NextMsg(waitTimeout)
			if err != nil {
				t.Fatalf("copy %d of %s not answered: %v", i+1, id, err)
			}
			t.Logf("%s %s (copy %d) -> %s", id, payload, i+1, m.Data)
			raws[i], as[i] = decode(t, m)
		}
		return raws[0], as[0], raws[1], as[1]
	}
	cases := []struct {
		name, id, payload string
		refusedWhole      bool
		refused           int
	}{
		{name: "applied whole", id: "m-applied",
			payload: `{"ops": [{"key": "a", "row": {"v": 1}}, {"key": "b", "row": {"v": 1}}]}`},
		{name: "a row left out at the row limit", id: "m-partial",
			payload: `{"key": "c", "row": {"v": 1}}`, refused: 1},
		{name: "refused whole: data of another widget type", id: "m-refused",
			payload: `{"value": 3}`, refusedWhole: true},
	}
	type sent struct{ payload, answer string }
	resent := map[string]sent{} // id → the payload and the raw answer to its resend
	for _, tc := range cases {
		for _, atOnce := range []bool{false, true} {
			name, id := tc.name+", resent after the answer", tc.id
			if atOnce {
				name, id = tc.name+", both copies sent at once", tc.id+"-at-once"
			}
			t.Run(name, func(t *testing.T) {
				var rawFirst, rawAgain string
				var first, again answer
				if atOnce {
					rawFirst, first, rawAgain, again = sendTwiceAtOnce(t, id, tc.payload)
				} else {
					rawFirst, first = send(t, e.nc, id, tc.payload)
					rawAgain, again = send(t, e.nc, id, tc.payload)
				}
				resent[id] = sent{tc.payload, rawAgain}
				if tc.refusedWhole {
					if first.Error == nil || first.Error.Code != 400 || first.Error.Description == "" {
						t.Fatalf("first copy answered %s, want a 400 naming why", rawFirst)
					}
					if rawAgain != rawFirst {
						t.Fatalf("resend answered %s, want the first copy's answer %s", rawAgain, rawFirst)
					}
					return
				}
				if first.Error != nil || first.Seq == 0 || first.Duplicate || first.Refused != tc.refused || (tc.refused > 0) != (first.Warning != "") {
					t.Fatalf("first copy answered %s, want an acknowledgement with refused %d", rawFirst, tc.refused)
				}
				if again.Error != nil || !again.Duplicate || again.Seq != first.Seq || again.Refused != first.Refused || again.Warning != first.Warning {
					t.Fatalf("resend answered %s, want %s marked duplicate", rawAgain, rawFirst)
				}
			})
		}
	}
	// Each update was applied once: a copy applied again would have been
	// refused again, and counted.
	if h := e.health(t); h.Rejected != 2 {
		t.Errorf("rejected %d updates, want 2 (the update refused whole, sent twice under each of two ids)", h.Rejected)
	}
	const table = `{"rows": {"a": {"v": 1}, "b": {"v": 1}}, "refused": 1}`
	assertJSON(t, "the table", e.widgetState(t, "t"), table)

	e.crash(t)
	e2 := startEnvAt(t, e.dir, e.cfg)
	for id, s := range resent {
		if raw, _ := send(t, e2.nc, id, s.payload); raw != s.answer {
			t.Errorf("resend of %s after the restart answered %s, want %s as before", id, raw, s.answer)
		}
	}
	assertJSON(t, "the table after the restart", e2.widgetState(t, "t"), table)
}

// Every update taken off the bus is accounted for: stored, refused, dropped,
// or a resend of one stored already (its Nats-Msg-Id seen), which /healthz
// and /metrics count too. Before, resends were counted nowhere, so core
// publishes carrying an id already seen vanished from the counts
// (published = stored + rejected + dropped did not add up).
func TestResendsAreCountedSoEveryPublishIsAccountedFor(t *testing.T) {
	e := startEnv(t, noAutoCompaction)
	const ids, copies = 5, 4
	for c := range copies {
		for i := range ids {
			msg := nats.NewMsg("sv.d.data")
			msg.Data = fmt.Appendf(nil, `{"x": %d, "y": %d}`, i, c)
			msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("id-%d", i))
			if err := e.nc.PublishMsg(msg); err != nil { // core publish: no answer to wait for
				t.Fatal(err)
			}
		}
	}
	// Acknowledged publishes may overtake core ones (docs/protocol.md §5,
	// "Fairness"): wait until every copy is accounted for.
	e.publishAndWait(t, "sv.d.data", `{"x": 100, "y": 0}`)
	var h health
	eventually(t, waitTimeout, func() bool {
		h = e.health(t)
		return h.Ingest.Queued == 0 && h.Ingest.Stored+h.Ingest.Duplicates == ids*copies+1
	}, "every publish stored or counted as a resend")
	if h.Ingest.Stored != ids+1 || h.Ingest.Duplicates != ids*(copies-1) || h.Rejected != 0 || h.Ingest.Dropped != 0 {
		t.Errorf("/healthz %+v: want %d stored and %d resends counted, none rejected or dropped", h, ids+1, ids*(copies-1))
	}
	if got := e.metrics(t)["streamviz_updates_duplicates_total"]; got != ids*(copies-1) {
		t.Errorf("streamviz_updates_duplicates_total %v, want %d", got, ids*(copies-1))
	}
}

// A Nats-Msg-Id is remembered for two minutes (and kept in the log), so its
// length is bounded: an update whose id is longer than maxMsgIDBytes is
// refused at once (413) naming the header and the bound, counted as too
// large, and not stored; one at the bound is stored. Before, any id the bus
// carried (up to its ~1 MiB payload limit) was taken: 400 publishes with
// 900 KB ids held 1.2 GB of the server's memory for the dedup window.
func TestAMsgIDLongerThanItsBoundIsRefusedNamingIt(t *testing.T) {
	e := startEnv(t, noAutoCompaction)
	send := func(t *testing.T, id string) (uint64, string) {
		t.Helper()
		msg := nats.NewMsg("sv.d.data")
		msg.Data = []byte(`{"value": 1}`)
		msg.Header.Set(jetstream.MsgIDHeader, id)
		m, err := e.nc.RequestMsg(msg, waitTimeout)
		if err != nil {
			t.Fatalf("request with a %d-byte id: %v", len(id), err)
		}
		var a struct {
			Seq   uint64 `json:"seq"`
			Error *struct {
				Code        int    `json:"code"`
				Description string `json:"description"`
			} `json:"error"`
		}
		if err := json.Unmarshal(m.Data, &a); err != nil {
			t.Fatalf("answer %s: %v", m.Data, err)
		}
		if a.Error != nil {
			return 0, fmt.Sprintf("%d %s", a.Error.Code, a.Error.Description)
		}
		return a.Seq, ""
	}
	if seq, refused := send(t, strings.Repeat("i", maxMsgIDBytes)); seq == 0 {
		t.Fatalf("an id of %d bytes was refused: %s", maxMsgIDBytes, refused)
	}
	before := e.health(t)
	seq, refused := send(t, strings.Repeat("i", maxMsgIDBytes+1))
	want := fmt.Sprintf("413 sv.d.data: message too large: Nats-Msg-Id of %d bytes, limit %d", maxMsgIDBytes+1, maxMsgIDBytes)
	if seq != 0 || refused != want {
		t.Errorf("an id of %d bytes: stored at %d, refused %q; want refused %q", maxMsgIDBytes+1, seq, refused, want)
	}
	if after := e.health(t); after.Ingest.Stored != before.Ingest.Stored || after.Rejected != before.Rejected+1 {
		t.Errorf("/healthz before %+v, after %+v: want nothing more stored and one more rejected", before, after)
	}
	if got := e.metrics(t)[`streamviz_updates_rejected_total{reason="message too large"}`]; got != 1 {
		t.Errorf(`rejected as "message too large": %v, want 1`, got)
	}
}
