package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
)

// A dashboard theme (protocol.md §1.1): a mode name, or an object of a mode and a few
// custom values the page sets as CSS variables. Every value is checked here against a
// narrow syntax, because the page writes it into style properties: nothing that could
// close a declaration or load a resource (`;`, `{`, `url(`, `\`) passes.

var themeModes = map[string]bool{"dark": true, "light": true, "auto": true}

var (
	// #rgb, #rgba, #rrggbb, #rrggbbaa; rgb()/rgba()/hsl()/hsla() of numbers, percents and
	// separators; or a named colour (letters only).
	hexColor  = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$`)
	funcColor = regexp.MustCompile(`^(?:rgb|rgba|hsl|hsla)\([0-9.,%/ deg-]{1,60}\)$`)
	nameColor = regexp.MustCompile(`^[a-zA-Z]{3,30}$`)
	// Family names: letters, digits, spaces, commas, hyphens, dots, underscores and quotes.
	fontList = regexp.MustCompile(`^[A-Za-z0-9 ,\-._'"]{1,200}$`)
)

const maxThemeRadius = 32

func validColor(s string) bool {
	return hexColor.MatchString(s) || funcColor.MatchString(s) || nameColor.MatchString(s)
}

// decodeTheme checks a theme and returns its normalized JSON: an object with "mode" and the
// custom values given. JSON null returns null (the default theme).
func decodeTheme(raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var mode string
	if err := json.Unmarshal(raw, &mode); err == nil {
		if !themeModes[mode] {
			return nil, fmt.Errorf("%w: theme %q: expected \"dark\", \"light\", \"auto\" or an object", ErrBadShape, mode)
		}
		return fmt.Appendf(nil, `{"mode":%q}`, mode), nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("%w: theme: expected \"dark\", \"light\", \"auto\" or an object", ErrBadShape)
	}
	out := map[string]any{"mode": "dark"}
	// Fields in name order, so a theme with several bad fields is always
	// refused naming the same one.
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		v := obj[k]
		switch k {
		case "mode":
			var m string
			if json.Unmarshal(v, &m) != nil || !themeModes[m] {
				return nil, fmt.Errorf("%w: theme.mode %s: expected \"dark\", \"light\" or \"auto\"", ErrBadShape, clip(v))
			}
			out[k] = m
		case "accent", "background", "surface", "text":
			var c string
			if json.Unmarshal(v, &c) != nil || !validColor(c) {
				return nil, fmt.Errorf("%w: theme.%s %s: expected a CSS colour (#rrggbb, rgb(...), hsl(...) or a name)", ErrBadShape, k, clip(v))
			}
			out[k] = c
		case "font":
			var f string
			if json.Unmarshal(v, &f) != nil || !fontList.MatchString(f) {
				return nil, fmt.Errorf("%w: theme.font %s: expected font family names (letters, digits, spaces, commas, quotes, - . _), at most 200 bytes", ErrBadShape, clip(v))
			}
			out[k] = f
		case "radius":
			var r float64
			if json.Unmarshal(v, &r) != nil || r < 0 || r > maxThemeRadius {
				return nil, fmt.Errorf("%w: theme.radius %s: expected a number of pixels from 0 to %d", ErrBadShape, clip(v), maxThemeRadius)
			}
			out[k] = r
		default:
			return nil, fmt.Errorf("%w: theme has no field %q (known: mode, accent, background, surface, text, font, radius)", ErrBadShape, k)
		}
	}
	return json.Marshal(out) // map keys sorted: the same theme encodes the same
}

// clip quotes at most 40 bytes of a bad value for an error message.
func clip(v json.RawMessage) string {
	if len(v) > 40 {
		return strconv.Quote(string(v[:40]) + "…")
	}
	return string(v)
}
