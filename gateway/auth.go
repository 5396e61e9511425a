package gateway

// Access control (docs/protocol.md §6): a shared token guards everything but
// /healthz, the login page and the static code; signed embed links grant one
// widget until they expire; WebSocket origins are checked against an
// allow-list. Every secret comparison is constant-time.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/streamviz/streamviz/protocol"
	"github.com/streamviz/streamviz/web"
)

// CloseExpired closes a socket opened with a signed embed link when the
// link expires (docs/protocol.md §2.3); the page then says so instead of
// reconnecting.
const CloseExpired = protocol.CloseExpired

// SessionCookie holds the proof of login: a key derived from the token, never
// the token itself.
const SessionCookie = "streamviz_session"

// ErrBadConfig reports a Config field that cannot work.
var ErrBadConfig = errors.New("gateway: bad config")

// ErrBadEmbed reports an embed link that cannot be signed.
var ErrBadEmbed = errors.New("embed link")

// deriveKey separates the session cookie from embed signatures: knowing one
// reveals nothing about the other or about the token.
func deriveKey(token, purpose string) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("streamviz " + purpose))
	return m.Sum(nil)
}

// sessionValue is the cookie a successful login sets.
func sessionValue(token string) string {
	return hex.EncodeToString(deriveKey(token, "session v1"))
}

// embedSignature is hex(HMAC-SHA256(deriveKey(token, "embed v1"), widget "\n" exp)).
func embedSignature(token, widget string, exp int64) string {
	m := hmac.New(sha256.New, deriveKey(token, "embed v1"))
	m.Write([]byte(widget + "\n" + strconv.FormatInt(exp, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

// EmbedPath returns the signed path of widget's embed page,
// "/embed/{widget}?exp=...&sig=...", valid until expires (whole seconds).
// Anyone holding it sees that widget, and nothing else, until then.
func EmbedPath(token, widget string, expires time.Time) (string, error) {
	if token == "" {
		return "", fmt.Errorf("%w: signing needs the server's token", ErrBadEmbed)
	}
	if !ValidID(widget) {
		return "", fmt.Errorf("%w: bad widget id %q: letters, digits, - and _, 1 to 64 characters", ErrBadEmbed, widget)
	}
	exp := expires.Unix()
	q := url.Values{"exp": {strconv.FormatInt(exp, 10)}, "sig": {embedSignature(token, widget, exp)}}
	return "/embed/" + widget + "?" + q.Encode(), nil
}

// equalSecret compares through hashes so that neither the content nor the
// length of the secret leaks through timing.
func equalSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// normalizeOrigins checks the allow-list: "*" or scheme://host[:port].
func normalizeOrigins(in []string) ([]string, error) {
	var out []string
	for _, o := range in {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o == "*" {
			out = append(out, o)
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
			strings.ContainsAny(o, " ;,'\"") {
			return nil, fmt.Errorf("%w: embed origin %q: want scheme://host[:port], like https://intranet.example", ErrBadConfig, o)
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out, nil
}

// checkOrigin lets through clients that send no Origin (not a browser), the
// page's own origin, and the configured embed origins.
func (g *Gateway) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	// A dashboard reached over HTTPS (itself, or behind a TLS proxy that
	// says so) is not the same origin as its host over plain HTTP, where a
	// network attacker can run any script: that page's socket would carry
	// the Secure login cookie to wss:. The proxy's header can only make this
	// stricter, so trusting it is safe.
	secure := r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
	if err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) && (!secure || u.Scheme == "https") {
		return true
	}
	for _, o := range g.cfg.EmbedOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// Frame rules: the dashboard only inside itself, the login form nowhere, an
// embed page in itself and the configured embed origins.
func (g *Gateway) pageHeaders() {
	g.cspDashboard = cspBase + "; frame-ancestors 'self'"
	g.cspLogin = cspBase + "; form-action 'self'; frame-ancestors 'none'"
	anc := "'self'"
	for _, o := range g.cfg.EmbedOrigins {
		if o == "*" {
			anc = "*"
			break
		}
		anc += " " + o
	}
	g.cspEmbed = cspBase + "; frame-ancestors " + anc
	// X-Frame-Options cannot name other origins: sent only where it agrees
	// with frame-ancestors, for browsers that predate CSP.
	if len(g.cfg.EmbedOrigins) == 0 {
		g.xfoEmbed = "SAMEORIGIN"
	}
}

type grantKey struct{}

// closeAtExpiry closes c when the signed link that opened it expires; the
// returned func cancels that.
func closeAtExpiry(r *http.Request, c *client) func() bool {
	exp, ok := r.Context().Value(grantKey{}).(time.Time)
	if !ok {
		return func() bool { return false }
	}
	return time.AfterFunc(time.Until(exp), func() { c.close(CloseExpired, "embed link expired") }).Stop
}

// protect wraps the routes: everything but /healthz, /login and /static/
// needs the token (header, cookie or ?token=) or, for one widget's embed page
// and socket, a valid signed link.
func (g *Gateway) protect(next http.Handler) http.Handler {
	if g.cfg.Token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == "/healthz" || strings.HasPrefix(p, "/static/"):
			next.ServeHTTP(w, r)
			return
		case p == "/login":
			g.serveLogin(w, r)
			return
		}
		bearer := r.Header.Get("Authorization") != ""
		if bearer && g.throttled(w, r) {
			return
		}
		if g.hasSession(r) {
			if bearer {
				g.logins.success(clientAddr(r))
			}
			next.ServeHTTP(w, r)
			return
		}
		if bearer {
			g.logins.miss(clientAddr(r), time.Now())
		}
		q := r.URL.Query()
		if q.Has("token") && r.Method == http.MethodGet && !isUpgrade(r) {
			g.tokenInURL(w, r, q.Get("token"))
			return
		}
		if q.Has("sig") || q.Has("exp") {
			exp, reason := g.checkEmbedGrant(r, q)
			if reason != "" {
				g.unauthorized(w, r, reason, false)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), grantKey{}, exp)))
			return
		}
		g.unauthorized(w, r, "authentication required: log in, or send Authorization: Bearer <token>", true)
	})
}

