// Command bench is StreamViz's Go benchmark harness (issue 4): fan-out,
// replay, ingest ceiling and soak, each against the real server (the
// streamviz binary, or the same broker+gateway assembly with pprof in
// bench/go/profserver) as a separate process on loopback, driven by nats.go
// publishers and gorilla/websocket clients in this process.
//
//	go run ./bench/go <fanout|replay|ceiling|soak|all> [--quick] [flags]
//
// Every workload prints one JSON line per repetition (and a summary line) on
// stdout and a human-readable account on stderr. Every run is bounded in
// message count and time and stops by itself.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"
)

const usageText = `usage: go run ./bench/go <workload> [flags]

workloads:
  fanout    N WebSocket clients, a publisher at R updates/s: latency, loss, server CPU and RSS
  replay    a fresh client connecting to a large retained state: time until it holds it
  ceiling   raw JetStream async-publish rate vs. updates/s applied by the gateway
  soak      a long run at a steady rate: RSS, threads, goroutines over time, loss
  sync      acknowledged publishes/s and ack latency under --sync always, 1s and nats-server's 2m
  stall     fan-out latency p99 with and without one client that stops reading
  ingest    each publisher kind end to end: core burst, sustained core rate, acked, fairness under a flood
  lowrite   what a loopback TCP write costs the writer against its size (the fan-out's write budget)
  all       every workload in turn (with --quick: well under a minute)

fanout and replay take --system pathwayviz to run the same workload against
pathway-viz 0.3.1 (bench/py/pv_server.py in bench/.venv-pv; --pv-python PATH).

common flags (after the workload):
  --quick            shrink every size so the workload runs in seconds
  --bin PATH         use this streamviz binary (default: $STREAMVIZ_BIN, else build one)
  --server KIND      streamviz (default; soak: prof) or prof: bench/go/profserver,
                     the same broker+gateway assembly plus pprof and a goroutine count
  --profile DIR      run the prof server and write CPU/heap profiles of the measured phase to DIR
  --sync VALUE       streamviz serve --sync (always, the default, or an interval such as 1s)

run "go run ./bench/go <workload> -h" for the workload's own flags.`

// workloads maps a name to its entry point; each parses its own flags.
var workloads = map[string]func(args []string) error{
	"fanout":  runFanout,
	"replay":  runReplay,
	"ceiling": runCeiling,
	"soak":    runSoak,
	"sync":    runSync,
	"stall":   runStall,
	"ingest":  runIngest,
	"lowrite": runLowrite,
	// The fairness phases' flooding publisher, run by ingest as a child.
	"ingest-flood": runFloodChild,
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprintln(os.Stderr, usageText)
		os.Exit(2)
	}
	raiseFileLimit()
	name, args := os.Args[1], os.Args[2:]
	var err error
	switch {
	case name == "all":
		err = runAll(args)
	case workloads[name] != nil:
		err = workloads[name](args)
	default:
		fmt.Fprintf(os.Stderr, "unknown workload %q\n\n%s\n", name, usageText)
		os.Exit(2)
	}
	stopSelfProfile()
	cleanupTemp()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// runAll runs every workload with the same flags; it stops at the first failure.
func runAll(args []string) error {
	for _, name := range []string{"fanout", "replay", "ceiling", "soak"} {
		logf("=== %s ===", name)
		start := time.Now()
		if err := workloads[name](args); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		logf("=== %s done in %.1fs ===", name, time.Since(start).Seconds())
	}
	return nil
}

// common holds the flags every workload takes.
type common struct {
	quick      bool
	bin        string
	server     string
	profileDir string
	selfProf   string
	serveArgs  []string // extra flags for streamviz serve (set by a workload, not the command line)
	serverEnv  []string // KEY=VALUE added to the server's environment (--server-env)
}

// newFlags makes a workload's flag set with the common flags registered.
// quick is read before parsing (see isQuick) so that the workload can pick
// its size defaults from it.
func newFlags(name string, c *common, defaultServer string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.BoolVar(&c.quick, "quick", false, "shrink every size so the run takes seconds")
	fs.StringVar(&c.bin, "bin", os.Getenv("STREAMVIZ_BIN"), "streamviz binary to run (default: $STREAMVIZ_BIN, else go build ./cmd/streamviz into a temp dir)")
	fs.StringVar(&c.server, "server", defaultServer, "server to run: streamviz or prof (bench/go/profserver: same gateway, plus pprof)")
	fs.StringVar(&c.profileDir, "profile", "", "write CPU and heap profiles of the measured phase here (implies --server prof)")
	fs.Func("sync", "pass --sync to streamviz serve (default: the server's default, always)", func(v string) error {
		c.serveArgs = append(c.serveArgs, "--sync", v)
		return nil
	})
	fs.Func("server-env", "KEY=VALUE added to the server's environment only, e.g. GOMAXPROCS=8 (repeatable)", func(v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return fmt.Errorf("want KEY=VALUE, got %q", v)
		}
		c.serverEnv = append(c.serverEnv, v)
		return nil
	})
	fs.StringVar(&c.selfProf, "self-profile", "", "write a CPU profile of this harness (the clients and publishers) to this file")
	return fs
}

// parse parses args and checks the common flags.
func (c *common) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.profileDir != "" {
		c.server = "prof"
		if err := os.MkdirAll(c.profileDir, 0o755); err != nil {
			return err
		}
	}
	if c.server != "streamviz" && c.server != "prof" {
		return fmt.Errorf("--server %q: want streamviz or prof", c.server)
	}
	if c.selfProf != "" {
		f, err := os.Create(c.selfProf)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		stopSelfProfile = func() { pprof.StopCPUProfile(); f.Close() }
	}
	return nil
}

// stopSelfProfile ends --self-profile; main calls it before exiting.
var stopSelfProfile = func() {}

// isQuick reports whether --quick is among args, before the flags are parsed,
// so the other flags can take their quick defaults.
func isQuick(args []string) bool {
	return slices.Contains(args, "--quick") || slices.Contains(args, "-quick") ||
		slices.Contains(args, "--quick=true") || slices.Contains(args, "-quick=true")
}

// pick returns quick when the run is quick, else full.
func pick[T any](quick bool, full, small T) T {
	if quick {
		return small
	}
	return full
}

// emit writes one result as a JSON line on stdout.
func emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // results are plain maps and numbers
	}
	fmt.Println(string(b))
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, a...)...)
}

// raiseFileLimit lifts the soft open-files limit to the hard one: 1000
// clients need 1000 sockets here and 1000 in the server, which inherits the
// limit. Setting it explicitly also stops os/exec from restoring the lower
// original limit for the child, which Go does after its own automatic raise.
func raiseFileLimit() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		logf("getrlimit: %v", err)
		return
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		logf("setrlimit: %v", err)
	}
}

// ms converts a duration to float milliseconds for the JSON output.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// round keeps n decimals, so the JSON stays readable.
func round(f float64, n int) float64 {
	p := 1.0
	for range n {
		p *= 10
	}
	return float64(int64(f*p+0.5*sign(f))) / p
}

func sign(f float64) float64 {
	if f < 0 {
		return -1
	}
	return 1
}
