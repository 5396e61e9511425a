package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"
	"github.com/streamviz/streamviz/broker"
)

// An embedder calling the lifecycle methods out of order gets an error or
// nothing, never a panic of its whole process later on.
func TestLifecycleCallsOutOfOrderAreSafe(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps func(t *testing.T, g *Gateway)
	}{
		{"start twice", func(t *testing.T, g *Gateway) {
			if err := g.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := g.Start(context.Background()); !errors.Is(err, ErrStarted) {
				t.Errorf("second Start: %v, want ErrStarted", err)
			}
		}},
		{"close twice", func(t *testing.T, g *Gateway) {
			if err := g.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				if err := g.Close(context.Background()); err != nil {
					t.Errorf("Close #%d: %v", i+1, err)
				}
			}
		}},
		{"start after close", func(t *testing.T, g *Gateway) {
			if err := g.Close(context.Background()); err != nil {
				t.Errorf("Close before Start: %v", err)
			}
			if err := g.Start(context.Background()); !errors.Is(err, ErrClosed) {
				t.Errorf("Start after Close: %v, want ErrClosed", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := broker.Start(context.Background(), broker.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = b.Close() })
			g, err := New(b.Conn(), Config{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			tc.steps(t, g)
			// The goroutines a second Start would have doubled end here.
			if err := g.Close(context.Background()); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

// A program that starts and stops an embedded bus and gateway many times
// (tests, a reloadable config) is left with no goroutine, descriptor, port
// or data-dir lock of theirs: each round takes the same port and dir again.
func TestStartingAndStoppingTwentyTimesLeavesNothingBehind(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	natsAddr := ln.Addr().String()
	ln.Close()
	round := func() {
		t.Helper()
		ctx := context.Background()
		b, err := broker.Start(ctx, broker.Config{Addr: natsAddr, DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		g, err := New(b.Conn(), Config{IngestSubjects: b.IngestSubjects(), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Start(ctx); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(http.StripPrefix("/dash", g.Handler()))
		conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/dash/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := conn.ReadMessage(); err != nil {
			t.Fatal(err)
		}
		for _, err := range []error{g.Close(ctx), g.Close(ctx), b.Close(), b.Close()} {
			if err != nil {
				t.Fatal(err)
			}
		}
		conn.Close()
		srv.Close()
	}
	fds := func() int {
		e, _ := os.ReadDir("/proc/self/fd")
		return len(e)
	}
	round() // the first round starts what lives for the process (nats-server's, nats.go's)
	goroutines, files := runtime.NumGoroutine(), fds()
	for range 20 {
		round()
	}
	eventually(t, 30*time.Second, func() bool {
		return runtime.NumGoroutine() <= goroutines && (files == 0 || fds() <= files)
	}, func() string {
		buf := make([]byte, 1<<20)
		return fmt.Sprintf("goroutines %d (were %d), descriptors %d (were %d):\n%s",
			runtime.NumGoroutine(), goroutines, fds(), files, buf[:runtime.Stack(buf, true)])
	})
}

// Two dashboards in one process, each with its own bus and data dir, keep
// to themselves: an update to one never shows in the other, and each
// serves its own metrics (a shared Prometheus registry would panic on the
// second registration or mix their counts).
func TestTwoEmbeddedDashboardsInOneProcessDoNotInterfere(t *testing.T) {
	type pair struct {
		g   *Gateway
		srv *httptest.Server
		nc  *nats.Conn
	}
	var pairs []pair
	for range 2 {
		g, b := startMounted(t)
		srv := httptest.NewServer(g.Handler())
		t.Cleanup(srv.Close)
		nc, _ := connectPublisher(t, b.ClientURL(), "pipeline")
		pairs = append(pairs, pair{g, srv, nc})
	}
	if _, err := pairs[0].nc.Request("sv.only_a.data", []byte(`{"value": 1}`), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	for i, p := range pairs {
		code, _, body := get(t, p.srv.URL+"/api/widgets")
		has := strings.Contains(string(body), `"only_a"`)
		if code != http.StatusOK || has != (i == 0) {
			t.Errorf("dashboard %d: /api/widgets %d %s", i, code, body)
		}
		code, _, body = get(t, p.srv.URL+"/metrics")
		want := "streamviz_updates_accepted_total 0"
		if i == 0 {
			want = "streamviz_updates_accepted_total 1"
		}
		if code != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("dashboard %d: /metrics %d, want %q in it", i, code, want)
		}
	}
}
