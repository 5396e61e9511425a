package gateway

import (
	"encoding/json"
	"testing"
)

// The epoch is the store's id, adopted from the log stream's metadata, which
// anyone managing the stream may set: every message carrying it must stay
// valid JSON and carry it exactly, whatever it holds.
func TestFirstMessagesQuoteTheEpochAsJSON(t *testing.T) {
	for _, epoch := range []string{"0123abcd", "a\"b\\c", "tab\there\x01\x7f", "ünï €", "line\u2028sep</script>"} {
		for name, msg := range map[string][]byte{
			"snapshot": snapshotMessage(Position{Epoch: epoch, Seq: 7}, true, "t", nil, nil),
			"resumed":  resumedMessage(Position{Epoch: epoch, Seq: 7}),
		} {
			var got struct {
				Type  string `json:"type"`
				Epoch string `json:"epoch"`
				Seq   uint64 `json:"seq"`
			}
			if err := json.Unmarshal(msg, &got); err != nil {
				t.Errorf("%s with epoch %q is not JSON: %v: %s", name, epoch, err, msg)
				continue
			}
			if got.Type != name || got.Epoch != epoch || got.Seq != 7 {
				t.Errorf("%s with epoch %q reads back as %+v", name, epoch, got)
			}
		}
	}
}
