package gateway

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The widget keeps the greatest as_of it has seen (docs/protocol.md §1.3),
// so one as_of far in the future made every later update of the widget
// look old for ever. Such an as_of is refused naming it and the bound; one
// within the bound (a producer's clock somewhat ahead, a static run's
// logical times, any past time) is taken as before, and the widget goes on
// following newer times either way.
func TestAnAsOfFarAheadOfTheClockIsRefusedNamingIt(t *testing.T) {
	e := startEnv(t, Config{})
	now := time.Now()
	ms := func(d time.Duration) string { return fmt.Sprint(now.Add(d).UnixMilli()) }
	cases := []struct {
		name, asOf string
		refused    bool
	}{
		{"a huge number", "1e300", true},
		{"year 9999 in milliseconds", "253402300799000", true},
		{"year 9999 as ISO-8601", `"9999-12-31T23:59:59Z"`, true},
		{"a day and an hour ahead", ms(25 * time.Hour), true},
		{"an hour ahead: a clock somewhat fast", ms(time.Hour), false},
		{"now", ms(0), false},
		{"a static run's logical time", "6", false},
		{"a past time", "1700000000000", false},
		{"before the epoch", "-5", false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("w%d", i)
			e.publishAndWait(t, "sv."+id+".config", `{"type":"stat"}`)
			payload := `{"value":1,"as_of":` + c.asOf + `}`
			if c.refused {
				e.publishRefused(t, "sv."+id+".data", payload, "as_of")
				_, err := e.publishInput(t, "sv."+id+".data", payload)
				if msg := err.Error(); !strings.Contains(msg, "24 hours") || !strings.Contains(msg, "ahead of the server's clock") {
					t.Errorf("the refusal %q does not name the bound", msg)
				}
			} else {
				e.publishAndWait(t, "sv."+id+".data", payload)
			}
			// A later update of the current time moves the widget on, unless
			// an accepted as_of is later still.
			later := ms(time.Second)
			e.publishAndWait(t, "sv."+id+".data", `{"value":2,"as_of":`+later+`}`)
			want := later
			if a, err := strconv.ParseFloat(c.asOf, 64); !c.refused && err == nil && a > float64(now.Add(time.Second).UnixMilli()) {
				want = c.asOf
			}
			var st struct {
				AsOf json.Number `json:"as_of"`
			}
			if err := json.Unmarshal(e.widgetState(t, id), &st); err != nil {
				t.Fatal(err)
			}
			if st.AsOf.String() != want {
				t.Errorf("as_of in the state %s, want %s", st.AsOf, want)
			}
		})
	}
}

// An update stored before such an as_of was refused (an older server's
// log, applied again at start) keeps its data: only its as_of is left
// out, so the widget is not frozen by it and loses nothing it had.
func TestAnAsOfFarAheadAlreadyInTheLogAppliesItsDataWithoutIt(t *testing.T) {
	limits := Limits{}
	limits.setDefaults()
	events := newResumeLog(64 << 20)
	events.start("asof", 0)
	st := newState(10, 100, limits, events)
	const stored = 1_700_000_000_000.0 // the stream's timestamp of each message
	for i, m := range []struct{ subject, data string }{
		{"sv.w.config", `{"type":"stat"}`},
		{"sv.w.data", `{"value":1,"ts":1,"as_of":1e300}`},
		{"sv.w.data", `{"value":2,"ts":2,"as_of":1700000000001}`},
	} {
		if err := st.apply(message{seq: uint64(i + 1), subject: m.subject, data: []byte(m.data), ms: stored}); err != nil {
			t.Fatalf("%s %s: %v", m.subject, m.data, err)
		}
	}
	assertJSON(t, "the stat", st.widgets["w"].appendState(nil), `{"value": 2, "prev": 1, "ts": 2, "as_of": 1700000000001}`)
}
