package gateway

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

func TestBasePathMovesEveryRouteBelowItAndKeepsHealthAtTheRoot(t *testing.T) {
	e := startEnv(t, Config{BasePath: "/team/streamviz"})
	e.publishAndWait(t, "sv.revenue.data", `{"value":7}`)
	if got := e.g.BasePath(); got != "/team/streamviz/" {
		t.Errorf("BasePath() = %q, want it normalized to /team/streamviz/", got)
	}
	for _, tc := range []struct {
		path string
		code int
		has  string
	}{
		{"/team/streamviz/", 200, `src="static/app.js"`},
		{"/team/streamviz/embed/revenue", 200, `src="../static/app.js"`},
		{"/team/streamviz/static/app.js", 200, "import"},
		{"/team/streamviz/api/widgets/revenue", 200, `"revenue"`},
		{"/team/streamviz/healthz", 200, `"ok"`},
		{"/healthz", 200, `"ok"`},
		{"/", 404, "/team/streamviz/"},
		{"/static/app.js", 404, ""},
		{"/api/widgets", 404, ""},
		{"/team/streamvizz/", 404, ""},
	} {
		resp, body := do(t, noRedirect, "GET", e.url(tc.path), nil)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.has) {
			t.Errorf("GET %s: %d, want %d with %q:\n%.300s", tc.path, resp.StatusCode, tc.code, tc.has, body)
		}
	}
	resp, _ := do(t, noRedirect, "GET", e.url("/team/streamviz?theme=light"), nil)
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/team/streamviz/?theme=light" {
		t.Errorf("the base without its slash: %d Location %q, want 301 to /team/streamviz/?theme=light", resp.StatusCode, resp.Header.Get("Location"))
	}
	ws := "ws" + strings.TrimPrefix(e.srv.URL, "http")
	if _, r, err := websocket.DefaultDialer.Dial(ws+"/ws", nil); err == nil || r == nil || r.StatusCode != 404 {
		t.Errorf("/ws outside the base path answered: %v", err)
	}
	conn, _, err := websocket.DefaultDialer.Dial(ws+"/team/streamviz/ws", nil)
	if err != nil {
		t.Fatalf("the socket below the base path: %v", err)
	}
	defer conn.Close()
	var first []map[string]any
	if err := conn.ReadJSON(&first); err != nil || len(first) == 0 || first[0]["type"] != "snapshot" {
		t.Errorf("the socket below the base path sent %v (%v), want a snapshot", first, err)
	}
}

func TestBasePathThatCannotBeAPathIsRefusedByName(t *testing.T) {
	e := startEnv(t, Config{})
	for _, p := range []string{"streamviz", "//evil.example/", "/a/../b/", "/a b/", "/a?x=1", "/a#x", "/a//b/", "/a%2fb/", "/{x}/", "http://h/a/"} {
		if _, err := New(e.b.Conn(), Config{BasePath: p}); !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), p) {
			t.Errorf("BasePath %q: %v, want ErrBadConfig naming it", p, err)
		}
	}
	for p, want := range map[string]string{"": "/", "/": "/", "/dash": "/dash/", "/a/b/": "/a/b/"} {
		g, err := New(e.b.Conn(), Config{BasePath: p})
		if err != nil || g.BasePath() != want {
			t.Errorf("BasePath %q: %v, BasePath() %q, want %q", p, err, g.BasePath(), want)
		}
	}
}

func TestSessionCookieAndLoginPageFollowTheMount(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		mount  func(h http.Handler) http.Handler
		prefix string
	}{
		{"StripPrefix", Config{}, func(h http.Handler) http.Handler { return http.StripPrefix("/dash", h) }, "/dash"},
		{"BasePath", Config{BasePath: "/dash/"}, func(h http.Handler) http.Handler { return h }, "/dash"},
		{"root", Config{}, func(h http.Handler) http.Handler { return h }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startAuthEnv(t, tc.cfg)
			srv := httptest.NewServer(tc.mount(e.g.Handler()))
			t.Cleanup(srv.Close)
			resp, _ := do(t, noRedirect, "GET", srv.URL+tc.prefix+"/?token="+testToken, nil)
			if c := sessionCookie(t, resp); c.Path != tc.prefix+"/" {
				t.Errorf("session cookie Path %q, want %q", c.Path, tc.prefix+"/")
			}
			resp, body := do(t, noRedirect, "GET", srv.URL+tc.prefix+"/embed/revenue", nil, "Accept: text/html")
			if resp.StatusCode != 401 || !strings.Contains(body, `href="../static/style.css"`) || !strings.Contains(body, `action="../login"`) {
				t.Errorf("the login form in place of an embed page: %d\n%s", resp.StatusCode, body)
			}
			resp, body = do(t, noRedirect, "GET", srv.URL+tc.prefix+"/login", nil)
			if resp.StatusCode != 200 || !strings.Contains(body, `href="./static/style.css"`) {
				t.Errorf("the login page: %d\n%s", resp.StatusCode, body)
			}
		})
	}
}

func TestLoginPageReachesItsStylesheetFromAnyDepth(t *testing.T) {
	e := startAuthEnv(t, Config{})
	for path, root := range map[string]string{
		"/":                   "./",
		"/login":              "./",
		"/embed/revenue":      "../",
		"/embed/a%2Fb":        "../",
		"/api/widgets/x/y":    "../../../",
		"/embed/revenue?x=/a": "../",
	} {
		resp, body := do(t, noRedirect, "GET", e.url(path), nil, "Accept: text/html")
		if !strings.Contains(body, `href="`+root+`static/style.css"`) {
			t.Errorf("GET %s: %d, want the stylesheet at %sstatic/style.css:\n%.600s", path, resp.StatusCode, root, body)
		}
	}
}
