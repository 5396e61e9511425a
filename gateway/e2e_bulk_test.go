package gateway

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/streamviz/streamviz/protocol"
)

// bulkPoint is a chart point as the tests compare them: y nil for a gap.
type bulkPoint struct {
	x float64
	y *float64
}

func (p bulkPoint) String() string {
	if p.y == nil {
		return fmt.Sprintf("[%v,null]", p.x)
	}
	return fmt.Sprintf("[%v,%v]", p.x, *p.y)
}

// bulkColumns makes n points from x0 on, every 7th y a gap (NaN, or an
// infinity: both are gaps), and the points they must become.
func bulkColumns(x0, n int) (xs, ys []float64, want []bulkPoint) {
	for i := range n {
		x := float64(x0 + i)
		y := float64(i)*0.25 - 3
		p := bulkPoint{x: x, y: &y}
		switch i % 7 {
		case 3:
			y, p.y = math.NaN(), nil
		case 5:
			y, p.y = math.Inf(1), nil
		}
		xs, ys, want = append(xs, x), append(ys, y), append(want, p)
	}
	return xs, ys, want
}

// statePoints reads the default series of a chart state.
func statePoints(t *testing.T, state []byte) []bulkPoint {
	t.Helper()
	var st struct {
		Points [][2]*float64 `json:"points"`
	}
	if err := json.Unmarshal(state, &st); err != nil {
		t.Fatalf("state %s: %v", truncate(string(state), 200), err)
	}
	out := make([]bulkPoint, len(st.Points))
	for i, p := range st.Points {
		out[i] = bulkPoint{x: *p[0], y: p[1]}
	}
	return out
}

