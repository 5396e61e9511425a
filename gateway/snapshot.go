package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/broker"
	"github.com/streamviz/streamviz/protocol"
)

// Snapshot chunks stay well under the default 1 MiB NATS payload limit.
const snapshotChunk = 512 << 10

// snapshotChunkFor is the chunk size for a bus whose payload limit is
// maxPayload: an operator's nats-server may take less than snapshotChunk,
// and a chunk it refuses would fail every compaction and the last snapshot.
func snapshotChunkFor(maxPayload int64) int {
	if maxPayload <= 0 {
		return snapshotChunk
	}
	return min(snapshotChunk, max(int(maxPayload)-4096, int(maxPayload)/2))
}

const (
	// hdrPos is the position (logformat.go) a snapshot reflects. Snapshots
	// from before batches carry hdrGen instead: a stream sequence.
	hdrPos   = protocol.HeaderPos
	hdrGen   = protocol.HeaderGen
	hdrPart  = protocol.HeaderPart
	hdrParts = protocol.HeaderParts
)

// sinceCompact is how many updates arrived since the last compaction
// (positions are not a count: logformat.go).
func (s *state) sinceCompact() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records - s.recordsCompacted
}

type widgetSnapshot struct {
	id   string
	body []byte // nil: the widget was removed, its snapshots are to go
}

// captureDirty encodes every widget changed since the last capture, at the
// position gen they reflect, the last stored message they cover whole, and
// clears the dirty set.
func (s *state) captureDirty() (gen, done uint64, snaps []widgetSnapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.dirty {
		var body []byte
		if id == dashboardID {
			body = titleSnapshot(s.title, s.theme)
		} else if w := s.widgets[id]; w != nil {
			body = appendWidgetSnapshot(nil, w)
		} else {
			// Removed (state.remove): no body, so compact drops its snapshots.
			snaps = append(snaps, widgetSnapshot{id: id})
			continue
		}
		body = appendProducer(body, s.producers[id])
		snaps = append(snaps, widgetSnapshot{id: id, body: body})
	}
	clear(s.dirty)
	// In id order: a compaction cut short has written a predictable prefix.
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].id < snaps[j].id })
	s.recordsCaptured = s.records
	s.capturedEvent = s.lastEvent
	return s.handled, s.doneMsg, snaps
}

// appendProducer adds to a snapshot body (a JSON object) who published the
// widget's (or the title's) latest config: the log that said so is purged
// once the snapshot is written, and a restarted server must still tell a
// second producer apart from the first (docs/protocol.md §1.5).
func appendProducer(body []byte, producer string) []byte {
	if producer == "" || len(body) == 0 || body[len(body)-1] != '}' {
		return body
	}
	return append(appendString(append(body[:len(body)-1], `,"producer":`...), producer), '}')
}

func (s *state) markDirty(snaps []widgetSnapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, snap := range snaps {
		s.dirty[snap.id] = struct{}{}
	}
}

// compacted records that the log is purged up to gen, and the updates
// captured then no longer count towards the next compaction.
func (s *state) compacted(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.compactedTo = gen
	s.recordsCompacted = s.recordsCaptured
}

// idle says nothing changed since the last compaction: no widget to
// snapshot, the log purged up to the state's position.
func (s *state) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.dirty) == 0 && s.handled == s.compactedTo
}

// compactedAt is where the log is purged up to.
func (s *state) compactedAt() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.compactedTo
}

