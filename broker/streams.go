package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streamviz/streamviz/protocol"
)

// Stream names and subjects (docs/protocol.md §5), from the one list in package protocol.
const (
	LogStream      = protocol.LogStream
	SnapshotStream = protocol.SnapshotStream
	// EpochKey is the log stream's metadata entry that names its epoch.
	EpochKey = protocol.EpochKey

	// LogPrefix is the prefix of the log's subjects. Only the gateway may
	// publish there: publishers send to sv.> on core NATS, the gateway
	// validates, batches and stores (docs/protocol.md §5).
	LogPrefix = protocol.LogPrefix
	// LogBatchSubject is the subject of a stored batch of updates.
	LogBatchSubject = protocol.LogBatchSubject
	// legacySubjects is what the log captured before it had a prefix of its
	// own: publishers wrote into it directly.
	legacySubjects = protocol.SubjectWildcard
)

// StreamsConfig sizes the streams.
type StreamsConfig struct {
	// MaxBytes bounds the update log. Default 1 GiB. When full, publishers
	// get an error rather than older acknowledged updates being dropped.
	MaxBytes int64
	// MaxMsgSize is the largest accepted update. Default 1 MiB.
	MaxMsgSize int32
	// Memory keeps both streams in memory instead of files. Default false.
	Memory bool
	// SnapshotMaxBytes bounds SV_SNAP. Default 576 MiB (twice the gateway's
	// default state bound, plus room). When full, a snapshot write fails and
	// the compaction is retried (and logged) rather than older snapshots
	// being dropped.
	SnapshotMaxBytes int64
}

// Streams describes the streams once they exist.
type Streams struct {
	// Epoch names this store: it changes when the log stream is created anew.
	Epoch string
	// FirstSeq, LastSeq and Msgs of the log when it was opened.
	FirstSeq, LastSeq, Msgs uint64
	// Migrated is set when the log was made by a version whose publishers
	// wrote into it directly (subjects sv.>): it now captures LogPrefix only,
	// keeps its messages, and has a new epoch, because positions count
	// differently now (clients holding an old position get a reset).
	Migrated bool
}

