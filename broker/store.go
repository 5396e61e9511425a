package broker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/highwayhash"
)

// ErrDamagedStore reports a data dir whose streams cannot be read as they
// were written. Starting anyway would make JetStream skip the damaged
// stream, and the gateway would then treat the log as new and drop the
// snapshots with it: everything would be gone without a word.
var ErrDamagedStore = errors.New("broker: damaged store")

// checkStore looks at the stream files nats-server will recover, the way
// it checks them (a stream whose meta.inf does not match its meta.sum is
// skipped, with a line in its log), and returns one line per problem.
func checkStore(dir string) []string {
	accounts, err := os.ReadDir(filepath.Join(dir, "jetstream"))
	if err != nil {
		return nil // no store yet
	}
	var problems []string
	for _, acc := range accounts {
		if !acc.IsDir() {
			continue
		}
		streams := filepath.Join(dir, "jetstream", acc.Name(), "streams")
		present := map[string]bool{}
		for _, name := range []string{LogStream, SnapshotStream} {
			sdir := filepath.Join(streams, name)
			if _, err := os.Stat(sdir); err != nil {
				continue
			}
			present[name] = true
			if p := checkStreamMeta(sdir, name); p != "" {
				problems = append(problems, p)
			}
		}
		if present[SnapshotStream] && !present[LogStream] {
			problems = append(problems, fmt.Sprintf("%s is missing while %s holds the snapshots taken from it",
				filepath.Join(streams, LogStream), filepath.Join(streams, SnapshotStream)))
		}
	}
	return problems
}

func checkStreamMeta(sdir, name string) string {
	meta, sumFile := filepath.Join(sdir, "meta.inf"), filepath.Join(sdir, "meta.sum")
	buf, err := os.ReadFile(meta)
	if err != nil {
		return fmt.Sprintf("%s: unreadable: %v", meta, err)
	}
	sum, err := os.ReadFile(sumFile)
	if err != nil {
		return fmt.Sprintf("%s: unreadable: %v", sumFile, err)
	}
	key := sha256.Sum256([]byte(name))
	hh, err := highwayhash.New64(key[:])
	if err != nil {
		return fmt.Sprintf("%s: %v", meta, err)
	}
	hh.Write(buf)
	if hex.EncodeToString(hh.Sum(nil)) != string(sum) {
		return fmt.Sprintf("%s: does not match its checksum in meta.sum (%d bytes: truncated or overwritten)", meta, len(buf))
	}
	var cfg struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(buf, &cfg); err != nil || cfg.Name != name {
		return fmt.Sprintf("%s: not the configuration of stream %s", meta, name)
	}
	return ""
}

// moveStoreAside renames dir/jetstream to dir/damaged-<time>/jetstream and
// returns the new path: nothing is deleted, an operator may still recover
// from it with nats-server's tools.
func moveStoreAside(dir string, now time.Time) (string, error) {
	aside := filepath.Join(dir, "damaged-"+strings.ReplaceAll(now.UTC().Format("20060102T150405.000Z"), ".", ""))
	if err := os.MkdirAll(aside, 0o755); err != nil {
		return "", err
	}
	to := filepath.Join(aside, "jetstream")
	if err := os.Rename(filepath.Join(dir, "jetstream"), to); err != nil {
		return "", err
	}
	return to, nil
}
