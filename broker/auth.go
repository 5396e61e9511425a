package broker

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"golang.org/x/crypto/bcrypt"

	"github.com/streamviz/streamviz/protocol"
)

// GatewayUser is the name of the embedded server's own read-only user, the
// one the gateway connects as. An auth file cannot use it.
const GatewayUser = "streamviz-gateway"

// gatewayInbox is where replies to the gateway's requests (JetStream API
// answers, consumed messages) arrive. On the embedded bus no publisher shares
// the gateway's account; on an external one they may (docs/protocol.md §7),
// and a prefix of its own keeps the log's messages, which the gateway's
// consumers receive as replies, out of reach of a publisher subscribed to
// _INBOX.> for its acknowledgements.
const gatewayInbox = protocol.GatewayInbox

// The rights of each kind of connection, as lists so that a new subject
// (another internal namespace of the ingest path, say) is one line here.
// Each kind is in an account of its own besides (accounts.go): these lists
// are what holds within an account.
var (
	// publisherDefaultPublish is what a publisher may publish to when its
	// entry names no subjects, and what anonymous publishers get: every
	// widget's config and data, and the dashboard's title.
	publisherDefaultPublish = []string{protocol.SubjectWildcard}
	// anonymousPublish is what anonymous publishers may publish to: the
	// default, and the lanes it is mapped to (accounts.go, anonymousLanes),
	// for the server checks a publish's permissions after mapping it (and
	// only those: a subject there the gateway would not read is refused).
	anonymousPublish = []string{protocol.SubjectWildcard, anonymousLanePrefix + "*.*.*"}
	// publisherSubscribe is where publishers may receive: the default reply
	// prefix of every NATS client, where their acknowledgements arrive, in
	// their account (another account's inboxes are not there to read).
	publisherSubscribe = []string{protocol.InboxPrefix + ">"}
	// gatewayPublish is what the gateway may publish besides the JetStream
	// API calls on its streams (gatewayPermissions).
	gatewayPublish = []string{
		"$JS.API.INFO",                // health checks
		protocol.SnapshotWildcard,     // snapshot writes (SV_SNAP)
		LogPrefix + ">",               // the batches of validated updates it stores (SV)
		protocol.ResponsePrefix + ">", // acknowledgements to --nats-auth users: the server carries each to the user's account, under the reply subject it gave
		protocol.InboxPrefix + ">",    // acknowledgements to anonymous publishers' inboxes, in the gateway's account; the gateway checks each reply subject too
	}
	// gatewayDenyPublish is refused to the gateway even where an allow
	// above would match: it reads updates, it never writes them.
	gatewayDenyPublish = []string{protocol.SubjectWildcard, protocol.IngestPrefix + ">"}
	// gatewaySubscribe is where the gateway receives: its inbox, and the
	// updates it takes (queue group sv-ingest), validates and stores: sv.>
	// from anonymous publishers, svin.<n>.> from --nats-auth user n.
	gatewaySubscribe = []string{gatewayInbox + ".>", protocol.SubjectWildcard, protocol.IngestPrefix + ">"}
)

// AuthUser is one publisher allowed on the embedded bus: a user name and
// password, or an nkey. See docs/protocol.md §7.
type AuthUser struct {
	// User and Password authenticate with a name and password. Password is
	// plain text or a bcrypt hash ("$2a$...", as `nats server passwd` makes).
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	// Nkey is a user public key ("U..."), instead of User and Password: the
	// client proves it holds the seed by signing the server's nonce.
	Nkey string `json:"nkey,omitempty"`
	// Publish lists the subjects the user may publish to, NATS subject
	// patterns under "sv." ("sv.sales.>" is widget sales's config and data;
	// "sv.*.data" every widget's data but no config). Default ["sv.>"].
	Publish []string `json:"publish,omitempty"`
}

type authFile struct {
	Users []AuthUser `json:"users"`
}

