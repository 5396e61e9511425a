package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rowsHub is a state fed the way ingest feeds it: each step one stored
// message, its events going to a resume log of its own.
type rowsHub struct {
	t   *testing.T
	h   *state
	log *resumeLog
	seq uint64
	// clock is the server's time (Unix ms) when the first message is
	// stored; each later one is stored a millisecond after the one before.
	clock float64
}

func newRowsHub(t *testing.T, maxRows int) *rowsHub {
	limits := Limits{}
	limits.setDefaults()
	log := newResumeLog(64 << 20)
	return &rowsHub{t: t, h: newState(1000, maxRows, limits, log), log: log}
}

// feed applies steps: "cfg {...}" a config, "end T" the end marker of time T,
// anything else a row message. It returns the errors the state reported.
func (r *rowsHub) feed(id string, steps ...string) []error {
	r.t.Helper()
	var errs []error
	for _, s := range steps {
		r.seq++
		m := message{seq: pos(r.seq, 0), subject: "sv." + id + ".rows", data: []byte(s), ms: r.clock + float64(r.seq)}
		switch {
		case strings.HasPrefix(s, "cfg "):
			m.subject, m.data = "sv."+id+".config", []byte(s[4:])
		case strings.HasPrefix(s, "end "):
			m.data = []byte(fmt.Sprintf(`{"$end":%s}`, s[4:]))
		}
		if err := r.h.apply(m); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// asOfField is left out of what the fold tests compare; TestRowsCarryTheirTimeAsAsOf pins it.
var asOfField = regexp.MustCompile(`,"as_of":[0-9]+`)

func (r *rowsHub) state(id string) string {
	return asOfField.ReplaceAllString(r.stateWithAsOf(id), "")
}

func (r *rowsHub) stateWithAsOf(id string) string {
	r.t.Helper()
	b, ok := r.h.widgetJSON(id)
	if !ok {
		r.t.Fatalf("no widget %q", id)
	}
	var w struct {
		State json.RawMessage `json:"state"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		r.t.Fatal(err)
	}
	return string(w.State)
}

// events is what browsers were sent for id since the last call: each data
// event's data, or "config" plus the state for a config event.
func (r *rowsHub) events(id string) []string {
	evs := r.eventsWithAsOf(id)
	for i, e := range evs {
		evs[i] = asOfField.ReplaceAllString(e, "")
	}
	return evs
}

func (r *rowsHub) eventsWithAsOf(id string) []string {
	var out []string
	for _, e := range r.log.log.entries {
		var ev struct {
			Type  string          `json:"type"`
			ID    string          `json:"id"`
			Data  json.RawMessage `json:"data"`
			State json.RawMessage `json:"state"`
		}
		if err := json.Unmarshal(e.ev, &ev); err != nil {
			r.t.Fatal(err)
		}
		if ev.ID != id {
			continue
		}
		if ev.Type == "config" {
			out = append(out, "config "+string(ev.State))
		} else {
			out = append(out, string(ev.Data))
		}
	}
	r.log.log.entries = nil
	return out
}

func row(diff int, time int64, cols string) string {
	return fmt.Sprintf(`{%s,"diff":%d,"time":%d}`, cols, diff, time)
}

// The fold of rows follows the SDK's Pathway bindings: one time's retraction
// and insertion are one update in place, a bare retraction deletes, and a
// point shows its most recent live row.
func TestRowsFoldLikeTheSDK(t *testing.T) {
	cases := []struct {
		name   string
		config string
		steps  []string
		events []string // data events after the config, in order ("config ..." for a config event)
		state  string
	}{
		{
			name:   "table: an update moves the row in place and a bare retraction deletes it",
			config: `{"type":"table","key":["region"]}`,
			steps: []string{
				row(1, 2, `"region":"eu","amount":10`), row(1, 2, `"region":"us","amount":20`),
				row(-1, 4, `"region":"eu","amount":10`), row(1, 4, `"region":"eu","amount":12`),
				row(-1, 6, `"region":"us","amount":20`), "end 6",
			},
			events: []string{
				`{"ops":[{"key":"eu","row":{"region":"eu","amount":10}},{"key":"us","row":{"region":"us","amount":20}}]}`,
				`{"ops":[{"key":"eu","row":{"region":"eu","amount":12}}]}`,
				`{"ops":[{"key":"us","delete":true}]}`,
			},
			state: `{"rows":{"eu":{"region":"eu","amount":12}}}`,
		},
		{
			name:   "table: the insertion of an update may come before its retraction",
			config: `{"type":"table","key":"region"}`,
			steps: []string{
				row(1, 2, `"region":"eu","amount":10`), "end 2",
				row(1, 4, `"region":"eu","amount":12`), row(-1, 4, `"region":"eu","amount":10`), "end 4",
			},
			events: []string{
				`{"ops":[{"key":"eu","row":{"region":"eu","amount":10}}]}`,
				`{"ops":[{"key":"eu","row":{"region":"eu","amount":12}}]}`,
			},
			state: `{"rows":{"eu":{"region":"eu","amount":12}}}`,
		},
		{
			name:   "table: several key columns key by their JSON array; columns picks and orders",
			config: `{"type":"table","key":["region","year"],"columns":["n","region"]}`,
			steps:  []string{row(1, 2, `"region":"eu","year":2026,"n":1`), "end 2"},
			events: []string{`{"ops":[{"key":"[\"eu\",2026]","row":{"n":1,"region":"eu"}}]}`},
			state:  `{"rows":{"[\"eu\",2026]":{"n":1,"region":"eu"}}}`,
		},
		{
			name:   "chart: one point per window; a late row moves it, a retraction removes it",
			config: `{"type":"chart","x":"start","y":"total"}`,
			steps: []string{
				row(1, 2, `"start":0,"total":3`), row(1, 4, `"start":20,"total":1`), row(1, 4, `"start":10,"total":5`),
				row(-1, 6, `"start":0,"total":3`), row(1, 6, `"start":0,"total":7`),
				row(-1, 8, `"start":20,"total":1`), "end 8",
			},
			events: []string{
				`{"series":"","points":[[0,3]],"mode":"upsert"}`,
				`{"series":"","points":[[10,5],[20,1]],"mode":"upsert"}`,
				`{"series":"","points":[[0,7]],"mode":"upsert"}`,
				`{"series":"","points":[],"mode":"upsert","remove":[20]}`,
			},
			state: `{"points":[[0,7],[10,5]]}`,
		},
		{
			name:   "chart: the most recent live row at an x wins, its retraction brings back the next",
			config: `{"type":"chart","x":"x","y":"y"}`,
			steps: []string{
				row(1, 2, `"x":1,"y":10`), row(1, 4, `"x":1,"y":20`), row(-1, 6, `"x":1,"y":20`),
				row(-1, 8, `"x":1,"y":10`), "end 8",
			},
			events: []string{
				`{"series":"","points":[[1,10]],"mode":"upsert"}`,
				`{"series":"","points":[[1,20]],"mode":"upsert"}`,
				`{"series":"","points":[[1,10]],"mode":"upsert"}`,
				`{"series":"","points":[],"mode":"upsert","remove":[1]}`,
			},
			state: `{"points":[]}`,
		},
		{
			name:   "chart: rows of one time at one x: the greater row wins whatever the order",
			config: `{"type":"chart","x":"x","y":"y"}`,
			steps:  []string{row(1, 2, `"x":1,"y":9`), row(1, 2, `"x":1,"y":10`), "end 2"},
			events: []string{`{"series":"","points":[[1,9]],"mode":"upsert"}`},
			state:  `{"points":[[1,9]]}`,
		},
		{
			name:   "chart: a series column makes one series per value, several series in one time is a config event",
			config: `{"type":"chart","x":"t","y":"v","series":"tier"}`,
			steps:  []string{row(1, 2, `"t":0,"v":1,"tier":"gold"`), row(1, 2, `"t":0,"v":2,"tier":"free"`), "end 2", row(1, 4, `"t":10,"v":3,"tier":"gold"`), "end 4"},
			events: []string{
				`config {"points":[],"series":{"free":[[0,2]],"gold":[[0,1]]}}`,
				`{"series":"gold","points":[[10,3]],"mode":"upsert"}`,
			},
			state: `{"points":[],"series":{"free":[[0,2]],"gold":[[0,1],[10,3]]}}`,
		},
		{
			name:   "chart: a list of y columns is one series per column",
			config: `{"type":"chart","x":"day","y":["revenue","cost"]}`,
			steps:  []string{row(1, 2, `"day":"2026-01-01T00:00:00.000000000+0000","revenue":5,"cost":3`), "end 2"},
			events: []string{`config {"points":[],"series":{"cost":[[1767225600000,3]],"revenue":[[1767225600000,5]]}}`},
			state:  `{"points":[],"series":{"cost":[[1767225600000,3]],"revenue":[[1767225600000,5]]}}`,
		},
		{
			name:   "chart: without x each inserted row is a point at its time",
			config: `{"type":"chart","y":"revenue"}`,
			steps:  []string{row(1, 2, `"revenue":35`), row(-1, 4, `"revenue":35`), row(1, 4, `"revenue":44`), "end 4"},
			events: []string{`{"series":"","points":[[2,35]],"mode":"append"}`, `{"series":"","points":[[4,44]],"mode":"append"}`},
			state:  `{"points":[[2,35],[4,44]]}`,
		},
		{
			name:   "category chart: a text x is one bar per category, updated in place",
			config: `{"type":"chart","x_type":"category","chart_type":"bar","x":"region","y":"revenue"}`,
			steps:  []string{row(1, 2, `"region":"eu","revenue":1`), row(-1, 4, `"region":"eu","revenue":1`), row(1, 4, `"region":"eu","revenue":4`), "end 4"},
			events: []string{`{"series":"","points":[["eu",1]],"mode":"upsert"}`, `{"series":"","points":[["eu",4]],"mode":"upsert"}`},
			state:  `{"points":[["eu",4]]}`,
		},
		{
			name:   "stat: the column of the live row, null once it is retracted",
			config: `{"type":"stat","column":"revenue"}`,
			steps:  []string{row(1, 2, `"revenue":35`), row(-1, 4, `"revenue":35`), row(1, 4, `"revenue":44`), row(-1, 6, `"revenue":44`), "end 6"},
			// ts: when the message that folded the time was stored (here its seq).
			events: []string{`{"value":35,"ts":3,"prev":null}`, `{"value":44,"ts":5,"prev":35}`, `{"value":null,"ts":6,"prev":44}`},
			state:  `{"value":null,"prev":44,"ts":6}`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRowsHub(t, 1000)
			if errs := r.feed("w", "cfg "+c.config); len(errs) > 0 {
				t.Fatal(errs)
			}
			r.events("w")
			if errs := r.feed("w", c.steps...); len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			got := r.events("w")
			if strings.Join(got, "\n") != strings.Join(c.events, "\n") {
				t.Errorf("events:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(c.events, "\n     "))
			}
			if s := r.state("w"); s != c.state {
				t.Errorf("state:\n got %s\nwant %s", s, c.state)
			}
		})
	}
}

// Two processes of one pipeline publish to one subject; whatever the
// interleaving (a retraction even before its insertion), the state is the same.
func TestRowsStateDoesNotDependOnArrivalOrder(t *testing.T) {
	p0 := []string{row(1, 2, `"k":"a","v":1`), row(-1, 4, `"k":"a","v":1`), row(1, 4, `"k":"a","v":2`), row(1, 6, `"k":"c","v":9`)}
	p1 := []string{row(1, 2, `"k":"b","v":1`), row(-1, 4, `"k":"b","v":1`), row(1, 6, `"k":"b","v":5`), row(-1, 6, `"k":"c","v":9`)}
	orders := map[string][]string{
		"p0 then p1":           append(append([]string{}, p0...), p1...),
		"p1 then p0":           append(append([]string{}, p1...), p0...),
		"interleaved":          {p0[0], p1[0], p0[1], p1[1], p0[2], p1[2], p0[3], p1[3]},
		"retraction first (c)": {p1[3], p1[0], p0[0], p0[1], p1[1], p0[2], p1[2], p0[3]},
	}
	want := `{"rows":{"a":{"k":"a","v":2},"b":{"k":"b","v":5}}}`
	for name, steps := range orders {
		t.Run(name, func(t *testing.T) {
			r := newRowsHub(t, 1000)
			r.feed("w", `cfg {"type":"table","key":["k"]}`)
			if errs := r.feed("w", append(steps, "end 6")...); len(errs) > 0 {
				t.Fatal(errs)
			}
			if s := r.state("w"); s != want {
				t.Errorf("got %s\nwant %s", s, want)
			}
		})
	}
}

// Rows before any config make a table keyed by each row's content; the
// config, when it comes, rebuilds the widget from the live rows it names.
func TestRowsBeforeTheConfigAreHeldAndShownOnceItComes(t *testing.T) {
	r := newRowsHub(t, 1000)
	if errs := r.feed("w", row(1, 2, `"x":1,"y":3`), row(1, 2, `"x":2,"y":4`), "end 2"); len(errs) > 0 {
		t.Fatal(errs)
	}
	if s := r.state("w"); s != `{"rows":{"{\"x\":1,\"y\":3}":{"x":1,"y":3},"{\"x\":2,\"y\":4}":{"x":2,"y":4}}}` {
		t.Errorf("before the config: %s", s)
	}
	r.feed("w", `cfg {"type":"chart","x":"x","y":"y"}`)
	if s := r.state("w"); s != `{"points":[[1,3],[2,4]]}` {
		t.Errorf("after the config: %s", s)
	}
	// A config that does not say how to read rows holds them, says why, and shows them once one does.
	r.feed("w", `cfg {"type":"stat"}`)
	errs := r.feed("w", row(1, 4, `"x":3,"y":5`), "end 4")
	if len(errs) != 1 || !errors.Is(errs[0], ErrBadShape) || !strings.Contains(errs[0].Error(), `no "column"`) {
		t.Errorf("a stat without column: %v", errs)
	}
	r.feed("w", `cfg {"type":"stat","column":"y"}`)
	if s := r.state("w"); !strings.HasPrefix(s, `{"value":5,`) {
		t.Errorf("the stat shows the most recent row: %s", s)
	}
}

// What cannot be read is refused with the reason, and the other rows still apply.
func TestRowsThatCannotBeReadAreRefusedNamingWhy(t *testing.T) {
	for _, c := range []struct{ name, config, row, want string }{
		{"missing key column", `{"type":"table","key":["region"]}`, row(1, 2, `"reg":"eu"`), `key column "region" is not in the row (its columns: reg)`},
		{"y not a number", `{"type":"chart","x":"x","y":"y"}`, row(1, 2, `"x":1,"y":"high"`), `column "y" holds "high", not a number`},
		{"x not a time", `{"type":"chart","x":"x","y":"y"}`, row(1, 2, `"x":"soon","y":1`), `x column "x": "soon" is not a time`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRowsHub(t, 1000)
			r.feed("w", "cfg "+c.config)
			errs := r.feed("w", c.row, "end 2")
			if len(errs) != 1 || !errors.Is(errs[0], ErrBadShape) || !strings.Contains(errs[0].Error(), c.want) {
				t.Errorf("got %v, want an error saying %s", errs, c.want)
			}
		})
	}
	for _, c := range []struct{ payload, want string }{
		{`{"region":"eu"}`, `a row needs "diff" (1 or -1) and "time"`},
		{`{"region":"eu","diff":0,"time":2}`, `diff 0: want 1 (insertion) or -1 (retraction)`},
		{`{"region":"eu","diff":1,"time":"x"}`, `time "x": want Pathway's time`},
		{`[1]`, `want a JSON object`},
	} {
		if _, err := decodeMessage("sv.w.rows", []byte(c.payload), 0, 10); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %s", c.payload, err, c.want)
		}
	}
}

func TestRowsConfigFieldsAreCheckedNamingTheField(t *testing.T) {
	for _, c := range []struct{ config, want string }{
		{`{"type":"chart","key":["a"]}`, `"key" is a table's key columns; a chart has no use for it`},
		{`{"type":"table","x":"a"}`, `"x" is a chart's x column; a table has no use for it`},
		{`{"type":"table","column":"a"}`, `"column" is a stat's or gauge's value column; a table`},
		{`{"type":"chart","x":"a"}`, `needs "y"`},
		{`{"type":"chart","y":["a","b"],"series":"s"}`, `series with a list of y columns`},
		{`{"type":"table","key":[]}`, `key: want 1 to 16 column names, got 0`},
		{`{"type":"table","key":[""]}`, `key: a column name is 1 to 200 bytes`},
		{`{"type":"chart","y":7}`, `want a column name or a list of them`},
	} {
		if _, err := DecodeConfig("w", []byte(c.config), 10); err == nil || !errors.Is(err, ErrBadShape) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %s", c.config, err, c.want)
		}
	}
	cfg, err := DecodeConfig("w", []byte(`{"type":"gauge","column":"load"}`), 10)
	if err != nil || cfg.RowsConfig == nil || cfg.Column != "load" {
		t.Fatalf("a gauge takes column: %v %+v", err, cfg)
	}
	b, _ := cfg.MarshalJSON()
	if !strings.Contains(string(b), `"column":"load"`) {
		t.Errorf("the normalized config keeps column: %s", b)
	}
	for _, in := range []string{`{"type":"chart","x":"t","y":"v","series":"s"}`, `{"type":"chart","y":["a","b"]}`, `{"type":"table","key":"k"}`} {
		c, err := DecodeConfig("w", []byte(in), 10)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := c.MarshalJSON()
		again, err := DecodeConfig("w", b, 10)
		if err != nil || !sameRowsView(c, again) {
			t.Errorf("%s does not survive its normalized form %s: %v", in, b, err)
		}
	}
}

// A snapshot keeps the live rows and the pending time, so a restart (or a
// compaction of the log) folds on exactly as if nothing had happened.
func TestRowsFoldSurvivesASnapshot(t *testing.T) {
	steps := []string{
		row(1, 2, `"x":1,"y":10`), row(1, 4, `"x":1,"y":20`), "end 4",
		row(-1, 6, `"x":1,"y":20`), // pending when the snapshot is taken
		row(1, 6, `"x":2,"y":5`),
	}
	rest := []string{"end 6", row(-1, 8, `"x":1,"y":10`), "end 8"}
	whole := newRowsHub(t, 1000)
	whole.feed("w", `cfg {"type":"chart","x":"x","y":"y"}`)
	whole.feed("w", append(append([]string{}, steps...), rest...)...)

	before := newRowsHub(t, 1000)
	before.feed("w", `cfg {"type":"chart","x":"x","y":"y"}`)
	before.feed("w", steps...)
	_, _, snaps := before.h.captureDirty()
	var body []byte
	for _, s := range snaps {
		if s.id == "w" {
			body = s.body
		}
	}
	if !strings.Contains(string(body), `"fold":{"live":[`) || !strings.Contains(string(body), `"pending":[[{"x":1,"y":20},-1,6]`) {
		t.Fatalf("the snapshot does not keep the fold: %s", body)
	}
	after := newRowsHub(t, 1000)
	after.seq = before.seq
	if err := after.h.restore("w", pos(before.seq, 0), body); err != nil {
		t.Fatal(err)
	}
	after.feed("w", rest...)
	if a, w := after.state("w"), whole.state("w"); a != w || a != `{"points":[[2,5]]}` {
		t.Errorf("after a snapshot: %s, without one: %s", a, w)
	}
}

// Distinct live rows are bounded by the table row limit; beyond it rows are
// left out and counted, never silently.
func TestRowsBeyondTheLimitAreLeftOutAndCounted(t *testing.T) {
	r := newRowsHub(t, 2)
	r.feed("w", `cfg {"type":"table","key":"k"}`)
	var steps []string
	for i := range 3 {
		steps = append(steps, row(1, 2, `"k":"`+strconv.Itoa(i)+`"`))
	}
	errs := r.feed("w", append(steps, "end 2")...)
	if len(errs) != 1 || !errors.Is(errs[0], ErrTableFull) || !strings.Contains(errs[0].Error(), "1 rows left out") {
		t.Fatalf("got %v", errs)
	}
	if s := r.state("w"); s != `{"rows":{"0":{"k":"0"},"1":{"k":"1"}}}` {
		t.Errorf("state %s", s)
	}
}

// Each folded time reaches the widget as its as_of (docs/protocol.md §1.3),
// also when it changed nothing shown: an empty update carries it.
func TestRowsCarryTheirTimeAsAsOf(t *testing.T) {
	r := newRowsHub(t, 1000)
	r.clock = 1700000000000
	r.feed("w", `cfg {"type":"table","key":"k"}`)
	r.events("w")
	r.feed("w", row(1, 1700000000000, `"k":"a","v":1`), "end 1700000000000",
		row(-1, 1700000001000, `"k":"a","v":1`), row(1, 1700000001000, `"k":"a","v":1`), "end 1700000001000")
	want := []string{`{"ops":[{"key":"a","row":{"k":"a","v":1}}],"as_of":1700000000000}`, `{"ops":[],"as_of":1700000001000}`}
	if got := r.eventsWithAsOf("w"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n got %s\nwant %s", got, want)
	}
	if s := r.stateWithAsOf("w"); s != `{"rows":{"a":{"k":"a","v":1}},"as_of":1700000001000}` {
		t.Errorf("state %s", s)
	}
}

// A commit time further ahead of the server's clock than an update's as_of
// may be (docs/protocol.md §1.3) would freeze the widget's as_of: its rows
// apply all the same, and the widget keeps the as_of it had, so a table's
// later commits of sane times still move it.
func TestARowsTimeFarAheadOfTheClockAppliesItsRowsWithoutMovingAsOf(t *testing.T) {
	const now = 1700000000000
	day := float64(maxAsOfAhead.Milliseconds())
	for _, tc := range []struct {
		name  string
		kind  string
		shown string // in the state once the far commit's row is applied
	}{
		{"table", `{"type":"table","key":"k"}`, `"b":{"k":"b","v":2}`},
		{"stat", `{"type":"stat","column":"v"}`, `"value":2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRowsHub(t, 1000)
			r.clock = now
			r.feed("w", "cfg "+tc.kind)
			far := strconv.FormatFloat(now+2*day, 'f', 0, 64)
			r.feed("w", row(1, now, `"k":"a","v":1`), fmt.Sprintf("end %d", now),
				row(1, int64(now+2*day), `"k":"b","v":2`), "end "+far)
			if s := r.stateWithAsOf("w"); !strings.Contains(s, `"as_of":1700000000000`) || !strings.Contains(s, tc.shown) {
				t.Fatalf("after the far time: state %s, want %s and as_of %d", s, tc.shown, int64(now))
			}
			if tc.name == "stat" {
				return // its most recent row by time stays b's: a later commit shows nothing new
			}
			later := int64(now + 60000)
			r.feed("w", row(1, later, `"k":"c","v":3`), fmt.Sprintf("end %d", later))
			if s := r.stateWithAsOf("w"); !strings.Contains(s, fmt.Sprintf(`"as_of":%d`, later)) {
				t.Fatalf("a later sane commit: state %s, want as_of %d", s, later)
			}
		})
	}
}

// The rows a widget holds count against the byte limits like its state:
// an insertion past them is left out and counted, retractions always apply,
// and the hub's total stays what the widgets measure through flushes,
// config changes and chart recounts.
func TestRowsCountAgainstTheByteLimitsAndTheTotalStaysExact(t *testing.T) {
	r := newRowsHub(t, 1000)
	r.h.limits.MaxWidgetBytes = 4000
	exact := func(when string) {
		t.Helper()
		sum := 0
		for _, w := range r.h.widgets {
			sum += w.measure()
		}
		if r.h.stateBytes != sum {
			t.Fatalf("%s: the hub counts %d state bytes, the widgets measure %d", when, r.h.stateBytes, sum)
		}
	}
	r.feed("w", `cfg {"type":"chart","x":"x","y":"y"}`)
	var refused []error
	for i := range 40 {
		refused = append(refused, r.feed("w", row(1, int64(2+i), fmt.Sprintf(`"x":%d,"y":%d,"pad":"%s"`, i, i, strings.Repeat("p", 40))))...)
	}
	r.feed("w", "end 100")
	exact("after the inserts")
	if len(refused) == 0 || !errors.Is(refused[0], ErrWidgetBytes) {
		t.Fatalf("rows past the widget byte limit: %v", refused)
	}
	if w := r.h.widgets["w"]; w.bytes > r.h.limits.MaxWidgetBytes {
		t.Errorf("the widget holds %d bytes, limit %d", w.bytes, r.h.limits.MaxWidgetBytes)
	}
	kept := len(r.h.widgets["w"].fold.live)
	r.feed("w", `cfg {"type":"table","key":"x"}`)
	exact("after a config change")
	for i := range kept {
		if errs := r.feed("w", row(-1, 200, fmt.Sprintf(`"x":%d,"y":%d,"pad":"%s"`, i, i, strings.Repeat("p", 40)))); len(errs) > 0 {
			t.Fatalf("a retraction was refused: %v", errs)
		}
	}
	r.feed("w", "end 200")
	exact("after retracting every row")
	if s := r.state("w"); s != `{"rows":{}}` || len(r.h.widgets["w"].fold.live) != 0 || r.h.widgets["w"].fold.bytes != 0 {
		t.Errorf("everything retracted: state %s, %d live rows, %d bytes", s, len(r.h.widgets["w"].fold.live), r.h.widgets["w"].fold.bytes)
	}
}

// The flusher ends a widget's pending time once RowsLinger has passed since
// that widget's last row, not before; every row restarts the wait, and the
// marker names the greatest pending time. Its clock is stepped by hand.
func TestRowsFlusherEndsATimeOnceTheLingerPassedSinceItsLastRow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	fl := newRowsFlusher(3*time.Second, func() time.Time { return now })
	fl.schedule("w", 2)
	now = t0.Add(2 * time.Second)
	fl.schedule("w", 2) // another row of time 2 restarts the wait
	for _, tt := range []struct {
		at       time.Duration
		want     map[string]int64
		wantNext time.Duration
	}{
		{4*time.Second + 999*time.Millisecond, nil, time.Millisecond},
		{5 * time.Second, map[string]int64{"w": 2}, -1},
		{time.Hour, nil, -1}, // taken once
	} {
		got, next := fl.take(t0.Add(tt.at))
		if !reflect.DeepEqual(got, tt.want) || next != tt.wantNext {
			t.Errorf("take at +%s = %v, next in %s; want %v, next in %s", tt.at, got, next, tt.want, tt.wantNext)
		}
	}
	now = t0
	fl.schedule("w", 6)
	fl.schedule("w", 4) // a row of an earlier time (another process) keeps the greatest
	if got, _ := fl.take(t0.Add(3 * time.Second)); !reflect.DeepEqual(got, map[string]int64{"w": 6}) {
		t.Errorf("marker %v, want time 6", got)
	}
}

// A key column's value whose text cannot be a key ("" or more than 256 bytes:
// free text) is keyed by its hash, as the SDK keys it, so its row is shown
// instead of refused.
func TestRowsWithAKeyValueEmptyOrLongerThanAKeyAreShownUnderItsHash(t *testing.T) {
	long := strings.Repeat("L", 300)
	r := newRowsHub(t, 1000)
	r.feed("w", `cfg {"type":"table","key":["name"]}`)
	errs := r.feed("w", row(1, 2, `"name":"","v":1`), row(1, 2, `"name":"`+long+`","v":2`), row(1, 2, `"name":"k","v":3`), "end 2")
	if len(errs) != 0 {
		t.Fatalf("rows refused: %v", errs)
	}
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "sha256:" + hex.EncodeToString(sum[:16])
	}
	want := fmt.Sprintf(`{"rows":{"%s":{"name":"","v":1},"%s":{"name":"%s","v":2},"k":{"name":"k","v":3}}}`, hash(""), hash(long), long)
	var got, exp any
	if err := json.Unmarshal([]byte(r.state("w")), &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(want), &exp)
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("state %s, want %s", r.state("w"), want)
	}
	r.feed("w", row(-1, 4, `"name":"","v":1`), "end 4")
	if strings.Contains(r.state("w"), hash("")) {
		t.Errorf("the retraction of the row with an empty key left it: %s", r.state("w"))
	}
}

// What Pathway holds until its input ends (exactly-once windows) comes at
// time 2^64 - 2, past int64: such rows were refused as no whole number, and
// those results lost. They fold last, as of the time before them.
func TestRowsOfPathwaysEndOfStreamAreShownAsOfTheTimeBefore(t *testing.T) {
	const end = "18446744073709551614"
	r := newRowsHub(t, 1000)
	r.feed("w", `cfg {"type":"chart","x":"start","y":"s"}`)
	r.feed("n", `cfg {"type":"chart","y":"s"}`)
	for _, id := range []string{"w", "n"} {
		errs := r.feed(id, row(1, 4, `"start":0,"s":1`), row(1, 6, `"start":10,"s":2`),
			`{"start":20,"s":3,"diff":1,"time":`+end+`}`, "end "+end)
		if len(errs) != 0 {
			t.Fatalf("%s: rows refused: %v", id, errs)
		}
	}
	if got, want := r.stateWithAsOf("w"), `{"points":[[0,1],[10,2],[20,3]],"as_of":6}`; got != want {
		t.Errorf("chart with x: state %s, want %s", got, want)
	}
	if got, want := r.stateWithAsOf("n"), `{"points":[[4,1],[6,2],[6,3]],"as_of":6}`; got != want {
		t.Errorf("chart of times: state %s, want %s", got, want)
	}
}
