package broker_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"golang.org/x/crypto/bcrypt"

	"github.com/streamviz/streamviz/broker"
	"github.com/streamviz/streamviz/gateway"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadAuthFileRefusesBadFilesNamingFileAndProblem(t *testing.T) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	cases := []struct {
		name, content, want string
	}{
		{"not JSON", "{\"users\": [\n{\"user\": \"a\",, }]}", "line 2"},
		{"misspelt field", `{"users": [{"user": "a", "password": "p", "pubish": ["sv.a.>"]}]}`, `unknown field "pubish"`},
		{"no users", `{"users": []}`, "lists no users"},
		{"neither name nor nkey", `{"users": [{"password": "p"}]}`, `users[0]: needs "user" and "password", or "nkey"`},
		{"empty password", `{"users": [{"user": "a"}]}`, `users[0] ("a"): "password" is missing`},
		{"both kinds", `{"users": [{"user": "a", "password": "p", "nkey": "UX"}]}`, "not both"},
		{"seed instead of public key", `{"users": [{"nkey": "` + string(seed) + `"}]}`, "not a user public key"},
		{"reserved name", `{"users": [{"user": "streamviz-gateway", "password": "p"}]}`, "reserved"},
		{"listed twice", `{"users": [{"user": "a", "password": "p"}, {"user": "a", "password": "q"}]}`, `users[1] ("a"): listed twice`},
		{"subject outside sv", `{"users": [{"user": "a", "password": "p", "publish": ["svsnap.>"]}]}`, `publish "svsnap.>": publishers may only be given subjects under sv.`},
		{"invalid pattern", `{"users": [{"user": "a", "password": "p", "publish": ["sv..x"]}]}`, `publish "sv..x": not a valid NATS subject pattern`},
		{"trailing content", `{"users": [{"user": "a", "password": "p"}]} {}`, "content after the JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "auth.json", tc.content)
			_, err := broker.ReadAuthFile(path)
			if !errors.Is(err, broker.ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %q, want it to name %s and say %q", err, path, tc.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "absent.json")
		_, err := broker.ReadAuthFile(path)
		if !errors.Is(err, broker.ErrConfig) || !errors.Is(err, os.ErrNotExist) && !strings.Contains(err.Error(), "no such file") || !strings.Contains(err.Error(), path) {
			t.Fatalf("err = %v, want ErrConfig naming %s as missing", err, path)
		}
	})
}

// authEnv is an embedded bus with publishers from an auth file and a
// gateway ingesting from it over its own (read-only) connection.
type authEnv struct {
	b      *broker.Broker
	api    *httptest.Server
	nkey   nkeys.KeyPair
	hashed string // the stored bcrypt hash of user "hashed"
	users  []broker.AuthUser
	dir    string // the data dir
}

