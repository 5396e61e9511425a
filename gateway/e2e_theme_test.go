package gateway

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// A theme is a mode name or an object of known keys whose values cannot
// break out of a CSS declaration: everything else is refused, naming it.
func TestDecodeThemeAcceptsModesAndSafeValuesOnly(t *testing.T) {
	tests := []struct {
		in, want string // want "" means refused
		mentions string
	}{
		{in: `"light"`, want: `{"mode":"light"}`},
		{in: `"auto"`, want: `{"mode":"auto"}`},
		{in: `null`, want: `null`},
		{in: `{"accent": "#7c3aed", "background": "#0b1020", "font": "Inter, sans-serif", "radius": 8}`,
			want: `{"accent":"#7c3aed","background":"#0b1020","font":"Inter, sans-serif","mode":"dark","radius":8}`},
		{in: `{"mode": "light", "text": "rgb(10, 20, 30)", "surface": "hsl(200 50% 40% / 0.5)", "accent": "rebeccapurple"}`,
			want: `{"accent":"rebeccapurple","mode":"light","surface":"hsl(200 50% 40% / 0.5)","text":"rgb(10, 20, 30)"}`},
		{in: `"sepia"`, mentions: "sepia"},
		{in: `5`, mentions: "theme"},
		{in: `{"accent": "red; background: url(https://evil)"}`, mentions: "theme.accent"},
		{in: `{"accent": "#12345"}`, mentions: "theme.accent"},
		{in: `{"background": "var(--x)"}`, mentions: "theme.background"},
		{in: `{"font": "x}body{display:none"}`, mentions: "theme.font"},
		{in: `{"font": "a\\\\62 c"}`, mentions: "theme.font"},
		{in: `{"font": "` + strings.Repeat("a", 201) + `"}`, mentions: "theme.font"},
		{in: `{"radius": 33}`, mentions: "theme.radius"},
		{in: `{"radius": "8px"}`, mentions: "theme.radius"},
		{in: `{"mode": "sepia"}`, mentions: "theme.mode"},
		{in: `{"colour": "red"}`, mentions: `"colour"`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := decodeTheme(json.RawMessage(tc.in))
			if tc.want == "" {
				if err == nil || !errors.Is(err, ErrBadShape) || !strings.Contains(err.Error(), tc.mentions) {
					t.Fatalf("decodeTheme(%s) = %s, %v; want ErrBadShape mentioning %s", tc.in, got, err, tc.mentions)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeTheme(%s): %v", tc.in, err)
			}
			if tc.want == "null" {
				if got != nil {
					t.Fatalf("decodeTheme(null) = %s, want nil", got)
				}
				return
			}
			if string(got) != tc.want {
				t.Fatalf("decodeTheme(%s) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

// The dashboard config carries a theme beside the title: browsers get it in
// the snapshot (embeds too) and in the title event; a config with only one of
// the two keeps the other; a bad theme is refused and changes nothing; the
// theme survives a restart.
func TestDashboardThemeReachesBrowsersAndSurvivesRestart(t *testing.T) {
	e := startEnv(t, Config{})
	e.publishAndWait(t, "sv.$dashboard.config", `{"title": "Ops", "theme": {"accent": "#7c3aed", "radius": 4}}`)
	want := `{"accent":"#7c3aed","mode":"dark","radius":4}`
	snap := e.dial(t).first(t, "snapshot")
	if snap.Title != "Ops" || !jsonEqual(t, snap.Theme, []byte(want)) {
		t.Fatalf("snapshot title %q theme %s, want Ops and %s", snap.Title, snap.Theme, want)
	}
	e.publishAndWait(t, "sv.s.config", `{"type": "stat"}`)
	if emb := e.dial(t, "widget", "s").first(t, "snapshot"); !jsonEqual(t, emb.Theme, []byte(want)) {
		t.Fatalf("embed snapshot theme %s, want %s", emb.Theme, want)
	}

	c := e.dial(t)
	c.first(t, "snapshot")
	seq := e.publishAndWait(t, "sv.$dashboard.config", `{"title": "Ops 2"}`)
	ev := c.waitSeq(t, seq)
	last := ev[len(ev)-1]
	if last.Type != "title" || last.Title != "Ops 2" || !jsonEqual(t, last.Theme, []byte(want)) {
		t.Fatalf("a title-only config sent %v title %q theme %s; want the title and the kept theme", last, last.Title, last.Theme)
	}
	seq = e.publishAndWait(t, "sv.$dashboard.config", `{"theme": "light"}`)
	ev = c.waitSeq(t, seq)
	last = ev[len(ev)-1]
	if last.Title != "Ops 2" || !jsonEqual(t, last.Theme, []byte(`{"mode":"light"}`)) {
		t.Fatalf("a theme-only config sent title %q theme %s; want the kept title and light", last.Title, last.Theme)
	}

	before := e.health(t).Rejected
	// Refused to its publisher at once, naming the problem (docs/protocol.md §1).
	if _, err := e.publishInput(t, "sv.$dashboard.config", `{"title": "Evil", "theme": {"accent": "red;x:url(//a)"}}`); err == nil || !strings.Contains(err.Error(), "theme.accent") {
		t.Fatalf("a bad theme: %v; want an error naming theme.accent", err)
	}
	e.waitRejected(t, before+1)
	after := e.dial(t).first(t, "snapshot")
	if after.Title != "Ops 2" || !jsonEqual(t, after.Theme, []byte(`{"mode":"light"}`)) {
		t.Fatalf("after a refused theme: title %q theme %s, want Ops 2 and light unchanged", after.Title, after.Theme)
	}

	e2 := e.restart(t)
	back := e2.dial(t).first(t, "snapshot")
	if back.Title != "Ops 2" || !jsonEqual(t, back.Theme, []byte(`{"mode":"light"}`)) {
		t.Fatalf("after a restart: title %q theme %s, want Ops 2 and light", back.Title, back.Theme)
	}
}
