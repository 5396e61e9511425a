package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
	"github.com/streamviz/streamviz/internal/natstest"
)

type readyLine struct {
	Event string `json:"event"`
	HTTP  string `json:"http"`
	URL   string `json:"url"`
	NATS  string `json:"nats"`
}

// syncBuffer collects stderr from run's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startRun runs the CLI in-process and returns its ready line once /healthz
// answers 200, plus a stop function that cancels it and returns run's error.
func startRun(t *testing.T, args ...string) (readyLine, func() error) {
	t.Helper()
	ready, stop, _ := startRunLogged(t, args...)
	return ready, stop
}

// startRunLogged is startRun that also returns what run logs on stderr.
func startRunLogged(t *testing.T, args ...string) (readyLine, func() error, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, outW, stderr)
		outW.CloseWithError(errors.New("run returned"))
		done <- err
	}()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var ready readyLine
	select {
	case line, ok := <-lines:
		if !ok {
			cancel()
			t.Fatalf("run exited before its ready line: %v\nstderr:\n%s", <-done, stderr)
		}
		if err := json.Unmarshal([]byte(line), &ready); err != nil || ready.Event != "ready" {
			t.Fatalf("first stdout line %q is not the ready JSON: %v", line, err)
		}
	case <-time.After(time.Minute):
		cancel()
		t.Fatalf("no ready line within a minute; stderr:\n%s", stderr)
	}
	if !strings.HasPrefix(ready.URL, "https:") { // an HTTPS test waits with a client that trusts its cert
		waitHealthy(t, "http://"+ready.HTTP+"/healthz")
	}
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(time.Minute):
				runErr = errors.New("run did not return within a minute of cancel")
			}
			for line := range lines {
				runErr = errors.Join(runErr, errors.New("extra stdout line: "+line))
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return ready, stop, stderr
}

func waitHealthy(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not healthy within a minute (last: %v)", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decoding: %v", url, err)
	}
	return resp.StatusCode
}

func publish(t *testing.T, url string, msgs map[string]string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for subj, data := range msgs {
		if _, err := js.Publish(ctx, subj, []byte(data)); err != nil {
			t.Fatalf("publish %s: %v", subj, err)
		}
	}
}

