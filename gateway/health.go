package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
)

// healthCheck is one reason /healthz can answer 503: a name for the
// "reasons" list and a check that says what is wrong, or nil.
type healthCheck struct {
	name  string
	check func(context.Context) error
}

// healthChecks are run in order by Healthy and /healthz. Adding a reason
// is adding a line here.
func (g *Gateway) healthChecks() []healthCheck {
	return []healthCheck{
		{"start", g.checkStarted},
		{"bus", g.checkBus},
		{"log", g.checkLog},
		{"ingest", g.checkIngest},
	}
}

// checkIngest says why updates are not being stored: the disk or the log
// is full, or ingest is stalled (writer.status).
func (g *Gateway) checkIngest(context.Context) error {
	if p := g.w.status(time.Now()).Problem; p != "" {
		return errors.New(p)
	}
	return nil
}

// HealthReason is one failed check: which, and why.
type HealthReason struct {
	Check string `json:"check"`
	Error string `json:"error"`
}

// health runs every check; nil means healthy. Once the bus is down the
// rest cannot be asked, so they are skipped.
func (g *Gateway) health(ctx context.Context) []HealthReason {
	var out []HealthReason
	for _, c := range g.healthChecks() {
		if err := c.check(ctx); err != nil {
			out = append(out, HealthReason{Check: c.name, Error: err.Error()})
			if c.name == "bus" || c.name == "start" {
				break
			}
		}
	}
	return out
}

// Healthy reports whether the gateway can do its job: the bus answers, and
// the log it ingests still exists and is the one it started on.
func (g *Gateway) Healthy(ctx context.Context) error {
	var errs []error
	for _, r := range g.health(ctx) {
		errs = append(errs, fmt.Errorf("%s: %s", r.Check, r.Error))
	}
	return errors.Join(errs...)
}

func (g *Gateway) checkBus(ctx context.Context) error {
	if !g.nc.IsConnected() {
		return fmt.Errorf("NATS connection %s", g.nc.Status())
	}
	if down := g.w.laneDown(); down != "" {
		return fmt.Errorf("%s: updates are not being taken", down)
	}
	if _, err := g.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("JetStream: %w", err)
	}
	return nil
}

// checkLog finds the log stream gone (someone with the rights to the
// JetStream API of an external bus deleted it) or replaced by another
// (a new epoch): either way nothing published now reaches the dashboard.
func (g *Gateway) checkLog(ctx context.Context) error {
	if g.logStream == nil {
		return nil // not started yet
	}
	info, err := g.logStream.Info(ctx)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("the log stream %s is gone (deleted?): updates are no longer stored or shown; restart to begin a new log", broker.LogStream)
	}
	if err != nil {
		return fmt.Errorf("log stream %s: %w", broker.LogStream, err)
	}
	head, _ := g.events.head()
	epoch := head.Epoch
	if got := info.Config.Metadata[broker.EpochKey]; got != epoch {
		return fmt.Errorf("the log stream %s was replaced (epoch %q, this server follows %q): its consumer is gone; restart to follow the new log", broker.LogStream, got, epoch)
	}
	return nil
}
