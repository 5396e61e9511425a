package gateway

import (
	"encoding/json"
	"fmt"

	"github.com/streamviz/streamviz/protocol"
)

// Two pipelines that both declare a widget with the same id (or both set
// the dashboard's title) write to the same widget, which then shows
// whichever wrote last. A config names its producer (docs/protocol.md
// §1.5); the state remembers who published each widget's latest config, and
// a config from another producer is logged here, once a minute per widget,
// and counted in /metrics. ProducerWarning gives a publisher the same news
// in the reply to its config.

// logConflict is the state's onConflict: it runs with the state's lock held.
func (g *Gateway) logConflict(id, was, now string) {
	if !g.booting.Load() && g.rejects.allow("producer:"+id) {
		what := fmt.Sprintf("widget %q", id)
		if id == dashboardID {
			what = "the dashboard title"
		}
		g.log.Warn(what+" is declared by two producers: it shows whichever wrote last; give one of them another id= "+
			"(further conflicts of it are counted in /metrics, logged once a minute)", "widget", id, "was", was, "now", now)
	}
}

// ProducerWarning is the warning a publisher gets for the config it
// publishes to subject when another producer declared that widget (or the
// title) before; "" when there is none. It looks at what the state has
// applied so far; the writer also knows the configs it took and has not yet
// applied (writer.producerWarning).
func (g *Gateway) ProducerWarning(subject string, data []byte) string {
	id, kind, err := parseSubject(subject)
	if err != nil || kind != protocol.KindConfig {
		return ""
	}
	var in struct {
		Producer string `json:"producer"`
	}
	if json.Unmarshal(data, &in) != nil || in.Producer == "" {
		return ""
	}
	return conflictWarning(id, g.state.producerOf(id), in.Producer)
}

// conflictWarning is the warning for a config of id from producer when was
// declared it last; "" when that is no conflict.
func conflictWarning(id, was, producer string) string {
	if was == "" || was == producer {
		return ""
	}
	what := fmt.Sprintf("widget %q", id)
	if id == dashboardID {
		what = "the dashboard title"
	}
	return fmt.Sprintf("%s is also declared by producer %q: both write to it and it shows whichever wrote last; give one of them another id=", what, was)
}

// producerWarning is ProducerWarning for a config the writer takes, d its
// decoding, in the order the writer takes them: pipelines started together
// send their configs at once, and the second one's must be warned even while
// the first is still being stored. The writer remembers the producer of the
// latest config it took per widget (the state's, applied, for those it has
// not taken since it started); it runs on the writer's build goroutine only.
func (w *writer) producerWarning(d *decoded) string {
	id, producer := d.id, d.producer
	switch {
	case d.dash:
		id = dashboardID
	case d.cfg != nil:
		producer = d.cfg.Producer
	case d.remove:
		// Whoever declares the widget next declares a new one.
		delete(w.declared, id)
		return ""
	default:
		return ""
	}
	if producer == "" {
		return ""
	}
	was, ok := w.declared[id]
	if !ok {
		was = w.g.state.producerOf(id)
	}
	if len(w.declared) >= max(2*w.g.cfg.Limits.MaxWidgets, 1024) {
		// Configs of widgets the limit refuses cannot grow it for ever; the
		// state still knows the producers it applied.
		clear(w.declared)
	}
	w.declared[id] = producer
	return conflictWarning(id, was, producer)
}
