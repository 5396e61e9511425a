package gateway

// Access control end to end (docs/protocol.md §6): a real gateway behind
// httptest with Config.Token and EmbedOrigins, real HTTP clients and real
// gorilla/websocket handshakes.

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const testToken = "correct-horse-battery-staple"

// The data the widgets hold: no unauthenticated answer may contain any of it.
var secretData = []string{"4242.5", "777001", "Revenue board", "Secret board"}

func startAuthEnv(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	e := startEnv(t, cfg)
	e.publish(t, "sv.revenue.config", `{"type":"stat","title":"Revenue board"}`)
	e.publish(t, "sv.revenue.data", `{"value":4242.5}`)
	e.publish(t, "sv.secret.config", `{"type":"stat","title":"Secret board"}`)
	e.publishAndWait(t, "sv.secret.data", `{"value":777001}`)
	return e
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends one request; header is "Name: value" pairs.
func do(t *testing.T, c *http.Client, method, u string, body io.Reader, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range header {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, u, err)
	}
	return resp, string(b)
}

func assertNoData(t *testing.T, what, body string) {
	t.Helper()
	for _, s := range secretData {
		if strings.Contains(body, s) {
			t.Errorf("%s: body leaks %q: %s", what, s, truncate(body, 300))
		}
	}
}

// dialWS opens /ws?query with header pairs; it returns the HTTP status of a
// refused handshake, 0 for a successful one.
func (e *testEnv) dialWS(t *testing.T, query string, header ...string) (*wsClient, int) {
	t.Helper()
	h := http.Header{}
	for _, kv := range header {
		k, v, _ := strings.Cut(kv, ": ")
		h.Set(k, v)
	}
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws" + query
	conn, resp, err := websocket.DefaultDialer.Dial(u, h)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %s: %v", u, err)
		}
		b, _ := io.ReadAll(resp.Body)
		assertNoData(t, "refused handshake "+query, string(b))
		return nil, resp.StatusCode
	}
	c := &wsClient{conn: conn, done: make(chan struct{})}
	go c.readLoop()
	t.Cleanup(c.close)
	return c, 0
}

// widgetIDs lists the widgets a snapshot carries and the ids of later events.
func widgetIDs(evs []wsEvent) []string {
	var ids []string
	for _, ev := range evs {
		for _, w := range ev.Widgets {
			ids = append(ids, w.ID)
		}
		if ev.ID != "" {
			ids = append(ids, ev.ID)
		}
	}
	return ids
}

