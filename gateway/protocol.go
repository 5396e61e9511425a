package gateway

// This file is the Go half of docs/protocol.md: subjects, validation and the
// normalized shapes that the browser and /api/widgets see. Keep the two in step.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/streamviz/streamviz/protocol"
)

// Subject layout (docs/protocol.md §1): the names are package protocol's.
const (
	SubjectPrefix    = protocol.SubjectPrefix
	SubjectWildcard  = protocol.SubjectWildcard
	SnapshotWildcard = protocol.SnapshotWildcard
	dashboardID      = protocol.DashboardID
	maxDepth         = 32
	maxKeyBytes      = 256
	maxTextLen       = 200
)

// Widget types.
const (
	TypeTable = "table"
	TypeStat  = "stat"
	TypeChart = "chart"
	TypeGauge = "gauge"
)

// Validation errors; every rejection wraps one of protocol.RejectReasons so
// it can be counted by reason. These are the same values.
var (
	ErrBadSubject = protocol.ErrBadSubject
	ErrBadID      = protocol.ErrBadID
	ErrBadJSON    = protocol.ErrBadJSON
	ErrTooLarge   = protocol.ErrTooLarge
	ErrTooDeep    = protocol.ErrTooDeep
	ErrBadShape   = protocol.ErrBadShape
	ErrWrongType  = protocol.ErrWrongType
	ErrTableFull  = protocol.ErrTableFull
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidID reports whether id is a legal widget id.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// subjectKind splits "sv.<widget>.<kind>".
func parseSubject(subject string) (id, kind string, err error) {
	rest, ok := strings.CutPrefix(subject, SubjectPrefix)
	if !ok {
		return "", "", fmt.Errorf("%w: %q is outside sv.>", ErrBadSubject, subject)
	}
	id, kind, ok = strings.Cut(rest, ".")
	if !ok || (kind != protocol.KindConfig && kind != protocol.KindData && kind != protocol.KindRows) {
		return "", "", fmt.Errorf("%w: %q: want sv.<widget>.config, sv.<widget>.data or sv.<widget>.rows", ErrBadSubject, subject)
	}
	if id == dashboardID {
		if kind != protocol.KindConfig {
			return "", "", fmt.Errorf("%w: %q: the dashboard only takes config", ErrBadSubject, subject)
		}
		return id, kind, nil
	}
	if !ValidID(id) {
		return "", "", fmt.Errorf("%w: %q: letters, digits, - and _, 1 to 64 characters", ErrBadID, id)
	}
	return id, kind, nil
}

// checkDepth rejects documents nested deeper than limit without decoding them,
// so a hostile "[[[[..." cannot make the decoder recurse.
func checkDepth(b []byte, limit int) error {
	depth, inString, escaped := 0, false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > limit {
				return fmt.Errorf("%w: more than %d levels", ErrTooDeep, limit)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

func decodeObject(b []byte, v any) error {
	if err := checkDepth(b, maxDepth); err != nil {
		return err
	}
	// encoding/json would replace bad bytes in the strings it decodes but
	// pass them through in raw rows, and a WebSocket text frame carrying
	// them makes the browser drop the connection.
	if !utf8.Valid(b) {
		return fmt.Errorf("%w: not valid UTF-8", ErrBadJSON)
	}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fmt.Errorf("%w: want a JSON object", ErrBadJSON)
	}
	if err := json.Unmarshal(trimmed, v); err != nil {
		if errors.Is(err, errPointsSlowPath) {
			return err
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%w: %s: want %s, got %s", ErrBadShape, te.Field, jsonKind(te.Type), te.Value)
		}
		var se *shapeError
		if errors.As(err, &se) {
			return fmt.Errorf("%w: %s", ErrBadShape, se.msg)
		}
		return fmt.Errorf("%w: %v", ErrBadJSON, err)
	}
	return nil
}

// jsonKind names a Go type a JSON value decodes into the way a publisher
// knows it: "an array", not "[]gateway.rawPoint".
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

type shapeError struct{ msg string }

func (e *shapeError) Error() string { return e.msg }

// Time is a point on an axis in milliseconds: a JSON number, or an RFC 3339
// string that is converted on decode.
type Time float64

func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		parsed, ok := parseISOTime(s)
		if !ok {
			return &shapeError{fmt.Sprintf("time %q: want milliseconds or ISO-8601", s)}
		}
		*t = parsed
		return nil
	}
	parsed, ok := parseMSTime(b)
	if !ok {
		return &shapeError{fmt.Sprintf("time %s: want milliseconds or ISO-8601", b)}
	}
	*t = parsed
	return nil
}

