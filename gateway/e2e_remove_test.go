package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
	"github.com/streamviz/streamviz/protocol"
)

// removal is the body that removes a widget (docs/protocol.md §1.2).
const removal = `{"remove": true}`

// declareTwo creates widgets gone (a chart with points) and kept (a stat)
// and returns the position after them.
func declareTwo(t *testing.T, e *testEnv) uint64 {
	t.Helper()
	e.publish(t, "sv.gone.config", `{"type": "chart", "title": "Old name"}`)
	e.publish(t, "sv.gone.data", `{"x": 1, "y": 10}`)
	e.publish(t, "sv.kept.config", `{"type": "stat"}`)
	return e.publishAndWait(t, "sv.kept.data", `{"value": 7}`)
}

// assertGone checks that no part of the dashboard shows widget id.
func assertGone(t *testing.T, e *testEnv, id string) {
	t.Helper()
	if _, ok := e.allWidgets(t)[id]; ok {
		t.Errorf("/api/widgets still lists %s", id)
	}
	if code, _, _ := get(t, e.url("/api/widgets/"+id)); code != http.StatusNotFound {
		t.Errorf("GET /api/widgets/%s: status %d, want 404", id, code)
	}
	if _, _, body := get(t, e.url("/api/dashboard.json")); strings.Contains(string(body), `"`+id+`"`) {
		t.Errorf("/api/dashboard.json still names %s: %s", id, truncate(string(body), 300))
	}
	snap := e.dial(t).first(t, "snapshot")
	for _, w := range snap.Widgets {
		if w.ID == id {
			t.Errorf("a fresh socket's snapshot still holds %s", id)
		}
	}
}

// A removal published on sv.<widget>.config is acknowledged once applied,
// and the widget leaves the state, the HTTP API, the metrics and every
// socket: a live one gets a remove event, a fresh one never sees it.
func TestRemovingAWidgetDropsItEverywhereAndTellsLiveSockets(t *testing.T) {
	e := startEnv(t, noAutoCompaction)
	declareTwo(t, e)
	live := e.dial(t)
	live.first(t, "snapshot")
	seq, err := e.publishInput(t, "sv.gone.config", removal)
	if err != nil {
		t.Fatalf("removal refused: %v", err)
	}
	evs := live.waitSeq(t, seq)
	last := evs[len(evs)-1]
	if last.Type != protocol.EventRemove || last.ID != "gone" || last.Seq != seq {
		t.Fatalf("live socket's last event %v, want remove(seq=%d id=gone)", last, seq)
	}
	checkChain(t, evs[1:])
	assertGone(t, e, "gone")
	if _, ok := e.allWidgets(t)["kept"]; !ok {
		t.Errorf("the other widget went too")
	}
	if n := e.metrics(t)["streamviz_widgets"]; n != 1 {
		t.Errorf("streamviz_widgets = %v, want 1", n)
	}
}

// Removing a widget that does not exist is refused with a 404-like error
// naming the widget (and is not stored as if it did something).
func TestRemovingAWidgetThatDoesNotExistIsRefusedWith404(t *testing.T) {
	e := startEnv(t, noAutoCompaction)
	declareTwo(t, e)
	cases := []struct{ name, widget string }{
		{"never created", "nothing"},
		{"removed already", "gone"},
	}
	e.publish(t, "sv.gone.config", removal)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.publishInput(t, "sv."+tc.widget+".config", removal)
			var apiErr *jetstream.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != 404 ||
				!strings.Contains(apiErr.Description, protocol.ErrNoWidget.Error()) || !strings.Contains(apiErr.Description, tc.widget) {
				t.Fatalf("removal of %s answered %v, want a 404 saying %q and naming it", tc.widget, err, protocol.ErrNoWidget)
			}
		})
	}
}

