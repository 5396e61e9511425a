package main

// The server under test runs as its own process so that its CPU and memory
// can be read from /proc without the clients' cost mixed in.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	tempOnce sync.Once
	tempDir  string
	tempErr  error
	builds   = map[string]string{} // package → built binary
)

// benchTemp is this run's scratch directory (binaries, data dirs, logs).
func benchTemp() (string, error) {
	tempOnce.Do(func() { tempDir, tempErr = os.MkdirTemp("", "svbench-*") })
	return tempDir, tempErr
}

func cleanupTemp() {
	if tempDir != "" {
		os.RemoveAll(tempDir)
	}
}

// moduleRoot finds the directory of go.mod, so the harness can build the
// server wherever it is started from inside the module.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the bench from inside the streamviz module")
	}
	return filepath.Dir(mod), nil
}

// buildBinary builds a main package of the module once per run.
func buildBinary(pkg string) (string, error) {
	if p, ok := builds[pkg]; ok {
		return p, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir, err := benchTemp()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	start := time.Now()
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	logf("built %s in %.1fs", pkg, time.Since(start).Seconds())
	builds[pkg] = out
	return out, nil
}

// server is one running server process.
type server struct {
	kind  string // "streamviz" or "prof"
	cmd   *exec.Cmd
	stdin io.WriteCloser
	HTTP  string // host:port
	NATS  string // nats://host:port
	pid   int
	log   string // its stderr
	exit  chan error
}

type readyLine struct {
	Event string `json:"event"`
	HTTP  string `json:"http"`
	NATS  string `json:"nats"`
}

// startServer builds (unless --bin) and starts the server on free loopback
// ports with a fresh data dir, and returns once it has printed its ready line.
func startServer(c *common) (*server, error) {
	dir, err := benchTemp()
	if err != nil {
		return nil, err
	}
	bin, pkg := c.bin, "./cmd/streamviz"
	if c.server == "prof" {
		bin, pkg = "", "./bench/go/profserver"
	}
	if bin == "" {
		if bin, err = buildBinary(pkg); err != nil {
			return nil, err
		}
	} else {
		logf("using the prebuilt server %s", bin)
	}
	data, err := os.MkdirTemp(dir, "data-*")
	if err != nil {
		return nil, err
	}
	args := []string{"--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--data-dir", data, "--exit-with-stdin"}
	// Every client of a benchmark comes from 127.0.0.1: the per-address
	// connection limit (1,000 by default) would count a fan-out's thousand
	// sockets as one greedy client. Both servers take the flag.
	args = append(args, "--max-conns-per-addr", "10000")
	if c.server == "streamviz" {
		args = append([]string{"serve"}, args...)
	}
	args = append(args, c.serveArgs...) // --sync: both servers take it
	s := &server{kind: c.server, log: data + ".log", exit: make(chan error, 1)}
	logFile, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, args...)
	if len(c.serverEnv) > 0 {
		s.cmd.Env = append(os.Environ(), c.serverEnv...)
	}
	s.cmd.Stderr = logFile
	// With --exit-with-stdin the server dies with this process, however it ends.
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	logFile.Close()
	s.pid = s.cmd.Process.Pid
	ready := make(chan readyLine, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var r readyLine
			if json.Unmarshal(sc.Bytes(), &r) == nil && r.Event == "ready" {
				ready <- r
			}
		}
	}()
	go func() { s.exit <- s.cmd.Wait() }()
	select {
	case r := <-ready:
		s.HTTP, s.NATS = r.HTTP, r.NATS
	case err := <-s.exit:
		return nil, fmt.Errorf("server exited before ready: %v\n%s", err, s.logTail())
	case <-time.After(60 * time.Second):
		s.kill()
		return nil, fmt.Errorf("server not ready after 60s\n%s", s.logTail())
	}
	logf("server %s pid %d: http %s, nats %s", c.server, s.pid, s.HTTP, s.NATS)
	return s, nil
}

// stop shuts the server down gracefully (it writes a last snapshot), or kills it.
func (s *server) stop() {
	s.stdin.Close()
	select {
	case <-s.exit:
	case <-time.After(20 * time.Second):
		logf("server did not stop within 20s; killing it")
		s.kill()
	}
}

func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exit
}

func (s *server) logTail() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// health is the server's /healthz answer.
type health struct {
	Status   string `json:"status"`
	Seq      uint64 `json:"seq"`
	Widgets  int    `json:"widgets"`
	Clients  int    `json:"clients"`
	Accepted uint64 `json:"accepted"`
	Rejected uint64 `json:"rejected"`
	Slow     uint64 `json:"slow_disconnects"`
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func (s *server) health() (health, error) {
	var h health
	err := s.healthz(&h)
	return h, err
}

// healthz decodes /healthz into v, whichever part of it the caller reads.
func (s *server) healthz(v any) error {
	resp, err := httpClient.Get("http://" + s.HTTP + "/healthz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// waitFor polls /healthz every interval until cond holds or timeout passes.
func (s *server) waitFor(what string, timeout, interval time.Duration, cond func(health) bool) (health, error) {
	deadline := time.Now().Add(timeout)
	for {
		h, err := s.health()
		if err == nil && cond(h) {
			return h, nil
		}
		if time.Now().After(deadline) {
			return h, fmt.Errorf("waiting for %s: not done after %v (last /healthz %+v, err %v)", what, timeout, h, err)
		}
		time.Sleep(interval)
	}
}

// waitApplied returns once the gateway has applied the log up to seq.
func (s *server) waitApplied(seq uint64, timeout time.Duration) error {
	_, err := s.waitFor(fmt.Sprintf("seq %d", seq), timeout, 5*time.Millisecond, func(h health) bool { return h.Seq >= seq })
	return err
}

// procStat is what /proc tells about a process.
type procStat struct {
	CPU     float64 // user+system seconds
	RSS     int64   // bytes
	HWM     int64   // peak RSS, bytes
	Threads int
}

// clockTick is USER_HZ, 100 on every Linux this runs on (getconf CLK_TCK).
const clockTick = 100

func readProc(pid int) (procStat, error) {
	var p procStat
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return p, err
	}
	// Fields after the command name, which may hold spaces, in parentheses.
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+2:]))
	// utime and stime are fields 14 and 15 of the line, 12 and 13 after ')'.
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	p.CPU = (ut + st) / clockTick
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			p.RSS = n << 10
		case "VmHWM":
			p.HWM = n << 10
		case "Threads":
			p.Threads = int(n)
		}
	}
	return p, nil
}

