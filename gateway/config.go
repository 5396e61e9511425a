package gateway

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

const maxChartPoints = 100000

// A chart's x axis (x_type): numbers and times, or text categories.
const (
	XNumber   = "number"
	XCategory = "category"
)

// WidgetConfig is a normalized widget definition (docs/protocol.md §1.2): every
// field of its type present with its default, plus the id. Fields of other
// types stay nil and are left out of the JSON.
type WidgetConfig struct {
	ID        string  `json:"id"`
	Type      string  `json:"type"`
	Title     string  `json:"title"`
	Dashboard string  `json:"dashboard"`
	Order     float64 `json:"order"`
	// Width and Height are sizing hints (docs/protocol.md §1.2), present only when given:
	// width 1 to 4 grid columns or "full"; height "small", "medium", "large" or pixels.
	Width  json.RawMessage `json:"width,omitempty"`
	Height json.RawMessage `json:"height,omitempty"`
	// StaleAfter is how many seconds without new data (a newer as_of) make
	// the card show itself stale (docs/protocol.md §1.2); absent: never.
	StaleAfter *float64 `json:"stale_after,omitempty"`

	Unit       *string      `json:"unit,omitempty"`
	Format     *string      `json:"format"`
	Color      *string      `json:"color"`
	Delta      *bool        `json:"delta,omitempty"`
	Min        *float64     `json:"min,omitempty"`
	Max        *float64     `json:"max,omitempty"`
	Thresholds *[]Threshold `json:"thresholds,omitempty"`
	ChartType  *string      `json:"chart_type,omitempty"`
	MaxPoints  *int         `json:"max_points,omitempty"`
	XType      *string      `json:"x_type,omitempty"`
	// A chart's y axis, present only when given: fixed ends (either may be left to the data)
	// and "linear" or "log".
	YMin      *float64           `json:"y_min,omitempty"`
	YMax      *float64           `json:"y_max,omitempty"`
	YScale    *string            `json:"y_scale,omitempty"`
	Label     *string            `json:"label"`
	Columns   *[]string          `json:"columns,omitempty"`
	Labels    *map[string]string `json:"column_labels,omitempty"`
	ColFormat *map[string]string `json:"column_format,omitempty"`
	MaxRows   *int               `json:"max_rows,omitempty"`
	SortBy    *string            `json:"sort_by,omitempty"`
	SortDesc  *bool              `json:"sort_desc,omitempty"`

	// Producer names who published the config (docs/protocol.md §1.5); it
	// is not part of the normalized config the browser sees.
	Producer string `json:"-"`

	*RowsConfig // how rows on sv.<widget>.rows are read (rowsconfig.go); nil: not said
}

// Threshold is [value, color] on the wire.
type Threshold struct {
	Value float64
	Color string
}

func (t *Threshold) UnmarshalJSON(b []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil || len(pair) != 2 {
		return &shapeError{fmt.Sprintf("threshold %s: want [value, color]", truncate(string(b), 40))}
	}
	if err := json.Unmarshal(pair[0], &t.Value); err != nil {
		return &shapeError{"threshold value: want a number"}
	}
	if err := json.Unmarshal(pair[1], &t.Color); err != nil {
		return &shapeError{"threshold color: want a string"}
	}
	return nil
}

func (t Threshold) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{t.Value, t.Color})
}

// configIn mirrors the accepted input; nil means absent. sort_by and
// columns may be explicit nulls, which decode to nil as well.
type configIn struct {
	Type       *string            `json:"type"`
	Title      *string            `json:"title"`
	Dashboard  *string            `json:"dashboard"`
	Order      *float64           `json:"order"`
	Width      json.RawMessage    `json:"width"`
	Height     json.RawMessage    `json:"height"`
	StaleAfter *float64           `json:"stale_after"`
	Unit       *string            `json:"unit"`
	Format     *string            `json:"format"`
	Color      *string            `json:"color"`
	Delta      *bool              `json:"delta"`
	Min        *float64           `json:"min"`
	Max        *float64           `json:"max"`
	Thresholds *[]Threshold       `json:"thresholds"`
	ChartType  *string            `json:"chart_type"`
	MaxPoints  *int               `json:"max_points"`
	XType      *string            `json:"x_type"`
	YMin       *float64           `json:"y_min"`
	YMax       *float64           `json:"y_max"`
	YScale     *string            `json:"y_scale"`
	Label      *string            `json:"label"`
	Columns    *[]string          `json:"columns"`
	Labels     *map[string]string `json:"column_labels"`
	ColFormat  *map[string]string `json:"column_format"`
	MaxRows    *int               `json:"max_rows"`
	SortBy     *string            `json:"sort_by"`
	SortDesc   *bool              `json:"sort_desc"`
	Producer   *string            `json:"producer"`
}