func parseISOTime(s string) (Time, bool) {
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	// Whole milliseconds plus the sub-millisecond rest: nanoseconds since
	// 1970 do not fit a float64 exactly.
	return Time(float64(parsed.UnixMilli()) + float64(parsed.Nanosecond()%1e6)/1e6), true
}

func parseMSTime(b []byte) (Time, bool) {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return Time(f), true
}

// Num is a number or null (NaN and infinities arrive as null).
type Num struct {
	V     float64
	Valid bool
}

func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num{}
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return &shapeError{fmt.Sprintf("value %s: want a number or null", truncate(string(b), 40))}
	}
	*n = Num{V: f, Valid: true}
	return nil
}

func (n Num) MarshalJSON() ([]byte, error) { return appendNum(nil, n), nil }

// optNum is a Num that remembers whether the field was present at all:
// {"value": null} is a stat update, {} is not. encoding/json calls
// UnmarshalJSON for a null only on non-pointer fields, hence this type.
type optNum struct {
	Num
	Set bool
}

func (o *optNum) UnmarshalJSON(b []byte) error {
	o.Set = true
	return o.Num.UnmarshalJSON(b)
}

// Point is one chart point, [x, y] on the wire.
type Point struct {
	X Time
	Y Num
}

func (p *Point) UnmarshalJSON(b []byte) error {
	return unmarshalPair(b, "[x, y]", p.X.UnmarshalJSON, &p.Y)
}

// unmarshalPair decodes a point, [x, y]: x with decodeX, y as a Num; want
// names the shape in the error.
func unmarshalPair(b []byte, want string, decodeX func([]byte) error, y *Num) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil || len(pair) != 2 {
		return &shapeError{fmt.Sprintf("point %s: want %s", truncate(string(b), 40), want)}
	}
	if err := decodeX(pair[0]); err != nil {
		return err
	}
	return y.UnmarshalJSON(pair[1])
}

func (p Point) MarshalJSON() ([]byte, error) { return appendPoint(nil, p), nil }

// CatPoint is one point of a category chart (x_type "category"): ["eu", 10].
type CatPoint struct {
	X string
	Y Num
}

func (p *CatPoint) UnmarshalJSON(b []byte) error {
	return unmarshalPair(b, "[category, y]", func(x []byte) error {
		if err := json.Unmarshal(x, &p.X); err != nil {
			return &shapeError{fmt.Sprintf("point %s: a category is a string", truncate(string(b), 40))}
		}
		return nil
	}, &p.Y)
}

// rawX is an x as sent, before the widget's axis decides what it is: a
// number, or a string that is a time (ISO-8601) in a number chart and a
// category in a category chart.
type rawX struct {
	T      Time
	TimeOK bool // T holds it: a number, or a string that parses as a time
	Text   string
	IsText bool
}

func (x *rawX) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &x.Text); err != nil {
			return err
		}
		x.IsText = true
		x.T, x.TimeOK = parseISOTime(x.Text)
		return nil
	}
	t, ok := parseMSTime(b)
	if !ok {
		return &shapeError{fmt.Sprintf("time %s: want milliseconds, ISO-8601 or (in a category chart) text", truncate(string(b), 40))}
	}
	x.T, x.TimeOK = t, true
	return nil
}

// rawPoint is [x, y] with x as sent.
type rawPoint struct {
	X rawX
	Y Num
}

func (p *rawPoint) UnmarshalJSON(b []byte) error {
	return unmarshalPair(b, "[x, y]", p.X.UnmarshalJSON, &p.Y)
}

func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(b, f, 'e', -1, 64)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

func appendNum(b []byte, n Num) []byte {
	if !n.Valid {
		return append(b, "null"...)
	}
	return appendFloat(b, n.V)
}

func appendPoint(b []byte, p Point) []byte {
	b = append(b, '[')
	b = appendFloat(b, float64(p.X))
	b = append(b, ',')
	b = appendNum(b, p.Y)
	return append(b, ']')
}

func appendPoints(b []byte, pts []Point) []byte {
	b = append(b, '[')
	for i, p := range pts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendPoint(b, p)
	}
	return append(b, ']')
}

