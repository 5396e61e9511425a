package gateway

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
)

// Two pipelines declaring the same widget (or both titling the dashboard)
// write to one widget: the second producer's config is logged naming both,
// counted in /metrics, and a publisher asking about its config gets a
// warning naming the other producer. The same producer declaring again (a
// restarted pipeline) is no conflict.
func TestASecondProducerOfAWidgetIsLoggedCountedAndToldInTheConfigReply(t *testing.T) {
	logs := &logBuffer{}
	e := startEnv(t, Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	e.publishAndWait(t, "sv.n.config", `{"type": "stat", "producer": "host-a:/srv/orders.py"}`)
	e.publishAndWait(t, "sv.n.config", `{"type": "stat", "producer": "host-a:/srv/orders.py"}`) // a restart
	e.publishAndWait(t, "sv.$dashboard.config", `{"title": "Orders", "producer": "host-a:/srv/orders.py"}`)
	if got := e.metrics(t)["streamviz_producer_conflicts_total"]; got != 0 {
		t.Fatalf("conflicts %v before a second producer, want 0", got)
	}
	if w := e.g.ProducerWarning("sv.n.config", []byte(`{"type": "stat", "producer": "host-a:/srv/orders.py"}`)); w != "" {
		t.Errorf("the same producer was warned: %s", w)
	}

	second := `{"type": "stat", "producer": "host-b:/srv/other.py"}`
	w := e.g.ProducerWarning("sv.n.config", []byte(second))
	if !strings.Contains(w, `widget "n"`) || !strings.Contains(w, "host-a:/srv/orders.py") {
		t.Errorf("the warning for a second producer's config = %q, want one naming the widget and the first producer", w)
	}
	// The second producer's own acknowledgement says so.
	reply, err := e.nc.Request("sv.n.config", []byte(second), waitTimeout)
	if err != nil {
		t.Fatalf("request sv.n.config: %v", err)
	}
	var ack struct {
		Seq     uint64 `json:"seq"`
		Warning string `json:"warning"`
	}
	if err := json.Unmarshal(reply.Data, &ack); err != nil || ack.Seq == 0 || ack.Warning != w {
		t.Errorf("the acknowledgement of the second producer's config = %s (%v), want a stored position and the warning %q", reply.Data, err, w)
	}
	e.waitSeq(t, ack.Seq)
	e.publishAndWait(t, "sv.$dashboard.config", `{"title": "Other", "producer": "host-b:/srv/other.py"}`)
	if got := e.metrics(t)["streamviz_producer_conflicts_total"]; got != 2 {
		t.Errorf("conflicts %v, want 2 (the widget and the title)", got)
	}
	log := logs.String()
	for _, want := range []string{`widget \"n\" is declared by two producers`, "was=host-a:/srv/orders.py", "now=host-b:/srv/other.py", "the dashboard title is declared by two producers"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %q:\n%s", want, log)
		}
	}
	// The producer is the gateway's to know, not the page's.
	if cfg := string(e.widget(t, "n").Config); strings.Contains(cfg, "producer") {
		t.Errorf("the normalized config shows the producer: %s", cfg)
	}
}

