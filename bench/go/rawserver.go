package main

import (
	"fmt"
	"os"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// rawServer is a bare nats-server with JetStream, for the ceiling's raw
// phase: publishers of a StreamViz bus may not create streams of their own
// (docs/protocol.md §7), so "JetStream alone" runs on one like the embedded
// bus (file store, the same fsync setting), in this process.
type rawServer struct {
	srv *natsserver.Server
	dir string
}

// startRawServer starts it; syncArgs are the --sync flags given to serve.
func startRawServer(syncArgs []string) (*rawServer, error) {
	dir, err := os.MkdirTemp("", "svbench-raw-*")
	if err != nil {
		return nil, err
	}
	opts := &natsserver.Options{Host: "127.0.0.1", Port: natsserver.RANDOM_PORT, JetStream: true, StoreDir: dir, NoSigs: true, SyncAlways: true}
	for i := 0; i+1 < len(syncArgs); i += 2 {
		if syncArgs[i] == "--sync" && syncArgs[i+1] != "always" {
			d, err := time.ParseDuration(syncArgs[i+1])
			if err != nil {
				os.RemoveAll(dir)
				return nil, fmt.Errorf("--sync %q: %w", syncArgs[i+1], err)
			}
			opts.SyncAlways, opts.SyncInterval = false, d
		}
	}
	srv, err := natsserver.NewServer(opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("raw nats-server not ready")
	}
	return &rawServer{srv: srv, dir: dir}, nil
}

func (r *rawServer) url() string { return r.srv.ClientURL() }

func (r *rawServer) stop() {
	r.srv.Shutdown()
	r.srv.WaitForShutdown()
	os.RemoveAll(r.dir)
}
