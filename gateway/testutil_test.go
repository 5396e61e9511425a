package gateway

// Shared harness for the end-to-end tests (e2e_*_test.go): a real embedded
// NATS server with JetStream on a temporary data dir and a real gateway
// behind its HTTP server, composed by StartServer as `streamviz serve` does
// (connection limits and timeouts included), a separate nats.go publisher
// using acknowledged JetStream publishes, and real gorilla/websocket clients.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
)

const (
	// waitTimeout bounds every wait for an asynchronous condition. It is
	// only ever reached by a test that fails: generous, so that a starved
	// 2-core CI machine under -race cannot fail a test on timing alone.
	waitTimeout = 60 * time.Second
	// startTimeout bounds starting the broker and the gateway (which
	// replays the log); with the tests' small logs it takes well under a second.
	startTimeout = 15 * time.Second
	// stopTimeout bounds the gateway's graceful Close (and its final
	// snapshot), generous for the same reason.
	stopTimeout = 60 * time.Second
	// floodTimeout bounds waits that sit behind tens of thousands of
	// updates (a flood, a burst and its flush): under -race on a loaded
	// 2-core machine those take tens of seconds.
	floodTimeout = 2 * time.Minute
)

// eventually polls cond until it holds or timeout passes, then fails the
// test. The optional message is a format and its arguments, or a
// func() string to describe the state the last poll saw.
func eventually(t testing.TB, timeout time.Duration, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			msg := "condition not met"
			if len(msgAndArgs) > 0 {
				switch m := msgAndArgs[0].(type) {
				case func() string: // evaluated now, after the last poll
					msg = m()
				case string:
					msg = fmt.Sprintf(m, msgAndArgs[1:]...)
				}
			}
			t.Fatalf("after %v: %s", timeout, msg)
		}
		time.Sleep(5 * time.Millisecond) // poll interval, not synchronization
	}
}

// testEnv is one running broker + gateway + HTTP server + publisher.
type testEnv struct {
	dir string
	cfg Config

	b   *broker.Broker // srv.Broker
	g   *Gateway       // srv.Gateway
	srv *envServer
	nc  *nats.Conn // the publisher's own connection, like a pipeline process
	js  jetstream.JetStream

	stopOnce sync.Once
	stopErr  error
}

// envServer is the composition StartServer returns, and its root URL
// (http://127.0.0.1:port, no trailing slash) to append paths to.
type envServer struct {
	*Server
	URL string
}

// startEnv starts everything on a fresh data dir.
func startEnv(t testing.TB, cfg Config) *testEnv {
	t.Helper()
	return startEnvAt(t, t.TempDir(), cfg)
}

// startEnvAt starts everything on dir, which may hold a previous run's store.
func startEnvAt(t testing.TB, dir string, cfg Config) *testEnv {
	t.Helper()
	return startEnvBus(t, dir, cfg, broker.Config{})
}

// startEnvBus is startEnvAt with bus options beyond the embedded server's
// defaults (its address and data dir are the test's own).
func startEnvBus(t testing.TB, dir string, cfg Config, bus broker.Config) *testEnv {
	t.Helper()
	return startEnvWrapped(t, dir, cfg, bus, nil)
}

// startEnvWrapped is startEnvBus with the HTTP listener wrapped by wrap
// (when not nil), to watch what the server does with its connections.
func startEnvWrapped(t testing.TB, dir string, cfg Config, bus broker.Config, wrap func(net.Listener) net.Listener) *testEnv {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	e := &testEnv{dir: dir, cfg: cfg}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	if bus.URL == "" {
		bus.Addr, bus.DataDir = "127.0.0.1:0", dir
	}
	s, err := StartServer(ctx, ServerConfig{Listener: ln, Broker: bus, Gateway: cfg, StartTimeout: startTimeout})
	if err != nil {
		ln.Close()
		t.Fatalf("StartServer on data dir %s: %v", dir, err)
	}
	e.srv, e.b, e.g = &envServer{Server: s, URL: "http://" + ln.Addr().String()}, s.Broker, s.Gateway
	t.Cleanup(func() { e.stop() })
	e.nc, e.js = connectPublisher(t, e.b.ClientURL(), "pipeline-1")
	return e
}

