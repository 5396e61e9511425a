package gateway

import (
	"bufio"
	"fmt"
	"net"
	"net/http"

	"github.com/gorilla/websocket"
)

// hijackVia writes through the writer the handler was given, so the
// embedder's middleware still sees the status of a refused handshake, but
// takes the connection over from the writer underneath that can.
type hijackVia struct {
	http.ResponseWriter
	h http.Hijacker
}

func (w hijackVia) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.h.Hijack() }

// Unwrap lets http.ResponseController reach the writer below (deadlines).
func (w hijackVia) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// findHijacker follows the Unwrap() http.ResponseWriter chain (Go's
// convention for middleware writers, the one http.ResponseController uses)
// to a writer that can hand the connection over.
func findHijacker(w http.ResponseWriter) http.Hijacker {
	for w != nil {
		if h, ok := w.(http.Hijacker); ok {
			return h
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
	return nil
}

// hijackable lets a WebSocket handshake through middleware whose writer
// hides http.Hijacker but unwraps to one. Without any, gorilla/websocket
// would answer a bare "500 Internal Server Error" and the embedder could
// not tell why: this answers 500 naming the writer's type and the cure,
// and logs it once.
func (g *Gateway) hijackable(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !websocket.IsWebSocketUpgrade(r) {
			next(w, r)
			return
		}
		if _, ok := w.(http.Hijacker); ok {
			next(w, r)
			return
		}
		if h := findHijacker(w); h != nil {
			next(hijackVia{w, h}, r)
			return
		}
		msg := fmt.Sprintf("the WebSocket cannot be opened: the http.ResponseWriter the gateway's handler was given (%T) cannot take over the connection; "+
			"a middleware wraps it without implementing http.Hijacker or Unwrap() http.ResponseWriter", w)
		if g.hijackLogged.CompareAndSwap(false, true) {
			g.log.Error(msg + " (logged once)")
		}
		httpError(w, http.StatusInternalServerError, msg)
	}
}