func ptr[T any](v T) *T { return &v }

// maxStaleAfter bounds stale_after: a year, in seconds.
const maxStaleAfter = 365 * 24 * 3600

// DecodeConfig validates a sv.<widget>.config payload and fills defaults.
// history is the default max_points of a chart. The fields every widget has
// are read here, the rest by the decoder of the widget's type, so a field of
// another type is ignored.
func DecodeConfig(id string, b []byte, history int) (*WidgetConfig, error) {
	var in configIn
	if err := decodeObject(b, &in); err != nil {
		return nil, err
	}
	if in.Type == nil {
		return nil, fmt.Errorf("%w: config without type (table, stat, chart or gauge)", ErrBadShape)
	}
	c := DefaultConfig(id, *in.Type, history)
	if c == nil {
		return nil, fmt.Errorf("%w: unknown widget type %q: want table, stat, chart or gauge", ErrBadShape, truncate(*in.Type, 20))
	}
	if err := in.common(c); err != nil {
		return nil, err
	}
	var err error
	switch c.Type {
	case TypeStat:
		err = in.stat(c)
	case TypeGauge:
		err = in.gauge(c)
	case TypeChart:
		err = in.chart(c)
	case TypeTable:
		err = in.table(c)
	}
	if err != nil {
		return nil, err
	}
	if c.RowsConfig, err = decodeRowsConfig(c.Type, b); err != nil {
		return nil, err
	}
	return c, nil
}

// common checks what any config may carry (text lengths and format specs are
// checked whatever the type, so a bad field is named even where it is
// ignored) and sets the fields every widget has.
func (in *configIn) common(c *WidgetConfig) error {
	for _, f := range []struct {
		name string
		s    *string
	}{{"title", in.Title}, {"dashboard", in.Dashboard}, {"unit", in.Unit}, {"format", in.Format}, {"color", in.Color},
		{"chart_type", in.ChartType}, {"sort_by", in.SortBy}, {"label", in.Label}, {"producer", in.Producer}} {
		if f.s != nil && len(*f.s) > maxTextLen {
			return fmt.Errorf("%w: %s longer than %d bytes", ErrBadShape, f.name, maxTextLen)
		}
	}
	if in.Format != nil {
		if err := checkFormatSpec("format", *in.Format); err != nil {
			return err
		}
	}
	if in.ColFormat != nil {
		for col, spec := range *in.ColFormat {
			if len(col) > maxTextLen {
				return fmt.Errorf("%w: column_format key longer than %d bytes", ErrBadShape, maxTextLen)
			}
			if err := checkFormatSpec("column_format["+strconv.Quote(truncate(col, 40))+"]", spec); err != nil {
				return err
			}
		}
	}
	if in.Title != nil {
		c.Title = *in.Title
	}
	if in.Producer != nil {
		c.Producer = *in.Producer
	}
	if in.Dashboard != nil {
		c.Dashboard = *in.Dashboard
	}
	if in.Order != nil {
		c.Order = *in.Order
	}
	if in.StaleAfter != nil {
		if v := *in.StaleAfter; !(v > 0 && v <= maxStaleAfter) {
			return fmt.Errorf("%w: stale_after %g: want seconds above 0, at most %d", ErrBadShape, v, maxStaleAfter)
		}
		c.StaleAfter = in.StaleAfter
	}
	var err error
	if c.Width, err = sizeHint("width", in.Width); err != nil {
		return err
	}
	c.Height, err = sizeHint("height", in.Height)
	return err
}

// number sets the fields stat, gauge and chart share: unit, format, color.
func (in *configIn) number(c *WidgetConfig) {
	if in.Unit != nil {
		c.Unit = in.Unit
	}
	if in.Format != nil {
		c.Format = in.Format
	}
	if in.Color != nil {
		c.Color = in.Color
	}
}