func appendCatPoints(b []byte, pts []CatPoint) []byte {
	b = append(b, '[')
	for i, p := range pts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = appendString(b, p.X)
		b = append(b, ',')
		b = appendNum(b, p.Y)
		b = append(b, ']')
	}
	return append(b, ']')
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Key is a table row key: a string, or a number turned into its text.
type Key string

func (k *Key) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		if _, err := strconv.ParseFloat(string(b), 64); err != nil {
			return &shapeError{fmt.Sprintf("key %s: want a string or a number", truncate(string(b), 40))}
		}
		s = string(b)
	}
	if len(s) == 0 || len(s) > maxKeyBytes {
		return &shapeError{fmt.Sprintf("key: want 1 to %d bytes, got %d", maxKeyBytes, len(s))}
	}
	*k = Key(s)
	return nil
}

// TableOp is one upsert or delete.
type TableOp struct {
	Key    Key             `json:"key"`
	Row    json.RawMessage `json:"row,omitempty"`
	Delete bool            `json:"delete,omitempty"`
}

func (op *TableOp) validate() error {
	if op.Key == "" {
		return fmt.Errorf("%w: table op without key", ErrBadShape)
	}
	if op.Delete {
		if len(op.Row) != 0 {
			return fmt.Errorf("%w: table op %q has both row and delete", ErrBadShape, op.Key)
		}
		return nil
	}
	row := bytes.TrimSpace(op.Row)
	if len(row) == 0 || row[0] != '{' {
		return fmt.Errorf("%w: table op %q: row must be an object (or delete: true)", ErrBadShape, op.Key)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, row); err != nil {
		return fmt.Errorf("%w: %v", ErrBadJSON, err)
	}
	op.Row = compact.Bytes()
	return nil
}

// dataFields is every field a data message may carry but points; pointers
// tell presence.
type dataFields struct {
	Value  optNum           `json:"value"`
	TS     *Time            `json:"ts"`
	X      *rawX            `json:"x"`
	Y      optNum           `json:"y"`
	Series *string          `json:"series"`
	Mode   *string          `json:"mode"`
	Remove *[]rawX          `json:"remove"`
	Key    *Key             `json:"key"`
	Row    *json.RawMessage `json:"row"`
	Delete *bool            `json:"delete"`
	Ops    *[]TableOp       `json:"ops"`
	AsOf   *Time            `json:"as_of"`
}

// dataIn is a data message whose points decode as P: pointList (the fast
// path) or []rawPoint (encoding/json per point, the reference).
type dataIn[P any] struct {
	dataFields
	Points *P `json:"points"`
}

// Update is a validated, normalized data message for one widget type.
// Exactly one of Value, Chart and Table is set.
type Update struct {
	Value *ValueUpdate
	Chart *ChartUpdate
	Table *TableUpdate
	// AsOf is the producer's time of the data (docs/protocol.md §1.3 "as_of":
	// a Pathway commit's time), nil when the message carries none. Any source
	// of updates that knows such a time (the SDK's data messages, Pathway's own
	// rows with their "time") sets it; widget.apply keeps the latest.
	AsOf *float64
}

// ValueUpdate feeds stat and gauge widgets.
type ValueUpdate struct {
	Value Num
	TS    float64
	// Arrival is set when the message had no ts and TS is when it arrived:
	// the gateway then stamps the time the log stored it, which is what a
	// replay of the log reads (Gateway.ingest).
	Arrival bool
	// Prev is the value the widget held before this one, set when it is
	// applied: its data event carries it, so a page that was sent only the
	// latest of several values (fan-out keeps a stat's latest per frame)
	// shows the same change as the widget's state.
	Prev    Num
	applied bool
}

// ChartUpdate appends, upserts or removes points of one series.
type ChartUpdate struct {
	Series string
	Points []Point
	Upsert bool
	Remove []Time
	// A category chart's points and removals: set when every x is a string.
	Cats       []CatPoint
	RemoveCats []string
	// numX: some x is a number (a category chart refuses it); xErr: why the
	// x are not all times (a string that is not ISO-8601), which a number
	// chart refuses. Points and Remove are complete only when xErr is nil.
	numX     bool
	xErr     error
	category bool // forAxis chose the category axis: Cats and RemoveCats apply
	// cols: the update came as columns (§1.7); its data event carries them as they came.
	cols *columns
}

