package gateway

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeUpdateNormalizesEveryDocumentedShape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"stat value stamped with arrival time", `{"value": 42.5}`, `{"value":42.5,"ts":1000}`},
		{"stat value with ts", `{"value": 1, "ts": 5}`, `{"value":1,"ts":5}`},
		{"null value is a gap", `{"value": null}`, `{"value":null,"ts":1000}`},
		{"chart point", `{"x": 1732713600000, "y": 3.2}`, `{"series":"","points":[[1732713600000,3.2]],"mode":"append"}`},
		{"chart ISO-8601 x becomes milliseconds", `{"x": "2024-11-27T13:20:00.250Z", "y": 1}`, `{"series":"","points":[[1732713600250,1]],"mode":"append"}`},
		{"chart x with offset", `{"x": "2024-11-27T14:20:00+01:00", "y": 1}`, `{"series":"","points":[[1732713600000,1]],"mode":"append"}`},
		{"chart batch with series", `{"points": [[1, 2], [3, null]], "series": "p99"}`, `{"series":"p99","points":[[1,2],[3,null]],"mode":"append"}`},
		{"chart upsert and remove", `{"points": [[1, 2]], "mode": "upsert", "remove": [7]}`, `{"series":"","points":[[1,2]],"mode":"upsert","remove":[7]}`},
		{"table upsert", `{"key": "eu", "row": {"region": "eu", "revenue": 10}}`, `{"ops":[{"key":"eu","row":{"region":"eu","revenue":10}}]}`},
		{"table numeric key becomes text", `{"key": 7, "row": {"a": 1}}`, `{"ops":[{"key":"7","row":{"a":1}}]}`},
		{"table delete", `{"key": "eu", "delete": true}`, `{"ops":[{"key":"eu","delete":true}]}`},
		{"table batch", `{"ops": [{"key": "a", "row": {"n": 1}}, {"key": "b", "delete": true}]}`, `{"ops":[{"key":"a","row":{"n":1}},{"key":"b","delete":true}]}`},
		{"row whitespace is compacted", `{"key": "a", "row": { "n" : [ 1, 2 ] }}`, `{"ops":[{"key":"a","row":{"n":[1,2]}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := DecodeUpdate([]byte(tt.in), 1000)
			if err != nil {
				t.Fatalf("DecodeUpdate(%s): %v", tt.in, err)
			}
			if got := string(u.encode(nil)); got != tt.want {
				t.Errorf("DecodeUpdate(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}

// A string x is a time in a number chart and a category in a category
// chart: which one, and whether it fits, is decided once the widget's axis
// (x_type) is known.
func TestChartXIsCheckedAgainstTheWidgetsAxis(t *testing.T) {
	tests := []struct {
		name, in string
		category bool
		want     string // the encoded update, or the error's text
	}{
		{"a time string in a number chart", `{"x": "2024-11-27T13:20:00.250Z", "y": 1}`, false, `{"series":"","points":[[1732713600250,1]],"mode":"append"}`},
		{"a non-time string in a number chart", `{"x": "yesterday", "y": 1}`, false, `bad shape: time "yesterday": want milliseconds or ISO-8601`},
		{"a removal that is not a time in a number chart", `{"remove": ["noon"]}`, false, `bad shape: time "noon": want milliseconds or ISO-8601`},
		{"categories in a category chart", `{"points": [["eu", 1], ["2024-11-27T13:20:00Z", 2]], "remove": ["us"], "mode": "upsert"}`, true,
			`{"series":"","points":[["eu",1],["2024-11-27T13:20:00Z",2]],"mode":"upsert","remove":["us"]}`},
		{"a number in a category chart", `{"points": [["eu", 1], [5, 2]]}`, true, `bad shape: a category chart's x is text (a category), not a number`},
		{"a numeric removal in a category chart", `{"remove": [5]}`, true, `bad shape: a category chart's x is text (a category), not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := DecodeUpdate([]byte(tt.in), 0)
			if err != nil {
				t.Fatalf("DecodeUpdate(%s): %v", tt.in, err)
			}
			got := ""
			if err := u.Chart.forAxis(tt.category); err != nil {
				got = err.Error()
				if !errors.Is(err, ErrBadShape) {
					t.Errorf("%v is not a bad shape", err)
				}
			} else {
				got = string(u.encode(nil))
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	if _, err := DecodeUpdate([]byte(`{"points": [["", 1]]}`), 0); !errors.Is(err, ErrBadShape) {
		t.Errorf("an empty category: %v, want a bad shape", err)
	}
}

func TestDecodeUpdateRejectsWithReason(t *testing.T) {
	deep := strings.Repeat("[", 40) + strings.Repeat("]", 40)
	tests := []struct {
		name, in string
		want     error
		mention  string
	}{
		{"not JSON", `{"value": `, ErrBadJSON, ""},
		{"not an object", `[1, 2]`, ErrBadJSON, "object"},
		{"empty", ``, ErrBadJSON, ""},
		{"no known field", `{"hello": 1}`, ErrBadShape, "want one of"},
		{"two shapes", `{"value": 1, "key": "a"}`, ErrBadShape, "want one of"},
		{"string value", `{"value": "high"}`, ErrBadShape, "number or null"},
		{"x without y", `{"x": 1}`, ErrBadShape, "both x and y"},
		{"point not a pair", `{"points": [[1, 2, 3]]}`, ErrBadShape, "[x, y]"},
		{"unknown mode", `{"x": 1, "y": 1, "mode": "replace"}`, ErrBadShape, "append or upsert"},
		{"row not an object", `{"key": "a", "row": [1]}`, ErrBadShape, "object"},
		{"row and delete", `{"key": "a", "row": {}, "delete": true}`, ErrBadShape, "both"},
		{"empty key", `{"key": "", "row": {}}`, ErrBadShape, "1 to 256"},
		{"key too long", `{"key": "` + strings.Repeat("k", 257) + `", "row": {}}`, ErrBadShape, "1 to 256"},
		{"bad op in batch names its index", `{"ops": [{"key": "a", "row": {}}, {"row": {}}]}`, ErrBadShape, "ops[1]"},
		{"nested too deep", `{"key": "a", "row": {"x": ` + deep + `}}`, ErrTooDeep, "32"},
		{"invalid UTF-8 in a row", "{\"key\": \"a\", \"row\": {\"n\": \"\xff\"}}", ErrBadJSON, "UTF-8"},
		{"invalid UTF-8 in a series", "{\"x\": 1, \"y\": 1, \"series\": \"\xc0\x80\"}", ErrBadJSON, "UTF-8"},
		{"UTF-16 surrogate encoded as UTF-8", "{\"key\": \"\xed\xa0\x80\", \"delete\": true}", ErrBadJSON, "UTF-8"},
		// A field of the wrong JSON type once named the Go type it decodes to ([]gateway.rawPoint).
		{"points not an array", `{"points": {}}`, ErrBadShape, "points: want an array, got object"},
		{"series not text", `{"x": 1, "y": 1, "series": 5}`, ErrBadShape, "series: want text, got number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeUpdate([]byte(tt.in), 0)
			if !errors.Is(err, tt.want) {
				t.Fatalf("DecodeUpdate(%.60s) = %v, want %v", tt.in, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}

func TestDecodeConfigFillsDefaultsAndValidates(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            error
	}{
		{"stat defaults", `{"type":"stat"}`, `{"color":null,"dashboard":"","delta":true,"format":null,"id":"w","order":0,"title":"w","type":"stat","unit":""}`, nil},
		{"chart max_points defaults to history", `{"type":"chart","title":"T"}`, `{"chart_type":"line","color":null,"dashboard":"","format":null,"id":"w","label":null,"max_points":77,"order":0,"title":"T","type":"chart","unit":"","x_type":"number"}`, nil},
		{"chart x_type and label", `{"type":"chart","x_type":"category","label":"revenue"}`, `{"chart_type":"line","color":null,"dashboard":"","format":null,"id":"w","label":"revenue","max_points":77,"order":0,"title":"w","type":"chart","unit":"","x_type":"category"}`, nil},
		{"chart x_type must be number or category", `{"type":"chart","x_type":"text"}`, "", ErrBadShape},
		{"table keeps null columns and sort_by", `{"type":"table","sort_by":"revenue","sort_desc":false}`, `{"column_format":{},"column_labels":{},"columns":null,"dashboard":"","id":"w","max_rows":100,"order":0,"sort_by":"revenue","sort_desc":false,"title":"w","type":"table"}`, nil},
		{"gauge thresholds", `{"type":"gauge","min":-5,"max":5,"thresholds":[[0,"#0f0"],[5,"#f00"]]}`, `{"color":null,"dashboard":"","format":null,"id":"w","max":5,"min":-5,"order":0,"thresholds":[[0,"#0f0"],[5,"#f00"]],"title":"w","type":"gauge","unit":""}`, nil},
		{"missing type", `{"title":"x"}`, ``, ErrBadShape},
		{"unknown type", `{"type":"pie"}`, ``, ErrBadShape},
		{"gauge min not below max", `{"type":"gauge","min":5,"max":5}`, ``, ErrBadShape},
		{"unknown chart_type", `{"type":"chart","chart_type":"pie"}`, ``, ErrBadShape},
		{"chart_type stacked_bar", `{"type":"chart","chart_type":"stacked_bar"}`, `{"chart_type":"stacked_bar","color":null,"dashboard":"","format":null,"id":"w","label":null,"max_points":77,"order":0,"title":"w","type":"chart","unit":"","x_type":"number"}`, nil},
		{"chart_type stacked_area", `{"type":"chart","chart_type":"stacked_area"}`, `{"chart_type":"stacked_area","color":null,"dashboard":"","format":null,"id":"w","label":null,"max_points":77,"order":0,"title":"w","type":"chart","unit":"","x_type":"number"}`, nil},
		{"max_points out of range", `{"type":"chart","max_points":0}`, ``, ErrBadShape},
		{"unit of the wrong type", `{"type":"stat","unit":5}`, ``, ErrBadShape},
		{"bad threshold", `{"type":"gauge","thresholds":[["a","b"]]}`, ``, ErrBadShape},
		{"title too long", `{"type":"stat","title":"` + strings.Repeat("t", 201) + `"}`, ``, ErrBadShape},
		{"title not UTF-8", "{\"type\":\"stat\",\"title\":\"\xff\"}", ``, ErrBadJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DecodeConfig("w", []byte(tt.in), 77)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("DecodeConfig(%s) = %v, want %v", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeConfig(%s): %v", tt.in, err)
			}
			got, _ := c.MarshalJSON()
			if string(got) != tt.want {
				t.Errorf("config\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseSubjectAcceptsOnlyDocumentedSubjects(t *testing.T) {
	tests := []struct {
		subject, id, kind string
		err               error
	}{
		{"sv.revenue.data", "revenue", "data", nil},
		{"sv.a-b_C9.config", "a-b_C9", "config", nil},
		{"sv.$dashboard.config", "$dashboard", "config", nil},
		{"sv.$dashboard.data", "", "", ErrBadSubject},
		{"sv.w.rows", "w", "rows", nil},
		{"sv.$dashboard.rows", "", "", ErrBadSubject},
		{"sv.w.row", "", "", ErrBadSubject},
		{"sv.w", "", "", ErrBadSubject},
		{"other.w.data", "", "", ErrBadSubject},
		{"sv.bad$id.data", "", "", ErrBadID},
		{"sv." + strings.Repeat("x", 65) + ".data", "", "", ErrBadID},
	}
	for _, tt := range tests {
		id, kind, err := parseSubject(tt.subject)
		if !errors.Is(err, tt.err) || id != tt.id || kind != tt.kind {
			t.Errorf("parseSubject(%q) = %q, %q, %v; want %q, %q, %v", tt.subject, id, kind, err, tt.id, tt.kind, tt.err)
		}
	}
}

// FuzzDecode pins down that no input crashes or hangs the decoders, that
// whatever they accept re-encodes as JSON that decodes to the same update,
// and that the hand-written points parser agrees with encoding/json.
func FuzzDecode(f *testing.F) {
	for _, s := range pointsCorpus {
		f.Add([]byte(s))
	}
	for _, s := range []string{`{"value":1}`, `{"x":"2026-01-01T00:00:00Z","y":2}`, `{"points":[[1,2]],"series":"a","mode":"upsert","remove":[1]}`,
		`{"ops":[{"key":"a","row":{"b":[1,{"c":null}]}},{"key":2,"delete":true}]}`, `{"type":"gauge","min":1,"max":2,"thresholds":[[1,"red"]]}`, `[[[[`, `{"key":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeConfig("w", b, 10)
		checkSameAsReference(t, b)
		if pts, ok := parsePoints(b); ok && json.Valid(b) {
			var ref []Point
			if err := json.Unmarshal(b, &ref); err != nil || !reflect.DeepEqual(pts, ref) {
				t.Fatalf("parsePoints(%q) = %v; encoding/json: %v, %v", b, pts, ref, err)
			}
		}
		u, err := DecodeUpdate(b, 1)
		if err != nil {
			return
		}
		enc := u.encode(nil)
		u2, err := DecodeUpdate(enc, 1)
		if err != nil {
			t.Fatalf("re-decoding our own encoding %s of %q: %v", enc, b, err)
		}
		if enc2 := u2.encode(nil); string(enc2) != string(enc) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
	})
}

func TestAppendStringWritesWhatJSONMarshalWrites(t *testing.T) {
	for _, s := range []string{"", "eu", "a b-c_1.2", "quote\"", `back\slash`, "<tag>&", "tab\t", "nl\n", "\x00", "é", "\u2028", "\x7f", string([]byte{0xff})} {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}