func TestTokenGuardsEveryRouteButHealthLoginAndStatic(t *testing.T) {
	e := startAuthEnv(t, Config{})
	for _, tt := range []struct {
		path   string
		header []string
		want   int
	}{
		{"/", nil, 401},
		{"/", []string{"Accept: text/html"}, 401},
		{"/embed/revenue", nil, 401},
		{"/embed/revenue", []string{"Accept: text/html"}, 401},
		{"/api/widgets", nil, 401},
		{"/api/widgets/revenue", nil, 401},
		{"/api/widgets/secret", []string{"Accept: text/html"}, 401},
		{"/ws", nil, 401},
		{"/ws?widget=revenue", nil, 401},
		{"/metrics", nil, 401},
		{"/no-such-route", nil, 401},
		{"/api/widgets", []string{"Authorization: Bearer wrong-token"}, 401},
		{"/api/widgets", []string{"Authorization: Basic " + testToken}, 401},
		{"/api/widgets", []string{"Cookie: " + SessionCookie + "=forged"}, 401},
		{"/healthz", nil, 200},
		{"/login", nil, 200},
		{"/static/app.js", nil, 200},
		{"/static/style.css", nil, 200},
	} {
		t.Run(tt.path+strings.Join(tt.header, ","), func(t *testing.T) {
			resp, body := do(t, noRedirect, "GET", e.url(tt.path), nil, tt.header...)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, truncate(body, 200))
			}
			assertNoData(t, tt.path, body)
			if tt.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge: %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	if _, code := e.dialWS(t, ""); code != http.StatusUnauthorized {
		t.Errorf("WebSocket handshake without credentials: status %d, want 401", code)
	}
}

func TestBearerHeaderOpensThePagesTheAPIAndTheSocket(t *testing.T) {
	e := startAuthEnv(t, Config{})
	bearer := "Authorization: Bearer " + testToken
	for _, p := range []string{"/", "/embed/revenue", "/api/widgets"} {
		if resp, body := do(t, noRedirect, "GET", e.url(p), nil, bearer); resp.StatusCode != 200 {
			t.Errorf("GET %s with the token: %d %s", p, resp.StatusCode, truncate(body, 200))
		}
	}
	_, body := do(t, noRedirect, "GET", e.url("/api/widgets/secret"), nil, bearer)
	if !strings.Contains(body, "777001") {
		t.Errorf("the API with the token: %s", body)
	}
	c, code := e.dialWS(t, "", bearer)
	if code != 0 {
		t.Fatalf("WebSocket with the token refused: %d", code)
	}
	snap := c.first(t, "snapshot")
	if got := strings.Join(widgetIDs([]wsEvent{snap}), ","); got != "revenue,secret" {
		t.Errorf("snapshot widgets = %s", got)
	}
}

func TestTokenInTheURLSetsTheCookieAndRedirectsWithoutIt(t *testing.T) {
	e := startAuthEnv(t, Config{})
	resp, _ := do(t, noRedirect, "GET", e.url("/embed/revenue?token="+testToken+"&theme=light"), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "../embed/revenue?theme=light" {
		t.Fatalf("?token=: %d Location %q, want 303 to the URL without the token", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookie := sessionCookie(t, resp)
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure || cookie.Path != "/" {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP", cookie)
	}
	if strings.Contains(cookie.Value, testToken) {
		t.Errorf("the cookie carries the token itself")
	}
	resp, body := do(t, noRedirect, "GET", e.url("/api/widgets/secret"), nil, "Cookie: "+cookie.Name+"="+cookie.Value)
	if resp.StatusCode != 200 || !strings.Contains(body, "777001") {
		t.Errorf("the API with the cookie: %d %s", resp.StatusCode, body)
	}
	if _, code := e.dialWS(t, "", "Cookie: "+cookie.Name+"="+cookie.Value); code != 0 {
		t.Errorf("WebSocket with the cookie refused: %d", code)
	}
	// From a link on another site the cookie would not survive a redirect (SameSite=Strict):
	// the answer is a page of our own that moves on.
	resp, body = do(t, noRedirect, "GET", e.url("/?token="+testToken), nil, "Sec-Fetch-Site: cross-site")
	if resp.StatusCode != 200 || !strings.Contains(body, `http-equiv="refresh" content="0; url=./"`) || sessionCookie(t, resp) == nil {
		t.Errorf("cross-site ?token=: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, testToken) {
		t.Errorf("the page that moves on repeats the token")
	}
	if resp, _ := do(t, noRedirect, "GET", e.url("//evil.example/?token="+testToken), nil); !strings.HasPrefix(resp.Header.Get("Location"), ".") {
		t.Errorf("?token= redirected off the server: %q", resp.Header.Get("Location"))
	}
	resp, body = do(t, noRedirect, "GET", e.url("/?token=wrong"), nil)
	if resp.StatusCode != 401 || len(resp.Cookies()) != 0 {
		t.Errorf("a wrong ?token=: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	assertNoData(t, "wrong ?token=", body)
}

func sessionCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", SessionCookie, resp.Header["Set-Cookie"])
	return nil
}

func TestLoginPageFlow(t *testing.T) {
	e := startAuthEnv(t, Config{})
	resp, body := do(t, noRedirect, "GET", e.url("/"), nil, "Accept: text/html,application/xhtml+xml")
	if resp.StatusCode != 401 || !strings.Contains(body, `name="token"`) || !strings.Contains(body, `action="./login"`) || !strings.Contains(body, `name="next" value="./"`) {
		t.Fatalf("a browser at / without a session: %d, want 401 and the login form:\n%s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("the login form may be framed: CSP %q, X-Frame-Options %q", csp, resp.Header.Get("X-Frame-Options"))
	}
	post := func(token, next string) (*http.Response, string) {
		form := url.Values{"token": {token}, "next": {next}}
		return do(t, noRedirect, "POST", e.url("/login"), strings.NewReader(form.Encode()), "Content-Type: application/x-www-form-urlencoded")
	}
	resp, body = post("nope", "/")
	if resp.StatusCode != 401 || !strings.Contains(body, "not right") || len(resp.Cookies()) != 0 {
		t.Errorf("a wrong token: %d cookies %v:\n%s", resp.StatusCode, resp.Cookies(), body)
	}
	resp, _ = post(testToken, "/embed/secret?x=1")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/embed/secret?x=1" {
		t.Fatalf("login: %d Location %q, want 303 back to next", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The form's own next is relative to the dashboard's root, so the redirect resolves under
	// whatever prefix the browser used, even one a proxy stripped.
	if resp, _ := post(testToken, "./embed/secret?x=1"); resp.Header.Get("Location") != "./embed/secret?x=1" {
		t.Errorf("a root-relative next redirected to %q", resp.Header.Get("Location"))
	}
	cookie := sessionCookie(t, resp)
	resp, body = do(t, noRedirect, "GET", e.url("/"), nil, "Cookie: "+cookie.Name+"="+cookie.Value, "Accept: text/html")
	if resp.StatusCode != 200 || !strings.Contains(body, `data-mode="dashboard"`) {
		t.Errorf("the dashboard after login: %d", resp.StatusCode)
	}
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "", "/\t/evil.example", "/\n/evil.example",
		"/\x7f/evil.example", "javascript:alert(1)", "/\\/evil.example", "\t//evil.example", ".//evil.example", "./\\evil.example", "./\t/evil.example"} {
		if resp, _ := post(testToken, next); resp.Header.Get("Location") != "/" {
			t.Errorf("next=%q redirected to %q, want / (no open redirect)", next, resp.Header.Get("Location"))
		}
	}
}

func TestLoginFormPostsUnderTheMountPrefix(t *testing.T) {
	e := startAuthEnv(t, Config{})
	srv := httptest.NewServer(http.StripPrefix("/dash", e.g.Handler()))
	t.Cleanup(srv.Close)
	resp, body := do(t, noRedirect, "GET", srv.URL+"/dash/embed/revenue", nil, "Accept: text/html")
	if resp.StatusCode != 401 || !strings.Contains(body, `action="../login"`) || !strings.Contains(body, `value="./embed/revenue"`) {
		t.Fatalf("login form under /dash: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = do(t, noRedirect, "GET", srv.URL+"/dash/?token="+testToken, nil)
	if resp.Header.Get("Location") != "./" {
		t.Errorf("?token= under /dash redirected to %q", resp.Header.Get("Location"))
	}
}

func TestSignedEmbedLinkGrantsOnlyItsWidget(t *testing.T) {
	e := startAuthEnv(t, Config{})
	path, err := EmbedPath(testToken, "revenue", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(path)
	grant := "exp=" + u.Query().Get("exp") + "&sig=" + u.Query().Get("sig")

	resp, body := do(t, noRedirect, "GET", e.url(path), nil, "Accept: text/html")
	if resp.StatusCode != 200 || !strings.Contains(body, `data-mode="embed"`) {
		t.Fatalf("the signed embed page: %d", resp.StatusCode)
	}
	c, code := e.dialWS(t, "?widget=revenue&"+grant)
	if code != 0 {
		t.Fatalf("the signed embed socket refused: %d", code)
	}
	c.first(t, "snapshot")
	e.publish(t, "sv.secret.data", `{"value":777002}`)
	seq := e.publishAndWait(t, "sv.revenue.data", `{"value":4243}`)
	evs := c.waitSeq(t, seq)
	if got := strings.Join(widgetIDs(evs), ","); got != "revenue,revenue" {
		t.Errorf("the signed socket saw widgets %s, want only revenue", got)
	}

	for _, p := range []string{"/?" + grant, "/embed/secret?" + grant, "/api/widgets?" + grant,
		"/api/widgets/revenue?" + grant, "/metrics?" + grant} {
		resp, body := do(t, noRedirect, "GET", e.url(p), nil, "Accept: text/html")
		if resp.StatusCode != 401 {
			t.Errorf("GET %s with revenue's signature: %d, want 401", p, resp.StatusCode)
		}
		assertNoData(t, p, body)
	}
	for _, q := range []string{"?" + grant, "?widget=secret&" + grant} {
		if _, code := e.dialWS(t, q); code != 401 {
			t.Errorf("socket %s with revenue's signature: %d, want 401", q, code)
		}
	}
}

func TestTamperedOrExpiredEmbedLinksAreRefused(t *testing.T) {
	e := startAuthEnv(t, Config{})
	valid, _ := EmbedPath(testToken, "revenue", time.Now().Add(time.Hour))
	expired, _ := EmbedPath(testToken, "revenue", time.Now().Add(-time.Second))
	otherKey, _ := EmbedPath("another-token", "revenue", time.Now().Add(time.Hour))
	u, _ := url.Parse(valid)
	exp, sig := u.Query().Get("exp"), u.Query().Get("sig")
	later, _ := strconv.ParseInt(exp, 10, 64)
	flipped := string(sig[0]^1) + sig[1:]
	for _, tt := range []struct{ name, path string }{
		{"flipped signature", "/embed/revenue?exp=" + exp + "&sig=" + flipped},
		{"exp moved later", "/embed/revenue?exp=" + strconv.FormatInt(later+86400, 10) + "&sig=" + sig},
		{"other widget", "/embed/secret?exp=" + exp + "&sig=" + sig},
		{"no signature", "/embed/revenue?exp=" + exp},
		{"no expiry", "/embed/revenue?sig=" + sig},
		{"expired", expired},
		{"signed with another token", otherKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, noRedirect, "GET", e.url(tt.path), nil)
			if resp.StatusCode != 401 {
				t.Errorf("GET %s: %d, want 401", tt.path, resp.StatusCode)
			}
			assertNoData(t, tt.path, body)
			q := strings.Replace(tt.path, "/embed/revenue?", "?widget=revenue&", 1)
			if strings.HasPrefix(q, "?") {
				if _, code := e.dialWS(t, q); code != 401 {
					t.Errorf("socket %s: %d, want 401", q, code)
				}
			}
		})
	}
}

func TestEmbedSocketClosesWhenItsLinkExpires(t *testing.T) {
	e := startAuthEnv(t, Config{})
	// Whole seconds: the link expires within the next five, time enough for
	// the socket to open on a loaded machine.
	path, _ := EmbedPath(testToken, "revenue", time.Now().Add(5*time.Second))
	u, _ := url.Parse(path)
	c, code := e.dialWS(t, "?widget=revenue&"+u.RawQuery)
	if code != 0 {
		t.Fatalf("refused: %d", code)
	}
	c.first(t, "snapshot")
	select {
	case <-c.done:
	case <-time.After(waitTimeout):
		t.Fatal("the socket outlived its link")
	}
	_, err := c.snapshotEvents()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != CloseExpired {
		t.Errorf("close: %v, want code %d", err, CloseExpired)
	}
}

func TestEmbedPathRefusesWhatItCannotSign(t *testing.T) {
	if _, err := EmbedPath("", "revenue", time.Now()); !errors.Is(err, ErrBadEmbed) {
		t.Errorf("no token: %v", err)
	}
	if _, err := EmbedPath(testToken, "a b", time.Now()); !errors.Is(err, ErrBadEmbed) || !strings.Contains(err.Error(), `"a b"`) {
		t.Errorf("bad widget id: %v", err)
	}
}

func TestWebSocketOriginAllowList(t *testing.T) {
	for _, tt := range []struct {
		name    string
		origins []string
		origin  string // "" sends none; "self" the server's own
		allowed bool
	}{
		{"no Origin: not a browser", nil, "", true},
		{"same origin", nil, "self", true},
		{"other origin by default", nil, "https://evil.example", false},
		{"opaque origin", nil, "null", false},
		{"listed origin", []string{"https://a.example", "https://b.example:8443"}, "https://b.example:8443", true},
		{"listed host, other scheme", []string{"https://a.example"}, "http://a.example", false},
		{"unlisted origin", []string{"https://a.example"}, "https://evil.example", false},
		{"any origin", []string{"*"}, "https://evil.example", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := startEnv(t, Config{EmbedOrigins: tt.origins})
			var h []string
			switch tt.origin {
			case "":
			case "self":
				h = append(h, "Origin: "+e.srv.URL)
			default:
				h = append(h, "Origin: "+tt.origin)
			}
			_, code := e.dialWS(t, "", h...)
			if tt.allowed && code != 0 {
				t.Errorf("Origin %q refused: %d", tt.origin, code)
			}
			if !tt.allowed && code != http.StatusForbidden {
				t.Errorf("Origin %q: status %d, want 403", tt.origin, code)
			}
		})
	}
}

// A page served over HTTPS (here by a TLS-terminating proxy, which says so
// in X-Forwarded-Proto) is not the same origin as a page of the same host over
// plain HTTP, where a network attacker can put any script: a socket opened
// from there would carry the login cookie (Secure cookies go to wss:, and a
// browser that ignores the scheme for SameSite sends it) and read every widget.
func TestWebSocketFromThePlainHTTPOriginOfAnHTTPSDashboardIsRefused(t *testing.T) {
	e := startEnv(t, Config{})
	host := strings.TrimPrefix(e.srv.URL, "http://")
	for _, tt := range []struct {
		name, origin, proto string
		allowed             bool
	}{
		{"https page behind a TLS proxy", "https://" + host, "https", true},
		{"plain http page of the same host behind a TLS proxy", "http://" + host, "https", false},
		{"plain http dashboard, its own page", "http://" + host, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := []string{"Origin: " + tt.origin}
			if tt.proto != "" {
				h = append(h, "X-Forwarded-Proto: "+tt.proto)
			}
			_, code := e.dialWS(t, "", h...)
			if tt.allowed && code != 0 {
				t.Errorf("Origin %q refused: %d", tt.origin, code)
			}
			if !tt.allowed && code != http.StatusForbidden {
				t.Errorf("Origin %q: status %d, want 403", tt.origin, code)
			}
		})
	}
}

func TestFrameRulesFollowTheEmbedOrigins(t *testing.T) {
	for _, tt := range []struct {
		name              string
		origins           []string
		path              string
		ancestors, xframe string
	}{
		{"dashboard", nil, "/", "frame-ancestors 'self'", "SAMEORIGIN"},
		{"dashboard with embed origins", []string{"https://a.example"}, "/", "frame-ancestors 'self'", "SAMEORIGIN"},
		{"embed page by default", nil, "/embed/x", "frame-ancestors 'self'", "SAMEORIGIN"},
		{"embed page with origins", []string{"https://a.example", "https://b.example"}, "/embed/x", "frame-ancestors 'self' https://a.example https://b.example", ""},
		{"embed page anywhere", []string{"*"}, "/embed/x", "frame-ancestors *", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := startEnv(t, Config{EmbedOrigins: tt.origins})
			resp, _ := do(t, noRedirect, "GET", e.url(tt.path), nil)
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.HasSuffix(csp, "; "+tt.ancestors) {
				t.Errorf("CSP %q, want it to end with %q", csp, tt.ancestors)
			}
			if got := resp.Header.Get("X-Frame-Options"); got != tt.xframe {
				t.Errorf("X-Frame-Options %q, want %q", got, tt.xframe)
			}
		})
	}
}

func TestBadEmbedOriginIsAConfigError(t *testing.T) {
	e := startEnv(t, Config{})
	for _, o := range []string{"a.example", "https://a.example/path", "ftp://a.example", "https://a.example'; script-src *"} {
		if _, err := New(e.b.Conn(), Config{EmbedOrigins: []string{o}}); !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), o) {
			t.Errorf("EmbedOrigins %q: %v, want ErrBadConfig naming it", o, err)
		}
	}
}

func TestSessionCookieIsSecureOverHTTPS(t *testing.T) {
	e := startAuthEnv(t, Config{})
	srv := httptest.NewUnstartedServer(e.g.Handler())
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.CheckRedirect = noRedirect.CheckRedirect
	resp, _ := do(t, c, "GET", srv.URL+"/?token="+testToken, nil)
	if ck := sessionCookie(t, resp); !ck.Secure {
		t.Errorf("cookie set over HTTPS is not Secure: %+v", ck)
	}
}
