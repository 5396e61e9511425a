package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/streamviz/streamviz/broker"
)

// A Go program may mount the handler before Start has restored the stored
// state (its server is up first). Until then /healthz says so with 503 and
// the socket and the API refuse with 503, so a browser's page retries and
// joins the restored dashboard instead of keeping an empty one that Start
// never corrected.
func TestAHandlerServedBeforeStartRefusesUntilTheStateIsRestored(t *testing.T) {
	ctx := context.Background()
	b, err := broker.Start(ctx, broker.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	quiet := Config{IngestSubjects: b.IngestSubjects(), Logger: slog.New(slog.DiscardHandler)}

	// A previous run of the program stored a widget.
	first, err := New(b.Conn(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(ctx); err != nil {
		t.Fatal(err)
	}
	nc, _ := connectPublisher(t, b.ClientURL(), "pipeline")
	if _, err := nc.Request("sv.revenue.data", []byte(`{"value": 7}`), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(ctx); err != nil {
		t.Fatal(err)
	}

	g, err := New(b.Conn(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"

	for _, path := range []string{"/healthz", "/api/widgets", "/api/widgets/revenue", "/api/dashboard.json"} {
		if code, _, body := get(t, srv.URL+path); code != http.StatusServiceUnavailable || !strings.Contains(string(body), "not started") {
			t.Errorf("GET %s before Start: %d %s, want 503 saying it has not started", path, code, body)
		}
	}
	if conn, resp, err := websocket.DefaultDialer.Dial(wsURL, nil); err == nil {
		conn.Close()
		t.Error("a socket opened before Start")
	} else if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("socket before Start: %v (%v), want 503", err, resp)
	}
	if code, _, _ := get(t, srv.URL+"/"); code != http.StatusOK {
		t.Errorf("the page before Start: %d, want 200 (it retries its socket)", code)
	}

	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if code, _, body := get(t, srv.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz after Start: %d %s", code, body)
	}
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("socket after Start: %v", err)
	}
	defer conn.Close()
	var msg []struct {
		Type    string
		Widgets []json.RawMessage
	}
	if err := conn.ReadJSON(&msg); err != nil || len(msg) == 0 || msg[0].Type != "snapshot" || len(msg[0].Widgets) != 1 {
		t.Errorf("first message after Start: %+v (%v), want a snapshot of the stored widget", msg, err)
	}
}