// compact writes the changed widgets to SV_SNAP, then the index of them,
// then purges the log up to the position they cover. The index is the
// commit: it is written only once every snapshot it names is stored, so an
// index never claims a snapshot that a compaction cut short (a failed write,
// a kill) did not write, and a start warns of lost snapshots only when they
// really were lost. A compaction cut short anywhere leaves the log unpurged
// or purged only below what the stored snapshots cover, and the next start
// skips log messages that a widget's snapshot already holds.
//
// One gateway on a bus compacts at a time (compactlock.go); another one
// compacting makes this return errCompactionBusy.
func (g *Gateway) compact(ctx context.Context) error {
	g.compactMu.Lock()
	defer g.compactMu.Unlock()
	if g.state.idle() {
		return nil
	}
	// A holder paused past the lease must not write once another gateway
	// has taken the lock over.
	ctx, cancel := context.WithTimeout(ctx, g.lock.deadline)
	defer cancel()
	others, err := g.acquireCompactLock(ctx)
	if err != nil {
		return err
	}
	defer g.releaseCompactLock()
	var stored map[string]uint64
	if others {
		if stored, err = g.storedSnapshots(ctx); err != nil {
			return err
		}
		g.state.reconcile(stored)
	}
	g.compactStep("locked")
	gen, done, snaps := g.state.captureDirty()
	if len(snaps) == 0 && gen == g.state.compactedAt() {
		return nil
	}
	if others {
		// A gateway ahead of this one stored newer snapshots: they hold
		// what this one would write, and must not be replaced by older.
		kept := snaps[:0]
		for _, s := range snaps {
			if got := stored[s.id]; got >= gen {
				g.state.noteSnapshots(got, []widgetSnapshot{s})
				continue
			}
			kept = append(kept, s)
		}
		snaps = kept
	}
	// The intent names what this compaction is about to write, on a
	// subject of its own (the last index stays): should the store lose the
	// tail of SV_SNAP after the log was purged, it is what survives to say
	// which snapshots went with it.
	if err := g.writeSnapshot(ctx, gen, widgetSnapshot{id: intentID, body: g.state.snapshotIntent(gen, snaps)}); err != nil {
		g.state.markDirty(snaps)
		return err
	}
	g.compactStep("intent")
	for i, s := range snaps {
		write := g.writeSnapshot
		if s.body == nil {
			write = g.dropSnapshot
		}
		if err := write(ctx, gen, s); err != nil {
			// What was written stays: the next index names it.
			g.state.noteSnapshots(gen, snaps[:i])
			g.state.markDirty(snaps[i:])
			return err
		}
		g.compactStep("snapshot " + s.id)
	}
	g.state.noteSnapshots(gen, snaps)
	g.compactStep("snapshots")
	if err := g.writeSnapshot(ctx, gen, widgetSnapshot{id: indexID, body: g.state.snapshotIndex(gen)}); err != nil {
		// The snapshots are stored; only the index (and so the purge) waits
		// for the next compaction, which writes it even with nothing dirty.
		return err
	}
	g.compactStep("index")
	// The index supersedes the intent; one left behind would only be ignored.
	if err := g.snapStream.Purge(ctx, jetstream.WithPurgeSubject(protocol.SnapshotPrefix+intentID+".>")); err != nil {
		g.log.Warn("cannot drop the compaction's intent from SV_SNAP (harmless: the index supersedes it)", "err", err)
	}
	// Only stored messages whose every record the snapshots hold go, and
	// the last of them stays: after a restart its records tell where the
	// positions are (the snapshots' skip its updates), so a client holding
	// the last position resumes.
	done = g.purgeFloor(ctx, done)
	if err := ctx.Err(); err != nil {
		// Past the deadline: another gateway may hold the lock by now.
		return fmt.Errorf("purge %s: %w", broker.LogStream, err)
	}
	if done > 1 {
		if err := g.logStream.Purge(ctx, jetstream.WithPurgeSequence(done)); err != nil {
			return fmt.Errorf("purge %s below %d: %w", broker.LogStream, done, err)
		}
	}
	g.state.compacted(gen)
	return nil
}

// compactStep lets a test stop a compaction between two of its writes, as a
// kill or a failing bus would.
func (g *Gateway) compactStep(step string) {
	if g.cfg.compactStep != nil {
		g.cfg.compactStep(step)
	}
}

// logPrefetch is how many log messages a gateway's consumer may hold
// delivered but not yet applied (the Consume pull's message limit).
const logPrefetch = 256

