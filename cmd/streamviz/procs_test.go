package main

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/streamviz/streamviz/gateway"
)

// withGOMAXPROCS runs the test with Go on n threads and the GOMAXPROCS
// environment variable set to env ("" unset), restoring both after.
func withGOMAXPROCS(t *testing.T, n int, env string) {
	t.Helper()
	was := runtime.GOMAXPROCS(n)
	t.Cleanup(func() { runtime.GOMAXPROCS(was) })
	t.Setenv("GOMAXPROCS", env) // restores the variable after the test
	if env == "" {
		if err := os.Unsetenv("GOMAXPROCS"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMoreGoThreadsFromTheFirstPollOfAFloodUntilTwentyPollsWithout(t *testing.T) {
	flood, none := gateway.FloodBacklog, gateway.FloodBacklog-1
	var p procsGovernor
	steps := []struct {
		backlog, want int
	}{
		{0, 0}, {none, 0}, // below two batches: no flood
		{flood, procsRaise}, {flood * 10, 0}, // raised once
	}
	for range calmPolls - 1 {
		steps = append(steps, struct{ backlog, want int }{none, 0})
	}
	steps = append(steps, struct{ backlog, want int }{flood, 0}) // the flood again: counting starts over
	for range calmPolls - 1 {
		steps = append(steps, struct{ backlog, want int }{0, 0})
	}
	steps = append(steps, struct{ backlog, want int }{0, procsReset}, struct{ backlog, want int }{0, 0})
	for i, s := range steps {
		if got := p.step(s.backlog); got != s.want {
			t.Fatalf("poll %d (backlog %d): step = %d, want %d", i, s.backlog, got, s.want)
		}
	}
}

func TestFloodThreadsOnlyWhereGoRunsOnEveryCPUBelowEightAndTheUserSetNothing(t *testing.T) {
	for _, tc := range []struct {
		name      string
		env       string
		def, cpus int
		want      bool
	}{
		{"2 CPUs, no quota, nothing set", "", 2, 2, true},
		{"GOMAXPROCS set by the user", "2", 2, 2, false},
		{"a CPU quota of 2 on a 16-CPU machine", "", 2, 16, false},
		{"already 8 threads", "", 8, 8, false},
		{"64 CPUs", "", 64, 64, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := governed(tc.env, tc.def, tc.cpus); got != tc.want {
				t.Fatalf("governed(%q, %d, %d) = %v, want %v", tc.env, tc.def, tc.cpus, got, tc.want)
			}
		})
	}
}

// During a flood of core publishes serve runs Go on at least floodProcs
// threads, so other publishers' goroutines find one free (docs/protocol.md
// §5 "Fairness"), and goes back to Go's default after it; a GOMAXPROCS in
// the environment is the user's choice and stays.
func TestServeRunsOnMoreGoThreadsDuringACoreFloodUnlessGOMAXPROCSIsSet(t *testing.T) {
	for _, tc := range []struct {
		name        string
		env         string
		wantRaised  bool
		wantLogLine string
	}{
		{"GOMAXPROCS unset: raised during the flood, back after", "", true, "core publishes are backing up:"},
		{"GOMAXPROCS=2 set by the user: kept", "2", false, "core publishes are backing up:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withGOMAXPROCS(t, 2, tc.env)
			if tc.env == "" {
				runtime.SetDefaultGOMAXPROCS()
			}
			def := runtime.GOMAXPROCS(0)
			if !governed("", def, runtime.NumCPU()) {
				t.Skipf("Go's default here (%d threads, %d CPUs) is not raised: at least %d already, or a CPU quota", def, runtime.NumCPU(), floodProcs)
			}
			ready, stop, logs := startRunLogged(t, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--sync", "1s")
			if got := runtime.GOMAXPROCS(0); got != def {
				t.Fatalf("idle: GOMAXPROCS = %d, want Go's %d", got, def)
			}
			nc, err := nats.Connect(ready.NATS)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			// Flood until the server says it raised GOMAXPROCS (or, with the
			// variable set, until the backlog was there long enough to).
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			payload := []byte(`{"x":1,"y":2}`)
			sawRaised, sawBacklog, published := false, 0, uint64(0)
			for ctx.Err() == nil && !sawRaised && sawBacklog < 3 {
				for range 20_000 {
					if err := nc.Publish("sv.flood.data", payload); err != nil {
						t.Fatal(err)
					}
				}
				published += 20_000
				sawRaised = runtime.GOMAXPROCS(0) >= floodProcs || strings.Contains(logs.String(), tc.wantLogLine+" ")
				var h struct {
					Ingest struct {
						Queued int `json:"queued"`
					} `json:"ingest"`
				}
				if !tc.wantRaised && getJSON(t, "http://"+ready.HTTP+"/healthz", &h) == 200 && h.Ingest.Queued >= 4*gateway.FloodBacklog {
					sawBacklog++ // long enough for the polls to see it
				}
			}
			if err := nc.FlushTimeout(time.Minute); err != nil {
				t.Fatal(err)
			}
			if sawRaised != tc.wantRaised {
				t.Fatalf("raised during the flood: %v, want %v (GOMAXPROCS %d); log:\n%s", sawRaised, tc.wantRaised, runtime.GOMAXPROCS(0), logs)
			}
			if !tc.wantRaised && sawBacklog < 3 {
				t.Fatalf("the flood never backed up (%d polls saw a backlog)", sawBacklog)
			}
			// Every update is stored (or dropped and counted) before serve
			// stops: a shutdown storing a backlog on two threads under -race
			// can outlast its deadline, which is not what this test is about.
			drained, stopDraining := context.WithTimeout(context.Background(), 3*time.Minute)
			defer stopDraining()
			for {
				var h struct {
					Ingest gateway.IngestStatus `json:"ingest"`
				}
				getJSON(t, "http://"+ready.HTTP+"/healthz", &h)
				if h.Ingest.Queued == 0 && h.Ingest.Stored+h.Ingest.Dropped >= published {
					break
				}
				if drained.Err() != nil {
					t.Fatalf("the flood's %d updates were not all stored or counted (ingest: %+v)", published, h.Ingest)
				}
				time.Sleep(10 * time.Millisecond)
			}
			// Once the flood is stored, Go's default comes back.
			for runtime.GOMAXPROCS(0) != def && ctx.Err() == nil {
				time.Sleep(10 * time.Millisecond)
			}
			if got := runtime.GOMAXPROCS(0); got != def {
				t.Fatalf("after the flood: GOMAXPROCS = %d, want Go's %d", got, def)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
