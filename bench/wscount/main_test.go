package main

import "testing"

func TestFramesAreCountedAndPositionedWithoutDecodingColumns(t *testing.T) {
	cases := []struct {
		name   string
		frame  string
		points int
		seq    uint64
	}{
		{"json points", `[{"type":"data","seq":70,"prev":69,"id":"c","data":{"series":"","points":[[1,2],[3,null]],"mode":"append"}}]`, 2, 70},
		{"columns", `[{"type":"data","seq":5,"prev":4,"id":"c","data":{"series":"","cols":{"n":3,"x":"AAAA","y":"BBBB"},"mode":"append"}},` +
			`{"type":"data","seq":9,"prev":5,"id":"d","data":{"series":"","cols":{"n":40000,"x":"","y":""},"mode":"append"}}]`, 40003, 9},
		{"both", `[{"type":"data","seq":5,"prev":4,"id":"c","data":{"series":"","cols":{"n":3,"x":"","y":""},"mode":"append"}},` +
			`{"type":"data","seq":6,"prev":5,"id":"c","data":{"series":"","points":[[1,2]],"mode":"append"}}]`, 4, 6},
		{"a snapshot's points are state, not updates", `[{"type":"snapshot","epoch":"e1","seq":12,"reset":false,"widgets":[{"id":"c","config":{},"state":{"points":[[1,2]]}}]}]`, 0, 12},
		{"a binary frame's JSON (columns by reference)", `[{"type":"data","seq":5,"prev":4,"id":"c","data":{"series":"","cols":{"n":3,"at":0},"mode":"append"}},` +
			`{"type":"data","seq":8,"prev":5,"id":"c","data":{"series":"","cols":{"n":7,"at":48},"mode":"append"}}]`, 10, 8},
		{"resumed", `[{"type":"resumed","epoch":"e1","seq":12}]`, 0, 12},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := count("streamviz", []byte(c.frame)); got != c.points {
				t.Errorf("count %d, want %d", got, c.points)
			}
			if got := lastSeq([]byte(c.frame)); got != c.seq {
				t.Errorf("lastSeq %d, want %d", got, c.seq)
			}
		})
	}
	if e := field([]byte(`[{"type":"snapshot","epoch":"e1","seq":12}]`), `"epoch":"`); e != "e1" {
		t.Errorf("epoch %q", e)
	}
}

func TestTableOpsAreCountedInDataEventsNotInStateOrRows(t *testing.T) {
	frame := `[{"type":"data","seq":5,"prev":4,"id":"t","data":{"ops":[{"key":"a","row":{"key":1}},{"key":"b","delete":true}]}},` +
		`{"type":"config","seq":6,"prev":5,"id":"t","config":{},"state":{"rows":{"a":{"key":1}}}},` +
		`{"type":"data","seq":7,"prev":6,"id":"t","data":{"ops":[{"key":"c","row":{"v":[1]}}],"refused":1}}]`
	if got := countOps([]byte(frame)); got != 3 {
		t.Errorf("countOps %d, want 3", got)
	}
}

func TestColumnarTableUpdatesInBinaryFramesAreCountedByTheirN(t *testing.T) {
	frame := `[{"type":"data","seq":5,"prev":4,"id":"t","data":{"tcols":{"n":10000,"at":0,"len":330120}}},` +
		`{"type":"data","seq":6,"prev":5,"id":"t","data":{"tcols":{"n":7,"at":330120,"len":300},"refused":2,"as_of":9}},` +
		`{"type":"data","seq":7,"prev":6,"id":"t","data":{"ops":[{"key":"a","delete":true}]}}]`
	if got := countOps([]byte(frame)); got != 10008 {
		t.Errorf("countOps %d, want 10008", got)
	}
	if got := countColumns([]byte(frame)); got != 0 {
		t.Errorf("countColumns %d: a table's rows are no chart points", got)
	}
}