// A removal body that is neither a config nor {"remove": true} is refused
// naming the problem; a config that has a type stays a config, its
// "remove" ignored like any unknown field as before.
func TestRemovalBodiesAreCheckedAndConfigsKeepTheirMeaning(t *testing.T) {
	e := startEnv(t, noAutoCompaction)
	declareTwo(t, e)
	if _, err := e.publishInput(t, "sv.gone.config", `{"remove": "yes"}`); err == nil || !strings.Contains(err.Error(), `{\"remove\": true}`) && !strings.Contains(err.Error(), `{"remove": true}`) {
		t.Errorf(`{"remove": "yes"} answered %v, want an error showing {"remove": true}`, err)
	}
	if _, err := e.publishInput(t, "sv.gone.config", `{"type": "chart", "remove": true}`); err != nil {
		t.Fatalf("a typed config with a remove field was refused: %v", err)
	}
	if _, ok := e.allWidgets(t)["gone"]; !ok {
		t.Errorf("a typed config with a remove field removed the widget")
	}
}

// A removal is in the log like any update: the widget stays removed after
// a restart, whether the log still holds the removal or a compaction has
// folded it (then its old snapshot is dropped and the index forgets it).
func TestARemovedWidgetStaysRemovedAfterRestart(t *testing.T) {
	cases := []struct {
		name                      string
		compactBefore, compactAft bool
		laterUpdate               bool // so the compaction purges the log past the removal
		crash                     bool
	}{
		{name: "log only, graceful stop"},
		{name: "log only, crash", crash: true},
		{name: "snapshot before the removal, crash", compactBefore: true, crash: true},
		{name: "compacted after the removal, crash", compactBefore: true, compactAft: true, crash: true},
		{name: "compacted after the removal, graceful stop", compactBefore: true, compactAft: true},
		{name: "log purged past the removal, crash", compactBefore: true, compactAft: true, laterUpdate: true, crash: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := startEnv(t, noAutoCompaction)
			declareTwo(t, e)
			if tc.compactBefore {
				e.compactNow(t)
			}
			seq := e.publish(t, "sv.gone.config", removal)
			e.waitHandled(t, seq)
			if tc.laterUpdate {
				seq = e.publish(t, "sv.kept.data", `{"value": 8}`)
				e.waitHandled(t, seq)
			}
			if tc.compactAft {
				e.compactNow(t)
				if n := e.streamInfo(t, broker.SnapshotStream, jetstream.WithSubjectFilter(protocol.SnapshotPrefix+"gone.>")).State.Subjects; len(n) != 0 {
					t.Errorf("SV_SNAP still holds snapshots of the removed widget: %v", n)
				}
			}
			if tc.crash {
				e.crash(t)
			} else if err := e.stop(); err != nil {
				t.Fatal(err)
			}
			e2 := startEnvAt(t, e.dir, e.cfg)
			e2.waitSeq(t, seq)
			assertGone(t, e2, "gone")
			if _, ok := e2.allWidgets(t)["kept"]; !ok {
				t.Errorf("the other widget is lost after the restart")
			}
			if n := e2.metrics(t)["streamviz_widgets"]; n != 1 {
				t.Errorf("streamviz_widgets = %v after restart, want 1", n)
			}
			// The next compaction's index does not name it either.
			e2.compactNow(t)
			if idx := e2.g.state.snapshotIndex(0); strings.Contains(string(idx), `"gone"`) {
				t.Errorf("snapshot index names the removed widget: %s", idx)
			}
		})
	}
}

// A page that resumes from a position before the removal gets the remove
// event in its catch-up, so it drops the card it still holds.
func TestResumingFromBeforeARemovalDropsTheWidget(t *testing.T) {
	e := startEnv(t, noAutoCompaction)
	before := declareTwo(t, e)
	epoch := e.health(t).Epoch
	seq := e.publish(t, "sv.gone.config", removal)
	c := e.dialAt(t, epoch, before)
	c.first(t, "resumed")
	evs := c.waitSeq(t, seq)
	last := evs[len(evs)-1]
	if last.Type != protocol.EventRemove || last.ID != "gone" {
		t.Fatalf("resumed socket's events %v, want a remove of gone last", evs)
	}
}

