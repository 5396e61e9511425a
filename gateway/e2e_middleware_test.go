package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/streamviz/streamviz/broker"
)

// statusWriter is a typical logging middleware's writer: it records the
// status and unwraps (Go's convention) but does not implement http.Hijacker.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// opaqueWriter hides everything but the three methods of http.ResponseWriter.
type opaqueWriter struct{ w http.ResponseWriter }

func (o opaqueWriter) Header() http.Header         { return o.w.Header() }
func (o opaqueWriter) Write(b []byte) (int, error) { return o.w.Write(b) }
func (o opaqueWriter) WriteHeader(code int)        { o.w.WriteHeader(code) }

// startMounted starts a bus and a gateway as the README's embedding does
// and returns the gateway, for a test to mount in its own mux, and the bus.
func startMounted(t *testing.T) (*Gateway, *broker.Broker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	g, err := New(b.Conn(), Config{IngestSubjects: b.IngestSubjects(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	return g, b
}

// A Go program mounts the handler under its own prefix, beside its own
// routes, behind middleware whose writer is not an http.Hijacker: every
// route works there, and the WebSocket opens whenever the writer unwraps
// to one, or is refused with an error that says why (not a bare 500).
func TestTheHandlerWorksUnderAPrefixBehindMiddlewareAndItsSocketOpensOrSaysWhyNot(t *testing.T) {
	g, _ := startMounted(t)
	h := g.Handler()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /mine", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "mine") })
	mux.Handle("/logged/", http.StripPrefix("/logged", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
	})))
	mux.Handle("/opaque/", http.StripPrefix("/opaque", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(opaqueWriter{w}, r)
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	for _, prefix := range []string{"/logged", "/opaque"} {
		for _, tc := range []struct{ path, want string }{
			{"/", "<!doctype html>"},
			{"/static/app.js", "@ts-check"},
			{"/api/widgets", "[]"},
			{"/healthz", `"status":"ok"`},
			{"/metrics", "streamviz_"},
		} {
			code, _, body := get(t, srv.URL+prefix+tc.path)
			if code != http.StatusOK || !strings.Contains(string(body), tc.want) {
				t.Errorf("GET %s%s: %d %.200q, want 200 with %q", prefix, tc.path, code, body, tc.want)
			}
		}
	}
	if code, _, body := get(t, srv.URL+"/mine"); code != http.StatusOK || string(body) != "mine" {
		t.Errorf("the program's own route: %d %q", code, body)
	}

	wsBase := "ws" + strings.TrimPrefix(srv.URL, "http")
	for _, tc := range []struct {
		name, prefix string
		opens        bool
	}{
		{"a writer that unwraps to a hijacker", "/logged", true},
		{"a writer that hides the hijacker", "/opaque", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, resp, err := websocket.DefaultDialer.Dial(wsBase+tc.prefix+"/ws", nil)
			if tc.opens {
				if err != nil {
					t.Fatalf("the socket under %s: %v (%v)", tc.prefix, err, resp)
				}
				defer conn.Close()
				var msg []map[string]any
				if err := conn.ReadJSON(&msg); err != nil || len(msg) == 0 || msg[0]["type"] != "snapshot" {
					t.Errorf("first socket message %v (%v), want a snapshot", msg, err)
				}
				return
			}
			if err == nil {
				conn.Close()
				t.Fatal("the socket opened through a writer that cannot hijack")
			}
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), "http.Hijacker") || !strings.Contains(string(body), "opaqueWriter") {
				t.Errorf("refused socket: %d %q, want 500 naming the writer's type and http.Hijacker", resp.StatusCode, body)
			}
		})
	}
}
