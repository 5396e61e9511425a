package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// runLowrite measures what a loopback TCP write costs the writing process,
// against the write's size: the cost model behind the fan-out's write budget
// (gateway/fanout.go writesPerSecond, docs/benchmarks.md workload 3). One
// process writes the same total bytes a second to N sockets in writes of each
// size, one goroutine per write as the gateway's writers do; a child process
// (this program again) reads them. The writer's CPU (user + system, from
// getrusage) per write and per GB is what the fan-out pays: on loopback the
// receiver's TCP path runs in the writer's system call.
func runLowrite(args []string) error {
	fs := flag.NewFlagSet("lowrite", flag.ContinueOnError)
	conns := fs.Int("conns", 1000, "sockets (the readers are another process)")
	mbps := fs.Float64("mbps", 600, "MB/s written in all (workload 3 writes about 600)")
	sizesText := fs.String("sizes", "19000,27000,45000,68000", "write sizes in bytes, comma-separated")
	dur := fs.Duration("duration", 5*time.Second, "writing time per size")
	readFrom := fs.String("read-from", "", "internal: be the reading process for this address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *readFrom != "" {
		return lowriteRead(*readFrom, *conns)
	}
	var sizes []int
	for _, s := range strings.Split(*sizesText, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("--sizes: %q is not a positive byte count", s)
		}
		sizes = append(sizes, n)
	}
	for _, size := range sizes {
		if err := lowriteOne(*conns, size, *mbps*1e6, *dur); err != nil {
			return err
		}
	}
	return nil
}

// lowriteOne writes size-byte messages to conns sockets at bytesPerSec for
// dur and emits the writer's CPU per write and per GB.
func lowriteOne(conns, size int, bytesPerSec float64, dur time.Duration) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	reader := exec.Command(os.Args[0], "lowrite", "--conns", strconv.Itoa(conns), "--read-from", ln.Addr().String())
	reader.Stderr = os.Stderr
	if err := reader.Start(); err != nil {
		return err
	}
	defer func() { _ = reader.Wait() }()
	socks := make([]net.Conn, conns)
	for i := range socks {
		if socks[i], err = ln.Accept(); err != nil {
			return err
		}
	}
	defer func() {
		for _, s := range socks {
			s.Close()
		}
	}()
	msg := make([]byte, size)
	tick := time.Duration(float64(size) * float64(conns) / bytesPerSec * float64(time.Second))
	var wg sync.WaitGroup
	writes := 0
	start, cpu0 := time.Now(), processCPU()
	for next := start; time.Since(start) < dur; next = next.Add(tick) {
		time.Sleep(time.Until(next))
		wg.Add(conns)
		for _, s := range socks {
			go func() {
				defer wg.Done()
				_ = s.SetWriteDeadline(time.Now().Add(10 * time.Second))
				_, _ = s.Write(msg)
			}()
		}
		wg.Wait()
		writes += conns
	}
	elapsed, cpu := time.Since(start).Seconds(), (processCPU() - cpu0).Seconds()
	bytes := float64(writes) * float64(size)
	out := map[string]any{"workload": "lowrite", "conns": conns, "write_bytes": size, "tick_ms": round(tick.Seconds()*1e3, 2),
		"writes_per_s": round(float64(writes)/elapsed, 0), "mb_per_s": round(bytes/elapsed/1e6, 1),
		"writer_cpu_cores": round(cpu/elapsed, 3), "writer_cpu_us_per_write": round(cpu*1e6/float64(writes), 2),
		"writer_cpu_s_per_gb": round(cpu/(bytes/1e9), 3)}
	emit(out)
	logf("lowrite: %d sockets, %d-byte writes every %v: %.0f writes/s, %.0f MB/s, writer CPU %.2f cores, %.2f µs per write",
		conns, size, tick, out["writes_per_s"], out["mb_per_s"], out["writer_cpu_cores"], out["writer_cpu_us_per_write"])
	return nil
}

// lowriteRead is the reading process: it dials conns sockets and reads
// everything until the writer closes them.
func lowriteRead(addr string, conns int) error {
	var wg sync.WaitGroup
	for range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10) // what the workload-3 clients read with
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	return nil
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
