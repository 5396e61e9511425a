package broker_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/streamviz/streamviz/broker"
)

// logBuffer is an slog destination the server's goroutines may write
// while the test reads it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) lines(substr string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

func TestAClientFailingToLogInOverAndOverCostsAFewLogLinesAndNeverItsPassword(t *testing.T) {
	logs := &logBuffer{}
	// The clock stands still: every attempt falls in one minute of the rate limit.
	frozen := time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)
	cfg := broker.WithLogClock(broker.Config{Logger: slog.New(slog.NewTextHandler(logs, nil))}, func() time.Time { return frozen })
	e := startAuthEnv(t, cfg)
	cases := []struct {
		name string
		opt  nats.Option
	}{
		{"a known user with a wrong password", nats.UserInfo("writer", "hunter2-wrong")},
		{"an unknown user", nats.UserInfo("stranger", "hunter2-wrong")},
	}
	const attempts = 30
	for _, tc := range cases {
		for range attempts {
			nc, err := nats.Connect(e.b.ClientURL(), tc.opt, nats.MaxReconnects(0))
			if err == nil {
				nc.Close()
				t.Fatalf("%s: connected; want an authorization error", tc.name)
			}
			if !errors.Is(err, nats.ErrAuthorization) {
				t.Fatalf("%s: err = %v, want nats.ErrAuthorization", tc.name, err)
			}
		}
	}
	// The server logs after it answers the client: wait until at least one line is there.
	deadline := time.Now().Add(time.Minute)
	for len(logs.lines("authentication error")) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := logs.lines("authentication error")
	if len(got) == 0 {
		t.Fatal("no authentication error logged: an operator must still see failing logins")
	}
	if len(got) > 5 {
		t.Fatalf("%d lines for %d failed logins, want at most 5 a minute:\n%s", len(got), 2*attempts, strings.Join(got, "\n"))
	}
	if last := got[len(got)-1]; !strings.Contains(last, "not logged until") || !strings.Contains(last, "until=2026-12-04T16:01:00Z") {
		t.Fatalf("the last line does not say that further ones are held back, and until when: %s", last)
	}
	if leaked := logs.lines("hunter2"); len(leaked) > 0 {
		t.Fatalf("a tried password is in the log:\n%s", strings.Join(leaked, "\n"))
	}
}

func TestRedactURLsHidesEachURLsPasswordOrToken(t *testing.T) {
	cases := []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://gw:pw@bus:4222", "nats://gw:redacted@bus:4222"},
		{"tls://s3cret-token@bus:4222", "tls://redacted@bus:4222"},
		{"nats://a:p1@b1:4222,nats://a:p2@b2:4222", "nats://a:redacted@b1:4222,nats://a:redacted@b2:4222"},
		{"gw:pw@bus:4222", "redacted@bus:4222"},
		{"nats://gw:p%zz@bus", "nats://redacted@bus"},
	}
	for _, tc := range cases {
		if got := broker.RedactURLs(tc.in); got != tc.want {
			t.Errorf("RedactURLs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
