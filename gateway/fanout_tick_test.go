package gateway

import (
	"testing"
	"time"
)

// Ticks stretch with the number of sockets so that their frame writes stay
// within writesPerSecond (25,000 a second): up to 250 sockets tick every
// 10 ms, 1,000 every 40 ms, and no socket count waits longer than maxTick.
func TestTicksStretchSoThatFrameWritesStayWithinTheirBudget(t *testing.T) {
	for _, tc := range []struct {
		sockets int
		want    time.Duration
	}{
		{0, 10 * time.Millisecond},
		{100, 10 * time.Millisecond},
		{250, 10 * time.Millisecond},
		{500, 20 * time.Millisecond},
		{1000, 40 * time.Millisecond},
		{10000, 40 * time.Millisecond},
	} {
		if got := tickInterval(tc.sockets); got != tc.want {
			t.Errorf("%d sockets: tick every %v, want %v", tc.sockets, got, tc.want)
		}
	}
}
