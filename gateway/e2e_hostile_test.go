package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
)

// hostileSeed makes the generated corpus the same on every run, so a failure
// names a message that can be regenerated.
const hostileSeed = 20261127

// hostileMaxBytes is the gateway's message limit in the hostile corpus test;
// the log takes larger messages so oversize ones reach the gateway's check.
const hostileMaxBytes = 64 << 10

// corpusMsg is one generated message and whether the gateway must accept it.
type corpusMsg struct {
	class   string
	subject string
	payload []byte
	valid   bool
}

func (m corpusMsg) String() string {
	return fmt.Sprintf("%s: %s %q", m.class, m.subject, truncate(string(m.payload), 120))
}

// The widgets the valid updates feed; invalid messages aim at them and at
// ids nobody created.
var hostileSetup = []corpusMsg{
	{class: "setup", subject: "sv.$dashboard.config", payload: []byte(`{"title": "Hostile"}`), valid: true},
	{class: "setup", subject: "sv.s1.config", payload: []byte(`{"type": "stat", "title": "S1", "unit": "ms"}`), valid: true},
	{class: "setup", subject: "sv.g1.config", payload: []byte(`{"type": "gauge", "min": -10, "max": 10, "thresholds": [[0, "green"], [5, "red"]]}`), valid: true},
	{class: "setup", subject: "sv.c1.config", payload: []byte(`{"type": "chart", "max_points": 50}`), valid: true},
	{class: "setup", subject: "sv.t1.config", payload: []byte(`{"type": "table", "columns": ["name", "n"], "sort_by": "n"}`), valid: true},
}

// hostileCorpus generates n messages after the setup: valid updates of the
// setup widgets interleaved with every class of invalid message.
func hostileCorpus(seed uint64, n int) []corpusMsg {
	g := &corpusGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	classes := []struct {
		name string
		gen  func() (subject, payload string)
	}{
		{"malformed JSON", g.malformed},
		{"not an object", g.notObject},
		{"NaN and Infinity literals", g.nanInfinity},
		{"huge numbers", g.hugeNumber},
		{"deep nesting", g.deep},
		{"invalid UTF-8", g.badUTF8},
		{"wrong field type in data", g.wrongDataField},
		{"wrong field type in config", g.wrongConfigField},
		{"data for another widget type", g.wrongWidgetType},
		{"unknown or missing type", g.unknownType},
		{"no or several shapes", g.badShape},
		{"id violating the id rules", g.badID},
		{"subject of the wrong shape", g.badSubject},
		{"oversize", g.oversize},
		{"bad dashboard config", g.badDashboard},
	}
	out := append([]corpusMsg(nil), hostileSetup...)
	for i := range n {
		if g.r.IntN(5) < 2 {
			subject, payload := g.valid()
			out = append(out, corpusMsg{class: "valid", subject: subject, payload: []byte(payload), valid: true})
			continue
		}
		c := classes[i%len(classes)]
		subject, payload := c.gen()
		out = append(out, corpusMsg{class: c.name, subject: subject, payload: []byte(payload)})
	}
	return out
}

type corpusGen struct {
	r  *rand.Rand
	ts int   // strictly increasing times keep the valid updates' meaning obvious
	xs []int // the chart's recent x, for upserts and removes that hit
}

func (g *corpusGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g *corpusGen) next() int { g.ts += 1 + g.r.IntN(1000); return 1732713600000 + g.ts }

// x is a new chart x, or one already sent.
func (g *corpusGen) x() int {
	if len(g.xs) > 0 && g.r.IntN(3) == 0 {
		return g.xs[len(g.xs)-1-g.r.IntN(min(len(g.xs), 20))]
	}
	x := g.next()
	g.xs = append(g.xs, x)
	return x
}

// target is a data or config subject of a live widget or of a fresh id.
func (g *corpusGen) target(kind string) string {
	id := g.pick("s1", "g1", "c1", "t1", "ghost"+strconv.Itoa(g.r.IntN(50)))
	return "sv." + id + "." + kind
}

func (g *corpusGen) num() string {
	return g.pick(strconv.FormatFloat(g.r.NormFloat64()*100, 'g', -1, 64), strconv.Itoa(g.r.IntN(1000)-500),
		"null", "-0", "1e308", "-1.7976931348623157e308", "5e-324", "0.1")
}

