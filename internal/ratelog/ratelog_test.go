package ratelog

import (
	"fmt"
	"testing"
	"time"
)

// clock is a manual clock: the windows below turn only when the test says.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestEachKindGetsAFewLinesAWindowAndAllKindsABoundTogether(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)}
	l := New(3, 5, time.Minute, c.now)
	cases := []struct {
		name    string
		key     string
		advance time.Duration
		want    Decision
	}{
		{"first of a kind", "auth", 0, Log},
		{"second", "auth", 0, Log},
		{"third says further ones are held back", "auth", 0, LogLast},
		{"fourth is dropped", "auth", 0, Drop},
		{"another kind still logs", "payload", 0, Log},
		{"the window's total is reached", "tls", 0, LogLast},
		{"every kind is dropped past the total", "other", 0, Drop},
		{"a new window logs again", "auth", time.Minute, Log},
	}
	for _, tc := range cases {
		c.t = c.t.Add(tc.advance)
		if got := l.Allow(tc.key); got != tc.want {
			t.Fatalf("%s: Allow(%q) = %d, want %d", tc.name, tc.key, got, tc.want)
		}
	}
	if want := c.t.Add(time.Minute); !l.Until().Equal(want) {
		t.Fatalf("Until() = %v, want %v", l.Until(), want)
	}
}

func TestKeysAreForgottenEachWindow(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)}
	l := New(1, 10, time.Minute, c.now)
	for i := range 1000 {
		if i%10 == 0 {
			c.t = c.t.Add(time.Minute)
		}
		l.Allow(fmt.Sprint("key", i))
		if len(l.seen) > 10 {
			t.Fatalf("after %d keys the limiter holds %d: want at most its total, 10", i+1, len(l.seen))
		}
	}
}