func (s *server) proc() procStat {
	p, err := readProc(s.pid)
	if err != nil {
		logf("reading /proc/%d: %v", s.pid, err)
	}
	return p
}

// settledRSS is the median of a few RSS samples, so one GC or scavenger pass
// does not decide an idle-memory number.
func (s *server) settledRSS() int64 {
	var rs []float64
	for range 5 {
		time.Sleep(200 * time.Millisecond)
		rs = append(rs, float64(s.proc().RSS))
	}
	return int64(median(rs))
}

// selfCPU is this process's CPU seconds (clients and publishers), to show
// how much of the 2-core machine the load generator itself takes.
func selfCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// goroutines asks the prof server for runtime.NumGoroutine; -1 when the
// server is the plain streamviz binary, which exposes no such thing.
func (s *server) goroutines() int {
	if s.kind != "prof" {
		return -1
	}
	resp, err := httpClient.Get("http://" + s.HTTP + "/bench/goroutines")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var n int
	if json.NewDecoder(resp.Body).Decode(&n) != nil {
		return -1
	}
	return n
}

// profiler brackets a measured phase with a CPU profile on the prof server
// and a heap profile at its end; with no --profile it does nothing.
type profiler struct {
	s    *server
	dir  string
	name string
}

func (s *server) startProfile(dir, name string) *profiler {
	if dir == "" || s.kind != "prof" {
		return nil
	}
	p := &profiler{s: s, dir: dir, name: name}
	path, _ := filepath.Abs(filepath.Join(dir, name+".cpu.pprof"))
	if err := s.get("/bench/cpuprofile/start?path="+path, nil); err != nil {
		logf("cpu profile: %v", err)
		return nil
	}
	return p
}

func (p *profiler) stop() {
	if p == nil {
		return
	}
	if err := p.s.get("/bench/cpuprofile/stop", nil); err != nil {
		logf("cpu profile: %v", err)
	}
	p.s.saveHeap(p.dir, p.name)
	logf("profiles: %s/%s.{cpu,heap}.pprof (go tool pprof -top FILE)", p.dir, p.name)
}

// saveHeap writes the prof server's heap profile to dir/name.heap.pprof.
func (s *server) saveHeap(dir, name string) {
	if dir == "" || s.kind != "prof" {
		return
	}
	f, err := os.Create(filepath.Join(dir, name+".heap.pprof"))
	if err == nil {
		err = s.get("/debug/pprof/heap?gc=1", f)
		f.Close()
	}
	if err != nil {
		logf("heap profile: %v", err)
	}
}

func (s *server) get(path string, w io.Writer) error {
	resp, err := httpClient.Get("http://" + s.HTTP + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	if w != nil {
		_, err = io.Copy(w, resp.Body)
	}
	return err
}

// machineBusy is the CPU seconds every process on the machine has used
// (/proc/stat), to tell how much of it went to other tenants of a shared box.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	var busy float64
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is already in user
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return busy / clockTick
}

// cpuMeter splits the CPU used over a phase between the server, this
// harness and everything else on the machine, in % of one core.
type cpuMeter struct {
	srv                   *server
	start                 time.Time
	server, self, machine float64
}

func (s *server) meterCPU() *cpuMeter {
	return &cpuMeter{srv: s, start: time.Now(), server: s.proc().CPU, self: selfCPU(), machine: machineBusy()}
}

func (m *cpuMeter) fields(out map[string]any) {
	wall := time.Since(m.start).Seconds()
	srv, self, all := m.srv.proc().CPU-m.server, selfCPU()-m.self, machineBusy()-m.machine
	out["server_cpu_s"] = round(srv, 2)
	out["server_cpu_pct"] = round(srv/wall*100, 1)
	out["harness_cpu_pct"] = round(self/wall*100, 1)
	out["other_cpu_pct"] = round(max(all-srv-self, 0)/wall*100, 1)
	out["machine_cpus"] = runtime.NumCPU()
}

// memStats is the prof server's runtime.MemStats digest (after a GC), or nil.
func (s *server) memStats() map[string]int64 {
	if s.kind != "prof" {
		return nil
	}
	var buf bytes.Buffer
	if err := s.get("/bench/memstats", &buf); err != nil {
		logf("memstats: %v", err)
		return nil
	}
	var m map[string]int64
	if json.Unmarshal(buf.Bytes(), &m) != nil {
		return nil
	}
	return m
}
