package broker_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
)

// ackBody is what the gateway answers an update: a PubAck or an error.
type ackBody struct {
	Seq   uint64 `json:"seq"`
	Error *struct {
		Description string `json:"description"`
	} `json:"error"`
}

// Each --nats-auth user is in a NATS account of its own (docs/protocol.md
// §7): a user subscribed to _INBOX.> receives its own acknowledgements and
// none of another user's, while both publish; and it cannot subscribe
// anywhere else. Before, every user shared one account, and one user on
// _INBOX.> read every other user's widgets, positions and errors.
func TestAUserReadsNoneOfAnotherUsersAcknowledgements(t *testing.T) {
	e := startAuthEnv(t, broker.Config{})
	spyNC, spyJS, spyErrs := connectAs(t, e.b.ClientURL(), nats.UserInfo("sales", "s-secret"))
	inboxes, err := spyNC.SubscribeSync("_INBOX.>")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spyNC.SubscribeSync(">"); err != nil {
		t.Fatal(err)
	}
	if err := spyErrs.wait(t); !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), `">"`) {
		t.Fatalf("subscribing to >: %v, want a permissions violation", err)
	}
	victimNC, victimJS, _ := connectAs(t, e.b.ClientURL(), nats.UserInfo("writer", "w-secret"))

	const n = 40
	victimSeqs := map[uint64]bool{}
	var victimErr string
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range n {
			ack, err := publish(victimJS, "sv.victim.data", `{"value": `+strconv.Itoa(i)+`}`)
			if err != nil {
				t.Errorf("victim's publish %d: %v", i, err)
				return
			}
			victimSeqs[ack.Sequence] = true
		}
		// A refused update: its error names the widget and the problem.
		m, err := victimNC.Request("sv.victim.data", []byte(`{"value": "x"`), 10*time.Second)
		if err != nil {
			t.Errorf("victim's refused update: %v", err)
			return
		}
		victimErr = string(m.Data)
	}()
	spySeqs := map[uint64]bool{}
	go func() {
		defer wg.Done()
		for i := range n {
			ack, err := publish(spyJS, "sv.sales.data", `{"value": `+strconv.Itoa(i)+`}`)
			if err != nil {
				t.Errorf("spy's publish %d: %v", i, err)
				return
			}
			spySeqs[ack.Sequence] = true
		}
	}()
	wg.Wait()
	if t.Failed() {
		return
	}
	if !strings.Contains(victimErr, `"error"`) {
		t.Fatalf("the refused update was answered %s, want an error", victimErr)
	}
	// The gateway sends every acknowledgement on one connection, in order:
	// one leaked to the spy would reach it before the spy's last one.
	last, err := publish(spyJS, "sv.sales.data", `{"value": -1}`)
	if err != nil {
		t.Fatal(err)
	}
	spySeqs[last.Sequence] = true
	seen := 0
	for {
		m, err := inboxes.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("the spy's _INBOX.> subscription got %d of its own %d acknowledgements, then %v", seen, len(spySeqs), err)
		}
		var a ackBody
		if err := json.Unmarshal(m.Data, &a); err != nil || a.Error != nil || victimSeqs[a.Seq] || !spySeqs[a.Seq] {
			t.Fatalf("user sales, subscribed to _INBOX.>, received %s %s: not one of its own acknowledgements", m.Subject, m.Data)
		}
		seen++
		if a.Seq == last.Sequence {
			break
		}
	}
	if seen != len(spySeqs) {
		t.Fatalf("the spy saw %d of its own %d acknowledgements on _INBOX.>", seen, len(spySeqs))
	}
}

