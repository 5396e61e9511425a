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
	if g.rejects.allow("producer:" + id) {
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
// applied so far, so a config published in the same instant as the other
// may go unwarned here; the gateway's log still names both.
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
	was := g.state.producerOf(id)
	if was == "" || was == in.Producer {
		return ""
	}
	what := fmt.Sprintf("widget %q", id)
	if id == dashboardID {
		what = "the dashboard title"
	}
	return fmt.Sprintf("%s is also declared by producer %q: both write to it and it shows whichever wrote last; give one of them another id=", what, was)
}
