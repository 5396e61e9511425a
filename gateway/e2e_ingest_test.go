package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
)

// corePoints publishes n one-point chart updates to sv.<id>.data with core
// NATS publishes (no reply subject, as `nats pub` or a metrics exporter
// does), as fast as one connection goes, and flushes.
func corePoints(t *testing.T, nc *nats.Conn, id string, n int) {
	t.Helper()
	for i := range n {
		if err := nc.Publish("sv."+id+".data", []byte(`{"x":`+strconv.Itoa(i)+`,"y":`+strconv.Itoa(i)+`}`)); err != nil {
			t.Fatalf("core publish %d: %v", i, err)
		}
	}
	// The flush's PONG comes after the server has delivered all n updates
	// to the gateway, which on a loaded machine can take far longer than
	// waitTimeout (the flush then failed with "nats: timeout").
	ctx, cancel := context.WithTimeout(context.Background(), floodTimeout)
	defer cancel()
	if err := nc.FlushWithContext(ctx); err != nil {
		t.Fatalf("flushing %d core publishes: %v", n, err)
	}
}

// chartXs returns the x of every point of a chart's default series, in order.
func chartXs(t *testing.T, e *testEnv, id string) []int {
	t.Helper()
	var st struct {
		Points [][2]float64 `json:"points"`
	}
	if err := json.Unmarshal(e.widgetState(t, id), &st); err != nil {
		t.Fatal(err)
	}
	xs := make([]int, len(st.Points))
	for i, p := range st.Points {
		xs[i] = int(p[0])
	}
	return xs
}

// A burst of core publishes, with no acknowledgement to slow the publisher,
// is stored whole and in order: the API holds every point, a WebSocket
// client receives every point once, and nothing is counted as dropped.
func TestCoreBurstIsStoredWholeAndInOrder(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 5000
	}
	e := startEnv(t, Config{})
	e.publishAndWait(t, "sv.burst.config", fmt.Sprintf(`{"type": "chart", "max_points": %d}`, n))
	c := e.dial(t)
	c.first(t, "snapshot")

	corePoints(t, e.nc, "burst", n)
	eventually(t, floodTimeout, func() bool { return e.counters(t).Accepted >= uint64(n)+1 },
		func() string { return fmt.Sprintf("applied %+v of %d", e.counters(t), n) })

	xs := chartXs(t, e, "burst")
	if len(xs) != n {
		t.Fatalf("the chart holds %d points, want all %d", len(xs), n)
	}
	for i, x := range xs {
		if x != i {
			t.Fatalf("point %d has x %d: out of order or duplicated", i, x)
		}
	}
	got := 0
	c.waitUntil(t, "every point", func(evs []wsEvent) bool {
		got = 0
		for _, ev := range evs {
			if ev.Type == "data" && ev.ID == "burst" {
				got++
			}
		}
		return got >= n
	})
	if got != n {
		t.Errorf("the socket got %d point events, want %d", got, n)
	}
	if h := e.health(t); h.Ingest.Dropped != 0 || h.Ingest.Stored != uint64(n)+1 || h.Status != "ok" {
		t.Errorf("/healthz after the burst: %+v; want %d stored, 0 dropped, ok", h, n+1)
	}
}