// A reply subject is where the gateway's answer goes, in the publisher's own
// account: one naming another user's inbox, a widget, the snapshots, the log,
// the JetStream API or the gateway's inbox reaches none of them (issue 10
// finding 10), and an answer never comes back as an update.
func TestAReplySubjectCarriesTheAnswerOnlyIntoThePublishersAccount(t *testing.T) {
	e := startAuthEnv(t, broker.Config{})
	victimNC, victimJS, _ := connectAs(t, e.b.ClientURL(), nats.UserInfo("writer", "w-secret"))
	victimInbox, err := victimNC.SubscribeSync("_INBOX.victim.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := victimNC.Flush(); err != nil {
		t.Fatal(err)
	}
	// The gateway's own connection sees its account's widget and ingest
	// subjects (where updates arrive too) and its inbox: an answer there
	// would have left the publisher's account.
	gw := e.b.Conn()
	leaked := make(chan string, 64)
	for _, s := range []string{"sv.>", "_SV_GW.x", "svin.>"} {
		if _, err := gw.Subscribe(s, func(m *nats.Msg) {
			var a ackBody
			if json.Unmarshal(m.Data, &a) == nil && (a.Seq != 0 || a.Error != nil) {
				leaked <- m.Subject + " " + string(m.Data)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := gw.Flush(); err != nil {
		t.Fatal(err)
	}
	before := e.healthz(t)

	attacker, _, _ := connectAs(t, e.b.ClientURL(), nats.UserInfo("sales", "s-secret"))
	replies := []string{"_INBOX.victim.1", "sv.hr.data", "sv.sales.data", "svsnap.zz.0", "svlog.batch", "$JS.API.STREAM.DELETE.SV", "_SV_GW.x", "svin.0.hr.data"}
	for i, reply := range replies {
		msg := &nats.Msg{Subject: "sv.sales.data", Reply: reply, Data: []byte(`{"value": ` + strconv.Itoa(i) + `}`)}
		if err := attacker.PublishMsg(msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := attacker.Flush(); err != nil {
		t.Fatal(err)
	}
	ack, err := publish(victimJS, "sv.marker.data", `{"value": 1}`)
	if err != nil {
		t.Fatal(err)
	}
	e.waitSeq(t, ack.Sequence)
	// Each user's updates reach the gateway on a connection of their own, so
	// the victim's marker may be stored before the attacker's updates: wait
	// until all of them are applied (each answered once stored), then let
	// the victim's connection deliver whatever the server routed to it.
	want := uint64(len(replies) + 1)
	for deadline := time.Now().Add(time.Minute); e.healthz(t).Accepted-before.Accepted < want && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond) // poll interval, not synchronization
	}
	if err := victimNC.Flush(); err != nil {
		t.Fatal(err)
	}
	if m, err := victimInbox.NextMsg(0); err == nil {
		t.Fatalf("user writer received %s on %s: an answer to user sales's update", m.Data, m.Subject)
	}
	if err := gw.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-leaked:
		t.Fatalf("an answer reached the gateway's account: %s", s)
	default:
	}
	after := e.healthz(t)
	if got := after.Accepted - before.Accepted; got != want || after.Rejected != before.Rejected {
		t.Fatalf("accepted %d more (want %d), rejected %d more (want 0): an answer came back as an update", got, want, after.Rejected-before.Rejected)
	}
	if resp, err := http.Get(e.api.URL + "/api/widgets/hr"); err != nil || resp.Body.Close() != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("widget hr: %v %v, want 404", resp, err)
	}
	js, err := jetstream.New(gw)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	snap, err := js.Stream(ctx, broker.SnapshotStream)
	if err != nil {
		t.Fatalf("the snapshot stream: %v", err)
	}
	if _, err := js.Stream(ctx, broker.LogStream); err != nil {
		t.Fatalf("the log stream: %v", err)
	}
	info, err := snap.Info(ctx, jetstream.WithSubjectFilter("svsnap.zz.>"))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.State.Subjects) != 0 {
		t.Fatalf("the snapshot stream holds %v: an answer was stored as a snapshot", info.State.Subjects)
	}
}

// Whatever a user's publish list says, its account holds no stream, no
// snapshot, no log and none of the gateway's subjects: each is refused.
func TestEveryUserIsRefusedTheJetStreamAPITheSnapshotsTheLogAndTheGatewaysSubjects(t *testing.T) {
	e := startAuthEnv(t, broker.Config{})
	users := map[string]nats.Option{
		"writer (every widget)": nats.UserInfo("writer", "w-secret"),
		"sales (its widgets)":   nats.UserInfo("sales", "s-secret"),
		"nkey (data only)":      nkeyOption(t, e.nkey),
	}
	for name, opt := range users {
		t.Run(name, func(t *testing.T) {
			nc, _, async := connectAs(t, e.b.ClientURL(), opt)
			for _, subject := range []string{"$JS.API.STREAM.INFO.SV", "$JS.API.STREAM.DELETE.SV_SNAP", "svsnap.x.0", "svlog.batch", "svin.0.x.data", "_SV_GW.x", "_R_.abc.def"} {
				if err := nc.Publish(subject, []byte(`{}`)); err != nil {
					t.Fatal(err)
				}
				if err := async.wait(t); !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), subject) {
					t.Fatalf("publish to %s: %v, want a permissions violation", subject, err)
				}
			}
		})
	}
}