// EnsureStreams creates the log and snapshot streams, or adopts existing ones.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfg StreamsConfig) (Streams, error) {
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 1 << 30
	}
	if cfg.MaxMsgSize == 0 {
		cfg.MaxMsgSize = 1 << 20
	}
	if cfg.SnapshotMaxBytes == 0 {
		cfg.SnapshotMaxBytes = 576 << 20
	}
	storage := jetstream.FileStorage
	if cfg.Memory {
		storage = jetstream.MemoryStorage
	}
	logCfg := jetstream.StreamConfig{
		Name:        LogStream,
		Description: "StreamViz widget updates (compacted into SV_SNAP)",
		Subjects:    []string{LogPrefix + ">"},
		Storage:     storage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    cfg.MaxBytes,
		MaxMsgSize:  cfg.MaxMsgSize,
		AllowDirect: true,
	}
	var st Streams
	// Checked first: a missing log has its stale snapshot stream deleted below.
	if snap, err := js.Stream(ctx, SnapshotStream); err == nil {
		if subj := snap.CachedInfo().Config.Subjects; !slices.Equal(subj, []string{protocol.SnapshotWildcard}) {
			return st, foreignStream(SnapshotStream, subj, protocol.SnapshotWildcard)
		}
	}
	s, err := js.Stream(ctx, LogStream)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		// Snapshots without their log mean the log was lost, not that this
		// is a new store: deleting them would finish the loss silently.
		if snap, err := js.Stream(ctx, SnapshotStream); err == nil && snap.CachedInfo().State.Msgs > 0 {
			return st, fmt.Errorf("%w: stream %s is missing while %s holds %d snapshot messages taken from it; refusing to start (and to drop them): restore %s, or delete %s to start empty",
				ErrDamagedStore, LogStream, SnapshotStream, snap.CachedInfo().State.Msgs, LogStream, SnapshotStream)
		}
		// Snapshots of another log's sequences would be wrong for this one.
		if err := js.DeleteStream(ctx, SnapshotStream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return st, fmt.Errorf("drop stale stream %s: %w", SnapshotStream, err)
		}
		logCfg.Metadata = map[string]string{EpochKey: newEpoch()}
		if s, err = js.CreateStream(ctx, logCfg); err != nil {
			return st, fmt.Errorf("create stream %s: %w", LogStream, storageHint(err, cfg.MaxBytes))
		}
	case err != nil:
		return st, fmt.Errorf("open stream %s: %w", LogStream, jetStreamHint(err))
	default:
		// Keep the existing epoch; a stream made by someone else gets one.
		old := s.CachedInfo().Config
		// Updating a stream that captures other subjects would take it over
		// from whoever made it (its subjects rewritten, its messages read as
		// updates); only StreamViz's own log, or its legacy form, is adopted.
		if !slices.Equal(old.Subjects, logCfg.Subjects) && !slices.Equal(old.Subjects, []string{legacySubjects}) {
			return st, foreignStream(LogStream, old.Subjects, logCfg.Subjects[0])
		}
		if old.Storage != storage {
			return st, fmt.Errorf("a stream named %s already exists on the bus with %s storage, not the %s storage StreamViz keeps its log in; refusing to change it: delete it, or give StreamViz a bus (or account) of its own", LogStream, old.Storage, storage)
		}
		logCfg.Metadata = old.Metadata
		if slices.Contains(old.Subjects, legacySubjects) {
			st.Migrated = true
		}
		if logCfg.Metadata[EpochKey] == "" || st.Migrated {
			logCfg.Metadata = map[string]string{EpochKey: newEpoch()}
		}
		if s, err = js.UpdateStream(ctx, logCfg); err != nil {
			return st, fmt.Errorf("update stream %s: %w", LogStream, err)
		}
	}
	info, err := s.Info(ctx)
	if err != nil {
		return st, fmt.Errorf("stream %s info: %w", LogStream, err)
	}
	st.Epoch = info.Config.Metadata[EpochKey]
	st.FirstSeq, st.LastSeq, st.Msgs = info.State.FirstSeq, info.State.LastSeq, info.State.Msgs

	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        SnapshotStream,
		Description: "StreamViz per-widget state snapshots",
		Subjects:    []string{protocol.SnapshotWildcard},
		Storage:     storage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    cfg.SnapshotMaxBytes,
		// Snapshots are written in chunks sized for NATS's default 1 MiB
		// payload, whatever limit updates have.
		MaxMsgSize: 1 << 20,
	})
	if err != nil {
		return st, fmt.Errorf("create stream %s: %w", SnapshotStream, err)
	}
	return st, nil
}

// foreignStream is the error for a stream of StreamViz's name that is not
// StreamViz's: the operator must choose, not the gateway.
func foreignStream(name string, subjects []string, want string) error {
	return fmt.Errorf("a stream named %s already exists on the bus capturing %q, not StreamViz's %q: it belongs to something else; refusing to take it over: rename or delete it, or give StreamViz a bus (or account) of its own", name, subjects, want)
}

// jetStreamHint says what "no responders" to a JetStream API call means: the
// server (or the account the gateway is in) has no JetStream.
func jetStreamHint(err error) error {
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
		return fmt.Errorf("the NATS server has no JetStream for this connection's account (start nats-server with -js, or enable jetstream in the account's configuration): %w", err)
	}
	return err
}

// storageHint says what JetStream's "insufficient storage resources" means
// here: the store cannot reserve the log's MaxBytes.
func storageHint(err error, maxBytes int64) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jsInsufficientResources {
		return fmt.Errorf("the store's disk has less free space than the log's limit of %d MiB (disk full?): %w", maxBytes>>20, err)
	}
	return err
}

// jsInsufficientResources is nats-server's JSInsufficientResourcesErr, which
// nats.go does not name.
const jsInsufficientResources jetstream.ErrorCode = 10047

func newEpoch() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b)
}
