package gateway

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/streamviz/streamviz/protocol"
)

// decoded is an update that passed every check needing no widget state.
type decoded struct {
	id string
	// sv.$dashboard.config: the title and theme it sets (either may be
	// absent), and who published it ("" when not said).
	dash     bool
	title    *string
	themeSet bool
	theme    []byte
	producer string
	cfg      *WidgetConfig // sv.<widget>.config
	upd      *Update       // sv.<widget>.data
	rows     *rowChange    // sv.<widget>.rows (rows.go)
	// remove: sv.<widget>.config {"remove": true}, the widget goes (§1.2).
	remove bool
}

// maxAsOfAhead is how far ahead of the server's clock an as_of may be when
// the update arrives (docs/protocol.md §1.3). It allows any producer clock that
// is merely off, a time zone mistaken for UTC included, while one far ahead
// (year 9999, 1e300) would freeze the widget's as_of for good.
const maxAsOfAhead = 24 * time.Hour

// decodeMessage checks and decodes one message on sv.>: its subject, JSON
// and shape. The ingest path runs it before storing (a publisher is told at
// once what is wrong), the state again when applying what the log holds.
func decodeMessage(subject string, data []byte, ms float64, history int) (decoded, error) {
	id, kind, err := parseSubject(subject)
	if err != nil {
		return decoded{}, err
	}
	d := decoded{id: id}
	switch {
	case id == dashboardID:
		var t struct {
			Title    *string         `json:"title"`
			Theme    json.RawMessage `json:"theme"`
			Producer *string         `json:"producer"`
		}
		if err = decodeObject(data, &t); err == nil && (t.Title == nil && t.Theme == nil || t.Title != nil && len(*t.Title) > maxTextLen) {
			err = fmt.Errorf("%w: dashboard config needs a title of at most %d bytes or a theme", ErrBadShape, maxTextLen)
		}
		if err == nil && t.Producer != nil && len(*t.Producer) > maxTextLen {
			err = fmt.Errorf("%w: producer longer than %d bytes", ErrBadShape, maxTextLen)
		}
		if err == nil && t.Theme != nil {
			d.theme, err = decodeTheme(t.Theme)
		}
		d.dash, d.title, d.themeSet = true, t.Title, t.Theme != nil
		if t.Producer != nil {
			d.producer = *t.Producer
		}
	case kind == protocol.KindConfig:
		if d.remove, d.producer, err = decodeRemoval(data); err == nil && !d.remove {
			d.cfg, err = DecodeConfig(id, data, history)
		}
	case kind == protocol.KindRows:
		d.rows, err = decodeRows(data)
	default:
		d.upd, err = DecodeUpdate(data, ms)
	}
	if err != nil {
		return decoded{}, fmt.Errorf("%s: %w", subject, err)
	}
	return d, nil
}

// checkAsOf refuses an update whose as_of is more than maxAsOfAhead past
// now (ms): the widget keeps its greatest as_of, so one far ahead would
// make every later update of it look old.
func checkAsOf(d decoded, subject string, now float64) error {
	if d.upd == nil || d.upd.AsOf == nil || *d.upd.AsOf <= now+float64(maxAsOfAhead.Milliseconds()) {
		return nil
	}
	limit := now + float64(maxAsOfAhead.Milliseconds())
	return fmt.Errorf("%s: %w: as_of %s is more than %g hours ahead of the server's clock (at most %s, %s): "+
		"a widget keeps its greatest as_of, so such a time would make every later update of it look old; "+
		"send Unix milliseconds of the data's time, or a logical time such as a Pathway static run's",
		subject, ErrBadShape, strconv.FormatFloat(*d.upd.AsOf, 'g', -1, 64), maxAsOfAhead.Hours(),
		strconv.FormatFloat(limit, 'f', 0, 64), time.UnixMilli(int64(limit)).UTC().Format(time.RFC3339))
}

// decodeRemoval reports whether a config body is a removal: {"remove": true}
// with no type (and at most a producer). A config without a type was always
// refused, so no body accepted before means a removal now; one with a type
// is a config, its "remove" ignored like any unknown field.
func decodeRemoval(data []byte) (remove bool, producer string, err error) {
	var r struct {
		Type     json.RawMessage `json:"type"`
		Remove   json.RawMessage `json:"remove"`
		Producer *string         `json:"producer"`
	}
	if err := decodeObject(data, &r); err != nil {
		return false, "", err
	}
	if r.Type != nil || r.Remove == nil {
		return false, "", nil
	}
	if string(r.Remove) != "true" {
		return false, "", fmt.Errorf("%w: \"remove\" is %s: a removal is {\"remove\": true}; a config needs a type (table, stat, chart or gauge)",
			ErrBadShape, truncate(string(r.Remove), 20))
	}
	if r.Producer != nil {
		if len(*r.Producer) > maxTextLen {
			return false, "", fmt.Errorf("%w: producer longer than %d bytes", ErrBadShape, maxTextLen)
		}
		producer = *r.Producer
	}
	return true, producer, nil
}
