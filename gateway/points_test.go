package gateway

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// pointsCorpus is chart messages around every branch of pointList: what it
// parses itself, what it hands to the reference decoder although valid, and
// what the reference decoder rejects, with errors elsewhere in the message
// before and after the points.
var pointsCorpus = []string{
	`{"points": []}`,
	`{"points": [ ]}`,
	`{"points": null}`,
	`{"points": [[1, 2]]}`,
	`{"points":[[1,2],[3,null],[-0,-0],[1e3,2.5E-3],[0.1, -7e+2]]}`,
	"{\"points\":\n[\t[ 1 ,\r2 ] ,\n[3,4]\n]\n}",
	`{"points": [[1732713600000, 3.2]], "series": "p99", "mode": "upsert", "remove": [1, "2024-11-27T13:20:00Z"]}`,
	`{"points": [["2024-11-27T13:20:00.250Z", 1], ["2024-11-27T14:20:00+01:00", null]]}`,
	`{"points": [["2024-11-27T13:20:00.123456789Z", 1]]}`,
	`{"points": [["\u0032024-11-27T13:20:00Z", 1]]}`,  // escaped but valid: the reference decides
	`{"points": [["2024-11-27T13:20:00Z\u00e9", 1]]}`, // escaped, invalid time
	`{"points": [["2024-11-27T13:20:00Zé", 1]]}`,      // non-ASCII
	`{"points": [["yesterday", 1]]}`,
	`{"points": [["", 1]]}`,
	`{"points": [[1e400, 1]]}`,
	`{"points": [[1, 1e400]]}`,
	`{"points": [[1, -1e400]]}`,
	`{"points": [[1e-400, 1e-400]]}`,
	`{"points": [[1, 179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000]]}`,
	`{"points": [[1, 2, 3]]}`,
	`{"points": [[1]]}`,
	`{"points": [[]]}`,
	`{"points": [null]}`,
	`{"points": [[1, 2], null]}`,
	`{"points": [1, 2]}`,
	`{"points": [[null, 1]]}`,
	`{"points": [[true, 1]]}`,
	`{"points": [[1, true]]}`,
	`{"points": [[1, "2"]]}`,
	`{"points": [[1, [2]]]}`,
	`{"points": [[[1], 2]]}`,
	`{"points": [[{"x": 1}, 2]]}`,
	`{"points": [{"x": 1, "y": 2}]}`,
	`{"points": 5}`,
	`{"points": "[[1,2]]"}`,
	`{"points": {}}`,
	`{"points": true}`,
	`{"points": [[1, 2]], "points": [[3, 4], [5, 6]]}`,
	`{"points": [[1, "bad"]], "points": [[3, 4]]}`,
	`{"points": [[3, 4]], "points": [[1, "bad"]]}`,
	`{"points": [[3, 4]], "points": null}`,
	`{"Points": [[1, 2]]}`,
	`{"POINTS": [[1, 2]], "points": [[3, 4]]}`,
	`{"series": 7, "points": 5}`,
	`{"points": 5, "series": 7}`,
	`{"series": 7, "points": [[1, "x"]]}`,
	`{"points": [[1, "x"]], "series": 7}`,
	`{"points": [[1, "x"]], "value": "high"}`,
	`{"value": "high", "points": [[1, "x"]]}`,
	`{"points": [[1, 2]], "value": 1}`,
	`{"points": [[1, 2]], "x": 1, "y": 2}`,
	`{"points": [[1, 2]], "mode": "replace"}`,
	`{"points": [[1, 2]], "remove": 5}`,
	`{"points": [[1, 2]], "series": "` + strings.Repeat("s", 201) + `"}`,
	`{"points": [[1, 2]]`,
	`{"points": [[1, 2],]}`,
	`{"points": [[1 2]]}`,
	`{"points": [[01, 2]]}`,
	`{"points": [[1, 2]]} trailing`,
	`{"points": [[NaN, 1]]}`,
	`{"points": [[1, NaN]]}`,
	`{"points": [[1, Infinity]]}`,
	`{"points": [[1, -Infinity]]}`,
	`{"points": [[0x10, 1]]}`,
	`{"points": [[1, "\ud800"]]}`,
	"{\"points\": [[\"2024-11-27T13:20:00Z\xff\", 1]]}",
	`{"points": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
}

// checkSameAsReference fails unless DecodeUpdate and the encoding/json path
// agree on b: both reject it with the same error, or both accept it with
// the same update.
func checkSameAsReference(t *testing.T, b []byte) {
	t.Helper()
	got, gotErr := DecodeUpdate(b, 1)
	want, wantErr := decodeUpdateReference(b, 1)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("%q:\n      DecodeUpdate error %v\nreference path error %v", b, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n      DecodeUpdate %s\nreference path %s", b, encodeOrNil(got), encodeOrNil(want))
	}
}

func encodeOrNil(u *Update) string {
	if u == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s %#v", u.encode(nil), u.Chart)
}

func TestPointListAcceptsAndRejectsExactlyLikeTheReferenceDecoder(t *testing.T) {
	for _, in := range pointsCorpus {
		t.Run(truncate(in, 50), func(t *testing.T) { checkSameAsReference(t, []byte(in)) })
	}
}

// The fast parser itself takes the plain numeric batches the SDK sends; the rest is
// left to the reference decoder (which still accepts the valid ones).
func TestPointListParsesPlainPointsAndLeavesTheRestToTheReference(t *testing.T) {
	tests := []struct {
		in   string
		want []Point // nil: handed to the reference decoder
	}{
		{`[]`, []Point{}},
		{`[[1, 2], [3, null]]`, []Point{{1, Num{2, true}}, {3, Num{}}}},
		{` [ [ 1732713600250 , -1.5e2 ] ] `, []Point{{1732713600250, Num{-150, true}}}},
		{`[["2024-11-27T13:20:00.250Z", 1]]`, nil}, // a string x may be a category: its text is kept
		{`[["\u0032024-11-27T13:20:00Z", 1]]`, nil},
		{`[[1e400, 1]]`, nil},
		{`[[1, 2, 3]]`, nil},
		{`[[1, "2"]]`, nil},
		{`[null]`, nil},
		{`5`, nil},
	}
	for _, tt := range tests {
		got, ok := parsePoints([]byte(tt.in))
		if ok != (tt.want != nil) || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parsePoints(%s) = %v, %t; want %v", tt.in, got, ok, tt.want)
		}
		var ref []Point
		if tt.want != nil {
			if err := json.Unmarshal([]byte(tt.in), &ref); err != nil || !reflect.DeepEqual(ref, tt.want) {
				t.Errorf("reference decoding of %s = %v, %v; the fast parser's %v disagrees", tt.in, ref, err, tt.want)
			}
		}
	}
}
