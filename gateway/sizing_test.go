package gateway

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// Sizing hints: width 1 to 4 columns or "full", height small/medium/large
// or whole pixels; absent or null leaves them out of the normalized config;
// anything else is refused naming the field.
func TestSizingHintsAreValidatedAndNormalized(t *testing.T) {
	tests := []struct {
		in         string
		width, hgt string // normalized JSON, "" when absent
		bad        string // the field an error names
	}{
		{in: `{"type": "stat"}`},
		{in: `{"type": "stat", "width": null, "height": null}`},
		{in: `{"type": "chart", "width": 3, "height": "large"}`, width: `3`, hgt: `"large"`},
		{in: `{"type": "table", "width": "full", "height": 420}`, width: `"full"`, hgt: `420`},
		{in: `{"type": "gauge", "width": 1.0, "height": "small"}`, width: `1`, hgt: `"small"`},
		{in: `{"type": "stat", "width": 0}`, bad: "width"},
		{in: `{"type": "stat", "width": 5}`, bad: "width"},
		{in: `{"type": "stat", "width": 2.5}`, bad: "width"},
		{in: `{"type": "stat", "width": "wide"}`, bad: "width"},
		{in: `{"type": "stat", "height": "huge"}`, bad: "height"},
		{in: `{"type": "stat", "height": 10}`, bad: "height"},
		{in: `{"type": "stat", "height": 5000}`, bad: "height"},
		{in: `{"type": "stat", "height": "300px"}`, bad: "height"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			c, err := DecodeConfig("w", []byte(tc.in), 100)
			if tc.bad != "" {
				if err == nil || !errors.Is(err, ErrBadShape) || !strings.HasPrefix(strings.TrimPrefix(err.Error(), ErrBadShape.Error()+": "), tc.bad) {
					t.Fatalf("DecodeConfig(%s) = %v; want ErrBadShape naming %s", tc.in, err, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeConfig(%s): %v", tc.in, err)
			}
			if string(c.Width) != tc.width || string(c.Height) != tc.hgt {
				t.Fatalf("width %s height %s, want %q %q", c.Width, c.Height, tc.width, tc.hgt)
			}
			b, _ := json.Marshal(c)
			var m map[string]json.RawMessage
			_ = json.Unmarshal(b, &m)
			if _, ok := m["width"]; ok != (tc.width != "") {
				t.Fatalf("normalized config %s: width present %t, want %t", b, ok, tc.width != "")
			}
			// What the server sends is accepted again as it is (snapshots are restored that way).
			again, err := DecodeConfig("w", b, 100)
			if err != nil || string(again.Width) != tc.width || string(again.Height) != tc.hgt {
				t.Fatalf("the normalized config %s decodes to %v, %v", b, again, err)
			}
		})
	}
}

// A chart's y axis: y_min below y_max, y_scale linear or log (with ends
// above 0); present in the normalized config only when given.
func TestChartYAxisOptionsAreValidated(t *testing.T) {
	for _, tc := range []struct{ in, bad string }{
		{in: `{"type": "chart", "y_min": 0, "y_max": 100, "y_scale": "linear"}`},
		{in: `{"type": "chart", "y_scale": "log", "y_min": 1}`},
		{in: `{"type": "chart", "y_min": 5, "y_max": 5}`, bad: "y_min"},
		{in: `{"type": "chart", "y_scale": "sqrt"}`, bad: "y_scale"},
		{in: `{"type": "chart", "y_scale": "log", "y_min": 0}`, bad: "y_scale"},
		{in: `{"type": "chart", "y_max": "10"}`, bad: "y_max"},
	} {
		c, err := DecodeConfig("c", []byte(tc.in), 100)
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("DecodeConfig(%s) = %v; want an error naming %s", tc.in, err, tc.bad)
			}
			continue
		}
		if err != nil {
			t.Fatalf("DecodeConfig(%s): %v", tc.in, err)
		}
		b, _ := json.Marshal(c)
		if again, err := DecodeConfig("c", b, 100); err != nil || !jsonEqual(t, mustJSON(t, again), b) {
			t.Errorf("the normalized config %s does not decode to itself: %v", b, err)
		}
	}
	plain, _ := json.Marshal(mustConfig(t, `{"type": "chart"}`))
	if strings.Contains(string(plain), "y_") || strings.Contains(string(plain), "thresholds") {
		t.Errorf("a chart without y options or thresholds carries some: %s", plain)
	}
	lines, _ := json.Marshal(mustConfig(t, `{"type": "chart", "thresholds": [[50, "red"]]}`))
	if !strings.Contains(string(lines), `"thresholds":[[50,"red"]]`) {
		t.Errorf("a chart's thresholds are kept: %s", lines)
	}
}

func mustConfig(t *testing.T, in string) *WidgetConfig {
	t.Helper()
	c, err := DecodeConfig("c", []byte(in), 100)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