// ReadAuthFile reads a --nats-auth file: {"users": [AuthUser, ...]}.
// Unknown fields are errors, so a misspelt "publish" cannot silently grant
// every subject.
func ReadAuthFile(path string) ([]AuthUser, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: --nats-auth: %v", ErrConfig, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f authFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: --nats-auth %s: not a valid auth file: %v", ErrConfig, path, jsonErr(data, err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: --nats-auth %s: not a valid auth file: content after the JSON object", ErrConfig, path)
	}
	if len(f.Users) == 0 {
		return nil, fmt.Errorf("%w: --nats-auth %s: lists no users (want {\"users\": [{\"user\": ..., \"password\": ..., \"publish\": [...]}]})", ErrConfig, path)
	}
	if err := validateUsers(f.Users); err != nil {
		return nil, fmt.Errorf("%w: --nats-auth %s: %v", ErrConfig, path, err)
	}
	return f.Users, nil
}

// jsonErr adds the line of a syntax error, which encoding/json only gives
// as a byte offset.
func jsonErr(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("line %d: %v", 1+bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n")), err)
	}
	return err
}

func validateUsers(users []AuthUser) error {
	seen := map[string]bool{}
	for i, u := range users {
		name := u.User
		if name == "" {
			name = u.Nkey
		}
		where := fmt.Sprintf("users[%d]", i)
		if name != "" {
			where += fmt.Sprintf(" (%q)", name)
		}
		switch {
		case u.Nkey != "" && (u.User != "" || u.Password != ""):
			return fmt.Errorf("%s: give either \"nkey\" or \"user\" and \"password\", not both", where)
		case u.Nkey != "":
			if !nkeys.IsValidPublicUserKey(u.Nkey) {
				return fmt.Errorf("%s: \"nkey\" is not a user public key (one starting with U; never put the seed here)", where)
			}
		case u.User == "":
			return fmt.Errorf("%s: needs \"user\" and \"password\", or \"nkey\"", where)
		case u.Password == "":
			return fmt.Errorf("%s: \"password\" is missing or empty", where)
		case u.User == GatewayUser:
			return fmt.Errorf("%s: the name %q is reserved for the gateway's own connection", where, GatewayUser)
		}
		if seen[name] {
			return fmt.Errorf("%s: listed twice", where)
		}
		seen[name] = true
		for _, p := range u.Publish {
			if err := checkPublishPattern(p); err != nil {
				return fmt.Errorf("%s: publish %q: %v", where, p, err)
			}
		}
	}
	return nil
}

func checkPublishPattern(p string) error {
	if !server.IsValidSubject(p) {
		return errors.New("not a valid NATS subject pattern")
	}
	if !strings.HasPrefix(p, protocol.SubjectPrefix) {
		return errors.New("publishers may only be given subjects under sv. (sv.<widget>.config, sv.<widget>.data)")
	}
	return nil
}

// publisherPermissions lets a publisher send to its patterns and receive
// acknowledgements, and nothing else: without $JS.API it cannot read a stream.
func publisherPermissions(u AuthUser) *server.Permissions {
	pub := u.Publish
	if len(pub) == 0 {
		pub = publisherDefaultPublish
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: slices.Clone(pub)},
		Subscribe: &server.SubjectPermission{Allow: slices.Clone(publisherSubscribe)},
	}
}

