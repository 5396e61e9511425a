package gateway

import (
	"testing"
	"time"
)

// Ticks stretch with the number of sockets so that their frame writes stay
// within writesPerSecond (40,000 a second): up to 400 sockets tick every
// 10 ms, 1,000 every 25 ms, and no socket count waits longer than maxTick
// (80 ms, from 3,200 sockets on).
func TestTicksStretchSoThatFrameWritesStayWithinTheirBudget(t *testing.T) {
	for _, tc := range []struct {
		sockets int
		want    time.Duration
	}{
		{0, 10 * time.Millisecond},
		{100, 10 * time.Millisecond},
		{400, 10 * time.Millisecond},
		{600, 15 * time.Millisecond},
		{1000, 25 * time.Millisecond},
		{1001, 25025 * time.Microsecond},
		{2000, 50 * time.Millisecond},
		{3200, 80 * time.Millisecond},
		{10000, 80 * time.Millisecond},
	} {
		if got := tickInterval(tc.sockets); got != tc.want {
			t.Errorf("%d sockets: tick every %v, want %v", tc.sockets, got, tc.want)
		}
		// The budget itself: at this interval the sockets write at most
		// writesPerSecond frames a second (or tick no slower than maxTick).
		if got := tickInterval(tc.sockets); got < maxTick && time.Duration(tc.sockets)*time.Second > writesPerSecond*got {
			t.Errorf("%d sockets every %v: more than %d writes a second", tc.sockets, got, writesPerSecond)
		}
	}
}
