package gateway

import (
	"errors"
	"strings"
	"testing"
)

// Finding 5 of issue 10: {"type":"table","column_format":{"v":"x>200000000"}}
// grew every viewer's tab to 6.5 GB until it died; a stat's
// "format":"x>400000000" cost 450 MB; column_format values had no length check.
func TestFormatSpecsAreBoundedInWidthPrecisionAndLength(t *testing.T) {
	cases := []struct {
		name, config, want string // want "" accepts
	}{
		{"the finding's table", `{"type":"table","column_format":{"v":"x>200000000"}}`, `column_format["v"] "x>200000000": width 200000000 is over 64`},
		{"the finding's stat", `{"type":"stat","format":"x>400000000"}`, `format "x>400000000": width 400000000 is over 64`},
		{"huge precision", `{"type":"gauge","format":".500f"}`, "precision 500 is over 20"},
		{"width past int", `{"type":"chart","format":">99999999999999999999999"}`, "is over 64"},
		{"zero-padded width", `{"type":"stat","format":"0100d"}`, "width 100 is over 64"},
		{"long column_format value", `{"type":"table","column_format":{"v":"` + strings.Repeat(",", 40) + `"}}`, "longer than 32 bytes"},
		{"long format", `{"type":"stat","format":"` + strings.Repeat("f", 33) + `"}`, "longer than 32 bytes"},
		{"long column_format key", `{"type":"table","column_format":{"` + strings.Repeat("k", 201) + `":".2f"}}`, "column_format key longer than 200 bytes"},
		{"widest and most precise allowed", `{"type":"stat","format":"*^+#064,.20f"}`, ""},
		{"common specs", `{"type":"table","column_format":{"a":".2f","b":",.0f","c":".1%","d":"d","e":"x>10"}}`, ""},
		{"a spec the browser does not understand stays (shown in the default format)", `{"type":"stat","format":"$,.2f"}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeConfig("w", []byte(tc.config), 1000)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBadShape) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want bad shape saying %q", err, tc.want)
			}
		})
	}
}
