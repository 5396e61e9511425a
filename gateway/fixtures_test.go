package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/streamviz/streamviz/protocol"
)

// protocolFixture is one file of testdata/protocol: messages as published,
// the events each must produce and whether it is refused, and the state
// every widget ends in. The same files run against the browser's fold
// (web/test/fixtures.test.mjs) and the Python tests' (python/tests/test_protocol_fixtures.py),
// so the three cannot drift apart.
type protocolFixture struct {
	Description string `json:"description"`
	Server      struct {
		History      int `json:"history"`
		MaxTableRows int `json:"max_table_rows"`
	} `json:"server"`
	Steps []struct {
		Publish string          `json:"publish"`
		Payload json.RawMessage `json:"payload,omitempty"`
		// A binary payload (a columnar update, docs/protocol.md §1.7) as
		// published, and, when it is well formed, the columns it encodes: the
		// Go and Python encoders must make exactly these bytes from them.
		PayloadBase64 string          `json:"payload_base64,omitempty"`
		Columns       *fixtureColumns `json:"columns,omitempty"`
		// A columnar table update (§1.8) in readable form: its bytes must
		// be what EncodeTableColumns (and the Python SDK) make of it.
		TableColumns *fixtureTableColumns `json:"table_columns,omitempty"`
		Rejected     string               `json:"rejected,omitempty"`
		Events       []any                `json:"events"`
		// For each event, the binary frame (base64) a socket opened with
		// binary=1 gets for it when that is not the text frame (a columnar
		// table update forwarded as it came, docs/protocol.md §2.4 "tcols";
		// null for the others): the page folds these too (web/test).
		BinaryFrames []*string `json:"binary_frames,omitempty"`
	} `json:"steps"`
	State map[string]any `json:"state"`
}

// fixtureColumns is a columnar update in readable form; a null y is a gap
// (NaN on the wire).
type fixtureColumns struct {
	Series string     `json:"series,omitempty"`
	X      []float64  `json:"x"`
	Y      []*float64 `json:"y"`
	AsOf   *float64   `json:"as_of,omitempty"`
}

// fixtureTableColumns is a columnar table update in readable form: the rows'
// keys are the values of the column named key (a string as it is, a number
// as its JSON text); each column gives exactly one of i64, f64 or json.
type fixtureTableColumns struct {
	Key     string `json:"key"`
	Columns []struct {
		Name string            `json:"name"`
		I64  []int64           `json:"i64,omitempty"`
		F64  []float64         `json:"f64,omitempty"`
		JSON []json.RawMessage `json:"json,omitempty"`
	} `json:"columns"`
	AsOf *float64 `json:"as_of,omitempty"`
}

func (fc *fixtureTableColumns) encode(t *testing.T) []byte {
	t.Helper()
	var keys []string
	var intKeys []int64
	cols := make([]TableColumn, len(fc.Columns))
	for i, c := range fc.Columns {
		cols[i] = TableColumn{Name: c.Name, I64: c.I64, F64: c.F64}
		for _, v := range c.JSON {
			var cell bytes.Buffer
			if err := json.Compact(&cell, v); err != nil {
				t.Fatal(err)
			}
			v = cell.Bytes()
			cols[i].JSON = append(cols[i].JSON, string(v))
			if c.Name == fc.Key {
				var s string
				if json.Unmarshal(v, &s) != nil {
					s = string(v)
				}
				keys = append(keys, s)
			}
		}
		if c.Name == fc.Key && c.I64 != nil {
			intKeys = c.I64
		}
	}
	if intKeys != nil {
		// A key column of whole numbers goes as int64 keys (key_type "i64").
		return EncodeTableColumnsIntKeys(intKeys, cols, fc.AsOf)
	}
	return EncodeTableColumns(keys, cols, fc.AsOf)
}

// payload is what the step publishes: its JSON, or its base64 bytes, which
// must be what EncodeColumns makes of its columns.
func fixturePayload(t *testing.T, i int, payload json.RawMessage, b64 string, cols *fixtureColumns, tcols *fixtureTableColumns) []byte {
	t.Helper()
	if tcols != nil {
		enc := tcols.encode(t)
		if b64 == "" && os.Getenv("STREAMVIZ_WRITE_FIXTURES") != "" {
			return enc // written out as the step's payload_base64
		}
		if b, err := base64.StdEncoding.DecodeString(b64); err != nil || !bytes.Equal(enc, b) {
			t.Errorf("step %d: EncodeTableColumns makes %q, the fixture publishes %q (%v)", i, enc, b, err)
		}
	}
	if b64 == "" {
		return payload
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("step %d: payload_base64: %v", i, err)
	}
	if cols != nil {
		ys := make([]float64, len(cols.Y))
		for k, y := range cols.Y {
			ys[k] = gapNaN
			if y != nil {
				ys[k] = *y
			}
		}
		if enc := EncodeColumns(cols.Series, cols.X, ys, cols.AsOf); !bytes.Equal(enc, b) {
			t.Errorf("step %d: EncodeColumns makes %q, the fixture publishes %q", i, enc, b)
		}
	}
	return b
}

