package gateway

import (
	"encoding/json"
	"testing"
)

// Each widget type reads its own fields: a field of another type is ignored
// (not carried in the normalized config), and a full config of each type
// comes back unchanged from its own normalized form.
func TestDecodeConfigReadsOnlyTheFieldsOfItsType(t *testing.T) {
	// Every type's fields at once, with values other than the defaults.
	const all = `"unit":"u","format":".1f","color":"red","delta":false,"min":-1,"max":1,"thresholds":[[0,"blue"]],` +
		`"chart_type":"bar","max_points":5,"x_type":"category","y_min":1,"y_max":2,"y_scale":"log","label":"l",` +
		`"columns":["a"],"column_labels":{"a":"A"},"column_format":{"a":"d"},"max_rows":7,"sort_by":"a","sort_desc":false`
	tests := []struct {
		typ, want string
	}{
		{TypeStat, `{"color":"red","dashboard":"","delta":false,"format":".1f","id":"w","order":0,"title":"w","type":"stat","unit":"u"}`},
		{TypeGauge, `{"color":"red","dashboard":"","format":".1f","id":"w","max":1,"min":-1,"order":0,"thresholds":[[0,"blue"]],"title":"w","type":"gauge","unit":"u"}`},
		{TypeChart, `{"chart_type":"bar","color":"red","dashboard":"","format":".1f","id":"w","label":"l","max_points":5,"order":0,"thresholds":[[0,"blue"]],"title":"w","type":"chart","unit":"u","x_type":"category","y_max":2,"y_min":1,"y_scale":"log"}`},
		{TypeTable, `{"column_format":{"a":"d"},"column_labels":{"a":"A"},"columns":["a"],"dashboard":"","id":"w","max_rows":7,"order":0,"sort_by":"a","sort_desc":false,"title":"w","type":"table"}`},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			c, err := DecodeConfig("w", []byte(`{"type":"`+tt.typ+`",`+all+`}`), 10)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("normalized\n got %s\nwant %s", got, tt.want)
			}
			again, err := DecodeConfig("w", got, 10)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := json.Marshal(again); string(b) != tt.want {
				t.Errorf("decoding the normalized config again\n got %s\nwant %s", b, tt.want)
			}
		})
	}
}
