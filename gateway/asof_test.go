package gateway

import (
	"errors"
	"strings"
	"testing"
)

// A data message's "as_of" (the producer's time of the data, a Pathway commit's time) travels in the
// data event and stays in the widget's state as the latest one seen, for every widget type, and
// survives a snapshot (docs/protocol.md §1.3, §3).
func TestAsOfIsCarriedInEventsAndKeptAsTheLatestInState(t *testing.T) {
	cases := []struct {
		name, typ     string
		first, second string // second is an older commit arriving late
		event         string
		state         string
	}{
		{"stat", TypeStat, `{"value":1,"ts":5,"as_of":1700000000002}`, `{"value":2,"ts":6,"as_of":1700000000000}`,
			`{"value":1,"ts":5,"as_of":1700000000002}`, `{"value":2,"prev":1,"ts":6,"as_of":1700000000002}`},
		{"chart", TypeChart, `{"points":[[1,1]],"as_of":4}`, `{"points":[[2,2]],"as_of":2}`,
			`{"series":"","points":[[1,1]],"mode":"append","as_of":4}`, `{"points":[[1,1],[2,2]],"as_of":4}`},
		{"table", TypeTable, `{"ops":[{"key":"a","row":{"n":1}}],"as_of":"2026-11-27T10:42:07Z"}`, `{"ops":[],"as_of":0}`,
			`{"ops":[{"key":"a","row":{"n":1}}],"as_of":1795776127000}`, `{"rows":{"a":{"n":1}},"as_of":1795776127000}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWidget(DefaultConfig("w", c.typ, 10))
			u := mustUpdate(t, c.first)
			if got := string(u.encode(nil)); got != c.event {
				t.Errorf("event data:\n got %s\nwant %s", got, c.event)
			}
			w.apply(u)
			w.apply(mustUpdate(t, c.second))
			state := string(w.appendState(nil))
			if state != c.state {
				t.Errorf("state:\n got %s\nwant %s", state, c.state)
			}
			back := newWidget(DefaultConfig("w", c.typ, 10))
			if err := back.loadState([]byte(state)); err != nil {
				t.Fatal(err)
			}
			if got := string(back.appendState(nil)); got != state {
				t.Errorf("after a snapshot:\n got %s\nwant %s", got, state)
			}
		})
	}
}

func TestDataWithoutAsOfLeavesItOut(t *testing.T) {
	w := newWidget(DefaultConfig("w", TypeStat, 10))
	u := mustUpdate(t, `{"value":1,"ts":5}`)
	w.apply(u)
	if got := string(u.encode(nil)) + string(w.appendState(nil)); strings.Contains(got, "as_of") {
		t.Errorf("no as_of was sent, yet: %s", got)
	}
}

func TestAsOfMustBeATime(t *testing.T) {
	for _, in := range []string{`{"value":1,"as_of":"soon"}`, `{"value":1,"as_of":true}`, `{"value":1,"as_of":[1]}`} {
		if _, err := DecodeUpdate([]byte(in), 0); !errors.Is(err, ErrBadShape) {
			t.Errorf("%s: got %v, want %v", in, err, ErrBadShape)
		}
	}
}

func TestStaleAfterIsAPositiveNumberOfSecondsPresentOnlyWhenGiven(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{`{"type":"stat"}`, "", ""},
		{`{"type":"stat","stale_after":2.5}`, `"stale_after":2.5`, ""},
		{`{"type":"table","stale_after":60}`, `"stale_after":60`, ""},
		{`{"type":"stat","stale_after":0}`, "", "stale_after 0"},
		{`{"type":"stat","stale_after":-1}`, "", "stale_after -1"},
		{`{"type":"stat","stale_after":40000000}`, "", "stale_after 4e+07"},
		{`{"type":"stat","stale_after":"1m"}`, "", "stale_after"},
	}
	for _, c := range cases {
		cfg, err := DecodeConfig("w", []byte(c.in), 10)
		if c.err != "" {
			if !errors.Is(err, ErrBadShape) || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: got %v, want a bad shape naming %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		b, _ := cfg.MarshalJSON()
		if c.want == "" && strings.Contains(string(b), "stale_after") || !strings.Contains(string(b), c.want) {
			t.Errorf("%s: normalized %s, want it to hold %q", c.in, b, c.want)
		}
	}
}

// A snapshot saved before an as_of far ahead of the clock was refused may
// hold one (docs/protocol.md §1.3): it is not restored, since a widget keeps
// its greatest as_of and every later update would look old; the data is.
func TestASnapshotsAsOfFarAheadOfTheClockIsNotRestored(t *testing.T) {
	cases := []struct {
		name, typ, state, want string
	}{
		{"stat", TypeStat, `{"value":1,"prev":null,"ts":5,"as_of":1e300}`, `{"value":1,"prev":null,"ts":5}`},
		{"chart", TypeChart, `{"points":[[1,1]],"as_of":253402300799000}`, `{"points":[[1,1]]}`},
		{"table", TypeTable, `{"rows":{"a":{"n":1}},"as_of":1e300}`, `{"rows":{"a":{"n":1}}}`},
		{"sane as_of kept", TypeStat, `{"value":1,"prev":null,"ts":5,"as_of":1700000000000}`, `{"value":1,"prev":null,"ts":5,"as_of":1700000000000}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWidget(DefaultConfig("w", c.typ, 10))
			if err := w.loadState([]byte(c.state)); err != nil {
				t.Fatal(err)
			}
			if got := string(w.appendState(nil)); got != c.want {
				t.Errorf("restored %s\n got %s\nwant %s", c.state, got, c.want)
			}
		})
	}
}
