package gateway

import (
	"testing"
	"time"
)

// Ticks stretch with the number of sockets so that their frame writes stay
// within writesPerSecond (15,000 a second): up to 150 sockets tick every
// 10 ms, 1,000 every 66.7 ms, and no socket count waits longer than maxTick
// (80 ms, from 1,200 sockets on).
func TestTicksStretchSoThatFrameWritesStayWithinTheirBudget(t *testing.T) {
	for _, tc := range []struct {
		sockets int
		want    time.Duration
	}{
		{0, 10 * time.Millisecond},
		{100, 10 * time.Millisecond},
		{150, 10 * time.Millisecond},
		{300, 20 * time.Millisecond},
		{600, 40 * time.Millisecond},
		{1000, 66666667 * time.Nanosecond},
		{1200, 80 * time.Millisecond},
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