// After a removal the id is free: data or a config creates the widget
// again from nothing, its old points, rows and config gone.
func TestAWidgetCreatedAgainAfterRemovalStartsEmpty(t *testing.T) {
	cases := []struct {
		name, subject, payload string
		wantConfig, wantState  string
	}{
		{"by data", "sv.gone.data", `{"x": 2, "y": 20}`, `"type":"chart"`, `{"points": [[2, 20]]}`},
		{"by config", "sv.gone.config", `{"type": "stat", "title": "New name"}`, `"title":"New name"`, `{"value": null, "prev": null, "ts": null}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := startEnv(t, noAutoCompaction)
			declareTwo(t, e)
			e.publish(t, "sv.gone.config", removal)
			live := e.dial(t)
			live.first(t, "snapshot")
			seq := e.publishAndWait(t, tc.subject, tc.payload)
			w := e.widget(t, "gone")
			if !strings.Contains(string(w.Config), tc.wantConfig) || strings.Contains(string(w.Config), "Old name") {
				t.Errorf("config after re-creation %s, want %s and not the old title", w.Config, tc.wantConfig)
			}
			assertJSON(t, "state after re-creation", w.State, tc.wantState)
			evs := live.waitSeq(t, seq)
			if last := evs[len(evs)-1]; last.Type != protocol.EventConfig || last.ID != "gone" {
				t.Errorf("live socket got %v for the re-creation, want a config event", last)
			}
		})
	}
}

// A removed widget no longer counts against --max-widgets.
func TestRemovedWidgetsFreeTheirPlaceUnderMaxWidgets(t *testing.T) {
	e := startEnv(t, Config{Limits: Limits{MaxWidgets: 2}, CompactInterval: noAutoCompaction.CompactInterval, CompactMessages: noAutoCompaction.CompactMessages})
	declareTwo(t, e)
	if _, err := e.publishInput(t, "sv.third.config", `{"type": "stat"}`); err == nil || !strings.Contains(err.Error(), ErrTooManyWidgets.Error()) {
		t.Fatalf("a third widget past the limit answered %v, want %q", err, ErrTooManyWidgets)
	}
	e.publish(t, "sv.gone.config", removal)
	if _, err := e.publishInput(t, "sv.third.config", `{"type": "stat"}`); err != nil {
		t.Fatalf("a widget in the removed one's place refused: %v", err)
	}
}

// Two gateways on one bus: whichever takes the removal stores it, and the
// other applies it from the log, so both dashboards drop the widget.
func TestARemovalReachesEveryGatewayOnTheBus(t *testing.T) {
	bus := startOperatorBus(t, 0)
	a := startEnvBus(t, "", noAutoCompaction, broker.Config{URL: bus.ClientURL()})
	b := startEnvBus(t, "", noAutoCompaction, broker.Config{URL: bus.ClientURL()})
	declareTwo(t, a)
	for _, e := range []*testEnv{a, b} {
		eventually(t, waitTimeout, func() bool { _, ok := e.allWidgets(t)["gone"]; return ok }, "a gateway never showed gone")
	}
	seq := a.publish(t, "sv.gone.config", removal)
	for _, e := range []*testEnv{a, b} {
		e.waitSeq(t, seq)
		assertGone(t, e, "gone")
	}
}

// An export link of a removed widget (a bookmark, a link in a report)
// answers 404 saying the widget may have been removed, not a bare
// "unknown widget".
func TestExportLinksOfARemovedWidgetAnswer404SayingItMayHaveBeenRemoved(t *testing.T) {
	e := startEnv(t, noAutoCompaction)
	declareTwo(t, e)
	e.publishAndWait(t, "sv.gone.config", removal)
	for _, path := range []string{"/api/widgets/gone/data.csv", "/api/widgets/gone/data.json"} {
		t.Run(path, func(t *testing.T) {
			code, ctype, body := get(t, e.url(path))
			if code != http.StatusNotFound || ctype != "application/json" {
				t.Fatalf("GET %s: %d %s, want 404 application/json", path, code, ctype)
			}
			var got struct{ Error string }
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("GET %s: body %q: %v", path, body, err)
			}
			want := `unknown widget "gone": the dashboard has no widget with this id now (never created, or removed); nothing to export`
			if got.Error != want {
				t.Errorf("GET %s: error %q, want %q", path, got.Error, want)
			}
		})
	}
}