// connectPublisher opens an independent NATS connection, as a pipeline would.
func connectPublisher(t testing.TB, natsURL, name string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(natsURL, nats.Name(name))
	if err != nil {
		t.Fatalf("nats.Connect(%s): %v", natsURL, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream.New: %v", err)
	}
	return nc, js
}

// stop shuts everything down gracefully, once: the publisher, then the
// server as `streamviz serve` does (Server.Close: the gateway, which writes
// its final snapshot, the HTTP server and the bus).
func (e *testEnv) stop() error {
	e.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if e.nc != nil {
			e.nc.Close()
		}
		e.stopErr = e.srv.Close(ctx)
	})
	return e.stopErr
}

// crash stops this environment the way a killed process would leave its
// store: the bus goes away under the gateway, so no final snapshot is
// written and the log keeps every update since the last compaction.
func (e *testEnv) crash(t testing.TB) {
	t.Helper()
	e.stopOnce.Do(func() {
		e.nc.Close()
		if err := e.b.Close(); err != nil {
			t.Logf("broker close during crash: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := e.g.Close(ctx); err == nil {
			t.Logf("gateway.Close after its bus went away reported no error")
		}
		e.srv.http.Close()
	})
}

// restart stops this environment gracefully and starts a new one on the same
// data dir with the same config.
func (e *testEnv) restart(t testing.TB) *testEnv {
	t.Helper()
	if err := e.stop(); err != nil {
		t.Fatalf("graceful stop before restart: %v", err)
	}
	return startEnvAt(t, e.dir, e.cfg)
}

// publish sends payload to subject with an acknowledged JetStream publish and
// returns the stream sequence it was stored at.
func (e *testEnv) publish(t testing.TB, subject, payload string) uint64 {
	t.Helper()
	return publishTo(t, e.js, subject, []byte(payload))
}

// publishInput publishes input that may be invalid: it returns the
// update's position when it was stored, or the error the gateway refused it
// with (a JetStream API error naming the problem).
func (e *testEnv) publishInput(t testing.TB, subject, payload string) (uint64, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	ack, err := e.js.Publish(ctx, subject, []byte(payload))
	var apiErr *jetstream.APIError
	switch {
	case err == nil:
		return ack.Sequence, nil
	case errors.As(err, &apiErr):
		return 0, err
	default:
		t.Fatalf("publish %s %s: %v", subject, truncate(payload, 80), err)
		return 0, err
	}
}

func publishTo(t testing.TB, js jetstream.JetStream, subject string, payload []byte) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	ack, err := js.Publish(ctx, subject, payload)
	if err != nil {
		t.Fatalf("publish %s %s: %v", subject, truncate(string(payload), 80), err)
	}
	return ack.Sequence
}

// publishAndWait publishes and waits until the gateway has applied it.
func (e *testEnv) publishAndWait(t testing.TB, subject, payload string) uint64 {
	t.Helper()
	seq := e.publish(t, subject, payload)
	e.waitSeq(t, seq)
	return seq
}

// url returns the HTTP URL of path on the gateway.
func (e *testEnv) url(path string) string { return e.srv.URL + path }

// health is the /healthz body.
type health struct {
	Status   string             `json:"status"`
	Error    string             `json:"error"`
	Epoch    string             `json:"epoch"`
	Seq      uint64             `json:"seq"`
	Widgets  int                `json:"widgets"`
	Clients  int                `json:"clients"`
	Accepted uint64             `json:"accepted"`
	Rejected uint64             `json:"rejected"`
	Slow     uint64             `json:"slow_disconnects"`
	Ingest   IngestStatus       `json:"ingest"`
	Limit    *WidgetLimitStatus `json:"widget_limit"`
}

func (e *testEnv) health(t testing.TB) health {
	t.Helper()
	var h health
	if code := getJSON(t, e.url("/healthz"), &h); code != http.StatusOK {
		t.Fatalf("GET /healthz: status %d, body %+v", code, h)
	}
	return h
}

// counters is the /healthz body whatever its status: the counters are in it
// even when a check makes it 503, as a JetStream API request taking longer
// than the check's 2 s does on a loaded machine. Tests that poll counters
// use it; a test about the status checks the status itself.
func (e *testEnv) counters(t testing.TB) health {
	t.Helper()
	var h health
	getJSON(t, e.url("/healthz"), &h)
	return h
}

// waitSeq waits until the gateway's position (the last event applied) is at least seq.
func (e *testEnv) waitSeq(t testing.TB, seq uint64) {
	t.Helper()
	// Whatever /healthz's status: a full log or disk makes it 503 while
	// what was stored is still applied.
	eventually(t, waitTimeout, func() bool { _, h := e.healthz(t); return h.Seq >= seq },
		"gateway position stays below %d", seq)
}

