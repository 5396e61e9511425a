package gateway

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Export (docs/protocol.md §4.1): a widget's state as a file a person opens
// in a spreadsheet, and the same state as JSON. Both are derived from the
// state encoding that /api/widgets/{widget} serves, so the three cannot
// disagree, and they do not depend on how the state is held in memory.

// widgetView is /api/widgets/{widget}'s body, decoded generically: the
// export must carry whatever the state holds, value types included.
type widgetView struct {
	Config struct {
		ID      string   `json:"id"`
		Type    string   `json:"type"`
		Columns []string `json:"columns"`
	} `json:"config"`
	State struct {
		Value  json.RawMessage                       `json:"value"`
		Prev   json.RawMessage                       `json:"prev"`
		TS     json.RawMessage                       `json:"ts"`
		Points [][]json.RawMessage                   `json:"points"`
		Series map[string][][]json.RawMessage        `json:"series"`
		Rows   map[string]map[string]json.RawMessage `json:"rows"`
	} `json:"state"`
}

func (g *Gateway) serveExportJSON(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("widget")
	b, ok := g.state.widgetJSON(id)
	if !ok {
		httpError(w, http.StatusNotFound, noExport(id))
		return
	}
	w.Header().Set("Content-Disposition", attachment(id, "json"))
	writeJSON(w, http.StatusOK, b)
}

func (g *Gateway) serveExportCSV(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("widget")
	b, ok := g.state.widgetJSON(id)
	if !ok {
		httpError(w, http.StatusNotFound, noExport(id))
		return
	}
	out, err := widgetCSV(b)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "export "+strconvQuote(id)+": "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8; header=present")
	w.Header().Set("Content-Disposition", attachment(id, "csv"))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(out)
}

// noExport is the 404 of an export link: such links are bookmarked and
// shared, so the one that outlives its widget (removed, docs/protocol.md
// §1.2) must say why there is nothing, not only that the id is unknown.
// It starts as /api/widgets/{widget}'s 404 does, for clients matching that.
func noExport(id string) string {
	return "unknown widget " + strconvQuote(id) + ": the dashboard has no widget with this id now (never created, or removed); nothing to export"
}

// serveExportDashboard is every widget and the title in one file: the
// snapshot a browser starts from, without the protocol's event framing.
func (g *Gateway) serveExportDashboard(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Disposition", attachment("dashboard", "json"))
	writeJSON(w, http.StatusOK, g.state.export())
}

// attachment names the download; ids are letters, digits, - and _ only, so
// the name needs no quoting beyond the quotes.
func attachment(id, ext string) string {
	return fmt.Sprintf(`attachment; filename="%s.%s"`, id, ext)
}

// widgetCSV turns one widget's config+state JSON into RFC 4180 CSV (CRLF
// line ends, a header row):
//
//	stat, gauge: value,prev,ts
//	chart:       series,x,y (one row per point; the default series is "")
//	table:       key, then the config's columns, or every column any row has, sorted
func widgetCSV(b []byte) ([]byte, error) {
	var v widgetView
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	var cw recordWriter
	st := v.State
	switch v.Config.Type {
	case TypeStat, TypeGauge:
		_ = cw.Write([]string{"value", "prev", "ts"})
		_ = cw.Write([]string{csvCell(st.Value), csvCell(st.Prev), csvCell(st.TS)})
	case TypeChart:
		_ = cw.Write([]string{"series", "x", "y"})
		names := make([]string, 0, len(st.Series))
		for name := range st.Series {
			names = append(names, name)
		}
		sort.Strings(names)
		writePoints := func(name string, pts [][]json.RawMessage) {
			for _, p := range pts {
				row := []string{neutralize(name), "", ""}
				for i := 0; i < len(p) && i < 2; i++ {
					row[1+i] = csvCell(p[i])
				}
				_ = cw.Write(row)
			}
		}
		writePoints("", st.Points)
		for _, name := range names {
			writePoints(name, st.Series[name])
		}
	default:
		cols := v.Config.Columns
		if len(cols) == 0 {
			seen := map[string]bool{}
			for _, row := range st.Rows {
				for c := range row {
					if !seen[c] {
						seen[c] = true
						cols = append(cols, c)
					}
				}
			}
			sort.Strings(cols)
		}
		_ = cw.Write(append([]string{"key"}, neutralizeAll(cols)...))
		keys := make([]string, 0, len(st.Rows))
		for k := range st.Rows {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			row := make([]string, 0, len(cols)+1)
			row = append(row, neutralize(k))
			for _, c := range cols {
				row = append(row, csvCell(st.Rows[k][c]))
			}
			_ = cw.Write(row)
		}
	}
	return cw.out, cw.err
}

// recordWriter writes RFC 4180 records ending in CRLF. encoding/csv's own
// UseCRLF would also drop a lone CR inside a field, so each record is
// written alone with LF and its terminator replaced: fields keep every byte.
type recordWriter struct {
	one bytes.Buffer
	out []byte
	err error
}

func (r *recordWriter) Write(rec []string) error {
	r.one.Reset()
	w := csv.NewWriter(&r.one)
	if err := w.Write(rec); err != nil {
		r.err = err
		return err
	}
	w.Flush()
	r.out = append(r.out, bytes.TrimSuffix(r.one.Bytes(), []byte("\n"))...)
	r.out = append(r.out, "\r\n"...)
	return nil
}

// csvCell writes a JSON value as a spreadsheet cell: a string as its text,
// null or absent as an empty cell, a number as written, anything else
// (booleans, objects, arrays) as its JSON.
func csvCell(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return neutralize(s)
		}
	}
	if _, err := strconv.ParseFloat(string(raw), 64); err == nil {
		// A number is never a formula, even a negative one: it stays a
		// number for the spreadsheet.
		return string(raw)
	}
	return neutralize(string(raw))
}

// neutralize defuses formula injection (OWASP "CSV injection"): a text cell
// that a spreadsheet would evaluate (it begins with =, +, -, @, a tab or a
// carriage return) gets a leading apostrophe, so it is shown as text. So does
// each part of it after a ';': a spreadsheet whose list separator is ';'
// (Excel in much of Europe) splits the line there, quotes or not, and would
// evaluate "x;=f()" from its second part.
func neutralize(s string) string {
	if !strings.ContainsAny(s, formulaStarts) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 1)
	start := true
	for i := 0; i < len(s); i++ {
		if start && strings.IndexByte(formulaStarts, s[i]) >= 0 {
			b.WriteByte('\'')
		}
		b.WriteByte(s[i])
		start = s[i] == ';'
	}
	return b.String()
}

// formulaStarts are the first characters that make a spreadsheet evaluate a cell.
const formulaStarts = "=+-@\t\r"

func neutralizeAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = neutralize(s)
	}
	return out
}
