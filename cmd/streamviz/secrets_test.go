package main

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/streamviz/streamviz/internal/natstest"
)

func TestTheBusCredentialsInNATSURLAreNeverPrintedOrLogged(t *testing.T) {
	const secret = "Sup3r-s3cret"
	cases := []struct {
		name string
		opts natsserver.Options
		url  func(hostport string) string
		want func(hostport string) string
	}{
		{"user and password", natsserver.Options{JetStream: true, Username: "gw", Password: secret},
			func(hp string) string { return "nats://gw:" + secret + "@" + hp },
			func(hp string) string { return "nats://gw:redacted@" + hp }},
		{"a token", natsserver.Options{JetStream: true, Authorization: secret},
			func(hp string) string { return "nats://" + secret + "@" + hp },
			func(hp string) string { return "nats://redacted@" + hp }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ext := natstest.Start(t, tc.opts)
			hp := ext.Addr().String()
			ready, stop, stderr := startRunLogged(t, "serve", "--addr", "127.0.0.1:0", "--nats-url", tc.url(hp))
			if want := tc.want(hp); ready.NATS != want {
				t.Errorf("ready line nats = %q, want %q", ready.NATS, want)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(stderr.String(), secret) {
				t.Fatalf("the log carries the bus's secret:\n%s", stderr)
			}
		})
	}
}

func TestErrorsAboutANATSURLNeverCarryItsCredentials(t *testing.T) {
	const secret = "Sup3r-s3cret"
	// A port nothing listens on: the connection is refused at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	cases := []struct {
		name, url string
	}{
		{"an unreachable bus", "nats://gw:" + secret + "@" + closed},
		{"a scheme NATS does not speak", "ftp://gw:" + secret + "@bus:4222"},
		{"no host", "nats://gw:" + secret + "@"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stderr := &syncBuffer{}
			err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--nats-url", tc.url}, io.Discard, stderr)
			if err == nil {
				t.Fatal("serve started; want an error")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(stderr.String(), secret) {
				t.Fatalf("the error carries the URL's secret: %v\nstderr:\n%s", err, stderr)
			}
		})
	}
}