// waitHandled waits until the stored message holding position seq is
// wholly handled. /healthz's position moves with each record, and the state
// notes a message handled just after its last record; a compaction purges
// only such messages, so one run in between keeps a message more (CI saw
// that in a test counting the log's messages).
func (e *testEnv) waitHandled(t testing.TB, seq uint64) {
	t.Helper()
	eventually(t, waitTimeout, func() bool {
		e.g.state.mu.Lock()
		defer e.g.state.mu.Unlock()
		return e.g.state.doneMsg >= seq>>posShift
	}, "the message holding position %d is never wholly handled", seq)
}

// waitRejected waits until /healthz counts at least n rejections.
func (e *testEnv) waitRejected(t testing.TB, n uint64) {
	t.Helper()
	eventually(t, waitTimeout, func() bool { return e.health(t).Rejected >= n },
		"/healthz rejected never reached %d", n)
}

// getJSON GETs u, decodes the JSON body into v and returns the status code.
// It fails the test unless the answer is JSON.
func getJSON(t testing.TB, u string, v any) int {
	t.Helper()
	code, ctype, body := get(t, u)
	if !strings.HasPrefix(ctype, "application/json") {
		t.Fatalf("GET %s: Content-Type %q, want application/json (body %s)", u, ctype, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: body is not the expected JSON: %v\n%s", u, err, body)
	}
	return code
}

// get GETs u and returns status, Content-Type and body.
func get(t testing.TB, u string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", u, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// apiWidget is the /api/widgets/{id} body.
type apiWidget struct {
	Config json.RawMessage `json:"config"`
	State  json.RawMessage `json:"state"`
}

// widget GETs /api/widgets/{id} and fails unless it answers 200.
func (e *testEnv) widget(t testing.TB, id string) apiWidget {
	t.Helper()
	var w apiWidget
	if code := getJSON(t, e.url("/api/widgets/"+id), &w); code != http.StatusOK {
		t.Fatalf("GET /api/widgets/%s: status %d", id, code)
	}
	return w
}

// widgetState returns the state of one widget from /api/widgets/{id}.
func (e *testEnv) widgetState(t testing.TB, id string) json.RawMessage {
	t.Helper()
	return e.widget(t, id).State
}

// allWidgets returns /api/widgets/{id} for every widget /api/widgets lists.
func (e *testEnv) allWidgets(t testing.TB) map[string]apiWidget {
	t.Helper()
	var list []struct {
		ID string `json:"id"`
	}
	if code := getJSON(t, e.url("/api/widgets"), &list); code != http.StatusOK {
		t.Fatalf("GET /api/widgets: status %d", code)
	}
	out := map[string]apiWidget{}
	for _, c := range list {
		out[c.ID] = e.widget(t, c.ID)
	}
	return out
}

// streamInfo reads a JetStream stream's info through the gateway's
// connection: publishers may not call the JetStream API.
func (e *testEnv) streamInfo(t testing.TB, name string, opts ...jetstream.StreamInfoOpt) *jetstream.StreamInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	js, err := jetstream.New(e.b.Conn())
	if err != nil {
		t.Fatalf("jetstream.New: %v", err)
	}
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	info, err := s.Info(ctx, opts...)
	if err != nil {
		t.Fatalf("stream %s info: %v", name, err)
	}
	return info
}

// compactNow runs one compaction as the gateway's timer would.
func (e *testEnv) compactNow(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := e.g.compact(ctx); err != nil {
		t.Fatalf("compact: %v", err)
	}
}

// ---- WebSocket client ----

// wsEvent is one event of a server message (docs/protocol.md §2).
type wsEvent struct {
	Type    string          `json:"type"`
	Epoch   string          `json:"epoch"`
	Seq     uint64          `json:"seq"`
	Prev    uint64          `json:"prev"`
	Reset   bool            `json:"reset"`
	Title   string          `json:"title"`
	Theme   json.RawMessage `json:"theme"`
	ID      string          `json:"id"`
	Data    json.RawMessage `json:"data"`
	Config  json.RawMessage `json:"config"`
	State   json.RawMessage `json:"state"`
	Widgets []snapWidget    `json:"widgets"`

	frame int // index of the server message this event came in
}

type snapWidget struct {
	ID     string          `json:"id"`
	Config json.RawMessage `json:"config"`
	State  json.RawMessage `json:"state"`
}

func (ev wsEvent) String() string {
	switch ev.Type {
	case "snapshot":
		return fmt.Sprintf("snapshot(seq=%d reset=%t widgets=%d)", ev.Seq, ev.Reset, len(ev.Widgets))
	case "resumed":
		return fmt.Sprintf("resumed(seq=%d)", ev.Seq)
	default:
		return fmt.Sprintf("%s(seq=%d prev=%d id=%s)", ev.Type, ev.Seq, ev.Prev, ev.ID)
	}
}

// wsClient is a browser stand-in: a background goroutine reads every server
// message, checks it is a JSON array of events and accumulates the events.
type wsClient struct {
	conn *websocket.Conn

	mu     sync.Mutex
	events []wsEvent
	frames int
	binary int   // of the frames, binary ones (docs/protocol.md §2.4), read as the text frames they stand for
	err    error // why reading stopped
	done   chan struct{}
}

// wsURL builds the /ws URL with query parameters (key, value pairs).
func (e *testEnv) wsURL(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// dialRaw opens a WebSocket without reading from it.
func (e *testEnv) dialRaw(t testing.TB, kv ...string) *websocket.Conn {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(e.wsURL(kv...), nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", e.wsURL(kv...), err, status)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// dial opens a WebSocket and starts accumulating its events.
func (e *testEnv) dial(t testing.TB, kv ...string) *wsClient {
	t.Helper()
	c := &wsClient{conn: e.dialRaw(t, kv...), done: make(chan struct{})}
	go c.readLoop()
	t.Cleanup(func() { c.close() })
	return c
}

// dialAt resumes from a position.
func (e *testEnv) dialAt(t testing.TB, epoch string, seq uint64, kv ...string) *wsClient {
	t.Helper()
	return e.dial(t, append([]string{"epoch", epoch, "seq", fmt.Sprint(seq)}, kv...)...)
}

func (c *wsClient) readLoop() {
	defer close(c.done)
	for {
		kind, msg, err := c.conn.ReadMessage()
		if err == nil && kind == websocket.BinaryMessage {
			msg, err = readBinaryFrame(msg)
		}
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			c.conn.Close()
			return
		}
		var evs []wsEvent
		if err := json.Unmarshal(msg, &evs); err != nil {
			c.mu.Lock()
			c.err = fmt.Errorf("server message is not a JSON array of events: %v: %s", err, truncate(string(msg), 200))
			c.mu.Unlock()
			c.conn.Close()
			return
		}
		c.mu.Lock()
		for i := range evs {
			evs[i].frame = c.frames
		}
		c.frames++
		if kind == websocket.BinaryMessage {
			c.binary++
		}
		c.events = append(c.events, evs...)
		c.mu.Unlock()
	}
}

// close closes the socket and waits for the reader to stop.
func (c *wsClient) close() {
	c.conn.Close()
	<-c.done
}

// snapshotEvents returns a copy of the events so far and the read error, if any.
func (c *wsClient) snapshotEvents() ([]wsEvent, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]wsEvent(nil), c.events...), c.err
}

// waitEvents waits until at least n events arrived and returns them all.
// It fails if the socket ends first.
func (c *wsClient) waitEvents(t testing.TB, n int) []wsEvent {
	t.Helper()
	return c.waitUntil(t, fmt.Sprintf("%d events", n), func(evs []wsEvent) bool { return len(evs) >= n })
}

// waitSeq waits until an event with seq at least seq arrived.
func (c *wsClient) waitSeq(t testing.TB, seq uint64) []wsEvent {
	t.Helper()
	return c.waitUntil(t, fmt.Sprintf("an event at seq %d", seq), func(evs []wsEvent) bool {
		return len(evs) > 0 && evs[len(evs)-1].Seq >= seq
	})
}

// waitUntil waits until cond holds over the events so far.
func (c *wsClient) waitUntil(t testing.TB, what string, cond func([]wsEvent) bool) []wsEvent {
	t.Helper()
	var evs []wsEvent
	var err error
	deadline := time.Now().Add(waitTimeout)
	for {
		evs, err = c.snapshotEvents()
		if cond(evs) {
			return evs
		}
		if err != nil {
			t.Fatalf("waiting for %s: socket ended: %v; events: %v", what, err, evs)
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: timed out after %v; events: %v", what, waitTimeout, evs)
		}
		time.Sleep(5 * time.Millisecond) // poll interval, not synchronization
	}
}

// first waits for the first event and checks its type.
func (c *wsClient) first(t testing.TB, typ string) wsEvent {
	t.Helper()
	ev := c.waitEvents(t, 1)[0]
	if ev.Type != typ {
		t.Fatalf("first event is %v, want a %s", ev, typ)
	}
	return ev
}

// checkChain asserts the events after the first (snapshot or resumed) have
// strictly increasing seq and prev equal to the seq before: no gap, no duplicate.
func checkChain(t testing.TB, evs []wsEvent) {
	t.Helper()
	if len(evs) == 0 {
		return
	}
	last := evs[0].Seq
	for _, ev := range evs[1:] {
		if ev.Type == "snapshot" || ev.Type == "resumed" {
			t.Fatalf("unexpected %v after the first event", ev)
		}
		if ev.Seq <= last || ev.Prev != last {
			t.Fatalf("broken chain at %v: last seq was %d; events: %v", ev, last, evs)
		}
		last = ev.Seq
	}
}

// seqs lists the seq of each event.
func seqs(evs []wsEvent) []uint64 {
	out := make([]uint64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Seq
	}
	return out
}

// ---- JSON comparison ----

func normJSON(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return v
}

// jsonEqual reports whether two JSON documents are equal (key order and
// whitespace aside).
func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	return reflect.DeepEqual(normJSON(t, a), normJSON(t, b))
}