func TestServePrintsReadyLineWithRealAddressesAndShutsDownCleanly(t *testing.T) {
	ready, stop := startRun(t, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0")
	if strings.HasSuffix(ready.HTTP, ":0") || !strings.HasPrefix(ready.NATS, "nats://127.0.0.1:") || strings.HasSuffix(ready.NATS, ":0") {
		t.Fatalf("ready line must carry the real ports: %+v", ready)
	}
	publish(t, ready.NATS, map[string]string{"sv.revenue.config": `{"type":"stat","title":"Revenue","unit":"$"}`})
	var cfgs []map[string]any
	deadline := time.Now().Add(time.Minute)
	for len(cfgs) == 0 && time.Now().Before(deadline) {
		getJSON(t, "http://"+ready.HTTP+"/api/widgets", &cfgs)
	}
	if len(cfgs) != 1 || cfgs[0]["id"] != "revenue" || cfgs[0]["unit"] != "$" {
		t.Fatalf("/api/widgets = %v", cfgs)
	}
	if err := stop(); err != nil {
		t.Fatalf("clean shutdown must return nil (exit 0): %v", err)
	}
	if _, err := net.DialTimeout("tcp", ready.HTTP, time.Second); err == nil {
		t.Errorf("HTTP listener still open after shutdown")
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(ready.NATS, "nats://"), time.Second); err == nil {
		t.Errorf("NATS listener still open after shutdown")
	}
}

func TestServeWithSameDataDirRestoresWidgets(t *testing.T) {
	dir := t.TempDir()
	args := []string{"serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--data-dir", dir}
	ready, stop := startRun(t, args...)
	publish(t, ready.NATS, map[string]string{
		"sv.load.config": `{"type":"gauge","min":0,"max":10}`,
		"sv.load.data":   `{"value":7}`,
	})
	want := map[string]any{}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		getJSON(t, "http://"+ready.HTTP+"/api/widgets/load", &want)
		if st, ok := want["state"].(map[string]any); ok && st["value"] == 7.0 {
			break
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	ready2, _ := startRun(t, args...)
	var got map[string]any
	if code := getJSON(t, "http://"+ready2.HTTP+"/api/widgets/load", &got); code != 200 {
		t.Fatalf("after restart /api/widgets/load = %d %v", code, got)
	}
	if g, w := mustJSON(got), mustJSON(want); g != w {
		t.Errorf("state after restart\n got %s\nwant %s", g, w)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCommandLineErrorsNameTheProblem(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		usage   bool
		mention string
	}{
		{"no command", nil, nil, true, "no command"},
		{"unknown command", []string{"frobnicate"}, nil, true, `"frobnicate"`},
		{"nats-url with data-dir", []string{"serve", "--nats-url", "nats://127.0.0.1:1", "--data-dir", "/tmp/x"}, nil, true, "--data-dir"},
		{"nats-url with nats-addr from env", []string{"serve", "--nats-url", "nats://127.0.0.1:1"}, map[string]string{"STREAMVIZ_NATS_ADDR": "127.0.0.1:0"}, true, "--nats-addr"},
		{"bad history", []string{"serve", "--history", "0"}, nil, true, "--history"},
		{"bad env value", []string{"serve"}, map[string]string{"STREAMVIZ_HISTORY": "lots"}, true, "STREAMVIZ_HISTORY"},
		{"rows linger zero", []string{"serve", "--rows-linger", "0s"}, nil, true, "--rows-linger 0s: want 1ms to 1m0s"},
		{"rows linger negative", []string{"serve", "--rows-linger", "-1s"}, nil, true, "--rows-linger -1s"},
		{"rows linger of an hour", []string{"serve", "--rows-linger", "1h"}, nil, true, "--rows-linger 1h0m0s: want 1ms to 1m0s"},
		{"rows linger not a duration", []string{"serve", "--rows-linger", "3"}, nil, true, "rows-linger"},
		{"rows linger env not a duration", []string{"serve"}, map[string]string{"STREAMVIZ_ROWS_LINGER": "soon"}, true, "STREAMVIZ_ROWS_LINGER"},
		{"stray argument", []string{"serve", "extra"}, nil, true, `"extra"`},
		{"nats-url of a scheme NATS does not speak", []string{"serve", "--nats-url", "bogus://x"}, nil, true, `--nats-url "bogus://x": scheme "bogus" is not one NATS speaks: want nats://, tls://, ws:// or wss://`},
		{"nats-url of http", []string{"serve", "--nats-url", "nats://a:4222, http://b:4222"}, nil, true, `scheme "http"`},
		{"nats-url env of a bad scheme", []string{"serve"}, map[string]string{"STREAMVIZ_NATS_URL": "nat://bus:4222"}, true, `scheme "nat"`},
		{"nats-url without a host", []string{"serve", "--nats-url", "nats://"}, nil, true, `--nats-url "nats://": no host`},
		{"nats-url of commas only", []string{"serve", "--nats-url", " , "}, nil, true, "--nats-url"},
		{"public-url not a url", []string{"serve", "--public-url", "not a url"}, nil, true, `--public-url "not a url": want absolute http:// or https:// URLs`},
		{"public-url of another scheme", []string{"serve", "--public-url", "https://ok.example/,ftp://dash.example/"}, nil, true, `--public-url "ftp://dash.example/"`},
		{"public-url without a host", []string{"serve", "--public-url", "https:///x"}, nil, true, `--public-url "https:///x"`},
		{"public-url env not a url", []string{"serve"}, map[string]string{"STREAMVIZ_PUBLIC_URL": "http//dash.example"}, true, `--public-url "http//dash.example"`},
		{"max-snapshot-bytes of one byte", []string{"serve", "--max-snapshot-bytes", "1"}, nil, true, "--max-snapshot-bytes 1: want at least 1MiB"},
		{"max-snapshot-bytes below a snapshot message", []string{"serve"}, map[string]string{"STREAMVIZ_MAX_SNAPSHOT_BYTES": "512KiB"}, true, "--max-snapshot-bytes 524288: want at least 1MiB"},
		{"HTTP port in use", []string{"serve", "--addr", busy.Addr().String(), "--nats-addr", "127.0.0.1:0"}, nil, false, busy.Addr().String()},
		{"NATS port in use", []string{"serve", "--addr", "127.0.0.1:0", "--nats-addr", busy.Addr().String()}, nil, false, busy.Addr().String()},
		{"NATS URL unreachable", []string{"serve", "--addr", "127.0.0.1:0", "--nats-url", "nats://127.0.0.1:1"}, nil, false, "unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stdout, stderr strings.Builder
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := run(ctx, tt.args, &stdout, &stderr)
			if err == nil {
				t.Fatalf("run(%v) succeeded", tt.args)
			}
			if errors.Is(err, errUsage) != tt.usage {
				t.Errorf("run(%v) = %v: usage error %v, want %v", tt.args, err, errors.Is(err, errUsage), tt.usage)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("run(%v) = %q, want it to mention %q", tt.args, err, tt.mention)
			}
			if strings.Contains(stdout.String(), `"ready"`) {
				t.Errorf("a failed start printed the ready line")
			}
		})
	}
}

func TestEnvironmentSetsFlags(t *testing.T) {
	t.Setenv("STREAMVIZ_HISTORY", "42")
	t.Setenv("STREAMVIZ_ADDR", "127.0.0.1:9999")
	f, err := parseServeFlags("serve", []string{"--addr", "127.0.0.1:0"}, io.Discard, func(k string) string {
		return map[string]string{"STREAMVIZ_HISTORY": "42", "STREAMVIZ_ADDR": "127.0.0.1:9999", "STREAMVIZ_ROWS_LINGER": "3s"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.rowsLinger != 3*time.Second {
		t.Errorf("STREAMVIZ_ROWS_LINGER=3s: rowsLinger = %s", f.rowsLinger)
	}
	if f.history != 42 {
		t.Errorf("STREAMVIZ_HISTORY: history = %d, want 42", f.history)
	}
	if f.addr != "127.0.0.1:0" {
		t.Errorf("a flag overrides its environment variable: addr = %q", f.addr)
	}
}

func TestDemoFeedsEveryWidgetType(t *testing.T) {
	ready, stop := startRun(t, "demo", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0")
	types := map[string]bool{}
	deadline := time.Now().Add(time.Minute)
	for len(types) < 4 && time.Now().Before(deadline) {
		var cfgs []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		}
		getJSON(t, "http://"+ready.HTTP+"/api/widgets", &cfgs)
		for _, c := range cfgs {
			var w struct {
				State map[string]any `json:"state"`
			}
			getJSON(t, "http://"+ready.HTTP+"/api/widgets/"+c.ID, &w)
			if hasData(w.State) {
				types[c.Type] = true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(types) != 4 {
		t.Fatalf("demo widgets with data by type: %v, want table, stat, chart and gauge", types)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func hasData(state map[string]any) bool {
	if v, ok := state["value"]; ok && v != nil {
		return true
	}
	if pts, ok := state["points"].([]any); ok && len(pts) > 0 {
		return true
	}
	rows, ok := state["rows"].(map[string]any)
	return ok && len(rows) > 0
}

func TestVersionPrintsName(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"version"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "streamviz ") {
		t.Errorf("version output %q", out.String())
	}
}

// startBareNATS runs a plain nats-server with JetStream and no users, as an
// operator's own deployment would be (StreamViz's embedded bus lets
// anonymous clients publish updates only, not manage streams).
func startBareNATS(t *testing.T) *natsserver.Server {
	t.Helper()
	return natstest.Start(t, natsserver.Options{JetStream: true})
}

func TestServeAgainstExternalNATSEmbedsNothing(t *testing.T) {
	ext := startBareNATS(t)
	bus, err := broker.Start(context.Background(), broker.Config{URL: ext.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	ready, stop := startRun(t, "serve", "--addr", "127.0.0.1:0", "--nats-url", bus.ClientURL())
	if ready.NATS != bus.ClientURL() {
		t.Errorf("ready line nats = %q, want the external URL %q", ready.NATS, bus.ClientURL())
	}
	publish(t, bus.ClientURL(), map[string]string{"sv.ext.data": `{"value": 3}`})
	var w struct {
		Config map[string]any `json:"config"`
		State  map[string]any `json:"state"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for w.State["value"] != 3.0 && time.Now().Before(deadline) {
		getJSON(t, "http://"+ready.HTTP+"/api/widgets/ext", &w)
	}
	if w.State["value"] != 3.0 || w.Config["type"] != "stat" {
		t.Fatalf("a widget published on the external bus: %+v", w)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := bus.Conn().Flush(); err != nil {
		t.Errorf("the external bus must outlive streamviz: %v", err)
	}
}

func TestExitWithStdinShutsDownWhenTheParentGoes(t *testing.T) {
	r, w := io.Pipe()
	stdin = r
	t.Cleanup(func() { stdin = nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--exit-with-stdin"}, out, io.Discard)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), `"ready"`) {
		if time.Now().After(deadline) {
			t.Fatal("no ready line")
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.Close() // what the kernel does to the pipe when the parent dies
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown on stdin EOF must be clean: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server still running 20s after its stdin closed")
	}
}
