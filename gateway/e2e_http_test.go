package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The HTTP routes of docs/protocol.md §4 answer with the documented status,
// content type and body.
func TestHTTPRoutesAnswerAsDocumented(t *testing.T) {
	e := startEnv(t, Config{})
	fx := publishFixture(t, e)

	t.Run("api/widgets lists every config with its id", func(t *testing.T) {
		var list []json.RawMessage
		if code := getJSON(t, e.url("/api/widgets"), &list); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		seen := map[string]bool{}
		for _, raw := range list {
			var c struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			want, ok := fx.configs[c.ID]
			if !ok {
				t.Errorf("unexpected widget %s", raw)
				continue
			}
			seen[c.ID] = true
			assertJSON(t, "config of "+c.ID, raw, want)
		}
		if len(seen) != len(fx.configs) || len(list) != len(fx.configs) {
			t.Errorf("listed %d configs, want %d", len(list), len(fx.configs))
		}
	})
	t.Run("api/widgets/{id} returns config and state", func(t *testing.T) {
		for id := range fx.configs {
			w := e.widget(t, id)
			assertJSON(t, id+" config", w.Config, fx.configs[id])
			assertJSON(t, id+" state", w.State, fx.states[id])
		}
	})

	jsonErr := func(want string) func(t *testing.T, body []byte) {
		return func(t *testing.T, body []byte) {
			var b map[string]string
			if err := json.Unmarshal(body, &b); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if want != "" && b["error"] != want {
				t.Errorf("error %q, want %q", b["error"], want)
			}
			if b["error"] == "" {
				t.Errorf("body %s has no error", body)
			}
		}
	}
	tests := []struct {
		name      string
		path      string
		wantCode  int
		wantCType string
		check     func(t *testing.T, body []byte)
	}{
		{"unknown widget is 404 with a JSON error", "/api/widgets/nope", http.StatusNotFound, "application/json",
			jsonErr(`unknown widget "nope"`)},
		{"bad widget id is 404 with a JSON error", "/api/widgets/bad!id", http.StatusNotFound, "application/json",
			jsonErr("")},
		{"embed of a bad id is 404", "/embed/bad!id", http.StatusNotFound, "application/json", jsonErr("")},
		{"embed of a valid id is the embed page", "/embed/cpu", http.StatusOK, "text/html", nil},
		{"dashboard page", "/", http.StatusOK, "text/html", nil},
		{"healthz is 200 JSON", "/healthz", http.StatusOK, "application/json", func(t *testing.T, body []byte) {
			var h health
			if err := json.Unmarshal(body, &h); err != nil {
				t.Fatal(err)
			}
			if h.Status != "ok" || h.Epoch == "" || h.Seq != fx.lastSeq || h.Widgets != len(fx.configs) || h.Rejected != 0 {
				t.Errorf("healthz %s, want ok at seq %d with %d widgets and 0 rejected", body, fx.lastSeq, len(fx.configs))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, ctype, body := get(t, e.url(tt.path))
			if code != tt.wantCode || !strings.HasPrefix(ctype, tt.wantCType) {
				t.Fatalf("GET %s: %d %q, want %d %q; body %s", tt.path, code, ctype, tt.wantCode, tt.wantCType, truncate(string(body), 200))
			}
			if tt.check != nil {
				tt.check(t, body)
			}
		})
	}
}

// /healthz answers 503 "unavailable" once the bus is gone.
func TestHealthzReportsUnavailableWhenTheBusIsDown(t *testing.T) {
	e := startEnv(t, Config{})
	e.health(t)
	e.b.Close() // the gateway's connection and the embedded server go away
	var h struct {
		Status, Error string
		Reasons       []HealthReason
	}
	eventually(t, waitTimeout, func() bool {
		return getJSON(t, e.url("/healthz"), &h) == http.StatusServiceUnavailable
	}, "/healthz never answered 503 with the bus down")
	// The bus is named, and nothing after it is asked of a bus that is gone.
	if h.Status != "unavailable" || len(h.Reasons) != 1 || h.Reasons[0].Check != "bus" ||
		!strings.Contains(h.Reasons[0].Error, "NATS connection") || !strings.HasPrefix(h.Error, "bus: ") {
		t.Errorf("healthz %+v, want unavailable with the one reason bus: NATS connection …", h)
	}
}

// Closing the gateway closes every socket with 1001 "going away".
func TestCloseSendsGoingAwayToEverySocket(t *testing.T) {
	e := startEnv(t, Config{})
	a, b := e.dial(t), e.dial(t, "widget", "x")
	a.first(t, "snapshot")
	b.first(t, "snapshot")
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	start := time.Now()
	if err := e.g.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %v with two open sockets", took)
	}
	for _, c := range []*wsClient{a, b} {
		<-c.done
		_, err := c.snapshotEvents()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
			t.Errorf("socket ended with %v, want close code %d", err, websocket.CloseGoingAway)
		}
	}
}

// A bad query on /ws is refused with close code 1008 (docs/protocol.md §2.3),
// which a browser, unlike an HTTP status, can see.
func TestBadWebSocketQueryIsClosedWithPolicyViolation(t *testing.T) {
	e := startEnv(t, Config{})
	for _, q := range [][]string{{"epoch", "e", "seq", "abc"}, {"widget", "bad!id"}} {
		conn, resp, err := websocket.DefaultDialer.Dial(e.wsURL(q...), nil)
		if err != nil {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Errorf("query %v: handshake refused (HTTP %d: %v), want an upgrade closed with code %d",
				q, status, err, websocket.ClosePolicyViolation)
			continue
		}
		_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
		_, _, err = conn.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
			t.Errorf("query %v: socket ended with %v, want close code %d", q, err, websocket.ClosePolicyViolation)
		}
		conn.Close()
	}
}

// The browser sends nothing; a client that floods the socket is closed with 1008.
func TestClientThatFloodsTheSocketIsClosedWithPolicyViolation(t *testing.T) {
	e := startEnv(t, Config{})
	conn := e.dialRaw(t)
	for i := 0; i < 2*maxReadsPerSecond; i++ {
		if err := conn.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
			break // the server may already have closed it
		}
	}
	expectClose(t, conn, websocket.ClosePolicyViolation)
}

// A message from the browser larger than the read limit closes the socket
// with 1009 (too big) before the server buffers it.
func TestClientMessageOverTheReadLimitIsClosedAsTooBig(t *testing.T) {
	e := startEnv(t, Config{})
	conn := e.dialRaw(t)
	_ = conn.WriteMessage(websocket.TextMessage, make([]byte, maxReadBytes+1))
	expectClose(t, conn, websocket.CloseMessageTooBig)
}

// expectClose reads past the snapshot until the server closes conn, and
// fails unless it closed with code.
func expectClose(t *testing.T, conn *websocket.Conn, code int) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue // the snapshot
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != code {
			t.Fatalf("socket ended with %v, want close code %d", err, code)
		}
		return
	}
}
