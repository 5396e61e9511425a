package gateway

import (
	"encoding/json"
	"fmt"

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
}

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
		d.cfg, err = DecodeConfig(id, data, history)
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