// purgeFloor lowers done, the log position this gateway's snapshots cover, to
// what every other gateway on the bus has applied: several gateways share the
// log, and one lagging behind (busy, paused, reconnecting) would otherwise
// skip the updates another's compaction purged and show a different state for
// good. Their ephemeral consumers on the log say how far each has been
// delivered; up to logPrefetch of those may not be applied yet. A gateway that
// is gone holds compaction back until the server drops its consumer (its
// inactivity threshold, 5 minutes).
func (g *Gateway) purgeFloor(ctx context.Context, done uint64) uint64 {
	g.mu.Lock()
	own := g.logCons
	g.mu.Unlock()
	if own == nil || done <= 1 {
		return done
	}
	ownName := own.CachedInfo().Name
	lister := g.logStream.ListConsumers(ctx)
	for ci := range lister.Info() {
		if ci.Name == ownName || ci.Config.Durable != "" || ci.Config.FilterSubject != "" || len(ci.Config.FilterSubjects) > 0 {
			// Gateways read the whole log with ephemeral consumers; a
			// durable or filtered one is some other reader's, which must
			// not hold compaction (and the log's size) back.
			continue
		}
		var floor uint64
		if d := ci.Delivered.Stream; d > logPrefetch {
			floor = d - logPrefetch + 1
		}
		done = min(done, floor)
	}
	if err := lister.Err(); err != nil {
		// Without the list (an external bus's older permissions) the purge
		// goes as far as this gateway's snapshots, as with one gateway.
		g.log.Warn("cannot list the log's consumers; compaction may purge updates another gateway on this bus has not applied yet", "err", err)
	}
	return done
}

// writeSnapshot stores s at gen and drops the older snapshots of s.id.
func (g *Gateway) writeSnapshot(ctx context.Context, gen uint64, s widgetSnapshot) error {
	first, err := g.writeChunks(ctx, gen, s)
	if err != nil {
		return err
	}
	if err := g.snapStream.Purge(ctx, jetstream.WithPurgeSubject(protocol.SnapshotPrefix+s.id+".>"), jetstream.WithPurgeSequence(first)); err != nil {
		return fmt.Errorf("drop old snapshot of %s: %w", s.id, err)
	}
	return nil
}

// writeChunks stores s at gen in chunks the bus takes and returns the
// stream sequence of the first.
func (g *Gateway) writeChunks(ctx context.Context, gen uint64, s widgetSnapshot) (uint64, error) {
	size := snapshotChunkFor(g.nc.MaxPayload())
	parts := (len(s.body) + size - 1) / size
	var first uint64
	for i := 0; i < parts; i++ {
		chunk := s.body[i*size : min(len(s.body), (i+1)*size)]
		msg := &nats.Msg{
			Subject: protocol.SnapshotPrefix + s.id + "." + strconv.Itoa(i),
			Data:    chunk,
			Header: nats.Header{
				hdrPos:   []string{strconv.FormatUint(gen, 10)},
				hdrPart:  []string{strconv.Itoa(i)},
				hdrParts: []string{strconv.Itoa(parts)},
			},
		}
		ack, err := g.js.PublishMsg(ctx, msg)
		if err != nil {
			return 0, fmt.Errorf("snapshot %s: %w", s.id, err)
		}
		if i == 0 {
			first = ack.Sequence
		}
	}
	return first, nil
}

// dropSnapshot deletes a removed widget's snapshots. It must succeed before
// the log is purged past the removal: a snapshot left behind then would be
// restored at the next start with nothing after it to remove it again.
func (g *Gateway) dropSnapshot(ctx context.Context, _ uint64, s widgetSnapshot) error {
	if err := g.snapStream.Purge(ctx, jetstream.WithPurgeSubject(protocol.SnapshotPrefix+s.id+".>")); err != nil {
		return fmt.Errorf("drop snapshot of removed widget %s: %w", s.id, err)
	}
	return nil
}

// indexID names the snapshot index in SV_SNAP (svsnap.$index.<part>): the
// position of every widget's newest snapshot, written by each compaction
// after the snapshots themselves (compact). It cannot clash with a widget id.
const indexID = "$index"

// intentID names the index a compaction writes before its snapshots
// (svsnap.$intent.<part>, snapshotIntent), dropped once the index after
// them is written.
const intentID = "$intent"

type snapIndex struct {
	Gen     uint64            `json:"gen"`
	Widgets map[string]uint64 `json:"widgets"`
	// Event is the position of the last event when the state was at Gen:
	// the updates after it up to Gen were refused or are still folding
	// (rows), so a client holding it has missed nothing. Absent in indexes
	// written before it existed.
	Event *uint64 `json:"event,omitempty"`
	// Stored says the index was written after every snapshot it names.
	// Releases before it wrote the index first, so one of theirs cut short
	// names snapshots that were never written (upgrading: checkIndex).
	Stored bool `json:"stored,omitempty"`
}