// Beyond what the ingest queue holds, core updates are dropped, and every
// one of them is counted: published = stored + dropped, in /healthz and in
// /metrics, and the chart holds exactly the stored ones, in order.
func TestOverloadDropsAreCountedExactly(t *testing.T) {
	const n = 30000
	// A queue of ~100 messages: a burst of 30,000 overflows it.
	e := startEnv(t, Config{IngestQueueBytes: 100 * (msgOverhead + 40)})
	e.publishAndWait(t, "sv.flood.config", fmt.Sprintf(`{"type": "chart", "max_points": %d}`, n))

	corePoints(t, e.nc, "flood", n)
	var h health
	eventually(t, floodTimeout, func() bool {
		h = e.counters(t)
		return h.Ingest.Queued == 0 && h.Ingest.Stored-1+h.Ingest.Dropped == n && h.Accepted == h.Ingest.Stored
	}, func() string { return fmt.Sprintf("published %d, /healthz %+v", n, h) })
	if h.Ingest.Dropped == 0 {
		t.Fatalf("a queue of 100 messages took a burst of %d without dropping: the test did not overload it", n)
	}
	xs := chartXs(t, e, "flood")
	if uint64(len(xs)) != h.Ingest.Stored-1 {
		t.Fatalf("the chart holds %d points, /healthz says %d stored", len(xs), h.Ingest.Stored-1)
	}
	for i := 1; i < len(xs); i++ {
		if xs[i] <= xs[i-1] {
			t.Fatalf("points out of order at %d: %d after %d", i, xs[i], xs[i-1])
		}
	}
	m := e.metrics(t)
	var dropped float64
	for k, v := range m {
		if strings.HasPrefix(k, "streamviz_updates_dropped_total{") {
			dropped += v
		}
	}
	if uint64(dropped) != h.Ingest.Dropped {
		t.Errorf("/metrics counts %v dropped, /healthz %d", dropped, h.Ingest.Dropped)
	}
	// Once the overload has passed nothing is left wrong: /healthz turns ok
	// (it may be 503 for a moment while a loaded JetStream answers slowly).
	eventually(t, floodTimeout, func() bool { h = e.counters(t); return h.Status == "ok" },
		func() string {
			return fmt.Sprintf("after an overload that passed, /healthz stays %q: %s", h.Status, h.Error)
		})
}

// An acknowledgement goes only to an inbox (_INBOX.>): a publish whose reply
// subject names a widget, the snapshots, the JetStream API or the gateway's
// own inbox is stored, but answered nowhere, so no publisher can make the
// gateway write where it may not, and no answer comes back as an update.
// (Anonymous publishers share the gateway's account; --nats-auth users, in
// accounts of their own, are pinned in broker/accounts_test.go.)
func TestAcknowledgementsGoOnlyToInboxes(t *testing.T) {
	e := startEnv(t, Config{})
	e.publishAndWait(t, "sv.w.config", `{"type": "stat"}`)
	// The gateway's own connection may read widget subjects and its inbox:
	// it sees an answer sent there.
	watcher := e.b.Conn()
	bad := []string{"sv.hr.data", "sv.w.data", "svsnap.zz.0", "svlog.sv.w.data", "$JS.API.STREAM.DELETE.SV", "_SV_GW.x", "$SYS.x", "_INBOX"}
	seen := make(chan string, 100)
	for _, s := range []string{"sv.hr.data", "_SV_GW.x"} {
		if _, err := watcher.Subscribe(s, func(m *nats.Msg) { seen <- m.Subject }); err != nil {
			t.Fatal(err)
		}
	}
	if err := watcher.Flush(); err != nil {
		t.Fatal(err)
	}
	for i, reply := range bad {
		msg := &nats.Msg{Subject: "sv.w.data", Reply: reply, Data: []byte(fmt.Sprintf(`{"value": %d}`, i))}
		if err := e.nc.PublishMsg(msg); err != nil {
			t.Fatal(err)
		}
	}
	// Acknowledgements go out in order: once this one arrives, the gateway
	// has handled (and would have answered) every publish before it.
	last := e.publishAndWait(t, "sv.w.data", `{"value": 100}`)
	if err := watcher.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-seen:
		t.Fatalf("the gateway published an acknowledgement on %s", s)
	default:
	}
	if h := e.health(t); h.Accepted != uint64(len(bad))+2 || h.Rejected != 0 || h.Seq != last {
		t.Errorf("/healthz %+v: want every update stored (%d accepted, none rejected) up to %d", h, len(bad)+2, last)
	}
	if got := e.metrics(t)["streamviz_ingest_refused_replies_total"]; got != float64(len(bad)) {
		t.Errorf("refused replies counted %v, want %d", got, len(bad))
	}
	if _, _, msgs := logStream(t, e); msgs == 0 {
		t.Error("the log is empty")
	}
}

