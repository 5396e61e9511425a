// Command mount is the README's "Embedding in a Go program" example as a
// whole program: the embedded bus, the gateway, and the dashboard mounted
// under /dash/ of an ordinary net/http server. The tests build and run it
// (its own test in-process, tests/browser in Chromium), so the README's
// snippet is known to work as written.
//
// It prints one JSON line once it serves: {"http": "host:port", "nats": "nats://..."}.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/streamviz/streamviz/broker"
	"github.com/streamviz/streamviz/gateway"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mount:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. It mounts on http.DefaultServeMux, as the
// README does, so it runs once per process.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("mount", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "HTTP listen address")
	natsAddr := fs.String("nats-addr", "127.0.0.1:4222", "the embedded bus's address for publishers")
	dataDir := fs.String("data-dir", "", "JetStream storage (default: a temporary directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()

	// From here to http.Handle: the README's snippet as written there (main_test.go checks).
	b, err := broker.Start(ctx, broker.Config{Addr: *natsAddr, DataDir: *dataDir})
	if err != nil {
		return err
	}
	defer b.Close()
	g, err := gateway.New(b.Conn(), gateway.Config{IngestSubjects: b.IngestSubjects()})
	if err != nil {
		return err
	}
	if err := g.Start(ctx); err != nil {
		return err
	}
	defer g.Close(context.Background())
	http.Handle("/dash/", http.StripPrefix("/dash", g.Handler()))

	srv := &http.Server{}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	ready, _ := json.Marshal(map[string]string{"http": ln.Addr().String(), "nats": b.ClientURL()})
	fmt.Fprintln(stdout, string(ready))
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		return err
	}
	return nil
}
