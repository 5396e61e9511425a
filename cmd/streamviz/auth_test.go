package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const cliToken = "cli-test-token-0123456789"

func fetch(t *testing.T, c *http.Client, u string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for _, h := range header {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitWidget polls the API (with the token) until the widget's state has a value.
func waitWidget(t *testing.T, c *http.Client, base, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := fetch(t, c, base+"api/widgets/"+id, "Authorization: Bearer "+cliToken)
		if code == 200 && strings.Contains(body, `"value"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("widget %s never arrived: %d %s", id, code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeWithTokenFileRequiresTheToken(t *testing.T) {
	file := writeFile(t, "token", cliToken+"\n")
	ready, _ := startRun(t, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--token-file", file)
	publish(t, ready.NATS, map[string]string{"sv.revenue.data": `{"value": 31337}`})
	base := "http://" + ready.HTTP + "/"
	waitWidget(t, http.DefaultClient, base, "revenue")
	for _, p := range []string{"", "api/widgets", "api/widgets/revenue", "embed/revenue", "ws", "metrics"} {
		code, body := fetch(t, http.DefaultClient, base+p)
		if code != 401 || strings.Contains(body, "31337") {
			t.Errorf("GET /%s without the token: %d %s", p, code, body)
		}
	}
	if code, _ := fetch(t, http.DefaultClient, base+"healthz"); code != 200 {
		t.Errorf("/healthz must stay open: %d", code)
	}
}

func TestTokenComesFromTheEnvironmentLikeOtherFlags(t *testing.T) {
	file := writeFile(t, "token", " from-file \n")
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"STREAMVIZ_TOKEN", map[string]string{"STREAMVIZ_TOKEN": "from-env"}, nil, "from-env"},
		{"STREAMVIZ_TOKEN_FILE", map[string]string{"STREAMVIZ_TOKEN_FILE": file}, nil, "from-file"},
		{"flag over env", map[string]string{"STREAMVIZ_TOKEN": "from-env"}, []string{"--token", "from-flag"}, "from-flag"},
		{"none", nil, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseServeFlags("serve", tt.args, io.Discard, func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got, err := f.auth.token(); err != nil || got != tt.want {
				t.Errorf("token = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// --token "$DASH_TOKEN" with the variable unset served an open dashboard,
// where an empty --token-file is refused.
func TestAnEmptyTokenFlagIsRefusedNamingIt(t *testing.T) {
	for _, args := range [][]string{{"--token", ""}, {"--token="}} {
		_, err := parseServeFlags("serve", args, io.Discard, func(string) string { return "" })
		if err == nil || !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--token is empty") {
			t.Errorf("serve %q = %v, want a usage error saying --token is empty", args, err)
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "streamviz test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	certFile = writeFile(t, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))
	return certFile, keyFile, pool
}

func TestServeOverHTTPSWithAGeneratedCertificate(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	ready, stop := startRun(t, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
		"--tls-cert", certFile, "--tls-key", keyFile, "--token", cliToken)
	if ready.URL != "https://"+ready.HTTP+"/" {
		t.Fatalf("ready line url %q, want https://%s/", ready.URL, ready.HTTP)
	}
	tlsCfg := &tls.Config{RootCAs: pool}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	publish(t, ready.NATS, map[string]string{"sv.revenue.data": `{"value": 31337}`})
	waitWidget(t, client, ready.URL, "revenue")

	req, _ := http.NewRequest("GET", ready.URL+"?token="+cliToken, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var secure bool
	for _, c := range resp.Cookies() {
		secure = secure || (c.Name == "streamviz_session" && c.Secure)
	}
	if resp.StatusCode != http.StatusSeeOther || !secure {
		t.Errorf("?token= over HTTPS: %d, cookies %v: want 303 and a Secure session cookie", resp.StatusCode, resp.Header["Set-Cookie"])
	}

	d := websocket.Dialer{TLSClientConfig: tlsCfg}
	conn, _, err := d.Dial("wss://"+ready.HTTP+"/ws", http.Header{"Authorization": {"Bearer " + cliToken}})
	if err != nil {
		t.Fatalf("wss with the token: %v", err)
	}
	_, msg, err := conn.ReadMessage()
	conn.Close()
	if err != nil || !strings.Contains(string(msg), "31337") {
		t.Errorf("wss first message: %v %s", err, msg)
	}
	// Go's TLS server answers plain HTTP with a bare 400, never with content.
	if code, body := fetch(t, http.DefaultClient, "http://"+ready.HTTP+"/api/widgets/revenue", "Authorization: Bearer "+cliToken); code != http.StatusBadRequest || strings.Contains(body, "31337") {
		t.Errorf("plain HTTP to the HTTPS port: %d %s", code, body)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestEmbedURLCommandPrintsALinkTheServerHonours(t *testing.T) {
	ready, _ := startRun(t, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--token", cliToken)
	publish(t, ready.NATS, map[string]string{
		"sv.revenue.config": `{"type":"stat","title":"Revenue"}`,
		"sv.revenue.data":   `{"value": 31337}`,
		"sv.secret.data":    `{"value": 99991}`,
	})
	base := "http://" + ready.HTTP + "/"
	waitWidget(t, http.DefaultClient, base, "secret")
	t.Setenv("STREAMVIZ_TOKEN", cliToken)
	var out strings.Builder
	if err := run(context.Background(), []string{"embed-url", "revenue", "--expires", "1h", "--base-url", "http://" + ready.HTTP}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	link := strings.TrimSpace(out.String())
	u, err := url.Parse(link)
	if err != nil || u.Path != "/embed/revenue" || u.Host != ready.HTTP {
		t.Fatalf("embed-url printed %q", link)
	}
	if code, body := fetch(t, http.DefaultClient, link); code != 200 || !strings.Contains(body, `data-mode="embed"`) {
		t.Fatalf("GET the printed link: %d", code)
	}
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+ready.HTTP+"/ws?widget=revenue&"+u.RawQuery, nil)
	if err != nil {
		t.Fatalf("the link's socket: %v", err)
	}
	_, msg, err := conn.ReadMessage()
	conn.Close()
	var evs []struct {
		Widgets []struct {
			ID string `json:"id"`
		} `json:"widgets"`
	}
	if err != nil || json.Unmarshal(msg, &evs) != nil || len(evs) != 1 || len(evs[0].Widgets) != 1 || evs[0].Widgets[0].ID != "revenue" {
		t.Errorf("the link's socket: %v %s, want a snapshot of revenue alone", err, msg)
	}
	for _, p := range []string{"api/widgets/secret?", "embed/secret?", "?"} {
		if code, body := fetch(t, http.DefaultClient, base+p+u.RawQuery); code != 401 || strings.Contains(body, "99991") {
			t.Errorf("/%s with the revenue link's signature: %d", p, code)
		}
	}
}

func TestEmbedURLErrorsNameTheProblem(t *testing.T) {
	tokenFile := writeFile(t, "token", cliToken)
	for _, tt := range []struct {
		name    string
		args    []string
		env     map[string]string
		mention string
	}{
		{"no widget", []string{"--token", cliToken}, nil, "one widget id"},
		{"two widgets", []string{"a", "b", "--token", cliToken}, nil, "got 2"},
		{"no token", []string{"revenue"}, nil, "STREAMVIZ_TOKEN"},
		{"both token sources", []string{"revenue", "--token", cliToken, "--token-file", tokenFile}, nil, "--token-file"},
		{"token flag and file env", []string{"revenue", "--token", cliToken}, map[string]string{"STREAMVIZ_TOKEN_FILE": tokenFile}, "exclude"},
		{"bad widget id", []string{"a b", "--token", cliToken}, nil, `"a b"`},
		{"zero expiry", []string{"revenue", "--token", cliToken, "--expires", "0s"}, nil, "--expires"},
		{"bad expiry", []string{"revenue", "--token", cliToken, "--expires", "soon"}, nil, "soon"},
		{"bad base URL", []string{"revenue", "--token", cliToken, "--base-url", "127.0.0.1:3000"}, nil, "--base-url"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := runEmbedURL(tt.args, &out, io.Discard, func(k string) string { return tt.env[k] }, time.Now())
			if err == nil || !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("embed-url %v = %v, want a usage error mentioning %q", tt.args, err, tt.mention)
			}
			if out.Len() != 0 {
				t.Errorf("printed %q on error", out.String())
			}
		})
	}
}

func TestServeAuthAndTLSFlagErrorsNameTheProblem(t *testing.T) {
	certFile, _, _ := selfSigned(t)
	for _, tt := range []struct {
		name    string
		args    []string
		usage   bool
		mention string
	}{
		{"cert without key", []string{"--tls-cert", certFile}, true, "--tls-key"},
		{"unreadable key", []string{"--tls-cert", certFile, "--tls-key", "/nonexistent/key.pem"}, false, "/nonexistent/key.pem"},
		{"bad embed origin", []string{"--embed-origins", "https://a.example,intranet"}, true, `"intranet"`},
		{"base path not a path", []string{"--base-path", "streamviz/"}, true, `--base-path: gateway: bad config: base path "streamviz/"`},
		{"both token sources", []string{"--token", "x", "--token-file", "/tmp/t"}, true, "--token-file"},
		{"missing token file", []string{"--token-file", "/nonexistent/token"}, false, "/nonexistent/token"},
		{"token with spaces", []string{"--token", " x"}, true, "whitespace"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout strings.Builder
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0"}, tt.args...)
			err := run(ctx, args, &stdout, io.Discard)
			if err == nil || errors.Is(err, errUsage) != tt.usage || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("serve %v = %v; want usage=%v mentioning %q", tt.args, err, tt.usage, tt.mention)
			}
			if strings.Contains(stdout.String(), `"ready"`) {
				t.Errorf("a failed start printed the ready line")
			}
		})
	}
}
