package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func authFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "auth.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestServeRefusesABadAuthFileBeforeServingAnything(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "absent.json")
	malformed := authFile(t, `{"users": [{"user": "a", "password": "p",}]}`)
	outside := authFile(t, `{"users": [{"user": "a", "password": "p", "publish": ["svsnap.>"]}]}`)
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		mention []string
	}{
		{"missing file", []string{"--nats-auth", missing}, nil, []string{missing}},
		{"malformed JSON", []string{"--nats-auth", malformed}, nil, []string{malformed, "not a valid auth file", "line 1"}},
		{"subject outside sv. from the environment", nil, map[string]string{"STREAMVIZ_NATS_AUTH": outside}, []string{outside, `publish "svsnap.>"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			httpAddr, natsAddr := freeAddr(t), freeAddr(t)
			var stdout, stderr strings.Builder
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := run(ctx, append([]string{"serve", "--addr", httpAddr, "--nats-addr", natsAddr}, tt.args...), &stdout, &stderr)
			if err == nil {
				t.Fatal("serve started with a bad auth file")
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if strings.Contains(stdout.String(), `"ready"`) {
				t.Error("a failed start printed the ready line")
			}
			// Nothing is left half-running: both addresses are free again.
			for _, addr := range []string{httpAddr, natsAddr} {
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					t.Errorf("%s still taken after the failed start: %v", addr, err)
					continue
				}
				ln.Close()
			}
		})
	}
}

func TestNATSSecurityFlagsThatDoNotFitAreUsageErrors(t *testing.T) {
	auth := authFile(t, `{"users": [{"user": "a", "password": "p"}]}`)
	tests := []struct {
		name    string
		args    []string
		mention string
	}{
		{"auth with an external bus", []string{"serve", "--nats-url", "nats://127.0.0.1:1", "--nats-auth", auth}, "--nats-auth configures the embedded NATS server"},
		{"TLS certificate with an external bus", []string{"serve", "--nats-url", "nats://127.0.0.1:1", "--nats-tls-cert", auth, "--nats-tls-key", auth}, "--nats-tls-cert"},
		{"creds without an external bus", []string{"serve", "--nats-creds", auth}, "--nats-creds is for the connection to --nats-url"},
		{"CA without an external bus", []string{"serve", "--nats-ca", auth}, "--nats-ca"},
		{"certificate without key", []string{"serve", "--nats-tls-cert", auth}, "give both or neither"},
		{"demo with auth", []string{"demo", "--nats-auth", auth}, "demo's feed publishes anonymously"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("run(%v) = %v, want a usage error mentioning %q", tt.args, err, tt.mention)
			}
		})
	}
}

func TestServeWithAuthFileAdmitsOnlyItsPublishers(t *testing.T) {
	auth := authFile(t, `{"users": [{"user": "sales", "password": "s-secret", "publish": ["sv.sales.>"]}]}`)
	ready, stop := startRun(t, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--nats-auth", auth)

	if nc, err := nats.Connect(ready.NATS, nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Fatal("an anonymous client connected")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("anonymous connect: %v, want nats.ErrAuthorization", err)
	}

	nc, err := nats.Connect(ready.NATS, nats.UserInfo("sales", "s-secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.Publish(ctx, "sv.sales.data", []byte(`{"value": 7}`)); err != nil {
		t.Fatalf("publish with credentials: %v", err)
	}
	short, cancelShort := context.WithTimeout(context.Background(), time.Second)
	defer cancelShort()
	if _, err := js.Publish(short, "sv.hr.data", []byte(`{"value": 1}`)); err == nil {
		t.Fatal("a publish outside the user's subjects was acknowledged")
	}
	var w struct {
		State struct {
			Value float64 `json:"value"`
		} `json:"state"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for getJSON(t, "http://"+ready.HTTP+"/api/widgets/sales", &w) != 200 || w.State.Value != 7 {
		if time.Now().After(deadline) {
			t.Fatalf("widget sales never showed the published value: %+v", w)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var hr map[string]any
	if code := getJSON(t, "http://"+ready.HTTP+"/api/widgets/hr", &hr); code != 404 {
		t.Fatalf("widget hr: status %d, want 404 (its update was refused)", code)
	}
	if err := stop(); err != nil {
		t.Fatalf("clean shutdown (final snapshot on the read-only connection): %v", err)
	}
}
