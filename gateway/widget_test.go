package gateway

import (
	"errors"
	"testing"
)

func mustUpdate(t *testing.T, s string) *Update {
	t.Helper()
	u, err := DecodeUpdate([]byte(s), 0)
	if err != nil {
		t.Fatalf("DecodeUpdate(%s): %v", s, err)
	}
	return u
}

func TestChartSeriesKeepOnlyMaxPointsAndEditInPlace(t *testing.T) {
	cfg := DefaultConfig("c", TypeChart, 3)
	steps := []struct {
		name, update, want string
	}{
		{"append past the bound keeps the newest", `{"points":[[1,1],[2,2],[3,3],[4,4]]}`, `{"points":[[2,2],[3,3],[4,4]]}`},
		{"upsert moves an existing point", `{"points":[[3,30]],"mode":"upsert"}`, `{"points":[[2,2],[3,30],[4,4]]}`},
		{"upsert inserts in x order and trims the oldest", `{"points":[[3.5,35]],"mode":"upsert"}`, `{"points":[[3,30],[3.5,35],[4,4]]}`},
		{"remove deletes by x", `{"remove":[3.5],"points":[]}`, `{"points":[[3,30],[4,4]]}`},
		{"named series live beside the default", `{"x":9,"y":1,"series":"b"}`, `{"points":[[3,30],[4,4]],"series":{"b":[[9,1]]}}`},
		{"an emptied named series disappears", `{"remove":[9],"series":"b"}`, `{"points":[[3,30],[4,4]]}`},
	}
	w := newWidget(cfg)
	for _, s := range steps {
		u := mustUpdate(t, s.update)
		if err := w.check(u, 10); err != nil {
			t.Fatalf("%s: check: %v", s.name, err)
		}
		w.apply(u)
		if got := string(w.appendState(nil)); got != s.want {
			t.Fatalf("%s:\n got %s\nwant %s", s.name, got, s.want)
		}
	}
	smaller := DefaultConfig("c", TypeChart, 1)
	w.setConfig(smaller)
	if got := string(w.appendState(nil)); got != `{"points":[[4,4]]}` {
		t.Errorf("a smaller max_points trims: got %s", got)
	}
}

func TestTableBatchOverRowLimitIsRejectedWhole(t *testing.T) {
	w := newWidget(DefaultConfig("t", TypeTable, 0))
	w.apply(mustUpdate(t, `{"ops":[{"key":"a","row":{"n":1}},{"key":"b","row":{"n":2}}]}`))
	tests := []struct {
		name, update string
		err          error
	}{
		{"a new key beyond the limit", `{"ops":[{"key":"b","row":{"n":3}},{"key":"c","row":{"n":1}}]}`, ErrTableFull},
		{"delete then insert stays within the limit", `{"ops":[{"key":"a","delete":true},{"key":"c","row":{"n":1}}]}`, nil},
		{"updating live keys is always allowed", `{"ops":[{"key":"a","row":{"n":9}},{"key":"b","row":{"n":9}}]}`, nil},
		{"a stat update does not fit a table", `{"value":1}`, ErrWrongType},
	}
	for _, tt := range tests {
		if err := w.check(mustUpdate(t, tt.update), 2); !errors.Is(err, tt.err) {
			t.Errorf("%s: check = %v, want %v", tt.name, err, tt.err)
		}
	}
	if got := string(w.appendState(nil)); got != `{"rows":{"a":{"n":1},"b":{"n":2}}}` {
		t.Errorf("check must not change state: %s", got)
	}
}

func TestStatKeepsLatestAndPreviousForDelta(t *testing.T) {
	w := newWidget(DefaultConfig("s", TypeStat, 0))
	for _, s := range []string{`{"value":1,"ts":10}`, `{"value":2,"ts":20}`, `{"value":null,"ts":30}`} {
		w.apply(mustUpdate(t, s))
	}
	if got, want := string(w.appendState(nil)), `{"value":null,"prev":2,"ts":30}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	w.setConfig(DefaultConfig("s", TypeChart, 5))
	if got, want := string(w.appendState(nil)), `{"points":[]}`; got != want {
		t.Errorf("a new type resets the state: got %s, want %s", got, want)
	}
}

func TestUpsertNeverDuplicatesAnXEvenOutOfOrder(t *testing.T) {
	w := newWidget(DefaultConfig("c", TypeChart, 10))
	w.apply(mustUpdate(t, `{"points":[[3,3],[1,1],[5,5]]}`))
	w.apply(mustUpdate(t, `{"points":[[3,30],[1,10],[4,4]],"mode":"upsert"}`))
	if got, want := string(w.appendState(nil)), `{"points":[[3,30],[1,10],[4,4],[5,5]]}`; got != want {
		t.Errorf("got %s, want %s (the same rule as web/series.js)", got, want)
	}
}
