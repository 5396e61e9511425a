package gateway

import (
	"context"
	"errors"
	"net/http"
)

// errNotStarted is the start check's reason: a Go program may mount the
// handler before Start has restored the state, and until then the state is
// empty.
var errNotStarted = errors.New("the gateway has not started (Gateway.Start has not returned): the stored state is not restored yet")

func (g *Gateway) checkStarted(context.Context) error {
	if !g.ready.Load() {
		return errNotStarted
	}
	return nil
}

// whenStarted answers 503 until Start has restored the state. A socket
// that joined earlier got an empty snapshot at no position and Start never
// corrected it: the page showed an empty dashboard until reloaded. Refused,
// the page retries with its backoff and joins the restored state.
func (g *Gateway) whenStarted(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !g.ready.Load() {
			w.Header().Set("Retry-After", "1")
			httpError(w, http.StatusServiceUnavailable, "starting: "+errNotStarted.Error()+"; try again shortly")
			return
		}
		next(w, r)
	}
}
