package gateway

import (
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/streamviz/streamviz/protocol"
)

// metrics are the gateway's Prometheus series (docs/protocol.md §4,
// /metrics). Each gateway has its own registry, so several can live in one
// process; counters the state and the fan-out keep anyway are read at scrape time instead of
// being counted twice on the hot path.
type metrics struct {
	reg      *prometheus.Registry
	rejected *prometheus.CounterVec
	joins    *prometheus.CounterVec
	connects prometheus.Counter
	replay   prometheus.Histogram

	loginThrottled prometheus.Counter
	wsRefused      prometheus.Counter
}

func newMetrics(g *Gateway) *metrics {
	st, fo := g.state, g.fanout
	m := &metrics{
		reg: prometheus.NewRegistry(),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamviz_updates_rejected_total",
			Help: "Messages on sv.> refused, by reason (docs/protocol.md §1).",
		}, []string{"reason"}),
		joins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamviz_ws_joins_total",
			Help: "WebSocket first messages, by kind: snapshot (fresh), reset (position lost), resumed.",
		}, []string{"kind"}),
		connects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamviz_ws_connections_total",
			Help: "WebSocket connections accepted.",
		}),
		replay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamviz_ws_replay_seconds",
			Help:    "Time from the WebSocket handshake until its first message (snapshot or resume) is written.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14), // 0.5 ms .. 4 s
		}),
	}
	for _, e := range protocol.RejectReasons {
		m.rejected.WithLabelValues(e.Error()) // present from the start, at 0
	}
	m.loginThrottled = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "streamviz_login_throttled_total",
		Help: "Token attempts (login form, ?token=, Authorization) answered 429: too many wrong tokens from that address.",
	})
	m.wsRefused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "streamviz_ws_refused_total",
		Help: "WebSocket handshakes answered 503: as many sockets open as the connection limit leaves them.",
	})
	for _, k := range []string{"snapshot", "reset", "resumed"} {
		m.joins.WithLabelValues(k)
	}
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	refused := func(limit string, f func(*connLimiter) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "streamviz_http_connections_refused_total",
			Help:        "Connections closed at once because a connection limit was reached and every connection was busy, by limit (total, per_address).",
			ConstLabels: prometheus.Labels{"limit": limit}}, func() float64 { return float64(g.limiterStat(f)) })
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.rejected, m.joins, m.connects, m.replay, m.loginThrottled, m.wsRefused,
		counter("streamviz_updates_accepted_total", "Messages on sv.> applied to a widget.",
			func() float64 { return float64(st.accepted.Load()) }),
		counter("streamviz_producer_conflicts_total", "Configs of a widget or the title from another producer than its previous config's (docs/protocol.md §1.5).",
			func() float64 { return float64(st.conflict.Load()) }),
		counter("streamviz_ws_frames_sent_total", "WebSocket messages written (each a JSON array of events).",
			func() float64 { return float64(fo.frames.Load()) }),
		counter("streamviz_ws_bytes_sent_total", "Payload bytes of the WebSocket messages written.",
			func() float64 { return float64(fo.bytes.Load()) }),
		counter("streamviz_ws_slow_disconnects_total", "Sockets cut off (close 4000) for falling behind their queue bound.",
			func() float64 { return float64(fo.slow.Load()) }),
		counter("streamviz_ws_dropped_bytes_total", "Event bytes not sent to sockets that were cut off (they resume on reconnect).",
			func() float64 { return float64(fo.dropped.Load()) }),
		gauge("streamviz_ws_connections", "WebSocket connections open.",
			func() float64 { return float64(fo.count()) }),
		gauge("streamviz_ws_queued_bytes", "Event bytes waiting to be written, summed over sockets.",
			func() float64 { return float64(fo.queuedBytes()) }),
		gauge("streamviz_widgets", "Widgets known.",
			func() float64 { return float64(st.widgetCount()) }),
		gauge("streamviz_state_bytes", "What the widgets' state costs, as counted against --max-state-bytes.",
			func() float64 { return float64(st.stateTotal()) }),
		gauge("streamviz_resume_log_bytes", "Memory held by the recent events kept for resuming sockets.",
			func() float64 { return float64(g.events.memBytes()) }),
		gauge("streamviz_http_connections", "HTTP connections open (WebSockets included), when served by HTTPServer.",
			func() float64 { return float64(g.limiterStat(func(l *connLimiter) uint64 { return uint64(l.open()) })) }),
		counter("streamviz_http_connections_evicted_total", "Connections between requests closed to make room at a connection limit.",
			func() float64 { return float64(g.limiterStat(func(l *connLimiter) uint64 { return l.evicted.Load() })) }),
		refused("total", func(l *connLimiter) uint64 { return l.refusedTotal.Load() }),
		refused("per_address", func(l *connLimiter) uint64 { return l.refusedAddr.Load() }),
		counter("streamviz_updates_stored_total", "Updates stored in the log by this gateway's ingest (docs/protocol.md §5).",
			func() float64 { return float64(g.w.stored.Load()) }),
		counter("streamviz_updates_duplicates_total", "Resends not stored again: an update with their Nats-Msg-Id was stored already (docs/protocol.md §1).",
			func() float64 { return float64(g.w.duplicates.Load()) }),
		gauge("streamviz_ingest_queued", "Updates taken off the bus and not yet stored or refused.",
			func() float64 { return float64(max(0, g.w.waiting.Load())) }),
		counter("streamviz_ingest_bus_disconnects_total", "Times the bus closed the gateway's ingest connection (a slow consumer at the server); what it dropped is under streamviz_updates_dropped_total{reason=\"bus\"}.",
			func() float64 { return float64(g.w.busDisconnects()) }),
		counter("streamviz_ingest_refused_replies_total", "Acknowledgements not sent because the reply subject was not an inbox (_INBOX.>, or _R_.> from another account).",
			func() float64 { return float64(g.refusedReplies.Load()) }),
		gauge("streamviz_bus_connected", "1 while the gateway's NATS connection is up.",
			func() float64 {
				if g.nc.IsConnected() {
					return 1
				}
				return 0
			}),
	)
	for i, reason := range dropReasons {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "streamviz_updates_dropped_total",
			Help:        "Updates that reached the gateway's subscription and were neither stored nor refused as invalid, by reason.",
			ConstLabels: prometheus.Labels{"reason": reason},
		}, func() float64 { return float64(g.w.dropped[i].Load()) }))
	}
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name:        "streamviz_updates_dropped_total",
		Help:        "Updates that reached the gateway's subscription and were neither stored nor refused as invalid, by reason.",
		ConstLabels: prometheus.Labels{"reason": "client buffer"},
	}, func() float64 { return float64(g.w.clientDropped()) }))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

func (m *metrics) observeJoin(kind string, since time.Time) {
	m.joins.WithLabelValues(kind).Inc()
	m.replay.Observe(time.Since(since).Seconds())
}

// countRejected counts a refused message under its reason, or each new key a
// full table left out of an otherwise applied update.
func (g *Gateway) countRejected(err error) {
	var rr *RowsRefusedError
	var br *BytesRefusedError
	partial := false
	if errors.As(err, &rr) {
		g.metrics.rejected.WithLabelValues(ErrTableFull.Error()).Add(float64(rr.Refused))
		partial = true
	}
	if errors.As(err, &br) {
		g.metrics.rejected.WithLabelValues(rejectReason(br.Reason)).Add(float64(br.Dropped))
		partial = true
	}
	if partial {
		return
	}
	g.metrics.rejected.WithLabelValues(rejectReason(err)).Inc()
}

// limiterStat reads a figure of the connection limiter, 0 without one.
func (g *Gateway) limiterStat(f func(*connLimiter) uint64) uint64 {
	if l := g.limiter.Load(); l != nil {
		return f(l)
	}
	return 0
}
