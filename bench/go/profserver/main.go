// Command profserver is the benchmark's profiling build of the server: the
// composition cmd/streamviz/serve.go runs (gateway.StartServer, same
// defaults), plus net/http/pprof, a goroutine count, and CPU-profile
// start/stop endpoints so the harness can profile exactly its measured phase.
// It prints the same JSON ready line. Not for production: pprof is open.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	rpprof "runtime/pprof"
	"sync"
	"syscall"
	"time"

	"github.com/streamviz/streamviz/broker"
	"github.com/streamviz/streamviz/gateway"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "HTTP listen address")
	natsAddr := flag.String("nats-addr", "127.0.0.1:0", "embedded NATS listener")
	dataDir := flag.String("data-dir", "", "JetStream storage directory (default: temporary)")
	history := flag.Int("history", 1000, "default number of points a chart keeps")
	exitWithStdin := flag.Bool("exit-with-stdin", false, "shut down when standard input closes")
	perAddr := flag.Int("max-conns-per-addr", 0, "open HTTP connections of one client address (as streamviz serve; default 1000)")
	var syncEvery time.Duration // 0: fsync every write, like streamviz serve --sync always
	flag.Func("sync", "always, or how often JetStream fsyncs (as streamviz serve --sync)", func(v string) error {
		if v == "always" {
			syncEvery = 0
			return nil
		}
		d, err := time.ParseDuration(v)
		if err == nil && d <= 0 {
			err = fmt.Errorf("want a positive interval")
		}
		syncEvery = d
		return err
	})
	flag.Parse()
	if err := run(*addr, *natsAddr, *dataDir, *history, *perAddr, *exitWithStdin, syncEvery); err != nil {
		fmt.Fprintln(os.Stderr, "profserver:", err)
		os.Exit(1)
	}
}

func run(addr, natsAddr, dataDir string, history, perAddr int, exitWithStdin bool, syncEvery time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if exitWithStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s, err := gateway.StartServer(ctx, gateway.ServerConfig{Listener: ln, Wrap: withProfiling,
		Broker:  broker.Config{Addr: natsAddr, DataDir: dataDir, SyncInterval: syncEvery},
		Gateway: gateway.Config{History: history, Logger: log, Limits: gateway.Limits{MaxConnsPerAddr: perAddr}}})
	if err != nil {
		ln.Close()
		return err
	}
	ready, _ := json.Marshal(map[string]string{"event": "ready", "http": ln.Addr().String(), "nats": s.Broker.ClientURL()})
	fmt.Println(string(ready))

	select {
	case <-ctx.Done():
	case err := <-s.Served():
		fmt.Fprintln(os.Stderr, "profserver: http:", err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer scancel()
	return s.Close(sctx)
}

// withProfiling mounts pprof and the bench endpoints beside the gateway's routes.
func withProfiling(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/bench/goroutines", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(runtime.NumGoroutine())
	})
	mux.HandleFunc("/bench/memstats", func(w http.ResponseWriter, r *http.Request) {
		// After a GC, so the heap numbers are live memory, not garbage.
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		_ = json.NewEncoder(w).Encode(map[string]uint64{
			"heap_inuse": m.HeapInuse, "heap_idle": m.HeapIdle, "heap_released": m.HeapReleased,
			"stack_inuse": m.StackInuse, "sys": m.Sys, "goroutines": uint64(runtime.NumGoroutine()),
		})
	})
	var cpu cpuProfile
	mux.HandleFunc("/bench/cpuprofile/start", cpu.start)
	mux.HandleFunc("/bench/cpuprofile/stop", cpu.stop)
	return mux
}

// cpuProfile profiles between two requests, so the harness can cover a
// phase whose length it does not know in advance.
type cpuProfile struct {
	mu sync.Mutex
	f  *os.File
}

func (p *cpuProfile) start(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f != nil {
		http.Error(w, "already profiling", http.StatusConflict)
		return
	}
	f, err := os.Create(r.URL.Query().Get("path"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := rpprof.StartCPUProfile(f); err != nil {
		f.Close()
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	p.f = f
}

func (p *cpuProfile) stop(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil {
		http.Error(w, "not profiling", http.StatusConflict)
		return
	}
	rpprof.StopCPUProfile()
	p.f.Close()
	p.f = nil
}
