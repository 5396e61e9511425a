package gateway

import (
	"encoding/binary"
	"strings"

	"github.com/streamviz/streamviz/broker"
	"github.com/streamviz/streamviz/protocol"
)

// The log (stream SV) holds batches: one stored message carries every update
// the gateway accepted while the previous batch was being stored, so an
// fsync covers a batch, not one update (docs/protocol.md §5). Record i of
// the message at stream sequence S is at position S<<posShift | i: positions
// follow the log's order, are the same for every gateway reading it, and
// stay below 2^53 (exact in a browser's numbers) for 2^37 stored messages.
const (
	posShift = 16
	// maxBatchRecords is the most records one stored message may carry.
	maxBatchRecords = 1<<posShift - 1
)

// pos is the position of record i of the stored message seq.
func pos(seq uint64, i int) uint64 { return seq<<posShift | uint64(i) }

// posBefore is the position just before the first record of the stored message seq.
func posBefore(seq uint64) uint64 {
	if seq == 0 {
		return 0
	}
	return seq<<posShift - 1
}

// record is one update as stored: the subject it was published to
// (sv.<widget>.config|data), the publisher's Nats-Msg-Id if any, and the payload.
type record struct {
	subject string
	msgID   string
	data    []byte
}

// Each record is framed as uvarint length + bytes, for subject, msgID and data.
func appendRecord(b []byte, r record) []byte {
	b = binary.AppendUvarint(b, uint64(len(r.subject)))
	b = append(b, r.subject...)
	b = binary.AppendUvarint(b, uint64(len(r.msgID)))
	b = append(b, r.msgID...)
	b = binary.AppendUvarint(b, uint64(len(r.data)))
	return append(b, r.data...)
}

func recordSize(subject, msgID string, data []byte) int {
	return 3*binary.MaxVarintLen32 + len(subject) + len(msgID) + len(data)
}

var errBadBatch = protocol.ErrBadBatch

// decodeBatch splits a stored batch into its records; data aliases b.
func decodeBatch(b []byte) ([]record, error) {
	var out []record
	field := func() ([]byte, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, errBadBatch
		}
		f := b[k : k+int(n)]
		b = b[k+int(n):]
		return f, nil
	}
	for len(b) > 0 {
		subj, err := field()
		if err != nil {
			return nil, err
		}
		id, err := field()
		if err != nil {
			return nil, err
		}
		data, err := field()
		if err != nil {
			return nil, err
		}
		out = append(out, record{subject: string(subj), msgID: string(id), data: data})
	}
	return out, nil
}

// storedRecords returns the records of one stored message: a batch, a single
// update stored on LogPrefix+<subject> (one too large to share a message),
// or a message of a log written before batches (subject sv.<widget>.<kind>).
func storedRecords(subject string, hdrMsgID string, data []byte) ([]record, error) {
	switch {
	case subject == broker.LogBatchSubject:
		return decodeBatch(data)
	case strings.HasPrefix(subject, broker.LogPrefix):
		return []record{{subject: subject[len(broker.LogPrefix):], msgID: hdrMsgID, data: data}}, nil
	default:
		return []record{{subject: subject, msgID: hdrMsgID, data: data}}, nil
	}
}