// forAxis checks c against its chart's x axis (config x_type), once the
// widget is known: a category chart takes text x only (Cats), a number
// chart numbers and times only (Points).
func (c *ChartUpdate) forAxis(category bool) error {
	if category {
		if c.numX {
			return fmt.Errorf("%w: a category chart's x is text (a category), not a number", ErrBadShape)
		}
		c.Points, c.Remove, c.category = nil, nil, true
		return nil
	}
	c.Cats, c.RemoveCats = nil, nil
	return c.xErr
}

// TableUpdate is a batch of row operations applied atomically.
type TableUpdate struct {
	Ops []TableOp
	// Refused is set by the state (never decoded) when the update changed how
	// many keys the full table refused: the count after it.
	Refused *int
	// cols is the message of a columnar table update (§1.8) as it came: a
	// binary socket's data event carries it in place of the ops (§2.4)
	// while every op applies; applyTable drops it when one is left out.
	// blk holds its rows, and Ops is nil, until applyTable makes the ops it
	// applied of them because a limit left some out.
	cols []byte
	blk  *colBlock
}

// appendOps writes the update's "ops":[...]: its ops, or its block's rows.
func (t *TableUpdate) appendOps(b []byte) []byte {
	if t.blk == nil || t.Ops != nil {
		return appendTableOps(b, t.Ops)
	}
	b = append(b, `"ops":[`...)
	for i := 0; i < t.blk.n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"key":`...)
		if t.blk.keys.ints != nil {
			b = append(b, '"')
			b = t.blk.appendKey(b, i)
			b = append(b, '"')
		} else {
			b = appendString(b, string(t.blk.keys.texts.cell(i)))
		}
		b = append(b, `,"row":`...)
		b = t.blk.appendRow(b, i)
		b = append(b, '}')
	}
	return append(b, ']')
}

// count is how many ops the update holds.
func (t *TableUpdate) count() int {
	if t.blk != nil && t.Ops == nil {
		return t.blk.n
	}
	return len(t.Ops)
}

// impliedType is the widget type a data message's shape asks for.
func (u *Update) impliedType() string {
	switch {
	case u.Value != nil:
		return TypeStat
	case u.Chart != nil:
		return TypeChart
	default:
		return TypeTable
	}
}

func (u *Update) fits(typ string) bool {
	switch typ {
	case TypeStat, TypeGauge:
		return u.Value != nil
	case TypeChart:
		return u.Chart != nil
	case TypeTable:
		return u.Table != nil
	}
	return false
}

// DecodeUpdate validates a sv.<widget>.data payload. now (ms) stamps values without ts.
//
// Points go through pointList's hand-written parser; whenever it meets
// anything but plain well-formed points it gives up and the whole message is
// decoded again with encoding/json calling Point.UnmarshalJSON per point, so
// what is accepted and every error are exactly the reference path's.
func DecodeUpdate(b []byte, now float64) (*Update, error) {
	if isColumns(b) {
		return decodeColumns(b)
	}
	if isTableColumns(b) {
		return decodeTableColumns(b)
	}
	var in dataIn[pointList]
	err := decodeObject(b, &in)
	if errors.Is(err, errPointsSlowPath) {
		return decodeUpdateReference(b, now)
	}
	if err != nil {
		return nil, err
	}
	return validateUpdate(&in.dataFields, (*[]Point)(in.Points), nil, now)
}

// decodeUpdateReference is DecodeUpdate decoding points with encoding/json
// and Point.UnmarshalJSON: the behaviour pointList must match.
func decodeUpdateReference(b []byte, now float64) (*Update, error) {
	var in dataIn[[]rawPoint]
	if err := decodeObject(b, &in); err != nil {
		return nil, err
	}
	return validateUpdate(&in.dataFields, nil, in.Points, now)
}

// validateUpdate takes the points parsed by the fast path (numbers only) or
// as sent (raw).
func validateUpdate(in *dataFields, points *[]Point, raw *[]rawPoint, now float64) (*Update, error) {
	u, err := validateShape(in, points, raw, now)
	if err != nil {
		return nil, err
	}
	if in.AsOf != nil {
		t := float64(*in.AsOf)
		u.AsOf = &t
	}
	return u, nil
}

func validateShape(in *dataFields, points *[]Point, raw *[]rawPoint, now float64) (*Update, error) {
	isValue := in.Value.Set
	isChart := in.X != nil || in.Y.Set || points != nil || raw != nil || in.Remove != nil
	isTable := in.Key != nil || in.Ops != nil || in.Row != nil || in.Delete != nil
	shapes := 0
	for _, s := range []bool{isValue, isChart, isTable} {
		if s {
			shapes++
		}
	}
	if shapes != 1 {
		return nil, fmt.Errorf("%w: want one of value (stat/gauge), x/y or points (chart), key or ops (table)", ErrBadShape)
	}
	switch {
	case isValue:
		ts := now
		if in.TS != nil {
			ts = float64(*in.TS)
		}
		return &Update{Value: &ValueUpdate{Value: in.Value.Num, TS: ts, Arrival: in.TS == nil}}, nil
	case isChart:
		return decodeChart(in, points, raw)
	default:
		return decodeTable(in)
	}
}

func decodeChart(in *dataFields, fast *[]Point, points *[]rawPoint) (*Update, error) {
	c := &ChartUpdate{}
	if in.Series != nil {
		if len(*in.Series) > maxTextLen {
			return nil, fmt.Errorf("%w: series name longer than %d", ErrBadShape, maxTextLen)
		}
		c.Series = *in.Series
	}
	if in.Mode != nil {
		switch *in.Mode {
		case "append":
		case "upsert":
			c.Upsert = true
		default:
			return nil, fmt.Errorf("%w: mode %q: want append or upsert", ErrBadShape, truncate(*in.Mode, 20))
		}
	}
	if (in.X == nil) == in.Y.Set {
		return nil, fmt.Errorf("%w: a point needs both x and y", ErrBadShape)
	}
	if in.X != nil && (points != nil || fast != nil) {
		return nil, fmt.Errorf("%w: give x/y or points, not both", ErrBadShape)
	}
	if fast != nil {
		c.Points, c.numX = *fast, len(*fast) > 0
	} else if err := c.fromRaw(in, points); err != nil {
		return nil, err
	}
	if in.Remove != nil {
		rm := *in.Remove
		texts := 0
		c.Remove = make([]Time, 0, len(rm))
		for _, x := range rm {
			c.note(x, &texts)
			c.Remove = append(c.Remove, x.T)
		}
		if texts > 0 && texts == len(rm) {
			c.RemoveCats = make([]string, len(rm))
			for i, x := range rm {
				c.RemoveCats[i] = x.Text
			}
		}
	}
	return &Update{Chart: c}, nil
}

// fromRaw sets the points from x/y or points as sent.
func (c *ChartUpdate) fromRaw(in *dataFields, points *[]rawPoint) error {
	var pts []rawPoint
	if in.X != nil {
		pts = []rawPoint{{X: *in.X, Y: in.Y.Num}}
	} else if points != nil {
		pts = *points
	}
	texts := 0 // x given as strings
	c.Points = make([]Point, 0, len(pts))
	for _, p := range pts {
		c.note(p.X, &texts)
		c.Points = append(c.Points, Point{X: p.X.T, Y: p.Y})
	}
	if texts > 0 && texts == len(pts) {
		c.Cats = make([]CatPoint, len(pts))
		for i, p := range pts {
			if len(p.X.Text) == 0 || len(p.X.Text) > maxTextLen {
				return fmt.Errorf("%w: a category is 1 to %d bytes", ErrBadShape, maxTextLen)
			}
			c.Cats[i] = CatPoint{X: p.X.Text, Y: p.Y}
		}
	}
	if points == nil && in.X == nil {
		c.Points = nil
	}
	return nil
}

// note records what an x says about the chart's axis.
func (c *ChartUpdate) note(x rawX, texts *int) {
	if x.IsText {
		*texts++
	} else {
		c.numX = true
	}
	if !x.TimeOK && c.xErr == nil {
		c.xErr = &shapeError{fmt.Sprintf("time %q: want milliseconds or ISO-8601", truncate(x.Text, 40))}
		c.xErr = fmt.Errorf("%w: %v", ErrBadShape, c.xErr)
	}
}

func decodeTable(in *dataFields) (*Update, error) {
	if in.Ops != nil {
		if in.Key != nil || in.Row != nil || in.Delete != nil {
			return nil, fmt.Errorf("%w: give key/row/delete or ops, not both", ErrBadShape)
		}
		ops := *in.Ops
		for i := range ops {
			if err := ops[i].validate(); err != nil {
				return nil, fmt.Errorf("ops[%d]: %w", i, err)
			}
		}
		return &Update{Table: &TableUpdate{Ops: ops}}, nil
	}
	if in.Key == nil {
		return nil, fmt.Errorf("%w: table op without key", ErrBadShape)
	}
	op := TableOp{Key: *in.Key}
	if in.Row != nil {
		op.Row = *in.Row
	}
	if in.Delete != nil {
		op.Delete = *in.Delete
	}
	if err := op.validate(); err != nil {
		return nil, err
	}
	return &Update{Table: &TableUpdate{Ops: []TableOp{op}}}, nil
}

// encode writes the normalized data object of docs/protocol.md §2.2.
func (u *Update) encode(b []byte) []byte {
	b, _, _ = u.encodeAt(b, false)
	return b
}

// encodeAt is encode; with hole, a columnar update's "cols" is left out and
// at is where it goes (the event keeps the columns as bytes and writes them
// per frame: base64 for a text socket, raw for a binary one). at is -1 when
// there is no "cols". For a columnar table update (§1.8) its "ops" are left
// out too, at is where they go and end is at; end is -1 for every other
// update.
func (u *Update) encodeAt(b []byte, hole bool) (_ []byte, at, end int) {
	b, at, end = u.encodeShape(b, hole)
	if u.AsOf == nil {
		return b, at, end
	}
	// Every shape ends in '}': the as-of goes in before it.
	b = append(b[:len(b)-1], `,"as_of":`...)
	b = appendFloat(b, *u.AsOf)
	return append(b, '}'), at, end
}

func (u *Update) encodeShape(b []byte, hole bool) (_ []byte, at, end int) {
	at, end = -1, -1
	switch {
	case u.Value != nil:
		b = append(b, `{"value":`...)
		b = appendNum(b, u.Value.Value)
		b = append(b, `,"ts":`...)
		b = appendFloat(b, u.Value.TS)
		if u.Value.applied {
			b = append(b, `,"prev":`...)
			b = appendNum(b, u.Value.Prev)
		}
		return append(b, '}'), at, end
	case u.Chart != nil:
		c := u.Chart
		b = append(b, `{"series":`...)
		b = appendString(b, c.Series)
		switch {
		case c.cols != nil && !c.category:
			b = append(b, ',')
			if hole {
				at = len(b)
			} else {
				b = c.cols.appendBase64(b)
			}
		case c.category:
			b = append(b, `,"points":`...)
			b = appendCatPoints(b, c.Cats)
		default:
			b = append(b, `,"points":`...)
			b = appendPoints(b, c.Points)
		}
		if c.Upsert {
			b = append(b, `,"mode":"upsert"`...)
		} else {
			b = append(b, `,"mode":"append"`...)
		}
		if c.category && len(c.RemoveCats) > 0 {
			b = append(b, `,"remove":[`...)
			for i, x := range c.RemoveCats {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, x)
			}
			b = append(b, ']')
		} else if len(c.Remove) > 0 {
			b = append(b, `,"remove":[`...)
			for i, x := range c.Remove {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendFloat(b, float64(x))
			}
			b = append(b, ']')
		}
		return append(b, '}'), at, end
	default:
		b = append(b, '{')
		if hole && u.Table.cols != nil {
			// The ops go in per frame (eventCols): as JSON for a text
			// socket, printed when one first needs them, and as the
			// message itself for a binary one.
			at, end = len(b), len(b)
		} else {
			b = u.Table.appendOps(b)
		}
		if u.Table.Refused != nil {
			b = append(b, `,"refused":`...)
			b = strconv.AppendInt(b, int64(*u.Table.Refused), 10)
		}
		return append(b, '}'), at, end
	}
}

// appendTableOps writes a table update's "ops":[...] (docs/protocol.md §2.2).
func appendTableOps(b []byte, ops []TableOp) []byte {
	b = append(b, `"ops":[`...)
	for i, op := range ops {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"key":`...)
		b = appendString(b, string(op.Key))
		if op.Delete {
			b = append(b, `,"delete":true}`...)
		} else {
			b = append(b, `,"row":`...)
			b = append(b, op.Row...)
			b = append(b, '}')
		}
	}
	return append(b, ']')
}

func appendString(b []byte, s string) []byte {
	// Most strings (ids, keys, column names) need no escaping: copied as
	// they are, they are what json.Marshal would write.
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	if plain {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	enc, _ := json.Marshal(s) // strings always marshal
	return append(b, enc...)
}