// snapshotIndex is the index of the snapshots stored (noteSnapshots) when
// the state was at gen.
func (s *state) snapshotIndex(gen uint64) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	event := s.capturedEvent
	idx := snapIndex{Gen: gen, Event: &event, Stored: true, Widgets: make(map[string]uint64, len(s.snapGen))}
	for id, g := range s.snapGen {
		idx.Widgets[id] = g
	}
	b, _ := json.Marshal(idx) // strings and integers: cannot fail
	return b
}

// snapshotIntent is the index as it will be once snaps are written at gen.
func (s *state) snapshotIntent(gen uint64, snaps []widgetSnapshot) []byte {
	s.mu.Lock()
	event := s.capturedEvent
	idx := snapIndex{Gen: gen, Event: &event, Widgets: make(map[string]uint64, len(s.snapGen)+len(snaps))}
	for id, g := range s.snapGen {
		idx.Widgets[id] = g
	}
	s.mu.Unlock()
	for _, snap := range snaps {
		if snap.body == nil {
			delete(idx.Widgets, snap.id) // removed: the index must not promise it
			continue
		}
		idx.Widgets[snap.id] = gen
	}
	b, _ := json.Marshal(idx) // strings and integers: cannot fail
	return b
}

func (s *state) noteSnapshots(gen uint64, snaps []widgetSnapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, snap := range snaps {
		if snap.body == nil {
			delete(s.snapGen, snap.id)
			continue
		}
		s.snapGen[snap.id] = gen
	}
}

// checkIndex compares what was restored with the newest index and says,
// at warning level, which widgets lost snapshots: a damaged SV_SNAP falls
// back to older snapshots (or none) without any other sign. A widget is
// hurt only when the log no longer holds what its lost snapshot covered
// (restored below compacted); otherwise replaying the log rebuilds it.
//
// idx is the newest index a compaction wrote once its snapshots were
// stored; intent the one written before them (nil once that compaction
// finished). An intent newer than idx is a compaction cut short, which
// purged nothing and so lost nothing, unless the log was purged past idx:
// then the index after it was lost, and the intent names what went with it.
//
// An index an older release wrote (not Stored) came before its snapshots:
// when that release was killed between the two, its claims were never
// written and the log was not purged past them. Once a snapshot restored
// (newest) covers the log's compaction point, the older release's last
// whole compaction had snapshotted every widget changed before it, so the
// snapshots and the log hold the whole state and a missing claim is no loss.
func (g *Gateway) checkIndex(idx, intent *snapIndex, restored map[string]uint64, compacted, newest uint64) {
	lostIndex := compacted > 0 && (idx == nil || idx.Gen < compacted)
	if idx == nil {
		if lostIndex && (len(restored) > 0 || intent != nil) {
			g.log.Warn("SV_SNAP holds no snapshot index although the log was compacted: its newest snapshots may be lost (damaged store?) and widgets may show older state",
				"compacted", compacted, "widgets_restored", len(restored))
		}
	} else if lostIndex {
		g.log.Warn("SV_SNAP's newest snapshot index is older than the log's compaction point: the last compactions' snapshots are lost (damaged store?)",
			"index_seq", idx.Gen, "compacted", compacted)
	}
	check := idx
	if idx != nil && !idx.Stored && !lostIndex && newest >= compacted {
		check = nil
	}
	if lostIndex && intent != nil && (idx == nil || intent.Gen > idx.Gen) {
		check = intent
	}
	if check == nil {
		return
	}
	var lost []string
	for id, want := range check.Widgets {
		if got := restored[id]; got < want && got < compacted {
			lost = append(lost, fmt.Sprintf("%s (snapshot at seq %d lost; restored %s)", id, want, restoredFrom(got)))
		}
	}
	if len(lost) == 0 {
		return
	}
	sort.Strings(lost)
	shown := lost[:min(len(lost), 20)]
	g.log.Warn("snapshots lost from SV_SNAP (damaged store?): these widgets show older state, or none, and their updates up to the compaction point are gone",
		"widgets_hurt", len(lost), "compacted", compacted, "widgets", strings.Join(shown, ", "))
}