// valid is an update every widget of the setup accepts, including the
// limits' edges: depth 32, 256-byte keys, 200-byte series, exactly the
// message limit.
func (g *corpusGen) valid() (string, string) {
	switch g.r.IntN(12) {
	case 0, 1:
		return "sv.s1.data", fmt.Sprintf(`{"value": %s, "ts": %d}`, g.num(), g.next())
	case 2:
		return "sv.g1.data", fmt.Sprintf(`{"value": %s, "ts": "%s"}`, g.num(),
			time.UnixMilli(int64(g.next())).UTC().Format(time.RFC3339Nano))
	case 3:
		return "sv.c1.data", fmt.Sprintf(`{"x": %d, "y": %s, "series": %q}`, g.x(), g.num(), g.pick("", "p50", "日本語 ✓", strings.Repeat("s", 200)))
	case 4:
		pts := make([]string, 1+g.r.IntN(20))
		for i := range pts {
			pts[i] = fmt.Sprintf("[%d, %s]", g.x(), g.num())
		}
		return "sv.c1.data", fmt.Sprintf(`{"points": [%s], "series": %q, "mode": %q}`, strings.Join(pts, ", "), g.pick("", "p50"), g.pick("append", "upsert"))
	case 5:
		return "sv.c1.data", fmt.Sprintf(`{"points": [[%d, %s]], "remove": [%d, %d]}`, g.x(), g.num(), g.x(), g.x())
	case 6, 7:
		return "sv.t1.data", fmt.Sprintf(`{"key": %q, "row": {"name": %q, "n": %s, "tags": ["a", {"b": null}]}}`,
			g.key(), g.pick("plain", "<b>x</b>", "ünïcödé", "emoji 🚀", `quote " backslash \`), g.num())
	case 8:
		return "sv.t1.data", fmt.Sprintf(`{"key": %q, "delete": true}`, g.key())
	case 9:
		// 30 nested arrays in a row object in the message: 32 levels, the limit.
		return "sv.t1.data", fmt.Sprintf(`{"key": %q, "row": {"deep": %s1%s}}`, g.key(), strings.Repeat("[", 30), strings.Repeat("]", 30))
	case 10:
		return "sv.t1.data", fmt.Sprintf(`{"ops": [{"key": %q, "row": {"n": 1}}, {"key": %d, "row": {"n": 2}}, {"key": %q, "delete": true}]}`,
			g.key(), g.r.IntN(20), g.key())
	default:
		head := fmt.Sprintf(`{"value": %s, "ts": %d, "pad": "`, g.num(), g.next())
		return "sv.s1.data", head + strings.Repeat("p", hostileMaxBytes-len(head)-2) + `"}`
	}
}

func (g *corpusGen) key() string {
	return g.pick("k"+strconv.Itoa(g.r.IntN(30)), "é"+strconv.Itoa(g.r.IntN(5)), strings.Repeat("k", 256))
}

func (g *corpusGen) malformed() (string, string) {
	valid := fmt.Sprintf(`{"value":%d,"ts":%d}`, g.r.IntN(100), g.r.IntN(100))
	return g.target(g.pick("data", "config")), g.pick(
		valid[:g.r.IntN(len(valid))], // every strict prefix of an object is incomplete
		`{"value": }`, `{value: 1}`, `{'value': 1}`, `{"value": 1,}`, `{"value": 1}}`, `{"value": 1} x`, `{"value": 1}{}`,
		`{"value": 1 /* c */}`, `{"value": 01}`, `{"value": .5}`, `{"value": +1}`, `{"value": 1.}`, `{"value": 0x10}`,
		`{"value": 1e}`, `{"key": "\x", "row": {}}`, `{"key": "unterminated, "row": {}}`, "{\"key\": \"a\tb\", \"row\": {}}",
		`{"key": "\ud8", "row": {}}`, `{"type": "stat"`, `{"type": stat}`, `{"type": "stat",, "title": "x"}`, "\x00", `{"value": 1}`+"\x00",
		`{"value": tru}`, `{"x": 1 "y": 2}`, `{"points": [[1, 2]}`, `{"ops": [{"key": "a", "row": {}]}`)
}

func (g *corpusGen) notObject() (string, string) {
	return g.target(g.pick("data", "config")), g.pick(``, ` `, "\n\t", `[]`, `[{"value": 1}]`, `"value"`, `1`, `-0`, `true`, `false`, `null`)
}

func (g *corpusGen) nanInfinity() (string, string) {
	lit := g.pick("NaN", "Infinity", "-Infinity", "+Infinity", "nan", "inf", "-inf", "Inf")
	return g.pick2(
		"sv.s1.data", `{"value": `+lit+`}`,
		"sv.g1.data", `{"value": 1, "ts": `+lit+`}`,
		"sv.c1.data", `{"x": `+lit+`, "y": 1}`,
		"sv.c1.data", `{"x": 1, "y": `+lit+`}`,
		"sv.c1.data", `{"points": [[1, 2], [3, `+lit+`]]}`,
		"sv.t1.data", `{"key": "a", "row": {"n": `+lit+`}}`,
		"sv.g1.config", `{"type": "gauge", "min": `+lit+`}`,
	)
}

// pick2 picks a (subject, payload) pair from a flat list of pairs.
func (g *corpusGen) pick2(pairs ...string) (string, string) {
	i := 2 * g.r.IntN(len(pairs)/2)
	return pairs[i], pairs[i+1]
}

func (g *corpusGen) hugeNumber() (string, string) {
	huge := g.pick("1e400", "-1e309", "1"+strings.Repeat("0", 400), "2e308", "1.8e308", "-"+strings.Repeat("9", 1000))
	return g.pick2(
		"sv.s1.data", `{"value": `+huge+`}`,
		"sv.g1.data", `{"value": 1, "ts": `+huge+`}`,
		"sv.c1.data", `{"x": `+huge+`, "y": 1}`,
		"sv.c1.data", `{"x": 1, "y": `+huge+`}`,
		"sv.c1.data", `{"points": [[1, 2], [`+huge+`, 1]]}`,
		"sv.c1.data", `{"points": [[1, 2]], "remove": [`+huge+`]}`,
		"sv.t1.data", `{"key": `+huge+`, "row": {}}`,
		"sv.s1.config", `{"type": "stat", "order": `+huge+`}`,
		"sv.g1.config", `{"type": "gauge", "min": 0, "max": `+huge+`}`,
		"sv.g1.config", `{"type": "gauge", "thresholds": [[`+huge+`, "red"]]}`,
		"sv.c1.config", `{"type": "chart", "max_points": `+huge+`}`,
		"sv.c1.config", `{"type": "chart", "max_points": 100001}`,
		"sv.t1.config", `{"type": "table", "max_rows": 99999999999999999999}`,
	)
}

func (g *corpusGen) deep() (string, string) {
	levels := g.pick("33", "10000")
	n, _ := strconv.Atoi(levels)
	arrays := strings.Repeat("[", n-1) + strings.Repeat("]", n-1)
	objects := strings.Repeat(`{"a":`, n-1) + "1" + strings.Repeat("}", n-1)
	return g.pick2(
		g.target("data"), `{"value": 1, "d": `+arrays+`}`,
		"sv.t1.data", `{"key": "deep", "row": `+objects+`}`,
		"sv.c1.data", `{"points": `+arrays+`}`,
		g.target("config"), `{"type": "stat", "title": "x", "d": `+objects+`}`,
		g.target("data"), `{"value": 1, "d": `+strings.Repeat("[", n)+`}`, // never closed
		"sv.$dashboard.config", `{"title": "x", "d": `+arrays+`}`,
	)
}

func (g *corpusGen) badUTF8() (string, string) {
	bad := g.pick("\xff", "\xc0\x80", "\x80", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ok\xfe")
	return g.pick2(
		"sv.s1.config", `{"type": "stat", "title": "`+bad+`"}`,
		"sv.t1.data", `{"key": "a", "row": {"name": "`+bad+`"}}`,
		"sv.t1.data", `{"key": "`+bad+`", "row": {"n": 1}}`,
		"sv.t1.data", `{"key": "a", "row": {"`+bad+`": 1}}`,
		"sv.c1.data", `{"x": 1, "y": 1, "series": "`+bad+`"}`,
		"sv.$dashboard.config", `{"title": "`+bad+`"}`,
		"sv.t1.config", `{"type": "table", "columns": ["`+bad+`"]}`,
		"sv.s1.data", `{"value": 1, "note": "`+bad+`"}`,
	)
}

// Every data field with a value of a JSON type it does not take, on the
// live widgets and on fresh ids. null is absent, so it is not among them.
func (g *corpusGen) wrongDataField() (string, string) {
	notNum := g.pick(`"1"`, `true`, `[]`, `[1]`, `{}`)
	notTime := g.pick(`true`, `[]`, `{}`, `"yesterday"`, `"2024-13-01T00:00:00Z"`, `"1732713600000"`)
	notStr := g.pick(`5`, `true`, `[]`, `{}`)
	stat, chart, table := "sv."+g.pick("s1", "g1", "ghost1")+".data", "sv."+g.pick("c1", "ghost2")+".data", "sv."+g.pick("t1", "ghost3")+".data"
	return g.pick2(
		stat, `{"value": `+notNum+`}`,
		stat, `{"value": 1, "ts": `+notTime+`}`,
		chart, `{"x": `+notTime+`, "y": 1}`,
		chart, `{"x": 1, "y": `+notNum+`}`,
		chart, `{"points": `+g.pick(`5`, `"[[1,2]]"`, `{}`, `true`, `[1]`, `[[1]]`, `[[1, 2, 3]]`, `[[]]`, `[null]`, `[[true, 1]]`, `[[1, "2"]]`, `[{"x": 1, "y": 2}]`)+`}`,
		chart, `{"points": [[1, 2]], "series": `+notStr+`}`,
		chart, `{"points": [[1, 2]], "mode": `+g.pick(`5`, `true`, `[]`, `"replace"`, `""`, `"UPSERT"`)+`}`,
		chart, `{"points": [[1, 2]], "remove": `+g.pick(`5`, `"1"`, `{}`, `[true]`, `[[1]]`, `[{}]`, `["noon"]`)+`}`,
		table, `{"key": `+g.pick(`true`, `[]`, `{}`, `""`, `"`+strings.Repeat("k", 257)+`"`)+`, "row": {}}`,
		table, `{"key": "a", "row": `+g.pick(`[]`, `"row"`, `1`, `true`)+`}`,
		table, `{"key": "a", "delete": `+g.pick(`"yes"`, `1`, `[]`, `{}`)+`}`,
		table, `{"key": "a", "row": {}, "delete": true}`,
		table, `{"ops": `+g.pick(`{}`, `"ops"`, `1`, `[1]`, `[{"row": {}}]`, `[{"key": "a", "row": []}]`, `[{"key": "a", "row": {}, "delete": true}]`, `[{"key": "a"}]`)+`}`,
	)
}

// Every config field of every type with a value of the wrong JSON type (or
// outside its range).
func (g *corpusGen) wrongConfigField() (string, string) {
	typ := g.pick("stat", "gauge", "chart", "table")
	fields := map[string][]string{
		"title": {`5`, `true`, `[]`, `{}`, `"` + strings.Repeat("t", 201) + `"`}, "dashboard": {`5`, `[]`}, "order": {`"1"`, `true`, `[]`, `{}`},
	}
	switch typ {
	case "stat", "gauge":
		fields["unit"] = []string{`5`, `true`, `[]`}
		fields["format"] = []string{`5`, `{}`}
		fields["color"] = []string{`5`, `[]`}
		fields["delta"] = []string{`"yes"`, `1`, `[]`}
		if typ == "gauge" {
			fields["min"] = []string{`"0"`, `true`, `[]`, `100`}
			fields["max"] = []string{`"100"`, `false`, `{}`, `0`, `-20`}
			fields["thresholds"] = []string{`5`, `"x"`, `{}`, `[5]`, `[["a", "b"]]`, `[[1]]`, `[[1, 2]]`, `[[1, "red", 3]]`}
		}
	case "chart":
		fields["unit"] = []string{`5`, `[]`}
		fields["chart_type"] = []string{`5`, `"pie"`, `"Line"`, `""`}
		fields["max_points"] = []string{`"10"`, `1.5`, `true`, `0`, `-1`, `[]`}
	case "table":
		fields["columns"] = []string{`"a"`, `5`, `[1]`, `{}`, `[["a"]]`}
		fields["column_labels"] = []string{`[]`, `"x"`, `{"a": 1}`}
		fields["column_format"] = []string{`[]`, `{"a": true}`}
		fields["max_rows"] = []string{`"5"`, `0`, `1.5`, `100001`}
		fields["sort_by"] = []string{`5`, `[]`, `{}`}
		fields["sort_desc"] = []string{`"no"`, `1`}
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names) // map order is random; the corpus must not be
	name := names[g.r.IntN(len(names))]
	live := map[string]string{"stat": "s1", "gauge": "g1", "chart": "c1", "table": "t1"}[typ]
	return "sv." + g.pick(live, "ghost4") + ".config", fmt.Sprintf(`{"type": %q, %q: %s}`, typ, name, g.pick(fields[name]...))
}

func (g *corpusGen) wrongWidgetType() (string, string) {
	value := fmt.Sprintf(`{"value": %d, "ts": 1}`, g.r.IntN(9))
	point := fmt.Sprintf(`{"x": %d, "y": 1}`, g.r.IntN(9))
	row := `{"key": "a", "row": {"n": 1}}`
	return g.pick2(
		"sv.s1.data", point, "sv.s1.data", row, "sv.g1.data", `{"points": [[1, 2]]}`, "sv.g1.data", `{"ops": []}`,
		"sv.c1.data", value, "sv.c1.data", row, "sv.t1.data", value, "sv.t1.data", `{"remove": [1]}`,
	)
}

func (g *corpusGen) unknownType() (string, string) {
	return g.target("config"), `{"type": ` + g.pick(`"pie"`, `""`, `"Stat"`, `"STAT"`, `" stat"`, `"stat "`, `"tables"`, `"chart\u0000"`,
		`"gauge2"`, `5`, `true`, `[]`, `{}`, `null`, `["stat"]`) + `, "title": "x"}`
}

func (g *corpusGen) badShape() (string, string) {
	return g.target("data"), g.pick(`{}`, `{"hello": 1}`, `{"val": 1}`, `{"value": 1, "x": 1, "y": 2}`, `{"value": 1, "key": "a"}`,
		`{"points": [[1, 2]], "ops": []}`, `{"x": 1}`, `{"y": 1}`, `{"x": 1, "y": 2, "points": [[1, 2]]}`, `{"ts": 1}`, `{"series": "a"}`,
		`{"mode": "upsert"}`, `{"key": "a"}`, `{"row": {}}`, `{"key": "a", "ops": []}`, `{"value": null, "points": null, "key": "a"}`)
}

func (g *corpusGen) badID() (string, string) {
	id := g.pick(strings.Repeat("x", 65), strings.Repeat("y", 200), "a@b", "a!b", "bad$id", "$dash", "$Dashboard", "$DASHBOARD", "é", "日本",
		"a%20b", "a+b", "a~b", "a:b", "a#b", "a/b", `a\b`, "a'b", `a"b`, "<script>", "a,b", "a=b", "a;b", "a&b", "a|b", "a^b", "(a)", "a{}", "a?b")
	return "sv." + id + "." + g.pick("data", "config"), g.pick(`{"value": 1}`, `{"type": "stat"}`)
}

func (g *corpusGen) badSubject() (string, string) {
	return g.pick("sv.w", "sv.s1", "sv.s1.data.extra", "sv.s1.config.x", "sv.s1.Data", "sv.s1.CONFIG", "sv.s1.datas", "sv.s1.conf",
			"sv.s1.state", "sv.$dashboard.data", "sv.$dashboard", "sv.$dashboard.config.x", "sv.s1.data.data", "sv.data", "sv.config"),
		g.pick(`{"value": 1, "ts": 1}`, `{"type": "stat"}`, `{"title": "x"}`)
}

func (g *corpusGen) oversize() (string, string) {
	head := fmt.Sprintf(`{"value": %d, "ts": 1, "pad": "`, g.r.IntN(9))
	return g.target(g.pick("data", "config")), head + strings.Repeat("p", hostileMaxBytes-len(head)-1+g.r.IntN(3*hostileMaxBytes)) + `"}`
}

func (g *corpusGen) badDashboard() (string, string) {
	return "sv.$dashboard.config", g.pick(`{"name": "x"}`, `{"title": 5}`, `{"title": null}`, `{"title": ["x"]}`, `{"title": {}}`,
		`{"title": "`+strings.Repeat("t", 201)+`"}`, `{}`)
}

// publishAll publishes msgs in order with acknowledged JetStream publishes,
// a bounded window of them in flight, and returns the stream sequence of each.
func publishAll(t *testing.T, js jetstream.JetStream, msgs []corpusMsg) []uint64 {
	t.Helper()
	const window = 256
	futures := make([]jetstream.PubAckFuture, len(msgs))
	seqs := make([]uint64, len(msgs))
	wait := func(i int) {
		select {
		case ack := <-futures[i].Ok():
			seqs[i] = ack.Sequence
		case err := <-futures[i].Err():
			// The gateway refuses what it can tell is invalid without state.
			if !errors.As(err, new(*jetstream.APIError)) {
				t.Fatalf("publish #%d %v: %v", i, msgs[i], err)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("publish #%d %v: no acknowledgement in %v", i, msgs[i], waitTimeout)
		}
	}
	for i, m := range msgs {
		if i >= window {
			wait(i - window)
		}
		f, err := js.PublishAsync(m.subject, m.payload)
		if err != nil {
			t.Fatalf("publish #%d %v: %v", i, m, err)
		}
		futures[i] = f
	}
	for i := max(0, len(msgs)-window); i < len(msgs); i++ {
		wait(i)
	}
	return seqs
}

// hostileRun is what one run of a corpus leaves behind.
type hostileRun struct {
	health  health
	widgets map[string]apiWidget
	title   string
	events  []wsEvent // a client's, connected before the corpus
	seqs    []uint64  // each message's stream sequence
}

// runCorpus publishes msgs to a fresh gateway with a WebSocket client
// watching, waits until every message is handled, and stops everything.
func runCorpus(t *testing.T, msgs []corpusMsg) hostileRun {
	t.Helper()
	e := startEnv(t, Config{MaxMessageBytes: hostileMaxBytes, Streams: broker.StreamsConfig{MaxMsgSize: 1 << 20}})
	defer e.stop()
	watcher := e.dial(t)
	defer watcher.close()
	watcher.first(t, "snapshot")

	seqs := publishAll(t, e.js, msgs)
	eventually(t, 120*time.Second, func() bool {
		h := e.health(t)
		return h.Accepted+h.Rejected >= uint64(len(msgs))
	}, func() string {
		return fmt.Sprintf("the gateway handled fewer than the %d messages: %+v", len(msgs), e.health(t))
	})

	run := hostileRun{health: e.health(t), widgets: e.allWidgets(t), seqs: seqs}
	last := e.health(t).Seq
	run.events = watcher.waitSeq(t, last)

	// A client connecting now gets a snapshot that matches the API.
	late := e.dial(t)
	defer late.close()
	snap := late.first(t, "snapshot")
	run.title = snap.Title
	if snap.Seq != last || len(snap.Widgets) != len(run.widgets) {
		t.Errorf("late snapshot at seq %d with %d widgets; the gateway is at %d with %d", snap.Seq, len(snap.Widgets), last, len(run.widgets))
	}
	for _, w := range snap.Widgets {
		if !jsonEqual(t, w.State, run.widgets[w.ID].State) {
			t.Errorf("late snapshot of %s: %s; /api/widgets: %s", w.ID, w.State, run.widgets[w.ID].State)
		}
	}
	// So does an embed client, and the gateway takes new updates.
	embed := e.dial(t, "widget", "s1")
	defer embed.close()
	embed.first(t, "snapshot")
	seq := e.publishAndWait(t, "sv.s1.data", `{"value": 7, "ts": 7}`)
	embed.waitSeq(t, seq)
	watcher.waitSeq(t, seq)
	return run
}

// A generated corpus of malformed, oversize, wrong-type, deeply nested,
// unknown-type and wrong-id messages interleaved with valid updates: every
// invalid message is rejected and counted exactly once, clients see exactly
// the valid ones, the widgets end exactly as the valid updates alone leave
// them, and the gateway still serves new clients and leaks no goroutine.
func TestHostileCorpusIsRejectedExactlyAndLeavesValidWidgetsAsValidUpdatesAlone(t *testing.T) {
	base := runtime.NumGoroutine()
	corpus := hostileCorpus(hostileSeed, 10000)
	var valid []corpusMsg
	perClass := map[string]int{}
	for _, m := range corpus {
		perClass[m.class]++
		if m.valid {
			valid = append(valid, m)
		}
	}
	invalid := len(corpus) - len(valid)
	t.Logf("seed %d: %d messages, %d invalid, by class %v", hostileSeed, len(corpus), invalid, perClass)
	if len(corpus) < 10000 || len(perClass) != 17 {
		t.Fatalf("the corpus has %d messages in %d classes, want at least 10000 in all 17", len(corpus), len(perClass))
	}

	mixed := runCorpus(t, corpus)
	if mixed.health.Rejected != uint64(invalid) || mixed.health.Accepted != uint64(len(valid)) {
		t.Errorf("/healthz counts %d rejected, %d accepted; the corpus has %d invalid, %d valid messages",
			mixed.health.Rejected, mixed.health.Accepted, invalid, len(valid))
	}
	// The watching client saw only valid messages, in one unbroken chain, and
	// every one of them but stat and gauge values superseded within a frame.
	checkChain(t, mixed.events)
	seen := map[uint64]bool{}
	for _, ev := range mixed.events[1:] {
		seen[ev.Seq] = true
	}
	latest := map[string]bool{}
	for id, w := range mixed.widgets {
		var c struct{ Type string }
		if err := json.Unmarshal(w.Config, &c); err != nil {
			t.Fatal(err)
		}
		latest[id] = c.Type == "stat" || c.Type == "gauge"
	}
	var validSeqs []uint64
	widgetOf := map[uint64]string{}
	for i, m := range corpus {
		if !m.valid {
			if seen[mixed.seqs[i]] {
				t.Errorf("message #%d (seq %d) is invalid but the client saw it: %v", i, mixed.seqs[i], m)
			}
			continue
		}
		if id, kind, err := parseSubject(m.subject); err == nil && kind == "data" {
			validSeqs = append(validSeqs, mixed.seqs[i])
			widgetOf[mixed.seqs[i]] = id
		} else if !seen[mixed.seqs[i]] {
			t.Errorf("message #%d (seq %d) is valid but the client never saw it: %v", i, mixed.seqs[i], m)
		}
	}
	var seenData []uint64
	for _, ev := range mixed.events[1:] {
		if ev.Type == "data" || widgetOf[ev.Seq] != "" {
			seenData = append(seenData, ev.Seq)
		}
	}
	checkLiveUpdates(t, seenData, validSeqs, widgetOf, latest)

	alone := runCorpus(t, valid)
	if alone.health.Rejected != 0 {
		t.Errorf("the valid messages alone: %d rejected", alone.health.Rejected)
	}
	if mixed.title != alone.title {
		t.Errorf("dashboard title %q; the valid messages alone give %q", mixed.title, alone.title)
	}
	if len(mixed.widgets) != len(alone.widgets) {
		t.Errorf("%d widgets; the valid messages alone create %d", len(mixed.widgets), len(alone.widgets))
	}
	for id, want := range alone.widgets {
		got, ok := mixed.widgets[id]
		if !ok || !jsonEqual(t, got.Config, want.Config) || !jsonEqual(t, got.State, want.State) {
			t.Errorf("widget %s:\n got %s %s\nwant %s %s", id, got.Config, truncate(string(got.State), 300), want.Config, truncate(string(want.State), 300))
		}
	}

	// Both gateways, brokers and clients are stopped: nothing they started remains.
	http.DefaultClient.CloseIdleConnections()
	eventually(t, 10*time.Second, func() bool { return runtime.NumGoroutine() <= base }, func() string {
		buf := make([]byte, 1<<20)
		return fmt.Sprintf("%d goroutines, %d before the test:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
	})
}

// The corpus generator is deterministic: the same seed, the same messages.
func TestHostileCorpusIsTheSameForTheSameSeed(t *testing.T) {
	a, b := hostileCorpus(hostileSeed, 500), hostileCorpus(hostileSeed, 500)
	for i := range a {
		if a[i].subject != b[i].subject || string(a[i].payload) != string(b[i].payload) {
			t.Fatalf("message #%d differs: %v / %v", i, a[i], b[i])
		}
	}
}
