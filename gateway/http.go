package gateway

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"time"

	"github.com/streamviz/streamviz/web"
)

// Pages load scripts and styles only from this server and never inline,
// so data that slips into the DOM as markup still cannot run.
// Frame rules (frame-ancestors) depend on the config: see pageHeaders.
const cspBase = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'"

// Handler serves the dashboard, the embed pages, the WebSocket and the API
// (docs/protocol.md §4), behind the token when Config.Token is set (§6).
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(web.FS, ".")
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		servePage(w, r, "index.html", g.cspDashboard, "SAMEORIGIN")
	})
	mux.HandleFunc("GET /embed/{widget}", func(w http.ResponseWriter, r *http.Request) {
		if !ValidID(r.PathValue("widget")) {
			httpError(w, http.StatusNotFound, "bad widget id: letters, digits, - and _, 1 to 64 characters")
			return
		}
		servePage(w, r, "embed.html", g.cspEmbed, g.xfoEmbed)
	})
	mux.Handle("GET /static/", http.StripPrefix("/static/", securityHeaders(http.FileServerFS(static), g.cspDashboard)))
	mux.HandleFunc("GET /ws", g.whenStarted(g.hijackable(g.limitSockets(g.serveWS))))
	mux.HandleFunc("GET /healthz", g.serveHealth)
	mux.Handle("GET /metrics", g.metrics.handler())
	mux.HandleFunc("GET /api/widgets", g.whenStarted(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, g.state.configs())
	}))
	mux.HandleFunc("GET /api/widgets/{widget}", g.whenStarted(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("widget")
		b, ok := g.state.widgetJSON(id)
		if !ok {
			httpError(w, http.StatusNotFound, "unknown widget "+strconvQuote(id))
			return
		}
		writeJSON(w, http.StatusOK, b)
	}))
	mux.HandleFunc("GET /api/widgets/{widget}/data.json", g.whenStarted(g.serveExportJSON))
	mux.HandleFunc("GET /api/widgets/{widget}/data.csv", g.whenStarted(g.serveExportCSV))
	mux.HandleFunc("GET /api/dashboard.json", g.whenStarted(g.serveExportDashboard))
	return g.mount(g.checkHost(g.protect(mux)))
}

// servePage writes a page with its CSP and, when it agrees with the CSP's
// frame-ancestors, X-Frame-Options (xfo; "" sends none).
func servePage(w http.ResponseWriter, r *http.Request, name, csp, xfo string) {
	b, err := web.FS.ReadFile(name)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "page missing from the build: "+name)
		return
	}
	setSecurityHeaders(w, csp, xfo)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

func securityHeaders(h http.Handler, csp string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w, csp, "")
		h.ServeHTTP(w, r)
	})
}

func setSecurityHeaders(w http.ResponseWriter, csp, xfo string) {
	w.Header().Set("Content-Security-Policy", csp)
	if xfo != "" {
		w.Header().Set("X-Frame-Options", xfo)
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
}

func (g *Gateway) serveHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	type health struct {
		Status  string         `json:"status"`
		Error   string         `json:"error,omitempty"`   // the first reason's, for one-line probes
		Reasons []HealthReason `json:"reasons,omitempty"` // every failed check
		streamStatus
		Ingest IngestStatus `json:"ingest"`
	}
	h := health{Status: "ok", streamStatus: g.status(), Ingest: g.w.status(time.Now())}
	code := http.StatusOK
	if reasons := g.health(ctx); len(reasons) > 0 {
		h.Status, h.Error, h.Reasons, code = "unavailable", reasons[0].Check+": "+reasons[0].Error, reasons, http.StatusServiceUnavailable
	}
	b, _ := json.Marshal(h)
	writeJSON(w, code, b)
}

func writeJSON(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func httpError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	writeJSON(w, code, b)
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
