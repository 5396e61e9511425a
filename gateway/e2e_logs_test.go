package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/streamviz/streamviz/broker"
)

// testCertificate is a self-signed certificate for 127.0.0.1.
func testCertificate(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Unix(0, 0), NotAfter: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestConnectionsFailingTheirTLSHandshakeInALoopCostAFewLogLines(t *testing.T) {
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	frozen := time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	s, err := StartServer(ctx, ServerConfig{
		Listener: ln, Broker: broker.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir()}, Gateway: Config{Logger: logger},
		TLS:          &tls.Config{Certificates: []tls.Certificate{testCertificate(t)}, MinVersion: tls.VersionTLS12},
		StartTimeout: startTimeout,
		// The clock stands still: every connection falls in one minute of the rate limit.
		logNow: func() time.Time { return frozen },
	})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	cases := []struct {
		name string
		send string
	}{
		{"plain HTTP to the HTTPS port", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"bytes that are no TLS record", "\x16\x03\x01\x00\x05hello"},
	}
	const attempts = 30
	for _, tc := range cases {
		for range attempts {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			c.Write([]byte(tc.send))
			// The server answers (or closes) once it has given up on the handshake, and has logged it.
			c.SetReadDeadline(time.Now().Add(time.Minute))
			c.Read(make([]byte, 512))
			c.Close()
		}
	}
	deadline := time.Now().Add(time.Minute)
	for len(logs.lines("TLS handshake error")) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := logs.lines("TLS handshake error")
	if len(got) == 0 {
		t.Fatal("no TLS handshake error logged: an operator must still see them")
	}
	if len(got) > 2*5 {
		t.Fatalf("%d lines for %d failed handshakes of 2 kinds, want at most 5 of each kind a minute:\n%s", len(got), 2*attempts, strings.Join(got, "\n"))
	}
	if held := logs.lines("not logged until"); len(held) == 0 || !strings.Contains(held[0], "until=2026-12-04T16:01:00Z") {
		t.Fatalf("no line says that further ones are held back, and until when:\n%s", strings.Join(got, "\n"))
	}
}
