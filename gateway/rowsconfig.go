package gateway

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// RowsConfig is how a widget reads the rows published on sv.<widget>.rows
// (docs/protocol.md §1.6). Every field is absent by default; a widget fed by
// data messages needs none of them.
type RowsConfig struct {
	// Key names a table's key columns (default: none, rows are keyed by
	// their whole content).
	Key []string `json:"key,omitempty"`
	// X, Y and Series name a chart's columns: x (default: none, each
	// inserted row is a point at its Pathway time), y (a column, or a list
	// of columns, one series each; required to plot rows) and the column
	// whose values name the series (default: none).
	X      string   `json:"x,omitempty"`
	Y      *colList `json:"y,omitempty"`
	Series string   `json:"series,omitempty"`
	// Column is a stat's or gauge's value column (required to show rows).
	Column string `json:"column,omitempty"`
}

// colList is a column name or a list of them, kept as given.
type colList struct {
	cols []string
	list bool
}

func (c *colList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		c.cols, c.list = []string{one}, false
		return nil
	}
	if err := json.Unmarshal(b, &c.cols); err != nil {
		return &shapeError{"want a column name or a list of them"}
	}
	c.list = true
	return nil
}

func (c colList) MarshalJSON() ([]byte, error) {
	if c.list {
		return json.Marshal(c.cols)
	}
	return json.Marshal(c.cols[0])
}

// Bounds of the rows fields: key columns, y columns (series).
const (
	maxKeyColumns = 16
	maxYColumns   = 100
)

// decodeRowsConfig reads the rows fields of a config of type typ; nil when
// it has none.
func decodeRowsConfig(typ string, b []byte) (*RowsConfig, error) {
	var in struct {
		Key    *colList `json:"key"`
		X      *string  `json:"x"`
		Y      *colList `json:"y"`
		Series *string  `json:"series"`
		Column *string  `json:"column"`
	}
	if err := decodeObject(b, &in); err != nil {
		return nil, err
	}
	if in.Key == nil && in.X == nil && in.Y == nil && in.Series == nil && in.Column == nil {
		return nil, nil
	}
	only := func(field, want, what string, set bool) error {
		if set && typ != want && !(want == TypeStat && typ == TypeGauge) {
			return fmt.Errorf("%w: %q is %s; a %s has no use for it", ErrBadShape, field, what, typ)
		}
		return nil
	}
	for _, e := range []error{
		only("key", TypeTable, "a table's key columns", in.Key != nil),
		only("x", TypeChart, "a chart's x column", in.X != nil),
		only("y", TypeChart, "a chart's y column(s)", in.Y != nil),
		only("series", TypeChart, "the column naming a chart's series", in.Series != nil),
		only("column", TypeStat, "a stat's or gauge's value column", in.Column != nil),
	} {
		if e != nil {
			return nil, e
		}
	}
	rc := &RowsConfig{}
	if in.Key != nil {
		if len(in.Key.cols) < 1 || len(in.Key.cols) > maxKeyColumns {
			return nil, fmt.Errorf("%w: key: want 1 to %d column names, got %d", ErrBadShape, maxKeyColumns, len(in.Key.cols))
		}
		rc.Key = in.Key.cols
	}
	if in.Y != nil {
		if len(in.Y.cols) < 1 || len(in.Y.cols) > maxYColumns {
			return nil, fmt.Errorf("%w: y: want a column name or 1 to %d of them, got %d", ErrBadShape, maxYColumns, len(in.Y.cols))
		}
		rc.Y = in.Y
	}
	for field, names := range map[string][]string{"key": rc.Key, "y": colsOf(rc.Y)} {
		for _, n := range names {
			if err := checkColumnName(field, n); err != nil {
				return nil, err
			}
		}
	}
	for field, p := range map[string]*string{"x": in.X, "series": in.Series, "column": in.Column} {
		if p != nil {
			if err := checkColumnName(field, *p); err != nil {
				return nil, err
			}
		}
	}
	if in.X != nil {
		rc.X = *in.X
	}
	if in.Series != nil {
		rc.Series = *in.Series
	}
	if in.Column != nil {
		rc.Column = *in.Column
	}
	if rc.Series != "" && rc.Y != nil && rc.Y.list {
		return nil, fmt.Errorf("%w: series with a list of y columns: series names series by a column's values, a list of y columns by the columns; give one", ErrBadShape)
	}
	if typ == TypeChart && rc.Y == nil {
		return nil, fmt.Errorf("%w: a chart that reads rows (x or series given) needs \"y\": the column (or columns) to plot", ErrBadShape)
	}
	return rc, nil
}

func colsOf(c *colList) []string {
	if c == nil {
		return nil
	}
	return c.cols
}

func checkColumnName(field, name string) error {
	if len(name) == 0 || len(name) > maxTextLen {
		return fmt.Errorf("%w: %s: a column name is 1 to %d bytes, got %s", ErrBadShape, field, maxTextLen, strconv.Quote(truncate(name, 40)))
	}
	return nil
}

// sameRowsView reports whether two configs read rows the same way, so a
// new config that changes only how the widget looks keeps the fold's view.
func sameRowsView(a, b *WidgetConfig) bool {
	if a.Type != b.Type || a.category() != b.category() {
		return false
	}
	ra, rb := a.RowsConfig, b.RowsConfig
	if ra == nil || rb == nil {
		return ra == rb
	}
	if ra.X != rb.X || ra.Series != rb.Series || ra.Column != rb.Column || !slices.Equal(ra.Key, rb.Key) ||
		!slices.Equal(colsOf(ra.Y), colsOf(rb.Y)) || (ra.Y != nil && ra.Y.list != rb.Y.list) {
		return false
	}
	var ca, cb []string
	if a.Columns != nil {
		ca = *a.Columns
	}
	if b.Columns != nil {
		cb = *b.Columns
	}
	return (a.Columns == nil) == (b.Columns == nil) && slices.Equal(ca, cb)
}

// appendFields adds the rows fields that are set to a normalized config.
func (rc *RowsConfig) appendFields(fs []configField) []configField {
	if rc == nil {
		return fs
	}
	fs = appendIf(fs, rc.Key != nil, "key", rc.Key)
	fs = appendIf(fs, rc.X != "", "x", rc.X)
	fs = appendIf(fs, rc.Y != nil, "y", rc.Y)
	fs = appendIf(fs, rc.Series != "", "series", rc.Series)
	return appendIf(fs, rc.Column != "", "column", rc.Column)
}
