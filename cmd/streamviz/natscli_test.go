package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// natsCLI finds the official `nats` CLI that scripts/setup-test.sh builds
// into bin/ (or $STREAMVIZ_NATS_CLI, or PATH).
func natsCLI(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("STREAMVIZ_NATS_CLI"), filepath.Join("..", "..", "bin", "nats")} {
		if p != "" {
			if abs, err := filepath.Abs(p); err == nil {
				if _, err := os.Stat(abs); err == nil {
					return abs
				}
			}
		}
	}
	if p, err := exec.LookPath("nats"); err == nil {
		return p
	}
	t.Skip("the nats CLI is not built: run scripts/setup-test.sh (make setup-test)")
	return ""
}

// readmeNATSLines returns the README's `nats pub` and `nats req` lines, verbatim.
func readmeNATSLines(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "nats pub ") || strings.HasPrefix(l, "nats req ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// The README's `nats` lines, run verbatim with the official CLI against
// `streamviz serve`, reach the dashboard; `nats req` gets a JetStream
// acknowledgement back.
func TestTheREADMEsNatsCLILinesReachTheDashboard(t *testing.T) {
	cli := natsCLI(t)
	lines := readmeNATSLines(t)
	var pubs, reqs int
	for _, l := range lines {
		if strings.HasPrefix(l, "nats req ") {
			reqs++
		} else {
			pubs++
		}
	}
	if pubs == 0 || reqs == 0 {
		t.Fatalf("the README shows %d nats pub and %d nats req lines, want both", pubs, reqs)
	}
	ready, stop := startRun(t, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0")
	defer stop()
	dir := t.TempDir()
	for _, l := range lines {
		cmd := exec.Command("sh", "-c", l)
		// The CLI's own settings: the server, and no context file from elsewhere.
		cmd.Env = append(os.Environ(), "NATS_URL="+ready.NATS, "HOME="+dir, "XDG_CONFIG_HOME="+dir,
			"PATH="+filepath.Dir(cli)+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", l, err, out)
		}
		if strings.HasPrefix(l, "nats req ") && !strings.Contains(string(out), `"stream":"SV"`) {
			t.Errorf("%s answered\n%s\nwant a JetStream acknowledgement from stream SV", l, out)
		}
	}
	var widgets []struct {
		ID string `json:"id"`
	}
	want := map[string]bool{}
	for _, l := range lines {
		want[strings.Split(strings.Fields(l)[2], ".")[1]] = true
	}
	waitFor(t, func() bool {
		getJSON(t, "http://"+ready.HTTP+"/api/widgets", &widgets)
		return len(widgets) == len(want)
	}, "every widget the README's lines publish to")
	for _, w := range widgets {
		if !want[w.ID] {
			t.Errorf("unexpected widget %q", w.ID)
		}
	}
	var rev struct {
		State struct {
			Value float64 `json:"value"`
		} `json:"state"`
	}
	waitFor(t, func() bool {
		getJSON(t, "http://"+ready.HTTP+"/api/widgets/revenue", &rev)
		return rev.State.Value == 1250
	}, "the acknowledged revenue value")
}

// waitFor polls cond every 20 ms for up to 15 s.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