// The gateway answers only on an inbox, or on the reply subject the server
// made for a request from another account (_R_.): with publishers in its
// own account (an external bus set up so), any other reply subject is a
// write the publisher may not make, and is counted instead.
func TestReplyAllowedOnlyOnInboxesAndServiceReplies(t *testing.T) {
	for subject, want := range map[string]bool{
		"_INBOX.abc.def": true,
		"_R_.Ab1cD2.xyz": true,
		"_INBOX":         false,
		"_INBOX.":        false,
		"_R_.":           false,
		"_INBOX.a.*":     false,
		"_R_.a.>":        false,
		"_INBOX.a..b":    false,
		"sv.hr.data":     false,
		"svsnap.zz.0":    false,
		"svlog.batch":    false,
		"svin.0.hr.data": false,
		"_SV_GW.x":       false,
		"$JS.API.INFO":   false,
		"$SYS.x":         false,
		"_R_x.y":         false,
		"_INBOX.a b":     false,
		"x._INBOX.abc":   false,
		"_R_.abc\r\nPUB": false,
	} {
		if got := replyAllowed(subject); got != want {
			t.Errorf("replyAllowed(%q) = %v, want %v", subject, got, want)
		}
	}
}

// A publisher that resends an update with the same Nats-Msg-Id (the Python
// SDK does when an acknowledgement was lost) gets the first copy's position,
// marked duplicate, and the update is stored once, also after a restart.
func TestResentMsgIDIsStoredOnce(t *testing.T) {
	e := startEnv(t, noAutoCompaction)
	e.publishAndWait(t, "sv.d.config", `{"type": "chart"}`)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	first, err := e.js.Publish(ctx, "sv.d.data", []byte(`{"x": 1, "y": 1}`), jetstream.WithMsgID("m-1"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.js.Publish(ctx, "sv.d.data", []byte(`{"x": 1, "y": 1}`), jetstream.WithMsgID("m-1"))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.Sequence != first.Sequence || first.Duplicate {
		t.Fatalf("acks %+v then %+v; want the second a duplicate at the first's position", first, again)
	}
	e.publishAndWait(t, "sv.d.data", `{"x": 2, "y": 2}`)
	assertJSON(t, "state", e.widgetState(t, "d"), `{"points": [[1, 1], [2, 2]]}`)

	e.crash(t)
	e2 := startEnvAt(t, e.dir, e.cfg)
	ack, err := e2.js.Publish(ctx, "sv.d.data", []byte(`{"x": 1, "y": 1}`), jetstream.WithMsgID("m-1"))
	if err != nil {
		t.Fatal(err)
	}
	if !ack.Duplicate || ack.Sequence != first.Sequence {
		t.Fatalf("after a restart the resend got %+v, want a duplicate at %d", ack, first.Sequence)
	}
	e2.publishAndWait(t, "sv.d.data", `{"x": 3, "y": 3}`)
	assertJSON(t, "state after the restart", e2.widgetState(t, "d"), `{"points": [[1, 1], [2, 2], [3, 3]]}`)
}

// An update resent after a crash can reach the restarted gateway while it
// is still reading its log back: it must wait for that, then be answered
// as a duplicate of the copy the log holds, not stored a second time (the
// kill -9 test saw points stored twice this way).
func TestResendDuringTheReplayAfterACrashIsStoredOnce(t *testing.T) {
	e := startEnv(t, noAutoCompaction)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	first, err := e.js.Publish(ctx, "sv.d.data", []byte(`{"x": 1, "y": 1}`), jetstream.WithMsgID("m-1"))
	if err != nil {
		t.Fatal(err)
	}
	e.waitSeq(t, first.Sequence)
	e.crash(t)

	acks := make(chan *nats.Msg, 1)
	cfg := e.cfg
	cfg.beforeReplay = func(g *Gateway) {
		nc, err := nats.Connect(g.nc.ConnectedUrl(), nats.Name("resender"))
		if err != nil {
			t.Errorf("connect during the replay: %v", err)
			return
		}
		t.Cleanup(nc.Close)
		inbox := nats.NewInbox()
		if _, err := nc.ChanSubscribe(inbox, acks); err != nil {
			t.Errorf("subscribe: %v", err)
			return
		}
		msg := nats.NewMsg("sv.d.data")
		msg.Data = []byte(`{"x": 1, "y": 1}`)
		msg.Reply = inbox
		msg.Header.Set(jetstream.MsgIDHeader, "m-1")
		if err := nc.PublishMsg(msg); err != nil {
			t.Errorf("resend: %v", err)
			return
		}
		// Return only once the gateway holds the resend, so it is
		// there before a single stored message has been read back.
		deadline := time.Now().Add(waitTimeout)
		for g.w.waiting.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if g.w.waiting.Load() == 0 {
			t.Errorf("the resend never reached the gateway")
		}
	}
	e2 := startEnvAt(t, e.dir, cfg)
	var ack jetstream.PubAck
	select {
	case m := <-acks:
		if err := json.Unmarshal(m.Data, &ack); err != nil {
			t.Fatalf("acknowledgement %s: %v", m.Data, err)
		}
	case <-ctx.Done():
		t.Fatal("the resend was never acknowledged")
	}
	if !ack.Duplicate || ack.Sequence != first.Sequence {
		t.Fatalf("the resend during the replay got %+v, want a duplicate at %d", ack, first.Sequence)
	}
	e2.publishAndWait(t, "sv.d.data", `{"x": 2, "y": 2}`)
	assertJSON(t, "state after the restart", e2.widgetState(t, "d"), `{"points": [[1, 1], [2, 2]]}`)
}

// A data dir whose log was written by publishers directly (subjects sv.>,
// snapshots marked with a stream sequence) still loads: its snapshots and
// updates fold into the same state, it takes new updates through the
// gateway, and it gets a new epoch (positions count differently now).
func TestOldDataDirWhosePublishersWroteTheLogStillLoads(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	// The layout of the version before batches, made by hand: the streams
	// by the gateway's connection, the updates by an anonymous publisher.
	b, err := broker.Start(ctx, broker.Config{Addr: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(b.Conn())
	if err != nil {
		t.Fatal(err)
	}
	_, pjs := connectPublisher(t, b.ClientURL(), "old-publisher")
	// The bus now maps an anonymous publisher's sv.<w>.<k> to its ingest
	// lane (svin.anon.<lane>.<w>.<k>) before any stream sees it, so the old
	// log takes the lanes for the publishes below and stores them under
	// the subjects they were published on, then captures sv.> as it did.
	oldLog := jetstream.StreamConfig{Name: broker.LogStream, Subjects: []string{"svin.anon.>"},
		SubjectTransform: &jetstream.SubjectTransformConfig{Source: "svin.anon.*.*.*", Destination: "sv.{{wildcard(2)}}.{{wildcard(3)}}"},
		Storage:          jetstream.FileStorage, Discard: jetstream.DiscardNew, MaxBytes: 1 << 30, AllowDirect: true,
		Metadata: map[string]string{"streamviz_epoch": "0123456789abcdef"}}
	if _, err := js.CreateStream(ctx, oldLog); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: broker.SnapshotStream, Subjects: []string{"svsnap.>"},
		Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ subject, data string }{
		{"sv.s.config", `{"type": "stat"}`},
		{"sv.s.data", `{"value": 1, "ts": 1}`},
		{"sv.s.data", `{"value": 2, "ts": 2}`},
		{"sv.c.data", `{"x": 1, "y": 10}`},
		{"sv.c.data", `{"x": 2, "y": 20}`},
	} {
		if _, err := pjs.Publish(ctx, m.subject, []byte(m.data)); err != nil {
			t.Fatal(err)
		}
	}
	oldLog.Subjects, oldLog.SubjectTransform = []string{"sv.>"}, nil
	if _, err := js.UpdateStream(ctx, oldLog); err != nil {
		t.Fatal(err)
	}
	// A snapshot of s at stream sequence 2 (its config and first value); the
	// log still holds everything, as after a crash before the purge.
	snap := &nats.Msg{Subject: "svsnap.s.0", Header: nats.Header{"Sv-Gen": {"2"}, "Sv-Part": {"0"}, "Sv-Parts": {"1"}},
		Data: []byte(`{"id":"s","config":{"id":"s","type":"stat","title":"s","dashboard":"","order":0,"unit":"","format":null,"color":null,"delta":true},"state":{"value":1,"prev":null,"ts":1}}`)}
	if _, err := js.PublishMsg(ctx, snap); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	e := startEnvAt(t, dir, Config{})
	assertJSON(t, "stat", e.widgetState(t, "s"), `{"value": 2, "prev": 1, "ts": 2}`)
	assertJSON(t, "chart", e.widgetState(t, "c"), `{"points": [[1, 10], [2, 20]]}`)
	h := e.health(t)
	if h.Epoch == "0123456789abcdef" || h.Epoch == "" {
		t.Errorf("epoch %q after the migration, want a new one", h.Epoch)
	}
	info := e.streamInfo(t, broker.LogStream)
	if len(info.Config.Subjects) != 1 || info.Config.Subjects[0] != broker.LogPrefix+">" {
		t.Errorf("the log captures %v, want only %s>", info.Config.Subjects, broker.LogPrefix)
	}
	s := e.publishAndWait(t, "sv.c.data", `{"x": 3, "y": 30}`)
	if s <= h.Seq {
		t.Errorf("a new update at %d, not after the migrated log's %d", s, h.Seq)
	}
	assertJSON(t, "chart after a new update", e.widgetState(t, "c"), `{"points": [[1, 10], [2, 20], [3, 30]]}`)
	e2 := e.restart(t)
	assertJSON(t, "chart after a restart", e2.widgetState(t, "c"), `{"points": [[1, 10], [2, 20], [3, 30]]}`)
	if e2.health(t).Epoch != h.Epoch {
		t.Error("the epoch changed again at the next restart")
	}
}

// healthz returns /healthz's status code and body whatever the code.
func (e *testEnv) healthz(t testing.TB) (int, health) {
	t.Helper()
	var h health
	code := getJSON(t, e.url("/healthz"), &h)
	return code, h
}

// When the store's disk runs out of space, publishes fail at once with an
// error that says so (not a timeout), /healthz answers 503 with the reason,
// and once space is freed everything resumes by itself.
func TestDiskFullRefusesUpdatesAtOnceAndResumesWhenSpaceReturns(t *testing.T) {
	dir := mountTmpfs(t, "48m")
	e := startEnvAt(t, dir, Config{StoreDir: dir, MinFreeBytes: 8 << 20,
		Streams: broker.StreamsConfig{MaxBytes: 8 << 20, SnapshotMaxBytes: 8 << 20}})
	e.publishAndWait(t, "sv.d.config", `{"type": "chart"}`)
	before := e.publishAndWait(t, "sv.d.data", `{"x": 1, "y": 1}`)

	// Fill the disk to just under the reserve.
	filler := dir + "/filler"
	if err := os.WriteFile(filler, make([]byte, freeBytes(t, dir)-4<<20), 0o644); err != nil {
		t.Fatalf("filling the disk: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	start := time.Now()
	_, err := e.js.Publish(ctx, "sv.d.data", []byte(`{"x": 2, "y": 2}`))
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || !strings.Contains(apiErr.Description, "disk full") {
		t.Fatalf("publish on a full disk: %v; want an error saying the disk is full", err)
	}
	// Fast is the error itself: the refusal, not the timeout of ctx that a
	// publish stuck behind JetStream's failed write gets.
	t.Logf("publish on a full disk refused in %v: %s", time.Since(start).Round(time.Microsecond), apiErr.Description)
	code, h := e.healthz(t)
	if code != http.StatusServiceUnavailable || !strings.Contains(h.Error, "disk full") || !strings.Contains(h.Ingest.Problem, "disk full") {
		t.Errorf("/healthz %d %+v; want 503 saying the disk is full", code, h)
	}
	// A core publish, whose publisher cannot be told, is counted as dropped.
	dropped := h.Ingest.Dropped
	if err := e.nc.Publish("sv.d.data", []byte(`{"x": 9, "y": 9}`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitTimeout, func() bool { _, h = e.healthz(t); return h.Ingest.Dropped == dropped+1 },
		func() string {
			return fmt.Sprintf("/healthz ingest %+v: want the core publish on a full disk counted as dropped", h.Ingest)
		})

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	eventually(t, waitTimeout, func() bool { code, _ := e.healthz(t); return code == http.StatusOK }, "/healthz back to 200 once space is freed")
	t.Logf("/healthz 200 again %v after the space was freed", time.Since(freed).Round(time.Millisecond))
	after := e.publishAndWait(t, "sv.d.data", `{"x": 3, "y": 3}`)
	if after <= before {
		t.Errorf("after space returned: stored at %d, before at %d", after, before)
	}
	assertJSON(t, "state", e.widgetState(t, "d"), `{"points": [[1, 1], [3, 3]]}`)
}

// mountTmpfs mounts a tmpfs of size (e.g. "48m") at a new directory. It
// skips the test when not root; as root (CI) a failed mount fails it.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Geteuid() != 0 {
			t.Skipf("mounting a tmpfs needs root (CI runs as root): %v: %s", err, out)
		}
		t.Fatalf("mount a tmpfs as root: %v: %s", err, out)
	}
	t.Cleanup(func() {
		// Never left mounted: if something still holds it, it is detached
		// lazily (and goes once that lets go), and the test says so.
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			lazy, lerr := exec.Command("umount", "-l", dir).CombinedOutput()
			t.Errorf("umount %s: %v: %s (lazy umount: %v %s)", dir, err, out, lerr, lazy)
		}
	})
	return dir
}

func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// When the log stops answering, updates wait (none is dropped while they fit
// the queue) and /healthz says ingest is stalled, with a 503.
func TestHealthSaysIngestIsStalledWhenTheLogStopsStoring(t *testing.T) {
	e := startEnv(t, Config{})
	e.publishAndWait(t, "sv.s.config", `{"type": "stat"}`)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	// The log stops taking the gateway's batches (its subjects changed
	// under it; the gateway's own connection may update the stream).
	gw, err := jetstream.New(e.b.Conn())
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.streamInfo(t, broker.LogStream).Config
	cfg.Subjects = []string{"elsewhere.>"}
	if _, err := gw.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := e.nc.Publish("sv.s.data", []byte(`{"value": 1}`)); err != nil {
		t.Fatal(err)
	}
	var code int
	var h health
	eventually(t, stallAfter+2*waitTimeout, func() bool {
		code, h = e.healthz(t)
		return code == http.StatusServiceUnavailable && strings.Contains(h.Ingest.Problem, "ingest stalled")
	}, func() string { return fmt.Sprintf("/healthz %d %+v", code, h) })
	if h.Ingest.Queued != 1 || h.Ingest.Dropped != 0 {
		t.Errorf("/healthz %+v: want the update waiting, not dropped", h)
	}
}

// An update as large as the limit allows (the bus's payload limit too) is
// stored alone, with its Nats-Msg-Id, and applied like any other.
func TestUpdateAtTheSizeLimitIsStoredAlone(t *testing.T) {
	// The embedded server takes payloads up to MaxPayload + 64 KiB; the
	// gateway's limit is set just under that, so the update cannot share a
	// batch (whose bound leaves 4 KiB for headers).
	const busLimit = 1<<20 + 64<<10
	const limit = busLimit - 200
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	e := startEnvBus(t, t.TempDir(), Config{MaxMessageBytes: limit}, broker.Config{MaxPayload: 1 << 20})
	b, g := e.b, e.g
	_, js := connectPublisher(t, b.ClientURL(), "big")
	head := `{"key": "k", "row": {"pad": "`
	body := head + strings.Repeat("p", limit-len(head)-len(`"}}`)) + `"}}`
	ack, err := js.Publish(ctx, "sv.t.data", []byte(body), jetstream.WithMsgID("big-1"))
	if err != nil {
		t.Fatalf("publishing %d bytes under a %d-byte bus limit: %v", len(body), limit, err)
	}
	again, err := js.Publish(ctx, "sv.t.data", []byte(body), jetstream.WithMsgID("big-1"))
	if err != nil || !again.Duplicate || again.Sequence != ack.Sequence {
		t.Fatalf("the resend got %+v, %v; want a duplicate of %d", again, err, ack.Sequence)
	}
	eventually(t, waitTimeout, func() bool { return g.state.accepted.Load() == 1 }, "the large update applied")
	if ack.Sequence&maxBatchRecords != 0 {
		t.Errorf("stored at %d: not the first record of its message", ack.Sequence)
	}
	gw, _ := jetstream.New(b.Conn())
	s, err := gw.Stream(ctx, broker.LogStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(broker.LogPrefix+">"))
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Subjects[broker.LogPrefix+"sv.t.data"] != 1 || info.State.LastSeq != ack.Sequence>>posShift {
		t.Errorf("the log holds %v up to %d; want the update alone on %ssv.t.data at %d", info.State.Subjects, info.State.LastSeq, broker.LogPrefix, ack.Sequence>>posShift)
	}
}