// eventPoints reads the points of a chart's data events, columnar or not.
func eventPoints(t *testing.T, evs []wsEvent, id string) (pts []bulkPoint, columnar int) {
	t.Helper()
	for _, ev := range evs {
		if ev.Type != "data" || ev.ID != id {
			continue
		}
		var d struct {
			Cols *struct {
				N int    `json:"n"`
				X string `json:"x"`
				Y string `json:"y"`
			} `json:"cols"`
			Points [][2]*float64 `json:"points"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		for _, p := range d.Points {
			pts = append(pts, bulkPoint{x: *p[0], y: p[1]})
		}
		if d.Cols == nil {
			continue
		}
		columnar++
		xb, err1 := base64.StdEncoding.DecodeString(d.Cols.X)
		yb, err2 := base64.StdEncoding.DecodeString(d.Cols.Y)
		if err1 != nil || err2 != nil || len(xb) != 8*d.Cols.N || len(yb) != 8*d.Cols.N {
			t.Fatalf("cols of n=%d: %d and %d bytes (%v, %v)", d.Cols.N, len(xb), len(yb), err1, err2)
		}
		for i := range d.Cols.N {
			p := bulkPoint{x: math.Float64frombits(binary.LittleEndian.Uint64(xb[8*i:]))}
			if y := math.Float64frombits(binary.LittleEndian.Uint64(yb[8*i:])); !math.IsNaN(y) {
				p.y = &y
			}
			pts = append(pts, p)
		}
	}
	return pts, columnar
}

func samePoints(t *testing.T, what string, got, want []bulkPoint) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d points, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.x != w.x || (g.y == nil) != (w.y == nil) || g.y != nil && *g.y != *w.y {
			t.Fatalf("%s: point %d is %v, want %v", what, i, g, w)
		}
	}
}

// Columnar updates (docs/protocol.md §1.7) hold every rule a JSON update
// holds: acknowledged once applied, refused naming the problem, every point
// at a socket in order (as base64 columns), replayed exactly on resume, and
// rebuilt from the log after a crash and from snapshots after compaction.
func TestColumnarUpdatesReachSocketsResumeAndSurviveCrashAndCompaction(t *testing.T) {
	e := startEnv(t, noAutoCompaction)
	e.publishAndWait(t, "sv.bulk.config", `{"type": "chart", "max_points": 100000}`)
	live := e.dial(t)
	live.first(t, "snapshot")

	var want []bulkPoint
	var seqs []uint64
	for k := range 3 {
		xs, ys, pts := bulkColumns(1_767_225_600_000+k*20_000, 20_000)
		seqs = append(seqs, publishTo(t, e.js, "sv.bulk.data", EncodeColumns("", xs, ys, nil)))
		want = append(want, pts...)
	}
	// Refused before it is stored, saying why; nothing of it is applied.
	bad := EncodeColumns("", []float64{1, 2}, []float64{1, 2}, nil)
	if _, err := e.publishInput(t, "sv.bulk.data", string(bad[:len(bad)-8])); err == nil || !strings.Contains(err.Error(), "n=2 points need 32 bytes") {
		t.Fatalf("truncated columns: %v", err)
	}
	e.waitSeq(t, seqs[2])

	samePoints(t, "state", statePoints(t, e.widgetState(t, "bulk")), want)
	evs := live.waitSeq(t, seqs[2])
	checkChain(t, evs)
	got, columnar := eventPoints(t, evs, "bulk")
	samePoints(t, "live socket", got, want)
	if columnar != 3 {
		t.Errorf("%d columnar events, want 3", columnar)
	}

	// A socket resuming after the first update gets the other two, exactly.
	epoch := e.health(t).Epoch
	resumed := e.dialAt(t, epoch, seqs[0])
	if ev := resumed.first(t, "resumed"); ev.Seq != seqs[0] {
		t.Fatalf("resumed at %d, want %d", ev.Seq, seqs[0])
	}
	got, _ = eventPoints(t, resumed.waitSeq(t, seqs[2]), "bulk")
	samePoints(t, "resumed socket", got, want[20_000:])

	// A crash leaves the updates in the log only: the restart decodes them again.
	e.crash(t)
	e2 := startEnvAt(t, e.dir, e.cfg)
	samePoints(t, "state after a crash", statePoints(t, e2.widgetState(t, "bulk")), want)
	xs, ys, more := bulkColumns(1_767_225_700_000, 10)
	e2.publishAndWait(t, "sv.bulk.data", string(EncodeColumns("", xs, ys, nil)))
	want = append(want, more...)
	e2.compactNow(t)
	e3 := e2.restart(t)
	samePoints(t, "state after compaction and a restart", statePoints(t, e3.widgetState(t, "bulk")), want)
}

// A socket opened with ?binary=1 (docs/protocol.md §2.4) gets every frame
// that carries columnar events as a binary frame with the columns raw, and
// the same events a text socket gets (which never sees a binary frame),
// live, resumed and filtered to one widget.
func TestBinarySocketsGetColumnarEventsRawAndTheSameEventsAsTextSockets(t *testing.T) {
	e := startEnv(t, noAutoCompaction)
	e.publishAndWait(t, "sv.bulk.config", `{"type": "chart", "max_points": 100000}`)
	text := e.dial(t)
	text.first(t, "snapshot")
	bin := e.dial(t, protocol.BinaryParam, "1")
	bin.first(t, "snapshot")
	embed := e.dial(t, protocol.BinaryParam, "1", "widget", "bulk")
	embed.first(t, "snapshot")

	var want []bulkPoint
	var seqs []uint64
	for k := range 3 {
		xs, ys, pts := bulkColumns(1_767_225_600_000+k*1000, 1000)
		seqs = append(seqs, publishTo(t, e.js, "sv.bulk.data", EncodeColumns("", xs, ys, nil)))
		want = append(want, pts...)
		// Events without columns ride along in the same frames.
		seqs = append(seqs, publishTo(t, e.js, "sv.bulk.data", fmt.Appendf(nil, `{"x": %d, "y": 1}`, 1_767_225_700_000+k)))
		y := 1.0
		want = append(want, bulkPoint{x: float64(1_767_225_700_000 + k), y: &y})
		seqs = append(seqs, publishTo(t, e.js, "sv.other.data", []byte(`{"value": 1}`)))
	}
	last := seqs[len(seqs)-1]
	e.waitSeq(t, last)
	for name, c := range map[string]*wsClient{"text": text, "binary": bin} {
		evs := c.waitSeq(t, last)
		checkChain(t, evs)
		got, columnar := eventPoints(t, evs, "bulk")
		samePoints(t, name+" socket", got, want)
		if columnar != 3 {
			t.Errorf("%s socket: %d columnar events, want 3", name, columnar)
		}
	}
	got, _ := eventPoints(t, embed.waitUntil(t, "the bulk chart's last point", func(evs []wsEvent) bool {
		pts, _ := eventPoints(t, evs, "bulk")
		return len(pts) == len(want)
	}), "bulk")
	samePoints(t, "embed socket", got, want)
	text.mu.Lock()
	textBinary := text.binary
	text.mu.Unlock()
	if textBinary != 0 {
		t.Errorf("the text socket got %d binary frames", textBinary)
	}
	for name, c := range map[string]*wsClient{"binary": bin, "embed": embed} {
		c.mu.Lock()
		n := c.binary
		c.mu.Unlock()
		if n == 0 {
			t.Errorf("the %s socket got no binary frame", name)
		}
	}

	// Resuming with binary frames gets the rest exactly, columns raw.
	resumed := e.dialAt(t, e.health(t).Epoch, seqs[0], protocol.BinaryParam, "1")
	resumed.first(t, "resumed")
	got, columnar := eventPoints(t, resumed.waitSeq(t, last), "bulk")
	samePoints(t, "resumed binary socket", got, want[1000:])
	resumed.mu.Lock()
	n := resumed.binary
	resumed.mu.Unlock()
	if columnar != 2 || n == 0 {
		t.Errorf("resumed binary socket: %d columnar events in %d binary frames, want 2 in at least 1", columnar, n)
	}
}
