package main

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"github.com/streamviz/streamviz/gateway"
)

// floodProcs is the fewest Go threads (GOMAXPROCS) serve runs Go code on
// while core publishes back up (a flood), when the environment does not set
// GOMAXPROCS: more than a small machine's cores.
//
// A flood of core publishes keeps several of the server's goroutines always
// runnable (the flooding connection's reader in the NATS server, its ingest
// lane, the gateway's validation), and Go lets each run up to 10 ms before
// it switches. An acknowledged update from another publisher wakes about
// ten goroutines in turn (its connection, its lane, the writer, the store,
// the log's consumer, the reply), and with as many Ps as a 2-core machine's
// cores each waited for such a slice. With spare Ps a woken goroutine gets
// one at once, and the kernel, which gives a thread that was asleep the CPU
// promptly, shares the cores among the threads: on the 2-core benchmark
// machine the steady publisher's median acknowledgement during a flood fell
// about 3 times (docs/benchmarks.md, "Fairness: more Go threads than cores
// during a flood"). Not all the time: with 8 Ps the fan-out of workload 3
// cost ~9% more CPU per delivery, so Go's default comes back once the
// flood is over.
const floodProcs = 8

// Polling the backlog: how often, and how many polls without a flood end one.
const (
	procsPoll  = 50 * time.Millisecond
	calmPolls  = 20
	procsRaise = 1
	procsReset = -1
)

// procsGovernor decides, poll by poll, when serve raises GOMAXPROCS for a
// flood and when it gives Go its default back.
type procsGovernor struct {
	raised bool
	calm   int // polls without a flood since raised
}

// step takes one poll's core backlog and returns procsRaise, procsReset or 0.
func (p *procsGovernor) step(backlog int) int {
	if backlog >= gateway.FloodBacklog {
		p.calm = 0
		if !p.raised {
			p.raised = true
			return procsRaise
		}
		return 0
	}
	if p.raised {
		if p.calm++; p.calm >= calmPolls {
			p.raised, p.calm = false, 0
			return procsReset
		}
	}
	return 0
}

// governed says whether serve raises GOMAXPROCS during floods, given the
// environment's GOMAXPROCS, Go's default and the CPUs the process may run
// on: not when the user set it, not when the default already reaches
// floodProcs (nothing to raise), and not when the default is below those
// CPUs. Go's default follows a container's CPU quota (cgroup cpu.max), and
// threads beyond a quota only use it up early in each period, after which
// the kernel stops the whole process, acknowledgements included.
func governed(env string, def, cpus int) bool {
	return env == "" && def < floodProcs && def >= cpus
}

// governProcs raises GOMAXPROCS to at least floodProcs while g's core
// publishes back up and restores Go's default after, until ctx ends; it
// does nothing unless governed.
func governProcs(ctx context.Context, env func(string) string, g *gateway.Gateway, log *slog.Logger) {
	if !governed(env("GOMAXPROCS"), runtime.GOMAXPROCS(0), runtime.NumCPU()) {
		return
	}
	var p procsGovernor
	t := time.NewTicker(procsPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if p.raised {
				runtime.SetDefaultGOMAXPROCS()
			}
			return
		case <-t.C:
		}
		switch p.step(g.CoreBacklog()) {
		case procsRaise:
			runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), floodProcs))
			log.Info("core publishes are backing up: Go runs on more threads until they are not, so other publishers' acknowledgements wait less", "gomaxprocs", runtime.GOMAXPROCS(0))
		case procsReset:
			runtime.SetDefaultGOMAXPROCS()
			log.Info("core publishes no longer back up: Go's default number of threads again", "gomaxprocs", runtime.GOMAXPROCS(0))
		}
	}
}