// assertJSON fails unless got and want are the same JSON document.
func assertJSON(t testing.TB, what string, got []byte, want string) {
	t.Helper()
	if !jsonEqual(t, got, []byte(want)) {
		t.Errorf("%s:\n got %s\nwant %s", what, got, want)
	}
}

// isoMS converts an RFC 3339 time to the milliseconds the server sends.
func isoMS(t testing.TB, s string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UnixMilli()
}

// checkLiveUpdates pins what a socket connected throughout receives
// (docs/protocol.md §2.2): the updates sent, in order and each once, except
// stat and gauge values that a later value of the same widget superseded
// within one frame; the last update of every widget always arrives. widget
// maps each sent seq to its widget; latest names the stat and gauge widgets.
func checkLiveUpdates(t testing.TB, got []uint64, sent []uint64, widget map[uint64]string, latest map[string]bool) {
	t.Helper()
	seen := make(map[uint64]bool, len(got))
	for i, s := range got {
		if i > 0 && s <= got[i-1] {
			t.Fatalf("seqs go backwards or repeat: %d after %d", s, got[i-1])
		}
		seen[s] = true
	}
	want := make(map[uint64]bool, len(sent))
	lastOf := map[string]uint64{}
	for _, s := range sent {
		want[s] = true
		lastOf[widget[s]] = s
	}
	for _, s := range got {
		if !want[s] {
			t.Errorf("socket got seq %d, which is no update sent", s)
		}
	}
	missing := 0
	for _, s := range sent {
		w := widget[s]
		switch {
		case seen[s]:
		case !latest[w]:
			t.Errorf("socket missed seq %d of %q, which is not a stat or gauge", s, w)
		case lastOf[w] == s:
			t.Errorf("socket missed seq %d, the last value of %q", s, w)
		default:
			missing++ // superseded within its frame
		}
	}
	t.Logf("%d of %d updates arrived; %d stat or gauge values were superseded within their frame", len(sent)-missing, len(sent), missing)
}

// laneOf is the ingest lane widget's updates reach the gateway on: on the
// embedded bus without --nats-auth, the one broker.AnonymousLane picks.
func (e *testEnv) laneOf(t testing.TB, widget string) *ingestLane {
	t.Helper()
	want := "svin.anon." + strconv.Itoa(broker.AnonymousLane(widget)) + ".>"
	for _, l := range e.g.w.lanes {
		if l.subject == want {
			return l
		}
	}
	t.Fatalf("no ingest lane takes %s", want)
	return nil
}

// logBuffer collects a gateway's log lines for assertions; its goroutines
// write it while the test reads it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// lines are the lines holding substr.
func (l *logBuffer) lines(substr string) []string {
	var out []string
	for _, ln := range strings.Split(l.String(), "\n") {
		if strings.Contains(ln, substr) {
			out = append(out, ln)
		}
	}
	return out
}