// gatewayPermissions are exactly the JetStream API calls the gateway makes
// on its two streams (ensure, info, ordered consumers, purge, snapshot
// writes), the log's batches, acknowledgements (to the reply subjects the
// server made for requests from publishers' accounts), and its own inbox. It cannot publish updates: sv.> is
// denied, so it cannot pose as a publisher.
func gatewayPermissions() *server.Permissions {
	allow := slices.Clone(gatewayPublish)
	for _, s := range []string{LogStream, SnapshotStream} {
		allow = append(allow,
			"$JS.API.STREAM.INFO."+s,
			"$JS.API.STREAM.CREATE."+s,
			"$JS.API.STREAM.UPDATE."+s,
			"$JS.API.STREAM.PURGE."+s,
			"$JS.API.CONSUMER.CREATE."+s+".>", // <stream>.<name>[.<filter>]
			"$JS.API.CONSUMER.INFO."+s+".*",
			"$JS.API.CONSUMER.LIST."+s, // other gateways' positions, before a purge
			"$JS.API.CONSUMER.DELETE."+s+".*",
			"$JS.API.CONSUMER.MSG.NEXT."+s+".*",
		)
	}
	// A new log invalidates old snapshots, which are dropped with their stream.
	allow = append(allow, "$JS.API.STREAM.DELETE."+SnapshotStream)
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: allow, Deny: slices.Clone(gatewayDenyPublish)},
		Subscribe: &server.SubjectPermission{Allow: slices.Clone(gatewaySubscribe)},
	}
}

// applyAuth installs the accounts (accounts.go), the publishers and the
// gateway's own user on opts, and returns the gateway's password and the
// subjects it takes updates on. Without users, a client that brings no
// credentials is an anonymous publisher with the default rights: the bus is
// open to publish on, never to read, delete or forge state with (NATS's
// no_auth_user).
func applyAuth(opts *server.Options, users []AuthUser) (string, []string, error) {
	password, hash, err := newSecret()
	if err != nil {
		return "", nil, fmt.Errorf("%w: gateway password: %v", ErrStart, err)
	}
	accts := newBusAccounts(opts)
	opts.Users = append(opts.Users, &server.User{Username: GatewayUser, Password: hash, Permissions: gatewayPermissions(), Account: accts.gateway})
	if len(users) == 0 {
		// Anonymous publishers share the gateway's account (accounts.go says why).
		lanes, err := accts.anonymousLanes(AnonymousLanes)
		if err != nil {
			return "", nil, err
		}
		accts.ingest = lanes
		// An nkey identity whose seed is thrown away: nobody can present
		// it, it only names the rights of clients without credentials.
		kp, err := nkeys.CreateUser()
		if err != nil {
			return "", nil, fmt.Errorf("%w: anonymous identity: %v", ErrStart, err)
		}
		anon, err := kp.PublicKey()
		if err != nil {
			return "", nil, fmt.Errorf("%w: anonymous identity: %v", ErrStart, err)
		}
		opts.Nkeys = append(opts.Nkeys, &server.NkeyUser{Nkey: anon, Permissions: publisherPermissions(AuthUser{Publish: anonymousPublish}), Account: accts.gateway})
		opts.NoAuthUser = anon
	}
	for i, u := range users {
		acc, err := accts.publisher(opts, userAccount(i), userIngest(i))
		if err != nil {
			return "", nil, err
		}
		if u.Nkey != "" {
			opts.Nkeys = append(opts.Nkeys, &server.NkeyUser{Nkey: u.Nkey, Permissions: publisherPermissions(u), Account: acc})
		} else {
			opts.Users = append(opts.Users, &server.User{Username: u.User, Password: u.Password, Permissions: publisherPermissions(u), Account: acc})
		}
	}
	return password, accts.ingest, nil
}

// newSecret makes a random password and its bcrypt hash, which is what the
// server keeps (it warns about plain-text passwords). The cost is the
// lowest: the password is 256 random bits, nothing to guess.
func newSecret() (password, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	password = hex.EncodeToString(b)
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		return "", "", err
	}
	return password, string(h), nil
}

// loadServerTLS reads the embedded listener's certificate and key.
func loadServerTLS(certFile, keyFile string) (*tls.Config, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, fmt.Errorf("%w: --nats-tls-cert and --nats-tls-key go together: give both or neither", ErrConfig)
	}
	if certFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: --nats-tls-cert %s / --nats-tls-key %s: %v", ErrConfig, certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