func startAuthEnv(t *testing.T, extra broker.Config) *authEnv {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	// MinCost keeps the test quick; the server checks any cost the same way.
	hash, err := bcrypt.GenerateFromPassword([]byte("h-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	content := `{"users": [
		{"user": "writer", "password": "w-secret"},
		{"user": "hashed", "password": "` + string(hash) + `", "publish": ["sv.hashed.>"]},
		{"user": "sales", "password": "s-secret", "publish": ["sv.sales.>", "sv.sales_eu.>"]},
		{"nkey": "` + pub + `", "publish": ["sv.*.data"]}
	]}`
	users, err := broker.ReadAuthFile(writeFile(t, "auth.json", content))
	if err != nil {
		t.Fatal(err)
	}
	cfg := extra
	cfg.Addr, cfg.Users = "127.0.0.1:0", users
	cfg.DataDir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := broker.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(b.Conn(), gateway.Config{IngestSubjects: b.IngestSubjects()})
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	if err := g.Start(ctx); err != nil {
		b.Close()
		t.Fatalf("the gateway cannot start on its read-only connection: %v", err)
	}
	api := httptest.NewServer(g.Handler())
	t.Cleanup(func() {
		api.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := g.Close(ctx); err != nil {
			t.Errorf("gateway close (final snapshot on the read-only connection): %v", err)
		}
		if err := b.Close(); err != nil {
			t.Errorf("broker close: %v", err)
		}
	})
	return &authEnv{b: b, api: api, nkey: kp, hashed: string(hash), users: users, dir: cfg.DataDir}
}

// errs collects a connection's asynchronous errors (permission violations).
type errs chan error

func (e errs) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	select {
	case e <- err:
	default:
	}
}

func (e errs) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-e:
		return err
	case <-time.After(time.Minute):
		t.Fatal("no asynchronous error from the server")
		return nil
	}
}

func connectAs(t *testing.T, url string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream, errs) {
	t.Helper()
	ch := make(errs, 8)
	nc, err := nats.Connect(url, append([]nats.Option{nats.ErrorHandler(ch.handler), nats.MaxReconnects(0)}, opts...)...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js, ch
}

// publish sends with a JetStream acknowledgement, waiting for it as long as
// a loaded CI machine may need.
func publish(js jetstream.JetStream, subject, payload string) (*jetstream.PubAck, error) {
	return publishWithin(js, time.Minute, subject, payload)
}

// publishWithin is publish giving up after d: a publish that must be refused
// is dropped by the server, so no ack ever comes, and a second is enough.
func publishWithin(js jetstream.JetStream, d time.Duration, subject, payload string) (*jetstream.PubAck, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return js.Publish(ctx, subject, []byte(payload))
}

func (e *authEnv) waitWidget(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // generous: a loaded CI machine
	for time.Now().Before(deadline) {
		resp, err := http.Get(e.api.URL + "/api/widgets/" + id)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the gateway never ingested widget %q", id)
}

func (e *authEnv) waitSeq(t *testing.T, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // generous: a loaded CI machine
	for e.logLastSeq(t) < seq {
		if time.Now().After(deadline) {
			t.Fatalf("the gateway never applied update %d", seq)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logLastSeq is the last update the gateway applied (publishers cannot read
// stream info, and the gateway's position is the one that matters).
func (e *authEnv) logLastSeq(t *testing.T) uint64 {
	t.Helper()
	return e.healthz(t).Seq
}

func TestPublisherWithRightsGetsAcknowledgedAndTheGatewayIngests(t *testing.T) {
	e := startAuthEnv(t, broker.Config{})
	cases := []struct {
		name    string
		opts    []nats.Option
		subject string
	}{
		{"password user with every widget", []nats.Option{nats.UserInfo("writer", "w-secret")}, "sv.anything.data"},
		{"password user on its own widget", []nats.Option{nats.UserInfo("sales", "s-secret")}, "sv.sales.data"},
		{"password user on its second widget", []nats.Option{nats.UserInfo("sales", "s-secret")}, "sv.sales_eu.data"},
		{"nkey user", []nats.Option{nkeyOption(t, e.nkey)}, "sv.by_nkey.data"},
		{"user with a bcrypt-hashed password", []nats.Option{nats.UserInfo("hashed", "h-secret")}, "sv.hashed.data"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, js, _ := connectAs(t, e.b.ClientURL(), tc.opts...)
			ack, err := publish(js, tc.subject, `{"value": 1}`)
			if err != nil {
				t.Fatalf("publish %s: %v", tc.subject, err)
			}
			if ack.Stream != broker.LogStream {
				t.Fatalf("acknowledged by stream %q, want %s", ack.Stream, broker.LogStream)
			}
			e.waitWidget(t, strings.Split(tc.subject, ".")[1])
		})
	}
}

func nkeyOption(t *testing.T, kp nkeys.KeyPair) nats.Option {
	t.Helper()
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return nats.Nkey(pub, kp.Sign)
}

func TestPublisherOutsideItsSubjectsIsRefused(t *testing.T) {
	e := startAuthEnv(t, broker.Config{})
	cases := []struct {
		name    string
		opts    []nats.Option
		subject string
	}{
		{"another widget", []nats.Option{nats.UserInfo("sales", "s-secret")}, "sv.marketing.data"},
		{"a widget whose id only starts like its own", []nats.Option{nats.UserInfo("sales", "s-secret")}, "sv.sales2.data"},
		{"the dashboard title", []nats.Option{nats.UserInfo("sales", "s-secret")}, "sv.$dashboard.config"},
		{"config when only data is allowed", []nats.Option{nkeyOption(t, e.nkey)}, "sv.x.config"},
		{"the snapshot stream", []nats.Option{nats.UserInfo("writer", "w-secret")}, "svsnap.x.0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.logLastSeq(t)
			_, js, async := connectAs(t, e.b.ClientURL(), tc.opts...)
			if _, err := publishWithin(js, time.Second, tc.subject, `{"value": 1}`); err == nil {
				t.Fatalf("publish to %s was acknowledged; want it refused", tc.subject)
			}
			err := async.wait(t)
			if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), tc.subject) {
				t.Fatalf("async error = %v, want a permissions violation naming %s", err, tc.subject)
			}
			// A later allowed publish lands right after the earlier ones: nothing refused was stored.
			_, wjs, _ := connectAs(t, e.b.ClientURL(), nats.UserInfo("writer", "w-secret"))
			ack, err := publish(wjs, "sv.marker.data", `{"value": 2}`)
			if err != nil {
				t.Fatal(err)
			}
			// Positions are <stored message> << 16 | <record> (docs/protocol.md §5).
			if ack.Sequence>>16 != before>>16+1 {
				t.Fatalf("marker stored at %d, want the message after %d: a refused message reached the log", ack.Sequence, before)
			}
			e.waitSeq(t, ack.Sequence) // the next case starts from here
		})
	}
}

func TestPublishersCannotReadTheLog(t *testing.T) {
	e := startAuthEnv(t, broker.Config{})
	nc, js, async := connectAs(t, e.b.ClientURL(), nats.UserInfo("writer", "w-secret"))
	if _, err := nc.SubscribeSync("sv.>"); err != nil {
		t.Fatal(err)
	}
	if err := async.wait(t); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("subscribing to sv.> gave %v, want a permissions violation", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := js.Stream(ctx, broker.LogStream); err == nil {
		t.Fatal("a publisher could look up the log stream through the JetStream API")
	}
}

func TestUnauthenticatedClientsAreRefused(t *testing.T) {
	e := startAuthEnv(t, broker.Config{})
	cases := []struct {
		name string
		opts []nats.Option
	}{
		{"anonymous", nil},
		{"wrong password", []nats.Option{nats.UserInfo("writer", "nope")}},
		{"the bcrypt hash as the password", []nats.Option{nats.UserInfo("hashed", e.hashed)}},
		{"unknown user", []nats.Option{nats.UserInfo("stranger", "w-secret")}},
		{"unknown nkey", []nats.Option{nkeyOption(t, mustUser(t))}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := nats.Connect(e.b.ClientURL(), append(tc.opts, nats.MaxReconnects(0))...)
			if err == nil {
				nc.Close()
				t.Fatal("connected; want an authorization error")
			}
			if !errors.Is(err, nats.ErrAuthorization) {
				t.Fatalf("err = %v, want nats.ErrAuthorization", err)
			}
		})
	}
}

func mustUser(t *testing.T) nkeys.KeyPair {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func TestGatewayConnectionCannotPublishUpdates(t *testing.T) {
	e := startAuthEnv(t, broker.Config{})
	before := e.logLastSeq(t)
	js, err := jetstream.New(e.b.Conn())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publishWithin(js, time.Second, "sv.forged.data", `{"value": 1}`); err == nil {
		t.Fatal("the gateway's connection published an update")
	}
	if err := e.b.Conn().LastError(); !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), "sv.forged.data") {
		t.Fatalf("last error = %v, want a permissions violation for sv.forged.data", err)
	}
	_, wjs, _ := connectAs(t, e.b.ClientURL(), nats.UserInfo("writer", "w-secret"))
	ack, err := publish(wjs, "sv.after.data", `{"value": 1}`)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Sequence>>16 != before>>16+1 {
		t.Fatalf("next update stored at %d, want the message after %d: the forged one reached the log", ack.Sequence, before)
	}
	e.waitWidget(t, "after")
}

// selfSigned writes a certificate for 127.0.0.1 and its key, made now.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "streamviz test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeFile(t, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	return certFile, keyFile
}

func TestTLSListenerAcceptsTLSClientsAndRefusesPlaintext(t *testing.T) {
	cert, key := selfSigned(t)
	e := startAuthEnv(t, broker.Config{TLSCert: cert, TLSKey: key})
	if !strings.HasPrefix(e.b.ClientURL(), "tls://") {
		t.Fatalf("ClientURL = %s, want tls://", e.b.ClientURL())
	}
	t.Run("TLS client trusting the certificate", func(t *testing.T) {
		_, js, _ := connectAs(t, e.b.ClientURL(), nats.RootCAs(cert), nats.UserInfo("writer", "w-secret"))
		if _, err := publish(js, "sv.over_tls.data", `{"value": 1}`); err != nil {
			t.Fatal(err)
		}
		e.waitWidget(t, "over_tls")
	})
	t.Run("TLS client not trusting it", func(t *testing.T) {
		nc, err := nats.Connect(e.b.ClientURL(), nats.UserInfo("writer", "w-secret"), nats.MaxReconnects(0))
		if err == nil {
			nc.Close()
			t.Fatal("connected without trusting the certificate")
		}
	})
	t.Run("plaintext", func(t *testing.T) {
		host := strings.TrimPrefix(e.b.ClientURL(), "tls://")
		conn, err := net.DialTimeout("tcp", host, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(conn)
		info, err := r.ReadString('\n')
		if err != nil || !strings.Contains(info, `"tls_required":true`) {
			t.Fatalf("INFO = %q (%v), want tls_required", info, err)
		}
		if _, err := conn.Write([]byte("CONNECT {\"user\":\"writer\",\"pass\":\"w-secret\"}\r\nPING\r\n")); err != nil {
			t.Fatal(err)
		}
		line, _ := r.ReadString('\n')
		if strings.HasPrefix(line, "PONG") {
			t.Fatal("the server answered a plaintext client")
		}
	})
}

func TestExternalBusIsVerifiedWithTheCAFile(t *testing.T) {
	cert, key := selfSigned(t)
	e := startAuthEnv(t, broker.Config{TLSCert: cert, TLSKey: key})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// User and password travel in the URL; the CA file verifies the server.
	url := strings.Replace(e.b.ClientURL(), "tls://", "tls://writer:w-secret@", 1)
	b, err := broker.Start(ctx, broker.Config{URL: url, CAFile: cert, ConnectTimeout: 3 * time.Second})
	if err != nil {
		t.Fatalf("connect with --nats-ca: %v", err)
	}
	b.Close()
	if b, err := broker.Start(ctx, broker.Config{URL: url, ConnectTimeout: 3 * time.Second}); err == nil {
		b.Close()
		t.Fatal("connected to a server whose certificate no root vouches for")
	}
}

func TestSecurityOptionsThatDoNotFitAreConfigErrors(t *testing.T) {
	cert, _ := selfSigned(t)
	cases := []struct {
		name string
		cfg  broker.Config
		want string
	}{
		{"certificate without key", broker.Config{Addr: "127.0.0.1:0", TLSCert: cert}, "give both or neither"},
		{"key is not a key", broker.Config{Addr: "127.0.0.1:0", TLSCert: cert, TLSKey: cert}, "--nats-tls-key"},
		{"auth with an external bus", broker.Config{URL: "nats://127.0.0.1:1", Users: []broker.AuthUser{{User: "a", Password: "p"}}}, "cannot be used with --nats-url"},
		{"creds for the embedded bus", broker.Config{CredsFile: cert}, "--nats-creds and --nats-ca are for connecting to --nats-url"},
		{"unreadable creds", broker.Config{URL: "nats://127.0.0.1:1", CredsFile: filepath.Join(t.TempDir(), "none.creds")}, "--nats-creds"},
		{"bad user given directly", broker.Config{Addr: "127.0.0.1:0", Users: []broker.AuthUser{{User: "a", Password: "p", Publish: []string{">"}}}}, "under sv."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := broker.Start(context.Background(), tc.cfg)
			if err == nil {
				b.Close()
				t.Fatal("started")
			}
			if !errors.Is(err, broker.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrConfig saying %q", err, tc.want)
			}
		})
	}
}

// startOpenEnv is the default bus: no --nats-auth, anyone may connect.
func startOpenEnv(t *testing.T) *authEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(b.Conn(), gateway.Config{IngestSubjects: b.IngestSubjects()})
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	if err := g.Start(ctx); err != nil {
		b.Close()
		t.Fatalf("the gateway cannot start on its connection: %v", err)
	}
	api := httptest.NewServer(g.Handler())
	t.Cleanup(func() {
		api.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := g.Close(ctx); err != nil {
			t.Errorf("gateway close: %v", err)
		}
		if err := b.Close(); err != nil {
			t.Errorf("broker close: %v", err)
		}
	})
	return &authEnv{b: b, api: api}
}

// Finding 1 of issue 10: without --nats-auth any local client could delete
// both streams through the JetStream API, or forge a snapshot on svsnap.>.
func TestAnonymousClientsMayPublishUpdatesButNeverTouchTheStreamsOrSnapshots(t *testing.T) {
	e := startOpenEnv(t)
	nc, js, async := connectAs(t, e.b.ClientURL())
	if ack, err := publish(js, "sv.open.data", `{"value": 1}`); err != nil || ack.Stream != broker.LogStream {
		t.Fatalf("anonymous update: ack %+v, err %v; want it acknowledged by %s", ack, err, broker.LogStream)
	}
	e.waitWidget(t, "open")

	for _, stream := range []string{broker.LogStream, broker.SnapshotStream} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := js.DeleteStream(ctx, stream)
		cancel()
		if err == nil {
			t.Fatalf("an anonymous client deleted stream %s", stream)
		}
		if err := async.wait(t); !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), "$JS.API.STREAM.DELETE."+stream) {
			t.Fatalf("deleting %s: async error %v, want a permissions violation naming the API call", stream, err)
		}
	}
	if _, err := publishWithin(js, time.Second, "svsnap.open.0", `{"id":"open"}`); err == nil {
		t.Fatal("an anonymous snapshot chunk was acknowledged")
	}
	if err := async.wait(t); !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), "svsnap.open.0") {
		t.Fatalf("forged snapshot: async error %v, want a permissions violation", err)
	}
	for _, subj := range []string{"sv.>", "svsnap.>", "$JS.API.>", "_SV_GW.>"} {
		if _, err := nc.SubscribeSync(subj); err != nil {
			t.Fatal(err)
		}
		if err := async.wait(t); !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), subj) {
			t.Fatalf("subscribing to %s: async error %v, want a permissions violation", subj, err)
		}
	}

	// Both streams are intact, and the bus still takes updates.
	before := e.logLastSeq(t)
	ack, err := publish(js, "sv.open.data", `{"value": 2}`)
	if err != nil {
		t.Fatalf("publish after the refused calls: %v", err)
	}
	if ack.Sequence>>16 != before>>16+1 { // positions: <stored message> << 16 | <record>
		t.Fatalf("stored at %d, want the message after %d: the log was reset or a refused message was stored", ack.Sequence, before)
	}
	e.waitSeq(t, ack.Sequence)
	gw, err := jetstream.New(e.b.Conn())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, stream := range []string{broker.LogStream, broker.SnapshotStream} {
		if _, err := gw.Stream(ctx, stream); err != nil {
			t.Fatalf("stream %s after the attack: %v", stream, err)
		}
	}
}

// Removing a widget is a body on its config subject (docs/protocol.md §1.2),
// so exactly the publishers who may declare a widget may remove it: a user
// limited to data is refused by the server and the widget stays; a user
// holding the widget's subjects removes it.
func TestOnlyPublishersWhoMayDeclareAWidgetMayRemoveIt(t *testing.T) {
	e := startAuthEnv(t, broker.Config{})
	_, writer, _ := connectAs(t, e.b.ClientURL(), nats.UserInfo("writer", "w-secret"))
	if _, err := publish(writer, "sv.sales.config", `{"type": "stat"}`); err != nil {
		t.Fatal(err)
	}
	e.waitWidget(t, "sales")
	cases := []struct {
		name    string
		opts    []nats.Option
		allowed bool
	}{
		{"a user with data rights only", []nats.Option{nkeyOption(t, e.nkey)}, false},
		{"a user limited to other widgets", []nats.Option{nats.UserInfo("hashed", "h-secret")}, false},
		{"the user holding the widget's subjects", []nats.Option{nats.UserInfo("sales", "s-secret")}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, js, async := connectAs(t, e.b.ClientURL(), tc.opts...)
			if !tc.allowed {
				if _, err := publishWithin(js, time.Second, "sv.sales.config", `{"remove": true}`); err == nil {
					t.Fatal("removal acknowledged; want it refused")
				}
				if err := async.wait(t); !errors.Is(err, nats.ErrPermissionViolation) {
					t.Fatalf("async error = %v, want a permissions violation", err)
				}
				e.waitWidget(t, "sales") // still there
				return
			}
			if _, err := publish(js, "sv.sales.config", `{"remove": true}`); err != nil {
				t.Fatalf("removal by the widget's owner: %v", err)
			}
			resp, err := http.Get(e.api.URL + "/api/widgets/sales")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("GET /api/widgets/sales after its removal: %d, want 404", resp.StatusCode)
			}
		})
	}
}
