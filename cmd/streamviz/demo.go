package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// demoConfigs exercise every widget type through the documented subjects.
var demoConfigs = map[string]any{
	"$dashboard":     map[string]any{"title": "StreamViz demo: synthetic orders"},
	"revenue":        map[string]any{"type": "stat", "title": "Revenue", "unit": "$", "format": ",.0f", "order": 1},
	"load":           map[string]any{"type": "gauge", "title": "Checkout load", "unit": "%", "min": 0, "max": 100, "order": 2, "thresholds": [][]any{{50, "#22c55e"}, {80, "#eab308"}, {100, "#ef4444"}}},
	"orders_per_sec": map[string]any{"type": "chart", "title": "Orders per second", "chart_type": "line", "max_points": 600, "order": 3},
	"regions": map[string]any{"type": "table", "title": "Orders by region", "order": 4,
		"columns": []string{"region", "orders", "revenue", "avg_basket"}, "sort_by": "revenue", "sort_desc": true,
		"column_labels": map[string]string{"avg_basket": "Avg basket"}, "column_format": map[string]string{"revenue": ",.0f", "avg_basket": ".2f"}},
}

// runDemoFeed publishes synthetic orders every 200 ms until ctx ends.
func runDemoFeed(ctx context.Context, url string, log *slog.Logger) error {
	nc, err := nats.Connect(url, nats.Name("streamviz-demo"), nats.MaxReconnects(-1))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(256))
	if err != nil {
		return err
	}
	pub := func(subject string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = js.PublishAsync(subject, b)
		return err
	}
	for id, cfg := range demoConfigs {
		if err := pub("sv."+id+".config", cfg); err != nil {
			return fmt.Errorf("publish %s config: %w", id, err)
		}
	}
	type region struct {
		orders  int
		revenue float64
	}
	names := []string{"eu-west", "eu-north", "us-east", "us-west", "apac", "latam"}
	regions := make([]region, len(names))
	total, load := 0.0, 40.0
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	log.Info("demo feed publishing", "widgets", len(demoConfigs)-1)
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		now := time.Now()
		wave := 1 + 0.5*math.Sin(float64(n)/25)
		count := rand.IntN(int(20*wave)) + 1
		var ops []map[string]any
		touched := map[int]bool{}
		for range count {
			i := rand.IntN(len(names))
			amount := 20 + rand.ExpFloat64()*40
			regions[i].orders++
			regions[i].revenue += amount
			total += amount
			touched[i] = true
		}
		for i := range touched {
			r := regions[i]
			ops = append(ops, map[string]any{"key": names[i], "row": map[string]any{
				"region": names[i], "orders": r.orders, "revenue": r.revenue, "avg_basket": r.revenue / float64(r.orders)}})
		}
		load = math.Max(0, math.Min(100, load+rand.NormFloat64()*4+(50-load)*0.05))
		for _, m := range []struct {
			subject string
			v       any
		}{
			{"sv.revenue.data", map[string]any{"value": total}},
			{"sv.load.data", map[string]any{"value": load}},
			{"sv.orders_per_sec.data", map[string]any{"x": now.UnixMilli(), "y": float64(count) * 5}},
			{"sv.regions.data", map[string]any{"ops": ops}},
		} {
			if err := pub(m.subject, m.v); err != nil {
				log.Warn("demo publish", "subject", m.subject, "err", err)
			}
		}
	}
}
