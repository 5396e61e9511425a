package broker

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// Without --nats-auth the embedded bus spreads the anonymous publishers'
// updates over AnonymousLanes ingest lanes by widget (issue 10 finding 9):
// sv.<widget>.<kind> reaches the gateway's account as
// svin.anon.<AnonymousLane(widget)>.<widget>.<kind>, the lane the server's
// own hash picks, so a widget's config and data share a lane; a publish
// straight to another lane's subject lands in the widget's own lane; and
// what is not sv.<widget>.<kind> stays on sv.> for the gateway to refuse.
func TestAnonymousUpdatesReachTheLaneOfTheirWidget(t *testing.T) {
	b, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	want := []string{"sv.>"}
	for i := range AnonymousLanes {
		want = append(want, "svin.anon."+strconv.Itoa(i)+".>")
	}
	if got := b.IngestSubjects(); !slices.Equal(got, want) {
		t.Fatalf("ingest subjects %q, want %q", got, want)
	}
	// The gateway's connection may read both; what arrives where is what
	// its lanes would take.
	got := make(chan string, 1024)
	for _, s := range []string{"sv.>", "svin.>"} {
		if _, err := b.Conn().Subscribe(s, func(m *nats.Msg) { got <- m.Subject }); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	pub, err := nats.Connect(b.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.Close)
	errs := make(chan error, 16)
	pub.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err })

	type sent struct{ subject, arrives string }
	var cases []sent
	lanesSeen := map[int]bool{}
	for i := range 64 {
		w := "w" + strconv.Itoa(i)
		lane := "svin.anon." + strconv.Itoa(AnonymousLane(w)) + "."
		lanesSeen[AnonymousLane(w)] = true
		cases = append(cases,
			sent{"sv." + w + ".config", lane + w + ".config"},
			sent{"sv." + w + ".data", lane + w + ".data"},
			// Straight to a lane, the wrong one or not: mapped to its own.
			sent{"svin.anon." + strconv.Itoa((AnonymousLane(w)+1)%AnonymousLanes) + "." + w + ".data", lane + w + ".data"},
		)
	}
	cases = append(cases, sent{"sv.x", "sv.x"}, sent{"sv.a.b.data", "sv.a.b.data"})
	if len(lanesSeen) != AnonymousLanes {
		t.Fatalf("64 widgets fell in %d of %d lanes", len(lanesSeen), AnonymousLanes)
	}
	for _, c := range cases {
		if err := pub.Publish(c.subject, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		select {
		case s := <-got:
			if s != c.arrives {
				t.Fatalf("a publish to %s arrived as %s, want %s", c.subject, s, c.arrives)
			}
		case err := <-errs:
			t.Fatalf("publish to %s: %v", c.subject, err)
		case <-time.After(time.Minute):
			t.Fatalf("a publish to %s did not arrive", c.subject)
		}
	}
	// The lanes' updates are the anonymous publishers' only way in beside
	// sv.>: the --nats-auth users' subjects stay closed to them, and so does
	// any other subject under the lanes, which no lane would take whole.
	for _, subject := range []string{"svin.0.w.data", "svin.anon.3.w", "svin.anon.3.w.data.x", "svin.anon"} {
		if err := pub.Publish(subject, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errs:
			if !errors.Is(err, nats.ErrPermissionViolation) {
				t.Fatalf("publish to %s: %v, want a permissions violation", subject, err)
			}
		case s := <-got:
			t.Fatalf("a publish to %s arrived as %s", subject, s)
		case <-time.After(time.Minute):
			t.Fatalf("a publish to %s was neither refused nor delivered", subject)
		}
	}
}
