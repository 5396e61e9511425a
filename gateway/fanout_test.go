package gateway

import (
	"encoding/json"
	"fmt"
	"testing"
)

// A tick's shared frame leaves out stat and gauge values that a later value
// of the same widget in the same frame supersedes, and rewrites "prev" so
// that the chain of the events it does send stays whole.
func TestSharedFrameKeepsOnlyTheLatestValueOfEachStatAndAWholeChain(t *testing.T) {
	type ev struct {
		seq    uint64
		id     string
		latest bool
	}
	cases := []struct {
		name string
		from uint64
		evs  []ev
		want []uint64 // seqs sent, in order
	}{
		{"no stat", 10, []ev{{11, "c", false}, {12, "c", false}}, []uint64{11, 12}},
		{"one stat thrice", 10, []ev{{11, "s", true}, {12, "s", true}, {13, "s", true}}, []uint64{13}},
		{"stat between chart points", 10, []ev{{11, "s", true}, {12, "c", false}, {13, "s", true}, {14, "c", false}}, []uint64{12, 13, 14}},
		{"two stats interleaved", 5, []ev{{6, "a", true}, {7, "b", true}, {8, "a", true}, {9, "b", true}, {10, "a", true}}, []uint64{9, 10}},
		{"a config between values keeps its place", 0, []ev{{1, "s", true}, {2, "s", false}, {3, "s", true}}, []uint64{2, 3}},
		{"title events are not values", 20, []ev{{21, "", false}, {22, "", false}}, []uint64{21, 22}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var entries []logEntry
			prev := tc.from
			for _, e := range tc.evs {
				ev := dataEvent(e.seq, prev, e.id, &Update{Value: &ValueUpdate{Value: Num{V: float64(e.seq), Valid: true}}})
				entries = append(entries, logEntry{seq: e.seq, prev: prev, latest: e.latest, id: e.id, ev: ev.b, head: ev.head})
				prev = e.seq
			}
			var got []struct {
				Seq  uint64 `json:"seq"`
				Prev uint64 `json:"prev"`
				ID   string `json:"id"`
				Data struct {
					Value uint64 `json:"value"`
				} `json:"data"`
			}
			frame, _ := frameEvents(entries, tc.from, false)
			if err := json.Unmarshal(frame, &got); err != nil {
				t.Fatalf("frame %s is not a JSON array of events: %v", frame, err)
			}
			last := tc.from
			var seqs []uint64
			for _, e := range got {
				if e.Prev != last {
					t.Errorf("event %d has prev %d, want %d (the last event sent): %s", e.Seq, e.Prev, last, frame)
				}
				if e.Data.Value != e.Seq {
					t.Errorf("event %d carries the value of event %d", e.Seq, e.Data.Value)
				}
				last = e.Seq
				seqs = append(seqs, e.Seq)
			}
			if fmt.Sprint(seqs) != fmt.Sprint(tc.want) {
				t.Errorf("sent %v, want %v", seqs, tc.want)
			}
		})
	}
}

func TestAppendWithPrevReplacesOnlyTheHeadsPrev(t *testing.T) {
	for _, tc := range []struct {
		prev, to uint64
		want     string
	}{
		{99, 120, `[{"type":"title","seq":123,"prev":120,"title":",\"prev\":7","theme":null}`},
		{9, 100000, `[{"type":"title","seq":123,"prev":100000,"title":",\"prev\":7","theme":null}`},
		{100000, 0, `[{"type":"title","seq":123,"prev":0,"title":",\"prev\":7","theme":null}`},
		{5, 5, `[{"type":"title","seq":123,"prev":5,"title":",\"prev\":7","theme":null}`},
	} {
		ev := titleEvent(123, tc.prev, `,"prev":7`, nil)
		got := string(appendWithPrev([]byte("["), logEntry{seq: 123, prev: tc.prev, ev: ev.b, head: ev.head}, tc.to, nil))
		if got != tc.want {
			t.Errorf("prev %d → %d:\n got %s\nwant %s", tc.prev, tc.to, got, tc.want)
		}
	}
}
