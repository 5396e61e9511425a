package gateway

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/streamviz/streamviz/protocol"
)

// dropLog gathers dropped updates per widget between the once-a-minute log lines.
type dropLog struct {
	mu     sync.Mutex
	last   map[string]uint64
	logged time.Time
}

func (d *dropLog) note(subject string) {
	id := subject
	if a, b, ok := strings.Cut(strings.TrimPrefix(subject, protocol.SubjectPrefix), "."); ok && b != "" {
		id = a
	}
	d.mu.Lock()
	if len(d.last) < 10000 {
		d.last[id]++
	} else {
		d.last["(other widgets)"]++
	}
	d.mu.Unlock()
}

// flush logs what was dropped since the last line, at most once a minute
// (the first drops are logged at once).
func (d *dropLog) flush(log *slog.Logger, clientDropped uint64, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if (len(d.last) == 0 && clientDropped == 0) || now.Sub(d.logged) < time.Minute {
		return
	}
	type kv struct {
		id string
		n  uint64
	}
	var all []kv
	var total uint64
	for id, n := range d.last {
		all = append(all, kv{id, n})
		total += n
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n || (all[i].n == all[j].n && all[i].id < all[j].id) })
	var parts []string
	for i, e := range all {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("and %d more widgets", len(all)-10))
			break
		}
		parts = append(parts, fmt.Sprintf("%s: %d", e.id, e.n))
	}
	if clientDropped > 0 {
		parts = append(parts, fmt.Sprintf("widget unknown (the NATS client's buffer overflowed): %d", clientDropped))
		total += clientDropped
	}
	log.Error("updates from publishers were dropped: the bus was overloaded (further drops are logged once a minute)",
		"dropped", total, "by_widget", strings.Join(parts, ", "))
	clear(d.last)
	d.logged = now
}

// IngestStatus is the ingest path's part of /healthz.
type IngestStatus struct {
	// Queued updates taken off the bus and not yet stored or refused.
	Queued int64 `json:"queued"`
	// Stored updates since start.
	Stored uint64 `json:"stored"`
	// Dropped updates since start: never stored, and their publisher could
	// not be told (core publishes without a reply subject), or the bus's
	// client buffer overflowed. The dashboard shows this number.
	Dropped uint64 `json:"dropped"`
	// BusDisconnects counts the times the bus closed the ingest connection
	// (a slow consumer at the server); what it dropped then is in Dropped.
	BusDisconnects uint64 `json:"bus_disconnects"`
	// Duplicates counts resends not stored again: their Nats-Msg-Id was
	// seen (docs/protocol.md §1), their publisher answered as the first
	// copy was. Every update taken off the bus is stored, refused
	// (rejected), dropped or one of these.
	Duplicates uint64 `json:"duplicates"`
	// Problem says why updates are being refused or not stored now; "" when
	// ingest is healthy.
	Problem string `json:"problem,omitempty"`
}

// stallAfter is how long queued updates may wait without any being stored
// before /healthz calls ingest stalled.
const stallAfter = 5 * time.Second

func (w *writer) status(now time.Time) IngestStatus {
	s := IngestStatus{Queued: max(0, w.waiting.Load()), Stored: w.stored.Load(), Dropped: w.dropTotal(), BusDisconnects: w.busDisconnects(), Duplicates: w.duplicates.Load()}
	if p := w.problem.Load(); p != nil && strings.HasPrefix(*p, "disk full") && w.g.diskProblem(0) == "" {
		w.problem.CompareAndSwap(p, nil) // space is back: the next batch will be stored
	}
	if p := w.problem.Load(); p != nil {
		s.Problem = *p
	} else if idle := now.Sub(time.Unix(0, w.lastProgress.Load())); s.Queued > 0 && idle > stallAfter {
		s.Problem = fmt.Sprintf("ingest stalled: %d updates waiting, none stored for %s", s.Queued, idle.Round(time.Second))
		if e := w.lastErr.Load(); e != nil {
			s.Problem += " (last error: " + *e + ")"
		}
	}
	return s
}

// dropReporter logs drops once a minute until stop.
func (w *writer) dropReporter(stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			w.resolveBusLoss()
			d := w.clientDropped()
			client := d - w.clientLogged
			w.clientLogged = d
			w.drops.flush(w.log, client, now)
		}
	}
}

// diskProblem says why a batch of n bytes must not be stored now: the store's
// disk has less free space than Config.MinFreeBytes beside it. JetStream
// stops writing a stream for good (until a restart) once a write fails for
// lack of space, so the gateway refuses before that happens, and resumes by
// itself once space is back.
func (g *Gateway) diskProblem(n int) string {
	if g.cfg.StoreDir == "" || g.cfg.MinFreeBytes < 0 {
		return ""
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(g.cfg.StoreDir, &st); err != nil {
		return ""
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if free-int64(n) < g.cfg.MinFreeBytes {
		return fmt.Sprintf("disk full: %d MiB free in %s, below the %d MiB the store keeps in reserve; updates are refused until space is freed",
			free>>20, g.cfg.StoreDir, g.cfg.MinFreeBytes>>20)
	}
	return ""
}

// CoreBacklog is how many core publishes (updates without a reply subject)
// wait in the ingest queue to be validated and stored. More than a couple
// of batches of them (2,048 updates each) means they arrive faster than
// they are stored: a flood, during which acknowledged publishes compete
// with it for the CPU (docs/protocol.md §5 "Fairness").
func (g *Gateway) CoreBacklog() int {
	if g.w == nil {
		return 0
	}
	g.w.mu.Lock()
	defer g.w.mu.Unlock()
	return len(g.w.bulk) - g.w.bulkHead
}

// FloodBacklog is the CoreBacklog from which core publishes are arriving
// faster than they are stored: two batches' worth.
const FloodBacklog = 2 * maxBulkRecords
