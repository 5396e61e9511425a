package gateway

import "sync"

// joinBudget bounds the bytes of first messages (snapshots, a resume's
// catch-up) that joining sockets hold at once. Each is built whole in
// memory and held until written, so a socket that never reads holds it
// for the write deadline: 40 of them on a dashboard at the state limit
// took about 500 MB each. A join that does not fit waits for none: it is
// answered 503 and the page retries. One join is always let through, so a
// state larger than the budget can still be shown.
type joinBudget struct {
	mu       sync.Mutex
	inFlight int
}

// joinBudgetBytes is how many bytes of first messages may be in flight:
// room for two snapshots of a dashboard at its state limit.
func (l Limits) joinBudgetBytes() int { return 2 * l.MaxStateBytes }

// take reserves n bytes of budget max; it reports false when they do not fit.
func (b *joinBudget) take(n, max int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inFlight > 0 && b.inFlight+n > max {
		return false
	}
	b.inFlight += n
	return true
}

func (b *joinBudget) give(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inFlight -= n
}

func (b *joinBudget) held() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inFlight
}

// joinCost estimates a joining socket's first message before it is built:
// the state it is shown (one widget's for an embed), or, for a socket that
// brings a position to resume from, the resume log it may be sent whole
// when that is larger.
func (g *Gateway) joinCost(widget string, hasPos bool) int {
	n := 0
	if widget != "" {
		n = g.state.widgetBytes(widget)
	} else {
		n = g.state.stateTotal()
	}
	if hasPos {
		n = max(n, g.events.memBytes())
	}
	return n
}
