package main

import (
	"context"
	"fmt"
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
	deleted := time.Now()
	deadline := deleted.Add(15 * time.Second)
	for {
		code := getJSON(t, "http://"+ready.HTTP+"/healthz", &h)
		if code == http.StatusServiceUnavailable {
			t.Logf("/healthz 503 %v after the log stream was deleted", time.Since(deleted).Round(time.Millisecond))
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

// Finding 14 of issue 10, "the consumer is gone": an operator with the
// JetStream API of an external bus deletes the gateway's consumers on the
// log while the log stays. The gateway makes a new one from where it was,
// so nothing stops reaching the dashboard and /healthz stays 200, truthfully.
func TestDashboardKeepsFollowingTheLogWhenItsConsumerIsDeleted(t *testing.T) {
	ext := startBareNATS(t)
	ready, _ := startRun(t, "serve", "--addr", "127.0.0.1:0", "--nats-url", ext.ClientURL())
	publish(t, ext.ClientURL(), map[string]string{"sv.w.data": `{"value": 1}`})
	waitStatValue(t, ready.HTTP, "w", 1)

	admin, err := nats.Connect(ext.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	js, _ := jetstream.New(admin)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log, err := js.Stream(ctx, "SV")
	if err != nil {
		t.Fatal(err)
	}
	deleted := 0
	for name := range log.ConsumerNames(ctx).Name() {
		if err := log.DeleteConsumer(ctx, name); err != nil {
			t.Fatal(err)
		}
		deleted++
	}
	if deleted == 0 {
		t.Fatal("the log has no consumer to delete: the gateway no longer reads it through one and this test tests nothing")
	}
	for v := 2; v <= 3; v++ {
		publish(t, ext.ClientURL(), map[string]string{"sv.w.data": fmt.Sprintf(`{"value": %d}`, v)})
		waitStatValue(t, ready.HTTP, "w", float64(v))
	}
	var h struct{ Status string }
	if code := getJSON(t, "http://"+ready.HTTP+"/healthz", &h); code != http.StatusOK {
		t.Fatalf("/healthz %d %+v while the dashboard follows the log", code, h)
	}
}

// waitStatValue waits until widget id's state holds value.
func waitStatValue(t *testing.T, httpAddr, id string, value float64) {
	t.Helper()
	var w struct {
		State struct{ Value float64 } `json:"state"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for getJSON(t, "http://"+httpAddr+"/api/widgets/"+id, &w); w.State.Value != value; getJSON(t, "http://"+httpAddr+"/api/widgets/"+id, &w) {
		if time.Now().After(deadline) {
			t.Fatalf("widget %s: state value %v, want %v", id, w.State.Value, value)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
