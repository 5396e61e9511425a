package protocol

import (
	"fmt"
	"testing"
)

// A rejection is counted under the label of the reason it wraps, and no two
// reasons share a label (they would merge in /metrics).
func TestRejectReasonIsTheLabelOfTheWrappedReason(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range RejectReasons {
		label := e.Error()
		if seen[label] || label == ReasonOther {
			t.Errorf("label %q used twice", label)
		}
		seen[label] = true
		if got := RejectReason(fmt.Errorf("sv.w.data: %w: detail", e)); got != label {
			t.Errorf("RejectReason(wrapped %q) = %q", label, got)
		}
	}
	if got := RejectReason(fmt.Errorf("something else")); got != ReasonOther {
		t.Errorf("an unknown error is labelled %q, want %q", got, ReasonOther)
	}
}