// fixtureNow stamps values that carry no ts; every fixture gives one.
const fixtureNow = 1e12

func TestProtocolFixturesFoldIntoTheirEventsAndState(t *testing.T) {
	files, err := filepath.Glob("../testdata/protocol/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in testdata/protocol: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var fx protocolFixture
			if err := json.Unmarshal(raw, &fx); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			got := foldFixture(t, &fx)
			if os.Getenv("STREAMVIZ_WRITE_FIXTURES") != "" {
				b, _ := json.MarshalIndent(got, "", "  ")
				if err := os.WriteFile(file, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			for i, step := range fx.Steps {
				if !reflect.DeepEqual(step.BinaryFrames, got.Steps[i].BinaryFrames) {
					t.Errorf("step %d (%s): binary frames\n got %s\nwant %s", i, step.Publish, mustMarshal(t, got.Steps[i].BinaryFrames), mustMarshal(t, step.BinaryFrames))
				}
				if step.Rejected != got.Steps[i].Rejected {
					t.Errorf("step %d (%s %s): refused %q, want %q", i, step.Publish, step.Payload, got.Steps[i].Rejected, step.Rejected)
				}
				if !reflect.DeepEqual(normalizeJSON(t, step.Events), normalizeJSON(t, got.Steps[i].Events)) {
					t.Errorf("step %d (%s %s): events\n got %s\nwant %s", i, step.Publish, step.Payload, mustMarshal(t, got.Steps[i].Events), mustMarshal(t, step.Events))
				}
			}
			if !reflect.DeepEqual(normalizeJSON(t, fx.State), normalizeJSON(t, got.State)) {
				t.Errorf("state\n got %s\nwant %s", mustMarshal(t, got.State), mustMarshal(t, fx.State))
			}
		})
	}
}

// foldFixture applies the fixture's messages to a state owner and returns
// the fixture as this fold fills it in.
func foldFixture(t *testing.T, fx *protocolFixture) protocolFixture {
	t.Helper()
	limits := Limits{}
	limits.setDefaults()
	events := newResumeLog(64 << 20)
	events.start("fixture", 0)
	st := newState(fx.Server.History, fx.Server.MaxTableRows, limits, events)
	out := *fx
	out.Steps = append(out.Steps[:0:0], fx.Steps...)
	seen := 0
	for i := range out.Steps {
		step := &out.Steps[i]
		data := fixturePayload(t, i, step.Payload, step.PayloadBase64, step.Columns, step.TableColumns)
		if step.TableColumns != nil && step.PayloadBase64 == "" {
			step.PayloadBase64 = base64.StdEncoding.EncodeToString(data)
		}
		err := st.apply(message{seq: uint64(i + 1), subject: step.Publish, data: data, ms: fixtureNow})
		step.Rejected = ""
		if err != nil {
			step.Rejected = protocol.RejectReason(err)
		}
		step.Events = []any{}
		step.BinaryFrames = nil
		for k, e := range events.log.entries[seen:] {
			var ev map[string]any
			text := appendWithPrev(nil, e, e.prev, nil)
			if err := json.Unmarshal(text, &ev); err != nil {
				t.Fatalf("step %d: event %s is not JSON: %v", i, text, err)
			}
			// A binary socket gets the same event with its columns raw.
			if bin, isBinary := frameEvents([]logEntry{e}, e.prev, true); isBinary != (e.cols != nil) {
				t.Errorf("step %d: binary frame %v for an event with columns %v", i, isBinary, e.cols != nil)
			} else if got := binaryFrameAsText(t, bin, isBinary); got != "["+string(text)+"]" {
				t.Errorf("step %d: the binary frame reads as\n %s\nthe text frame is\n %s", i, got, "["+string(text)+"]")
			} else if isBinary && e.cols.table != nil {
				for len(step.BinaryFrames) < k {
					step.BinaryFrames = append(step.BinaryFrames, nil)
				}
				s := base64.StdEncoding.EncodeToString(bin)
				step.BinaryFrames = append(step.BinaryFrames, &s)
			}
			// Positions depend on where the messages are stored; the
			// browser's and Python's folds number events themselves.
			delete(ev, "seq")
			delete(ev, "prev")
			step.Events = append(step.Events, ev)
		}
		seen = len(events.log.entries)
	}
	out.State = map[string]any{}
	for id := range st.widgets {
		b, _ := st.widgetJSON(id)
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		out.State[id] = v
	}
	return out
}

func normalizeJSON(t *testing.T, v any) any {
	t.Helper()
	var out any
	if err := json.Unmarshal(mustMarshal(t, v), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(buf.Bytes())
}
