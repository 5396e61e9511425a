package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/gateway"
)

// Finding 12 of issue 10: --token a was taken without a word, and so was a
// dashboard on 0.0.0.0 without any authentication.
func TestStartWarnsAboutAShortToken(t *testing.T) {
	for _, tc := range []struct {
		token string
		warn  bool
	}{{"a", true}, {"fifteen-chars-x", true}, {"sixteen-chars-xy", false}} {
		_, stop, stderr := startRunLogged(t, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--token", tc.token)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		got := strings.Contains(stderr.String(), "level=WARN") && strings.Contains(stderr.String(), "characters long")
		if got != tc.warn {
			t.Errorf("token of %d characters: warned %v, want %v:\n%s", len(tc.token), got, tc.warn, stderr)
		}
	}
}

func TestExposureWarnings(t *testing.T) {
	cases := []struct {
		name, token, addr, natsAddr string
		natsAuth, external          bool
		want                        []string
	}{
		{"all on loopback, no auth", "", "127.0.0.1:3000", "127.0.0.1:4222", false, false, nil},
		{"localhost and ::1", "", "localhost:3000", "[::1]:4222", false, false, nil},
		{"dashboard on every interface without a token", "", "0.0.0.0:3000", "127.0.0.1:4222", false, false, []string{"dashboard listens beyond this machine"}},
		{"on a LAN address with a good token", "0123456789abcdef", "192.168.1.5:3000", "127.0.0.1:4222", false, false, nil},
		{"NATS on every interface without --nats-auth", "0123456789abcdef", "127.0.0.1:3000", ":4222", false, false, []string{"embedded NATS listens beyond"}},
		{"NATS on every interface with --nats-auth", "", "127.0.0.1:3000", "0.0.0.0:4222", true, false, nil},
		{"external bus", "", "127.0.0.1:3000", "0.0.0.0:4222", false, true, nil},
		{"short token everywhere", "abc", "[::]:3000", ":4222", false, false, []string{"3 characters long", "embedded NATS listens beyond"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			warnExposure(slog.New(slog.NewTextHandler(&buf, nil)), tc.token, tc.addr, tc.natsAddr, tc.natsAuth, tc.external)
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if buf.Len() == 0 {
				lines = nil
			}
			if len(lines) != len(tc.want) {
				t.Fatalf("warnings:\n%s\nwant %d: %v", buf.String(), len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(lines[i], "level=WARN") || !strings.Contains(lines[i], w) {
					t.Errorf("warning %d = %s, want one saying %q", i, lines[i], w)
				}
			}
		})
	}
}

func TestLimitFlagsReachTheServer(t *testing.T) {
	t.Setenv("STREAMVIZ_MAX_SERIES", "1")
	ready, stop := startRun(t, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--max-widgets", "2", "--max-widget-bytes", "1KiB")
	defer stop()
	publish(t, ready.NATS, map[string]string{"sv.a.data": `{"value": 1}`, "sv.b.data": `{"series": "s1", "x": 1, "y": 1}`})
	// Each is stored, refused when applied, and its publisher told which limit.
	publishRefused(t, ready.NATS, "sv.c.data", `{"value": 1}`, "widget limit reached")
	publishRefused(t, ready.NATS, "sv.b.data", `{"series": "s2", "x": 1, "y": 1}`, "series limit reached")
	publish(t, ready.NATS, map[string]string{"sv.a.data": `{"value": 2}`}) // in order after the others
	deadline := time.Now().Add(15 * time.Second)
	var h struct {
		Widgets, Rejected, Accepted int
	}
	for getJSON(t, "http://"+ready.HTTP+"/healthz", &h); h.Accepted+h.Rejected < 5 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		getJSON(t, "http://"+ready.HTTP+"/healthz", &h)
	}
	if h.Widgets != 2 || h.Rejected != 2 {
		t.Fatalf("/healthz %+v: want 2 widgets and 2 rejected (a third widget, a second series)", h)
	}
}

func TestByteSizeFlagTakesUnits(t *testing.T) {
	for in, want := range map[string]int64{"65536": 65536, "64MiB": 64 << 20, "1GiB": 1 << 30, "2KB": 2000, "10 MiB": 10 << 20} {
		var b byteSize
		if err := b.Set(in); err != nil || int64(b) != want {
			t.Errorf("%q: %d, %v; want %d", in, b, err, want)
		}
	}
	for _, in := range []string{"", "0", "-5", "12XB", "MiB", "1.5GiB", "99999999999GiB"} {
		var b byteSize
		if err := b.Set(in); err == nil {
			t.Errorf("%q accepted as %d", in, b)
		}
	}
}

// publishRefused publishes an update the server stores but refuses to apply
// and checks the answer is an error 400 naming why (docs/protocol.md §1).
func publishRefused(t *testing.T, url, subject, data, why string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = js.Publish(ctx, subject, []byte(data))
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 400 || !strings.Contains(apiErr.Description, why) {
		t.Fatalf("publish %s %s: got %v, want a 400 naming %q", subject, data, err, why)
	}
}

// The HTTP timeouts are flags (and STREAMVIZ_* variables) that reach the
// gateway's Limits; the gateway's e2e_timeouts_test.go pins what each does.
func TestHTTPTimeoutFlagsReachTheGatewaysLimits(t *testing.T) {
	env := map[string]string{"STREAMVIZ_IDLE_TIMEOUT": "4s"}
	f, err := parseServeFlags("serve", []string{"--header-timeout", "1s", "--read-timeout", "2s", "--write-timeout", "3s", "--login-timeout", "500ms"},
		io.Discard, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var cfg gateway.Config
	f.limits.apply(&cfg, "127.0.0.1:0")
	got := cfg.Limits
	want := gateway.Limits{HeaderTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 3 * time.Second, IdleTimeout: 4 * time.Second, LoginTimeout: 500 * time.Millisecond}
	if got.HeaderTimeout != want.HeaderTimeout || got.ReadTimeout != want.ReadTimeout || got.WriteTimeout != want.WriteTimeout ||
		got.IdleTimeout != want.IdleTimeout || got.LoginTimeout != want.LoginTimeout {
		t.Fatalf("limits %+v, want the timeouts of %+v", got, want)
	}
	f, err = parseServeFlags("serve", nil, io.Discard, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	f.limits.apply(&cfg, "127.0.0.1:0")
	if l := cfg.Limits; l.HeaderTimeout != gateway.DefaultHeaderTimeout || l.ReadTimeout != gateway.DefaultReadTimeout ||
		l.WriteTimeout != gateway.DefaultWriteTimeout || l.IdleTimeout != gateway.DefaultIdleTimeout || l.LoginTimeout != gateway.DefaultLoginTimeout {
		t.Fatalf("defaults: %+v", l)
	}
	for _, bad := range [][]string{{"--header-timeout", "0s"}, {"--idle-timeout", "-1s"}, {"--read-timeout", "soon"}} {
		if _, err := parseServeFlags("serve", bad, io.Discard, func(string) string { return "" }); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v, want a usage error", bad, err)
		}
	}
}

// Finding 11 of issue 10 through the flags: without a token, the dashboard
// answers the --public-url hosts and loopback names, and 421 to any other
// name (DNS rebinding); with a token, the token guards instead.
func TestPublicURLHostsAreServedAndOtherHostNamesRefusedWithoutAToken(t *testing.T) {
	get := func(addr, host, path string, header ...string) int {
		t.Helper()
		req, err := http.NewRequest("GET", "http://"+addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		for _, h := range header {
			k, v, _ := strings.Cut(h, ": ")
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s (Host %s): %v", path, host, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ready, stop := startRun(t, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
		"--public-url", "https://dash.example/streamviz/, http://intranet:8080")
	defer stop()
	_, port, _ := net.SplitHostPort(ready.HTTP)
	for host, want := range map[string]int{
		"dash.example":                  http.StatusOK,
		"dash.example:443":              http.StatusOK,
		"intranet:8080":                 http.StatusOK,
		"127.0.0.1:" + port:             http.StatusOK,
		"localhost:" + port:             http.StatusOK,
		"rebind.evil.example:" + port:   http.StatusMisdirectedRequest,
		"dash.example.evil.example":     http.StatusMisdirectedRequest,
		"intranet.evil.example:" + port: http.StatusMisdirectedRequest,
	} {
		if got := get(ready.HTTP, host, "/api/widgets"); got != want {
			t.Errorf("Host %s: /api/widgets %d, want %d", host, got, want)
		}
	}
	if got := get(ready.HTTP, "rebind.evil.example", "/healthz"); got != http.StatusOK {
		t.Errorf("/healthz under another name: %d, want 200", got)
	}

	const token = "0123456789abcdef-host"
	ready, stop2 := startRun(t, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--token", token)
	defer stop2()
	if got := get(ready.HTTP, "rebind.evil.example", "/api/widgets", "Authorization: Bearer "+token); got != http.StatusOK {
		t.Errorf("with a token, any host name with the token: %d, want 200", got)
	}
	if got := get(ready.HTTP, "rebind.evil.example", "/api/widgets"); got != http.StatusUnauthorized {
		t.Errorf("with a token, any host name without it: %d, want 401", got)
	}
}

// The --addr host is a served name like the --public-url hosts, and the
// connection bounds reach the gateway (gateway/e2e_limits_http_test.go
// and e2e_timeouts_test.go pin what they do).
func TestAddrHostAndConnectionFlagsReachTheGatewaysConfig(t *testing.T) {
	env := map[string]string{"STREAMVIZ_MAX_CONNS_PER_ADDR": "3"}
	f, err := parseServeFlags("serve", []string{"--max-conns", "7", "--public-url", "https://dash.example/x/"}, io.Discard, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var cfg gateway.Config
	f.limits.apply(&cfg, "dash.internal:3000")
	if cfg.Limits.MaxConns != 7 || cfg.Limits.MaxConnsPerAddr != 3 {
		t.Errorf("connection limits %d total, %d per address; want 7 and 3", cfg.Limits.MaxConns, cfg.Limits.MaxConnsPerAddr)
	}
	if got := strings.Join(cfg.AllowedHosts, " "); got != "dash.internal https://dash.example/x/" {
		t.Errorf("served names %q, want the --addr host and the --public-url", got)
	}
}

// Finding 12 of issue 10: a dashboard on every interface with no token took
// anyone without a word. The warning is pinned end to end, through run and
// its flags, and it must not cry wolf once a token guards the listener.
func TestServeOnEveryInterfaceWarnsOnlyWithoutAToken(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		warn bool
	}{
		{"no token", nil, true},
		{"with a token", []string{"--token", "0123456789abcdef"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--addr", "0.0.0.0:0", "--nats-addr", "127.0.0.1:0"}, tc.args...)
			_, stop, stderr := startRunLogged(t, args...)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			log := stderr.String()
			got := strings.Contains(log, "level=WARN") && strings.Contains(log, "dashboard listens beyond this machine without a token")
			if got != tc.warn {
				t.Errorf("--addr 0.0.0.0:0 %v: warned %v, want %v:\n%s", tc.args, got, tc.warn, log)
			}
		})
	}
}

// A value that does not parse was answered "parse error" and nothing more,
// on the command line and in the environment alike.
func TestAValueThatDoesNotParseSaysWhatTheFlagWants(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"duration without a unit in the environment", nil, map[string]string{"STREAMVIZ_HEADER_TIMEOUT": "10"}, `STREAMVIZ_HEADER_TIMEOUT="10": parse error: want a duration with its unit`},
		{"duration flag", []string{"--rows-linger", "abc"}, nil, `-rows-linger: parse error: want a duration with its unit`},
		{"int in the environment", nil, map[string]string{"STREAMVIZ_MAX_CONNS": "1e3"}, `STREAMVIZ_MAX_CONNS="1e3": parse error: want a whole number`},
		{"int flag", []string{"--history", "ten"}, nil, `-history: parse error: want a whole number`},
		{"bool in the environment", nil, map[string]string{"STREAMVIZ_RECOVER_STORE": "yes"}, `STREAMVIZ_RECOVER_STORE="yes": parse error: want true or false`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseServeFlags("serve", tc.args, io.Discard, func(k string) string { return tc.env[k] })
			if err == nil || !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a usage error containing %q", err, tc.want)
			}
		})
	}
}

// The hints must not make a bool flag one that needs a value.
func TestABoolFlagStillTakesNoValue(t *testing.T) {
	f, err := parseServeFlags("serve", []string{"--recover-store", "--exit-with-stdin"}, io.Discard, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if !f.recoverStore || !f.exitWithStdin {
		t.Errorf("recover-store %v, exit-with-stdin %v: want both set", f.recoverStore, f.exitWithStdin)
	}
}

func TestPublicURLTakesURLsAndHostNamesAndRefusesWhatIsNeither(t *testing.T) {
	for _, tc := range []struct {
		list string
		ok   bool
	}{
		{"https://dash.example/", true},
		{"http://dash.example:8080/board", true},
		{"dash.example", true},
		{"dash.example:8443, https://other.example/", true},
		{"10.0.0.7:3000", true},
		{"[::1]:3000", true},
		{"not a url", false},
		{"http//dash.example", false},
		{"ftp://dash.example/", false},
		{"https:///x", false},
		{"dash.example/board", false},
	} {
		err := checkPublicURLs(tc.list)
		if (err == nil) != tc.ok {
			t.Errorf("checkPublicURLs(%q) = %v, want ok %v", tc.list, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "--public-url") {
			t.Errorf("checkPublicURLs(%q) = %v, want it to name --public-url", tc.list, err)
		}
	}
}

// --max-message-bytes takes units like the other byte flags (the number
// alone as before), from the command line and the environment, and its
// bounds are checked on the bytes.
func TestMaxMessageBytesTakesUnitsLikeTheOtherByteFlags(t *testing.T) {
	cases := []struct {
		args []string
		env  string
		want int64  // bytes; 0 when refused
		err  string // in the refusal
	}{
		{nil, "", 1 << 20, ""},
		{[]string{"--max-message-bytes", "8MiB"}, "", 8 << 20, ""},
		{[]string{"--max-message-bytes", "2097152"}, "", 2 << 20, ""},
		{nil, "4MiB", 4 << 20, ""},
		{[]string{"--max-message-bytes", "65MiB"}, "", 0, "want 1KiB to 64MiB"},
		{[]string{"--max-message-bytes", "512"}, "", 0, "want 1KiB to 64MiB"},
		{[]string{"--max-message-bytes", "1.5MiB"}, "", 0, "positive size"},
	}
	for _, c := range cases {
		env := func(k string) string {
			if k == "STREAMVIZ_MAX_MESSAGE_BYTES" {
				return c.env
			}
			return ""
		}
		f, err := parseServeFlags("serve", c.args, io.Discard, env)
		if c.want == 0 {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v env %q: got %v, want an error saying %q", c.args, c.env, err, c.err)
			}
			continue
		}
		if err != nil || int64(f.maxMessageBytes) != c.want {
			t.Errorf("%v env %q: got %v, %v; want %d bytes", c.args, c.env, f, err, c.want)
		}
	}
}
