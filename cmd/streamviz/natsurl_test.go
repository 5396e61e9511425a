package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const natsURLExample = "../../examples/nats-url/nats-server.conf"

// startNATSFromConfig starts a real nats-server with a configuration file,
// on a free loopback port and a temporary store.
func startNATSFromConfig(t *testing.T, path string) *natsserver.Server {
	t.Helper()
	opts, err := natsserver.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	opts.Host, opts.Port = "127.0.0.1", natsserver.RANDOM_PORT
	opts.StoreDir, opts.NoSigs, opts.NoLog = t.TempDir(), true, true
	srv, err := natsserver.NewServer(opts)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

// asyncErrs collects a connection's asynchronous errors (permission
// violations arrive that way).
type asyncErrs chan error

func (a asyncErrs) next(t *testing.T, want string) {
	t.Helper()
	select {
	case err := <-a:
		if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), want) {
			t.Fatalf("async error %v, want a permissions violation naming %q", err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no permissions violation for %q within 10s", want)
	}
}

// The --nats-url deployment of docs/protocol.md §7, from the example
// configuration file in the repo: the gateway runs with those rights alone
// (start, ingest, acknowledgements, the last snapshot at shutdown, the
// restore at start), and a publisher gets exactly what an anonymous one on
// the embedded bus gets. In particular the publisher's _INBOX.> (where its
// acknowledgements arrive) must not carry the gateway's consumer messages:
// with the gateway replying on _INBOX.> too, a publisher subscribed there
// read every stored update and every snapshot.
func TestNATSURLExampleConfigGivesGatewayAndPublishersTheEmbeddedBusRights(t *testing.T) {
	conf, err := os.ReadFile(natsURLExample)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	if _, block, ok := strings.Cut(string(conf), "\naccounts {"); !ok || !strings.Contains(string(doc), "accounts {"+block) {
		t.Fatalf("docs/protocol.md §7 does not show the accounts block of %s as it is", natsURLExample)
	}
	t.Setenv("GATEWAY_PASSWORD", "gw-secret-0123456789")
	t.Setenv("PIPELINE_PASSWORD", "pipe-secret-0123456789")
	srv := startNATSFromConfig(t, natsURLExample)
	port := srv.Addr().(*net.TCPAddr).Port
	gwURL := fmt.Sprintf("nats://streamviz:gw-secret-0123456789@127.0.0.1:%d", port)

	errs := make(asyncErrs, 16)
	pipe, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", port), nats.UserInfo("pipeline", "pipe-secret-0123456789"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close()
	spy, err := pipe.SubscribeSync("_INBOX.>")
	if err != nil {
		t.Fatal(err)
	}
	// Nothing a publisher receives may carry what it or others published.
	const marker = "4242.125"
	assertSpySawNoUpdate := func(when string) {
		t.Helper()
		if err := pipe.Flush(); err != nil {
			t.Fatal(err)
		}
		for {
			m, err := spy.NextMsg(0)
			if err != nil {
				return
			}
			if strings.Contains(string(m.Data), marker) {
				t.Fatalf("%s: a publisher subscribed to _INBOX.> received %s %q: it can read the gateway's log or snapshots", when, m.Subject, m.Data)
			}
		}
	}

	ready, stop := startRun(t, "serve", "--addr", "127.0.0.1:0", "--nats-url", gwURL)
	js, err := jetstream.New(pipe)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if ack, err := js.Publish(ctx, "sv.secret.data", []byte(`{"value": `+marker+`}`)); err != nil || ack.Stream != "SV" {
		t.Fatalf("acknowledged publish as pipeline: %+v, %v", ack, err)
	}
	waitValue := func(http string) {
		t.Helper()
		var w struct {
			State struct {
				Value float64 `json:"value"`
			} `json:"state"`
		}
		deadline := time.Now().Add(15 * time.Second)
		for getJSON(t, "http://"+http+"/api/widgets/secret", &w); w.State.Value != 4242.125; getJSON(t, "http://"+http+"/api/widgets/secret", &w) {
			if time.Now().After(deadline) {
				t.Fatalf("widget secret: %+v, want value %s", w, marker)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitValue(ready.HTTP)
	assertSpySawNoUpdate("after the update was stored")

	// What only the gateway may do is refused to the publisher.
	for _, stream := range []string{"SV", "SV_SNAP"} {
		dctx, dcancel := context.WithTimeout(ctx, 2*time.Second)
		if err := js.DeleteStream(dctx, stream); err == nil {
			t.Fatalf("the publisher deleted stream %s", stream)
		}
		dcancel()
		errs.next(t, "$JS.API.STREAM.DELETE."+stream)
	}
	for _, subj := range []string{"svsnap.secret.0", "svlog.x", "_SV_GW.x"} {
		if err := pipe.Publish(subj, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		errs.next(t, subj)
	}
	for _, subj := range []string{"sv.>", "svsnap.>", "svlog.>", "$JS.API.>", "_SV_GW.>"} {
		if _, err := pipe.SubscribeSync(subj); err != nil {
			t.Fatal(err)
		}
		errs.next(t, subj)
	}

	// Shutdown writes a last snapshot and purges the log; the next start
	// restores from it: every JetStream call the gateway makes, under these
	// rights.
	if err := stop(); err != nil {
		t.Fatalf("serve on the example config: %v", err)
	}
	ready, _ = startRun(t, "serve", "--addr", "127.0.0.1:0", "--nats-url", gwURL)
	waitValue(ready.HTTP)
	assertSpySawNoUpdate("after a restart restored the snapshot")
}
