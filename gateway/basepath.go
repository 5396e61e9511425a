package gateway

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// normalizeBasePath checks Config.BasePath and returns it as "" (the root)
// or "/a/b/": a path the server is reached under, for a proxy that forwards
// requests without stripping it.
func normalizeBasePath(p string) (string, error) {
	if p == "" || p == "/" {
		return "", nil
	}
	u, err := url.Parse(p)
	bad := err != nil || u.Scheme != "" || u.Host != "" || u.RawQuery != "" || u.Fragment != "" ||
		!strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") ||
		strings.ContainsFunc(p, func(c rune) bool { return c <= 0x20 || c == 0x7f || c == '\\' || c == '%' || c == '{' || c == '}' })
	if !bad {
		for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
			if seg == "" || seg == "." || seg == ".." {
				bad = true
			}
		}
	}
	if bad {
		return "", fmt.Errorf("%w: base path %q: want a plain path such as /streamviz/", ErrBadConfig, p)
	}
	return strings.TrimSuffix(p, "/") + "/", nil
}

// mount serves h under the configured base path: requests below it reach h
// with the base stripped (so the handler's own routes and mountPrefix work
// unchanged), the base without its slash is redirected to it, and anything
// else is 404. /healthz also answers at the root, where supervisors and the
// SDK that spawned the server probe it.
func (g *Gateway) mount(h http.Handler) http.Handler {
	base := g.cfg.BasePath
	if base == "" {
		return h
	}
	mux := http.NewServeMux()
	mux.Handle(base, http.StripPrefix(strings.TrimSuffix(base, "/"), h))
	mux.HandleFunc("GET /healthz", g.serveHealth)
	mux.HandleFunc(strings.TrimSuffix(base, "/"), func(w http.ResponseWriter, r *http.Request) {
		target := base
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpError(w, http.StatusNotFound, "not found: the dashboard is at "+base)
	})
	return mux
}

// rootRef is the way from the page at escaped path p (relative to the
// handler's root) back to that root, as a relative reference: "./" for
// /login, "../" for /embed/x. Escaped, because the browser counts the
// segments it sent (an encoded "/" is none). Pages link through it, so they work under any prefix,
// including one a proxy strips before the request arrives.
func rootRef(p string) string {
	n := strings.Count(p, "/") - 1
	if n <= 0 {
		return "./"
	}
	return strings.Repeat("../", n)
}

// BasePath is the normalized Config.BasePath: "/" or "/a/b/".
func (g *Gateway) BasePath() string {
	if g.cfg.BasePath == "" {
		return "/"
	}
	return g.cfg.BasePath
}

// rootRelative is the request's page as a reference relative to the
// handler's root ("./embed/x?exp=1"), which the login form carries as next:
// the redirect after login resolves it against the login URL, so it lands
// on the page asked for under whatever prefix the browser used, even one a
// proxy stripped before the server saw it.
func rootRelative(r *http.Request) string {
	return "./" + strings.TrimPrefix(r.URL.RequestURI(), "/")
}

// relativeTarget accepts a root-relative next ("./..."): it can name no
// other scheme or host, so it is no open redirect. Control characters and
// backslashes, which browsers drop or read as "/", are refused.
func relativeTarget(next string) (string, bool) {
	if !strings.HasPrefix(next, "./") || strings.HasPrefix(next, ".//") ||
		strings.ContainsFunc(next, func(c rune) bool { return c < 0x20 || c == 0x7f || c == '\\' }) {
		return "", false
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "", false
	}
	return next, true
}

// seeOther redirects to target as given: http.Redirect would resolve a
// relative target against the request's path, which under http.StripPrefix
// or behind a stripping proxy has lost its prefix.
func seeOther(w http.ResponseWriter, target string) {
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}

// sameURLWithout is the request's own URL without the query parameter
// name, as a reference relative to the request ("../embed/x?theme=light"
// from /embed/x): it names this page under whatever prefix the browser
// used, even one a proxy stripped, and, starting with a dot, never another
// host.
func sameURLWithout(r *http.Request, name string) string {
	q := r.URL.Query()
	q.Del(name)
	target := rootRef(r.URL.EscapedPath()) + strings.TrimPrefix(r.URL.EscapedPath(), "/")
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	return target
}