func (in *configIn) stat(c *WidgetConfig) error {
	in.number(c)
	if in.Delta != nil {
		c.Delta = in.Delta
	}
	return nil
}

func (in *configIn) gauge(c *WidgetConfig) error {
	in.number(c)
	if in.Min != nil {
		c.Min = in.Min
	}
	if in.Max != nil {
		c.Max = in.Max
	}
	if !(*c.Min < *c.Max) {
		return fmt.Errorf("%w: gauge min %g must be below max %g", ErrBadShape, *c.Min, *c.Max)
	}
	if in.Thresholds != nil {
		c.Thresholds = in.Thresholds
	}
	return nil
}

func (in *configIn) chart(c *WidgetConfig) error {
	in.number(c)
	if in.ChartType != nil {
		c.ChartType = in.ChartType
	}
	switch *c.ChartType {
	case "line", "area", "bar", "scatter", "stacked_bar", "stacked_area":
	default:
		return fmt.Errorf("%w: chart_type %q: want line, area, bar, scatter, stacked_bar or stacked_area", ErrBadShape, *c.ChartType)
	}
	if in.XType != nil {
		if *in.XType != XNumber && *in.XType != XCategory {
			return fmt.Errorf("%w: x_type %q: want number or category", ErrBadShape, truncate(*in.XType, 20))
		}
		c.XType = in.XType
	}
	c.Label = in.Label
	if in.Thresholds != nil && len(*in.Thresholds) > 0 {
		c.Thresholds = in.Thresholds // lines across the plot; absent when none
	}
	c.YMin, c.YMax = in.YMin, in.YMax
	if c.YMin != nil && c.YMax != nil && !(*c.YMin < *c.YMax) {
		return fmt.Errorf("%w: y_min %g must be below y_max %g", ErrBadShape, *c.YMin, *c.YMax)
	}
	if in.YScale != nil {
		if *in.YScale != "linear" && *in.YScale != "log" {
			return fmt.Errorf("%w: y_scale %q: want linear or log", ErrBadShape, truncate(*in.YScale, 20))
		}
		if *in.YScale == "log" && (c.YMin != nil && *c.YMin <= 0 || c.YMax != nil && *c.YMax <= 0) {
			return fmt.Errorf("%w: y_scale log needs y_min and y_max above 0", ErrBadShape)
		}
		c.YScale = in.YScale
	}
	if in.MaxPoints != nil {
		if *in.MaxPoints < 1 || *in.MaxPoints > maxChartPoints {
			return fmt.Errorf("%w: max_points %d: want 1 to %d", ErrBadShape, *in.MaxPoints, maxChartPoints)
		}
		c.MaxPoints = in.MaxPoints
	}
	return nil
}

func (in *configIn) table(c *WidgetConfig) error {
	if in.Columns != nil {
		c.Columns = in.Columns
	}
	if in.Labels != nil {
		c.Labels = in.Labels
	}
	if in.ColFormat != nil {
		c.ColFormat = in.ColFormat
	}
	c.SortBy = in.SortBy
	if in.SortDesc != nil {
		c.SortDesc = in.SortDesc
	}
	if in.MaxRows != nil {
		if *in.MaxRows < 1 || *in.MaxRows > 100000 {
			return fmt.Errorf("%w: max_rows %d: want 1 to 100000", ErrBadShape, *in.MaxRows)
		}
		c.MaxRows = in.MaxRows
	}
	return nil
}

// Bounds of a height in pixels: a card can show a title and a line of data, and no more than
// a tall screen.
const (
	minHeightPx = 60
	maxHeightPx = 2000
)

// sizeHint checks a width or height hint and returns it normalized (nil: absent or null).
func sizeHint(name string, raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if name == "width" && s == "full" || name == "height" && (s == "small" || s == "medium" || s == "large") {
			return json.Marshal(s)
		}
	} else {
		var n float64
		if json.Unmarshal(raw, &n) == nil && n == float64(int(n)) {
			if name == "width" && n >= 1 && n <= 4 || name == "height" && n >= minHeightPx && n <= maxHeightPx {
				return json.Marshal(int(n))
			}
		}
	}
	if name == "width" {
		return nil, fmt.Errorf("%w: width %s: want 1 to 4 (grid columns) or \"full\"", ErrBadShape, truncate(string(raw), 40))
	}
	return nil, fmt.Errorf("%w: height %s: want \"small\", \"medium\", \"large\" or whole pixels from %d to %d", ErrBadShape, truncate(string(raw), 40), minHeightPx, maxHeightPx)
}