func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// hasSession accepts the bearer header or the login cookie.
func (g *Gateway) hasSession(r *http.Request) bool {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") && equalSecret(strings.TrimSpace(tok), g.cfg.Token) {
			return true
		}
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return equalSecret(c.Value, g.session)
	}
	return false
}

// checkEmbedGrant verifies a signed link for the one widget the request
// names: its embed page, or its filtered socket. It returns the expiry, or
// why the link is refused.
func (g *Gateway) checkEmbedGrant(r *http.Request, q url.Values) (time.Time, string) {
	var widget string
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/embed/"):
		widget = strings.TrimPrefix(r.URL.Path, "/embed/")
	case r.Method == http.MethodGet && r.URL.Path == "/ws":
		widget = q.Get("widget")
	}
	if !ValidID(widget) {
		return time.Time{}, "a signed embed link opens only its widget's embed page and socket"
	}
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	if err != nil || !equalSecret(q.Get("sig"), embedSignature(g.cfg.Token, widget, exp)) {
		return time.Time{}, "embed link signature does not match"
	}
	at := time.Unix(exp, 0)
	if !time.Now().Before(at) {
		return time.Time{}, "embed link expired"
	}
	return at, ""
}

// tokenInURL trades ?token= for the cookie and redirects to the same URL
// without it, so the token does not linger in the address bar or history.
func (g *Gateway) tokenInURL(w http.ResponseWriter, r *http.Request, token string) {
	if g.throttled(w, r) {
		return
	}
	if !equalSecret(token, g.cfg.Token) {
		g.logins.miss(clientAddr(r), time.Now())
		g.unauthorized(w, r, "wrong token", true)
		return
	}
	g.logins.success(clientAddr(r))
	g.setSession(w, r)
	target := sameURLWithout(r, "token")
	w.Header().Set("Cache-Control", "no-store")
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		// A browser does not send a SameSite=Strict cookie along a redirect
		// chain that began on another site, so a link from a chat or a mail
		// would land on the login form. Navigating from a page of our own
		// makes the next request same-site.
		setSecurityHeaders(w, g.cspLogin, "DENY")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = continuePage.Execute(w, target)
		return
	}
	seeOther(w, target)
}

var continuePage = template.Must(template.New("continue").Parse(`<!doctype html>
<meta charset="utf-8"><meta name="robots" content="noindex">
<meta http-equiv="refresh" content="0; url={{.}}">
<title>StreamViz</title><a href="{{.}}">Continue to the dashboard</a>
`))

