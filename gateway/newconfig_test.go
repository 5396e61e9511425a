package gateway

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streamviz/streamviz/broker"
)

// A Go program that hands New a negative size, count or duration gets
// ErrBadConfig naming the field, rather than the default in its place
// (a -1 meant as "unlimited" used to become, say, 1000 points quietly).
func TestNewRefusesNegativeConfigValuesNamingTheField(t *testing.T) {
	b, err := broker.Start(context.Background(), broker.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	for _, tc := range []struct {
		field string
		cfg   Config
	}{
		{"History", Config{History: -1}},
		{"MaxQueueBytes", Config{MaxQueueBytes: -1}},
		{"MaxTableRows", Config{MaxTableRows: -1}},
		{"LogBytes", Config{LogBytes: -1}},
		{"MaxMessageBytes", Config{MaxMessageBytes: -1}},
		{"IngestQueueBytes", Config{IngestQueueBytes: -1}},
		{"CompactInterval", Config{CompactInterval: -time.Second}},
		{"DedupWindow", Config{DedupWindow: -time.Second}},
		{"RowsLinger", Config{RowsLinger: -time.Millisecond}},
		{"Limits.MaxConns", Config{Limits: Limits{MaxConns: -1}}},
		{"Limits.MaxConnsPerAddr", Config{Limits: Limits{MaxConnsPerAddr: -1}}},
		{"Limits.MaxWidgets", Config{Limits: Limits{MaxWidgets: -1}}},
		{"Limits.MaxSeries", Config{Limits: Limits{MaxSeries: -1}}},
		{"Limits.MaxWidgetBytes", Config{Limits: Limits{MaxWidgetBytes: -1}}},
		{"Limits.MaxStateBytes", Config{Limits: Limits{MaxStateBytes: -1}}},
		{"Limits.HeaderTimeout", Config{Limits: Limits{HeaderTimeout: -time.Second}}},
		{"Limits.ReadTimeout", Config{Limits: Limits{ReadTimeout: -time.Second}}},
		{"Limits.WriteTimeout", Config{Limits: Limits{WriteTimeout: -time.Second}}},
		{"Limits.IdleTimeout", Config{Limits: Limits{IdleTimeout: -time.Second}}},
		{"Limits.LoginTimeout", Config{Limits: Limits{LoginTimeout: -time.Second}}},
	} {
		t.Run(tc.field, func(t *testing.T) {
			tc.cfg.Logger = slog.New(slog.DiscardHandler)
			g, err := New(b.Conn(), tc.cfg)
			if err == nil {
				_ = g.Close(context.Background())
				t.Fatalf("New took a negative %s", tc.field)
			}
			if !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), "Config."+tc.field+" ") {
				t.Errorf("New: %v, want ErrBadConfig naming Config.%s", err, tc.field)
			}
		})
	}
	// MinFreeBytes below zero is documented to turn the disk check off.
	g, err := New(b.Conn(), Config{MinFreeBytes: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("MinFreeBytes -1: %v", err)
	}
	_ = g.Close(context.Background())
}
