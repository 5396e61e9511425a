// Package natstest runs a plain nats-server in-process on loopback for
// tests: an operator's own deployment, which `streamviz serve --nats-url`
// joins, as opposed to the bus StreamViz embeds.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Start runs a nats-server with opts on a random loopback port and stops it
// when the test ends. Host, Port, NoLog and NoSigs are set here; JetStream
// needs opts.JetStream (and gets a temporary StoreDir when none is given).
func Start(t testing.TB, opts server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", server.RANDOM_PORT, true, true
	if opts.JetStream && opts.StoreDir == "" {
		opts.StoreDir = t.TempDir()
	}
	srv, err := server.NewServer(&opts)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}
