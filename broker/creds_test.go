package broker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/streamviz/streamviz/broker"
)

// operatorServer runs a NATS server in operator (JWT) mode, the kind of
// deployment .creds files are for, and returns its URL and a .creds file of
// a user it trusts.
func operatorServer(t *testing.T) (url, credsFile string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	okp, err := nkeys.CreateOperator()
	must(err)
	opub, _ := okp.PublicKey()
	ojwt, err := jwt.NewOperatorClaims(opub).Encode(okp)
	must(err)
	opc, err := jwt.DecodeOperatorClaims(ojwt)
	must(err)

	akp, err := nkeys.CreateAccount()
	must(err)
	apub, _ := akp.PublicKey()
	ajwt, err := jwt.NewAccountClaims(apub).Encode(okp)
	must(err)

	ukp, err := nkeys.CreateUser()
	must(err)
	upub, _ := ukp.PublicKey()
	uc := jwt.NewUserClaims(upub)
	uc.IssuerAccount = apub
	ujwt, err := uc.Encode(akp)
	must(err)
	seed, _ := ukp.Seed()
	creds, err := jwt.FormatUserConfig(ujwt, seed)
	must(err)

	resolver := &server.MemAccResolver{}
	must(resolver.Store(apub, ajwt))
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true, NoLog: true,
		TrustedOperators: []*jwt.OperatorClaims{opc}, AccountResolver: resolver,
	})
	must(err)
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("operator-mode server not ready")
	}
	t.Cleanup(srv.Shutdown)
	return srv.ClientURL(), writeFile(t, "user.creds", string(creds))
}

func TestExternalBusAuthenticatesWithTheCredsFile(t *testing.T) {
	url, creds := operatorServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{URL: url, CredsFile: creds, ConnectTimeout: 3 * time.Second})
	if err != nil {
		t.Fatalf("connect with --nats-creds: %v", err)
	}
	if !b.Conn().IsConnected() {
		t.Fatal("not connected")
	}
	b.Close()

	b, err = broker.Start(ctx, broker.Config{URL: url, ConnectTimeout: 3 * time.Second})
	if err == nil {
		b.Close()
		t.Fatal("connected to an operator-mode server without credentials")
	}
	if !errors.Is(err, broker.ErrUnreachable) || !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("err = %v, want ErrUnreachable wrapping nats.ErrAuthorization", err)
	}
}
