package gateway

import (
	"fmt"
	"regexp"
	"strconv"
)

// Bounds of a number format spec (stat, gauge and chart "format", table
// "column_format" values). The browser pads to the width and prints the
// decimals it is told: "x>400000000" made every viewer's tab build a
// string of 400 million characters, for each value shown.
const (
	maxFormatLen       = 32
	maxFormatWidth     = 64
	maxFormatPrecision = 20
)

// formatSpecRE is the browser's grammar (web/format.js SPEC_RE): Python's
// [[fill]align][sign][#][0][width][grouping][.precision][type].
var formatSpecRE = regexp.MustCompile(`^(?:(?s:.)?[<>=^])?[-+ ]?#?0?(\d+)?[,_]?(?:\.(\d+))?[fFeEgGd%n]?$`)

// checkFormatSpec refuses a spec too long, or one the browser understands
// with a width or precision past the bounds. A spec it does not understand
// is kept: the browser shows such values in its default format.
func checkFormatSpec(field, spec string) error {
	if len(spec) > maxFormatLen {
		return fmt.Errorf("%w: %s %q: longer than %d bytes", ErrBadShape, field, truncate(spec, 40), maxFormatLen)
	}
	m := formatSpecRE.FindStringSubmatch(spec)
	if m == nil {
		return nil
	}
	for _, b := range []struct {
		what, digits string
		max          int
	}{{"width", m[1], maxFormatWidth}, {"precision", m[2], maxFormatPrecision}} {
		if b.digits == "" {
			continue
		}
		if n, err := strconv.Atoi(b.digits); err != nil || n > b.max {
			return fmt.Errorf("%w: %s %q: %s %s is over %d", ErrBadShape, field, spec, b.what, truncate(b.digits, 20), b.max)
		}
	}
	return nil
}
