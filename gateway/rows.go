package gateway

// Pathway's own output as a source (docs/protocol.md §1.6): pw.io.nats.write(table, uri,
// topic="sv.<widget>.rows", format="json") publishes one flat JSON row per change, the
// table's columns plus "diff" (+1/-1) and "time" (Pathway's time). This file decodes such a
// row; rowsfold.go folds rows into the widget's ordinary updates.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
)

// rowsEndField is the only field of the gateway's own end-of-time marker on
// sv.<widget>.rows (rowsflush.go): {"$end": t} folds the pending changes up to t.
// Pathway column names cannot start with "$", so no row is ever read as one.
const rowsEndField = "$end"

// endOfStream is the time of Pathway's last commit of a finite stream, what
// it held until its input ended (exactly-once windows): it writes 2^64 - 2,
// no time of the data. It folds after every other time and is no as_of.
const endOfStream = int64(math.MaxInt64)

// rowChange is one message on sv.<widget>.rows, decoded.
type rowChange struct {
	end  bool // the end marker: time is the last time it folds
	time int64
	diff int
	row  *foldRow // the row's columns (diff and time removed); count unset
}

// rowCol is one column of a row as sent, its value compact JSON.
type rowCol struct {
	name  string
	value json.RawMessage
}

// decodeRows checks and decodes a sv.<widget>.rows payload.
func decodeRows(b []byte) (*rowChange, error) {
	cols, err := decodeOrdered(b)
	if err != nil {
		return nil, err
	}
	if len(cols) == 1 && cols[0].name == rowsEndField {
		t, err := rowTimeInt(cols[0].value)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadShape, rowsEndField, err)
		}
		return &rowChange{end: true, time: t}, nil
	}
	c := &rowChange{}
	var haveDiff, haveTime bool
	kept := cols[:0]
	for _, col := range cols {
		switch col.name {
		case "diff":
			d, err := rowInt(col.value)
			if err != nil || d == 0 || d > 1<<20 || d < -(1<<20) {
				return nil, fmt.Errorf("%w: diff %s: want 1 (insertion) or -1 (retraction)", ErrBadShape, truncate(string(col.value), 40))
			}
			c.diff, haveDiff = int(d), true
		case "time":
			t, err := rowTimeInt(col.value)
			if err != nil || t < 0 {
				return nil, fmt.Errorf("%w: time %s: want Pathway's time, a whole number", ErrBadShape, truncate(string(col.value), 40))
			}
			c.time, haveTime = t, true
		default:
			kept = append(kept, col)
		}
	}
	if !haveDiff || !haveTime {
		return nil, fmt.Errorf("%w: a row needs \"diff\" (1 or -1) and \"time\" beside its columns, as pw.io.nats.write(..., format=\"json\") sends", ErrBadShape)
	}
	c.row = newFoldRow(kept)
	return c, nil
}

// decodeOrdered reads a JSON object's fields in the order sent, each value
// compacted: a table shows a row's columns in Pathway's order.
func decodeOrdered(b []byte) ([]rowCol, error) {
	if err := checkDepth(b, maxDepth); err != nil {
		return nil, err
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrBadJSON)
	}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, fmt.Errorf("%w: want a JSON object", ErrBadJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadJSON, err)
	}
	var cols []rowCol
	seen := map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadJSON, err)
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadJSON, err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadJSON, err)
		}
		if len(name) == 0 || len(name) > maxTextLen {
			return nil, fmt.Errorf("%w: column name of %d bytes: want 1 to %d", ErrBadShape, len(name), maxTextLen)
		}
		if i, ok := seen[name]; ok { // the last one wins, as in encoding/json
			cols[i].value = buf.Bytes()
			continue
		}
		seen[name] = len(cols)
		cols = append(cols, rowCol{name: name, value: buf.Bytes()})
	}
	return cols, nil
}

// rowTimeInt is a Pathway time: a whole number, or its end of stream (past
// int64) as endOfStream.
func rowTimeInt(raw json.RawMessage) (int64, error) {
	t, err := rowInt(raw)
	if u, uerr := strconv.ParseUint(string(raw), 10, 64); err != nil && uerr == nil && u >= 1<<63 {
		return endOfStream, nil
	}
	return t, err
}

func rowInt(raw json.RawMessage) (int64, error) {
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		// Whole numbers written as floats (2.0) are whole numbers still.
		f, ferr := strconv.ParseFloat(string(raw), 64)
		if ferr != nil || f != float64(int64(f)) {
			return 0, fmt.Errorf("%s is not a whole number", truncate(string(raw), 40))
		}
		n = int64(f)
	}
	return n, nil
}

// foldRow is one distinct row (by content) and how many copies of it are
// live: Pathway retracts and inserts rows, not keys, so the live rows are a
// multiset. count may go below zero for a while when a retraction arrives
// before its insertion (two processes of one pipeline race on the bus).
type foldRow struct {
	text  string          // identity: the columns sorted by name, compact
	raw   json.RawMessage // the columns in the order sent
	cols  map[string]json.RawMessage
	count int
	time  int64 // Pathway time of the latest insertion: the most recent row wins a point
}

func newFoldRow(cols []rowCol) *foldRow {
	r := &foldRow{cols: make(map[string]json.RawMessage, len(cols))}
	names := make([]string, 0, len(cols))
	for _, c := range cols {
		r.cols[c.name] = c.value
		names = append(names, c.name)
	}
	r.raw = appendColumns(nil, names, r.cols)
	sort.Strings(names)
	r.text = string(appendColumns(nil, names, r.cols))
	return r
}

// appendColumns writes the object of the named columns that cols holds, in
// the order named.
func appendColumns(b []byte, names []string, cols map[string]json.RawMessage) []byte {
	b = append(b, '{')
	n := 0
	for _, name := range names {
		v, ok := cols[name]
		if !ok {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendString(b, name)
		b = append(b, ':')
		b = append(b, v...)
	}
	return append(b, '}')
}

// cost is what a row takes in memory: its text, its JSON as sent and its
// columns' map (values shared with neither), counted like table rows.
func (r *foldRow) cost() int {
	n := 2*rowCost + len(r.text) + len(r.raw)
	for name, v := range r.cols {
		n += rowCost/2 + len(name) + len(v)
	}
	return n
}

// newer reports whether a is shown rather than b at one point: the latest
// insertion, ties (one Pathway time) to the greater row text, so the choice
// never depends on the order rows arrived in.
func (a *foldRow) newer(b *foldRow) bool {
	if a.time != b.time {
		return a.time > b.time
	}
	return a.text > b.text
}