func restoredFrom(gen uint64) string {
	if gen == 0 {
		return "nothing"
	}
	return "the one at seq " + strconv.FormatUint(gen, 10)
}

type snapParts struct {
	parts int
	got   map[int][]byte
}

// loadSnapshots restores every widget from its newest complete snapshot and
// returns the highest generation seen. A snapshot claiming a position past
// the log's last sequence (logEnd) cannot have been written by a gateway of
// this log: restoring it would hold every live event below its position and
// freeze the dashboard, so it is ignored, loudly.
//
// compacted is where the log is purged up to: what it covered before lives
// only in the snapshots, so a lost one is reported (checkIndex).
func (g *Gateway) loadSnapshots(ctx context.Context, logEnd, compacted uint64) (uint64, *snapIndex, error) {
	total := g.snapStream.CachedInfo().State.Msgs // opened by Start just before this
	if total == 0 {
		g.checkIndex(nil, nil, nil, compacted, 0)
		return 0, nil, nil
	}
	cons, err := g.js.OrderedConsumer(ctx, broker.SnapshotStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return 0, nil, fmt.Errorf("read %s: %w", broker.SnapshotStream, err)
	}
	byWidget := map[string]map[uint64]*snapParts{}
	for read := uint64(0); read < total; {
		// Ask for exactly what is left: a larger batch would wait out the
		// fetch timeout for messages that do not exist.
		// At most about one largest message at a time (broker.LogPullBytes).
		batch, err := cons.Fetch(int(min(256, total-read)), jetstream.FetchMaxWait(5*time.Second),
			jetstream.FetchMaxBytes(broker.LogPullBytes(g.nc.MaxPayload())))
		if err != nil {
			return 0, nil, fmt.Errorf("read %s: %w", broker.SnapshotStream, err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			collectPart(byWidget, msg)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return 0, nil, fmt.Errorf("read %s: %w", broker.SnapshotStream, err)
		}
		if n == 0 {
			break
		}
		read += uint64(n)
	}
	var maxGen uint64
	var idx, intent *snapIndex
	restored := map[string]uint64{}
	for id, gens := range byWidget {
		for gen := range gens {
			if gen > logEnd {
				g.log.Warn("ignoring a snapshot positioned past the end of the log (not written by this server)",
					"widget", id, "snapshot_seq", gen, "log_last_seq", logEnd)
				delete(gens, gen)
			}
		}
		gen, body := newestComplete(gens)
		if body == nil {
			continue
		}
		if id == indexID || id == intentID {
			v := &snapIndex{}
			if err := json.Unmarshal(body, v); err != nil {
				g.log.Warn("ignoring unreadable snapshot index", "subject", protocol.SnapshotPrefix+id, "err", err)
				continue
			}
			if id == indexID {
				idx = v
			} else {
				intent = v
			}
			continue
		}
		if err := g.state.restore(id, gen, body); err != nil {
			g.log.Warn("ignoring unreadable snapshot", "widget", id, "err", err)
			continue
		}
		restored[id] = gen
		maxGen = max(maxGen, gen)
	}
	newest := maxGen
	if idx != nil && idx.Gen <= logEnd && idx.Gen > maxGen && coversIndex(idx, restored) {
		// A compaction that only dropped removed widgets' snapshots wrote
		// none at its position: the index, whose snapshots are all here,
		// says the state is as of there, so the positions up to the
		// removal do not go backwards at the next start.
		maxGen = idx.Gen
	}
	g.checkIndex(idx, intent, restored, compacted, newest)
	return maxGen, idx, nil
}

// coversIndex reports whether every snapshot idx lists was restored.
func coversIndex(idx *snapIndex, restored map[string]uint64) bool {
	for id, want := range idx.Widgets {
		if restored[id] < want {
			return false
		}
	}
	return true
}

func collectPart(byWidget map[string]map[uint64]*snapParts, msg jetstream.Msg) {
	// svsnap.<id>.<part>
	subj := msg.Subject()
	rest := strings.TrimPrefix(subj, protocol.SnapshotPrefix)
	dot := len(rest) - 1
	for dot >= 0 && rest[dot] != '.' {
		dot--
	}
	if dot <= 0 {
		return
	}
	id := rest[:dot]
	h := msg.Headers()
	gen, err1 := strconv.ParseUint(h.Get(hdrPos), 10, 64)
	if h.Get(hdrPos) == "" {
		// Written before batches: a stream sequence, each message one update.
		var old uint64
		if old, err1 = strconv.ParseUint(h.Get(hdrGen), 10, 64); err1 == nil {
			gen = math.MaxUint64 // past any log's end: ignored
			if old < 1<<(64-posShift) {
				gen = pos(old, maxBatchRecords)
			}
		}
	}
	part, err2 := strconv.Atoi(h.Get(hdrPart))
	parts, err3 := strconv.Atoi(h.Get(hdrParts))
	if err1 != nil || err2 != nil || err3 != nil || parts < 1 || part < 0 || part >= parts {
		return
	}
	gens := byWidget[id]
	if gens == nil {
		gens = map[uint64]*snapParts{}
		byWidget[id] = gens
	}
	p := gens[gen]
	if p == nil {
		p = &snapParts{parts: parts, got: map[int][]byte{}}
		gens[gen] = p
	}
	p.got[part] = msg.Data()
}

// body is the snapshot's chunks joined, or nil while one is missing.
func (p *snapParts) body() []byte {
	if len(p.got) != p.parts {
		return nil
	}
	var b []byte
	for i := 0; i < p.parts; i++ {
		b = append(b, p.got[i]...)
	}
	return b
}

func newestComplete(gens map[uint64]*snapParts) (uint64, []byte) {
	var best uint64
	var body []byte
	for gen, p := range gens {
		if len(p.got) != p.parts || (body != nil && gen < best) {
			continue
		}
		best, body = gen, p.body()
	}
	return best, body
}

// restore installs one widget (or the dashboard title) from its snapshot,
// and remembers gen so the log messages it already holds are not applied twice.
func (s *state) restore(id string, gen uint64, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == dashboardID {
		var t struct {
			Title    string          `json:"title"`
			Theme    json.RawMessage `json:"theme"`
			Producer string          `json:"producer"`
		}
		if err := json.Unmarshal(body, &t); err != nil {
			return err
		}
		s.title = t.Title
		s.restoreProducer(id, t.Producer)
		s.theme = nil
		if len(t.Theme) > 0 && string(t.Theme) != "null" {
			s.theme = append([]byte(nil), t.Theme...)
		}
		s.skip[id], s.snapGen[id] = gen, gen
		return nil
	}
	var v struct {
		Config   json.RawMessage `json:"config"`
		State    json.RawMessage `json:"state"`
		Producer string          `json:"producer"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	cfg, err := DecodeConfig(id, v.Config, s.history)
	if err != nil {
		return err
	}
	w := newWidget(cfg)
	if err := w.loadState(v.State); err != nil {
		return err
	}
	if err := w.loadFold(body, s.maxTableRows); err != nil {
		return err
	}
	// Restored whatever the limits: it was accepted under them, or under
	// larger ones before a restart; only growth is refused.
	w.bytes = w.measure()
	s.stateBytes += w.bytes
	s.widgets[id] = w
	s.restoreProducer(id, v.Producer)
	s.skip[id], s.snapGen[id] = gen, gen
	return nil
}

// restoreProducer installs the producer a snapshot names (snapshots written
// before they carried one name none: the producer stays unknown).
func (s *state) restoreProducer(id, producer string) {
	if producer != "" {
		s.producers[id] = producer
	}
}

// compactLoop compacts on a timer, or early when enough updates arrived.
func (g *Gateway) compactLoop() {
	defer g.bg.Done()
	t := time.NewTicker(g.cfg.CompactInterval)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
		case <-g.compactN:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := g.compact(ctx); errors.Is(err, errCompactionBusy) {
			g.log.Debug("another gateway on the bus is compacting; will retry")
		} else if err != nil {
			g.log.Warn("compaction failed; will retry", "err", err)
		}
		cancel()
	}
}
