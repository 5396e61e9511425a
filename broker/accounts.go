package broker

import (
	"fmt"
	"hash/fnv"
	"strconv"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/streamviz/streamviz/protocol"
)

// The embedded bus's accounts (docs/protocol.md §7). NATS accounts are
// separate subject spaces: a client sees only its own account's messages,
// whatever it subscribes to. The gateway is in the global account, with
// JetStream and both streams. With --nats-auth, each user is in an account of
// its own, without JetStream, which imports the gateway's ingest as a service
// (NATS service export and import). So:
//
//   - an update a user sends to sv.<widget>.<kind> reaches the gateway, and
//     the gateway's answer goes back into the user's account only, under the
//     reply subject the user gave: another user subscribed to _INBOX.> (or
//     anywhere) never sees it, and a reply subject naming a widget or a
//     snapshot lands in the user's own account, where nothing of the
//     dashboard lives;
//   - the JetStream API, svlog.>, svsnap.> and the gateway's _SV_GW.> are in
//     the gateway's account, where no user is: out of reach by construction,
//     whatever the permission lists say (they say so too);
//   - user n's updates arrive in the gateway's account under svin.<n>.>
//     (IngestSubjects): the gateway takes each on a connection of its own,
//     so the server queues one user's flood apart from another user's
//     updates and acknowledgements (issue 10 finding 9).
//
// Without --nats-auth the anonymous publishers are one user: they stay in
// the gateway's account, held by their permissions alone, because crossing
// accounts costs the server per message (it stamps each request with the
// sender's account and keeps a reply mapping per acknowledged request):
// measured, a core burst took 1.8 times the server CPU and acknowledged
// publishes 2.5 times (docs/reliability.md, finding 10).
//
// The gateway stays in the global account because that is where JetStream
// has always kept the streams (jetstream/$G/ in the data dir): a data dir
// from before accounts opens as it was.

// gatewayAccount is the name of the gateway's account: NATS's global one.
const gatewayAccount = server.DEFAULT_GLOBAL_ACCOUNT

// userAccount names the account of the n-th --nats-auth user (by position:
// user names and nkeys need not be valid account names).
func userAccount(n int) string { return "streamviz-publisher-" + strconv.Itoa(n) }

// userIngest is where the n-th user's updates arrive in the gateway's
// account: svin.<n>.<widget>.<kind>.
func userIngest(n int) string { return protocol.IngestPrefix + strconv.Itoa(n) + ".>" }

// AnonymousLanes is how many ingest lanes the anonymous publishers'
// updates are spread over on the embedded bus, by widget (anonymousLanes).
const AnonymousLanes = 8

// anonymousLanePrefix starts the subjects the anonymous publishers'
// updates reach the gateway under: svin.anon.<lane>.<widget>.<kind>.
const anonymousLanePrefix = protocol.IngestPrefix + "anon."

// anonymousLanes spreads the anonymous publishers' updates over n ingest
// lanes by a hash of the widget (the server's subject mapping, applied to
// each publish before its permissions are checked): sv.<widget>.<kind>
// becomes svin.anon.<lane>.<widget>.<kind>, and the gateway takes each lane
// on a connection of its own. The server queues what it sends one
// connection in one buffer, first in first out, up to max_pending (64 MiB):
// a flood on one widget fills its lane's buffer only, and an update to a
// widget of another lane does not wait behind it (issue 10 finding 9).
// A widget's config and data share its lane, so its updates keep their
// order; updates to widgets of different lanes may be stored in another
// order than sent. Two widgets of one lane (one pair in n) still wait
// behind each other. A publish straight to svin.anon.<lane>.<widget>.<kind>
// is mapped to the widget's own lane likewise, so no publisher can put a
// widget's updates in another lane. What matches neither mapping (sv.x,
// sv.a.b.c) stays on sv.>, which the gateway takes too (and refuses).
// It returns the subjects the gateway takes.
func (a *busAccounts) anonymousLanes(n int) ([]string, error) {
	// {{partition(n,i)}} hashes the i-th wildcard's token, the widget in
	// both sources, so both put a widget in the same lane.
	lane := func(widgetWildcard int) string {
		return anonymousLanePrefix + "{{partition(" + strconv.Itoa(n) + "," + strconv.Itoa(widgetWildcard) + ")}}" +
			".{{wildcard(" + strconv.Itoa(widgetWildcard) + ")}}.{{wildcard(" + strconv.Itoa(widgetWildcard+1) + ")}}"
	}
	for _, m := range []struct{ src, dest string }{
		{protocol.SubjectPrefix + "*.*", lane(1)},
		{anonymousLanePrefix + "*.*.*", lane(2)},
	} {
		if err := a.gateway.AddMapping(m.src, m.dest); err != nil {
			return nil, fmt.Errorf("%w: mapping %s to %s: %v", ErrStart, m.src, m.dest, err)
		}
	}
	subjects := []string{protocol.SubjectWildcard}
	for i := range n {
		subjects = append(subjects, anonymousLanePrefix+strconv.Itoa(i)+".>")
	}
	return subjects, nil
}

// AnonymousLane is the lane (0 to AnonymousLanes-1) the embedded bus puts
// an anonymous publisher's updates to widget in: the server's partition
// mapping, FNV-1a of the widget token modulo the lanes. A test checks it
// against the server's own choice; benchmarks use it to pick widgets of
// the same or different lanes.
func AnonymousLane(widget string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(widget))
	return int(h.Sum32() % AnonymousLanes)
}

// busAccounts is the embedded server's account layout.
type busAccounts struct {
	gateway *server.Account
	// ingest are the subjects the gateway takes updates on, one per
	// publisher account (Broker.IngestSubjects).
	ingest []string
}

func newBusAccounts(opts *server.Options) *busAccounts {
	a := &busAccounts{gateway: server.NewAccount(gatewayAccount)}
	opts.Accounts = append(opts.Accounts, a.gateway)
	return a
}

// publisher adds an account for publishers whose sv.> reaches the gateway
// as ingest (svin.<n>.>): the gateway's account exports that subject as a
// service to this account alone, which imports it as sv.>.
func (a *busAccounts) publisher(opts *server.Options, name, ingest string) (*server.Account, error) {
	acc := server.NewAccount(name)
	if err := a.gateway.AddServiceExport(ingest, []*server.Account{acc}); err != nil {
		return nil, fmt.Errorf("%w: account %s: export %s: %v", ErrStart, name, ingest, err)
	}
	if err := acc.AddServiceImport(a.gateway, protocol.SubjectWildcard, ingest); err != nil {
		return nil, fmt.Errorf("%w: account %s: import %s as %s: %v", ErrStart, name, ingest, protocol.SubjectWildcard, err)
	}
	opts.Accounts = append(opts.Accounts, acc)
	a.ingest = append(a.ingest, ingest)
	return acc, nil
}

// enableJetStream turns JetStream on in the gateway's account once the
// server runs. The server gives it to the global account by itself only
// when no other account is configured, and the options have no way to ask
// for it on the global account (configuration files reserve its name);
// enabling it recovers the streams in jetstream/$G/ as a start would.
func enableJetStream(srv *server.Server) error {
	acc := srv.GlobalAccount()
	if acc.JetStreamEnabled() {
		return nil
	}
	if err := acc.EnableJetStream(nil, nil); err != nil {
		return fmt.Errorf("%w: JetStream in the gateway's account: %v", ErrStart, err)
	}
	return nil
}
