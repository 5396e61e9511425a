package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/streamviz/streamviz/broker"
	"github.com/streamviz/streamviz/gateway"
)

// A Go program embeds the bus, mounts the dashboard under /dash/ of its
// own mux beside its own routes, and publishes an update as any NATS
// client would. Open /dash/ in a browser to see it.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "streamviz-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// Port 0: any free port (the default is 127.0.0.1:4222).
	b, err := broker.Start(ctx, broker.Config{Addr: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	g, err := gateway.New(b.Conn(), gateway.Config{
		IngestSubjects: b.IngestSubjects(),
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := g.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer g.Close(context.Background())

	mux := http.NewServeMux()
	mux.Handle("/dash/", http.StripPrefix("/dash", g.Handler()))
	mux.HandleFunc("/hello", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") })
	srv := httptest.NewServer(mux) // or http.ListenAndServe(addr, mux)
	defer srv.Close()

	// A publisher: nc.Request waits until the update is stored and applied.
	nc, err := nats.Connect(b.ClientURL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Request("sv.revenue.config", []byte(`{"type":"stat","title":"Revenue","unit":"$"}`), 10*time.Second); err != nil {
		log.Fatal(err)
	}
	if _, err := nc.Request("sv.revenue.data", []byte(`{"value":1234.5}`), 10*time.Second); err != nil {
		log.Fatal(err)
	}

	var w struct {
		Config struct{ Title string }
		State  struct{ Value float64 }
	}
	resp, err := http.Get(srv.URL + "/dash/api/widgets/revenue")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&w); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %s = %v\n", resp.Status, w.Config.Title, w.State.Value)
	// Output:
	// 200 OK: Revenue = 1234.5
}