// The producer of a widget's latest config (and of the title) is part of
// what the server remembers, so it survives a compaction and a restart: a
// second pipeline declaring the widget after the restart is still told who
// declared it first, and the first pipeline restarted is still no conflict.
// Before, the producer lived only in memory and the log: once a compaction
// (or the last snapshot a graceful stop writes) had purged the config, a
// restarted server had forgotten it and warned nobody.
func TestTheProducerOfAWidgetIsRememberedAcrossCompactionAndRestart(t *testing.T) {
	restarts := restartWays()
	for _, tc := range restarts {
		t.Run(tc.name, func(t *testing.T) {
			e := startEnv(t, noAutoCompaction)
			e.publishAndWait(t, "sv.n.config", `{"type": "stat", "producer": "host-a:/srv/orders.py"}`)
			e.publishAndWait(t, "sv.$dashboard.config", `{"title": "Orders", "producer": "host-a:/srv/orders.py"}`)
			e2 := tc.restart(t, e)
			for _, c := range []struct{ subject, first, second, want string }{
				{"sv.n.config", `{"type": "stat", "producer": "host-a:/srv/orders.py"}`, `{"type": "stat", "producer": "host-b:/srv/other.py"}`, `widget "n"`},
				{"sv.$dashboard.config", `{"title": "Orders", "producer": "host-a:/srv/orders.py"}`, `{"title": "Other", "producer": "host-b:/srv/other.py"}`, "the dashboard title"},
			} {
				if w := e2.g.ProducerWarning(c.subject, []byte(c.first)); w != "" {
					t.Errorf("after the restart the first producer of %s is warned: %s", c.subject, w)
				}
				reply, err := e2.nc.Request(c.subject, []byte(c.second), waitTimeout)
				if err != nil {
					t.Fatalf("request %s: %v", c.subject, err)
				}
				var ack struct {
					Seq     uint64 `json:"seq"`
					Warning string `json:"warning"`
				}
				if err := json.Unmarshal(reply.Data, &ack); err != nil || ack.Seq == 0 ||
					!strings.Contains(ack.Warning, c.want) || !strings.Contains(ack.Warning, "host-a:/srv/orders.py") {
					t.Errorf("after the restart the second producer's %s is acknowledged %s (%v), want a position and a warning naming %s and host-a:/srv/orders.py", c.subject, reply.Data, err, c.want)
				}
				e2.waitSeq(t, ack.Seq)
			}
			if got := e2.metrics(t)["streamviz_producer_conflicts_total"]; got != 2 {
				t.Errorf("conflicts %v after the restart, want 2 (the widget and the title)", got)
			}
		})
	}
}

// Pipelines started together declare their widgets at the same moment: of
// several producers' configs of one widget sent at once, every one but the
// first the gateway takes is acknowledged with the warning naming the
// producer before it. Before, the warning looked only at configs already
// applied, so a config sent while another producer's was still being stored
// went unwarned (three producers at once: in 3 rounds of 4 at most one was
// told), and the pipelines never heard of the conflict the log named.
func TestProducersDeclaringAWidgetAtOnceAreAllWarnedButTheFirst(t *testing.T) {
	e := startEnv(t, Config{})
	const producers, rounds = 3, 20
	conns := make([]*nats.Conn, producers)
	for k := range conns {
		conns[k], _ = connectPublisher(t, e.b.ClientURL(), fmt.Sprintf("pipeline-%d", k))
	}
	for r := range rounds {
		subject := fmt.Sprintf("sv.r%d.config", r)
		replies := make([]*nats.Msg, producers)
		errs := make([]error, producers)
		var wg sync.WaitGroup
		for k, nc := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				replies[k], errs[k] = nc.Request(subject, fmt.Appendf(nil, `{"type": "stat", "producer": "host:/p%d.py"}`, k), waitTimeout)
			}()
		}
		wg.Wait()
		warned := 0
		for k, m := range replies {
			if errs[k] != nil {
				t.Fatalf("request %s from producer %d: %v", subject, k, errs[k])
			}
			var ack struct {
				Seq     uint64 `json:"seq"`
				Warning string `json:"warning"`
			}
			if err := json.Unmarshal(m.Data, &ack); err != nil || ack.Seq == 0 {
				t.Fatalf("answer %s: %v", m.Data, err)
			}
			if ack.Warning != "" {
				warned++
				if !strings.Contains(ack.Warning, fmt.Sprintf("widget \"r%d\" is also declared by producer \"host:/p", r)) ||
					strings.Contains(ack.Warning, fmt.Sprintf("host:/p%d.py", k)) {
					t.Errorf("producer %d's warning %q, want one naming another producer", k, ack.Warning)
				}
			}
		}
		if warned != producers-1 {
			t.Errorf("round %d: %d of %d producers declaring %s at once were warned, want all but the first", r, warned, producers, subject)
		}
	}
}
