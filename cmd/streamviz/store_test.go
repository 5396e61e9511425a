package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamviz/streamviz/broker"
)

// storeWithWidgets runs a server on a fresh data dir, publishes n table
// widgets and stops it (which writes their snapshots and purges the log).
func storeWithWidgets(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	ready, stop := startRun(t, serveArgs(dir)...)
	msgs := map[string]string{}
	for i := range n {
		msgs[fmt.Sprintf("sv.w%d.data", i)] = fmt.Sprintf(`{"key": "k", "row": {"v": %d}}`, i)
	}
	publish(t, ready.NATS, msgs)
	waitWidgets(t, ready.HTTP, n)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func waitWidgets(t *testing.T, httpAddr string, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var h struct {
			Widgets int `json:"widgets"`
		}
		getJSON(t, "http://"+httpAddr+"/healthz", &h)
		if h.Widgets == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz widgets = %d, want %d", h.Widgets, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func streamDir(dir, name string) string {
	return filepath.Join(dir, "jetstream", "$G", "streams", name)
}

// listing is every file under dir with its size and content hash, to show
// that a refused start changed nothing.
func listing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %x\n", strings.TrimPrefix(path, dir), len(data), data[:min(len(data), 64)])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Finding 3 of issue 10: with SV's meta.inf truncated, the server took the
// log for missing and deleted SV_SNAP too (every widget gone, a new epoch,
// not a word in the log).
func TestDamagedStoreIsRefusedNamingTheFileAndRecoverMovesItAside(t *testing.T) {
	cases := []struct {
		name, want string
		damage     func(t *testing.T, dir string)
	}{
		{"SV meta.inf truncated", filepath.Join("SV", "meta.inf") + ": does not match its checksum", func(t *testing.T, dir string) {
			meta := filepath.Join(streamDir(dir, "SV"), "meta.inf")
			info, err := os.Stat(meta)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(meta, info.Size()/2); err != nil {
				t.Fatal(err)
			}
		}},
		{"SV_SNAP meta.inf emptied", filepath.Join("SV_SNAP", "meta.inf") + ": does not match its checksum", func(t *testing.T, dir string) {
			if err := os.Truncate(filepath.Join(streamDir(dir, "SV_SNAP"), "meta.inf"), 0); err != nil {
				t.Fatal(err)
			}
		}},
		{"SV gone, SV_SNAP left", "SV is missing while", func(t *testing.T, dir string) {
			if err := os.RemoveAll(streamDir(dir, "SV")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := storeWithWidgets(t, 5)
			tc.damage(t, dir)
			before := listing(t, dir)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := run(ctx, serveArgs(dir), io.Discard, io.Discard)
			if !errors.Is(err, broker.ErrDamagedStore) || exitCode(err) != 1 || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--recover-store") {
				t.Fatalf("start on the damaged store: %v (exit %d); want ErrDamagedStore naming %q and --recover-store", err, exitCode(err), tc.want)
			}
			if after := listing(t, dir); after != before {
				t.Fatalf("a refused start changed the store:\nbefore\n%s\nafter\n%s", before, after)
			}

			ready, stop, stderr := startRunLogged(t, append(serveArgs(dir), "--recover-store")...)
			waitWidgets(t, ready.HTTP, 0)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			log := stderr.String()
			if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "damaged store moved aside") || !strings.Contains(log, tc.want) {
				t.Fatalf("the log does not say at warning level what was damaged and where it went:\n%s", log)
			}
			moved, _ := filepath.Glob(filepath.Join(dir, "damaged-*", "jetstream", "$G", "streams", "SV_SNAP", "msgs", "*.blk"))
			if len(moved) == 0 || !strings.Contains(log, filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(moved[0])))))) {
				t.Fatalf("the damaged store's snapshots are not kept aside where the log says (found %v):\n%s", moved, log)
			}
		})
	}
}

// Finding 3 of issue 10: a damaged SV_SNAP block fell back to older
// snapshots (or none) without a word.
func TestLostSnapshotsAreReportedByWidgetAtWarningLevel(t *testing.T) {
	dir := storeWithWidgets(t, 5)
	// Cut SV_SNAP's block just before the first widget's snapshot: the
	// intent, written first by each compaction, survives; the snapshots of
	// w0..w4 and the index written after them do not (a torn write at the
	// end of the file).
	blocks, _ := filepath.Glob(filepath.Join(streamDir(dir, "SV_SNAP"), "msgs", "*.blk"))
	if len(blocks) != 1 {
		t.Fatalf("SV_SNAP blocks: %v, want one", blocks)
	}
	data, err := os.ReadFile(blocks[0])
	if err != nil {
		t.Fatal(err)
	}
	// A record is length(4) seq(8) time(8) subject length(2) subject ...
	at := bytes.Index(data, []byte("svsnap.w"))
	if at < 22 || !bytes.Contains(data[:at], []byte("svsnap.$intent.0")) {
		t.Fatalf("unexpected block layout: intent at %d, first widget snapshot at %d", bytes.Index(data, []byte("svsnap.$intent.0")), at)
	}
	if err := os.Truncate(blocks[0], int64(at-22)); err != nil {
		t.Fatal(err)
	}

	ready, stop, stderr := startRunLogged(t, serveArgs(dir)...)
	// The compaction kept the log's last stored message (docs/protocol.md
	// §5): the one widget it updated comes back from it, the others are lost.
	waitWidgets(t, ready.HTTP, 1)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var warn string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "snapshots lost") {
			warn = line
		}
	}
	for i := range 5 {
		if w := fmt.Sprintf("w%d (snapshot at seq", i); !strings.Contains(warn, w) {
			t.Fatalf("the warning does not name widget w%d:\n%s", i, stderr)
		}
	}
	if !strings.Contains(warn, "widgets_hurt=5") {
		t.Fatalf("the warning does not count 5 widgets: %s", warn)
	}
	// nats-server's own account of the damage reaches the log as a warning too.
	if !strings.Contains(stderr.String(), `level=WARN msg="nats: Filestore [SV_SNAP]`) {
		t.Fatalf("nats-server's warnings about SV_SNAP are not in the log at warning level:\n%s", stderr)
	}
}