// category reports whether c is a category chart (x_type "category").
func (c *WidgetConfig) category() bool {
	return c.Type == TypeChart && c.XType != nil && *c.XType == XCategory
}

// DefaultConfig is the config of a widget of type typ that nobody described;
// nil for an unknown type.
func DefaultConfig(id, typ string, history int) *WidgetConfig {
	c := &WidgetConfig{ID: id, Type: typ, Title: id}
	switch typ {
	case TypeStat:
		c.Unit, c.Delta = ptr(""), ptr(true)
	case TypeGauge:
		c.Unit, c.Min, c.Max, c.Thresholds = ptr(""), ptr(0.0), ptr(100.0), &[]Threshold{}
	case TypeChart:
		c.Unit, c.ChartType, c.MaxPoints, c.XType = ptr(""), ptr("line"), ptr(history), ptr(XNumber)
	case TypeTable:
		c.Labels, c.ColFormat, c.MaxRows, c.SortDesc = &map[string]string{}, &map[string]string{}, ptr(100), ptr(true)
		// columns and sort_by are null by default but always present in the JSON.
		c.Columns, c.SortBy = nil, nil
	default:
		return nil
	}
	return c
}

// MarshalJSON writes the normalized config: the fields every widget has and
// those of its type (nullable ones, like format, color, columns, sort_by and
// label, as null when unset; optional ones only when set), keys in name order.
func (c *WidgetConfig) MarshalJSON() ([]byte, error) {
	fs := []configField{{"id", c.ID}, {"type", c.Type}, {"title", c.Title}, {"dashboard", c.Dashboard}, {"order", c.Order}}
	fs = appendIf(fs, len(c.Width) > 0, "width", c.Width)
	fs = appendIf(fs, len(c.Height) > 0, "height", c.Height)
	fs = appendIf(fs, c.StaleAfter != nil, "stale_after", c.StaleAfter)
	switch c.Type {
	case TypeStat:
		fs = append(fs, configField{"unit", c.Unit}, configField{"format", c.Format}, configField{"color", c.Color}, configField{"delta", c.Delta})
	case TypeGauge:
		fs = append(fs, configField{"unit", c.Unit}, configField{"format", c.Format}, configField{"color", c.Color},
			configField{"min", c.Min}, configField{"max", c.Max}, configField{"thresholds", c.Thresholds})
	case TypeChart:
		fs = append(fs, configField{"unit", c.Unit}, configField{"format", c.Format}, configField{"color", c.Color},
			configField{"chart_type", c.ChartType}, configField{"max_points", c.MaxPoints}, configField{"x_type", c.XType}, configField{"label", c.Label})
		fs = appendIf(fs, c.YMin != nil, "y_min", c.YMin)
		fs = appendIf(fs, c.YMax != nil, "y_max", c.YMax)
		fs = appendIf(fs, c.YScale != nil, "y_scale", c.YScale)
		fs = appendIf(fs, c.Thresholds != nil, "thresholds", c.Thresholds)
	case TypeTable:
		fs = append(fs, configField{"columns", c.Columns}, configField{"column_labels", c.Labels}, configField{"column_format", c.ColFormat},
			configField{"max_rows", c.MaxRows}, configField{"sort_by", c.SortBy}, configField{"sort_desc", c.SortDesc})
	}
	fs = c.RowsConfig.appendFields(fs)
	slices.SortFunc(fs, func(a, b configField) int { return strings.Compare(a.key, b.key) })
	b := []byte{'{'}
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.key)
		b = append(b, ':')
		v, err := json.Marshal(f.val)
		if err != nil {
			return nil, err
		}
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// configField is one key of a normalized config.
type configField struct {
	key string
	val any
}

// appendIf adds an optional field when it is set.
func appendIf(fs []configField, set bool, key string, v any) []configField {
	if !set {
		return fs
	}
	return append(fs, configField{key, v})
}
