package gateway

import (
	"errors"
	"math"
	"strings"
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
		if err := w.check(u); err != nil {
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

// At the row limit every op of a batch that fits is applied and only new keys
// beyond the limit are left out and counted; a refused key stops counting
// once it is deleted or gets in when there is room again.
func TestTableAtRowLimitAppliesWhatFitsAndCountsRefusedKeys(t *testing.T) {
	w := newWidget(DefaultConfig("t", TypeTable, 0))
	w.apply(mustUpdate(t, `{"ops":[{"key":"a","row":{"n":1}},{"key":"b","row":{"n":2}}]}`))
	steps := []struct {
		name, update string
		dropped      int
		event, state string
	}{
		{"an update of a live key and a new key beyond the limit: the update applies",
			`{"ops":[{"key":"b","row":{"n":3}},{"key":"c","row":{"n":1}}]}`, 1,
			`{"ops":[{"key":"b","row":{"n":3}}],"refused":1}`, `{"rows":{"a":{"n":1},"b":{"n":3}},"refused":1}`},
		{"the same refused key again is not counted twice",
			`{"key":"c","row":{"n":2}}`, 1,
			`{"ops":[]}`, `{"rows":{"a":{"n":1},"b":{"n":3}},"refused":1}`},
		{"a delete makes room for a new key in the same batch, the next one is refused",
			`{"ops":[{"key":"a","delete":true},{"key":"d","row":{"n":4}},{"key":"e","row":{"n":5}}]}`, 1,
			`{"ops":[{"key":"a","delete":true},{"key":"d","row":{"n":4}}],"refused":2}`,
			`{"rows":{"b":{"n":3},"d":{"n":4}},"refused":2}`},
		{"deleting a refused key lowers the count",
			`{"key":"e","delete":true}`, 0,
			`{"ops":[{"key":"e","delete":true}],"refused":1}`, `{"rows":{"b":{"n":3},"d":{"n":4}},"refused":1}`},
		{"a refused key gets in once there is room",
			`{"ops":[{"key":"b","delete":true},{"key":"c","row":{"n":6}}]}`, 0,
			`{"ops":[{"key":"b","delete":true},{"key":"c","row":{"n":6}}],"refused":0}`, `{"rows":{"c":{"n":6},"d":{"n":4}}}`},
	}
	for _, s := range steps {
		u := mustUpdate(t, s.update)
		if err := w.check(u); err != nil {
			t.Fatalf("%s: check: %v", s.name, err)
		}
		if got, _, _, _ := w.applyTable(u, 2, math.MaxInt, math.MaxInt); got != s.dropped {
			t.Errorf("%s: %d ops left out, want %d", s.name, got, s.dropped)
		}
		if got := string(u.encode(nil)); got != s.event {
			t.Errorf("%s: event data\n got %s\nwant %s", s.name, got, s.event)
		}
		if got := string(w.appendState(nil)); got != s.state {
			t.Errorf("%s: state\n got %s\nwant %s", s.name, got, s.state)
		}
	}
	if err := w.check(mustUpdate(t, `{"value":1}`)); !errors.Is(err, ErrWrongType) {
		t.Errorf("a stat update on a table: %v, want %v", err, ErrWrongType)
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

// A category chart (x_type "category") keeps one point per category when
// fed upserts: an update moves its bar in place, a new category goes after
// the others, a removal drops it; its state survives a snapshot round trip,
// and a change of x_type starts it over.
func TestCategoryChartUpdatesEachCategoryInPlace(t *testing.T) {
	cfg, err := DecodeConfig("rev", []byte(`{"type":"chart","chart_type":"bar","x_type":"category","max_points":3}`), 10)
	if err != nil {
		t.Fatal(err)
	}
	w := newWidget(cfg)
	steps := []struct{ name, update, want string }{
		{"upserts add categories in arrival order", `{"points":[["eu",10],["us",20]],"mode":"upsert"}`, `{"points":[["eu",10],["us",20]]}`},
		{"an upsert updates its category in place", `{"points":[["eu",12],["apac",5]],"mode":"upsert"}`, `{"points":[["eu",12],["us",20],["apac",5]]}`},
		{"a removal drops a category", `{"points":[],"mode":"upsert","remove":["us"]}`, `{"points":[["eu",12],["apac",5]]}`},
		{"a new category beyond max_points pushes out the oldest", `{"points":[["latam",1],["af",2]],"mode":"upsert"}`, `{"points":[["apac",5],["latam",1],["af",2]]}`},
		{"named series by name", `{"series":"cost","points":[["eu",3]],"mode":"upsert"}`, `{"points":[["apac",5],["latam",1],["af",2]],"series":{"cost":[["eu",3]]}}`},
	}
	for _, s := range steps {
		u := mustUpdate(t, s.update)
		if err := w.check(u); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		w.apply(u)
		if got := string(w.appendState(nil)); got != s.want {
			t.Fatalf("%s:\n got %s\nwant %s", s.name, got, s.want)
		}
	}
	if err := w.check(mustUpdate(t, `{"points":[[1,2]]}`)); !errors.Is(err, ErrBadShape) {
		t.Errorf("a number x in a category chart: %v, want a bad shape", err)
	}
	restored := newWidget(cfg)
	if err := restored.loadState(w.appendState(nil)); err != nil {
		t.Fatal(err)
	}
	if got, want := string(restored.appendState(nil)), string(w.appendState(nil)); got != want {
		t.Errorf("snapshot round trip: got %s, want %s", got, want)
	}
	w.setConfig(DefaultConfig("rev", TypeChart, 10))
	if got := string(w.appendState(nil)); got != `{"points":[]}` {
		t.Errorf("a number axis starts over: %s", got)
	}
}

// An op a byte limit leaves out takes no row: a new key after it in the
// same batch still gets the room (it was refused as if the dropped row
// were live).
func TestARowLeftOutAtTheByteLimitLeavesItsRoomToTheNextNewKey(t *testing.T) {
	w := newWidget(DefaultConfig("t", TypeTable, 0))
	_, _, delta, _ := w.applyTable(mustUpdate(t, `{"key":"a","row":{"n":1}}`), 2, math.MaxInt, math.MaxInt)
	w.bytes += delta
	big := `{"key":"big","row":{"s":"` + strings.Repeat("x", 500) + `"}}`
	u := mustUpdate(t, `{"ops":[`+big+`,{"key":"c","row":{"n":2}}]}`)
	refused, dropped, _, why := w.applyTable(u, 2, w.bytes+200, math.MaxInt)
	if refused != 0 || dropped != 1 || !errors.Is(why, ErrWidgetBytes) {
		t.Fatalf("refused %d, dropped %d (%v); want 0 refused, 1 dropped at the widget byte limit", refused, dropped, why)
	}
	if got := string(w.appendState(nil)); got != `{"rows":{"a":{"n":1},"c":{"n":2}}}` {
		t.Errorf("state %s", got)
	}
	if got := string(u.encode(nil)); got != `{"ops":[{"key":"c","row":{"n":2}}]}` {
		t.Errorf("event %s", got)
	}
}