func (g *Gateway) setSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		// The path the handler is mounted under: a dashboard mounted at /dash/
		// has no business with the rest of its host's cookies, nor they with it.
		Name: SessionCookie, Value: g.session, Path: mountPrefix(r) + "/",
		// Behind a TLS-terminating proxy the request itself is plain HTTP;
		// trusting the proxy's header here can only make the cookie stricter.
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
	})
}

// unauthorized answers 401 without data: a browser navigating to a page gets
// the login form, anything else a JSON error.
func (g *Gateway) unauthorized(w http.ResponseWriter, r *http.Request, reason string, loginPage bool) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="streamviz"`)
	if loginPage && r.Method == http.MethodGet && !isUpgrade(r) && strings.Contains(r.Header.Get("Accept"), "text/html") {
		g.renderLogin(w, r, http.StatusUnauthorized, rootRelative(r), "")
		return
	}
	httpError(w, http.StatusUnauthorized, reason)
}

var loginPage = template.Must(template.ParseFS(web.FS, "login.html"))

type loginData struct {
	Action, Next, Error string
	// Root leads from the requested page back to the dashboard's root
	// (rootRef), for the page's stylesheet.
	Root string
}

// serveLogin shows the form (GET) or checks the token it posts (POST).
func (g *Gateway) serveLogin(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		g.renderLogin(w, r, http.StatusOK, r.URL.Query().Get("next"), "")
	case http.MethodPost:
		if g.throttled(w, r) {
			return
		}
		// A form of a few hundred bytes: a body that trickles in is cut
		// after Limits.LoginTimeout rather than holding the connection.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(g.cfg.Limits.LoginTimeout))
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		if err := r.ParseForm(); err != nil {
			httpError(w, http.StatusBadRequest, "unreadable login form: "+err.Error())
			return
		}
		next := r.PostForm.Get("next")
		if !equalSecret(r.PostForm.Get("token"), g.cfg.Token) {
			g.logins.miss(clientAddr(r), time.Now())
			w.Header().Set("WWW-Authenticate", `Bearer realm="streamviz"`)
			g.renderLogin(w, r, http.StatusUnauthorized, next, "That token is not right.")
			return
		}
		g.logins.success(clientAddr(r))
		g.setSession(w, r)
		w.Header().Set("Cache-Control", "no-store")
		seeOther(w, g.localTarget(r, next))
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		httpError(w, http.StatusMethodNotAllowed, "the login page takes GET or POST")
	}
}

// localTarget keeps the post-login redirect on this server: an absolute or
// scheme-relative next would make the login form an open redirect. Browsers
// drop tabs and newlines from URLs and read \ as /, so "/\t/evil" means
// "//evil": any control character or backslash is refused outright, and what
// is left must parse as a bare path.
func (g *Gateway) localTarget(r *http.Request, next string) string {
	if rel, ok := relativeTarget(next); ok {
		return rel
	}
	if ok := strings.HasPrefix(next, "/") && !strings.HasPrefix(next, "//") &&
		!strings.ContainsFunc(next, func(c rune) bool { return c < 0x20 || c == 0x7f || c == '\\' }); ok {
		if u, err := url.Parse(next); err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(u.Path, "//") {
			return next
		}
	}
	return mountPrefix(r) + "/"
}

// mountPrefix is the path the handler is mounted under (http.StripPrefix),
// so the form posts to the right place however the handler is mounted.
//
// Only the request line's path counts: an absolute-form request line
// ("GET http://evil.example/x HTTP/1.1") must not put its scheme and host
// into links, the cookie's path or the form.
func mountPrefix(r *http.Request) string {
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(u.Path, r.URL.Path)
}

func (g *Gateway) renderLogin(w http.ResponseWriter, r *http.Request, code int, next, errText string) {
	// Relative, like every link of the pages: whatever the request line
	// said, the form posts to this server.
	d := loginData{Action: rootRef(r.URL.EscapedPath()) + "login", Next: g.localTarget(r, next), Error: errText, Root: rootRef(r.URL.EscapedPath())}
	setSecurityHeaders(w, g.cspLogin, "DENY")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = loginPage.Execute(w, d)
}