// With --nats-auth each user's updates reach the gateway on a connection of
// their own: the server queues what it sends one connection first in first
// out, so a flood from one user then waits only in front of that user's own
// updates, not another user's acknowledged publishes (issue 10 finding 9,
// measured by `svbench ingest --phases fair-auth`).
func TestEachUsersUpdatesReachTheGatewayOnAConnectionOfTheirOwn(t *testing.T) {
	e := startAuthEnv(t, broker.Config{})
	srv, ok := e.b.Conn().Opts.InProcessServer.(*server.Server)
	if !ok {
		t.Fatal("the test needs the embedded server")
	}
	ingest := e.b.IngestSubjects()
	if len(ingest) != len(e.users) {
		t.Fatalf("ingest subjects %q for %d users, want one each", ingest, len(e.users))
	}
	lanes := func() map[string]*server.ConnInfo {
		t.Helper()
		cz, err := srv.Connz(&server.ConnzOptions{Subscriptions: true, Username: true, User: broker.GatewayUser, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		byInbox := map[string]*server.ConnInfo{}
		for _, c := range cz.Conns {
			for _, s := range c.Subs {
				if strings.HasPrefix(s, "svin.") {
					if byInbox[s] != nil {
						t.Fatalf("%s is taken on two connections", s)
					}
					if len(c.Subs) != 1 {
						t.Fatalf("the connection taking %s also takes %q", s, c.Subs)
					}
					byInbox[s] = c
				}
			}
		}
		return byInbox
	}
	at := lanes()
	for _, s := range ingest {
		if at[s] == nil {
			t.Fatalf("no gateway connection takes %s (connections: %v)", s, at)
		}
	}
	// users[0] is "writer", users[2] "sales" (startAuthEnv).
	counts := map[string]int{"writer": 3, "sales": 5}
	for user, k := range counts {
		_, js, _ := connectAs(t, e.b.ClientURL(), nats.UserInfo(user, map[string]string{"writer": "w-secret", "sales": "s-secret"}[user]))
		for i := range k {
			if _, err := publish(js, "sv."+user+".data", `{"value": `+strconv.Itoa(i)+`}`); err != nil {
				t.Fatal(err)
			}
		}
	}
	after := lanes()
	for i, s := range ingest {
		want := int64(counts[e.users[i].User])
		if got := after[s].OutMsgs - at[s].OutMsgs; got != want {
			t.Errorf("user %d (%s): its connection %d (%s) carried %d updates, want its own %d", i, e.users[i].User, after[s].Cid, s, got, want)
		}
	}
}

// The gateway stays in NATS's global account, where JetStream has always
// kept the streams: a data dir from before accounts opens with its streams.
func TestTheStreamsStayInTheGlobalAccountsStore(t *testing.T) {
	e := startAuthEnv(t, broker.Config{})
	if _, err := publish(mustJS(t, e, "writer", "w-secret"), "sv.kept.data", `{"value": 1}`); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{broker.LogStream, broker.SnapshotStream} {
		if _, err := os.Stat(filepath.Join(e.dir, "jetstream", "$G", "streams", s)); err != nil {
			t.Errorf("stream %s is not where a data dir from before accounts has it: %v", s, err)
		}
	}
}

func mustJS(t *testing.T, e *authEnv, user, password string) jetstream.JetStream {
	t.Helper()
	_, js, _ := connectAs(t, e.b.ClientURL(), nats.UserInfo(user, password))
	return js
}

type healthCounts struct {
	Seq      uint64 `json:"seq"`
	Accepted uint64 `json:"accepted"`
	Rejected uint64 `json:"rejected"`
}

func (e *authEnv) healthz(t *testing.T) healthCounts {
	t.Helper()
	resp, err := http.Get(e.api.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h healthCounts
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// A --nats-auth user's update crosses into the gateway's account with its
// headers (the server adds the sender's account beside them): a resend with
// the same Nats-Msg-Id gets the first copy's position, marked duplicate, and
// is stored once.
func TestAUsersResendWithTheSameMsgIDIsStoredOnce(t *testing.T) {
	e := startAuthEnv(t, broker.Config{})
	js := mustJS(t, e, "sales", "s-secret")
	before := e.healthz(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first, err := js.Publish(ctx, "sv.sales.data", []byte(`{"value": 1}`), jetstream.WithMsgID("sales-1"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := js.Publish(ctx, "sv.sales.data", []byte(`{"value": 1}`), jetstream.WithMsgID("sales-1"))
	if err != nil {
		t.Fatal(err)
	}
	if first.Duplicate || !again.Duplicate || again.Sequence != first.Sequence {
		t.Fatalf("first %+v, resend %+v: want the resend marked duplicate at the first's position", first, again)
	}
	e.waitSeq(t, first.Sequence)
	if got := e.healthz(t).Accepted - before.Accepted; got != 1 {
		t.Fatalf("%d updates applied, want 1", got)
	}
}

// A Nats-Msg-Id names a resend of one widget's update, not an update of the
// whole bus: a user limited to its own widgets who sends an id another user
// is about to send must not get that user's update taken for a resend,
// acknowledged as stored and dropped.
func TestAMsgIDSentToOneWidgetDoesNotSuppressAnotherUsersUpdateToAnotherWidget(t *testing.T) {
	e := startAuthEnv(t, broker.Config{})
	sales := mustJS(t, e, "sales", "s-secret")
	writer := mustJS(t, e, "writer", "w-secret")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first, err := sales.Publish(ctx, "sv.sales.data", []byte(`{"value": 1}`), jetstream.WithMsgID("run-1"))
	if err != nil {
		t.Fatal(err)
	}
	victim, err := writer.Publish(ctx, "sv.hr.data", []byte(`{"value": 2}`), jetstream.WithMsgID("run-1"))
	if err != nil {
		t.Fatal(err)
	}
	if first.Duplicate || victim.Duplicate || victim.Sequence == first.Sequence {
		t.Fatalf("sales %+v, writer %+v: the writer's update to another widget was taken for a resend of sales's", first, victim)
	}
	e.waitWidget(t, "hr")
	// The same widget and id is still a resend.
	again, err := writer.Publish(ctx, "sv.hr.data", []byte(`{"value": 2}`), jetstream.WithMsgID("run-1"))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.Sequence != victim.Sequence {
		t.Fatalf("resend %+v, first %+v: want the resend marked duplicate at the first's position", again, victim)
	}
}
