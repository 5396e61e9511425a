package main

import (
	"flag"
	"fmt"

	"github.com/streamviz/streamviz/broker"
)

// natsSecurity is the bus's authentication and TLS (docs/protocol.md §7):
// --nats-auth and --nats-tls-* secure the embedded server, --nats-creds and
// --nats-ca the connection to an external one.
type natsSecurity struct {
	auth, tlsCert, tlsKey, creds, ca string
}

func (s *natsSecurity) register(fs *flag.FlagSet) {
	fs.StringVar(&s.auth, "nats-auth", "", "JSON file of the users allowed to publish to the embedded NATS, and to which subjects (default: anyone)")
	fs.StringVar(&s.tlsCert, "nats-tls-cert", "", "PEM certificate: the embedded NATS listener accepts only TLS (with --nats-tls-key)")
	fs.StringVar(&s.tlsKey, "nats-tls-key", "", "PEM private key of --nats-tls-cert")
	fs.StringVar(&s.creds, "nats-creds", "", "NATS credentials file for the connection to --nats-url")
	fs.StringVar(&s.ca, "nats-ca", "", "PEM CA certificates that verify --nats-url's TLS certificate (default: the system's)")
}

// check refuses the flags that do not fit the bus chosen.
func (s *natsSecurity) check(name string, external bool) error {
	type named struct{ flag, value string }
	embedded := []named{{"nats-auth", s.auth}, {"nats-tls-cert", s.tlsCert}, {"nats-tls-key", s.tlsKey}}
	remote := []named{{"nats-creds", s.creds}, {"nats-ca", s.ca}}
	for _, e := range embedded {
		flagName, v := e.flag, e.value
		if v != "" && external {
			return fmt.Errorf("%w: --%s configures the embedded NATS server and cannot be used with --nats-url (use --nats-creds, --nats-ca)", errUsage, flagName)
		}
		if v != "" && name == "demo" {
			return fmt.Errorf("%w: --%s: the demo's feed publishes anonymously over plain TCP; secure the bus with \"streamviz serve\"", errUsage, flagName)
		}
	}
	for _, r := range remote {
		flagName, v := r.flag, r.value
		if v != "" && !external {
			return fmt.Errorf("%w: --%s is for the connection to --nats-url; the embedded server uses --nats-auth and --nats-tls-*", errUsage, flagName)
		}
	}
	if (s.tlsCert == "") != (s.tlsKey == "") {
		return fmt.Errorf("%w: --nats-tls-cert and --nats-tls-key go together: give both or neither", errUsage)
	}
	return nil
}

// apply reads the auth file into cfg; a bad one stops the start, naming it.
func (s *natsSecurity) apply(cfg *broker.Config) error {
	if s.auth != "" {
		users, err := broker.ReadAuthFile(s.auth)
		if err != nil {
			return err
		}
		cfg.Users = users
	}
	cfg.TLSCert, cfg.TLSKey, cfg.CredsFile, cfg.CAFile = s.tlsCert, s.tlsKey, s.creds, s.ca
	return nil
}
