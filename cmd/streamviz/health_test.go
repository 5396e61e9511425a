package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Finding 1 and 14 of issue 10: with rights to the JetStream API (here an
// external bus without permissions), deleting the log left /healthz at 200
// ok while nothing published reached the dashboard any more.
func TestHealthzSaysUnavailableWhenTheLogStreamIsDeleted(t *testing.T) {
	ext := startBareNATS(t)
	ready, _ := startRun(t, "serve", "--addr", "127.0.0.1:0", "--nats-url", ext.ClientURL())
	publish(t, ext.ClientURL(), map[string]string{"sv.w.data": `{"value": 1}`})

	admin, err := nats.Connect(ext.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	js, _ := jetstream.New(admin)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := js.DeleteStream(ctx, "SV"); err != nil {
		t.Fatal(err)
	}

	var h struct {
		Status  string `json:"status"`
		Error   string `json:"error"`
		Reasons []struct {
			Check, Error string
		} `json:"reasons"`
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code := getJSON(t, "http://"+ready.HTTP+"/healthz", &h)
		if code == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz still %d %+v after the log stream was deleted", code, h)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if h.Status != "unavailable" || len(h.Reasons) != 1 || h.Reasons[0].Check != "log" ||
		!strings.Contains(h.Reasons[0].Error, "log stream SV is gone") || !strings.HasPrefix(h.Error, "log: ") {
		t.Fatalf("/healthz %+v, want unavailable with the reason log: the log stream SV is gone", h)
	}
}
